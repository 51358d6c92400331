import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metadataSignature } from '@ncp/contracts';
import { TEST_METADATA_SECRET, TestStack } from '@ncp/testing';
import { eventually as eventuallyIn } from '../support/eventually';
import { NeutronClient, type PortResource, type Resource } from './client';
import { FakeAgent } from './fake-agent';

/**
 * The metadata service against the services as processes: the instances API, the metadata
 * formats as a proxy would fetch them (signed requests straight to the service), IMDSv2 with
 * tokens required, and the proxies' desired state. The proxies themselves and real clients
 * (curl, cloud-init) are tests/dataplane/metadata.e2e.spec.ts.
 */
let stack: TestStack;
let api: NeutronClient;
let agent: FakeAgent;

const errorOf = (body: Record<string, unknown>) => body.NeutronError as { type: string; message: string };
const eventually = <T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000) =>
  eventuallyIn(what, read, ok, { timeoutMs, context: () => stack.logs('metadata').slice(-3000) });
type Instance = Resource & { hostname: string; port_ids: string[]; public_keys: unknown[] };

/** A request as an agent's proxy makes it: the instance id, signed with the shared secret. */
async function fetchAs(instanceId: string | null, path: string, init: { method?: string; headers?: Record<string, string>; secret?: string } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  if (instanceId !== null) {
    headers['X-Instance-ID'] = instanceId;
    headers['X-Instance-ID-Signature'] = metadataSignature(init.secret ?? TEST_METADATA_SECRET, instanceId);
  }
  const res = await fetch(`${stack.metadataUrl}${path}`, { method: init.method ?? 'GET', headers });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

beforeAll(async () => {
  stack = await TestStack.start({ env: { METADATA_REQUIRE_TOKEN: 'true', AGENT_DOWN_SECONDS: '5', PLACEMENT_INTERVAL_SECONDS: '1' } });
  api = new NeutronClient(stack.url);
  agent = await FakeAgent.start(stack.natsUrl, stack.prefix, { row: 'row-a', host: 'net-a1', roles: ['network'], physnets: {} });
});

afterAll(async () => {
  await agent?.stop();
  await stack?.stop();
});

describe('instances', () => {
  it('registers an instance with its keys, user data and metadata, and lists the ports it owns', async () => {
    const net = await api.create('networks', 'network', { name: 'meta-n' });
    const id = crypto.randomUUID();
    const inst = await api.create<Instance>('instances', 'instance', {
      id,
      name: 'Web 1',
      public_keys: [{ name: 'ops', data: 'ssh-ed25519 AAAAC3Nza ops@example' }],
      user_data: Buffer.from('#cloud-config\n').toString('base64'),
      metadata: { role: 'web' },
    });
    expect(inst).toMatchObject({ id, name: 'Web 1', hostname: 'web-1', availability_zone: 'nova', metadata: { role: 'web' }, port_ids: [] });
    expect(inst.public_keys).toEqual([{ name: 'ops', type: 'ssh', data: 'ssh-ed25519 AAAAC3Nza ops@example' }]);
    const port = await api.create<PortResource>('ports', 'port', { network_id: net.id, device_id: id, device_owner: 'compute:nova' });
    const shown = await eventually(
      'the port on the instance',
      async () => (await api.get<{ instance: Instance }>(`/v2.0/instances/${id}`)).body.instance,
      (i) => i.port_ids.length === 1,
    );
    expect(shown.port_ids).toEqual([port.id]);
    const again = await api.post('/v2.0/instances', { instance: { id, name: 'x' } });
    expect([again.status, errorOf(again.body).type]).toEqual([409, 'InstanceExists']);
  });

  it("refuses bad input with 400 and hides other projects' instances", async () => {
    for (const [body, message] of [
      [{ user_data: 'not base64!' }, /base64/],
      [{ user_data: Buffer.alloc(70_000).toString('base64') }, /65535 bytes/],
      [{ hostname: '-bad-' }, /hostname/],
      [{ id: 'not-a-uuid' }, /UUID/],
      [{ public_keys: [{ name: 'k', data: 'a\nb' }] }, /one line/],
      [{ flavor: 'm1' }, /Unrecognized attribute/],
    ] as const) {
      const r = await api.post('/v2.0/instances', { instance: body });
      expect([r.status, errorOf(r.body).message]).toEqual([400, expect.stringMatching(message)]);
    }
    const mine = await api.as({ 'X-Project-Id': 'project-x', 'X-Roles': 'member' }).create<Instance>('instances', 'instance', { name: 'x' });
    const other = api.as({ 'X-Project-Id': 'project-y', 'X-Roles': 'member' });
    expect((await other.get(`/v2.0/instances/${mine.id}`)).status).toBe(404);
    expect((await other.delete(`/v2.0/instances/${mine.id}`)).status).toBe(404);
    expect((await api.as({ 'X-Project-Id': 'project-x', 'X-Roles': 'member' }).delete(`/v2.0/instances/${mine.id}`)).status).toBe(204);
  });
});

describe('metadata as the proxies fetch it', () => {
  let inst: Instance;
  let port: PortResource;
  let other: Instance;

  beforeAll(async () => {
    const net = await api.create('networks', 'network', { name: 'md-net' });
    await api.create('subnets', 'subnet', { network_id: net.id, ip_version: 4, cidr: '10.70.0.0/24', dns_nameservers: ['10.70.0.53'] });
    inst = await api.create<Instance>('instances', 'instance', {
      name: 'db',
      hostname: 'db-1',
      availability_zone: 'az-2',
      public_keys: [{ name: 'k1', data: 'ssh-rsa AAAAB3 k1' }],
      user_data: Buffer.from('hello').toString('base64'),
    });
    other = await api.create<Instance>('instances', 'instance', { name: 'other' });
    port = await api.create<PortResource>('ports', 'port', { network_id: net.id, device_id: inst.id, device_owner: 'compute:nova' });
    await eventually(
      'the port on the instance',
      async () => (await api.get<{ instance: Instance }>(`/v2.0/instances/${inst.id}`)).body.instance.port_ids,
      (p) => p.length === 1,
    );
  });

  it('serves the OpenStack format: versions, meta_data.json, network_data.json, user_data', async () => {
    expect((await fetchAs(inst.id, '/openstack')).text.split('\n')).toContain('2018-08-27');
    expect((await fetchAs(inst.id, '/openstack/latest')).text.split('\n')).toEqual([
      'meta_data.json',
      'network_data.json',
      'vendor_data.json',
      'vendor_data2.json',
      'user_data',
    ]);
    const meta = JSON.parse((await fetchAs(inst.id, '/openstack/2013-10-17/meta_data.json')).text) as Record<string, unknown>;
    expect(meta).toMatchObject({ uuid: inst.id, hostname: 'db-1', name: 'db', availability_zone: 'az-2', public_keys: { k1: 'ssh-rsa AAAAB3 k1' } });
    expect(Buffer.from(meta.random_seed as string, 'base64')).toHaveLength(512);
    const net = JSON.parse((await fetchAs(inst.id, '/openstack/latest/network_data.json')).text) as {
      links: { ethernet_mac_address: string }[];
      networks: { type: string; ip_address: string; netmask: string }[];
    };
    expect(net.links.map((l) => l.ethernet_mac_address)).toEqual([port.mac_address]);
    expect(net.networks).toEqual([expect.objectContaining({ type: 'ipv4_dhcp', ip_address: port.fixed_ips[0]?.ip_address, netmask: '255.255.255.0' })]);
    const userData = await fetchAs(inst.id, '/openstack/latest/user_data');
    expect([userData.status, userData.text]).toEqual([200, 'hello']);
    expect((await fetchAs(other.id, '/openstack/latest/user_data')).status).toBe(404);
    expect((await fetchAs(inst.id, '/openstack/1999-01-01/meta_data.json')).status).toBe(404);
  });

  it('refuses what no proxy signed, and what it signed for an unknown instance', async () => {
    expect((await fetchAs(null, '/openstack/latest/meta_data.json')).status).toBe(403);
    expect(
      (
        await fetchAs(null, '/openstack/latest/meta_data.json', {
          headers: { 'X-Instance-ID': inst.id, 'X-Forwarded-For': port.fixed_ips[0]?.ip_address ?? '' },
        })
      ).status,
    ).toBe(403);
    const forged = await fetchAs(inst.id, '/openstack/latest/meta_data.json', { secret: 'not-the-shared-secret' });
    expect([forged.status, forged.text]).toEqual([403, `bad signature for instance ${inst.id}\n`]);
    expect((await fetchAs(crypto.randomUUID(), '/openstack/latest/meta_data.json')).status).toBe(404);
    const metrics = await (await fetch(`${stack.metadataUrl}/metrics`)).text();
    expect(metrics).toMatch(/metadata_requests_total\{path="openstack\/meta_data.json",result="denied"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/metadata_requests_total\{path="openstack\/meta_data.json",result="ok"[^}]*\} [1-9]/);
    expect(stack.logs('metadata')).toContain('bad signature for instance');
  });

  it('IMDSv2: EC2 metadata needs a token of the caller, good until its TTL', async () => {
    expect((await fetchAs(inst.id, '/latest/meta-data/instance-id')).status).toBe(401);
    const noTtl = await fetchAs(inst.id, '/latest/api/token', { method: 'PUT' });
    expect(noTtl.status).toBe(400);
    const viaProxy = await fetchAs(inst.id, '/latest/api/token', {
      method: 'PUT',
      headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60', 'X-Forwarded-For': '10.0.0.1' },
    });
    expect(viaProxy.status).toBe(403);
    const issued = await fetchAs(inst.id, '/latest/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } });
    expect([issued.status, issued.headers.get('x-aws-ec2-metadata-token-ttl-seconds')]).toEqual([200, '60']);
    const token = { 'X-aws-ec2-metadata-token': issued.text };
    expect((await fetchAs(inst.id, '/latest/meta-data/instance-id', { headers: token })).text).toBe(inst.id);
    expect((await fetchAs(inst.id, '/latest/meta-data/local-ipv4', { headers: token })).text).toBe(port.fixed_ips[0]?.ip_address);
    expect((await fetchAs(inst.id, '/latest/meta-data/public-keys/0/openssh-key', { headers: token })).text).toBe('ssh-rsa AAAAB3 k1');
    expect((await fetchAs(inst.id, '/latest/user-data', { headers: token })).text).toBe('hello');
    // another instance's token is no good, nor an expired one
    expect((await fetchAs(other.id, '/latest/meta-data/instance-id', { headers: token })).status).toBe(401);
    const short = await fetchAs(inst.id, '/latest/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '1' } });
    const shortUse = async () => (await fetchAs(inst.id, '/latest/meta-data/instance-id', { headers: { 'X-aws-ec2-metadata-token': short.text } })).status;
    expect(await shortUse()).toBe(200);
    // refused once its second is over (well within the 5 s this waits)
    expect(await eventually('the 1 s token refused', shortUse, (status) => status !== 200, 5_000)).toBe(401);
    // the OpenStack format does not take tokens
    expect((await fetchAs(inst.id, '/openstack/latest/meta_data.json')).status).toBe(200);
  });
});

describe("metadata proxies' desired state", () => {
  it('puts a proxy in the router namespace for routed networks and in the DHCP namespace of an isolated one', async () => {
    const routed = await api.create('networks', 'network', { name: 'routed' });
    const routedSubnet = await api.create('subnets', 'subnet', { network_id: routed.id, ip_version: 4, cidr: '10.71.0.0/24' });
    const isolated = await api.create('networks', 'network', { name: 'isolated' });
    await api.create('subnets', 'subnet', { network_id: isolated.id, ip_version: 4, cidr: '10.72.0.0/24' });
    const router = await api.create('routers', 'router', { name: 'r-meta' });
    expect((await api.put(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: routedSubnet.id })).status).toBe(200);
    const vm = await api.create<Instance>('instances', 'instance', { name: 'vm' });
    const a = await api.create<PortResource>('ports', 'port', { network_id: routed.id, device_id: vm.id, device_owner: 'compute:nova' });
    const b = await api.create<PortResource>('ports', 'port', { network_id: isolated.id, device_id: vm.id, device_owner: 'compute:nova' });
    type Proxy = { kind: string; namespace: string; endpoints: { portId: string; instanceId: string; mac: string; addresses: string[] }[] };
    const desired = () => agent.desired() as Promise<Map<string, Proxy | Record<string, unknown>>>;
    const routerKey = `row-a.net-a1.meta.${router.id}`;
    const dhcpKey = `row-a.net-a1.meta.${isolated.id}`;
    const state = await eventually('both proxies', desired, (d) => d.has(routerKey) && (d.get(dhcpKey) as Proxy | undefined)?.endpoints.length === 1);
    expect(state.get(routerKey)).toMatchObject({
      kind: 'router',
      namespace: `qrouter-${router.id.replace(/-/g, '').slice(0, 8)}`,
      endpoints: [{ portId: a.id, instanceId: vm.id, mac: a.mac_address, addresses: [a.fixed_ips[0]?.ip_address] }],
    });
    expect(state.get(dhcpKey)).toMatchObject({ kind: 'dhcp', namespace: `qdhcp-${isolated.id.replace(/-/g, '').slice(0, 8)}`, endpoints: [{ portId: b.id }] });
    // the routed network's DHCP server is not a metadata proxy: the router answers there
    expect(state.has(`row-a.net-a1.meta.${routed.id}`)).toBe(false);
    // the isolated network's leases route 169.254.169.254 via the DHCP port
    const dhcp = state.get(`row-a.net-a1.dhcp.${isolated.id}`) as {
      addresses: string[];
      subnets: { hostRoutes: { destination: string; nexthop: string }[] }[];
    };
    expect(dhcp.subnets[0]?.hostRoutes).toEqual([{ destination: '169.254.169.254/32', nexthop: dhcp.addresses[0]?.split('/')[0] }]);
    expect((state.get(`row-a.net-a1.dhcp.${routed.id}`) as typeof dhcp).subnets[0]?.hostRoutes).toEqual([]);
  });
});
