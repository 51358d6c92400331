import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestStack } from '@ncp/testing';
import { type NeutronClient, type PortResource } from './client';
import { startStack } from '../support/stack';

let stack: TestStack;
let api: NeutronClient;

beforeAll(async () => ({ stack, api } = await startStack()));
afterAll(() => stack?.stop());

const errorOf = (body: Record<string, unknown>) => body.NeutronError as { type: string; message: string; detail: string };

describe('discovery', () => {
  it('serves the versions document, the resource list and exactly the supported extensions', async () => {
    const versions = await api.get('/');
    expect(versions.status).toBe(200);
    expect(versions.body).toEqual({ versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ href: `${stack.url}/v2.0/`, rel: 'self' }] }] });
    const resources = await api.get<{ resources: { collection: string }[] }>('/v2.0/');
    expect(resources.body.resources.map((r) => r.collection).sort()).toEqual([
      'address-scopes',
      'agents',
      'bgp-peers',
      'bgp-speakers',
      'floatingips',
      'instances',
      'networks',
      'ports',
      'quotas',
      'rbac-policies',
      'routers',
      'security-group-rules',
      'security-groups',
      'subnetpools',
      'subnets',
    ]);
    const extensions = await api.get<{ extensions: { alias: string }[] }>('/v2.0/extensions');
    const aliases = extensions.body.extensions.map((e) => e.alias);
    expect(aliases).toContain('address-scope');
    expect(aliases).toContain('revision-if-match');
    expect(aliases).toContain('security-group');
    expect(aliases).toContain('stateful-security-group');
    expect(aliases).toContain('rbac-policies');
    expect(aliases).toContain('quotas');
    // Not implemented, so not advertised: clients fall back correctly.
    expect(aliases).not.toContain('tag-ports-during-bulk-creation');
    const missing = await api.get('/v2.0/extensions/tag-ports-during-bulk-creation');
    expect(missing.status).toBe(404);
    expect(errorOf(missing.body).message).toMatch(/does not exist/);
  });

  it('answers unknown resources and bad JSON with Neutron error bodies', async () => {
    const unknown = await api.get('/v2.0/nonsense');
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown.body).type).toBe('HTTPNotFound');
    const bad = await api.call('POST', '/v2.0/networks', '{"network": ');
    expect(bad.status).toBe(400);
    expect(errorOf(bad.body)).toEqual({ type: 'HTTPBadRequest', message: expect.stringMatching(/^Malformed JSON in request body: /), detail: '' });
  });

  it('exposes health, metrics and OpenAPI', async () => {
    expect((await api.get('/healthz')).status).toBe(200);
    const ipamHealth = await fetch(`${stack.ipamUrl}/healthz`);
    expect(await ipamHealth.json()).toEqual({ status: 'ok', pid: expect.any(Number) as number, checks: { postgres: 'ok', nats: 'ok', projection: 'ok' } });
    const metrics = await (await fetch(`${stack.ipamUrl}/metrics`)).text();
    expect(metrics).toMatch(/http_requests_total\{.*service="ipam"/);
    type Doc = { info: { description: string }; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>> };
    const doc = (await (await fetch(`${stack.ipamUrl}/docs/openapi.json`)).json()) as Doc;
    expect(Object.keys(doc.paths)).toContain('/v2.0/networks/{id}');
    // Request bodies come from the validating schemas; extensions beyond Neutron are described.
    expect(JSON.stringify(doc.paths['/v2.0/subnets']?.post?.requestBody)).toContain('subnetpool_id');
    expect(doc.info.description).toContain('subnet-pool-layout');
  });
});

describe('the reference scenario over HTTP', () => {
  it('allocates from the scoped pool exactly as specified, including a custom gateway and pool', async () => {
    const { scope, pool } = await api.createScopedPool(
      { name: 'test-no-nat', ip_version: 4 },
      { name: 'nonat-pool-ip4', prefixes: ['192.168.81.0/24'], default_prefixlen: 26 },
    );
    const pub = await api.createSharedExternal('Public-Net', { 'provider:network_type': 'vxlan' });
    const pubSubnet = await api.create('subnets', 'subnet', {
      name: 'Public-Subnet',
      network_id: pub.id,
      ip_version: 4,
      subnetpool_id: pool.id,
      dns_nameservers: ['8.8.8.8'],
    });
    expect([pubSubnet.cidr, pubSubnet.gateway_ip, pubSubnet.allocation_pools]).toEqual([
      '192.168.81.0/26',
      '192.168.81.1',
      [{ start: '192.168.81.2', end: '192.168.81.62' }],
    ]);
    const tenant = await api.create('networks', 'network', { name: 'nonat-net-1' });
    const tenantSubnet = await api.create('subnets', 'subnet', { name: 'nonat-subnet-1', network_id: tenant.id, ip_version: 4, subnetpool_id: pool.id });
    expect([tenantSubnet.cidr, tenantSubnet.gateway_ip, tenantSubnet.allocation_pools]).toEqual([
      '192.168.81.64/26',
      '192.168.81.65',
      [{ start: '192.168.81.66', end: '192.168.81.126' }],
    ]);
    // Beyond Neutron: a pool subnet with its own gateway and allocation pool.
    const third = await api.create('subnets', 'subnet', {
      network_id: tenant.id,
      ip_version: 4,
      subnetpool_id: pool.id,
      prefixlen: '26',
      gateway_ip: '192.168.81.129',
      allocation_pools: [{ start: '192.168.81.140', end: '192.168.81.150' }],
    });
    expect([third.cidr, third.gateway_ip, third.allocation_pools]).toEqual([
      '192.168.81.128/26',
      '192.168.81.129',
      [{ start: '192.168.81.140', end: '192.168.81.150' }],
    ]);
    const network = (await api.get<{ network: Record<string, unknown> }>(`/v2.0/networks/${tenant.id}`)).body.network;
    expect(network.ipv4_address_scope).toBe(scope.id);
    // A subnet of the same family from outside the scope cannot join the network.
    const foreign = await api.post('/v2.0/subnets', { subnet: { network_id: tenant.id, ip_version: 4, cidr: '10.99.0.0/24' } });
    expect(foreign.status).toBe(400);
    expect(errorOf(foreign.body).message).toMatch(/address scope/);
    // And a pool overlapping the scope's is refused.
    const overlapping = await api.post('/v2.0/subnetpools', { subnetpool: { name: 'x', prefixes: ['192.168.81.128/25'], address_scope_id: scope.id } });
    expect(overlapping.status).toBe(400);
    expect(errorOf(overlapping.body).message).toMatch(/overlaps/);
  });

  it('gives a SLAAC port its EUI-64 address', async () => {
    const net = await api.create('networks', 'network', { name: 'v6net' });
    const subnet = await api.create('subnets', 'subnet', {
      network_id: net.id,
      ip_version: 6,
      cidr: '2001:db8:0:1::/64',
      ipv6_ra_mode: 'slaac',
      ipv6_address_mode: 'slaac',
    });
    const port = await api.create<PortResource>('ports', 'port', { network_id: net.id, mac_address: 'fa:16:3e:11:11:11' });
    expect(port.fixed_ips).toEqual([{ subnet_id: subnet.id, ip_address: '2001:db8:0:1:f816:3eff:fe11:1111' }]);
    // Not bound anywhere, so nothing has plugged it.
    expect([port.status, port['binding:vif_type']]).toEqual(['DOWN', 'unbound']);
    const invalidModes = await api.post('/v2.0/subnets', {
      subnet: { network_id: net.id, ip_version: 6, cidr: '2001:db8:0:2::/64', ipv6_ra_mode: 'slaac', ipv6_address_mode: 'dhcpv6-stateful' },
    });
    expect(invalidModes.status).toBe(400);
  });
});

describe('Neutron list semantics', () => {
  const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
  const ids: Record<string, string> = {};
  const project = 'list-project';
  let mine: NeutronClient;

  beforeAll(async () => {
    mine = api.as({ 'X-Project-Id': project, 'X-Roles': 'member' });
    for (const [i, name] of names.entries()) {
      const n = await mine.create('networks', 'network', { name, admin_state_up: i % 2 === 0 ? 'True' : 'false', mtu: String(1400 + i) });
      ids[name] = n.id;
    }
  });

  it('converts string numbers and booleans as Neutron does', async () => {
    const n = (await mine.get<{ network: Record<string, unknown> }>(`/v2.0/networks/${ids.bravo}`)).body.network;
    expect([n.admin_state_up, n.mtu]).toEqual([false, 1401]);
  });

  it('filters on attributes with repeated values and case-insensitive booleans', async () => {
    const r = await mine.get<{ networks: { name: string }[] }>('/v2.0/networks?name=alpha&name=delta&admin_state_up=True');
    expect(r.body.networks.map((n) => n.name).sort()).toEqual(['alpha']);
    const both = await mine.get<{ networks: { name: string }[] }>('/v2.0/networks?name=alpha&name=delta');
    expect(both.body.networks.map((n) => n.name).sort()).toEqual(['alpha', 'delta']);
    const bad = await mine.get('/v2.0/networks?colour=blue');
    expect(bad.status).toBe(400);
    expect(errorOf(bad.body).message).toBe('[colour] is invalid attribute for filtering');
  });

  it('returns only the fields asked for, ignoring unknown ones', async () => {
    const r = await mine.get<{ networks: Record<string, unknown>[] }>(`/v2.0/networks?name=charlie&fields=id&fields=name&fields=no_such_field`);
    expect(r.body.networks).toEqual([{ id: ids.charlie, name: 'charlie' }]);
  });

  it('sorts and pages with limit, marker and page_reverse', async () => {
    type Page = { networks: { name: string }[]; networks_links?: { href: string; rel: string }[] };
    const page1 = await mine.get<Page>('/v2.0/networks?limit=2&sort_key=name&sort_dir=desc');
    expect(page1.body.networks.map((n) => n.name)).toEqual(['echo', 'delta']);
    const next = page1.body.networks_links?.find((l) => l.rel === 'next');
    expect(next?.href).toBe(`${stack.url}/v2.0/networks?limit=2&sort_key=name&sort_dir=desc&marker=${ids.delta}`);
    const page2 = await mine.get<Page>(next?.href.slice(stack.url.length) ?? '');
    expect(page2.body.networks.map((n) => n.name)).toEqual(['charlie', 'bravo']);
    const prev = page2.body.networks_links?.find((l) => l.rel === 'previous');
    const back = await mine.get<Page>(prev?.href.slice(stack.url.length) ?? '');
    expect(back.body.networks.map((n) => n.name)).toEqual(['echo', 'delta']);
    const mismatched = await mine.get('/v2.0/networks?sort_key=name&sort_key=id&sort_dir=asc');
    expect(mismatched.status).toBe(400);
  });

  it('keeps projects apart, shows shared resources, and lets admins see all', async () => {
    const other = api.as({ 'X-Project-Id': 'someone-else', 'X-Roles': 'member' });
    expect((await other.get(`/v2.0/networks/${ids.alpha}`)).status).toBe(404);
    const visible = await other.get<{ networks: { name: string }[] }>('/v2.0/networks');
    expect(visible.body.networks.map((n) => n.name)).not.toContain('alpha');
    const spoof = await other.post('/v2.0/networks', { network: { name: 'x', project_id: project } });
    expect(spoof.status).toBe(400);
    const admin = api.as({ 'X-Project-Id': 'ops', 'X-Roles': 'admin' });
    expect((await admin.get(`/v2.0/networks/${ids.alpha}`)).status).toBe(200);
  });

  it('finds resources by name only through ?name=, as the CLI does', async () => {
    const byPath = await mine.get('/v2.0/networks/alpha');
    expect(byPath.status).toBe(404);
    expect(errorOf(byPath.body)).toEqual({ type: 'NetworkNotFound', message: 'Network alpha could not be found.', detail: '' });
  });
});

describe('updates', () => {
  it('applies partial PUTs, honours If-Match and refuses read-only and unknown attributes', async () => {
    const n = await api.create('networks', 'network', { name: 'before', description: 'kept' });
    const renamed = await api.put<{ network: Record<string, unknown> }>(`/v2.0/networks/${n.id}`, { network: { name: 'after' } });
    expect(renamed.status).toBe(200);
    expect([renamed.body.network.name, renamed.body.network.description, renamed.body.network.revision_number]).toEqual(['after', 'kept', 2]);
    const stale = await api.put(`/v2.0/networks/${n.id}`, { network: { name: 'stale' } }, { 'If-Match': 'revision_number=1' });
    expect(stale.status).toBe(412);
    expect(errorOf(stale.body).type).toBe('RevisionNumberConstraintFailed');
    const fresh = await api.put(`/v2.0/networks/${n.id}`, { network: { name: 'fresh' } }, { 'If-Match': 'revision_number=2' });
    expect(fresh.status).toBe(200);
    const readOnly = await api.put(`/v2.0/networks/${n.id}`, { network: { 'provider:segmentation_id': 5 } });
    expect(readOnly.status).toBe(400);
    const unknown = await api.post('/v2.0/networks', { network: { name: 'x', colour: 'blue' } });
    expect(unknown.status).toBe(400);
    expect(errorOf(unknown.body).message).toMatch(/Unrecognized attribute\(s\) 'colour'/);
    expect((await api.get(`/v2.0/networks/${n.id}`)).body).toMatchObject({ network: { name: 'fresh' } });
  });

  it('grows and shrinks subnet pools with add_prefixes and remove_prefixes', async () => {
    const pool = await api.create('subnetpools', 'subnetpool', { name: 'grow', prefixes: ['10.20.0.0/24'], default_prefixlen: 28 });
    const added = await api.put<{ prefixes: string[] }>(`/v2.0/subnetpools/${pool.id}/add_prefixes`, { prefixes: ['10.20.1.0/24'] });
    expect(added.body.prefixes).toEqual(['10.20.0.0/23']);
    const removed = await api.put<{ prefixes: string[] }>(`/v2.0/subnetpools/${pool.id}/remove_prefixes`, { prefixes: ['10.20.0.0/24'] });
    expect(removed.body.prefixes).toEqual(['10.20.1.0/24']);
  });
});

describe('ports and their addresses', () => {
  it('allocates the lowest free address, refuses duplicates and answers exhaustion with 409', async () => {
    const net = await api.create('networks', 'network', { name: 'small' });
    const subnet = await api.create('subnets', 'subnet', { network_id: net.id, ip_version: 4, cidr: '10.30.0.0/29' });
    const ips: string[] = [];
    for (let i = 0; i < 5; i++) ips.push((await api.create<PortResource>('ports', 'port', { network_id: net.id })).fixed_ips[0]?.ip_address ?? '');
    expect(ips).toEqual(['10.30.0.2', '10.30.0.3', '10.30.0.4', '10.30.0.5', '10.30.0.6']);
    const full = await api.post('/v2.0/ports', { port: { network_id: net.id } });
    expect(full.status).toBe(409);
    expect(errorOf(full.body)).toEqual({ type: 'IpAddressGenerationFailure', message: `No more IP addresses available on network ${net.id}.`, detail: '' });
    const taken = await api.post('/v2.0/ports', { port: { network_id: net.id, fixed_ips: [{ ip_address: '10.30.0.4' }] } });
    expect(taken.status).toBe(409);
    const inUse = await api.delete(`/v2.0/subnets/${subnet.id}`);
    expect(inUse.status).toBe(409);
    expect(errorOf(inUse.body).type).toBe('SubnetInUse');
    const byIp = await api.get<{ ports: { fixed_ips: { ip_address: string }[] }[] }>(`/v2.0/ports?fixed_ips=ip_address%3D10.30.0.4`);
    expect(byIp.body.ports.map((p) => p.fixed_ips[0]?.ip_address)).toEqual(['10.30.0.4']);
  });

  it('lets other services create ports over NATS request/reply', async () => {
    const { connect } = await import('@nats-io/transport-node');
    const net = await api.create('networks', 'network', { name: 'nats' });
    await api.create('subnets', 'subnet', { network_id: net.id, ip_version: 4, cidr: '10.40.0.0/24' });
    const nc = await connect({ servers: stack.natsUrl.replace('nats://', '') });
    try {
      const meta = { now: new Date().toISOString(), correlationId: 'c-nats', causationId: null, projectId: 'svc', actor: 'l3', isAdmin: true };
      const reply = await nc.request(
        `${stack.prefix}.cmd.ipam.create_port`,
        JSON.stringify({ meta, input: { network_id: net.id, device_owner: 'network:router_interface', fixed_ips: [{ ip_address: '10.40.0.1' }] } }),
        { timeout: 10_000 },
      );
      const body = JSON.parse(new TextDecoder().decode(reply.data)) as { result: { port: { id: string } } };
      const shown = await api.get<{ port: Record<string, unknown> }>(`/v2.0/ports/${body.result.port.id}`);
      expect(shown.body.port.device_owner).toBe('network:router_interface');
      // Router interfaces are not deleted through the port API.
      expect((await api.delete(`/v2.0/ports/${body.result.port.id}`)).status).toBe(409);
      const bad = await nc.request(`${stack.prefix}.cmd.ipam.create_port`, JSON.stringify({ meta, input: { network_id: 'nope' } }), { timeout: 10_000 });
      expect(JSON.parse(new TextDecoder().decode(bad.data))).toMatchObject({ error: { kind: 'not_found', code: 'IPAM.NetworkNotFound' } });
    } finally {
      await nc.close();
    }
  });
});
