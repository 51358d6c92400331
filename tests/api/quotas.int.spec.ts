import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestStack } from '@ncp/testing';
import { type NeutronClient, type Resource } from './client';
import { eventually } from '../support/eventually';
import { startStack } from '../support/stack';

/**
 * Neutron's quotas through the gateway: an admin sets a project's limits (IPAM), and the
 * services that own each kind hold API creates to them (IPAM ports and networks, L3 routers,
 * the security groups service's groups), even under concurrent creates; `details` counts what
 * is used; only admins change limits, and a bad body changes nothing.
 */
let stack: TestStack;
let admin: NeutronClient;

beforeAll(async () => ({ stack, api: admin } = await startStack()));
afterAll(() => stack?.stop());

type Limits = Record<string, number>;
type Detail = Record<string, { limit: number; used: number; reserved: number }>;

const member = (project: string) => admin.as({ 'X-Project-Id': project, 'X-Roles': 'member' });
const setLimits = async (project: string, quota: Record<string, unknown>) => {
  const r = await admin.put<{ quota: Limits }>(`/v2.0/quotas/${project}`, { quota });
  expect(r.status).toBe(200);
  return r.body.quota;
};
const limitsOf = async (project: string) => (await admin.get<{ quota: Limits }>(`/v2.0/quotas/${project}`)).body.quota;
const detailsOf = async (client: NeutronClient, project: string) => (await client.get<{ quota: Detail }>(`/v2.0/quotas/${project}/details`)).body.quota;
const overQuota = (kind: string) => ({ NeutronError: { type: 'OverQuota', message: `Quota exceeded for resources: ['${kind}'].`, detail: '' } });
const countOf = async (client: NeutronClient, collection: string) =>
  ((await client.get<Record<string, Resource[]>>(`/v2.0/${collection}`)).body[collection] ?? []).length;

const DEFAULTS = { network: 100, subnet: 100, port: 500, router: 10, floatingip: 50, security_group: 10, security_group_rule: 100, subnetpool: -1 };

describe('quotas', () => {
  it('are served by the quotas and quota_details extensions, with Neutron’s defaults', async () => {
    const { body } = await admin.get<{ extensions: { alias: string }[] }>('/v2.0/extensions');
    expect(body.extensions.map((e) => e.alias)).toEqual(expect.arrayContaining(['quotas', 'quota_details']));
    expect(await limitsOf('p-fresh')).toEqual(DEFAULTS);
    expect((await admin.get('/v2.0/quotas/p-fresh/default')).body).toEqual({ quota: DEFAULTS });
  });

  it('refuse the port past the limit with OverQuota and create nothing; a deletion makes room', async () => {
    const user = member('p-ports');
    expect(await setLimits('p-ports', { port: 2 })).toEqual({ ...DEFAULTS, port: 2 });
    const net = await user.create('networks', 'network', { name: 'n' });
    const first = await user.create('ports', 'port', { network_id: net.id });
    await user.create('ports', 'port', { network_id: net.id });
    const third = await user.post('/v2.0/ports', { port: { network_id: net.id } });
    expect(third.status).toBe(409);
    expect(third.body).toEqual(overQuota('port'));
    expect(await countOf(user, 'ports')).toBe(2);
    // a bulk create past the limit is refused whole
    const bulk = await user.post('/v2.0/ports', { ports: [{ network_id: net.id }, { network_id: net.id }] });
    expect(bulk.status).toBe(409);
    expect(await countOf(user, 'ports')).toBe(2);

    // a project's reader sees its own details: both ports used, none pending
    const reader = admin.as({ 'X-Project-Id': 'p-ports', 'X-Roles': 'reader' });
    const details = await eventually(
      'ports counted',
      () => detailsOf(reader, 'p-ports'),
      (d) => d.port?.used === 2,
    );
    expect(details.port).toEqual({ limit: 2, used: 2, reserved: 0 });
    expect(details.network).toEqual({ limit: 100, used: 1, reserved: 0 });

    expect((await user.delete(`/v2.0/ports/${first.id}`)).status).toBe(204);
    await eventually(
      'the deleted port released',
      () => detailsOf(admin, 'p-ports'),
      (d) => d.port?.used === 1,
    );
    await user.create('ports', 'port', { network_id: net.id });
    expect(await countOf(user, 'ports')).toBe(2);
  });

  it('hold routers (L3) and security groups (security groups service) to their limits', async () => {
    const user = member('p-l3sg');
    await setLimits('p-l3sg', { router: 1, security_group: 2 });
    await user.create('routers', 'router', { name: 'r1' });
    const router = await user.post('/v2.0/routers', { router: { name: 'r2' } });
    expect(router.status).toBe(409);
    expect(router.body).toEqual(overQuota('router'));
    expect(await countOf(user, 'routers')).toBe(1);

    // the project's default group counts: it and one more make two
    await user.create('security-groups', 'security_group', { name: 'g1' });
    const group = await user.post('/v2.0/security-groups', { security_group: { name: 'g2' } });
    expect(group.status).toBe(409);
    expect(group.body).toEqual(overQuota('security_group'));
    expect((await user.get<{ security_groups: Resource[] }>('/v2.0/security-groups')).body.security_groups.map((g) => g.name).sort()).toEqual([
      'default',
      'g1',
    ]);
    const details = await eventually(
      'routers and groups counted',
      () => detailsOf(admin, 'p-l3sg'),
      (d) => d.router?.used === 1 && d.security_group?.used === 2,
    );
    // the default group's four rules and g1's two egress rules count too, as in Neutron
    expect(details.security_group_rule).toEqual({ limit: 100, used: 6, reserved: 0 });
  });

  it('never let concurrent creates exceed the limit', async () => {
    const user = member('p-race');
    await setLimits('p-race', { network: 5 });
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => user.post('/v2.0/networks', { network: { name: `n${i}` } })));
    expect(replies.map((r) => r.status).sort()).toEqual([201, 201, 201, 201, 201, 409, 409, 409]);
    expect(await countOf(user, 'networks')).toBe(5);
  });

  it('are changed by admins only, and a bad body changes nothing', async () => {
    await setLimits('p-admin', { subnet: 7 });
    const user = member('p-admin');
    const refused = await user.put('/v2.0/quotas/p-admin', { quota: { subnet: 70 } });
    expect(refused.status).toBe(403);
    expect((await user.delete('/v2.0/quotas/p-admin')).status).toBe(403);
    // another project's member may not even read them
    expect((await member('p-other').get('/v2.0/quotas/p-admin')).status).toBe(403);
    for (const quota of [{ subnet: 8, volumes: 3 }, { subnet: -2 }, { subnet: 'many' }, { subnet: 2.5 }]) {
      const r = await admin.put<{ NeutronError: { type: string } }>('/v2.0/quotas/p-admin', { quota });
      expect(r.status).toBe(400);
      expect(r.body.NeutronError.type).toBe('HTTPBadRequest');
    }
    expect((await admin.put('/v2.0/quotas/p-admin', { subnet: 8 })).status).toBe(400);
    expect(await limitsOf('p-admin')).toEqual({ ...DEFAULTS, subnet: 7 });
    const listed = (await admin.get<{ quotas: (Limits & { project_id: string })[] }>('/v2.0/quotas')).body.quotas;
    expect(listed.find((q) => q.project_id === 'p-admin')).toMatchObject({ subnet: 7, network: 100 });
  });

  it('go back to the defaults on DELETE', async () => {
    await setLimits('p-reset', { port: 1, router: 0 });
    expect((await admin.delete('/v2.0/quotas/p-reset')).status).toBe(204);
    expect(await limitsOf('p-reset')).toEqual(DEFAULTS);
    const listed = (await admin.get<{ quotas: { project_id: string }[] }>('/v2.0/quotas')).body.quotas;
    expect(listed.map((q) => q.project_id)).not.toContain('p-reset');
    // L3 holds the project to the default again at once
    await member('p-reset').create('routers', 'router', { name: 'r' });
  });
});
