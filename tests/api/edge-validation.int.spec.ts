import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { TestStack } from '@ncp/testing';
import { eventually } from '../support/eventually';
import { NeutronClient, type Reply, type Resource } from './client';

/**
 * What a client sends is validated before it reaches an event, in every service: each probe
 * here once got a 500 after its event was appended (and the projection then retried that
 * event forever). Now each gets a 4xx Neutron error and the stream does not move.
 */
let stack: TestStack;
let api: NeutronClient;
let nc: NatsConnection;
let jsm: JetStreamManager;
let network: Resource;
let port: Resource;
let router: Resource;
let speaker: Resource;
let instance: Resource;

const lastSequence = async () => (await jsm.streams.info(`EVENTS_${stack.prefix}`)).state.last_seq;
/** What was appended after `sequence`, as subject and type: what a failure names. */
const appendedSince = async (sequence: number) => {
  const last = await lastSequence();
  const events: string[] = [];
  for (let seq = sequence + 1; seq <= last; seq++) {
    const m = await jsm.streams.getMessage(`EVENTS_${stack.prefix}`, { seq });
    events.push(`${m?.subject ?? '?'} ${m ? String(m.json<{ type?: unknown }>().type) : ''}`);
  }
  return events;
};

/** Sends a write that must be refused with `status` and a Neutron error, appending nothing. */
/**
 * Until every reaction has handled every event: a create's quota confirmation is appended by a
 * reaction after the create has answered, and would land in the next probe's window otherwise.
 */
const reactionsSettled = () =>
  eventually(
    'every reaction at the end of the stream',
    async () => {
      const behind: string[] = [];
      for await (const c of jsm.consumers.list(`EVENTS_${stack.prefix}`)) {
        if (c.name.includes('react_') && (c.num_pending > 0 || c.num_ack_pending > 0)) behind.push(c.name);
      }
      return behind;
    },
    (behind) => behind.length === 0,
  );

async function refused(status: number, method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  await reactionsSettled();
  const before = await lastSequence();
  const reply = await api.call(method, path, body, headers);
  expect(reply.status, JSON.stringify(reply.body)).toBe(status);
  expect(reply.body).toMatchObject({ NeutronError: { type: expect.any(String), message: expect.any(String), detail: expect.any(String) } });
  const after = await lastSequence();
  expect(after === before ? [] : await appendedSince(before), 'nothing appended').toEqual([]);
  return reply;
}

beforeAll(async () => {
  stack = await TestStack.start();
  api = new NeutronClient(stack.url);
  nc = await connect({ servers: stack.natsUrl.replace('nats://', '') });
  jsm = await jetstreamManager(nc);
  // No agent: nothing is placed or scheduled behind the probes' backs, so once the reactions
  // have caught up (quota confirmations), the stream only moves when a request appends.
  network = await api.create('networks', 'network', {
    name: 'ext',
    'router:external': true,
    'provider:network_type': 'flat',
    'provider:physical_network': 'extnet0',
  });
  await api.create('subnets', 'subnet', { network_id: network.id, ip_version: 4, cidr: '203.0.113.0/24', enable_dhcp: false });
  port = await api.create('ports', 'port', { network_id: network.id });
  router = await api.create('routers', 'router', { name: 'r' });
  speaker = await api.create('bgp-speakers', 'bgp_speaker', { name: 's', local_as: 64512, ip_version: 4 });
  instance = await api.create('instances', 'instance', { name: 'vm' });
});

afterAll(async () => {
  await nc?.close();
  await stack?.stop();
});

describe('IPAM refuses before appending', () => {
  it.each([
    ['a NUL in a network name', 'POST', '/v2.0/networks', { network: { name: 'n\u0000' } }],
    ['a NUL in an address scope name', 'POST', '/v2.0/address-scopes', { address_scope: { name: 'a\u0000', ip_version: 4 } }],
    ['a NUL in a binding:profile value', 'POST', '/v2.0/ports', () => ({ port: { network_id: network.id, 'binding:profile': { a: 'x\u0000' } } })],
    ['a lone surrogate in binding:profile', 'POST', '/v2.0/ports', () => ({ port: { network_id: network.id, 'binding:profile': { a: '\uD800' } } })],
    [
      '250 fixed_ips on one port',
      'POST',
      '/v2.0/ports',
      () => ({ port: { network_id: network.id, fixed_ips: Array.from({ length: 250 }, () => ({ ip_address: '203.0.113.9' })) } }),
    ],
    [
      'a subnet pool default_quota of 2^31 (an Int column)',
      'POST',
      '/v2.0/subnetpools',
      { subnetpool: { name: 'p', prefixes: ['10.0.0.0/16'], default_quota: 2 ** 31 } },
    ],
    ['a network id outside the subject alphabet', 'POST', '/v2.0/ports', { port: { network_id: 'a.b' } }],
    ['an MTU beyond an Int column', 'PUT', () => `/v2.0/networks/${network.id}`, { network: { mtu: 99999999999 } }],
    ['a name of 256 characters', 'PUT', () => `/v2.0/networks/${network.id}`, { network: { name: 'n'.repeat(256) } }],
  ])('%s: 400', async (_what, method, path, body) => {
    await refused(400, method, typeof path === 'function' ? path() : path, typeof body === 'function' ? body() : body);
  });

  it('refuses a binding:profile of 5 KB from the service that may set one (the policy gives binding:profile to the service role only)', async () => {
    await refused(400, 'PUT', `/v2.0/ports/${port.id}`, { port: { 'binding:profile': { blob: 'b'.repeat(5000) } } }, { 'X-Roles': 'service' });
  });

  it("answers an id that cannot exist in a path with the collection's 404", async () => {
    const reply = await refused(404, 'PUT', '/v2.0/networks/a%00b', { network: { name: 'x' } });
    expect(reply.body).toEqual({ NeutronError: { type: 'NetworkNotFound', message: 'Network a\u0000b could not be found.', detail: '' } });
    await refused(404, 'DELETE', '/v2.0/ports/a.b', undefined);
  });
});

describe('L3 refuses before appending', () => {
  it.each([
    ['a NUL in a router name', 'POST', '/v2.0/routers', { router: { name: 'r\u0000' } }],
    ['a gateway network id outside the subject alphabet', 'POST', '/v2.0/routers', { router: { external_gateway_info: { network_id: '*' } } }],
    ['an interface subnet id outside the subject alphabet', 'PUT', () => `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: 'a.b' }],
    [
      '31 extra routes',
      'PUT',
      () => `/v2.0/routers/${router.id}`,
      { router: { routes: Array.from({ length: 31 }, (_, i) => ({ destination: `198.18.${i}.0/24`, nexthop: '203.0.113.5' })) } },
    ],
    ['a floating network id with a space', 'POST', '/v2.0/floatingips', { floatingip: { floating_network_id: 'x y' } }],
  ])('%s: 400', async (_what, method, path, body) => {
    await refused(400, method, typeof path === 'function' ? path() : path, body);
  });

  it('answers 503 with a Neutron error, not 500, while IPAM is unreachable', async () => {
    await stack.killIpam();
    try {
      const reply = await api.post('/v2.0/routers', { router: { name: 'gw', external_gateway_info: { network_id: network.id } } });
      expect(reply.status, JSON.stringify(reply.body)).toBe(503);
      expect(reply.body).toMatchObject({ NeutronError: { type: 'ServiceUnavailable', message: expect.stringMatching(/IPAM is not reachable/) } });
    } finally {
      await stack.startIpam();
    }
  });
});

describe('BGP refuses before appending', () => {
  it.each([
    ['a NUL in a BGP peer name', 'POST', '/v2.0/bgp-peers', { bgp_peer: { name: 'p\u0000', peer_ip: '192.0.2.10', remote_as: 64513 } }],
    ['a local AS of 2^32', 'POST', '/v2.0/bgp-speakers', { bgp_speaker: { name: 's', local_as: 2 ** 32 } }],
    ['a peer id outside the subject alphabet', 'PUT', () => `/v2.0/bgp-speakers/${speaker.id}/add_bgp_peer`, { bgp_peer_id: '>' }],
  ])('%s: 400', async (_what, method, path, body) => {
    await refused(400, method, typeof path === 'function' ? path() : path, body);
  });
});

describe('DHCP refuses before appending', () => {
  it('refuses a network id outside the subject alphabet (400) and an impossible agent id (404)', async () => {
    await refused(400, 'POST', `/v2.0/agents/${randomUUID()}/dhcp-networks`, { network_id: 'a.b' });
    await refused(404, 'POST', '/v2.0/agents/a.b/dhcp-networks', { network_id: network.id });
  });
});

describe('metadata refuses before appending', () => {
  it.each([
    ['a NUL in an instance name', 'POST', '/v2.0/instances', { instance: { name: 'vm\u0000' } }],
    ['a lone surrogate in vendor_data', 'POST', '/v2.0/instances', { instance: { name: 'vm', vendor_data: { k: '\uDC00' } } }],
    ['vendor_data of 100 KB', 'POST', '/v2.0/instances', { instance: { name: 'vm', vendor_data: { blob: 'v'.repeat(100_000) } } }],
    [
      '129 metadata items',
      'PUT',
      () => `/v2.0/instances/${instance.id}`,
      { instance: { metadata: Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`k${i}`, 'v'])) } },
    ],
    [
      '11 public keys',
      'PUT',
      () => `/v2.0/instances/${instance.id}`,
      { instance: { public_keys: Array.from({ length: 11 }, (_, i) => ({ name: `k${i}`, data: 'ssh-ed25519 AAAA' })) } },
    ],
  ])('%s: 400', async (_what, method, path, body) => {
    await refused(400, method, typeof path === 'function' ? path() : path, body);
  });
});

describe('every service refuses empty or malformed identity headers', () => {
  it.each([
    ['an empty X-Project-Id', { 'X-Project-Id': '' }],
    ['an empty X-Tenant-Id', { 'X-Tenant-Id': '' }],
    ['a project id with a dot', { 'X-Project-Id': 'a.b' }],
    ['an empty X-User-Id', { 'X-User-Id': '' }],
    ['an empty X-Roles', { 'X-Roles': '' }],
  ])('%s: 400, never the project ""', async (_what, headers) => {
    for (const [path, body] of [
      ['/v2.0/networks', { network: { name: 'x' } }],
      ['/v2.0/routers', { router: { name: 'x' } }],
      ['/v2.0/bgp-peers', { bgp_peer: { name: 'x', peer_ip: '192.0.2.11', remote_as: 64513 } }],
      ['/v2.0/instances', { instance: { name: 'x' } }],
    ] as const) {
      await refused(400, 'POST', path, body, headers);
    }
    expect((await api.call('GET', '/v2.0/networks', undefined, headers)).status).toBe(400);
  });

  it('still acts as the default project when no identity header is sent', async () => {
    const created = await api.create('networks', 'network', { name: 'default-project' });
    expect(created.project_id).toBe('00000000000000000000000000000001');
  });
});

describe('the HTTP edge', () => {
  it('answers a 50 MB body with 413 and an unsupported charset with 415, appending nothing', async () => {
    await refused(413, 'POST', '/v2.0/networks', `{"network":{"name":"${'x'.repeat(50 * 1024 * 1024)}"}}`);
    await refused(415, 'POST', '/v2.0/networks', { network: { name: 'x' } }, { 'Content-Type': 'application/json; charset=latin-9' });
    await refused(400, 'POST', '/v2.0/networks', '{"network":', {});
  });
});
