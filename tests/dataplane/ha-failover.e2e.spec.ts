import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routerNamespace } from '@ncp/contracts';
import { removeNetnsWithProcesses, requireCommands, requireNetns, type AgentProcess, type TestStack } from '@ncp/testing';
import { type NeutronClient, type PortResource, type Resource } from '../api/client';
import { eventually, waitUntil } from '../support/eventually';
import { FRR_COMMANDS, startFrr } from '../support/frr';
import { OpenstackCli } from '../support/openstack-cli';
import { Pinger } from '../support/pinger';
import { pingOnce } from '../support/probes';
import { configureWorkload, routedRowsTopology, startStack, tearDownScenario, wireVeths } from '../support/stack';

const run = promisify(execFile);

/**
 * An HA router across two rows, through the whole stack, and its network node dying. Two
 * network nodes (net-a1 in row A, net-b1 in row B, each also a BGP speaker host) hold the HA
 * router (keepalived in each one's router namespace, VRRP over the project's VXLAN HA network);
 * the workload is on a compute node of a third row. A core namespace runs FRR (AS 14907),
 * peers with both speakers and advertises the default route: the router learns it (its
 * static gateway leads nowhere) and the core learns the floating IP's /32 from both speakers,
 * with the router's gateway address as next hop on the shared external segment.
 *
 * Then the active node dies whole: its links cut at once (nothing leaves it after, not even
 * keepalived's goodbye), its agent killed, its router namespace and host namespace deleted
 * with everything in them (keepalived, BIRD). A ping every 100 ms from the workload to the
 * core (through SNAT) and from the core to the floating IP, and a TCP connection from the core
 * to the workload through the floating IP, run across it; the lost packets are counted.
 *
 *   core (FRR)  ext bridge 192.168.81.61/26 <- xa/xb -> na ext1, nb ext1 (flat extnet1)
 *               lo 198.51.100.1/32 (the "internet" the workload pings)
 *               peers bridge 10.255.0.1/24 <- pa/pb -> na bgp0 .2, nb bgp0 .3
 *   spine       routes row A 10.1.0.0/24 (na), row B 10.2.0.0/24 (nb), row C 10.3.0.0/24 (cmp)
 */

// With CI=true a missing prerequisite throws here and fails the file; elsewhere it skips.
const canRun =
  requireNetns() &&
  requireCommands([
    ['bird', '--version'],
    ['which', 'birdc'],
    ['keepalived', '--version'],
    ['python3', '--version'],
    ['openstack', '--version'],
    ...FRR_COMMANDS,
  ]);

const SPEAKER_AS = 64712;
const CORE_AS = 14907;
const CORE_PEERING = '10.255.0.1';
const CORE_HOP = '192.168.81.61';
/** the external subnet's gateway_ip: nobody has it, so only the learned default route leads out */
const STATIC_GATEWAY = '192.168.81.1';
const INTERNET = '198.51.100.1';
const TCP_PORT = 8080;

type HostKey = 'a' | 'b';
interface NetworkNode {
  readonly host: string;
  readonly ns: string;
  readonly netnsPrefix: string;
  agent: AgentProcess | undefined;
}
type L3Agent = { host: string; alive: boolean; ha_state: string | null };

/**
 * A TCP connection from `ns` to `address`: one line every 100 ms, each echoed back by the
 * server (python3, as small as it gets). `echoes` counts the answers; `ended` says why the
 * connection ended, if it did.
 */
class TcpEcho {
  private output = '';
  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (c: Buffer) => (this.output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (this.output += c.toString()));
  }

  static server(ns: string): ChildProcessWithoutNullStreams {
    const code = [
      'import socket',
      's = socket.socket()',
      's.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
      `s.bind(("0.0.0.0", ${TCP_PORT}))`,
      's.listen()',
      'print("listening", flush=True)',
      'c, _ = s.accept()',
      'while True:',
      '    d = c.recv(64)',
      '    if not d: break',
      '    c.sendall(d)',
    ].join('\n');
    return spawn('ip', ['netns', 'exec', ns, 'python3', '-u', '-c', code]);
  }

  static connect(ns: string, address: string): TcpEcho {
    const code = [
      'import socket, time',
      `c = socket.create_connection(("${address}", ${TCP_PORT}), timeout=60)`,
      'i = 0',
      'while True:',
      '    c.sendall(b"%d\\n" % i)',
      '    if not c.recv(64):',
      '        print("closed", flush=True)',
      '        break',
      '    print("echo", i, flush=True)',
      '    i += 1',
      '    time.sleep(0.1)',
    ].join('\n');
    return new TcpEcho(spawn('ip', ['netns', 'exec', ns, 'python3', '-u', '-c', code]));
  }

  get echoes(): number {
    return this.output.match(/^echo \d+$/gm)?.length ?? 0;
  }

  /** null while the connection lives; else what ended it (a reset, a close, a timeout). */
  get ended(): string | null {
    return this.child.exitCode === null && this.child.signalCode === null ? null : this.output.slice(-400);
  }

  async moreEchoes(count: number, timeoutMs = 60_000): Promise<void> {
    const wanted = this.echoes + count;
    await eventually(
      `${count} more echoes`,
      async () => (this.ended === null ? this.echoes : -1),
      (n) => n >= wanted || n === -1,
      { timeoutMs, intervalMs: 100, context: () => this.output.slice(-400) },
    );
    if (this.ended !== null) throw new Error(`the TCP connection ended: ${this.ended}`);
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

describe.skipIf(!canRun)('an HA router across two rows through the whole stack: its active network node dies, the standby takes over', () => {
  const { topo, ns, create } = routedRowsTopology(['spine', 'na', 'nb', 'cmp', 'core'], ['wx'], { spine: 'spine', hostA: 'na', hostB: 'nb' });
  const nodes: Record<HostKey, NetworkNode> = {
    a: { host: 'net-a1', ns: ns.na, netnsPrefix: `${topo.prefix}a-`, agent: undefined },
    b: { host: 'net-b1', ns: ns.nb, netnsPrefix: `${topo.prefix}b-`, agent: undefined },
  };
  const speakerAddress: Record<HostKey, string> = { a: '10.255.0.2', b: '10.255.0.3' };
  let stack: TestStack | undefined;
  let api: NeutronClient;
  let cmpAgent: AgentProcess;
  let tmp = '';
  let router: Resource;
  let publicNet: Resource;
  let fip: Resource & { floating_ip_address: string };
  let vtysh: (...commands: string[]) => Promise<string> = () => Promise.reject(new Error('FRR not started'));
  let tcpServer: ChildProcessWithoutNullStreams | undefined;
  let cli: OpenstackCli;
  const nodeOf = (host: string): NetworkNode => {
    const node = Object.values(nodes).find((n) => n.host === host);
    if (node === undefined) throw new Error(`no network node ${host}`);
    return node;
  };
  const routerNs = (node: NetworkNode): string => `${node.netnsPrefix}${routerNamespace(router.id)}`;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'ncp-ha-failover-e2e-'));
    await create();
    // row C: the compute node, routed by the spine like rows A and B
    await topo.wire(ns.spine, 'to-c', ns.cmp, 'ul0');
    await topo.addAddress(ns.spine, 'to-c', '10.3.0.1/24');
    await topo.addAddress(ns.cmp, 'ul0', '10.3.0.2/24');
    await topo.addRoute(ns.cmp, '10.1.0.0/24', '10.3.0.1');
    await topo.addRoute(ns.cmp, '10.2.0.0/24', '10.3.0.1');
    await topo.addRoute(ns.na, '10.3.0.0/24', '10.1.0.1');
    await topo.addRoute(ns.nb, '10.3.0.0/24', '10.2.0.1');
    await wireVeths(topo, [
      [ns.na, 'ext1', ns.core, 'xa'],
      [ns.nb, 'ext1', ns.core, 'xb'],
      [ns.core, 'pa', ns.na, 'bgp0'],
      [ns.core, 'pb', ns.nb, 'bgp0'],
    ]);
    await topo.bridge(ns.core, 'ext', ['xa', 'xb']);
    await topo.bridge(ns.core, 'peers', ['pa', 'pb']);
    await topo.addAddress(ns.core, 'ext', `${CORE_HOP}/26`);
    await topo.addAddress(ns.core, 'peers', `${CORE_PEERING}/24`);
    await topo.addAddress(ns.na, 'bgp0', `${speakerAddress.a}/24`);
    await topo.addAddress(ns.nb, 'bgp0', `${speakerAddress.b}/24`);
    await topo.exec(ns.core, ['ip', 'link', 'set', 'lo', 'up']);
    await topo.addAddress(ns.core, 'lo', `${INTERNET}/32`);
    vtysh = await startFrr(topo, ns.core, path.join(tmp, 'core'), {
      'zebra.conf': ['hostname core'],
      'bfdd.conf': ['hostname core'],
      'bgpd.conf': [
        'hostname core',
        `router bgp ${CORE_AS}`,
        ` bgp router-id ${CORE_PEERING}`,
        ' no bgp ebgp-requires-policy',
        ' no bgp network import-check',
        ...Object.values(speakerAddress).flatMap((a) => [
          ` neighbor ${a} remote-as ${SPEAKER_AS}`,
          ` neighbor ${a} update-source ${CORE_PEERING}`,
          ` neighbor ${a} timers connect 2`,
        ]),
        ' address-family ipv4 unicast',
        '  network 0.0.0.0/0',
        ...Object.values(speakerAddress).map((a) => `  neighbor ${a} route-map HOP out`),
        ' exit-address-family',
        'route-map HOP permit 10',
        ` set ip next-hop ${CORE_HOP}`,
      ],
    });

    ({ stack, api } = await startStack({ env: { AGENT_DOWN_SECONDS: '4', PLACEMENT_INTERVAL_SECONDS: '1' } }));
    const started = stack;
    cli = await OpenstackCli.create(started.url);
    const startNode = async (key: HostKey, row: string, tunnelIp: string) => {
      const node = nodes[key];
      node.agent = await started.startAgent({
        row,
        host: node.host,
        roles: ['network', 'bgp'],
        tunnelIp,
        hostNetns: node.ns,
        physnets: { extnet1: 'ext1' },
        netnsPrefix: node.netnsPrefix,
        stateDir: path.join(tmp, node.host),
      });
    };
    await Promise.all([
      startNode('a', 'row-a', '10.1.0.2'),
      startNode('b', 'row-b', '10.2.0.2'),
      started.startAgent({ row: 'row-c', host: 'cmp-c1', roles: ['compute'], tunnelIp: '10.3.0.2', hostNetns: ns.cmp }).then((a) => (cmpAgent = a)),
    ]);
  }, 240_000);

  afterAll(async () => {
    tcpServer?.kill('SIGKILL');
    await tearDownScenario(stack, topo, cli);
    if (tmp !== '') await rm(tmp, { recursive: true, force: true });
  });

  async function diagnostics(): Promise<string> {
    const core = await vtysh('show bgp summary', 'show ip route').catch((e: unknown) => String(e));
    const agents = Object.values(nodes)
      .map((n) => `agent ${n.host}:\n${n.agent?.logs().slice(-2500) ?? ''}`)
      .join('\n');
    const keepalived = await Promise.all(
      Object.values(nodes).map(async (n) => {
        const log = await readFile(path.join(tmp, n.host, 'keepalived', router.id, 'keepalived.log'), 'utf8').catch(() => '');
        return `keepalived ${n.host}:\n${log.slice(-1500)}`;
      }),
    );
    return `core:\n${core}\n${agents}\n${keepalived.join('\n')}\ncmp-c1:\n${cmpAgent.logs().slice(-1500)}\nl3:\n${stack?.logs('l3').slice(-2000) ?? ''}`;
  }
  const waitFor = <T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> =>
    waitUntil(what, read, ok, { timeoutMs, context: diagnostics });

  const l3Agents = async (): Promise<L3Agent[]> =>
    (await api.get<{ agents: L3Agent[] }>(`/v2.0/routers/${router.id}/l3-agents`)).body.agents.sort((x, y) => x.host.localeCompare(y.host));
  /** Whether keepalived made this node's router the VRRP master (its primary VIP 169.254.0.<vrid>/24 on the ha- interface). */
  const holdsPrimaryVip = async (node: NetworkNode): Promise<boolean> => {
    const shown = await run('ip', ['-4', '-j', '-n', routerNs(node), 'addr', 'show']).catch(() => null);
    if (shown === null) return false; // the node died with its namespaces
    const { stdout } = shown;
    const links = JSON.parse(stdout) as { ifname: string; addr_info?: { local: string; prefixlen: number }[] }[];
    return links.some((l) => l.ifname.startsWith('ha-') && (l.addr_info ?? []).some((a) => a.local.startsWith('169.254.0.') && a.prefixlen === 24));
  };

  /** The core's route to the floating IP: its next hops (empty: none). */
  const coreRouteToFip = async (): Promise<string[]> => {
    const { stdout } = await run('ip', ['-4', '-j', '-n', ns.core, 'route', 'show', `${fip.floating_ip_address}/32`]);
    const [route] = JSON.parse(stdout) as { gateway?: string }[];
    return route?.gateway === undefined ? [] : [route.gateway];
  };

  it('places the HA router on both network nodes, one active and one standby, in two rows', async () => {
    const pub = (publicNet = await api.createSharedExternal('Public-Net', { 'provider:network_type': 'flat', 'provider:physical_network': 'extnet1' }));
    await api.create('subnets', 'subnet', {
      network_id: pub.id,
      ip_version: 4,
      cidr: '192.168.81.0/26',
      gateway_ip: STATIC_GATEWAY,
      enable_dhcp: false,
      allocation_pools: [{ start: '192.168.81.2', end: '192.168.81.50' }],
    });
    const tenant = await api.create('networks', 'network', { name: 'ha-net' });
    const subnet = await api.create('subnets', 'subnet', { network_id: tenant.id, ip_version: 4, cidr: '10.78.0.0/24', enable_dhcp: false });
    // the way an operator makes it: the openstack CLI
    router = await cli.json('router', 'create', '--ha', 'r-ha');
    expect(router).toMatchObject({ ha: true });
    await cli.run('router', 'set', '--external-gateway', pub.id, 'r-ha');
    await cli.run('router', 'add', 'subnet', 'r-ha', subnet.id);
    // what the core sends the workload through the floating IP: pings and the TCP connection
    const open = await api.create('security-groups', 'security_group', { name: 'from-core' });
    for (const rule of [{ protocol: 'icmp' }, { protocol: 'tcp', port_range_min: TCP_PORT, port_range_max: TCP_PORT }]) {
      await api.create('security-group-rules', 'security_group_rule', { security_group_id: open.id, direction: 'ingress', ethertype: 'IPv4', ...rule });
    }
    const port = await api.create<PortResource>('ports', 'port', {
      network_id: tenant.id,
      security_groups: [open.id],
      'binding:host_id': 'cmp-c1',
      'binding:profile': { netns: ns.wx },
    });
    await waitFor(
      `port ${port.id} ACTIVE`,
      () => api.status('ports', 'port', port.id),
      (s) => s === 'ACTIVE',
    );
    await configureWorkload(topo, ns.wx, port, 24, '10.78.0.1');
    for (const node of Object.values(nodes)) topo.adopt(routerNs(node));

    const roles = await waitFor(
      'one active and one standby agent',
      l3Agents,
      (a) =>
        a.length === 2 &&
        a
          .map((x) => x.ha_state)
          .sort()
          .join() === 'active,standby',
    );
    expect(roles.map((a) => a.host)).toEqual(['net-a1', 'net-b1']);
    // and as the CLI shows them
    type CliAgent = { Host: string; 'HA State': string };
    const listed = JSON.parse(await cli.run('network', 'agent', 'list', '--router', 'r-ha', '--long', '-f', 'json')) as CliAgent[];
    expect(listed.map((a) => `${a.Host} ${a['HA State']}`).sort()).toEqual(roles.map((a) => `${a.host} ${a.ha_state ?? ''}`));
    await waitFor(
      'router ACTIVE',
      () => api.status('routers', 'router', router.id),
      (s) => s === 'ACTIVE',
    );
    // the router namespace on each node, under the node's own name for it
    for (const node of Object.values(nodes)) expect((await run('ip', ['netns', 'list'])).stdout).toContain(routerNs(node));

    fip = await api.create('floatingips', 'floatingip', { floating_network_id: pub.id, port_id: port.id });
    tcpServer = TcpEcho.server(ns.wx);
  });

  it('learns the default route from FRR on both nodes; the core learns the floating IP; both paths answer', async () => {
    const speaker = await api.create('bgp-speakers', 'bgp_speaker', { name: 'edge', local_as: SPEAKER_AS, ip_version: 4 });
    const peer = await api.create('bgp-peers', 'bgp_peer', { name: 'core', peer_ip: CORE_PEERING, remote_as: CORE_AS, accept_default_route: true });
    await api.put(`/v2.0/bgp-speakers/${speaker.id}/add_bgp_peer`, { bgp_peer_id: peer.id });
    await api.put(`/v2.0/bgp-speakers/${speaker.id}/add_gateway_network`, { network_id: publicNet.id });
    type Gateway = { external_fixed_ips: { ip_address: string }[] };
    const shown = (await api.get<{ router: { external_gateway_info: Gateway } }>(`/v2.0/routers/${router.id}`)).body.router;
    const gateway = shown.external_gateway_info.external_fixed_ips[0]?.ip_address ?? '';
    expect(await waitFor('the core routes the floating IP to the router gateway', coreRouteToFip, (h) => h.length === 1)).toEqual([gateway]);
    await waitFor(
      'the workload reaches the core through SNAT',
      () => pingOnce(topo, ns.wx, INTERNET),
      (s) => s === 'answers',
    );
    await waitFor(
      'the core reaches the floating IP',
      () => pingOnce(topo, ns.core, fip.floating_ip_address),
      (s) => s === 'answers',
    );
  });

  it('the active node dies: the standby takes over both paths; the lost packets are counted; the TCP connection through the floating IP lives on', async () => {
    const before = await l3Agents();
    const dead = nodeOf(before.find((a) => a.ha_state === 'active')?.host ?? '');
    const survivor = nodeOf(before.find((a) => a.ha_state === 'standby')?.host ?? '');
    // the kernels agree with the reports: only the active node holds keepalived's primary VIP
    const holders = async () => {
      const held = await Promise.all(Object.values(nodes).map(async (n) => ((await holdsPrimaryVip(n)) ? [n.host] : [])));
      return held.flat();
    };
    expect(await waitFor('one node holding the primary VIP', holders, (h) => h.length === 1)).toEqual([dead.host]);
    const outbound = Pinger.start(ns.wx, INTERNET, 0.1);
    const inbound = Pinger.start(ns.core, fip.floating_ip_address, 0.1);
    const tcp = TcpEcho.connect(ns.core, fip.floating_ip_address);
    try {
      await Promise.all([outbound.moreReplies(10), inbound.moreReplies(10), tcp.moreEchoes(10)]);
      expect(tcp.ended).toBeNull();

      // the host dies: every link at once (one ip batch), then its agent and everything it ran
      const batch = path.join(tmp, 'cut.batch');
      await writeFile(batch, ['link del dev ul0', 'link del dev ext1', 'link del dev bgp0', ''].join('\n'));
      await run('ip', ['-n', dead.ns, '-batch', batch]);
      await dead.agent?.kill('SIGKILL');
      await removeNetnsWithProcesses(routerNs(dead));
      await removeNetnsWithProcesses(dead.ns);

      await Promise.all([outbound.moreReplies(20), inbound.moreReplies(20), tcp.moreEchoes(20)]);
      expect(await holders()).toEqual([survivor.host]);
      // the API follows: the survivor reports active; the dead agent, once known dead, is shown
      // standby as Neutron shows it (its last report, active, is stale), then dropped
      await waitFor(`${survivor.host} active, ${dead.host} not`, l3Agents, (a) =>
        a.every((x) => (x.host === survivor.host ? x.ha_state === 'active' : x.ha_state === 'standby' && !x.alive)),
      );
      // The control plane catches up: the dead agent's place is dropped (no third network node
      // to take it). Replacing the placement must not interrupt the survivor.
      await waitFor(`only ${survivor.host} left`, l3Agents, (a) => a.length === 1 && a[0]?.host === survivor.host);
      await Promise.all([outbound.moreReplies(20), inbound.moreReplies(20), tcp.moreEchoes(20)]);
      expect(tcp.ended).toBeNull();
    } finally {
      tcp.stop();
      const [out, inn] = await Promise.all([outbound.stop(), inbound.stop()]);
      const lost = (p: { sent: number | null; received: number | null }) => (p.sent ?? 0) - (p.received ?? 0);
      // a request sent while the next hop's address was being resolved again waits in the
      // neighbour queue and is answered late: not lost, but the path was silent meanwhile
      console.info(
        `HA failover (pings every 100 ms): workload -> core lost ${lost(out)} of ${out.sent ?? '?'}, silent ${outbound.longestSilenceMs()} ms; ` +
          `core -> floating IP lost ${lost(inn)} of ${inn.sent ?? '?'}, silent ${inbound.longestSilenceMs()} ms; TCP echoes ${tcp.echoes}`,
      );
    }
  });
});
