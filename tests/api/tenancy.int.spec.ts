import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
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
let projectB: string;
let stack: TestStack;
let admin: NeutronClient;
let a: NeutronClient;
let b: NeutronClient;
/** A member of a third project, to whom nothing is shared. */
let c: NeutronClient;
/** Project A's reader (role reader only), and a user of A with a role the policy does not know. */
let readerA: NeutronClient;
let observerA: NeutronClient;
let agent: FakeAgent;
let nc: NatsConnection;
let jsm: JetStreamManager;

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
  const userC = { user: 'user-c', password: 'pw-c', project: 'project-c' };
  const readerOfA = { user: 'reader-a', password: 'pw-ra', project: 'project-a' };
  const observerOfA = { user: 'observer-a', password: 'pw-oa', project: 'project-a' };
  await keystone.createUser(userA, 'member');
  await keystone.createUser(userB, 'member');
  await keystone.createUser(userC, 'member');
  await keystone.createUser(readerOfA, 'reader');
  await keystone.createUser(observerOfA, 'observer');
  projectA = await keystone.createProject('project-a');
  projectB = await keystone.createProject('project-b');
  stack = await TestStack.start(keystone.stackOptions({ PLACEMENT_INTERVAL_SECONDS: '1' }));
  const anonymous = new NeutronClient(stack.url);
  admin = anonymous.as({ 'X-Auth-Token': await keystone.token(keystone.admin) });
  a = anonymous.as({ 'X-Auth-Token': await keystone.token(userA) });
  b = anonymous.as({ 'X-Auth-Token': await keystone.token(userB) });
  c = anonymous.as({ 'X-Auth-Token': await keystone.token(userC) });
  readerA = anonymous.as({ 'X-Auth-Token': await keystone.token(readerOfA) });
  observerA = anonymous.as({ 'X-Auth-Token': await keystone.token(observerOfA) });
  nc = await connect({ servers: stack.natsUrl.replace('nats://', '') });
  jsm = await jetstreamManager(nc);
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
  await nc?.close();
  await agent?.stop();
  await stack?.stop();
  await keystone?.stop();
});

const lastSequence = async () => (await jsm.streams.info(`EVENTS_${stack.prefix}`)).state.last_seq;

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

describe.runIf(run)('RBAC: sharing with one project', () => {
  type Policy = Resource & { object_id: string; target_tenant: string; action: string };
  const ids = async (client: NeutronClient, path: string, key: string) =>
    ((await client.get<Record<string, { id: string }[]>>(path)).body[key] ?? []).map((x) => x.id);

  it('A shares a network with B only: B lists it as shared and creates a port on it, C sees nothing; the entry is in use while B has a port', async () => {
    const net = await a.create('networks', 'network', { name: 'a-to-b' });
    await a.create('subnets', 'subnet', { network_id: net.id, ip_version: 4, cidr: '10.40.0.0/24' });
    expect((await b.post('/v2.0/ports', { port: { network_id: net.id } })).status).toBe(404);

    const policy = await a.create<Policy>('rbac-policies', 'rbac_policy', {
      object_type: 'network',
      object_id: net.id,
      action: 'access_as_shared',
      target_tenant: projectB,
    });
    expect(policy).toMatchObject({ object_type: 'network', object_id: net.id, action: 'access_as_shared', target_tenant: projectB, project_id: projectA });
    const seenByB = (await b.get<{ network: { shared: boolean } }>(`/v2.0/networks/${net.id}`)).body.network;
    expect(seenByB.shared).toBe(true);
    expect(await ids(b, '/v2.0/networks', 'networks')).toContain(net.id);
    // the owner's view: shared with one project is not shared with the owner's
    expect((await a.get<{ network: { shared: boolean } }>(`/v2.0/networks/${net.id}`)).body.network.shared).toBe(false);
    expect(await ids(c, '/v2.0/networks', 'networks')).not.toContain(net.id);
    expect((await c.post('/v2.0/ports', { port: { network_id: net.id } })).status).toBe(404);
    const portB = await b.create('ports', 'port', { network_id: net.id });

    // the entry is A's: B, whom it names, neither sees nor deletes it
    expect((await b.get(`/v2.0/rbac-policies/${policy.id}`)).status).toBe(404);
    expect(await ids(b, '/v2.0/rbac-policies', 'rbac_policies')).not.toContain(policy.id);
    expect((await b.delete(`/v2.0/rbac-policies/${policy.id}`)).status).toBe(404);
    expect(await ids(a, `/v2.0/rbac-policies?object_id=${net.id}`, 'rbac_policies')).toEqual([policy.id]);

    const inUse = await a.delete(`/v2.0/rbac-policies/${policy.id}`);
    expect([inUse.status, errorOf(inUse).type]).toEqual([409, 'RbacPolicyInUse']);
    const moved = await a.put(`/v2.0/rbac-policies/${policy.id}`, { rbac_policy: { target_tenant: 'project-elsewhere' } });
    expect([moved.status, errorOf(moved).type]).toEqual([409, 'RbacPolicyInUse']);
    expect(await ids(b, '/v2.0/networks', 'networks')).toContain(net.id);

    expect((await b.delete(`/v2.0/ports/${portB.id}`)).status).toBe(204);
    expect((await a.delete(`/v2.0/rbac-policies/${policy.id}`)).status).toBe(204);
    expect((await b.get(`/v2.0/networks/${net.id}`)).status).toBe(404);
    expect((await b.post('/v2.0/ports', { port: { network_id: net.id } })).status).toBe(404);
  });

  it('keeps wildcards to admins and entries to owners, refuses bad bodies, and changes nothing when it refuses', async () => {
    const net = await a.create('networks', 'network', { name: 'a-refusals' });
    const before = await lastSequence();
    const attempts: [Promise<Reply>, number, string][] = [
      [
        a.post('/v2.0/rbac-policies', { rbac_policy: { object_type: 'network', object_id: net.id, action: 'access_as_shared', target_tenant: '*' } }),
        403,
        'PolicyNotAuthorized',
      ],
      [
        b.post('/v2.0/rbac-policies', { rbac_policy: { object_type: 'network', object_id: net.id, action: 'access_as_shared', target_tenant: projectB } }),
        404,
        'NetworkNotFound',
      ],
      [
        readerA.post('/v2.0/rbac-policies', {
          rbac_policy: { object_type: 'network', object_id: net.id, action: 'access_as_shared', target_tenant: projectB },
        }),
        403,
        'PolicyNotAuthorized',
      ],
      [
        a.post('/v2.0/rbac-policies', { rbac_policy: { object_type: 'qos_policy', object_id: net.id, action: 'access_as_shared', target_tenant: projectB } }),
        400,
        'HTTPBadRequest',
      ],
      [a.post('/v2.0/rbac-policies', { rbac_policy: { object_type: 'network', object_id: net.id, action: 'access_as_shared' } }), 400, 'HTTPBadRequest'],
      [
        a.post('/v2.0/rbac-policies', {
          rbac_policy: { object_type: 'network', object_id: net.id, action: 'access_as_shared', target_tenant: projectB, colour: 'red' },
        }),
        400,
        'HTTPBadRequest',
      ],
    ];
    for (const [pending, status, type] of attempts) {
      const r = await pending;
      expect([r.status, errorOf(r).type], JSON.stringify(r.body)).toEqual([status, type]);
    }
    expect(await lastSequence()).toBe(before);
    // an admin may share with every project; a second entry alike is a conflict
    const all = { object_type: 'network', object_id: net.id, action: 'access_as_shared', target_tenant: '*' };
    await admin.create('rbac-policies', 'rbac_policy', all);
    expect((await c.get<{ network: { shared: boolean } }>(`/v2.0/networks/${net.id}`)).body.network.shared).toBe(true);
    const again = await admin.post('/v2.0/rbac-policies', { rbac_policy: all });
    expect([again.status, errorOf(again).type]).toEqual([409, 'DuplicateRbacPolicy']);
  });

  it('an admin makes a network external for B only: B sets a router gateway and takes a floating IP on it, C cannot; the entry is in use meanwhile', async () => {
    const upstream = await admin.create('networks', 'network', { name: 'upstream-of-b' });
    await admin.create('subnets', 'subnet', { network_id: upstream.id, ip_version: 4, cidr: '198.51.100.0/24', enable_dhcp: false });
    const entry = await admin.create<Policy>('rbac-policies', 'rbac_policy', {
      object_type: 'network',
      object_id: upstream.id,
      action: 'access_as_external',
      target_tenant: projectB,
    });
    expect((await b.get<{ network: Record<string, unknown> }>(`/v2.0/networks/${upstream.id}`)).body.network['router:external']).toBe(true);
    expect((await c.get(`/v2.0/networks/${upstream.id}`)).status).toBe(404);

    const routerOfB = await b.create<Router>('routers', 'router', { name: 'b-out', external_gateway_info: { network_id: upstream.id } });
    expect(routerOfB.external_gateway_info).toMatchObject({ network_id: upstream.id });
    const fip = await b.create<FloatingIp>('floatingips', 'floatingip', { floating_network_id: upstream.id });
    expect(fip.id).toBeTruthy();
    const byC = await c.post('/v2.0/routers', { router: { name: 'c-out', external_gateway_info: { network_id: upstream.id } } });
    expect([byC.status, errorOf(byC).type]).toEqual([404, 'NetworkNotFound']);
    const fipOfC = await c.post('/v2.0/floatingips', { floatingip: { floating_network_id: upstream.id } });
    expect(fipOfC.status).toBe(404);

    const inUse = await admin.delete(`/v2.0/rbac-policies/${entry.id}`);
    expect([inUse.status, errorOf(inUse).type]).toEqual([409, 'RbacPolicyInUse']);
    expect((await b.delete(`/v2.0/floatingips/${fip.id}`)).status).toBe(204);
    expect((await b.put(`/v2.0/routers/${routerOfB.id}`, { router: { external_gateway_info: {} } })).status).toBe(200);
    expect((await admin.delete(`/v2.0/rbac-policies/${entry.id}`)).status).toBe(204);
    // the last external entry gone, the network is internal again
    expect((await admin.get<{ network: Record<string, unknown> }>(`/v2.0/networks/${upstream.id}`)).body.network['router:external']).toBe(false);
    const again = await b.put(`/v2.0/routers/${routerOfB.id}`, { router: { external_gateway_info: { network_id: upstream.id } } });
    expect(again.status).toBe(404);
  });

  it('lists the entry `shared: true` makes, and B allocates a subnet from a pool A shares with it', async () => {
    const shared = await admin.create('networks', 'network', { name: 'admin-shared', shared: true });
    const entries = (await admin.get<{ rbac_policies: Policy[] }>(`/v2.0/rbac-policies?object_id=${shared.id}`)).body.rbac_policies;
    expect(entries.map((e) => [e.action, e.target_tenant])).toEqual([['access_as_shared', '*']]);

    const pool = await a.create('subnetpools', 'subnetpool', { name: 'a-pool-to-b', prefixes: ['10.50.0.0/16'], default_prefixlen: 24 });
    const netB = await b.create('networks', 'network', { name: 'b-from-pool' });
    const refused = await b.post('/v2.0/subnets', { subnet: { network_id: netB.id, ip_version: 4, subnetpool_id: pool.id } });
    expect([refused.status, errorOf(refused).type]).toEqual([404, 'SubnetPoolNotFound']);
    await a.create('rbac-policies', 'rbac_policy', { object_type: 'subnetpool', object_id: pool.id, action: 'access_as_shared', target_tenant: projectB });
    expect((await b.get<{ subnetpool: { shared: boolean } }>(`/v2.0/subnetpools/${pool.id}`)).body.subnetpool.shared).toBe(true);
    const subnet = await b.create<Resource & { cidr: string }>('subnets', 'subnet', { network_id: netB.id, ip_version: 4, subnetpool_id: pool.id });
    expect(subnet.cidr).toBe('10.50.0.0/24');
    expect((await c.get(`/v2.0/subnetpools/${pool.id}`)).status).toBe(404);
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

describe.runIf(run)("Neutron's roles: a project's reader, another project's member, a role the policy does not know", () => {
  type Sg = Resource & { security_group_rules: unknown[] };

  it('lets a reader see its project but change nothing: 403 on every create, update, delete and action', async () => {
    const reader = readerA;
    const sg = await a.create<Sg>('security-groups', 'security_group', { name: 'a-sg-read' });
    const fip = await a.create<FloatingIp>('floatingips', 'floatingip', { floating_network_id: ext.id });
    const scope = await a.create('address-scopes', 'address_scope', { name: 'a-scope-read', ip_version: 4 });
    for (const path of [
      `networks/${netA.id}`,
      `subnets/${subnetA.id}`,
      `ports/${portA.id}`,
      `routers/${routerA.id}`,
      `floatingips/${fip.id}`,
      `security-groups/${sg.id}`,
    ]) {
      expect((await reader.get(`/v2.0/${path}`)).status, path).toBe(200);
    }
    const before = await lastSequence();
    const attempts: [string, Promise<Reply>][] = [
      ['create_network', reader.post('/v2.0/networks', { network: { name: 'r' } })],
      ['create_subnet', reader.post('/v2.0/subnets', { subnet: { network_id: netA.id, ip_version: 4, cidr: '10.10.9.0/24' } })],
      ['create_port', reader.post('/v2.0/ports', { port: { network_id: netA.id } })],
      ['create_router', reader.post('/v2.0/routers', { router: { name: 'r' } })],
      ['create_floatingip', reader.post('/v2.0/floatingips', { floatingip: { floating_network_id: ext.id } })],
      ['create_security_group', reader.post('/v2.0/security-groups', { security_group: { name: 'r' } })],
      ['create_security_group_rule', reader.post('/v2.0/security-group-rules', { security_group_rule: { security_group_id: sg.id, direction: 'ingress' } })],
      ['create_address_scope', reader.post('/v2.0/address-scopes', { address_scope: { name: 'r', ip_version: 4 } })],
      ['update_network', reader.put(`/v2.0/networks/${netA.id}`, { network: { name: 'r' } })],
      ['update_subnet', reader.put(`/v2.0/subnets/${subnetA.id}`, { subnet: { name: 'r' } })],
      ['update_port', reader.put(`/v2.0/ports/${portA.id}`, { port: { name: 'r' } })],
      ['update_router', reader.put(`/v2.0/routers/${routerA.id}`, { router: { name: 'r' } })],
      ['update_floatingip', reader.put(`/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: null } })],
      ['update_security_group', reader.put(`/v2.0/security-groups/${sg.id}`, { security_group: { name: 'r' } })],
      ['update_address_scope', reader.put(`/v2.0/address-scopes/${scope.id}`, { address_scope: { name: 'r' } })],
      ['add_router_interface', reader.put(`/v2.0/routers/${routerA.id}/add_router_interface`, { subnet_id: subnetA.id })],
      ['delete_port', reader.delete(`/v2.0/ports/${portA.id}`)],
      ['delete_subnet', reader.delete(`/v2.0/subnets/${subnetA.id}`)],
      ['delete_network', reader.delete(`/v2.0/networks/${netA.id}`)],
      ['delete_router', reader.delete(`/v2.0/routers/${routerA.id}`)],
      ['delete_floatingip', reader.delete(`/v2.0/floatingips/${fip.id}`)],
      ['delete_security_group', reader.delete(`/v2.0/security-groups/${sg.id}`)],
      ['delete_address_scope', reader.delete(`/v2.0/address-scopes/${scope.id}`)],
    ];
    for (const [rule, pending] of attempts) {
      const r = await pending;
      expect([r.status, errorOf(r).type, errorOf(r).message], rule).toEqual([403, 'PolicyNotAuthorized', `rule:${rule} is disallowed by policy`]);
    }
    expect(await lastSequence(), 'nothing appended').toBe(before);
    expect((await a.get<{ network: Resource }>(`/v2.0/networks/${netA.id}`)).body.network.name).toBe('a-private');
  });

  it("answers another project's member not found on show, update and delete of private resources", async () => {
    const sg = await a.create<Sg>('security-groups', 'security_group', { name: 'a-sg-hidden' });
    const fip = await a.create<FloatingIp>('floatingips', 'floatingip', { floating_network_id: ext.id });
    const cases: [string, string, string][] = [
      ['networks', netA.id, 'NetworkNotFound'],
      ['ports', portA.id, 'PortNotFound'],
      ['routers', routerA.id, 'RouterNotFound'],
      ['floatingips', fip.id, 'FloatingIPNotFound'],
      ['security-groups', sg.id, 'SecurityGroupNotFound'],
    ];
    const singular: Record<string, string> = {
      networks: 'network',
      ports: 'port',
      routers: 'router',
      floatingips: 'floatingip',
      'security-groups': 'security_group',
    };
    for (const [collection, id, type] of cases) {
      const body = { [singular[collection] ?? '']: collection === 'floatingips' ? { port_id: null } : { name: 'b' } };
      for (const r of [await b.get(`/v2.0/${collection}/${id}`), await b.put(`/v2.0/${collection}/${id}`, body), await b.delete(`/v2.0/${collection}/${id}`)]) {
        expect([r.status, errorOf(r).type], `${collection} ${JSON.stringify(r.body)}`).toEqual([404, type]);
        revealsNothing(r, id);
      }
      const listed = (await b.get<Record<string, Resource[]>>(`/v2.0/${collection}`)).body[collection.replace('-', '_')] ?? [];
      expect(listed.map((x) => x.id)).not.toContain(id);
    }
    expect((await a.get(`/v2.0/security-groups/${sg.id}`)).status).toBe(200);
  });

  it('shows a non-admin neither the admin-only attributes nor the subnets of an external network it does not own', async () => {
    const hidden = {
      networks: ['provider:network_type', 'provider:physical_network', 'provider:segmentation_id'],
      ports: ['binding:host_id', 'binding:profile', 'binding:vif_type', 'binding:vif_details'],
      routers: ['distributed', 'ha'],
    };
    const ids = { networks: netA.id, ports: portA.id, routers: routerA.id };
    for (const [collection, attributes] of Object.entries(hidden) as [keyof typeof hidden, string[]][]) {
      const singular = collection.slice(0, -1);
      const asMember = (await a.get<Record<string, Record<string, unknown>>>(`/v2.0/${collection}/${ids[collection]}`)).body[singular] ?? {};
      const asAdmin = (await admin.get<Record<string, Record<string, unknown>>>(`/v2.0/${collection}/${ids[collection]}`)).body[singular] ?? {};
      const listed = (await a.get<Record<string, Record<string, unknown>[]>>(`/v2.0/${collection}`)).body[collection] ?? [];
      for (const attribute of attributes) {
        expect(asAdmin, `${collection} as admin`).toHaveProperty([attribute]);
        expect(asMember, `${collection} as member`).not.toHaveProperty([attribute]);
        for (const item of listed) expect(item).not.toHaveProperty([attribute]);
      }
    }
    // the external network is visible to B, its subnet is not (it is not shared)
    expect((await b.get(`/v2.0/networks/${ext.id}`)).status).toBe(200);
    expect((await b.get<{ subnets: unknown[] }>(`/v2.0/subnets?network_id=${ext.id}`)).body.subnets).toEqual([]);
    expect((await admin.get<{ subnets: unknown[] }>(`/v2.0/subnets?network_id=${ext.id}`)).body.subnets).toHaveLength(1);
    // agents are the admin's to list
    expect((await a.get<{ agents: unknown[] }>('/v2.0/agents')).body.agents).toEqual([]);
    expect((await admin.get<{ agents: unknown[] }>('/v2.0/agents')).body.agents.length).toBeGreaterThan(0);
  });

  it('refuses a non-admin the attributes only admins set, and accepts their defaults', async () => {
    const cases: [string, string, Record<string, unknown>][] = [
      ['routers', 'create_router:distributed', { router: { name: 'd', distributed: true } }],
      ['routers', 'create_router:ha', { router: { name: 'h', ha: true } }],
      ['networks', 'create_network:shared', { network: { name: 's', shared: true } }],
      ['networks', 'create_network:router:external', { network: { name: 'e', 'router:external': true } }],
      ['networks', 'create_network:provider:network_type', { network: { name: 'p', 'provider:network_type': 'vxlan' } }],
      ['ports', 'create_port:binding:host_id', { port: { network_id: netA.id, 'binding:host_id': 'somewhere' } }],
    ];
    for (const [collection, rule, body] of cases) {
      const r = await a.post(`/v2.0/${collection}`, body);
      expect([r.status, errorOf(r).type, errorOf(r).message], rule).toEqual([403, 'PolicyNotAuthorized', `rule:${rule} is disallowed by policy`]);
    }
    const updated = await a.put(`/v2.0/networks/${netA.id}`, { network: { shared: true } });
    expect([updated.status, errorOf(updated).message]).toEqual([403, 'rule:update_network:shared is disallowed by policy']);
    expect((await a.post('/v2.0/networks', { network: { name: 'plain', shared: false, 'router:external': false } })).status).toBe(201);
  });

  it('shows a role the policy does not know only what is shared or external, and lets it change nothing', async () => {
    const observer = observerA;
    const networks = (await observer.get<{ networks: Resource[] }>('/v2.0/networks')).body.networks.map((n) => n.id);
    expect(networks).toContain(ext.id);
    expect(networks).not.toContain(netA.id);
    expect((await observer.get<{ ports: unknown[] }>('/v2.0/ports')).body.ports).toEqual([]);
    expect((await observer.get<{ routers: unknown[] }>('/v2.0/routers')).body.routers).toEqual([]);
    expect((await observer.get(`/v2.0/networks/${netA.id}`)).status).toBe(404);
    expect((await observer.post('/v2.0/networks', { network: { name: 'o' } })).status).toBe(403);
  });
});
