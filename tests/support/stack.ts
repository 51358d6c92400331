import { TestStack, Topology, netnsPrerequisites, type AgentOptions, type AgentProcess } from '@ncp/testing';
import { NeutronClient, type PortResource } from '../api/client';
import type { OpenstackCli } from './openstack-cli';

/** A stack and a Neutron client pointed at its gateway, as a spec file starts them in beforeAll. */
export async function startStack(opts: { env?: Record<string, string> } = {}): Promise<{ stack: TestStack; api: NeutronClient }> {
  const stack = await TestStack.start(opts);
  // The scenario's client is the operator and the compute layer at once: it binds its
  // workloads' ports (binding:host_id, binding:profile) as Nova does, with the service role
  // Neutron's policy gives binding:profile to.
  return { stack, api: new NeutronClient(stack.url, { 'X-Roles': 'admin,member,service' }) };
}

/**
 * The namespaces of a two-row scenario, each named by its suffix: the `hosts` this file creates
 * (the spine, the two agents' hosts and whatever the scenario wires to them) and the
 * `workloads` the agents will create. `create()`, in beforeAll, makes the hosts, adopts the
 * workloads for cleanup and routes `rows.spine` between the rows of `rows.hostA` and `rows.hostB`.
 */
export function routedRowsTopology<H extends string, W extends string>(
  hosts: readonly H[],
  workloads: readonly W[],
  rows: { spine: H; hostA: H; hostB: H },
): { topo: Topology; ns: Readonly<Record<H | W, string>>; create: () => Promise<void> } {
  const topo = new Topology();
  const bySuffix = <K extends string>(suffixes: readonly K[]) =>
    Object.fromEntries(suffixes.map((suffix): [string, string] => [suffix, suffix])) as Record<K, string>;
  const { ns, create: createNamespaces } = topo.plan(bySuffix(hosts), bySuffix(workloads));
  const create = async (): Promise<void> => {
    const pre = netnsPrerequisites();
    if (!pre.ok) throw new Error(`this scenario needs root and iproute2: ${pre.reason}`);
    await createNamespaces();
    await topo.routedRows(ns[rows.spine], ns[rows.hostA], ns[rows.hostB]);
  };
  return { topo, ns, create };
}

/**
 * The stack of the routed-rows scenarios with their two agents: the network agent net-a1 in
 * row-a (routers, DHCP; `net` adds its namespace, physnets, state directory, more roles) and the
 * compute agent cmp-b1 in row-b (`cmp`), both on their hosts' underlay addresses.
 */
export async function startNetAndComputeAgents(
  env: Record<string, string>,
  net: Omit<AgentOptions, 'row' | 'host' | 'tunnelIp'>,
  cmp: Omit<AgentOptions, 'row' | 'host' | 'tunnelIp'>,
): Promise<{ stack: TestStack; api: NeutronClient; netAgent: AgentProcess; cmpAgent: AgentProcess }> {
  const { stack, api } = await startStack({ env: { AGENT_DOWN_SECONDS: '4', PLACEMENT_INTERVAL_SECONDS: '1', ...env } });
  try {
    const [netAgent, cmpAgent] = await Promise.all([
      stack.startAgent({ row: 'row-a', host: 'net-a1', roles: ['network'], tunnelIp: '10.1.0.2', ...net }),
      stack.startAgent({ row: 'row-b', host: 'cmp-b1', roles: ['compute'], tunnelIp: '10.2.0.2', ...cmp }),
    ]);
    return { stack, api, netAgent, cmpAgent };
  } catch (e) {
    // the caller never gets the stack to stop in its afterAll
    await stack.stop();
    throw e;
  }
}

/** What a workload's OS does with its port on an IPv4 subnet: its first address, and its default route via `gateway`. */
export async function configureWorkload(topo: Topology, netns: string, port: PortResource, prefixLength: number, gateway: string): Promise<void> {
  await topo.exec(netns, ['ip', 'addr', 'add', `${port.fixed_ips[0]?.ip_address ?? ''}/${prefixLength}`, 'dev', 'eth0']);
  await topo.exec(netns, ['ip', 'route', 'add', 'default', 'via', gateway]);
}

/** Wires each veth pair `[nsA, ifA, nsB, ifB]` and brings both ends up. */
export async function wireVeths(topo: Topology, pairs: readonly (readonly [string, string, string, string])[]): Promise<void> {
  for (const [nsA, ifA, nsB, ifB] of pairs) await topo.wire(nsA, ifA, nsB, ifB);
}

/**
 * The end of a scenario: stops the stack (which removes the router and DHCP namespaces its
 * routers and networks caused), deletes the topology's namespaces (killing what runs in them)
 * and the CLI's configuration. Any of them may be missing after a failed beforeAll.
 */
export async function tearDownScenario(stack: TestStack | undefined, topo: Topology, cli?: OpenstackCli): Promise<void> {
  await stack?.stop();
  await topo.destroy();
  await cli?.remove();
}
