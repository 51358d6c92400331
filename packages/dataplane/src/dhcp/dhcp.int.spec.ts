import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dhcpInterfaceName, type DhcpHostIntent, type DhcpServerIntent, type RaIntent } from '@ncp/contracts';
import { eui64Address, formatIp, parseCidr } from '@ncp/netaddr';
import { processAlive, runArgv, waitForDad } from '@ncp/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnNamespaces } from '../__fixtures__/netns-suite.js';
import { reconcileRecorded } from '../__fixtures__/recorded.js';
import { ExecFileRunner } from '../runner.js';
import { reconcileDhcp } from './reconcile.js';

/*
 * One network on a bridge in a "switch" namespace: the DHCP port (plugged into its qdhcp-
 * namespace, as the L2 driver would), a router's qr- port in its qrouter- namespace, and
 * workloads. The driver under test runs dnsmasq and radvd; the real clients (dhclient, rdisc6,
 * the workloads' kernels) check what they hand out.
 *
 *   dhcp ns-… 10.50.0.2 ─┐
 *   router qr-…         ─┤ sw(br0) ─┬─ wl1 02:00:00:50:00:11   (in the hosts file)
 *                        │          ├─ wl2 02:00:00:50:00:12   (in the hosts file, then removed)
 *                        │          └─ wl3 02:00:00:50:00:13   (not in the hosts file, then added)
 */

const NET = 'a5d10000-0000-4000-8000-000000000001';
const ROUTER = 'a5d20000-0000-4000-8000-000000000002';
const STALE_NET = 'a5d3dead-0000-4000-8000-000000000003';
const DHCP_PORT = 'b0000001-0000-4000-8000-000000000001';
const P1 = 'b0000011-0000-4000-8000-000000000011';
const P2 = 'b0000012-0000-4000-8000-000000000012';
const P3 = 'b0000013-0000-4000-8000-000000000013';
const S4 = 'c0000004-0000-4000-8000-000000000004';
const S6_STATELESS = 'c0000061-0000-4000-8000-000000000061';
const S6_STATEFUL = 'c0000062-0000-4000-8000-000000000062';
const IFNAME = dhcpInterfaceName(NET);
const QR = 'qr-b0000099-00';
const MAC = { dhcp: '02:00:00:50:00:02', router: '02:00:00:50:00:01', wl1: '02:00:00:50:00:11', wl2: '02:00:00:50:00:12', wl3: '02:00:00:50:00:13' } as const;
/** what the kernel forms on the router's port from its MAC, and what the RAs must come from */
const ROUTER_LINK_LOCAL = formatIp(6, eui64Address(parseCidr('fe80::/64'), MAC.router));
const SLAAC_PREFIX = '2001:db8:50:1::/64';
const STATEFUL_PREFIX = '2001:db8:50:2::/64';

describeOnNamespaces('DHCP/RA driver on real namespaces', ['dnsmasq', 'radvd', 'dhclient', 'rdisc6'], (topo) => {
  const dhcpNs = (networkId: string): string => `qdhcp-${networkId.slice(0, 8)}`;
  const { ns, create } = topo.plan({
    sw: 'sw',
    dhcp: dhcpNs(NET),
    stale: dhcpNs(STALE_NET),
    router: `qrouter-${ROUTER.slice(0, 8)}`,
    wl1: 'wl1',
    wl2: 'wl2',
    wl3: 'wl3',
  });
  // made in beforeAll: a skipped file must not leave a directory behind
  let tmp = '';
  let stateDir = '';
  const runner = new ExecFileRunner();

  const host = (portId: string, mac: string, hostname: string, ipAddresses: string[]): DhcpHostIntent => ({
    portId,
    macAddress: mac,
    hostname,
    ipAddresses,
    extraOptions: [],
  });
  const h1 = host(P1, MAC.wl1, 'wl1', ['10.50.0.11', '2001:db8:50:2::11']);
  const h2 = host(P2, MAC.wl2, 'wl2', ['10.50.0.12']);
  const h3 = host(P3, MAC.wl3, 'wl3', ['10.50.0.13']);
  const server = (hosts: DhcpHostIntent[], over: Partial<DhcpServerIntent> = {}): DhcpServerIntent => ({
    networkId: NET,
    namespace: ns.dhcp,
    ifname: IFNAME,
    portId: DHCP_PORT,
    addresses: ['10.50.0.2/24', '2001:db8:50:1::2/64', '2001:db8:50:2::2/64'],
    mtu: 1450,
    domain: 'example.test',
    leaseSeconds: 600,
    subnets: [
      {
        id: S4,
        mode: 'dhcpv4',
        cidr: '10.50.0.0/24',
        gatewayIp: '10.50.0.1',
        dnsNameservers: ['10.50.0.53', '10.50.0.54'],
        hostRoutes: [{ destination: '169.254.169.254/32', nexthop: '10.50.0.2' }],
      },
      { id: S6_STATELESS, mode: 'dhcpv6-stateless', cidr: SLAAC_PREFIX, gatewayIp: null, dnsNameservers: ['2001:db8:50:1::53'], hostRoutes: [] },
      { id: S6_STATEFUL, mode: 'dhcpv6-stateful', cidr: STATEFUL_PREFIX, gatewayIp: null, dnsNameservers: ['2001:db8:50:2::53'], hostRoutes: [] },
    ],
    hosts,
    ...over,
  });
  const ra: RaIntent = {
    routerId: ROUTER,
    namespace: ns.router,
    routerLifetime: 30,
    validLifetime: 86400,
    preferredLifetime: 14400,
    minInterval: 3,
    maxInterval: 10,
    interfaces: [
      {
        ifname: QR,
        sourceAddress: ROUTER_LINK_LOCAL,
        managed: true,
        otherConfig: true,
        mtu: 1450,
        prefixes: [
          { cidr: SLAAC_PREFIX, autonomous: true },
          { cidr: STATEFUL_PREFIX, autonomous: false },
        ],
        rdnss: ['2001:db8:50:1::53'],
      },
    ],
  };
  let dhcpDir = '';
  let raDirPath = '';

  /** Reconciles and returns the commands that were not read-backs. */
  const mutationsOf = async (servers: DhcpServerIntent[], ras: RaIntent[] = [ra]): Promise<string[]> =>
    (await reconcileRecorded((recorder) => reconcileDhcp(servers, ras, recorder, { stateDir }))).mutations;
  const pidOf = (file: string): number => Number(readFileSync(file, 'utf8').trim());

  /**
   * Runs dhclient once in a workload, with its own config, lease and pid files and a hook that
   * only records the variables: Debian's dhclient-script would configure the interface and
   * rewrite the machine's /etc/resolv.conf. Returns the variables of the last call, or null
   * when no lease came (dhclient -1 exits 2).
   */
  let clientRuns = 0;
  const dhclient = async (netns: string, family: '-4' | '-6', extra: string[] = []): Promise<Record<string, string> | null> => {
    clientRuns += 1;
    const dir = path.join(tmp, `client-${clientRuns}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const out = path.join(dir, 'env');
    const hook = path.join(dir, 'hook.sh');
    writeFileSync(hook, `#!/bin/sh\n{ echo '--'; env; } >> '${out}'\nexit 0\n`, { mode: 0o755 });
    const conf = path.join(dir, 'dhclient.conf');
    writeFileSync(
      conf,
      family === '-4'
        ? 'timeout 6;\nretry 1;\ninitial-interval 1;\noption rfc3442-classless-static-routes code 121 = array of unsigned integer 8;\n' +
            'request subnet-mask, routers, domain-name-servers, interface-mtu, rfc3442-classless-static-routes, domain-name, domain-search;\n'
        : 'timeout 6;\nretry 1;\ninitial-interval 1;\nrequest dhcp6.name-servers, dhcp6.domain-search;\n',
    );
    const pidFile = path.join(dir, 'pid');
    const argv = [
      'ip',
      'netns',
      'exec',
      netns,
      'dhclient',
      family,
      '-1',
      ...extra,
      '-cf',
      conf,
      '-lf',
      path.join(dir, 'lease'),
      '-pf',
      pidFile,
      '-sf',
      hook,
      'eth0',
    ];
    let got = true;
    try {
      await runArgv(argv, 30_000);
    } catch {
      got = false;
    } finally {
      // dhclient goes to the background once bound: stop it (it would renew and run the hook)
      try {
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        if (pid > 1) process.kill(pid, 'SIGKILL');
      } catch {
        // no pid file: it never went to the background
      }
    }
    if (!got) return null;
    const records = readFileSync(out, 'utf8')
      .split('--\n')
      .filter((r) => r.trim() !== '');
    const last = records.at(-1) ?? '';
    return Object.fromEntries(
      last.split('\n').flatMap((line) => (line.includes('=') ? [[line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]] : [])),
    );
  };

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'ncp-dhcp-int-'));
    stateDir = path.join(tmp, 'state');
    dhcpDir = path.join(stateDir, 'dhcp', NET);
    raDirPath = path.join(stateDir, 'ra', ROUTER);
    await create();
    await topo.addVethPair(ns.dhcp, IFNAME, ns.sw, 'd0');
    await topo.addVethPair(ns.router, QR, ns.sw, 'r0');
    for (const [wl, mac, swPort] of [
      [ns.wl1, MAC.wl1, 'w1'],
      [ns.wl2, MAC.wl2, 'w2'],
      [ns.wl3, MAC.wl3, 'w3'],
    ] as const) {
      await topo.addVethPair(wl, 'eth0', ns.sw, swPort);
      await runArgv(['ip', '-n', wl, 'link', 'set', 'dev', 'eth0', 'address', mac]);
      // a workload takes RAs and forms SLAAC addresses (a fresh namespace may not by default)
      await topo.sysctl(wl, 'net.ipv6.conf.eth0.accept_ra', '1');
      await topo.sysctl(wl, 'net.ipv6.conf.eth0.autoconf', '1');
      await topo.linkUp(wl, 'eth0');
    }
    await runArgv(['ip', '-n', ns.dhcp, 'link', 'set', 'dev', IFNAME, 'address', MAC.dhcp]);
    await runArgv(['ip', '-n', ns.router, 'link', 'set', 'dev', QR, 'address', MAC.router]);
    await topo.bridge(ns.sw, 'br0', ['d0', 'r0', 'w1', 'w2', 'w3']);
    // the DHCP port is plugged (up, no address); the router's port has its address (L3 driver)
    await topo.linkUp(ns.dhcp, IFNAME);
    await topo.linkUp(ns.router, QR);
    await topo.sysctl(ns.router, 'net.ipv6.conf.all.forwarding', '1');
    await topo.addAddress(ns.router, QR, '2001:db8:50:1::1/64');
    await topo.addAddress(ns.router, QR, '2001:db8:50:2::1/64');
    await topo.addAddress(ns.router, QR, '10.50.0.1/24');
  });

  afterAll(async () => {
    // destroy() also kills what runs in the namespaces (the daemons)
    await topo.destroy();
    if (tmp !== '' && process.env.KEEP_DHCP_TMP !== '1') rmSync(tmp, { recursive: true, force: true });
  });

  it('starts dnsmasq and radvd, and sweeps the state of a network it no longer serves', async () => {
    // what an earlier run left: the state directory of a network, and its namespace
    const staleDir = path.join(stateDir, 'dhcp', STALE_NET);
    mkdirSync(staleDir, { recursive: true });
    writeFileSync(path.join(staleDir, 'namespace'), `${ns.stale}\n`);

    const results = await reconcileDhcp([server([h1, h2])], [ra], runner, { stateDir });
    expect(results).toEqual([
      { item: `dhcp:${NET}`, ok: true },
      { item: `ra:${ROUTER}`, ok: true },
      { item: 'sweep', ok: true },
    ]);
    const netns = (JSON.parse(await runArgv(['ip', '-j', 'netns', 'list'])) as { name: string }[]).map((n) => n.name);
    expect(netns).not.toContain(ns.stale);
    expect(processAlive(pidOf(path.join(dhcpDir, 'pid')))).toBe(true);
    expect(processAlive(pidOf(path.join(raDirPath, 'radvd.pid')))).toBe(true);
    const addrs = await runArgv(['ip', '-n', ns.dhcp, '-br', 'addr', 'show', 'dev', IFNAME]);
    expect(addrs).toContain('10.50.0.2/24');
    expect(addrs).toContain('2001:db8:50:2::2/64');
    // radvd accepts what we rendered
    await runArgv(['ip', 'netns', 'exec', ns.router, 'radvd', '-c', '-C', path.join(raDirPath, 'radvd.conf')]);
  });

  it('a second reconcile is a no-op: no mutating command, no signal, same pids', async () => {
    const dnsmasqPid = pidOf(path.join(dhcpDir, 'pid'));
    const radvdPid = pidOf(path.join(raDirPath, 'radvd.pid'));
    expect(await mutationsOf([server([h1, h2])])).toEqual([]);
    expect(pidOf(path.join(dhcpDir, 'pid'))).toBe(dnsmasqPid);
    expect(pidOf(path.join(raDirPath, 'radvd.pid'))).toBe(radvdPid);
  });

  it('DHCPv4: a known MAC gets exactly its address and the options, an unknown one nothing', async () => {
    const lease = await dhclient(ns.wl1, '-4');
    expect(lease).not.toBeNull();
    expect(lease?.reason).toBe('BOUND');
    expect(lease?.new_ip_address).toBe('10.50.0.11');
    expect(lease?.new_subnet_mask).toBe('255.255.255.0');
    expect(lease?.new_routers).toBe('10.50.0.1');
    expect(lease?.new_domain_name_servers).toBe('10.50.0.53 10.50.0.54');
    expect(lease?.new_interface_mtu).toBe('1450');
    expect(lease?.new_domain_name).toBe('example.test');
    // RFC 3442 encoding: /32 169.254.169.254 via 10.50.0.2, then /0 via 10.50.0.1
    expect(lease?.new_rfc3442_classless_static_routes).toBe('32 169 254 169 254 10 50 0 2 0 10 50 0 1');

    expect(await dhclient(ns.wl3, '-4')).toBeNull();
  });

  it('a hosts change is a SIGHUP: a removed port gets no lease, an added one does', async () => {
    const pid = pidOf(path.join(dhcpDir, 'pid'));
    expect(await mutationsOf([server([h1, h3])])).toEqual([]);
    expect(pidOf(path.join(dhcpDir, 'pid'))).toBe(pid);
    expect(readFileSync(path.join(dhcpDir, 'host'), 'utf8')).not.toContain(MAC.wl2);

    expect((await dhclient(ns.wl3, '-4'))?.new_ip_address).toBe('10.50.0.13');
    expect(await dhclient(ns.wl2, '-4')).toBeNull();
  });

  it('RA: rdisc6 sees the flags, lifetime, prefixes, MTU and RDNSS; the workload forms its SLAAC address', async () => {
    await waitForDad(ns.router);
    await waitForDad(ns.wl1);
    const out = await runArgv(['ip', 'netns', 'exec', ns.wl1, 'rdisc6', '-1', 'eth0']);
    expect(out).toMatch(/Stateful address conf\.\s*:\s*Yes/);
    expect(out).toMatch(/Stateful other conf\.\s*:\s*Yes/);
    expect(out).toMatch(/Router lifetime\s*:\s*30 \(/);
    expect(out).toMatch(/Prefix\s*:\s*2001:db8:50:1::\/64\n\s*On-link\s*:\s*Yes\n\s*Autonomous address conf\.\s*:\s*Yes/);
    expect(out).toMatch(/Prefix\s*:\s*2001:db8:50:2::\/64\n\s*On-link\s*:\s*Yes\n\s*Autonomous address conf\.\s*:\s*No/);
    expect(out).toMatch(/MTU\s*:\s*1450 bytes/);
    expect(out).toMatch(/Recursive DNS server\s*:\s*2001:db8:50:1::53/);

    const slaac = `${formatIp(6, eui64Address(parseCidr(SLAAC_PREFIX), MAC.wl1))}/64`;
    const deadline = Date.now() + 15_000;
    let addrs = '';
    while (Date.now() < deadline) {
      addrs = await runArgv(['ip', '-n', ns.wl1, '-6', 'addr', 'show', 'dev', 'eth0']);
      if (addrs.includes(slaac)) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(addrs).toContain(slaac);
    // no SLAAC address from the non-autonomous (stateful) prefix
    expect(addrs).not.toContain('2001:db8:50:2:');
  });

  it("RA: sent from the port's own link-local address, also once the metadata address is on the interface", async () => {
    const from = async (): Promise<string | undefined> => /^\s*from\s+(\S+)/m.exec(await runArgv(['ip', 'netns', 'exec', ns.wl1, 'rdisc6', '-1', 'eth0']))?.[1];
    expect(await from()).toBe(ROUTER_LINK_LOCAL);
    // what the metadata driver adds to a router's qr-: the newest link-local address, which
    // radvd would otherwise take (it re-reads the addresses when they change)
    await runArgv(['ip', '-n', ns.router, 'addr', 'add', 'fe80::a9fe:a9fe/64', 'dev', QR, 'nodad', 'preferred_lft', '0']);
    try {
      expect(await mutationsOf([server([h1, h3])])).toEqual([]);
      for (let i = 0; i < 3; i++) expect(await from()).toBe(ROUTER_LINK_LOCAL);
      // the workload's default route is that address
      const routes = await runArgv(['ip', '-n', ns.wl1, '-6', 'route', 'show', 'default']);
      expect(routes).toContain(`via ${ROUTER_LINK_LOCAL} dev eth0`);
      expect(routes).not.toContain('fe80::a9fe:a9fe');
    } finally {
      await runArgv(['ip', '-n', ns.router, 'addr', 'del', 'fe80::a9fe:a9fe/64', 'dev', QR]);
    }
  });

  // dhclient -6 identifies itself by a DUID made from the MAC (DUID-LLT for a lease, DUID-LL
  // with -S); dnsmasq recovers the MAC from it (or from the neighbour cache: the client is on
  // link) and matches the MAC-keyed host line. An Information-request carries no address, so
  // with two IPv6 ranges on the link dnsmasq sets no subnet tag: the untagged fallback options
  // answer it.
  it('DHCPv6: stateless hands out the DNS server only, stateful exactly the host address', async () => {
    const stateless = await dhclient(ns.wl1, '-6', ['-S']);
    expect(stateless?.new_dhcp6_name_servers?.split(' ')).toContain('2001:db8:50:1::53');
    expect(stateless?.new_ip6_address).toBeUndefined();

    const stateful = await dhclient(ns.wl1, '-6');
    expect(stateful?.new_ip6_address).toBe('2001:db8:50:2::11');
    expect(stateful?.new_dhcp6_name_servers).toBe('2001:db8:50:2::53');
  });

  it('without DNS servers none is offered (not even dnsmasq itself)', async () => {
    const noDns = server([h1, h3], { subnets: server([]).subnets.map((s) => ({ ...s, dnsNameservers: [] })) });
    const pid = pidOf(path.join(dhcpDir, 'pid'));
    expect(await mutationsOf([noDns])).toEqual([]);
    expect(pidOf(path.join(dhcpDir, 'pid'))).toBe(pid);
    const lease = await dhclient(ns.wl1, '-4');
    expect(lease?.new_ip_address).toBe('10.50.0.11');
    expect(lease?.new_domain_name_servers).toBeUndefined();
  });

  it('a changed command line restarts dnsmasq; unchanged radvd config means no radvd signal', async () => {
    const dnsmasqPid = pidOf(path.join(dhcpDir, 'pid'));
    const radvdPid = pidOf(path.join(raDirPath, 'radvd.pid'));
    const longer = server([h1, h3], { leaseSeconds: 1200 });
    const mutations = await mutationsOf([longer]);
    expect(mutations).toHaveLength(1);
    expect(mutations[0]).toMatch(/ dnsmasq .*--dhcp-range=set:subnet-c0000004-0000-4000-8000-000000000004,10\.50\.0\.0,static,255\.255\.255\.0,1200s/);
    expect(processAlive(dnsmasqPid)).toBe(false);
    expect(processAlive(pidOf(path.join(dhcpDir, 'pid')))).toBe(true);
    expect(pidOf(path.join(raDirPath, 'radvd.pid'))).toBe(radvdPid);
    expect(await mutationsOf([longer])).toEqual([]);
  });

  it('the sweep stops dnsmasq and radvd and deletes the DHCP namespace, not the router one', async () => {
    const dnsmasqPid = pidOf(path.join(dhcpDir, 'pid'));
    const radvdPid = pidOf(path.join(raDirPath, 'radvd.pid'));
    expect(await mutationsOf([], [])).toEqual([`ip netns del ${ns.dhcp}`]);
    expect(processAlive(dnsmasqPid)).toBe(false);
    expect(processAlive(radvdPid)).toBe(false);
    const netns = (JSON.parse(await runArgv(['ip', '-j', 'netns', 'list'])) as { name: string }[]).map((n) => n.name);
    expect(netns).not.toContain(ns.dhcp);
    expect(netns).toContain(ns.router);
    expect(await mutationsOf([], [])).toEqual([]);
  });
});
