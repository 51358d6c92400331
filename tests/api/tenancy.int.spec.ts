import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestKeystone, TestStack, requireKeystone } from '@ncp/testing';
import { eventually } from '../support/eventually';
import { NeutronClient, type PortResource, type Resource } from './client';
import { FakeAgent } from './fake-agent';

/**
 * One project's resources are not another's to take, and not even to learn about: through
 * the API, project B (a member, not an admin) tries what it must not with project A's
 * networks, subnets, ports, routers, floating IPs and instances. Every refusal is a 404 (400
 * or 403 where Neutron says so) that names only what B itself named, and changes nothing.
 * Each acts through a token of a real Keystone, as in production.
 */
const run = requireKeystone();
let keystone: TestKeystone;
let projectA: string;
let stack: TestStack;
let admin: NeutronClient;
let a: NeutronClient;
let b: NeutronClient;
let agent: FakeAgent;

type Router = Resource & { external_gateway_info: unknown };
type FloatingIp = Resource & { port_id: string | null };
type Reply = { status: number; body: Record<string, unknown> };
const errorOf = (r: Reply) => (r.body.NeutronError ?? {}) as { type: string; message: string };

let ext: Resource;
let netA: Resource;
let subnetA: Resource;
let portA: PortResource;
let routerA: Router;
let routerB: Router;

beforeAll(async () => {
  if (!run) return;
  keystone = await TestKeystone.start();
  const userA = { user: 'user-a', password: 'pw-a', project: 'project-a' };
  const userB = { user: 'user-b', password: 'pw-b', project: 'project-b' };
  await keystone.createUser(userA, 'member');
  await keystone.createUser(userB, 'member');
  projectA = await keystone.createProject('project-a');
  stack = await TestStack.start(keystone.stackOptions({ PLACEMENT_INTERVAL_SECONDS: '1' }));
  const anonymous = new NeutronClient(stack.url);
  admin = anonymous.as({ 'X-Auth-Token': await keystone.token(keystone.admin) });
  a = anonymous.as({ 'X-Auth-Token': await keystone.token(userA) });
  b = anonymous.as({ 'X-Auth-Token': await keystone.token(userB) });
  agent = await FakeAgent.start(stack.natsUrl, stack.prefix, { row: 'row-a', host: 'net-t1', roles: ['network'], physnets: {} });
  ext = await admin.create('networks', 'network', { name: 'public', 'router:external': true });
  await admin.create('subnets', 'subnet', { network_id: ext.id, ip_version: 4, cidr: '203.0.113.0/24', enable_dhcp: false });
  netA = await a.create('networks', 'network', { name: 'a-private' });
  subnetA = await a.create('subnets', 'subnet', { network_id: netA.id, ip_version: 4, cidr: '10.10.0.0/24' });
  portA = await a.create<PortResource>('ports', 'port', { network_id: netA.id, device_id: 'vm-of-a', device_owner: 'compute:nova' });
  routerA = await a.create<Router>('routers', 'router', { name: 'a-router', external_gateway_info: { network_id: ext.id } });
  routerB = await b.create<Router>('routers', 'router', { name: 'b-router' });
});

afterAll(async () => {
  await agent?.stop();
  await stack?.stop();
  await keystone?.stop();
});

/** The refusal names nothing of A's but the id B sent. */
function revealsNothing(r: Reply, ...allowed: string[]) {
  const text = JSON.stringify(r.body);
  for (const id of [netA.id, subnetA.id, portA.id, routerA.id].filter((x) => !allowed.includes(x))) expect(text).not.toContain(id);
}

describe.runIf(run)("another project's router interfaces", () => {
  it("refuses B's router A's private subnet and A's port, as not found, and takes nothing", async () => {
    const bySubnet = await b.put(`/v2.0/routers/${routerB.id}/add_router_interface`, { subnet_id: subnetA.id });
    expect([bySubnet.status, errorOf(bySubnet).type]).toEqual([404, 'SubnetNotFound']);
    revealsNothing(bySubnet, subnetA.id);
    const byPort = await b.put(`/v2.0/routers/${routerB.id}/add_router_interface`, { port_id: portA.id });
    expect([byPort.status, errorOf(byPort).type]).toEqual([404, 'PortNotFound']);
    revealsNothing(byPort, portA.id);
    // A's port is untouched, and A's gateway address is still A's to use
    const shown = (await a.get<{ port: Record<string, unknown> }>(`/v2.0/ports/${portA.id}`)).body.port;
    expect([shown.device_owner, shown.device_id]).toEqual(['compute:nova', 'vm-of-a']);
    const own = await a.put<{ port_id: string }>(`/v2.0/routers/${routerA.id}/add_router_interface`, { subnet_id: subnetA.id });
    expect(own.status).toBe(200);
    const gw = (await a.get<{ port: PortResource }>(`/v2.0/ports/${own.body.port_id}`)).body.port;
    expect(gw.fixed_ips[0]?.ip_address).toBe('10.10.0.1');
  });

  it("refuses a subnet of a network A shares, and A's gateway address on a port there", async () => {
    const shared = await admin.create('networks', 'network', { name: 'a-shared', shared: true, project_id: projectA });
    const sharedSubnet = await a.create('subnets', 'subnet', { network_id: shared.id, ip_version: 4, cidr: '10.20.0.0/24' });
    const r = await b.put(`/v2.0/routers/${routerB.id}/add_router_interface`, { subnet_id: sharedSubnet.id });
    expect([r.status, errorOf(r).message]).toEqual([400, expect.stringMatching(/not owned by project making the request/)]);
    // B may have a port on the shared network, but neither A's gateway address nor a router's device owner
    const gateway = await b.post('/v2.0/ports', { port: { network_id: shared.id, fixed_ips: [{ ip_address: '10.20.0.1' }] } });
    expect([gateway.status, errorOf(gateway).type]).toEqual([403, 'PolicyNotAuthorized']);
    const posing = await b.post('/v2.0/ports', { port: { network_id: shared.id, device_owner: 'network:router_interface' } });
    expect(posing.status).toBe(403);
    const mine = await b.create<PortResource>('ports', 'port', { network_id: shared.id });
    const attached = await b.put(`/v2.0/routers/${routerB.id}/add_router_interface`, { port_id: mine.id });
    expect(attached.status).toBe(200);
  });
});

describe.runIf(run)("another project's routers and floating IPs", () => {
  it("answers B's changes to A's router as not found, without making a port for it", async () => {
    const before = (await admin.get<{ ports: unknown[] }>(`/v2.0/ports?device_id=${routerA.id}`)).body.ports.length;
    const attempts = [
      await b.put(`/v2.0/routers/${routerA.id}`, { router: { name: 'mine' } }),
      await b.put(`/v2.0/routers/${routerA.id}`, {
        router: { external_gateway_info: { network_id: ext.id, external_fixed_ips: [{ ip_address: '203.0.113.77' }] } },
      }),
      await b.put(`/v2.0/routers/${routerA.id}/add_router_interface`, { subnet_id: subnetA.id }),
      await b.put(`/v2.0/routers/${routerA.id}/remove_router_interface`, { subnet_id: subnetA.id }),
      await b.put(`/v2.0/routers/${routerA.id}/add_extraroutes`, { router: { routes: [{ destination: '10.99.0.0/16', nexthop: '10.10.0.9' }] } }),
      await b.delete(`/v2.0/routers/${routerA.id}`),
    ];
    for (const r of attempts) {
      expect([r.status, errorOf(r).type]).toEqual([404, 'RouterNotFound']);
      revealsNothing(r, routerA.id);
    }
    expect((await admin.get<{ ports: unknown[] }>(`/v2.0/ports?device_id=${routerA.id}`)).body.ports.length).toBe(before);
    const external = (await admin.get<{ ports: PortResource[] }>(`/v2.0/ports?network_id=${ext.id}`)).body.ports;
    expect(external.flatMap((p) => p.fixed_ips.map((f) => f.ip_address))).not.toContain('203.0.113.77');
  });

  it("keeps the choice of addresses on the shared external network to admins (Neutron's policy)", async () => {
    const gateway = await b.post('/v2.0/routers', {
      router: { name: 'x', external_gateway_info: { network_id: ext.id, external_fixed_ips: [{ ip_address: '203.0.113.66' }] } },
    });
    expect([gateway.status, errorOf(gateway).type]).toEqual([403, 'PolicyNotAuthorized']);
    const set = await b.put(`/v2.0/routers/${routerB.id}`, {
      router: { external_gateway_info: { network_id: ext.id, external_fixed_ips: [{ ip_address: '203.0.113.66' }] } },
    });
    expect(set.status).toBe(403);
    const fip = await b.post('/v2.0/floatingips', { floatingip: { floating_network_id: ext.id, floating_ip_address: '203.0.113.66' } });
    expect([fip.status, errorOf(fip).type]).toEqual([403, 'PolicyNotAuthorized']);
    const external = (await admin.get<{ ports: PortResource[] }>(`/v2.0/ports?network_id=${ext.id}`)).body.ports;
    expect(external.flatMap((p) => p.fixed_ips.map((f) => f.ip_address))).not.toContain('203.0.113.66');
    // without a choice, they get one
    expect((await b.put(`/v2.0/routers/${routerB.id}`, { router: { external_gateway_info: { network_id: ext.id } } })).status).toBe(200);
  });

  it("answers B's use of A's floating IP as not found", async () => {
    const fip = await a.create<FloatingIp>('floatingips', 'floatingip', { floating_network_id: ext.id, port_id: portA.id });
    const portB = await b.create<PortResource>('ports', 'port', { network_id: (await b.create('networks', 'network', { name: 'b-net' })).id });
    for (const r of [
      await b.put(`/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: portB.id } }),
      await b.put(`/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: null } }),
      await b.delete(`/v2.0/floatingips/${fip.id}`),
    ]) {
      expect([r.status, errorOf(r).type]).toEqual([404, 'FloatingIPNotFound']);
    }
    // nor may B point its own floating IP at A's port
    const fipB = await b.create<FloatingIp>('floatingips', 'floatingip', { floating_network_id: ext.id });
    const r = await b.put(`/v2.0/floatingips/${fipB.id}`, { floatingip: { port_id: portA.id } });
    expect([r.status, errorOf(r).type]).toEqual([404, 'PortNotFound']);
    expect((await a.get<{ floatingip: FloatingIp }>(`/v2.0/floatingips/${fip.id}`)).body.floatingip.port_id).toBe(portA.id);
  });
});

describe.runIf(run)("another project's networks, subnets, ports and pools", () => {
  it('answers as not found, naming only what the caller named', async () => {
    const scope = await a.create('address-scopes', 'address_scope', { name: 'a-scope', ip_version: 4 });
    const pool = await a.create('subnetpools', 'subnetpool', { name: 'a-pool', prefixes: ['10.30.0.0/16'], default_prefixlen: 24, address_scope_id: scope.id });
    const v6net = await b.create('networks', 'network', { name: 'b-v6' });
    const cases: [Promise<Reply>, string, string][] = [
      [b.put(`/v2.0/subnets/${subnetA.id}`, { subnet: { name: 'x' } }), 'SubnetNotFound', subnetA.id],
      [b.delete(`/v2.0/subnets/${subnetA.id}`), 'SubnetNotFound', subnetA.id],
      [b.put(`/v2.0/ports/${portA.id}`, { port: { name: 'x' } }), 'PortNotFound', portA.id],
      [b.delete(`/v2.0/ports/${portA.id}`), 'PortNotFound', portA.id],
      [b.put(`/v2.0/networks/${netA.id}`, { network: { name: 'x' } }), 'NetworkNotFound', netA.id],
      [b.delete(`/v2.0/networks/${netA.id}`), 'NetworkNotFound', netA.id],
      [b.put(`/v2.0/subnetpools/${pool.id}`, { subnetpool: { prefixes: ['10.30.0.0/16', '10.31.0.0/16'] } }), 'SubnetPoolNotFound', pool.id],
      [b.put(`/v2.0/subnetpools/${pool.id}/add_prefixes`, { prefixes: ['10.32.0.0/16'] }), 'SubnetPoolNotFound', pool.id],
      [b.post('/v2.0/subnets', { subnet: { network_id: v6net.id, ip_version: 6, subnetpool_id: pool.id } }), 'SubnetPoolNotFound', pool.id],
    ];
    for (const [pending, type, named] of cases) {
      const r = await pending;
      expect([r.status, errorOf(r).type], JSON.stringify(r.body)).toEqual([404, type]);
      revealsNothing(r, named);
      expect(JSON.stringify(r.body)).not.toContain(scope.id);
    }
    expect((await a.get<{ subnetpool: { prefixes: string[] } }>(`/v2.0/subnetpools/${pool.id}`)).body.subnetpool.prefixes).toEqual(['10.30.0.0/16']);
  });
});

describe.runIf(run)("another project's instances", () => {
  it("serves no metadata of B's instance to A's port that carries its id", async () => {
    // B registers an instance under the device_id of A's port; A registers its own (the control)
    const fake = await b.create<Resource & { port_ids: string[] }>('instances', 'instance', { id: '4a4a4a4a-0000-4000-8000-000000000001', name: 'b-vm' });
    const portOfA = await a.create<PortResource>('ports', 'port', { network_id: netA.id, device_id: fake.id, device_owner: 'compute:nova' });
    const realVm = await a.create<Resource & { port_ids: string[] }>('instances', 'instance', { name: 'a-vm' });
    const realPort = await a.create<PortResource>('ports', 'port', { network_id: netA.id, device_id: realVm.id, device_owner: 'compute:nova' });
    type Proxy = { endpoints: { portId: string; instanceId: string }[] };
    const key = `row-a.net-t1.meta.${routerA.id}`;
    const proxies = await eventually(
      "A's metadata proxy with A's instance",
      () => agent.desired(),
      (d) => ((d.get(key) as Proxy | undefined)?.endpoints ?? []).some((e) => e.portId === realPort.id),
    );
    expect((proxies.get(key) as Proxy).endpoints.map((e) => [e.portId, e.instanceId])).toEqual([[realPort.id, realVm.id]]);
    expect((await b.get<{ instance: { port_ids: string[] } }>(`/v2.0/instances/${fake.id}`)).body.instance.port_ids).toEqual([]);
    expect((await a.get<{ instance: { port_ids: string[] } }>(`/v2.0/instances/${realVm.id}`)).body.instance.port_ids).toEqual([realPort.id]);
    expect(portOfA.id).not.toBe(realPort.id);
  });
});
