import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestStack } from '@ncp/testing';
import { type NeutronClient, type PortResource, type Resource } from './client';
import { startStack } from '../support/stack';

/**
 * Neutron's bulk create through the gateway: `{"<collection>": [...]}` makes every item or
 * none, and answers them in request order, each as a GET would show it.
 */
let stack: TestStack;
let api: NeutronClient;

beforeAll(async () => ({ stack, api } = await startStack()));
afterAll(() => stack?.stop());

const errorOf = (body: Record<string, unknown>) => body.NeutronError as { type: string; message: string; detail: string };
const names = (items: readonly Resource[]) => items.map((i) => i.name);

async function list<T = Resource>(collection: string, query: string): Promise<T[]> {
  const r = await api.get<Record<string, T[]>>(`/v2.0/${collection}?${query}`);
  expect(r.status).toBe(200);
  return r.body[collection] ?? [];
}

describe('bulk create', () => {
  it('creates networks in request order and answers them as GET shows them', async () => {
    const r = await api.post<{ networks: Resource[] }>('/v2.0/networks', {
      networks: [{ name: 'bulk-a', mtu: 1400 }, { network: { name: 'bulk-b' } }, { name: 'bulk-c', admin_state_up: false }],
    });
    expect(r.status).toBe(201);
    expect(names(r.body.networks)).toEqual(['bulk-a', 'bulk-b', 'bulk-c']);
    for (const n of r.body.networks) expect((await api.get<{ network: Resource }>(`/v2.0/networks/${n.id}`)).body.network).toEqual(n);
    expect(r.body.networks[0]?.mtu).toBe(1400);
    expect(r.body.networks[2]?.admin_state_up).toBe(false);
  });

  it('creates subnets and ports spread over several networks, in order', async () => {
    const [n1, n2] = (await api.post<{ networks: Resource[] }>('/v2.0/networks', { networks: [{ name: 'mix-1' }, { name: 'mix-2' }] })).body.networks;
    if (!n1 || !n2) throw new Error('networks missing');
    const subnets = await api.post<{ subnets: Resource[] }>('/v2.0/subnets', {
      subnets: [
        { network_id: n1.id, cidr: '10.71.0.0/24', ip_version: 4, name: 's1' },
        { network_id: n2.id, cidr: '10.72.0.0/24', ip_version: 4 },
        { network_id: n1.id, cidr: '2001:db8:71::/64', ip_version: 6, name: 's3' },
      ],
    });
    expect(subnets.status).toBe(201);
    expect(subnets.body.subnets.map((s) => [s.network_id, s.cidr, s.name])).toEqual([
      [n1.id, '10.71.0.0/24', 's1'],
      [n2.id, '10.72.0.0/24', ''],
      [n1.id, '2001:db8:71::/64', 's3'],
    ]);

    const ports = await api.post<{ ports: PortResource[] }>('/v2.0/ports', {
      ports: [
        { network_id: n1.id, name: 'p1' },
        { network_id: n2.id, name: 'p2', admin_state_up: false },
        { network_id: n1.id, name: 'p3', fixed_ips: [{ ip_address: '10.71.0.50' }] },
        { network_id: n1.id, name: 'p4' },
      ],
    });
    expect(ports.status).toBe(201);
    expect(ports.body.ports.map((p) => [p.name, p.network_id, p.admin_state_up])).toEqual([
      ['p1', n1.id, true],
      ['p2', n2.id, false],
      ['p3', n1.id, true],
      ['p4', n1.id, true],
    ]);
    expect(ports.body.ports[2]?.fixed_ips.map((f) => f.ip_address)).toContain('10.71.0.50');
    const macs = new Set(ports.body.ports.map((p) => p.mac_address));
    expect(macs.size).toBe(4);
    for (const p of ports.body.ports) expect((await api.get<{ port: PortResource }>(`/v2.0/ports/${p.id}`)).body.port).toEqual(p);
  });

  it('undoes every port made before a refused one, and makes none after it', async () => {
    const net = await api.create('networks', 'network', { name: 'refuse-ports' });
    const other = await api.create('networks', 'network', { name: 'refuse-ports-2' });
    await api.create('subnets', 'subnet', { network_id: net.id, cidr: '10.73.0.0/24', ip_version: 4 });
    await api.create('subnets', 'subnet', { network_id: other.id, cidr: '10.74.0.0/24', ip_version: 4 });
    const r = await api.post('/v2.0/ports', {
      ports: [
        { network_id: net.id, name: 'first', fixed_ips: [{ ip_address: '10.73.0.20' }] },
        { network_id: other.id, name: 'second' },
        { network_id: net.id, name: 'taken', fixed_ips: [{ ip_address: '10.73.0.20' }] },
        { network_id: other.id, name: 'never' },
      ],
    });
    expect(r.status).toBe(409);
    expect(errorOf(r.body).type).toBe('IpAddressAlreadyAllocated');
    // (A DHCP port, were one scheduled, is not the request's.)
    const userPorts = async (networkId: string) => (await list('ports', `network_id=${networkId}`)).filter((p) => p.device_owner !== 'network:dhcp');
    expect(await userPorts(net.id)).toEqual([]);
    expect(await userPorts(other.id)).toEqual([]);
    // The addresses are free again: the same request minus the duplicate succeeds.
    const again = await api.post<{ ports: PortResource[] }>('/v2.0/ports', { ports: [{ network_id: net.id, fixed_ips: [{ ip_address: '10.73.0.20' }] }] });
    expect(again.status).toBe(201);
  });

  it('undoes networks, their segments and subnets (with pool prefixes) made before a refused one', async () => {
    const before = await list('networks', 'name=refuse-net');
    const nets = await api.post('/v2.0/networks', {
      networks: [
        { name: 'refuse-net', 'provider:network_type': 'vxlan', 'provider:segmentation_id': 7301 },
        { name: 'refuse-net', 'provider:network_type': 'vxlan', 'provider:segmentation_id': 7301 },
      ],
    });
    expect(nets.status).toBe(409);
    expect(errorOf(nets.body).message).toMatch(/7301/);
    expect(await list('networks', 'name=refuse-net')).toEqual(before);
    // The first network's segment was released with it.
    await api.create('networks', 'network', { name: 'segment-free', 'provider:network_type': 'vxlan', 'provider:segmentation_id': 7301 });

    const pool = await api.create('subnetpools', 'subnetpool', { name: 'bulk-pool', prefixes: ['10.75.0.0/24'], default_prefixlen: 26 });
    const net = await api.create('networks', 'network', { name: 'refuse-subnets' });
    const subnets = await api.post('/v2.0/subnets', {
      subnets: [
        { network_id: net.id, subnetpool_id: pool.id, ip_version: 4 },
        { network_id: net.id, cidr: '10.76.0.0/24', ip_version: 4 },
        { network_id: net.id, cidr: '10.76.0.128/25', ip_version: 4 },
      ],
    });
    expect(subnets.status).toBe(400);
    expect(errorOf(subnets.body).message).toMatch(/overlap/i);
    expect(await list('subnets', `network_id=${net.id}`)).toEqual([]);
    // The pool gave its prefix back: four /26 fit again.
    for (let i = 0; i < 4; i++) await api.create('subnets', 'subnet', { network_id: net.id, subnetpool_id: pool.id, ip_version: 4 });
  });

  it('parses every item before anything is written, and bounds the request', async () => {
    const before = await list('networks', 'name=parse-first');
    const bad = await api.post('/v2.0/networks', { networks: [{ name: 'parse-first' }, { name: 'parse-first', colour: 'blue' }] });
    expect(bad.status).toBe(400);
    expect(errorOf(bad.body).message).toMatch(/colour/);
    expect(await list('networks', 'name=parse-first')).toEqual(before);

    const empty = await api.post('/v2.0/ports', { ports: [] });
    expect(empty.status).toBe(400);
    expect(errorOf(empty.body).message).toBe('Resources required');
    const notList = await api.post('/v2.0/subnets', { subnets: { network_id: 'x' } });
    expect(notList.status).toBe(400);
    const tooMany = await api.post('/v2.0/networks', { networks: Array.from({ length: 101 }, () => ({ name: 'parse-first' })) });
    expect(tooMany.status).toBe(400);
    expect(errorOf(tooMany.body).message).toMatch(/at most 100/);
    expect(await list('networks', 'name=parse-first')).toEqual(before);
  });
});
