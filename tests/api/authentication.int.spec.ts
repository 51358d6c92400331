import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestKeystone, TestStack, requireKeystone, type Credentials } from '@ncp/testing';
import { eventually } from '../support/eventually';
import { NeutronClient, type Resource } from './client';

/**
 * Authentication at the edge, against a real Keystone (Debian's): every service and the gateway
 * validate the X-Auth-Token they get (nothing is reached around the gateway), identity comes from
 * the token only, and without a valid token nothing but the open paths answers. Keystone's
 * tokens live 20 s here, so that one can expire within the test.
 */
const TOKEN_SECONDS = 20;
const run = requireKeystone();
let keystone: TestKeystone;
let stack: TestStack;
let api: NeutronClient;
const alice: Credentials = { user: 'alice', password: 'alice-pw', project: 'demo' };
const bob: Credentials = { user: 'bob', password: 'bob-pw', project: 'alt' };
let demoId: string;
let altId: string;

const as = async (who: Credentials) => api.as({ 'X-Auth-Token': await keystone.token(who) });
const errorType = (body: Record<string, unknown>) => (body.NeutronError as { type?: string } | undefined)?.type;

describe.runIf(run)('authentication with Keystone', () => {
  beforeAll(async () => {
    keystone = await TestKeystone.start({ tokenSeconds: TOKEN_SECONDS });
    await keystone.createUser(alice, 'member');
    await keystone.createUser(bob, 'member');
    demoId = await keystone.createProject('demo');
    altId = await keystone.createProject('alt');
    stack = await TestStack.start(keystone.stackOptions());
    api = new NeutronClient(stack.url);
  });

  afterAll(async () => {
    await stack?.stop();
    await keystone?.stop();
  });

  it('answers 401 without a token, at the gateway and at every service behind it', async () => {
    for (const url of [stack.url, stack.ipamUrl, stack.l3Url, stack.dhcpUrl, stack.bgpUrl, stack.metadataUrl, stack.secgroupsUrl]) {
      const client = new NeutronClient(url, { 'X-Project-Id': demoId, 'X-Roles': 'admin' });
      const reply = await client.get('/v2.0/networks');
      expect(reply.status, url).toBe(401);
      expect(errorType(reply.body), url).toBe('HTTPUnauthorized');
      expect(reply.headers.get('www-authenticate'), url).toBe(`Keystone uri="${keystone.url.replace(/\/v3$/, '')}"`);
    }
    expect((await api.post('/v2.0/networks', { network: { name: 'anonymous' } })).status).toBe(401);
    expect((await api.as({ 'X-Auth-Token': 'gAAAAABforged' }).get('/v2.0/ports')).status).toBe(401);
  });

  it('takes the project and roles from the token only: identity headers a client sends change nothing', async () => {
    const forged = (await as(alice)).as({ 'X-Project-Id': altId, 'X-Tenant-Id': altId, 'X-Roles': 'admin', 'X-User-Id': 'root' });
    const reply = await forged.post('/v2.0/networks', { network: { name: 'alice-net' } });
    expect(reply.status).toBe(201);
    expect((reply.body.network as Resource).project_id).toBe(demoId);
    // an admin could make a network external; alice, a member whatever X-Roles says, cannot
    expect((await forged.post('/v2.0/networks', { network: { name: 'not-mine', 'router:external': true } })).status).toBe(403);
    const bobs = await (await as(bob)).create('networks', 'network', { name: 'bob-net' });
    const seen = (await forged.get<{ networks: Resource[] }>('/v2.0/networks')).body.networks.map((n) => n.id);
    expect(seen).toContain((reply.body.network as Resource).id);
    expect(seen).not.toContain(bobs.id);
    expect((await forged.get(`/v2.0/networks/${bobs.id}`)).status).toBe(404);
  });

  it('gives an admin token what Neutron gives an admin', async () => {
    const admin = await as(keystone.admin);
    const external = await admin.create('networks', 'network', { name: 'public', 'router:external': true });
    expect(external['router:external']).toBe(true);
    const all = (await admin.get<{ networks: Resource[] }>('/v2.0/networks')).body.networks.map((n) => n.project_id);
    expect(all).toEqual(expect.arrayContaining([demoId, altId]));
    expect((await admin.get<{ extensions: unknown[] }>('/v2.0/extensions')).body.extensions.length).toBeGreaterThan(10);
  });

  it('refuses a revoked token', async () => {
    const token = await keystone.token(alice);
    await keystone.revoke(token);
    expect((await api.as({ 'X-Auth-Token': token }).get('/v2.0/networks')).status).toBe(401);
  });

  it('refuses a token once it has expired, although it was accepted (and cached) before', async () => {
    const token = await keystone.token(bob);
    const client = api.as({ 'X-Auth-Token': token });
    expect((await client.get('/v2.0/networks')).status).toBe(200);
    // Keystone's own word that it expired, then ours
    await eventually(
      'Keystone saying the token expired',
      async () =>
        (await fetch(`${keystone.url}/auth/tokens`, { headers: { 'X-Auth-Token': await keystone.token(keystone.service), 'X-Subject-Token': token } })).status,
      (status) => status === 404,
      { timeoutMs: (TOKEN_SECONDS + 30) * 1000, intervalMs: 1000 },
    );
    const reply = await client.get('/v2.0/networks');
    expect(reply.status).toBe(401);
    expect(errorType(reply.body)).toBe('HTTPUnauthorized');
  });

  it('answers without a token where nothing is revealed: versions, health, and the metadata service its signed paths', async () => {
    expect((await api.get('/')).status).toBe(200);
    expect((await fetch(`${stack.ipamUrl}/healthz`)).status).toBe(200);
    expect((await api.get('/v2.0/extensions')).status).toBe(401);
    // reached, and refused by the metadata service's own check (no signed instance id), not by Keystone's
    const metadata = await fetch(`${stack.metadataUrl}/latest/meta-data/instance-id`);
    expect(metadata.status).not.toBe(401);
    expect(metadata.status).toBeGreaterThanOrEqual(400);
  });

  it('answers 503, never lets a request through, when Keystone cannot be asked', async () => {
    const admin = await as(keystone.admin);
    expect((await admin.get('/v2.0/networks')).status).toBe(200);
    const fresh = await keystone.token(alice);
    await keystone.stop();
    const reply = await api.as({ 'X-Auth-Token': fresh }).get('/v2.0/networks');
    expect(reply.status).toBe(503);
    expect(errorType(reply.body)).toBe('HTTPServiceUnavailable');
    // a token validated before stays valid for its cache time
    expect((await admin.get('/v2.0/networks')).status).toBe(200);
  });
});
