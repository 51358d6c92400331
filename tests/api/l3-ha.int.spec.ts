import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestStack } from '@ncp/testing';
import { eventually } from '../support/eventually';
import { NeutronClient, type Resource } from './client';
import { FakeAgent } from './fake-agent';

/**
 * HA routers through the API, against IPAM and L3 as processes and three agents that exist
 * only on the bus (two in row-a, one in row-b): placement on two rows, the project's HA
 * network and HA ports, one intent per host, the agents' VRRP roles in l3-agents, and a
 * dead host replaced.
 */
let stack: TestStack;
let api: NeutronClient;
const agents = new Map<string, FakeAgent>();

type Port = Resource & {
  network_id: string;
  device_owner: string;
  device_id: string;
  project_id: string;
  'binding:host_id': string;
  'binding:profile': Record<string, unknown>;
};
type L3Agent = { host: string; row: string; alive: boolean; ha_state: string | null };
type HaIntent = { vrid: number; priority: number; interface: { portId: string; ifname: string; address: string } };

let router: Resource & { ha: boolean };
let interfacePortId: string;
/** what each host reported of its VRRP role */
const reported = new Map<string, string>();

const l3Agents = async () => (await api.get<{ agents: L3Agent[] }>(`/v2.0/routers/${router.id}/l3-agents`)).body.agents;
const haPorts = async () =>
  (await api.get<{ ports: Port[] }>(`/v2.0/ports?device_id=${router.id}&device_owner=network:router_ha_interface`)).body.ports.sort((a, b) =>
    a['binding:host_id'].localeCompare(b['binding:host_id']),
  );
const intentOn = async (host: string) =>
  (await agents.get(host)?.desired())?.get(`${agents.get(host)?.row}.${host}.router.${router.id}`) as { ha?: HaIntent } | undefined;

beforeAll(async () => {
  stack = await TestStack.start({ env: { AGENT_DOWN_SECONDS: '3', PLACEMENT_INTERVAL_SECONDS: '1' } });
  api = new NeutronClient(stack.url);
  for (const [row, host, tunnelIp] of [
    ['row-a', 'net-a1', '192.0.2.11'],
    ['row-a', 'net-a2', '192.0.2.12'],
    ['row-b', 'net-b1', '192.0.2.21'],
  ] as const) {
    agents.set(host, await FakeAgent.start(stack.natsUrl, stack.prefix, { row, host, roles: ['network'], physnets: {}, tunnelIp }));
  }
});

afterAll(async () => {
  console.log(
    stack
      ?.logs('l3')
      .split('\n')
      .filter((l) => /warn|error|"level":(40|50)/i.test(l))
      .slice(0, 20)
      .join('\n'),
  );
  for (const a of agents.values()) await a.stop();
  await stack?.stop();
});

describe('HA routers', () => {
  it('places an HA router on two agents of two rows, each with its HA port on the project HA network', async () => {
    const tenant = await api.create('networks', 'network', { name: 'tenant-ha' });
    const subnet = await api.create('subnets', 'subnet', { network_id: tenant.id, ip_version: 4, cidr: '172.16.50.0/24' });
    router = await api.create<Resource & { ha: boolean }>('routers', 'router', { name: 'ha-r1', ha: true });
    expect(router.ha).toBe(true);
    const added = await api.put<{ port_id: string }>(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
    expect(added.status).toBe(200);
    interfacePortId = added.body.port_id;

    const placed = await eventually('the HA router on two agents', l3Agents, (a) => a.length === 2);
    expect(placed.map((a) => a.row).sort()).toEqual(['row-a', 'row-b']);
    expect(placed.every((a) => a.alive && a.ha_state === null)).toBe(true);

    const ports = await eventually('two bound HA ports', haPorts, (p) => p.length === 2 && p.every((x) => x['binding:host_id'] !== ''));
    expect(ports.map((p) => p['binding:host_id'])).toEqual(placed.map((a) => a.host).sort());
    expect(new Set(ports.map((p) => p.network_id)).size).toBe(1);
    for (const p of ports) {
      expect(p.project_id).toBe('');
      expect(p['binding:profile']).toEqual({
        netns: `qrouter-${router.id.replace(/-/g, '').slice(0, 8)}`,
        ifname: `ha-${p.id.replace(/-/g, '').slice(0, 11)}`,
      });
    }
    const haNet = (await api.get<{ network: Record<string, unknown> }>(`/v2.0/networks/${ports[0]?.network_id}`)).body.network;
    expect(haNet).toMatchObject({ name: `HA network tenant ${String(router.project_id)}`, project_id: '', 'provider:network_type': 'vxlan', shared: false });
    const haSubnets = (await api.get<{ subnets: Record<string, unknown>[] }>(`/v2.0/subnets?network_id=${haNet.id as string}`)).body.subnets;
    expect(haSubnets.map((s) => [s.cidr, s.gateway_ip, s.enable_dhcp])).toEqual([['169.254.192.0/18', null, false]]);

    // the tenant sees neither the HA network nor the HA ports (Neutron's: of no project)
    const member = api.as({ 'X-Project-Id': String(router.project_id), 'X-Roles': 'member' });
    const seenNets = (await member.get<{ networks: Resource[] }>('/v2.0/networks')).body.networks.map((n) => n.id);
    expect(seenNets).toContain(tenant.id);
    expect(seenNets).not.toContain(haNet.id);
    const seenPorts = (await member.get<{ ports: Port[] }>(`/v2.0/ports?device_id=${router.id}`)).body.ports.map((p) => p.id);
    expect(seenPorts).toEqual([interfacePortId]);

    // the router's own port is plugged on both hosts
    const qr = (await api.get<{ port: Port }>(`/v2.0/ports/${interfacePortId}`)).body.port;
    expect([qr['binding:host_id'], ...((qr['binding:profile'].hosts as string[] | undefined) ?? [])].sort()).toEqual(
      expect.arrayContaining(placed.map((a) => a.host).sort()),
    );
    expect((qr['binding:profile'].hosts as string[]).slice().sort()).toEqual(placed.map((a) => a.host).sort());
  });

  it('publishes the intent to each host with the same VRID and that host’s own HA port', async () => {
    const ports = await haPorts();
    const intents = [];
    for (const p of ports) {
      const host = p['binding:host_id'];
      const intent = await eventually(
        `the HA intent on ${host}`,
        () => intentOn(host),
        (i) => i?.ha !== undefined && i.ha !== null,
      );
      intents.push(intent?.ha);
      expect(intent?.ha?.interface).toMatchObject({ portId: p.id, ifname: `ha-${p.id.replace(/-/g, '').slice(0, 11)}` });
      expect(intent?.ha?.interface.address).toMatch(/^169\.254\.(19[2-9]|2[0-5][0-9])\.\d+\/18$/);
    }
    expect(intents[0]?.vrid).toBe(intents[1]?.vrid);
    expect(intents[0]?.priority).toBe(intents[1]?.priority);
    expect(intents[0]?.interface.address).not.toBe(intents[1]?.interface.address);
  });

  it('shows each agent’s reported VRRP role in l3-agents', async () => {
    const [first, second] = (await l3Agents()).map((a) => a.host);
    const report = (haState: string) => [{ kind: 'router', id: router.id, networkId: null, status: 'ACTIVE', reason: `keepalived ${haState}`, haState }];
    await agents.get(first ?? '')?.report(report('active'));
    await agents.get(second ?? '')?.report(report('standby'));
    reported.set(first ?? '', 'active').set(second ?? '', 'standby');
    const shown = await eventually('both roles in l3-agents', l3Agents, (a) => a.every((x) => x.ha_state !== null));
    expect(Object.fromEntries(shown.map((a) => [a.host, a.ha_state]))).toEqual({ [first ?? '']: 'active', [second ?? '']: 'standby' });
    const status = await eventually(
      'the router ACTIVE',
      async () => (await api.get<{ router: { status: string } }>(`/v2.0/routers/${router.id}`)).body.router.status,
      (s) => s === 'ACTIVE',
    );
    expect(status).toBe('ACTIVE');
  });

  it('replaces a dead host: another agent gets the router and a new HA port, the dead one’s HA port goes', async () => {
    const before = await haPorts();
    const rowA = (await l3Agents()).find((a) => a.row === 'row-a');
    const kept = (await l3Agents()).find((a) => a.row === 'row-b');
    expect(rowA && kept).toBeTruthy();
    const dead = rowA?.host ?? '';
    const spare = dead === 'net-a1' ? 'net-a2' : 'net-a1';
    await agents.get(dead)?.stop();
    agents.delete(dead);
    const after = await eventually(
      'the router on the spare agent',
      l3Agents,
      (a) =>
        a
          .map((x) => x.host)
          .sort()
          .join() === [kept?.host ?? '', spare].sort().join(),
    );
    // the host kept keeps its role; the new one has not reported yet
    expect(Object.fromEntries(after.map((a) => [a.host, a.ha_state]))).toEqual({ [kept?.host ?? '']: reported.get(kept?.host ?? ''), [spare]: null });
    const ports = await eventually('the dead host’s HA port deleted', haPorts, (p) => p.length === 2 && !p.some((x) => x['binding:host_id'] === dead));
    expect(ports.find((p) => p['binding:host_id'] === kept?.host)?.id).toBe(before.find((p) => p['binding:host_id'] === kept?.host)?.id);
    const intent = await eventually(
      `the HA intent on ${spare}`,
      () => intentOn(spare),
      (i) => i?.ha !== undefined && i.ha !== null,
    );
    expect(intent?.ha?.interface.portId).toBe(ports.find((p) => p['binding:host_id'] === spare)?.id);
    // the router's ports are bound to its new hosts last, after the dead host's HA port went
    const hostsOf = async () =>
      ((await api.get<{ port: Port }>(`/v2.0/ports/${interfacePortId}`)).body.port['binding:profile'].hosts as string[]).slice().sort();
    const wanted = [kept?.host ?? '', spare].sort();
    expect(await eventually('the router port bound to the new hosts', hostsOf, (h) => h.join() === wanted.join())).toEqual(wanted);
  });

  it('migrates the router to a legacy router and back while it is down: one host and no HA port, then two hosts with new HA ports', async () => {
    const put = (body: Record<string, unknown>) => api.put<{ router: Record<string, unknown> }>(`/v2.0/routers/${router.id}`, { router: body });
    const hostsBefore = (await l3Agents()).map((a) => a.host).sort();
    expect((await put({ ha: false })).status).toBe(400);
    expect((await put({ admin_state_up: false })).status).toBe(200);
    expect((await put({ ha: false })).status).toBe(200);

    const legacy = await eventually('the router on one agent', l3Agents, (a) => a.length === 1);
    const host = legacy[0]?.host ?? '';
    expect(hostsBefore).toContain(host);
    expect(legacy[0]?.ha_state).toBeNull();
    expect(await eventually('no HA port left', haPorts, (p) => p.length === 0)).toEqual([]);
    const qr = await eventually(
      'the router port bound to the one host, for it alone',
      async () => (await api.get<{ port: Port }>(`/v2.0/ports/${interfacePortId}`)).body.port,
      (p) => p['binding:host_id'] === host && p['binding:profile'].hosts === undefined,
    );
    expect(qr['binding:profile']).toEqual({
      netns: `qrouter-${router.id.replace(/-/g, '').slice(0, 8)}`,
      ifname: `qr-${interfacePortId.replace(/-/g, '').slice(0, 11)}`,
    });
    const intent = await eventually(
      `a legacy intent on ${host}`,
      () => intentOn(host),
      (i) => i !== undefined && (i.ha === undefined || i.ha === null),
    );
    expect(intent).toBeDefined();
    for (const other of hostsBefore.filter((h) => h !== host))
      expect(
        await eventually(
          `nothing on ${other}`,
          () => intentOn(other),
          (i) => i === undefined,
        ),
      ).toBeUndefined();

    expect((await put({ ha: true })).status).toBe(200);
    const back = await eventually('the router on two agents again', l3Agents, (a) => a.length === 2);
    expect(back.map((a) => a.row).sort()).toEqual(['row-a', 'row-b']);
    const ports = await eventually('two new HA ports', haPorts, (p) => p.length === 2 && p.every((x) => x['binding:host_id'] !== ''));
    expect(ports.map((p) => p['binding:host_id'])).toEqual(back.map((a) => a.host).sort());
    for (const p of ports) {
      const i = await eventually(
        `the HA intent on ${p['binding:host_id']}`,
        () => intentOn(p['binding:host_id']),
        (x) => x?.ha?.interface.portId === p.id,
      );
      expect(i?.ha?.vrid).toBeGreaterThan(0);
    }
    expect((await put({ admin_state_up: true })).status).toBe(200);
  });

  it("deletes the project's HA network with its last HA router; the next HA router gets a new one", async () => {
    const haNetworkId = (await haPorts())[0]?.network_id ?? '';
    expect(haNetworkId).not.toBe('');
    const subnetId = (await api.get<{ port: { fixed_ips: { subnet_id: string }[] } }>(`/v2.0/ports/${interfacePortId}`)).body.port.fixed_ips[0]?.subnet_id;
    expect((await api.put(`/v2.0/routers/${router.id}/remove_router_interface`, { subnet_id: subnetId })).status).toBe(200);
    expect((await api.delete(`/v2.0/routers/${router.id}`)).status).toBe(204);
    await eventually(
      'the HA network deleted',
      async () => (await api.get(`/v2.0/networks/${haNetworkId}`)).status,
      (s) => s === 404,
    );

    const tenant = await api.create('networks', 'network', { name: 'tenant-ha-2' });
    const subnet = await api.create('subnets', 'subnet', { network_id: tenant.id, ip_version: 4, cidr: '172.16.51.0/24' });
    router = await api.create<Resource & { ha: boolean }>('routers', 'router', { name: 'ha-r2', ha: true });
    await api.put(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
    const ports = await eventually('two HA ports of the new router', haPorts, (p) => p.length === 2);
    expect(new Set(ports.map((p) => p.network_id)).size).toBe(1);
    expect(ports[0]?.network_id).not.toBe(haNetworkId);
  });

  it('moves a legacy router off a dead agent to a live one, its ports bound there (and says how long that took)', async () => {
    const tenant = await api.create('networks', 'network', { name: 'tenant-legacy' });
    const subnet = await api.create('subnets', 'subnet', { network_id: tenant.id, ip_version: 4, cidr: '172.16.52.0/24' });
    const legacy = await api.create<Resource & { ha: boolean }>('routers', 'router', { name: 'legacy-r', ha: false });
    const added = await api.put<{ port_id: string }>(`/v2.0/routers/${legacy.id}/add_router_interface`, { subnet_id: subnet.id });
    const agentsOf = async () => (await api.get<{ agents: L3Agent[] }>(`/v2.0/routers/${legacy.id}/l3-agents`)).body.agents;
    const [first] = await eventually('the legacy router placed', agentsOf, (a) => a.length === 1);
    const from = first?.host ?? '';
    const survivors = [...agents.keys()].filter((h) => h !== from);
    expect(survivors.length).toBeGreaterThan(0);

    const died = Date.now();
    await agents.get(from)?.stop();
    agents.delete(from);
    const [moved] = await eventually('the router on a live agent', agentsOf, (a) => a.length === 1 && a[0]?.host !== from, { timeoutMs: 30_000 });
    const to = moved?.host ?? '';
    expect(survivors).toContain(to);
    const port = await eventually(
      'its port bound to the new host',
      async () => (await api.get<{ port: Port }>(`/v2.0/ports/${added.body.port_id}`)).body.port,
      (p) => p['binding:host_id'] === to,
    );
    expect(port['binding:profile'].hosts).toBeUndefined();
    const intent = await eventually(
      `the router's intent on ${to}`,
      async () => (await agents.get(to)?.desired())?.get(`${agents.get(to)?.row}.${to}.router.${legacy.id}`),
      (i) => i !== undefined,
    );
    expect(intent).toMatchObject({ id: legacy.id });
    // AGENT_DOWN_SECONDS (3 here) before the agent counts as dead, then one placement pass
    console.log(`legacy router moved off a dead agent: intent on ${to} ${Date.now() - died} ms after ${from} stopped`);
  });
});
