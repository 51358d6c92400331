import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentIdOf } from '@ncp/contracts';
import { TestStack } from '@ncp/testing';
import { NeutronClient, type PortResource, type Resource } from './client';
import { eventually as eventuallyIn } from '../support/eventually';
import { FakeAgent } from './fake-agent';

/**
 * The BGP service against the services as processes and agents that exist only on the bus:
 * the API (validation, Neutron's shapes), the advertised routes, placement and the desired
 * state. BIRD and a real core router are tests/dataplane/bgp.e2e.spec.ts.
 */
let stack: TestStack;
let api: NeutronClient;
const agents: FakeAgent[] = [];

const errorOf = (body: Record<string, unknown>) => body.NeutronError as { type: string; message: string };
type Speaker = Resource & { peers: string[]; networks: string[]; local_as: number; ip_version: number | null };
type Route = { destination: string; next_hop: string };
type Intent = {
  speakerId: string;
  localAs: number;
  routerId: string;
  peers: { id: string; address: string; password: string | null }[];
  routes: { destination: string; nextHop: string }[];
};

const eventually = <T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000) =>
  eventuallyIn(what, read, ok, { timeoutMs, context: () => stack.logs('bgp').slice(-3000) });

const routesOf = async (speakerId: string) =>
  (await api.get<{ advertised_routes: Route[] }>(`/v2.0/bgp-speakers/${speakerId}/get_advertised_routes`)).body.advertised_routes;
const dragentHosts = async (speakerId: string) =>
  (await api.get<{ agents: { host: string }[] }>(`/v2.0/bgp-speakers/${speakerId}/bgp-dragents`)).body.agents.map((a) => a.host);
const intentOf = async (agent: FakeAgent, speakerId: string) =>
  (await agent.desired()).get(`${agent.row}.${agent.host}.bgp.${speakerId}`) as Intent | undefined;
/** The routes of router r1 (the one on the speaker's network) in its host's desired state, `dst via nexthop`. */
let routerRoutes: () => Promise<string[]> = () => Promise.resolve([]);
const agent = async (row: string, host: string, roles: string[], tunnelIp: string) => {
  const a = await FakeAgent.start(stack.natsUrl, stack.prefix, { row, host, roles, physnets: {}, tunnelIp });
  agents.push(a);
  return a;
};

beforeAll(async () => {
  stack = await TestStack.start({ env: { AGENT_DOWN_SECONDS: '3', PLACEMENT_INTERVAL_SECONDS: '1' } });
  api = new NeutronClient(stack.url);
});

afterAll(async () => {
  for (const a of agents) await a.stop();
  await stack?.stop();
});

describe("BGP speakers and peers: validation and Neutron's shapes", () => {
  it('takes local_as as a number or a string of digits, ip_version 4, 6 or none (both families)', async () => {
    const s = await api.create<Speaker>('bgp-speakers', 'bgp_speaker', { name: 's1', local_as: '64512', ip_version: 4 });
    expect(s).toMatchObject({
      name: 's1',
      local_as: 64512,
      ip_version: 4,
      advertise_floating_ip_host_routes: true,
      advertise_tenant_networks: true,
      peers: [],
      networks: [],
    });
    const dual = await api.create<Speaker>('bgp-speakers', 'bgp_speaker', { name: 'dual', local_as: 4200000000 });
    expect([dual.local_as, dual.ip_version]).toEqual([4200000000, null]);
    for (const [body, message] of [
      [{ name: 'x' }, /Required attribute 'local_as'/],
      // Neutron's words for its type:range validator
      [{ local_as: 0 }, /'0' is too small - must be at least '1'/],
      [{ local_as: 4294967296 }, /'4294967296' is too large - must be no larger than '4294967295'/],
      [{ local_as: 'sixty' }, /not an integer/],
      [{ local_as: 1, ip_version: 5 }, /ip_version/],
      [{ local_as: 1, networks: ['n'] }, /add_gateway_network/],
      [{ local_as: 1, color: 'red' }, /Unrecognized attribute/],
    ] as const) {
      const r = await api.post('/v2.0/bgp-speakers', { bgp_speaker: body });
      expect([r.status, errorOf(r.body).message]).toEqual([400, expect.stringMatching(message)]);
    }
    const renamed = await api.put<{ bgp_speaker: Speaker }>(`/v2.0/bgp-speakers/${s.id}`, { bgp_speaker: { name: 's1b', advertise_tenant_networks: 'false' } });
    expect([renamed.status, renamed.body.bgp_speaker.name, renamed.body.bgp_speaker.advertise_tenant_networks]).toEqual([200, 's1b', false]);
    const immutable = await api.put(`/v2.0/bgp-speakers/${s.id}`, { bgp_speaker: { local_as: 1 } });
    expect([immutable.status, errorOf(immutable.body).message]).toEqual([400, 'Cannot update read-only attribute local_as']);
    const list = await api.get<{ bgp_speakers: Speaker[] }>('/v2.0/bgp-speakers?local_as=64512');
    expect(list.body.bgp_speakers.map((x) => x.id)).toEqual([s.id]);
    for (const x of [s, dual]) expect((await api.delete(`/v2.0/bgp-speakers/${x.id}`)).status).toBe(204);
    const gone = await api.get(`/v2.0/bgp-speakers/${dual.id}`);
    expect([gone.status, errorOf(gone.body).type]).toEqual([404, 'BgpSpeakerNotFound']);
  });

  it('checks peers: address, AS, MD5 password (write-only) and auth_type', async () => {
    const p = await api.create('bgp-peers', 'bgp_peer', { name: 'core', peer_ip: '10.255.0.1', remote_as: '14907', auth_type: 'md5', password: 's3cret pass' });
    expect(p).toMatchObject({ name: 'core', peer_ip: '10.255.0.1', remote_as: 14907, auth_type: 'md5', status: 'Down', sessions: [] });
    expect(p).not.toHaveProperty('password');
    expect(JSON.stringify((await api.get(`/v2.0/bgp-peers/${p.id}`)).body)).not.toContain('s3cret');
    for (const [body, message] of [
      [{ peer_ip: '10.0.0.300', remote_as: 1 }, /peer_ip must be an IP address/],
      [{ peer_ip: 'fe80::1', remote_as: 1 }, /link-local/],
      [{ peer_ip: '127.0.0.1', remote_as: 1 }, /loopback/],
      [{ peer_ip: '10.0.0.1' }, /Required attribute 'remote_as'/],
      [{ peer_ip: '10.0.0.1', remote_as: 1, auth_type: 'md5' }, /password is required/],
      [{ peer_ip: '10.0.0.1', remote_as: 1, password: 'x' }, /only taken with auth_type md5/],
      [{ peer_ip: '10.0.0.1', remote_as: 1, auth_type: 'sha1', password: 'x' }, /auth_type/],
      [{ peer_ip: '10.0.0.1', remote_as: 1, auth_type: 'md5', password: 'a"b' }, /printable ASCII/],
    ] as const) {
      const r = await api.post('/v2.0/bgp-peers', { bgp_peer: body });
      expect([r.status, errorOf(r.body).message]).toEqual([400, expect.stringMatching(message)]);
    }
    const changed = await api.put<{ bgp_peer: Resource }>(`/v2.0/bgp-peers/${p.id}`, { bgp_peer: { password: 'another one' } });
    expect(changed.status).toBe(200);
    expect((await api.put(`/v2.0/bgp-peers/${p.id}`, { bgp_peer: { peer_ip: '10.0.0.9' } })).status).toBe(400);
  });

  it('takes an import policy and BFD on peers (beyond Neutron): off by default, validated, settable on create and update', async () => {
    const plain = await api.create('bgp-peers', 'bgp_peer', { name: 'plain', peer_ip: '10.255.0.8', remote_as: 64998 });
    expect(plain).toMatchObject({ accept_default_route: false, accepted_prefixes: [], max_prefixes: null, bfd: false });
    const learner = await api.create('bgp-peers', 'bgp_peer', {
      name: 'learner',
      peer_ip: '2001:db8:ffff::9',
      remote_as: 64997,
      accept_default_route: 'True',
      accepted_prefixes: ['2001:DB8:100::/40', '2001:db8:100::/40', '2001:db8:200::/48'],
      max_prefixes: '50',
      bfd: true,
    });
    expect(learner).toMatchObject({
      accept_default_route: true,
      accepted_prefixes: ['2001:db8:100::/40', '2001:db8:200::/48'],
      max_prefixes: 50,
      bfd: true,
    });
    for (const [body, type, message] of [
      [{ accepted_prefixes: ['10.0.0.1/8'] }, 'HTTPBadRequest', /host bits are set/],
      [{ accepted_prefixes: ['10.0.0.0/33'] }, 'HTTPBadRequest', /not a valid CIDR/],
      [{ accepted_prefixes: '10.0.0.0/8' }, 'HTTPBadRequest', /accepted_prefixes/],
      [{ accepted_prefixes: ['2001:db8::/32'] }, 'InvalidBgpPeerImportPolicy', /2001:db8::\/32 is not IPv4, the family of its peer_ip 10.0.0.1/],
      [{ max_prefixes: -1 }, 'HTTPBadRequest', /max_prefixes/],
      [{ max_prefixes: 0 }, 'HTTPBadRequest', /max_prefixes/],
      [{ max_prefixes: 'many' }, 'HTTPBadRequest', /max_prefixes/],
      [{ accept_default_route: 'perhaps' }, 'HTTPBadRequest', /accept_default_route/],
      [{ bfd: 2 }, 'HTTPBadRequest', /bfd/],
    ] as const) {
      const r = await api.post('/v2.0/bgp-peers', { bgp_peer: { peer_ip: '10.0.0.1', remote_as: 1, ...body } });
      expect([r.status, errorOf(r.body).type, errorOf(r.body).message]).toEqual([400, type, expect.stringMatching(message)]);
    }
    const wrongFamily = await api.put(`/v2.0/bgp-peers/${learner.id}`, { bgp_peer: { accepted_prefixes: ['10.0.0.0/8'] } });
    expect([wrongFamily.status, errorOf(wrongFamily.body).type]).toEqual([400, 'InvalidBgpPeerImportPolicy']);
    const updated = await api.put<{ bgp_peer: Resource }>(`/v2.0/bgp-peers/${plain.id}`, {
      bgp_peer: { accept_default_route: true, accepted_prefixes: ['10.99.0.0/16'], max_prefixes: 10, bfd: true },
    });
    expect([updated.status, updated.body.bgp_peer]).toEqual([
      200,
      expect.objectContaining({ accept_default_route: true, accepted_prefixes: ['10.99.0.0/16'], max_prefixes: 10, bfd: true, revision_number: 2 }),
    ]);
    const cleared = await api.put<{ bgp_peer: Resource }>(`/v2.0/bgp-peers/${plain.id}`, { bgp_peer: { accepted_prefixes: [], max_prefixes: null } });
    expect(cleared.body.bgp_peer).toMatchObject({ accept_default_route: true, accepted_prefixes: [], max_prefixes: null, bfd: true });
    // a refused change changed nothing
    expect((await api.get<{ bgp_peer: Resource }>(`/v2.0/bgp-peers/${learner.id}`)).body.bgp_peer).toMatchObject({
      accepted_prefixes: ['2001:db8:100::/40', '2001:db8:200::/48'],
      revision_number: 1,
    });
    const filtered = await api.get<{ bgp_peers: Resource[] }>('/v2.0/bgp-peers?bfd=true&fields=id&fields=bfd');
    expect(filtered.body.bgp_peers.map((p) => p.id).sort()).toEqual([learner.id, plain.id].sort());
    for (const p of [plain, learner]) expect((await api.delete(`/v2.0/bgp-peers/${p.id}`)).status).toBe(204);
  });

  it("keeps a peer's password to its auth_type", async () => {
    const open = await api.create('bgp-peers', 'bgp_peer', { name: 'open', peer_ip: '10.255.0.7', remote_as: 64999 });
    const pw = await api.put(`/v2.0/bgp-peers/${open.id}`, { bgp_peer: { password: 'x' } });
    expect([pw.status, errorOf(pw.body)]).toEqual([
      400,
      { type: 'InvalidBgpPeerMd5Authentication', message: expect.stringMatching(/auth_type none: it takes no password/), detail: '' },
    ]);
    expect((await api.delete(`/v2.0/bgp-peers/${open.id}`)).status).toBe(204);
  });

  it("lets exactly one of two concurrent additions of peers at one address onto a speaker through (Neutron's DuplicateBgpPeerIpException)", async () => {
    // As in Neutron, two peers may share an address; a speaker peers with only one of them.
    const s = await api.create<Speaker>('bgp-speakers', 'bgp_speaker', { name: 'race', local_as: 64520, ip_version: 4 });
    const twins = await Promise.all([1, 2].map((i) => api.create('bgp-peers', 'bgp_peer', { name: `twin${i}`, peer_ip: '10.255.9.1', remote_as: 64600 + i })));
    const added = await Promise.all(twins.map((p) => api.put(`/v2.0/bgp-speakers/${s.id}/add_bgp_peer`, { bgp_peer_id: p.id })));
    expect(added.map((r) => r.status).sort()).toEqual([200, 409]);
    const loser = twins[added.findIndex((r) => r.status === 409)];
    const winner = twins[added.findIndex((r) => r.status === 200)];
    expect(errorOf(added.find((r) => r.status === 409)?.body ?? {})).toEqual({
      type: 'DuplicateBgpPeerIpException',
      message: `BGP Speaker ${s.id} is already configured to peer with a BGP Peer at 10.255.9.1, it cannot peer with BGP Peer ${loser?.id}.`,
      detail: '',
    });
    expect((await api.get<{ bgp_speaker: Speaker }>(`/v2.0/bgp-speakers/${s.id}`)).body.bgp_speaker.peers).toEqual([winner?.id]);
    expect((await api.delete(`/v2.0/bgp-speakers/${s.id}`)).status).toBe(204);
    for (const p of twins) expect((await api.delete(`/v2.0/bgp-peers/${p.id}`)).status).toBe(204);
  });

  it("is for admins only, as Neutron's policy", async () => {
    const member = api.as({ 'X-Roles': 'member', 'X-Project-Id': 'project-m' });
    const list = await member.get('/v2.0/bgp-speakers');
    expect([list.status, errorOf(list.body).type]).toEqual([403, 'PolicyNotAuthorized']);
    expect((await member.post('/v2.0/bgp-peers', { bgp_peer: { peer_ip: '10.0.0.1', remote_as: 1 } })).status).toBe(403);
  });
});

describe('advertised routes, placement and desired state', () => {
  let speaker: Speaker;
  let peer4: Resource;
  let ext: Resource;
  let gatewayIp: string;
  let router: Resource;
  let fip: Resource;
  let a1: FakeAgent;
  let a2: FakeAgent;
  let b1: FakeAgent;
  routerRoutes = async () => {
    for (const a of agents) {
      const intent = (await a.desired()).get(`${a.row}.${a.host}.router.${router.id}`) as { routes: { destination: string; nexthop: string }[] } | undefined;
      if (intent !== undefined) return intent.routes.map((r) => `${r.destination} via ${r.nexthop}`).sort();
    }
    return [];
  };

  it("advertises the same-scope tenant subnet and associated floating IPs, next hop the router's gateway address", async () => {
    const { pool } = await api.createScopedPool(
      { name: 'routed', ip_version: 4 },
      { name: 'routed-pool', prefixes: ['192.168.81.0/24'], default_prefixlen: 26 },
    );
    ext = await api.create('networks', 'network', { name: 'Public-Net', 'router:external': true });
    await api.create('subnets', 'subnet', { network_id: ext.id, ip_version: 4, subnetpool_id: pool.id });
    const tenant = await api.create('networks', 'network', { name: 'routed-tenant' });
    const routed = await api.create('subnets', 'subnet', { network_id: tenant.id, ip_version: 4, subnetpool_id: pool.id });
    const natted = await api.create('networks', 'network', { name: 'natted' });
    const private4 = await api.create('subnets', 'subnet', { network_id: natted.id, ip_version: 4, cidr: '172.16.100.0/24' });
    router = await api.create('routers', 'router', { name: 'r1', external_gateway_info: { network_id: ext.id } });
    gatewayIp = (router.external_gateway_info as { external_fixed_ips: { ip_address: string }[] }).external_fixed_ips[0]?.ip_address ?? '';
    expect(gatewayIp).toMatch(/^192\.168\.81\./);
    for (const s of [routed, private4]) expect((await api.put(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: s.id })).status).toBe(200);

    speaker = await api.create<Speaker>('bgp-speakers', 'bgp_speaker', { name: 'edge', local_as: 64711, ip_version: 4 });
    const notExternal = await api.put(`/v2.0/bgp-speakers/${speaker.id}/add_gateway_network`, { network_id: tenant.id });
    expect([notExternal.status, errorOf(notExternal.body).message]).toEqual([400, expect.stringMatching(/not an external network/)]);
    const unknown = await api.put(`/v2.0/bgp-speakers/${speaker.id}/add_gateway_network`, { network_id: '00000000-0000-4000-8000-000000000000' });
    expect(unknown.status).toBe(404);
    const added = await api.put(`/v2.0/bgp-speakers/${speaker.id}/add_gateway_network`, { network_id: ext.id });
    expect([added.status, added.body]).toEqual([200, { network_id: ext.id }]);
    expect((await api.put(`/v2.0/bgp-speakers/${speaker.id}/add_gateway_network`, { network_id: ext.id })).status).toBe(409);
    expect(await routesOf(speaker.id)).toEqual([{ destination: routed.cidr, next_hop: gatewayIp }]);

    const port = await api.create<PortResource>('ports', 'port', { network_id: natted.id });
    fip = await api.create('floatingips', 'floatingip', { floating_network_id: ext.id, port_id: port.id });
    expect(await routesOf(speaker.id)).toEqual([
      { destination: `${String(fip.floating_ip_address)}/32`, next_hop: gatewayIp },
      { destination: routed.cidr, next_hop: gatewayIp },
    ]);
    await api.put(`/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: null } });
    expect(await routesOf(speaker.id)).toEqual([{ destination: routed.cidr, next_hop: gatewayIp }]);
    await api.put(`/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: port.id } });
    // the floating IP host routes can be turned off, and the tenant networks
    await api.put(`/v2.0/bgp-speakers/${speaker.id}`, { bgp_speaker: { advertise_floating_ip_host_routes: false } });
    expect(await routesOf(speaker.id)).toEqual([{ destination: routed.cidr, next_hop: gatewayIp }]);
    await api.put(`/v2.0/bgp-speakers/${speaker.id}`, { bgp_speaker: { advertise_floating_ip_host_routes: true } });
  });

  it('adds peers of its family once per address', async () => {
    peer4 = await api.create('bgp-peers', 'bgp_peer', { name: 'core4', peer_ip: '10.255.0.1', remote_as: 14907, auth_type: 'md5', password: 'pw one' });
    const peer6 = await api.create('bgp-peers', 'bgp_peer', { name: 'core6', peer_ip: '2001:db8:ffff::1', remote_as: 65000 });
    const same = await api.create('bgp-peers', 'bgp_peer', { name: 'core4-again', peer_ip: '10.255.0.1', remote_as: 14908 });
    const r = await api.put(`/v2.0/bgp-speakers/${speaker.id}/add_bgp_peer`, { bgp_peer_id: peer4.id });
    expect([r.status, r.body]).toEqual([200, { bgp_peer_id: peer4.id }]);
    const wrongFamily = await api.put(`/v2.0/bgp-speakers/${speaker.id}/add_bgp_peer`, { bgp_peer_id: peer6.id });
    expect([wrongFamily.status, errorOf(wrongFamily.body).message]).toEqual([400, expect.stringMatching(/IPv6; BGP speaker .* serves IPv4 only/)]);
    const dup = await api.put(`/v2.0/bgp-speakers/${speaker.id}/add_bgp_peer`, { bgp_peer_id: same.id });
    expect([dup.status, errorOf(dup.body).type]).toEqual([409, 'DuplicateBgpPeerIpException']);
    expect((await api.put(`/v2.0/bgp-speakers/${speaker.id}/add_bgp_peer`, { bgp_peer_id: '00000000-0000-4000-8000-000000000000' })).status).toBe(404);
    expect((await api.put(`/v2.0/bgp-speakers/${speaker.id}/add_bgp_peer`, { peer: peer4.id })).status).toBe(400);
    const shown = await api.get<{ bgp_speaker: Speaker }>(`/v2.0/bgp-speakers/${speaker.id}`);
    expect([shown.body.bgp_speaker.peers, shown.body.bgp_speaker.networks]).toEqual([[peer4.id], [ext.id]]);
  });

  it('runs each speaker on two live bgp agents in different rows, with the routes and peers in their desired state', async () => {
    // b1 first: whenever the placement passes run, the speaker ends on b1 and a1 (a2 is a
    // tie with a1 for row-a that the host name breaks)
    b1 = await agent('row-b', 'bgp-b1', ['compute', 'bgp'], '10.2.0.2');
    a1 = await agent('row-a', 'bgp-a1', ['network', 'bgp'], '10.1.0.2');
    a2 = await agent('row-a', 'bgp-a2', ['bgp'], '10.1.0.3');
    await agent('row-c', 'net-c1', ['network'], '10.3.0.2');
    await eventually(
      'dragents in two rows',
      async () => (await dragentHosts(speaker.id)).sort(),
      (h) => JSON.stringify(h) === '["bgp-a1","bgp-b1"]',
    );
    const typed = await api.get<{ agents: { host: string }[] }>('/v2.0/agents?agent_type=BGP%20dynamic%20routing%20agent');
    expect(typed.body.agents.map((a) => a.host).sort()).toEqual(['bgp-a1', 'bgp-a2', 'bgp-b1']);
    const onA1 = await eventually(
      'the intent on bgp-a1',
      () => intentOf(a1, speaker.id),
      (i) => i !== undefined,
    );
    expect(onA1).toEqual({
      speakerId: speaker.id,
      localAs: 64711,
      routerId: '10.1.0.2',
      namespace: null,
      peers: [
        {
          id: peer4.id,
          address: '10.255.0.1',
          remoteAs: 14907,
          password: 'pw one',
          importPolicy: { acceptDefaultRoute: false, acceptedPrefixes: [], maxPrefixes: null },
          bfd: false,
        },
      ],
      routes: (await routesOf(speaker.id)).map((r) => ({ destination: r.destination, nextHop: r.next_hop })),
    });
    expect(
      (
        await eventually(
          'the intent on bgp-b1',
          () => intentOf(b1, speaker.id),
          (i) => i !== undefined,
        )
      )?.routerId,
    ).toBe('10.2.0.2');
    expect(await intentOf(a2, speaker.id)).toBeUndefined();
    const onAgent = await api.get<{ bgp_speakers: Speaker[] }>(`/v2.0/agents/${agentIdOf('row-a', 'bgp-a1')}/bgp-drinstances`);
    expect(onAgent.body.bgp_speakers.map((s) => s.id)).toContain(speaker.id);
  });

  it('puts a second speaker of the same family only where none runs (one BIRD per family listens on a host)', async () => {
    const second = await api.create<Speaker>('bgp-speakers', 'bgp_speaker', { name: 'edge2', local_as: 64712, ip_version: 4 });
    const v6 = await api.create<Speaker>('bgp-speakers', 'bgp_speaker', { name: 'edge6', local_as: 64713, ip_version: 6 });
    expect(
      await eventually(
        'edge2 on the free agent',
        () => dragentHosts(second.id),
        (h) => h.length > 0,
      ),
    ).toEqual(['bgp-a2']);
    // the IPv6 speaker shares hosts with the IPv4 ones, in two rows
    const v6Hosts = await eventually(
      'edge6 placed',
      () => dragentHosts(v6.id),
      (h) => h.length === 2,
    );
    expect(v6Hosts).toContain('bgp-b1');
    expect(await dragentHosts(second.id)).toEqual(['bgp-a2']);
    const clash = await api.post(`/v2.0/agents/${agentIdOf('row-a', 'bgp-a1')}/bgp-drinstances`, { bgp_speaker_id: second.id });
    expect([clash.status, errorOf(clash.body).message]).toEqual([409, expect.stringMatching(/already runs BGP speaker .* of the same address family/)]);
    for (const x of [second, v6]) expect((await api.delete(`/v2.0/bgp-speakers/${x.id}`)).status).toBe(204);
  });

  it("shows each peer's sessions as the agents running the speaker report them, ignoring other hosts", async () => {
    const since = new Date(Date.now() - 90_000).toISOString();
    const session = (state: string, prefixes: number | null) => ({
      speakerId: speaker.id,
      peerId: peer4.id,
      state,
      since,
      prefixesSent: prefixes,
      lastError: null,
    });
    const report = (state: string, prefixes: number | null) => ({
      kind: 'bgp_session',
      id: `${speaker.id}/${peer4.id}`,
      networkId: null,
      status: state === 'Established' ? 'ACTIVE' : 'DOWN',
      reason: state,
      session: session(state, prefixes),
    });
    await a1.report([report('Established', 2)]);
    await b1.report([report('Active', null)]);
    // bgp-a2 does not run the speaker: its report is stale and ignored
    await a2.report([report('Established', 7)]);
    type Peer = {
      status: string;
      sessions: { host: string; state: string; prefixes_sent: number | null; uptime_seconds: number | null; agent_alive: boolean }[];
    };
    const peer = await eventually(
      'both sessions on the peer',
      async () => (await api.get<{ bgp_peer: Peer }>(`/v2.0/bgp-peers/${peer4.id}`)).body.bgp_peer,
      (p) => p.sessions.length === 2,
    );
    expect(peer.status).toBe('Established');
    expect(peer.sessions.map((s) => [s.host, s.state, s.prefixes_sent, s.agent_alive])).toEqual([
      ['bgp-a1', 'Established', 2, true],
      ['bgp-b1', 'Active', null, true],
    ]);
    expect(peer.sessions[0]?.uptime_seconds).toBeGreaterThanOrEqual(89);
    expect(peer.sessions[1]?.uptime_seconds).toBeNull();
  });

  it('learns: get_learned_routes shows what each session learned of what its peer accepts, and forgets a session gone down', async () => {
    const changed = await api.put(`/v2.0/bgp-peers/${peer4.id}`, { bgp_peer: { accept_default_route: true, accepted_prefixes: ['10.99.0.0/16'], bfd: true } });
    expect(changed.status).toBe(200);
    const intent = await eventually(
      "the peer's policy in the speaker's intent",
      async () => (await intentOf(a1, speaker.id)) as (Intent & { peers: { importPolicy: unknown; bfd: boolean }[] }) | undefined,
      (i) => i?.peers[0]?.bfd === true,
    );
    expect(intent?.peers[0]?.importPolicy).toEqual({ acceptDefaultRoute: true, acceptedPrefixes: ['10.99.0.0/16'], maxPrefixes: null });

    const route = (destination: string, nextHop: string, best = true) => ({ destination, nextHop, asPath: [14907], med: null, localPref: 100, best });
    const report = (state: string, learned: ReturnType<typeof route>[]) => ({
      kind: 'bgp_session',
      id: `${speaker.id}/${peer4.id}`,
      networkId: null,
      status: state === 'Established' ? 'ACTIVE' : 'DOWN',
      reason: `${state}, ${learned.length} routes learned`,
      session: { speakerId: speaker.id, peerId: peer4.id, state, since: null, prefixesSent: 1, lastError: null, learned, learnedTotal: learned.length },
    });
    // 172.16.0.0/12 is not accepted (an agent under an older policy): never shown
    // two core routers on the external subnet (192.168.81.0/26), one learned on each host
    await a1.report([
      report('Established', [route('0.0.0.0/0', '192.168.81.61'), route('10.99.0.0/16', '192.168.81.61'), route('172.16.0.0/12', '192.168.81.61')]),
    ]);
    await b1.report([report('Established', [route('0.0.0.0/0', '192.168.81.62', false)])]);
    // bgp-a2 does not run the speaker: ignored
    await a2.report([report('Established', [route('0.0.0.0/0', '192.168.81.3')])]);
    type Learned = {
      destination: string;
      next_hop: string;
      peer_id: string;
      host: string;
      as_path: number[];
      med: number | null;
      local_pref: number | null;
      best: boolean;
    };
    const learnedRoutes = async () => (await api.get<{ learned_routes: Learned[] }>(`/v2.0/bgp-speakers/${speaker.id}/get_learned_routes`)).body.learned_routes;
    const shown = await eventually('routes learned on both hosts', learnedRoutes, (l) => l.length === 3);
    expect(shown).toEqual([
      { destination: '0.0.0.0/0', next_hop: '192.168.81.61', peer_id: peer4.id, host: 'bgp-a1', as_path: [14907], med: null, local_pref: 100, best: true },
      { destination: '0.0.0.0/0', next_hop: '192.168.81.62', peer_id: peer4.id, host: 'bgp-b1', as_path: [14907], med: null, local_pref: 100, best: false },
      { destination: '10.99.0.0/16', next_hop: '192.168.81.61', peer_id: peer4.id, host: 'bgp-a1', as_path: [14907], med: null, local_pref: 100, best: true },
    ]);
    // L3 installs them in the router of the speaker's network: the learned default route, ECMP
    // over both core routers, instead of the subnet's gateway; the accepted prefix beside it
    const ecmp = ['0.0.0.0/0 via 192.168.81.61', '0.0.0.0/0 via 192.168.81.62', '10.99.0.0/16 via 192.168.81.61'];
    expect(await eventually("the router's routes", routerRoutes, (r) => JSON.stringify(r) === JSON.stringify(ecmp))).toEqual(ecmp);

    await a1.report([report('Active', [])]);
    expect((await eventually('bgp-a1 forgets', learnedRoutes, (l) => l.length === 1)).map((r) => r.host)).toEqual(['bgp-b1']);
    expect(await eventually('the router forgets bgp-a1', routerRoutes, (r) => r.length === 1)).toEqual(['0.0.0.0/0 via 192.168.81.62']);

    const member = api.as({ 'X-Roles': 'member', 'X-Project-Id': 'project-m' });
    expect((await member.get(`/v2.0/bgp-speakers/${speaker.id}/get_learned_routes`)).status).toBe(403);
    const missing = await api.get(`/v2.0/bgp-speakers/00000000-0000-4000-8000-000000000000/get_learned_routes`);
    expect([missing.status, errorOf(missing.body).type]).toEqual([404, 'BgpSpeakerNotFound']);
  });

  it('moves a speaker off a dead agent to a live one, preferring the row it lost', async () => {
    await b1.stop();
    agents.splice(agents.indexOf(b1), 1);
    const hosts = await eventually(
      'the speaker leaves bgp-b1',
      () => dragentHosts(speaker.id),
      (h) => !h.includes('bgp-b1'),
      30_000,
    );
    // no other bgp agent in row-b: the second one in row-a
    expect(hosts.sort()).toEqual(['bgp-a1', 'bgp-a2']);
    const peer = (await api.get<{ bgp_peer: { sessions: { host: string }[] } }>(`/v2.0/bgp-peers/${peer4.id}`)).body.bgp_peer;
    expect(peer.sessions.map((s) => s.host)).toEqual(['bgp-a1']);
    // what bgp-b1 learned went with it: the router has its static default route again
    expect((await api.get<{ learned_routes: unknown[] }>(`/v2.0/bgp-speakers/${speaker.id}/get_learned_routes`)).body.learned_routes).toEqual([]);
    expect(await eventually('the static default route again', routerRoutes, (r) => r[0] === '0.0.0.0/0 via 192.168.81.1')).toEqual([
      '0.0.0.0/0 via 192.168.81.1',
    ]);
    await eventually(
      'the intent on bgp-a2',
      () => intentOf(a2, speaker.id),
      (i) => i !== undefined,
    );
  });

  it('pins a speaker to an agent with the dragent API, and releases it to automatic placement', async () => {
    const netC1 = agentIdOf('row-c', 'net-c1');
    const a2Id = agentIdOf('row-a', 'bgp-a2');
    const noRole = await api.post(`/v2.0/agents/${netC1}/bgp-drinstances`, { bgp_speaker_id: speaker.id });
    expect([noRole.status, errorOf(noRole.body).type]).toEqual([409, 'InvalidDRAgent']);
    expect((await api.post(`/v2.0/agents/${agentIdOf('row-z', 'nobody')}/bgp-drinstances`, { bgp_speaker_id: speaker.id })).status).toBe(404);
    expect((await api.post(`/v2.0/agents/${a2Id}/bgp-drinstances`, { bgp_speaker_id: speaker.id })).status).toBe(201);
    expect(await dragentHosts(speaker.id)).toEqual(['bgp-a2']);
    const pinned = await api.get<{ agents: { host: string; pinned: boolean; agent_type: string }[] }>(`/v2.0/bgp-speakers/${speaker.id}/bgp-dragents`);
    expect(pinned.body.agents).toEqual([expect.objectContaining({ host: 'bgp-a2', pinned: true, agent_type: 'BGP dynamic routing agent' })]);
    expect((await api.post(`/v2.0/agents/${a2Id}/bgp-drinstances`, { bgp_speaker_id: speaker.id })).status).toBe(409);
    // pinned: placement leaves it there. A speaker created now is placed by a pass that
    // starts after the pin, and that pass looks at every speaker.
    const probe = await api.create<Speaker>('bgp-speakers', 'bgp_speaker', { name: 'probe', local_as: 64714, ip_version: 6 });
    await eventually(
      'a placement pass after the pin',
      () => dragentHosts(probe.id),
      (h) => h.length > 0,
    );
    expect(await dragentHosts(speaker.id)).toEqual(['bgp-a2']);
    expect((await api.delete(`/v2.0/bgp-speakers/${probe.id}`)).status).toBe(204);
    await eventually(
      'no intent on bgp-a1',
      () => intentOf(a1, speaker.id),
      (i) => i === undefined,
    );
    expect((await api.delete(`/v2.0/agents/${agentIdOf('row-a', 'bgp-a1')}/bgp-drinstances/${speaker.id}`)).status).toBe(409);
    expect((await api.delete(`/v2.0/agents/${a2Id}/bgp-drinstances/${speaker.id}`)).status).toBe(204);
    expect(
      (
        await eventually(
          'automatic placement again',
          () => dragentHosts(speaker.id),
          (h) => h.length === 2,
        )
      ).sort(),
    ).toEqual(['bgp-a1', 'bgp-a2']);
  });

  it('a deleted peer leaves the speaker; a deleted speaker leaves its agents', async () => {
    expect((await api.delete(`/v2.0/bgp-peers/${peer4.id}`)).status).toBe(204);
    const shown = await api.get<{ bgp_speaker: Speaker }>(`/v2.0/bgp-speakers/${speaker.id}`);
    expect(shown.body.bgp_speaker.peers).toEqual([]);
    await eventually(
      'no peer in the intent',
      () => intentOf(a1, speaker.id),
      (i) => i?.peers.length === 0,
    );
    const removed = await api.put(`/v2.0/bgp-speakers/${speaker.id}/remove_gateway_network`, { network_id: ext.id });
    expect([removed.status, removed.body]).toEqual([200, { network_id: ext.id }]);
    expect(await routesOf(speaker.id)).toEqual([]);
    expect((await api.put(`/v2.0/bgp-speakers/${speaker.id}/remove_gateway_network`, { network_id: ext.id })).status).toBe(404);
    expect((await api.delete(`/v2.0/bgp-speakers/${speaker.id}`)).status).toBe(204);
    await eventually(
      'no intent left',
      async () => [await intentOf(a1, speaker.id), await intentOf(a2, speaker.id)],
      (i) => i.every((x) => x === undefined),
      // the agents are told through BGP's projection and publisher, which on a loaded CI machine
      // (every suite's stacks at once) once took longer than the default 20 s
      60_000,
    );
  });
});
