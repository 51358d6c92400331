import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestStack, requireCommands, requireNetns, sourceSeen, type AgentProcess } from '@ncp/testing';
import { waitUntil } from '../support/eventually';
import { OpenstackCli, type Shown } from '../support/openstack-cli';
import { pingOnce } from '../support/probes';
import { referencePublicNetwork } from '../support/resources';
import { type NeutronClient, type PortResource, type Resource } from '../api/client';
import { routedRowsTopology, startNetAndComputeAgents, tearDownScenario, wireVeths } from '../support/stack';

const run = promisify(execFile);

/**
 * BGP end to end on the real kernel: the BGP service places each speaker on both bgp agents
 * (net-a1 in row A, cmp-b1 in row B), each runs BIRD in its host namespace, and a "core"
 * router (its own BIRD, written here) peers with both and installs what it learns in its
 * kernel. The assertions read the core's kernel routing table, and ping through it.
 *
 *   core (AS 14907 for IPv4, AS 65000 for IPv6)
 *     ext  192.168.81.1/26     <- flat Public-Net  (physnet extnet1) -> net-a1 ext1
 *     ext6 2001:db8:bad::1/64  <- flat Public-Net6 (physnet extnet2) -> net-a1 ext2
 *     peers (bridge) 10.255.0.1/24 2001:db8:ffff::1/64, the peering LAN:
 *       net-a1 bgp0 10.255.0.2 ::2, cmp-b1 bgp0 10.255.0.3 ::3
 *
 * The advertised next hop is a router's gateway address on the external network, not the
 * speaker's own address: the core reaches it over `ext`/`ext6`, another interface than the
 * session's. Nothing in the core routes to the tenant prefixes except what BGP installed.
 */

// With CI=true a missing prerequisite throws here and fails the file; elsewhere it skips.
// birdc has no option that exits 0 without a running BIRD: `which` finds it.
const canRun =
  requireNetns() &&
  requireCommands([
    ['bird', '--version'],
    ['which', 'birdc'],
    ['openstack', '--version'],
  ]);

const SPEAKER_AS = 64711;
const CORE_AS = 14907;
const SPEAKER6_AS = 65001;
const CORE6_AS = 65000;
const CORE_PEERING = { v4: '10.255.0.1', v6: '2001:db8:ffff::1' };
/** The core's BIRD protocol per speaker host and family; what `birdc show protocols` names. */
const CORE_SESSIONS = { net4: '10.255.0.2', cmp4: '10.255.0.3', net6: '2001:db8:ffff::2', cmp6: '2001:db8:ffff::3' } as const;
type CoreSession = keyof typeof CORE_SESSIONS;

describe.skipIf(!canRun)('BGP: speakers on two agents advertise tenant prefixes and floating IPs to a core router', () => {
  const { topo, ns, create } = routedRowsTopology(['spine', 'net', 'cmp', 'core'], ['wn', 'wx', 'w6'], { spine: 'spine', hostA: 'net', hostB: 'cmp' });
  let stack: TestStack;
  let api: NeutronClient;
  let cli: OpenstackCli;
  let netAgent: AgentProcess;
  let tmp = '';
  /** net-a1's state directory, where its speakers' BIRD pid files are */
  const netStateDir = (): string => path.join(tmp, 'net-a1');
  /** a file of the core's BIRD (its configuration, control socket, log and pid file) */
  const coreFile = (name: string): string => path.join(tmp, 'core', name);

  // what the scenarios build and later ones read
  let speaker4: Shown;
  let speaker6: Shown;
  let peer4: Shown;
  let router: Resource;
  let gateway4 = '';
  let gateway6 = '';
  let fip: Shown;
  /** the workload on the tenant network outside any scope, behind the floating IP */
  let fipTarget: PortResource;

  const openstack = (...args: string[]) => cli.run(...args);
  const cliJson = (...args: string[]) => cli.json(...args);
  const cliList = async (...args: string[]) => JSON.parse(await cli.run(...args, '-f', 'json')) as Record<string, unknown>[];

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'ncp-bgp-e2e-'));
    await create();
    await wireVeths(topo, [
      // the external networks: net-a1's physnet interfaces to the core
      [ns.net, 'ext1', ns.core, 'ext'],
      [ns.net, 'ext2', ns.core, 'ext6'],
      // the peering LAN: a bridge in the core, one leg to each speaker host
      [ns.core, 'pnet', ns.net, 'bgp0'],
      [ns.core, 'pcmp', ns.cmp, 'bgp0'],
    ]);
    await topo.bridge(ns.core, 'peers', ['pnet', 'pcmp']);
    await topo.addAddress(ns.core, 'ext', '192.168.81.1/26');
    await topo.addAddress(ns.core, 'ext6', '2001:db8:bad::1/64');
    await topo.addAddress(ns.core, 'peers', `${CORE_PEERING.v4}/24`);
    await topo.addAddress(ns.core, 'peers', `${CORE_PEERING.v6}/64`);
    for (const [n, last] of [
      [ns.net, 2],
      [ns.cmp, 3],
    ] as const) {
      await topo.addAddress(n, 'bgp0', `10.255.0.${last}/24`);
      await topo.addAddress(n, 'bgp0', `2001:db8:ffff::${last}/64`);
    }
    await startCoreBird();

    ({ stack, api, netAgent } = await startNetAndComputeAgents(
      {},
      { roles: ['network', 'bgp'], hostNetns: ns.net, physnets: { extnet1: 'ext1', extnet2: 'ext2' }, stateDir: netStateDir() },
      { roles: ['compute', 'bgp'], hostNetns: ns.cmp },
    ));
    cli = await OpenstackCli.create(stack.url);
    // The workloads' default group lets in only its own members: the core's pings need rules,
    // as any user would add them.
    await openstack('security', 'group', 'rule', 'create', '--ingress', '--protocol', 'icmp', 'default');
    await openstack('security', 'group', 'rule', 'create', '--ingress', '--ethertype', 'IPv6', '--protocol', 'ipv6-icmp', 'default');
  }, 180_000);

  afterAll(async () => {
    // destroying the topology kills every BIRD (they run in the host namespaces and the core)
    await tearDownScenario(stack, topo, cli);
    if (tmp !== '') await rm(tmp, { recursive: true, force: true });
  });

  /** The core: learns from both hosts, installs it in its kernel, advertises nothing. */
  async function startCoreBird(): Promise<void> {
    await mkdir(path.join(tmp, 'core'), { recursive: true });
    const session = (name: CoreSession) => {
      const v6 = name.endsWith('6');
      return [
        `protocol bgp ${name} {`,
        `  local ${v6 ? CORE_PEERING.v6 : CORE_PEERING.v4} as ${v6 ? CORE6_AS : CORE_AS};`,
        `  neighbor ${CORE_SESSIONS[name]} as ${v6 ? SPEAKER6_AS : SPEAKER_AS};`,
        // a restarted speaker host is back within seconds, not BIRD's default 120 s
        '  connect retry time 2;',
        `  ipv${v6 ? 6 : 4} { import all; export none; };`,
        '}',
      ].join('\n');
    };
    await writeFile(
      coreFile('bird.conf'),
      [
        `router id ${CORE_PEERING.v4};`,
        `log "${coreFile('bird.log')}" all;`,
        'protocol device { }',
        'protocol kernel k4 { ipv4 { import none; export all; }; }',
        'protocol kernel k6 { ipv6 { import none; export all; }; }',
        ...(Object.keys(CORE_SESSIONS) as CoreSession[]).map(session),
        '',
      ].join('\n'),
    );
    await topo.exec(ns.core, ['bird', '-c', coreFile('bird.conf'), '-s', coreFile('bird.ctl'), '-P', coreFile('pid')]);
  }

  /** What the core's kernel got from BIRD, one family: `dst/len via gateway`, sorted. */
  async function coreRoutes(family: 4 | 6): Promise<string[]> {
    const { stdout } = await run('ip', [`-${family}`, '-j', '-n', ns.core, 'route', 'show', 'proto', 'bird']);
    const routes = JSON.parse(stdout) as { dst: string; gateway?: string }[];
    return routes.map((r) => `${r.dst.includes('/') ? r.dst : `${r.dst}/${family === 4 ? 32 : 128}`} via ${r.gateway ?? '-'}`).sort();
  }

  /** The core BIRD's view of each session: `Established`, `Active`, `Connect`... */
  async function coreSessions(): Promise<Record<CoreSession, string>> {
    const { stdout } = await run('birdc', ['-s', coreFile('bird.ctl'), 'show', 'protocols']);
    const states = {} as Record<CoreSession, string>;
    for (const name of Object.keys(CORE_SESSIONS) as CoreSession[]) {
      // `net4       BGP        ---        up     1700000000  Established`
      const line = stdout.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
      states[name] = line.trim().split(/\s+/)[5] ?? 'missing';
    }
    return states;
  }

  const advertised = async (speakerId: string): Promise<string[]> => {
    const r = await api.get<{ advertised_routes: { destination: string; next_hop: string }[] }>(`/v2.0/bgp-speakers/${speakerId}/get_advertised_routes`);
    expect(r.status).toBe(200);
    return r.body.advertised_routes.map((a) => `${a.destination} via ${a.next_hop}`).sort();
  };

  const dragentHosts = async (speakerId: string): Promise<string[]> =>
    (await api.get<{ agents: { host: string; alive: boolean }[] }>(`/v2.0/bgp-speakers/${speakerId}/bgp-dragents`)).body.agents
      .map((a) => `${a.host}${a.alive ? '' : ' (dead)'}`)
      .sort();

  async function diagnostics(): Promise<string> {
    const coreLog = await readFile(coreFile('bird.log'), 'utf8').catch(() => '');
    return `core BIRD log:\n${coreLog.slice(-3000)}\nagent net-a1:\n${netAgent.logs().slice(-3000)}\nbgp:\n${stack.logs('bgp').slice(-3000)}`;
  }

  /** Polls `read` until `ok`; the failure shows the last value and the logs that explain it. */
  const waitFor = <T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 40_000): Promise<T> =>
    waitUntil(what, read, ok, { timeoutMs, context: diagnostics });
  const same = (expected: readonly string[]) => (actual: readonly string[]) => JSON.stringify(actual) === JSON.stringify([...expected].sort());

  /** A workload on cmp-b1: a port bound there into `netns`, its addresses and default route set by hand. */
  async function plugWorkload(netns: string, network: string, gateway: string, prefixLength: number): Promise<PortResource> {
    const port = await api.create<PortResource>('ports', 'port', { network_id: network, 'binding:host_id': 'cmp-b1', 'binding:profile': { netns } });
    await waitFor(
      `port ${port.id} ACTIVE`,
      () => api.status('ports', 'port', port.id),
      (s) => s === 'ACTIVE',
    );
    const address = port.fixed_ips[0]?.ip_address ?? '';
    const v6 = address.includes(':');
    await topo.exec(netns, ['ip', 'addr', 'add', `${address}/${prefixLength}`, 'dev', 'eth0', ...(v6 ? ['nodad'] : [])]);
    await topo.exec(netns, ['ip', ...(v6 ? ['-6'] : []), 'route', 'add', 'default', 'via', gateway]);
    return port;
  }

  it('reference scenario: the core learns the tenant /26 via the router gateway and reaches the workload at its own address', async () => {
    const { pool, network: pub, subnet: pubSubnet } = await referencePublicNetwork(api, 4, 'extnet1', { prefixes: ['192.168.81.0/24'], default_prefixlen: 26 });
    expect([pubSubnet.cidr, pubSubnet.gateway_ip]).toEqual(['192.168.81.0/26', '192.168.81.1']);
    const net = await api.create('networks', 'network', { name: 'nonat-net-1' });
    const subnet = await api.create('subnets', 'subnet', { name: 'nonat-subnet-1', network_id: net.id, ip_version: 4, subnetpool_id: pool.id });
    expect(subnet.cidr).toBe('192.168.81.64/26');
    router = await api.create('routers', 'router', { name: 'r1', external_gateway_info: { network_id: pub.id } });
    gateway4 = (router.external_gateway_info as { external_fixed_ips: { ip_address: string }[] }).external_fixed_ips[0]?.ip_address ?? '';
    await api.put(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
    const wn = await plugWorkload(ns.wn, net.id, '192.168.81.65', 26);
    await waitFor(
      'router ACTIVE',
      () => api.status('routers', 'router', router.id),
      (s) => s === 'ACTIVE',
    );

    speaker4 = await cliJson('bgp', 'speaker', 'create', '--local-as', String(SPEAKER_AS), '--ip-version', '4', 'spk4');
    peer4 = await cliJson('bgp', 'peer', 'create', '--peer-ip', CORE_PEERING.v4, '--remote-as', String(CORE_AS), 'core4');
    await openstack('bgp', 'speaker', 'add', 'peer', 'spk4', 'core4');
    await openstack('bgp', 'speaker', 'add', 'network', 'spk4', 'Public-Net');

    await waitFor('core IPv4 routes', () => coreRoutes(4), same([`192.168.81.64/26 via ${gateway4}`]));
    // Nothing else in the core routes into the tenant range: what it knows, BGP installed.
    const { stdout } = await run('ip', ['-4', '-j', '-n', ns.core, 'route', 'show', 'root', '192.168.81.64/26']);
    expect((JSON.parse(stdout) as { dst: string; gateway?: string; protocol?: string }[]).map((r) => `${r.dst} via ${r.gateway} ${r.protocol}`)).toEqual([
      `192.168.81.64/26 via ${gateway4} bird`,
    ]);
    const own = wn.fixed_ips[0]?.ip_address ?? '';
    await waitFor(
      'the core pings the workload at its own address',
      () => pingOnce(topo, ns.core, own),
      (s) => s === 'answers',
      20_000,
    );
    // and the workload's packets reach the core un-NATed
    expect(await sourceSeen(ns.wn, ns.core, '192.168.81.1', 7777)).toBe(own);
  });

  it('advertises an associated floating IP as a /32 via the router gateway and withdraws it once disassociated', async () => {
    // a tenant network outside any address scope: reached from outside only through the floating IP
    const tenant = await api.create('networks', 'network', { name: 'nat-net' });
    const subnet = await api.create('subnets', 'subnet', { name: 'nat-subnet', network_id: tenant.id, ip_version: 4, cidr: '10.77.0.0/24' });
    await api.put(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
    fipTarget = await plugWorkload(ns.wx, tenant.id, '10.77.0.1', 24);
    fip = await cliJson('floating', 'ip', 'create', 'Public-Net');
    const address = String(fip.floating_ip_address);
    await openstack('floating', 'ip', 'set', '--port', fipTarget.id, address);

    await waitFor('core learns the floating IP', () => coreRoutes(4), same([`192.168.81.64/26 via ${gateway4}`, `${address}/32 via ${gateway4}`]));
    // The /32 is more specific than the core's connected /26, so the ping follows the learned next hop.
    await waitFor(
      'the core pings the floating IP',
      () => pingOnce(topo, ns.core, address),
      (s) => s === 'answers',
      20_000,
    );

    await openstack('floating', 'ip', 'unset', '--port', address);
    await waitFor('core withdraws the floating IP', () => coreRoutes(4), same([`192.168.81.64/26 via ${gateway4}`]));
    expect(await advertised(speaker4.id)).toEqual([`192.168.81.64/26 via ${gateway4}`]);
  });

  it('never advertises a subnet of the router that is in another address scope, or in none', async () => {
    const { pool } = await api.createScopedPool(
      { name: 'other-scope', ip_version: 4 },
      { name: 'other-pool', prefixes: ['10.88.0.0/16'], default_prefixlen: 26 },
    );
    const net = await api.create('networks', 'network', { name: 'other-net' });
    const subnet = await api.create('subnets', 'subnet', { name: 'other-subnet', network_id: net.id, ip_version: 4, subnetpool_id: pool.id });
    await api.put(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
    // Associating the floating IP again, after the interface was added, is the barrier: once
    // the core has the /32, the speakers run a configuration that knew of the new interface.
    const associated = await api.put(`/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: fipTarget.id } });
    expect(associated.status).toBe(200);
    const expected = [`192.168.81.64/26 via ${gateway4}`, `${String(fip.floating_ip_address)}/32 via ${gateway4}`];
    await waitFor('core learns the floating IP again', () => coreRoutes(4), same(expected));

    expect(await advertised(speaker4.id)).toEqual([...expected].sort());
    for (const prefix of ['10.77.0.0/24', String(subnet.cidr)]) {
      const { stdout } = await run('ip', ['-4', '-j', '-n', ns.core, 'route', 'show', 'root', prefix]);
      expect(JSON.parse(stdout)).toEqual([]);
    }
  });

  it('IPv6: a second speaker advertises a /64 of a shared IPv6 address scope over an IPv6 session', async () => {
    const {
      pool,
      network: pub,
      subnet: pubSubnet,
    } = await referencePublicNetwork(api, 6, 'extnet2', { prefixes: ['2001:db8:bad::/48'], default_prefixlen: 64 });
    expect([pubSubnet.cidr, pubSubnet.gateway_ip]).toEqual(['2001:db8:bad::/64', '2001:db8:bad::1']);
    const net = await api.create('networks', 'network', { name: 'nonat-net-6' });
    const subnet = await api.create('subnets', 'subnet', {
      name: 'nonat-subnet-6',
      network_id: net.id,
      ip_version: 6,
      subnetpool_id: pool.id,
      cidr: '2001:db8:bad:face::/64',
    });
    const r6 = await api.create('routers', 'router', { name: 'r6', external_gateway_info: { network_id: pub.id } });
    gateway6 = (r6.external_gateway_info as { external_fixed_ips: { ip_address: string }[] }).external_fixed_ips[0]?.ip_address ?? '';
    expect(gateway6).toMatch(/^2001:db8:bad::/);
    await api.put(`/v2.0/routers/${r6.id}/add_router_interface`, { subnet_id: subnet.id });
    const w6 = await plugWorkload(ns.w6, net.id, String(subnet.gateway_ip), 64);
    await waitFor(
      'router r6 ACTIVE',
      () => api.status('routers', 'router', r6.id),
      (s) => s === 'ACTIVE',
    );

    speaker6 = await cliJson('bgp', 'speaker', 'create', '--local-as', String(SPEAKER6_AS), '--ip-version', '6', 'spk6');
    await cliJson('bgp', 'peer', 'create', '--peer-ip', CORE_PEERING.v6, '--remote-as', String(CORE6_AS), 'core6');
    await openstack('bgp', 'speaker', 'add', 'peer', 'spk6', 'core6');
    await openstack('bgp', 'speaker', 'add', 'network', 'spk6', 'Public-Net6');

    await waitFor('core IPv6 routes', () => coreRoutes(6), same([`2001:db8:bad:face::/64 via ${gateway6}`]));
    const sessions = await waitFor('IPv6 sessions Established at the core', coreSessions, (s) => s.net6 === 'Established' && s.cmp6 === 'Established');
    expect(sessions).toMatchObject({ net4: 'Established', cmp4: 'Established' });
    // the IPv4 speaker is not touched by the IPv6 one
    expect(await coreRoutes(4)).toEqual([`192.168.81.64/26 via ${gateway4}`, `${String(fip.floating_ip_address)}/32 via ${gateway4}`].sort());
    await waitFor(
      'the core pings the IPv6 workload',
      () => pingOnce(topo, ns.core, w6.fixed_ips[0]?.ip_address ?? ''),
      (s) => s === 'answers',
      20_000,
    );
  });

  it('get_advertised_routes (API and CLI) is exactly what the core learned', async () => {
    for (const [speaker, family] of [
      [speaker4, 4],
      [speaker6, 6],
    ] as const) {
      const fromApi = await advertised(speaker.id);
      expect(fromApi.length).toBeGreaterThan(0);
      expect(await coreRoutes(family)).toEqual(fromApi);
      const fromCli = (await cliList('bgp', 'speaker', 'list', 'advertised', 'routes', String(speaker.name)))
        .map((r) => `${String(r.Destination)} via ${String(r.Nexthop)}`)
        .sort();
      expect(fromCli).toEqual(fromApi);
    }
  });

  it('the peer shows Established, uptime and prefixes sent per session; the speaker runs on two agents in two rows', async () => {
    const expectedPrefixes = (await advertised(speaker4.id)).length;
    type Session = {
      bgp_speaker_id: string;
      host: string;
      agent_alive: boolean;
      state: string;
      uptime_seconds: number | null;
      prefixes_sent: number | null;
      last_error: string | null;
    };
    const peer = await waitFor(
      'peer core4 Established on both hosts',
      async () => (await api.get<{ bgp_peer: { status: string; sessions: Session[] } }>(`/v2.0/bgp-peers/${peer4.id}`)).body.bgp_peer,
      (p) =>
        p.status === 'Established' && p.sessions.length === 2 && p.sessions.every((s) => s.state === 'Established' && s.prefixes_sent === expectedPrefixes),
      30_000,
    );
    expect(peer.sessions.map((s) => [s.bgp_speaker_id, s.host, s.agent_alive, s.last_error])).toEqual([
      [speaker4.id, 'cmp-b1', true, null],
      [speaker4.id, 'net-a1', true, null],
    ]);
    for (const s of peer.sessions) {
      expect(s.uptime_seconds).toBeGreaterThanOrEqual(0);
      expect(s.uptime_seconds).toBeLessThan(300);
    }
    const cliPeer = await cliJson('bgp', 'peer', 'show', 'core4');
    expect(cliPeer.peer_ip).toBe(CORE_PEERING.v4);

    const dragents = (
      await api.get<{ agents: { host: string; row: string; alive: boolean; agent_type: string }[] }>(`/v2.0/bgp-speakers/${speaker4.id}/bgp-dragents`)
    ).body.agents;
    expect(dragents.map((a) => [a.host, a.row, a.alive, a.agent_type])).toEqual([
      ['cmp-b1', 'row-b', true, 'BGP dynamic routing agent'],
      ['net-a1', 'row-a', true, 'BGP dynamic routing agent'],
    ]);
    const fromCli = (await cliList('bgp', 'dragent', 'list', '--bgp-speaker', 'spk4')).map((a) => String(a.Host)).sort();
    expect(fromCli).toEqual(['cmp-b1', 'net-a1']);
    expect(await dragentHosts(speaker6.id)).toEqual(['cmp-b1', 'net-a1']);
  });

  it('net-a1 dies (agent and BIRDs killed -9): the core keeps every route through cmp-b1; restarted, net-a1 peers again', async () => {
    const expected4 = await advertised(speaker4.id);
    const expected6 = await advertised(speaker6.id);
    expect(await coreSessions()).toEqual({ net4: 'Established', cmp4: 'Established', net6: 'Established', cmp6: 'Established' });

    // net-a1's BIRDs, identified by their pid files, their command line (BIRD with that
    // speaker's configuration) and their namespace (net-a1's host namespace)
    const inNet = new Set((await run('ip', ['netns', 'pids', ns.net])).stdout.split('\n').filter((p) => p !== ''));
    const birds: number[] = [];
    for (const speaker of [speaker4, speaker6]) {
      const dir = path.join(netStateDir(), 'bgp', speaker.id);
      const pid = Number((await readFile(path.join(dir, 'pid'), 'utf8')).trim());
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      expect(argv.slice(0, 3)).toEqual(['bird', '-c', path.join(dir, 'bird.conf')]);
      expect(inNet.has(String(pid))).toBe(true);
      birds.push(pid);
    }
    // The kernel's own log of the core's routing table, so that a route deleted and put back
    // between two samples is seen too.
    const monitor = spawn('ip', ['-n', ns.core, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let changes = '';
    monitor.stdout.on('data', (chunk: Buffer) => (changes += chunk.toString()));
    try {
      await sleep(300);
      await netAgent.kill('SIGKILL');
      for (const pid of birds) process.kill(pid, 'SIGKILL');

      // Every sample, for longer than the BGP service takes to declare net-a1 dead (4 s here),
      // the core still has every route: cmp-b1's sessions carry them.
      const until = Date.now() + 6_000;
      let samples = 0;
      while (Date.now() < until) {
        expect(await coreRoutes(4)).toEqual(expected4);
        expect(await coreRoutes(6)).toEqual(expected6);
        samples++;
        await sleep(200);
      }
      expect(samples).toBeGreaterThan(10);
    } finally {
      monitor.kill();
    }
    const prefixes = [...expected4, ...expected6].map((r) => r.split(' ')[0]?.replace(/\/(32|128)$/, '') ?? '');
    const deleted = changes.split('\n').filter((l) => l.startsWith('Deleted') && prefixes.some((p) => l.includes(`${p} `)));
    expect(deleted, `the core's route changes while net-a1 was down:\n${changes}`).toEqual([]);
    const down = await coreSessions();
    expect([down.cmp4, down.cmp6]).toEqual(['Established', 'Established']);
    expect([down.net4, down.net6].filter((s) => s === 'Established')).toEqual([]);
    await waitFor('the speaker leaves the dead agent', () => dragentHosts(speaker4.id), same(['cmp-b1']), 15_000);

    netAgent.start();
    await stack.waitForAgent('net-a1', true);
    await waitFor('core sessions to net-a1 Established again', coreSessions, (s) => Object.values(s).every((v) => v === 'Established'), 60_000);
    await waitFor('both dragents again (IPv4 speaker)', () => dragentHosts(speaker4.id), same(['cmp-b1', 'net-a1']));
    expect(await dragentHosts(speaker6.id)).toEqual(['cmp-b1', 'net-a1']);
    expect(await coreRoutes(4)).toEqual(expected4);
    expect(await coreRoutes(6)).toEqual(expected6);
  });
});
