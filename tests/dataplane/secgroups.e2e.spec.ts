import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eui64Address, formatIp, parseCidr } from '@ncp/netaddr';
import { runArgv, runDhclient, waitForDad, type AgentProcess, type TestStack } from '@ncp/testing';
import { type NeutronClient, type PortResource, type Resource } from '../api/client';
import { waitUntil } from '../support/eventually';
import { TcpStream, UdpCollector, sendUdpFrom, tcpConnect, tcpEchoServer } from '../support/flows';
import { pingOnce } from '../support/probes';
import { ipv6Subnet } from '../support/resources';
import { routedRowsTopology, startNetAndComputeAgents, tearDownScenario, wireVeths } from '../support/stack';

/**
 * Security groups, port security and first-hop security end to end on the real kernel, through
 * the API only. Two hosts in two rows: net-a1 (row-a: the router, DHCP, some workloads) and
 * cmp-b1 (row-b: workloads), one tenant network (IPv4 with DHCP, IPv6 SLAAC) behind a router
 * whose gateway is on a flat external network to an "upstream" (10.0.2.2), with "prod"
 * (10.200.0.2) routed behind the upstream. Workloads are plugged by the agents, which filter
 * them; each test reaches them from where a user would.
 */
let stack: TestStack;
let api: NeutronClient;
let netAgent: AgentProcess;
let cmpAgent: AgentProcess;
let tmp: string;
const { topo, ns, create } = routedRowsTopology(['spine', 'net', 'cmp', 'up', 'prod'], ['wa', 'wb', 'wc', 'wd', 'we', 'wf', 'wg', 'wh', 'wr', 'wx'], {
  spine: 'spine',
  hostA: 'net',
  hostB: 'cmp',
});
const HOST_NS: Record<string, string> = { 'net-a1': ns.net, 'cmp-b1': ns.cmp };

let net: Resource;
let v4: Resource;
let v6: Resource;
let ext: Resource;
let defaultGroup: string;
/** daemons a test starts in its workloads (killed with their namespaces too) */
const daemons: ChildProcess[] = [];

beforeAll(async () => {
  await create();
  await wireVeths(topo, [
    [ns.net, 'ext0', ns.up, 'ext'],
    [ns.up, 'prod', ns.prod, 'p0'],
  ]);
  await topo.addAddress(ns.up, 'ext', '10.0.2.2/24');
  await topo.addAddress(ns.up, 'prod', '10.200.0.1/24');
  await topo.sysctl(ns.up, 'net.ipv4.ip_forward', '1');
  await topo.addAddress(ns.prod, 'p0', '10.200.0.2/24');
  await topo.addRoute(ns.prod, 'default', '10.200.0.1');
  tmp = await mkdtemp(path.join(tmpdir(), 'ncp-sg-e2e-'));

  ({ stack, api, netAgent, cmpAgent } = await startNetAndComputeAgents({}, { hostNetns: ns.net, physnets: { extnet0: 'ext0' } }, { hostNetns: ns.cmp }));

  ext = await api.create('networks', 'network', {
    name: 'ext',
    'router:external': true,
    'provider:network_type': 'flat',
    'provider:physical_network': 'extnet0',
  });
  const extSubnet = await api.create('subnets', 'subnet', {
    network_id: ext.id,
    ip_version: 4,
    cidr: '10.0.2.0/24',
    gateway_ip: '10.0.2.2',
    enable_dhcp: false,
    allocation_pools: [{ start: '10.0.2.210', end: '10.0.2.220' }],
  });
  net = await api.create('networks', 'network', { name: 'sg-net', 'provider:network_type': 'vxlan' });
  v4 = await api.create('subnets', 'subnet', { network_id: net.id, ip_version: 4, cidr: '10.60.0.0/24', gateway_ip: '10.60.0.1' });
  v6 = await ipv6Subnet(api, net.id, '2001:db8:60::/64', 'slaac');
  const router = await api.create('routers', 'router', {
    name: 'sg-r',
    external_gateway_info: { network_id: ext.id, external_fixed_ips: [{ subnet_id: extSubnet.id, ip_address: '10.0.2.211' }] },
  });
  for (const s of [v4, v6]) expect((await api.put(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: s.id })).status).toBe(200);
  const groups = await api.get<{ security_groups: Resource[] }>(`/v2.0/security-groups?name=default&project_id=${String(net.project_id)}`);
  defaultGroup = groups.body.security_groups[0]?.id ?? '';
  expect(defaultGroup).not.toBe('');
}, 240_000);

afterAll(async () => {
  for (const d of daemons) d.kill('SIGKILL');
  await tearDownScenario(stack, topo);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const logs = () =>
  `agent net-a1:\n${netAgent.logs().slice(-3000)}\nagent cmp-b1:\n${cmpAgent.logs().slice(-3000)}\nsecgroups:\n${stack.logs('secgroups').slice(-2000)}`;

/** Polls `read` until `ok`; the failure shows the last value and the agents' and service's logs. */
const waitFor = <T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 40_000): Promise<T> =>
  waitUntil(what, read, ok, { timeoutMs, context: logs });

const tapOf = (portId: string) => `tap${portId.replace(/-/g, '').slice(0, 11)}`;

/** The taps the host's anti-spoofing table filters (what it sends is checked), read from the kernel. */
const ipOf = (port: PortResource, version: 4 | 6) => port.fixed_ips.find((f) => f.ip_address.includes(':') === (version === 6))?.ip_address ?? '';

/** One of the host's bridge-table sets keyed by tap (`ports`: every filtered tap; `src4`: tap . IPv4 source). */
async function tapSet(host: string, set: 'ports' | 'src4'): Promise<string> {
  return runArgv(['ip', 'netns', 'exec', HOST_NS[host] ?? '', 'nft', 'list', 'set', 'bridge', 'ncp_sg', set]).catch(() => '');
}

// Filtered with its own entry, not merely held closed until it comes (a held port has no source address).
const waitFiltered = (port: PortResource, host: string) =>
  waitFor(
    `port ${port.id} filtered on ${host}`,
    () => tapSet(host, 'src4'),
    (m) => m.includes(`"${tapOf(port.id)}" . ${ipOf(port, 4)}`),
  );
const waitUnfiltered = (port: PortResource, host: string) =>
  waitFor(
    `port ${port.id} no longer filtered on ${host}`,
    () => tapSet(host, 'ports'),
    (m) => !m.includes(tapOf(port.id)),
  );

/**
 * A workload port on `host`, plugged into its namespace, ACTIVE, with the port's addresses on
 * its NIC and a default route through the router; filtered already unless port security is off.
 */
async function workload(netns: string, host: string, extra: Record<string, unknown> = {}): Promise<PortResource> {
  const port = await api.create<PortResource>('ports', 'port', {
    network_id: net.id,
    'binding:host_id': host,
    'binding:profile': { netns },
    ...extra,
  });
  await waitFor(
    `port ${port.id} ACTIVE`,
    async () => (await api.get<{ port: { status: string } }>(`/v2.0/ports/${port.id}`)).body.port.status,
    (s) => s === 'ACTIVE',
  );
  await topo.exec(netns, ['ip', 'addr', 'add', `${ipOf(port, 4)}/24`, 'dev', 'eth0']);
  // (the kernel may have formed it from the router's RA already)
  await topo.exec(netns, ['ip', 'addr', 'replace', `${ipOf(port, 6)}/64`, 'dev', 'eth0', 'nodad']);
  await topo.exec(netns, ['ip', 'route', 'add', 'default', 'via', '10.60.0.1']);
  if (extra.port_security_enabled !== false) await waitFiltered(port, host);
  return port;
}

type Rule = Resource & { security_group_id: string };

async function group(name: string, rules: Record<string, unknown>[] = []): Promise<{ id: string; rules: Rule[] }> {
  const g = await api.create('security-groups', 'security_group', { name });
  const created: Rule[] = [];
  for (const r of rules) created.push(await api.create<Rule>('security-group-rules', 'security_group_rule', { security_group_id: g.id, ...r }));
  return { id: g.id, rules: created };
}

async function updatePort(id: string, attributes: Record<string, unknown>): Promise<PortResource> {
  const r = await api.put<{ port: PortResource }>(`/v2.0/ports/${id}`, { port: attributes });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.port;
}

async function floatingIp(address: string, port: PortResource): Promise<void> {
  const fip = await api.create('floatingips', 'floatingip', { floating_network_id: ext.id, floating_ip_address: address, port_id: port.id });
  await waitFor(
    `floating IP ${address} ACTIVE`,
    async () => (await api.get<{ floatingip: { status: string } }>(`/v2.0/floatingips/${fip.id}`)).body.floatingip.status,
    (s) => s === 'ACTIVE',
  );
}

const ping = (netns: string, address: string) => pingOnce(topo, netns, address);
const waitPing = (what: string, netns: string, address: string, expected: 'answers' | 'silent') =>
  waitFor(
    what,
    () => ping(netns, address),
    (r) => r === expected,
  );

/** A daemon run in a workload's namespace until the test file ends, its output kept. */
function daemon(netns: string, argv: string[]): { output: () => string; stop: () => void } {
  const child = spawn('ip', ['netns', 'exec', netns, ...argv]);
  daemons.push(child);
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return { output: () => output, stop: () => child.kill('SIGKILL') };
}

/** The prefixes of the RAs a workload gets after its solicitation, from every router advertising within `waitMs`. */
/** `tries`: solicitations sent while none is answered (each waits `waitMs`). */
/** The prefixes of the RAs rdisc6 hears on eth0 (soliciting `tries` times), and what it printed. */
async function solicitedPrefixes(netns: string, waitMs: number, tries: number): Promise<{ prefixes: string[]; output: string }> {
  const output = await runArgv(
    ['ip', 'netns', 'exec', netns, 'rdisc6', '-m', '-r', String(tries), '-w', String(waitMs), 'eth0'],
    30_000 + tries * waitMs,
  ).catch((e: Error) => e.message);
  return { prefixes: [...new Set([...output.matchAll(/^\s*Prefix\s*:\s*(\S+)/gm)].map((m) => m[1] ?? ''))].sort(), output };
}

async function advertisedPrefixes(netns: string, waitMs = 3_000, tries = 1): Promise<string[]> {
  return (await solicitedPrefixes(netns, waitMs, tries)).prefixes;
}

describe('security groups on the real kernel', () => {
  let wa: PortResource;
  let wb: PortResource;
  let wc: PortResource;
  /** a workload without port security on net-a1: whatever reaches the network reaches it */
  let wr: PortResource;
  let ssh: { id: string; rules: Rule[] };
  let other: { id: string };

  beforeAll(async () => {
    wr = await workload(ns.wr, 'net-a1', { port_security_enabled: false });
  }, 60_000);

  it('the default group lets its members talk across hosts and keeps the outside out', async () => {
    wa = await workload(ns.wa, 'cmp-b1');
    wb = await workload(ns.wb, 'net-a1');
    expect(wa.security_groups).toEqual([defaultGroup]);
    await floatingIp('10.0.2.215', wa);
    // members of the group, over IPv4 and IPv6, both ways, across the rows
    await waitPing('wa reaches wb', ns.wa, ipOf(wb, 4), 'answers');
    expect(await ping(ns.wb, ipOf(wa, 4))).toBe('answers');
    // IPv6 is waited for on its own: the workloads' addresses may still be tentative (DAD) when
    // IPv4 first answers (one CI run pinged too early)
    await waitPing('wa reaches wb over IPv6', ns.wa, ipOf(wb, 6), 'answers');
    expect(await ping(ns.wb, ipOf(wa, 6))).toBe('answers');
    // egress is open (out through the floating IP), the outside may not come in
    await waitPing('wa reaches the upstream', ns.wa, '10.0.2.2', 'answers');
    expect(await ping(ns.up, '10.0.2.215')).toBe('silent');
  }, 120_000);

  it('a rule for tcp/22 from a CIDR opens exactly that', async () => {
    await tcpEchoServer(ns.wa, 22);
    await tcpEchoServer(ns.wa, 2222);
    expect(await tcpConnect(ns.up, '10.0.2.215', 22)).toBe('silent');
    ssh = await group('ssh', [
      { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '10.0.2.0/24' },
    ]);
    wa = await updatePort(wa.id, { security_groups: [defaultGroup, ssh.id] });
    await waitFor(
      'ssh from the upstream through the floating IP',
      () => tcpConnect(ns.up, '10.0.2.215', 22),
      (r) => r === 'connects',
    );
    expect(await tcpConnect(ns.up, '10.0.2.215', 2222)).toBe('silent');
    expect(await ping(ns.up, '10.0.2.215')).toBe('silent');
    // prod (10.200.0.2) is outside the CIDR, until a rule names its own
    expect(await tcpConnect(ns.prod, '10.0.2.215', 22)).toBe('silent');
    ssh.rules.push(
      await api.create<Rule>('security-group-rules', 'security_group_rule', {
        security_group_id: ssh.id,
        direction: 'ingress',
        ethertype: 'IPv4',
        protocol: 'tcp',
        port_range_min: 22,
        port_range_max: 22,
        remote_ip_prefix: '10.200.0.0/24',
      }),
    );
    await waitFor(
      'ssh from prod',
      () => tcpConnect(ns.prod, '10.0.2.215', 22),
      (r) => r === 'connects',
    );
    expect(await tcpConnect(ns.prod, '10.0.2.215', 2222)).toBe('silent');
    // the server on 2222 is there: a member of the group reaches it
    expect(await tcpConnect(ns.wb, ipOf(wa, 4), 2222)).toBe('connects');
  }, 120_000);

  it('an ICMPv6 rule lets IPv6 pings in, and only those', async () => {
    other = await group('other');
    wc = await workload(ns.wc, 'cmp-b1', { security_groups: [other.id] });
    // wc may send anywhere; wa lets in its group's members only
    await waitPing('wc reaches the router', ns.wc, '10.60.0.1', 'answers');
    expect(await ping(ns.wc, ipOf(wa, 6))).toBe('silent');
    const icmp6 = await group('icmp6', [{ direction: 'ingress', ethertype: 'IPv6', protocol: 'ipv6-icmp', remote_ip_prefix: '2001:db8:60::/64' }]);
    wa = await updatePort(wa.id, { security_groups: [defaultGroup, ssh.id, icmp6.id] });
    await waitPing('wc pings wa over IPv6', ns.wc, ipOf(wa, 6), 'answers');
    expect(await ping(ns.wc, ipOf(wa, 4))).toBe('silent');
  }, 120_000);

  it('a remote group rule lets in the members of another group, across hosts, and a port that joins it', async () => {
    const web = await group('web');
    const db = await group('db', [
      { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 5432, port_range_max: 5432, remote_group_id: web.id },
    ]);
    const wd = await workload(ns.wd, 'net-a1', { security_groups: [db.id] });
    await workload(ns.we, 'cmp-b1', { security_groups: [web.id] });
    await tcpEchoServer(ns.wd, 5432);
    await waitFor(
      'web reaches db',
      () => tcpConnect(ns.we, ipOf(wd, 4), 5432),
      (r) => r === 'connects',
    );
    expect(await tcpConnect(ns.wc, ipOf(wd, 4), 5432)).toBe('silent');
    await updatePort(wc.id, { security_groups: [other.id, web.id] });
    await waitFor(
      'wc, now in web, reaches db',
      () => tcpConnect(ns.wc, ipOf(wd, 4), 5432),
      (r) => r === 'connects',
    );
  }, 120_000);

  describe('anti-spoofing', () => {
    let wf: PortResource;
    let collector: UdpCollector;
    let marker = 0;

    /** Sends `payload` from `source`, then a marker from the port's own address: once the marker arrives, whatever came is all that came. */
    /**
     * Sends `payload` from `source`, then a marker from the workload's own address on the same
     * path, until the marker arrives (a datagram can be lost on a busy machine): everything
     * received by then. Each marker follows a spoofed datagram sent just before it, so a
     * spoofed one that passed would have arrived too.
     */
    async function received(source: string, payload: string): Promise<string[]> {
      const own = ipOf(wf, source.includes(':') ? 6 : 4);
      const target = ipOf(wr, source.includes(':') ? 6 : 4);
      const mark = `marker-${++marker}`;
      return waitFor(
        `a datagram '${mark}' after '${payload}'`,
        async () => {
          await sendUdpFrom(ns.wf, source, target, 7000, payload);
          await sendUdpFrom(ns.wf, own, target, 7000, mark);
          return collector.received;
        },
        (lines) => lines.some((l) => l.endsWith(` ${mark}`)),
      );
    }

    beforeAll(async () => {
      wf = await workload(ns.wf, 'cmp-b1');
      collector = await UdpCollector.start(ns.wr, 7000);
      // wf knows the receiver's MAC, so nothing depends on neighbour discovery from a spoofed source
      await topo.exec(ns.wf, ['ip', 'neigh', 'replace', ipOf(wr, 4), 'lladdr', wr.mac_address, 'dev', 'eth0', 'nud', 'permanent']);
      await topo.exec(ns.wf, ['ip', '-6', 'neigh', 'replace', ipOf(wr, 6), 'lladdr', wr.mac_address, 'dev', 'eth0', 'nud', 'permanent']);
      await topo.exec(ns.wf, ['ip', 'addr', 'add', '10.60.0.250/32', 'dev', 'eth0']);
      await topo.exec(ns.wf, ['ip', 'addr', 'add', '2001:db8:60::bad/128', 'dev', 'eth0', 'nodad']);
    }, 120_000);

    afterAll(() => collector?.stop());

    it('drops what a workload sends from an address that is not its own, IPv4 and IPv6', async () => {
      const got = await received('10.60.0.250', 'spoofed-ip');
      expect(got.filter((l) => l.includes('spoofed'))).toEqual([]);
      expect(got.at(-1)).toBe(`${ipOf(wf, 4)} marker-1`);
      const got6 = await received('2001:db8:60::bad', 'spoofed-ip6');
      expect(got6.filter((l) => l.includes('spoofed'))).toEqual([]);
      expect(got6.at(-1)).toBe(`${ipOf(wf, 6)} marker-2`);
    }, 60_000);

    it('drops what a workload sends from a MAC that is not its own', async () => {
      await topo.exec(ns.wf, ['ip', 'link', 'set', 'eth0', 'address', 'fa:16:3e:de:ad:01']);
      await sendUdpFrom(ns.wf, ipOf(wf, 4), ipOf(wr, 4), 7000, 'spoofed-mac');
      await topo.exec(ns.wf, ['ip', 'link', 'set', 'eth0', 'address', wf.mac_address]);
      const mark = `marker-${++marker}`;
      await sendUdpFrom(ns.wf, ipOf(wf, 4), ipOf(wr, 4), 7000, mark);
      const got = await collector.until(mark);
      expect(got.filter((l) => l.includes('spoofed-mac'))).toEqual([]);
    }, 60_000);

    it('lets an allowed address pair send from its address, and from its MAC', async () => {
      await updatePort(wf.id, {
        allowed_address_pairs: [{ ip_address: '10.60.0.250' }, { ip_address: '10.60.0.244/30', mac_address: 'fa:16:3e:de:ad:02' }],
      });
      let n = 0;
      await waitFor(
        'a datagram from the pair address',
        async () => {
          await sendUdpFrom(ns.wf, '10.60.0.250', ipOf(wr, 4), 7000, `pair-${++n}`);
          return collector.received;
        },
        (lines) => lines.some((l) => l.startsWith('10.60.0.250 pair-')),
      );
      // the other pair: a second interface with the pair's MAC, and an address from its CIDR
      await topo.exec(ns.wf, ['ip', 'link', 'add', 'link', 'eth0', 'name', 'pair0', 'type', 'macvlan', 'mode', 'bridge']);
      await topo.exec(ns.wf, ['ip', 'link', 'set', 'pair0', 'address', 'fa:16:3e:de:ad:02', 'up']);
      await topo.exec(ns.wf, ['ip', 'addr', 'add', '10.60.0.245/32', 'dev', 'pair0']);
      await topo.exec(ns.wf, ['ip', 'route', 'add', `${ipOf(wr, 4)}/32`, 'dev', 'pair0', 'src', '10.60.0.245']);
      await topo.exec(ns.wf, ['ip', 'neigh', 'replace', ipOf(wr, 4), 'lladdr', wr.mac_address, 'dev', 'pair0', 'nud', 'permanent']);
      await sendUdpFrom(ns.wf, '10.60.0.245', ipOf(wr, 4), 7000, 'pair-mac');
      expect(await collector.until('pair-mac')).toContain('10.60.0.245 pair-mac');
      await topo.exec(ns.wf, ['ip', 'link', 'del', 'pair0']);
      // an address outside the pairs is still dropped
      await topo.exec(ns.wf, ['ip', 'addr', 'add', '10.60.0.240/32', 'dev', 'eth0']);
      const got = await received('10.60.0.240', 'spoofed-outside');
      expect(got.filter((l) => l.includes('spoofed-outside'))).toEqual([]);
    }, 90_000);
  });

  describe('first-hop security', () => {
    let wg: PortResource;
    let wh: PortResource;
    let rogueRa: { output: () => string };
    let rogueDhcp: { output: () => string };
    /** a MAC the real DHCP server does not know: only a rogue server would answer it */
    const strangerMac = 'fa:16:3e:5a:00:01';

    beforeAll(async () => {
      // its owner even lets DHCP requests and router solicitations in: the daemons hear the clients
      const servers = await group('servers', [
        { direction: 'ingress', ethertype: 'IPv4', protocol: 'udp', port_range_min: 67, port_range_max: 67 },
        { direction: 'ingress', ethertype: 'IPv6', protocol: 'ipv6-icmp' },
      ]);
      wg = await workload(ns.wg, 'cmp-b1', { security_groups: [defaultGroup, servers.id] });
      wh = await workload(ns.wh, 'net-a1');
      // the stranger: a second interface with an unknown MAC on the unfiltered workload
      await topo.exec(ns.wr, ['ip', 'link', 'add', 'link', 'eth0', 'name', 'cl0', 'type', 'macvlan', 'mode', 'bridge']);
      await topo.exec(ns.wr, ['ip', 'link', 'set', 'cl0', 'address', strangerMac, 'up']);
      const conf = path.join(tmp, 'radvd.conf');
      await writeFile(
        conf,
        // as often as radvd allows; no default route, no addresses
        'interface eth0 {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 4;\n  AdvDefaultLifetime 0;\n' +
          '  prefix 2001:db8:bad::/64 { AdvAutonomous off; };\n};\n',
      );
      // debug level 5: it logs every solicitation it hears and every RA it sends
      rogueRa = daemon(ns.wg, ['radvd', '-C', conf, '-n', '-m', 'stderr', '-p', path.join(tmp, 'radvd.pid'), '-d', '5']);
      rogueDhcp = daemon(ns.wg, [
        'dnsmasq',
        '--no-daemon',
        '--conf-file=/dev/null',
        '--port=0',
        '--user=root',
        '--interface=eth0',
        '--bind-interfaces',
        '--no-ping',
        '--log-dhcp',
        '--dhcp-range=10.60.0.100,10.60.0.150,255.255.255.0,5m',
        '--dhcp-option=3,10.60.0.66',
        `--dhcp-leasefile=${path.join(tmp, 'rogue.leases')}`,
        `--pid-file=${path.join(tmp, 'rogue.pid')}`,
      ]);
    }, 120_000);

    it("a workload's radvd and dnsmasq reach no one: rdisc6 and dhclient see only the real router and DHCP server", async () => {
      const sent = () => rogueRa.output().match(/sending RA to /g)?.length ?? 0;
      await waitFor(
        'the rogue radvd advertising',
        async () => sent(),
        (n) => n > 0,
      );
      const before = sent();
      // rdisc6 solicits from wh's link-local address: not while it is still tentative (DAD), when
      // the solicitation cannot be sent (CI runs heard nothing twice)
      await waitForDad(ns.wh);
      // three solicitations at most: on a loaded machine the router's answer to one was once not
      // heard within the 9 s
      const heard = await solicitedPrefixes(ns.wh, 9_000, 3);
      expect(heard.prefixes, heard.output).toEqual(['2001:db8:60::/64']);
      // while rdisc6 listened the rogue advertised (every 3 to 4 s: at least twice in 9 s) and
      // heard wh's solicitation: nothing of it arrived
      expect(sent() - before).toBeGreaterThanOrEqual(2);
      expect(rogueRa.output()).toContain(`received RS from: ${formatIp(6, eui64Address(parseCidr('fe80::/64'), wh.mac_address))}`);
      const lease = await runDhclient(ns.wh, 'eth0', 'v4');
      expect(lease.lease, lease.log).toMatchObject({ new_ip_address: ipOf(wh, 4), new_routers: '10.60.0.1' });
      // the rogue answers the stranger (its log says so), and nothing of it arrives
      const stranger = await runDhclient(ns.wr, 'cl0', 'v4', 5);
      expect(stranger.lease, stranger.log).toBeNull();
      expect(rogueDhcp.output()).toMatch(new RegExp(`DHCPOFFER\\(eth0\\) 10\\.60\\.0\\.1\\d\\d ${strangerMac}`));
    }, 90_000);

    it('with port security off, the same daemons reach the network', async () => {
      await updatePort(wg.id, { port_security_enabled: false, security_groups: [] });
      await waitUnfiltered(wg, 'cmp-b1');
      await waitFor(
        'the rogue RA at another workload',
        () => advertisedPrefixes(ns.wh),
        (p) => p.includes('2001:db8:bad::/64'),
      );
      const stranger = await runDhclient(ns.wr, 'cl0', 'v4');
      expect(stranger.lease?.new_routers, stranger.log).toBe('10.60.0.66');
    }, 90_000);
  });

  describe('port security off', () => {
    it('lets everything in and out: any source, any peer', async () => {
      const wx = await workload(ns.wx, 'cmp-b1', { port_security_enabled: false });
      expect(wx.security_groups).toEqual([]);
      await floatingIp('10.0.2.216', wx);
      await tcpEchoServer(ns.wx, 2222);
      await waitPing('the upstream pings the unfiltered workload', ns.up, '10.0.2.216', 'answers');
      expect(await tcpConnect(ns.up, '10.0.2.216', 2222)).toBe('connects');
      expect(await tcpConnect(ns.wc, ipOf(wx, 4), 2222)).toBe('connects');
      expect(await tapSet('cmp-b1', 'ports')).not.toContain(tapOf(wx.id));
    }, 90_000);
  });

  describe('rule changes on established connections', () => {
    it('removing a rule cuts new connections while an established one goes on (stateful)', async () => {
      const stream = await TcpStream.open(ns.up, '10.0.2.215', 22);
      try {
        await stream.moreEchoes(5);
        const fromUpstream = ssh.rules.find((r) => r.remote_ip_prefix === '10.0.2.0/24');
        expect((await api.delete(`/v2.0/security-group-rules/${fromUpstream?.id ?? ''}`)).status).toBe(204);
        await waitFor(
          'new ssh connections from the upstream refused by the filter',
          () => tcpConnect(ns.up, '10.0.2.215', 22),
          (r) => r === 'silent',
        );
        await stream.moreEchoes(10);
        // the other rule of the group is untouched
        expect(await tcpConnect(ns.prod, '10.0.2.215', 22)).toBe('connects');
      } finally {
        await stream.close();
      }
    }, 90_000);
  });

  describe('agent restart', () => {
    /**
     * Both tables of the host as the kernel lists them, as content: handles left out and lists
     * sorted (the restarted agent replaces the tables whole, where before it changed them one
     * piece at a time, so the kernel numbers and orders the same objects differently).
     */
    async function tables(host: string): Promise<string[]> {
      const canonical = (v: unknown): unknown => {
        if (Array.isArray(v)) return v.map(canonical).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
        if (typeof v !== 'object' || v === null) return v;
        return Object.fromEntries(
          Object.entries(v)
            .filter(([k]) => k !== 'handle')
            .map(([k, x]) => [k, canonical(x)]),
        );
      };
      const list = async (family: string) => {
        const json = JSON.parse(await runArgv(['ip', 'netns', 'exec', HOST_NS[host] ?? '', 'nft', '-j', 'list', 'table', family, 'ncp_sg'])) as {
          nftables: Record<string, Record<string, unknown>>[];
        };
        // a rule's expressions are in order: canonicalise around them
        const rules = json.nftables.filter((o) => o.rule).map((o) => JSON.stringify({ ...o.rule, handle: undefined }));
        const others = json.nftables.filter((o) => !o.rule);
        return JSON.stringify({ objects: canonical(others), rules: rules.sort() });
      };
      return [await list('inet'), await list('bridge')];
    }

    it('kill -9 and a restart change nothing in the kernel, and an established flow goes on', async () => {
      const before = await tables('cmp-b1');
      expect(before[1]).toContain(tapOf(wa.id));
      const stream = await TcpStream.open(ns.prod, '10.0.2.215', 22);
      try {
        await stream.moreEchoes(5);
        const starts = cmpAgent.logs().split('agent started').length;
        await cmpAgent.kill('SIGKILL');
        await stream.moreEchoes(5);
        cmpAgent.start();
        await waitFor(
          "the restarted agent's first pass, security groups included",
          async () => cmpAgent.logs().split('agent started'),
          (parts) => parts.length > starts && (parts.at(-1) ?? '').includes('"secgroups"'),
        );
        await stream.moreEchoes(10);
        expect(await tables('cmp-b1')).toEqual(before);
        expect(await tcpConnect(ns.up, '10.0.2.215', 22)).toBe('silent');
      } finally {
        await stream.close();
      }
    }, 120_000);
  });
});
