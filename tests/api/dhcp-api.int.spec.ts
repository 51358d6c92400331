import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentIdOf } from '@ncp/contracts';
import { TestStack } from '@ncp/testing';
import { NeutronClient, type PortResource, type Resource } from './client';
import { eventually as eventuallyIn } from '../support/eventually';
import { FakeAgent } from './fake-agent';

/**
 * DHCP server placement and the DHCP/RA desired state, against the services as processes and
 * agents that exist only on the bus (the kernel side is tests/dataplane/dhcp-ra.e2e.spec.ts).
 */
let stack: TestStack;
let api: NeutronClient;
let agentA: FakeAgent;
let agentB: FakeAgent | undefined;
let agentC: FakeAgent | undefined;

type Intent = {
  networkId: string;
  portId: string;
  addresses: string[];
  subnets: { id: string; mode: string }[];
  hosts: { portId: string; ipAddresses: string[]; extraOptions: unknown[] }[];
};
const errorOf = (body: Record<string, unknown>) => body.NeutronError as { type: string; message: string };

const eventually = <T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000) =>
  eventuallyIn(what, read, ok, { timeoutMs, context: () => stack.logs('dhcp').slice(-3000) });

const dhcpPorts = async (networkId: string) =>
  (await api.get<{ ports: PortResource[] }>(`/v2.0/ports?network_id=${networkId}&device_owner=network:dhcp`)).body.ports;
const dhcpKey = (agent: FakeAgent, networkId: string) => `${agent.row}.${agent.host}.dhcp.${networkId}`;

beforeAll(async () => {
  stack = await TestStack.start({ env: { AGENT_DOWN_SECONDS: '3', PLACEMENT_INTERVAL_SECONDS: '1' } });
  api = new NeutronClient(stack.url);
  agentA = await FakeAgent.start(stack.natsUrl, stack.prefix, { row: 'row-a', host: 'net-a1', roles: ['network'], physnets: {} });
});

afterAll(async () => {
  await agentA?.stop();
  await agentB?.stop();
  await agentC?.stop();
  await stack?.stop();
});

describe('DHCP servers', () => {
  let net: Resource;
  let v4: Resource;

  it('gives a network with a DHCP subnet one server on a network agent, with a DHCP port and the intent in KV', async () => {
    net = await api.create('networks', 'network', { name: 'n1' });
    v4 = await api.create('subnets', 'subnet', { network_id: net.id, ip_version: 4, cidr: '10.60.0.0/24', dns_nameservers: ['10.60.0.53'] });
    const [port] = await eventually(
      'a DHCP port',
      () => dhcpPorts(net.id),
      (p) => p.length === 1,
    );
    // the network's project owns it, as in Neutron, so the project's members see it
    expect(port).toMatchObject({ device_id: `dhcp-${net.id}`, 'binding:host_id': 'net-a1', project_id: net.project_id, tenant_id: net.project_id });
    expect(port?.fixed_ips.map((f) => f.subnet_id)).toEqual([v4.id]);
    const agents = (await api.get<{ agents: { host: string; agent_type: string }[] }>(`/v2.0/networks/${net.id}/dhcp-agents`)).body.agents;
    expect(agents.map((a) => [a.host, a.agent_type])).toEqual([['net-a1', 'DHCP agent']]);
    const intent = await eventually(
      'the DHCP intent',
      async () => (await agentA.desired()).get(dhcpKey(agentA, net.id)) as Intent | undefined,
      (i) => i !== undefined,
    );
    expect(intent).toMatchObject({ networkId: net.id, portId: port?.id, addresses: [`${port?.fixed_ips[0]?.ip_address}/24`] });
    expect(intent?.subnets).toEqual([expect.objectContaining({ id: v4.id, mode: 'dhcpv4', dnsNameservers: ['10.60.0.53'] })]);
  });

  it('lists a network agent once per Neutron agent type it stands for, to admins only', async () => {
    type Agent = { id: string; host: string; agent_type: string };
    const id = agentIdOf('row-a', 'net-a1');
    const all = (await api.get<{ agents: Agent[] }>('/v2.0/agents')).body.agents;
    // As Tempest's DHCP scheduler test finds its agent: by agent_type in the whole list.
    expect(all.map((a) => [a.id, a.host, a.agent_type])).toEqual([
      [id, 'net-a1', 'Linux bridge agent'],
      [id, 'net-a1', 'DHCP agent'],
      [id, 'net-a1', 'L3 agent'],
    ]);
    const dhcp = (await api.get<{ agents: Agent[] }>('/v2.0/agents?agent_type=DHCP%20agent')).body.agents;
    expect(dhcp.map((a) => [a.id, a.agent_type])).toEqual([[id, 'DHCP agent']]);
    expect((await api.get<{ agents: Agent[] }>('/v2.0/agents?limit=2')).body.agents).toHaveLength(2);
    expect((await api.get<{ agent: Agent }>(`/v2.0/agents/${id}`)).body.agent.agent_type).toBe('Linux bridge agent');
    // Neutron's policy get_agent is admin_only.
    const member = api.as({ 'X-Project-Id': 'p-member', 'X-Roles': 'member' });
    expect((await member.get<{ agents: Agent[] }>('/v2.0/agents')).body.agents).toEqual([]);
  });

  it('adds a workload port to the static leases with its extra DHCP options, and merges option updates', async () => {
    const wl = await api.create<PortResource>('ports', 'port', {
      network_id: net.id,
      extra_dhcp_opts: [
        { opt_name: 'tftp-server', opt_value: '10.60.0.99' },
        { opt_name: 'bootfile-name', opt_value: 'pxe.0' },
      ],
    });
    expect(wl.extra_dhcp_opts).toEqual([
      { opt_name: 'tftp-server', opt_value: '10.60.0.99', ip_version: 4 },
      { opt_name: 'bootfile-name', opt_value: 'pxe.0', ip_version: 4 },
    ]);
    const host = (i: Intent | undefined) => i?.hosts.find((h) => h.portId === wl.id);
    await eventually(
      'the lease',
      async () => (await agentA.desired()).get(dhcpKey(agentA, net.id)) as Intent | undefined,
      (i) => host(i)?.extraOptions.length === 2,
    );
    const updated = await api.put<{ port: PortResource }>(`/v2.0/ports/${wl.id}`, {
      port: { extra_dhcp_opts: [{ opt_name: 'bootfile-name', opt_value: null }] },
    });
    expect(updated.body.port.extra_dhcp_opts).toEqual([{ opt_name: 'tftp-server', opt_value: '10.60.0.99', ip_version: 4 }]);
    const bad = await api.put(`/v2.0/ports/${wl.id}`, { port: { extra_dhcp_opts: [{ opt_name: 'x', opt_value: 'a\nb' }] } });
    expect(bad.status).toBe(400);
    expect(errorOf(bad.body).message).toMatch(/control characters/);
    const intent = await eventually(
      'the merged options',
      async () => (await agentA.desired()).get(dhcpKey(agentA, net.id)) as Intent | undefined,
      (i) => host(i)?.extraOptions.length === 1,
    );
    expect(host(intent)?.ipAddresses).toEqual([wl.fixed_ips[0]?.ip_address]);
    expect((await api.delete(`/v2.0/ports/${wl.id}`)).status).toBe(204);
    await eventually(
      'the lease gone',
      async () => (await agentA.desired()).get(dhcpKey(agentA, net.id)) as Intent | undefined,
      (i) => host(i) === undefined,
    );
  });

  it('gives the DHCP port an address on a DHCPv6 subnet added later', async () => {
    const v6 = await api.create('subnets', 'subnet', {
      network_id: net.id,
      ip_version: 6,
      cidr: '2001:db8:60::/64',
      ipv6_ra_mode: 'dhcpv6-stateful',
      ipv6_address_mode: 'dhcpv6-stateful',
    });
    const [port] = await eventually(
      'an address on the new subnet',
      () => dhcpPorts(net.id),
      (p) => p[0]?.fixed_ips.some((f) => f.subnet_id === v6.id) === true,
    );
    // the subnet and the port's new address reach DHCP's projection as two events: wait for both
    const intent = await eventually(
      'the new subnet served from the new address',
      async () => (await agentA.desired()).get(dhcpKey(agentA, net.id)) as Intent | undefined,
      (i) => i?.subnets.length === 2 && i.addresses.length === port?.fixed_ips.length,
    );
    expect(intent?.subnets.map((s) => s.mode)).toEqual(['dhcpv4', 'dhcpv6-stateful']);
    expect(port?.fixed_ips).toHaveLength(2);
  });

  it('moves the server off a dead agent to a live one, re-binding its port', async () => {
    agentB = await FakeAgent.start(stack.natsUrl, stack.prefix, { row: 'row-b', host: 'net-b1', roles: ['network'], physnets: {} });
    await agentA.stop();
    const ports = await eventually(
      'the port re-bound',
      () => dhcpPorts(net.id),
      (p) => p[0]?.['binding:host_id'] === 'net-b1',
      30_000,
    );
    expect(ports.map((p) => [p.device_owner, p['binding:host_id']])).toEqual([['network:dhcp', 'net-b1']]);
    const b = agentB;
    await eventually(
      'the intent on net-b1',
      async () => (await b.desired()).has(dhcpKey(b, net.id)),
      (has) => has,
    );
    const agents = (await api.get<{ agents: { host: string }[] }>(`/v2.0/networks/${net.id}/dhcp-agents`)).body.agents;
    expect(agents.map((a) => a.host)).toEqual(['net-b1']);
    const hosted = await api.get<{ networks: { id: string; name: string }[] }>(`/v2.0/agents/${agentIdOf('row-b', 'net-b1')}/dhcp-networks`);
    expect(hosted.body.networks.map((n) => [n.id, n.name])).toEqual([[net.id, 'n1']]);
    const formerly = await api.get<{ networks: unknown[] }>(`/v2.0/agents/${agentIdOf('row-a', 'net-a1')}/dhcp-networks`);
    expect(formerly.body.networks).toEqual([]);
  }, 60_000);

  it('pins a network to an agent and releases it (what openstack network agent add/remove network --dhcp call)', async () => {
    agentC = await FakeAgent.start(stack.natsUrl, stack.prefix, { row: 'row-c', host: 'net-c1', roles: ['network'], physnets: {} });
    const compute = await FakeAgent.start(stack.natsUrl, stack.prefix, { row: 'row-c', host: 'cmp-c1', roles: ['compute'], physnets: {} });
    try {
      const c = agentIdOf('row-c', 'net-c1');
      await eventually(
        'agent C known',
        async () => (await api.post(`/v2.0/agents/${c}/dhcp-networks`, { network_id: net.id })).status,
        (st) => st === 201,
      );
      const ports = await eventually(
        'the port re-bound to net-c1',
        () => dhcpPorts(net.id),
        (p) => p[0]?.['binding:host_id'] === 'net-c1',
      );
      expect(ports.map((p) => [p.device_owner, p['binding:host_id']])).toEqual([['network:dhcp', 'net-c1']]);
      expect((await api.get<{ agents: { host: string }[] }>(`/v2.0/networks/${net.id}/dhcp-agents`)).body.agents.map((a) => a.host)).toEqual(['net-c1']);
      const again = await api.post(`/v2.0/agents/${c}/dhcp-networks`, { network_id: net.id });
      expect([again.status, errorOf(again.body).type]).toEqual([409, 'NetworkHostedByDHCPAgent']);
      const notDhcp = await api.post(`/v2.0/agents/${agentIdOf('row-c', 'cmp-c1')}/dhcp-networks`, { network_id: net.id });
      expect([notDhcp.status, errorOf(notDhcp.body).type]).toEqual([409, 'InvalidDHCPAgent']);
      const noNet = await api.post(`/v2.0/agents/${c}/dhcp-networks`, { network_id: '00000000-0000-4000-8000-000000000000' });
      expect([noNet.status, errorOf(noNet.body).type]).toEqual([404, 'NetworkNotFound']);
      const badBody = await api.post(`/v2.0/agents/${c}/dhcp-networks`, { network: net.id });
      expect(badBody.status).toBe(400);
      const notHosting = await api.delete(`/v2.0/agents/${agentIdOf('row-b', 'net-b1')}/dhcp-networks/${net.id}`);
      expect([notHosting.status, errorOf(notHosting.body).type]).toEqual([409, 'NetworkNotHostedByDhcpAgent']);
      expect((await api.delete(`/v2.0/agents/${c}/dhcp-networks/${net.id}`)).status).toBe(204);
      // Released: placed again automatically on a live network agent, its port re-bound there.
      const agents = await eventually(
        'placed again',
        async () => (await api.get<{ agents: { host: string }[] }>(`/v2.0/networks/${net.id}/dhcp-agents`)).body.agents,
        (a) => a.length === 1,
      );
      expect(['net-b1', 'net-c1']).toContain(agents[0]?.host);
      await eventually(
        'the port bound to the new host',
        () => dhcpPorts(net.id),
        (p) => p[0]?.['binding:host_id'] === agents[0]?.host,
      );
    } finally {
      await compute.stop();
    }
  }, 60_000);

  it('removes the server and its port when no subnet needs DHCP any more', async () => {
    const subnets = (await api.get<{ subnets: Resource[] }>(`/v2.0/subnets?network_id=${net.id}`)).body.subnets;
    for (const s of subnets) expect((await api.put(`/v2.0/subnets/${s.id}`, { subnet: { enable_dhcp: false } })).status).toBe(200);
    await eventually(
      'the DHCP port deleted',
      () => dhcpPorts(net.id),
      (p) => p.length === 0,
    );
    for (const agent of [agentB, agentC])
      if (agent)
        await eventually(
          'the intent withdrawn',
          async () => (await agent.desired()).has(dhcpKey(agent, net.id)),
          (has) => !has,
        );
    expect((await api.get<{ agents: unknown[] }>(`/v2.0/networks/${net.id}/dhcp-agents`)).body.agents).toEqual([]);
  });

  it("keeps a network pinned to an agent while no subnet needs DHCP, as Neutron keeps the binding (Tempest's add/remove network from DHCP agent)", async () => {
    const a = agentIdOf('row-a', 'net-a1');
    const hostedBy = async (agentId: string) =>
      (await api.get<{ networks: { id: string }[] }>(`/v2.0/agents/${agentId}/dhcp-networks`)).body.networks.map((n) => n.id);
    expect((await api.post(`/v2.0/agents/${a}/dhcp-networks`, { network_id: net.id })).status).toBe(201);
    // read-your-writes: the answer comes once the pin shows
    expect(await hostedBy(a)).toContain(net.id);
    // A network placed after the pin proves a placement pass ran over the pinned one since.
    const other = await api.create('networks', 'network', { name: 'after-the-pin' });
    await api.create('subnets', 'subnet', { network_id: other.id, ip_version: 4, cidr: '10.61.0.0/24' });
    await eventually(
      'the later network placed',
      () => dhcpPorts(other.id),
      (p) => p.length === 1,
    );
    expect(await hostedBy(a)).toContain(net.id);
    expect(await dhcpPorts(net.id)).toEqual([]);
    expect((await api.delete(`/v2.0/agents/${a}/dhcp-networks/${net.id}`)).status).toBe(204);
    expect(await hostedBy(a)).not.toContain(net.id);
  });

  it('answers the scheduler views with Neutron errors for unknown ids and non-admins', async () => {
    const missing = await api.get('/v2.0/networks/00000000-0000-4000-8000-000000000000/dhcp-agents');
    expect(missing.status).toBe(404);
    expect(errorOf(missing.body).type).toBe('NetworkNotFound');
    const user = api.as({ 'X-Project-Id': 'p-user', 'X-Roles': 'member' });
    expect((await user.get(`/v2.0/networks/${net.id}/dhcp-agents`)).status).toBe(403);
    const unknownAgent = await api.get('/v2.0/agents/00000000-0000-4000-8000-000000000000/dhcp-networks');
    expect(unknownAgent.status).toBe(404);
    expect(errorOf(unknownAgent.body).type).toBe('AgentNotFound');
    const ext = (await api.get<{ extensions: { alias: string }[] }>('/v2.0/extensions')).body.extensions.map((e) => e.alias);
    expect(ext).toEqual(expect.arrayContaining(['dhcp_agent_scheduler', 'extra_dhcp_opt']));
  });
});
