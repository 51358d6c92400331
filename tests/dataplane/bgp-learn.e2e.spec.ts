import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routerNamespace } from '@ncp/contracts';
import { type TestStack, requireCommands, requireNetns, type AgentProcess } from '@ncp/testing';
import { waitUntil } from '../support/eventually';
import { FRR_COMMANDS, startFrr } from '../support/frr';
import { pingOnce } from '../support/probes';
import { type NeutronClient, type PortResource, type Resource } from '../api/client';
import { configureWorkload, routedRowsTopology, startNetAndComputeAgents, tearDownScenario, wireVeths } from '../support/stack';

const run = promisify(execFile);

/**
 * BGP that learns, on the real kernel, from another implementation: a core namespace runs FRR
 * (zebra, bgpd, bfdd; Debian's `frr`, started here without systemd) and peers with the BIRD of
 * the speaker on both bgp agents (net-a1 in row A, cmp-b1 in row B). The core advertises a
 * default route, with a next hop of its own on the external network, a different one to each
 * speaker host (two "core routers"): the router on net-a1, whose gateway network is bound to
 * the speaker, gets the default route as ECMP over both instead of the subnet's gateway (.1,
 * which nobody has), and a workload behind it reaches the core's "internet" address through
 * SNAT. The core withdraws it: the route goes, the static default is back, the path is dead.
 *
 *   core (FRR, AS 14907)
 *     ext   192.168.81.61/26 192.168.81.62/26 <- flat Public-Net (physnet extnet1) -> net-a1 ext1
 *     lo    198.51.100.1/32 (the "internet" the workload pings)
 *     peers (bridge) 10.255.0.1/24: net-a1 bgp0 10.255.0.2, cmp-b1 bgp0 10.255.0.3
 */

// With CI=true a missing prerequisite throws here and fails the file; elsewhere it skips.
const canRun = requireNetns() && requireCommands([['bird', '--version'], ['which', 'birdc'], ...FRR_COMMANDS]);

const SPEAKER_AS = 64711;
const CORE_AS = 14907;
const CORE_PEERING = '10.255.0.1';
const SPEAKER_HOSTS = { net: '10.255.0.2', cmp: '10.255.0.3' } as const;
/** the core's addresses on the external network: the next hop it gives net-a1, and cmp-b1 */
const CORE_HOPS = { net: '192.168.81.61', cmp: '192.168.81.62' } as const;
/** the external subnet's gateway_ip: nobody has it, so the static default route leads nowhere */
const STATIC_GATEWAY = '192.168.81.1';
const INTERNET = '198.51.100.1';

describe.skipIf(!canRun)('BGP learns from an FRR core: the default route, ECMP in the router, withdrawn again; BFD up', () => {
  const { topo, ns, create } = routedRowsTopology(['spine', 'net', 'cmp', 'core'], ['wx'], { spine: 'spine', hostA: 'net', hostB: 'cmp' });
  let stack: TestStack;
  let api: NeutronClient;
  let netAgent: AgentProcess;
  let tmp = '';
  let router: Resource;
  let publicNet: Resource;
  let speaker: Resource;
  let peer: Resource;
  const coreFile = (name: string): string => path.join(tmp, 'core', name);
  const netStateDir = (): string => path.join(tmp, 'net-a1');

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'ncp-bgp-learn-e2e-'));
    await create();
    await wireVeths(topo, [
      [ns.net, 'ext1', ns.core, 'ext'],
      [ns.core, 'pnet', ns.net, 'bgp0'],
      [ns.core, 'pcmp', ns.cmp, 'bgp0'],
    ]);
    await topo.bridge(ns.core, 'peers', ['pnet', 'pcmp']);
    for (const hop of Object.values(CORE_HOPS)) await topo.addAddress(ns.core, 'ext', `${hop}/26`);
    await topo.addAddress(ns.core, 'peers', `${CORE_PEERING}/24`);
    await topo.addAddress(ns.net, 'bgp0', `${SPEAKER_HOSTS.net}/24`);
    await topo.addAddress(ns.cmp, 'bgp0', `${SPEAKER_HOSTS.cmp}/24`);
    await topo.exec(ns.core, ['ip', 'link', 'set', 'lo', 'up']);
    await topo.addAddress(ns.core, 'lo', `${INTERNET}/32`);
    await startCoreFrr();

    ({ stack, api, netAgent } = await startNetAndComputeAgents(
      {},
      { roles: ['network', 'bgp'], hostNetns: ns.net, physnets: { extnet1: 'ext1' }, stateDir: netStateDir() },
      { roles: ['compute', 'bgp'], hostNetns: ns.cmp },
    ));
  }, 180_000);

  afterAll(async () => {
    // destroying the topology kills FRR and every BIRD (they run in the namespaces)
    await tearDownScenario(stack, topo);
    if (tmp !== '') await rm(tmp, { recursive: true, force: true });
  });

  /**
   * FRR in the core namespace. The BFD sessions are configured in bfdd, with their addresses
   * and interface: left to bgpd, a session is made again once the BGP session is up (now
   * knowing its interface), which BIRD sees as BFD going down: it closes the BGP session and
   * waits a minute before the next.
   */
  async function startCoreFrr(): Promise<void> {
    const neighbor = (host: keyof typeof SPEAKER_HOSTS) => [
      ` neighbor ${SPEAKER_HOSTS[host]} remote-as ${SPEAKER_AS}`,
      ` neighbor ${SPEAKER_HOSTS[host]} bfd`,
      ` neighbor ${SPEAKER_HOSTS[host]} update-source ${CORE_PEERING}`,
      // a restarted speaker is back within seconds
      ` neighbor ${SPEAKER_HOSTS[host]} timers connect 2`,
    ];
    vtysh = await startFrr(topo, ns.core, coreFile(''), {
      'zebra.conf': ['hostname core'],
      'bfdd.conf': [
        'hostname core',
        'bfd',
        ...Object.values(SPEAKER_HOSTS).map((a) => ` peer ${a} local-address ${CORE_PEERING} interface peers`),
        ' exit',
        'exit',
      ],
      'bgpd.conf': [
        'hostname core',
        `router bgp ${CORE_AS}`,
        ` bgp router-id ${CORE_PEERING}`,
        ' no bgp ebgp-requires-policy',
        ' no bgp network import-check',
        ...neighbor('net'),
        ...neighbor('cmp'),
        ' address-family ipv4 unicast',
        '  network 0.0.0.0/0',
        `  neighbor ${SPEAKER_HOSTS.net} route-map HOP-NET out`,
        `  neighbor ${SPEAKER_HOSTS.cmp} route-map HOP-CMP out`,
        ' exit-address-family',
        'route-map HOP-NET permit 10',
        ` set ip next-hop ${CORE_HOPS.net}`,
        'route-map HOP-CMP permit 10',
        ` set ip next-hop ${CORE_HOPS.cmp}`,
      ],
    });
  }

  /** One vtysh command against the core's daemons. */
  let vtysh: (...commands: string[]) => Promise<string> = () => Promise.reject(new Error('FRR not started'));

  async function diagnostics(): Promise<string> {
    const log = async (name: string) => (await readFile(coreFile(name), 'utf8').catch(() => '')).slice(-2000);
    const summary = await vtysh('show bgp summary').catch((e: unknown) => String(e));
    const bird = speaker === undefined ? '' : (await readFile(path.join(netStateDir(), 'bgp', speaker.id, 'bird.log'), 'utf8').catch(() => '')).slice(-3000);
    return `core bgpd:\n${summary}\n${await log('bgpd.log')}\nnet-a1 BIRD:\n${bird}\nagent net-a1:\n${netAgent.logs().slice(-3000)}\nbgp:\n${stack.logs('bgp').slice(-2000)}\nl3:\n${stack.logs('l3').slice(-2000)}`;
  }
  const waitFor = <T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> =>
    waitUntil(what, read, ok, { timeoutMs, context: diagnostics });

  /** The router's default route in its namespace: its next hops, sorted (one, or several for ECMP). */
  async function routerDefault(): Promise<string[]> {
    const { stdout } = await run('ip', ['-4', '-j', '-n', routerNamespace(router.id), 'route', 'show', 'default']);
    const [route] = JSON.parse(stdout) as { gateway?: string; nexthops?: { gateway: string }[] }[];
    if (route === undefined) return [];
    return (route.nexthops?.map((n) => n.gateway) ?? [route.gateway ?? '-']).sort();
  }

  const learned = async (): Promise<string[]> => {
    const r = await api.get<{ learned_routes: { destination: string; next_hop: string; host: string; peer_id: string }[] }>(
      `/v2.0/bgp-speakers/${speaker.id}/get_learned_routes`,
    );
    expect(r.status).toBe(200);
    return r.body.learned_routes.map((l) => `${l.destination} via ${l.next_hop} on ${l.host}${l.peer_id === peer.id ? '' : ' (other peer)'}`).sort();
  };

  it('builds a router with SNAT on the external network; its static default route leads nowhere', async () => {
    const pub = (publicNet = await api.createSharedExternal('Public-Net', { 'provider:network_type': 'flat', 'provider:physical_network': 'extnet1' }));
    const pubSubnet = await api.create('subnets', 'subnet', {
      network_id: pub.id,
      ip_version: 4,
      cidr: '192.168.81.0/26',
      gateway_ip: STATIC_GATEWAY,
      enable_dhcp: false,
      // the core's addresses stay out of the pool
      allocation_pools: [{ start: '192.168.81.2', end: '192.168.81.50' }],
    });
    expect(pubSubnet.gateway_ip).toBe(STATIC_GATEWAY);
    const tenant = await api.create('networks', 'network', { name: 'nat-net' });
    const subnet = await api.create('subnets', 'subnet', { network_id: tenant.id, ip_version: 4, cidr: '10.77.0.0/24' });
    router = await api.create('routers', 'router', { name: 'r1', external_gateway_info: { network_id: pub.id } });
    await api.put(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
    const port = await api.create<PortResource>('ports', 'port', { network_id: tenant.id, 'binding:host_id': 'cmp-b1', 'binding:profile': { netns: ns.wx } });
    await waitFor(
      `port ${port.id} ACTIVE`,
      () => api.status('ports', 'port', port.id),
      (s) => s === 'ACTIVE',
    );
    await configureWorkload(topo, ns.wx, port, 24, '10.77.0.1');
    await waitFor(
      'router ACTIVE',
      () => api.status('routers', 'router', router.id),
      (s) => s === 'ACTIVE',
    );
    expect(await waitFor('the static default route', routerDefault, (h) => h.length > 0)).toEqual([STATIC_GATEWAY]);
    expect(await pingOnce(topo, ns.wx, INTERNET)).toBe('silent');
  });

  it('learns the default route from FRR on both hosts (get_learned_routes); the router routes it ECMP over both core addresses; the workload reaches the core through SNAT', async () => {
    speaker = await api.create('bgp-speakers', 'bgp_speaker', { name: 'edge', local_as: SPEAKER_AS, ip_version: 4 });
    peer = await api.create('bgp-peers', 'bgp_peer', { name: 'core', peer_ip: CORE_PEERING, remote_as: CORE_AS, accept_default_route: true });
    expect(peer).toMatchObject({ accept_default_route: true, accepted_prefixes: [], bfd: false });
    await api.put(`/v2.0/bgp-speakers/${speaker.id}/add_bgp_peer`, { bgp_peer_id: peer.id });
    await api.put(`/v2.0/bgp-speakers/${speaker.id}/add_gateway_network`, { network_id: publicNet.id });

    const both = [`0.0.0.0/0 via ${CORE_HOPS.net} on net-a1`, `0.0.0.0/0 via ${CORE_HOPS.cmp} on cmp-b1`];
    expect(await waitFor('the default route learned on both hosts', learned, (l) => JSON.stringify(l) === JSON.stringify(both))).toEqual(both);
    expect(await waitFor('an ECMP default route in the router', routerDefault, (h) => h.length === 2)).toEqual([CORE_HOPS.net, CORE_HOPS.cmp].sort());
    await waitFor(
      'the workload pings the core',
      () => pingOnce(topo, ns.wx, INTERNET),
      (s) => s === 'answers',
      20_000,
    );
    // nothing learned is installed on the speakers' hosts
    for (const host of [ns.net, ns.cmp]) {
      const { stdout } = await run('ip', ['-4', '-j', '-n', host, 'route', 'show', 'default']);
      expect(JSON.parse(stdout)).toEqual([]);
    }
  });

  it('BFD turned on for the peer: it runs on both sessions (FRR and BIRD say Up), which stay Established', async () => {
    expect((await api.put(`/v2.0/bgp-peers/${peer.id}`, { bgp_peer: { bfd: true } })).status).toBe(200);
    type BfdPeer = { peer: string; status: string };
    const peers = await waitFor(
      'BFD up with both speaker hosts',
      async () => (JSON.parse(await vtysh('show bfd peers json')) as BfdPeer[]).map((p) => `${p.peer} ${p.status}`).sort(),
      (p) => p.length === 2 && p.every((x) => x.endsWith(' up')),
    );
    expect(peers).toEqual([`${SPEAKER_HOSTS.net} up`, `${SPEAKER_HOSTS.cmp} up`]);
    const { stdout } = await run('birdc', ['-s', path.join(netStateDir(), 'bgp', speaker.id, 'bird.ctl'), 'show', 'bfd', 'sessions']);
    expect(stdout).toMatch(new RegExp(`^${CORE_PEERING.replace(/\./g, '\\.')}\\s+bgp0\\s+Up\\s`, 'm'));
    type Peer = { status: string; sessions: { host: string; state: string }[] };
    const shown = await waitFor(
      'both sessions Established with BFD',
      async () => (await api.get<{ bgp_peer: Peer }>(`/v2.0/bgp-peers/${peer.id}`)).body.bgp_peer,
      (p) => p.sessions.length === 2 && p.sessions.every((x) => x.state === 'Established'),
    );
    expect(shown.status).toBe('Established');
    expect(await learned()).toHaveLength(2);
  });

  it('the core withdraws the default route: it leaves get_learned_routes, the router has its static default again, the path is dead', async () => {
    await vtysh('configure terminal', `router bgp ${CORE_AS}`, 'address-family ipv4 unicast', 'no network 0.0.0.0/0');
    expect(await waitFor('nothing learned', learned, (l) => l.length === 0)).toEqual([]);
    expect(await waitFor('the static default route again', routerDefault, (h) => h.length === 1 && h[0] === STATIC_GATEWAY)).toEqual([STATIC_GATEWAY]);
    await waitFor(
      'the workload no longer reaches the core',
      () => pingOnce(topo, ns.wx, INTERNET),
      (s) => s === 'silent',
      20_000,
    );

    // advertised again: learned again
    await vtysh('configure terminal', `router bgp ${CORE_AS}`, 'address-family ipv4 unicast', 'network 0.0.0.0/0');
    expect(await waitFor('the ECMP default route again', routerDefault, (h) => h.length === 2)).toEqual([CORE_HOPS.net, CORE_HOPS.cmp].sort());
  });

  it("the peer's policy turned off: nothing is learned any more, the static default route is back", async () => {
    const off = await api.put(`/v2.0/bgp-peers/${peer.id}`, { bgp_peer: { accept_default_route: false } });
    expect(off.status).toBe(200);
    expect(await waitFor('nothing learned', learned, (l) => l.length === 0)).toEqual([]);
    expect(await waitFor('the static default route', routerDefault, (h) => h.length === 1 && h[0] === STATIC_GATEWAY)).toEqual([STATIC_GATEWAY]);
  });
});
