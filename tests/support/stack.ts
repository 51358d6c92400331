import { TestStack, type Topology, netnsPrerequisites, type AgentOptions, type AgentProcess } from '@ncp/testing';
import { NeutronClient } from '../api/client';
import type { OpenstackCli } from './openstack-cli';

/** A stack and a Neutron client pointed at its gateway, as a spec file starts them in beforeAll. */
export async function startStack(opts: { env?: Record<string, string> } = {}): Promise<{ stack: TestStack; api: NeutronClient }> {
  const stack = await TestStack.start(opts);
  return { stack, api: new NeutronClient(stack.url) };
}

/**
 * The namespaces of a two-row scenario: creates `prefix + suffix` for each of `suffixes` (the
 * hosts, the spine and whatever the scenario wires to them), adopts the `workloads` the agents
 * will create, and routes `spine` between the rows of `hostA` and `hostB`.
 */
export async function routedRowsNamespaces(
  topo: Topology,
  suffixes: readonly string[],
  workloads: readonly string[],
  rows: { spine: string; hostA: string; hostB: string },
): Promise<void> {
  const pre = netnsPrerequisites();
  if (!pre.ok) throw new Error(`this scenario needs root and iproute2: ${pre.reason}`);
  for (const suffix of suffixes) await topo.addNetns(suffix);
  for (const w of workloads) topo.adopt(w);
  await topo.routedRows(rows.spine, rows.hostA, rows.hostB);
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
): Promise<{ stack: TestStack; api: NeutronClient; netAgent: AgentProcess }> {
  const { stack, api } = await startStack({ env: { AGENT_DOWN_SECONDS: '4', PLACEMENT_INTERVAL_SECONDS: '1', ...env } });
  try {
    const netAgent = await stack.startAgent({ row: 'row-a', host: 'net-a1', roles: ['network'], tunnelIp: '10.1.0.2', ...net });
    await stack.startAgent({ row: 'row-b', host: 'cmp-b1', roles: ['compute'], tunnelIp: '10.2.0.2', ...cmp });
    return { stack, api, netAgent };
  } catch (e) {
    // the caller never gets the stack to stop in its afterAll
    await stack.stop();
    throw e;
  }
}

/** Wires each veth pair `[nsA, ifA, nsB, ifB]` and brings both ends up. */
export async function wireVeths(topo: Topology, pairs: readonly (readonly [string, string, string, string])[]): Promise<void> {
  for (const [nsA, ifA, nsB, ifB] of pairs) {
    await topo.addVethPair(nsA, ifA, nsB, ifB);
    await topo.linkUp(nsA, ifA);
    await topo.linkUp(nsB, ifB);
  }
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
