import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IPAM_REGISTRY_ID, type CommandMetadata } from '@ncp/contracts';
import { createTestDatabase, deployIpamMigrations, testInfra, uniqueName, type TestDatabase } from '@ncp/testing';
import { ipamConfig } from '../config';
import { IpamContext } from '../context';
import { portRequest, subnetRequest } from '../domain/__fixtures__/ipam';

/**
 * Sagas interrupted by a crash leave reservations behind; the sweeper releases them once
 * they are older than the grace period, and only after the owning aggregate confirms.
 */
let db: TestDatabase;
let ctx: IpamContext;
const meta: CommandMetadata = { now: new Date().toISOString(), correlationId: 'c', causationId: null, projectId: 'p', actor: 't', isAdmin: true };

beforeAll(async () => {
  const infra = await testInfra();
  db = await createTestDatabase(infra.databaseUrl);
  await deployIpamMigrations(db.url);
  ctx = await IpamContext.create(
    ipamConfig({ DATABASE_URL: db.url, NATS_URL: infra.natsUrl, NATS_PREFIX: uniqueName('sw'), LOG_LEVEL: 'silent', ORPHAN_GRACE_SECONDS: '60' }),
    undefined,
    { securityGroups: { portGroups: () => Promise.resolve({ defaultGroupId: 'default-group' }) } },
  );
  await ctx.start();
});

afterAll(async () => {
  if (ctx) {
    await ctx.store.deleteStream();
    await ctx.stop();
  }
  await db?.drop();
});

describe('orphan sweeper', () => {
  it('releases a segment and a pool prefix whose network and subnet never came, and nothing else', async () => {
    // A network created properly, with a subnet from a pool: its reservations must stay.
    const pool = await ctx.subnetPools.create(
      {
        projectId: 'p',
        prefixes: ['10.60.0.0/16'],
        attributes: {
          name: 'p',
          description: '',
          defaultPrefixLength: 24,
          minPrefixLength: 8,
          maxPrefixLength: 32,
          defaultQuota: null,
          shared: false,
          isDefault: false,
          addressScopeId: null,
        },
      },
      meta,
    );
    const net = await ctx.networks.create(
      {
        projectId: 'p',
        attributes: { name: 'n', description: '', adminStateUp: true, shared: false, external: false, portSecurityEnabled: true },
        segment: {},
      },
      meta,
    );
    // A subnet from the pool: the pool picks its cidr (and address scope).
    const { addressScopeId: _scope, ...attributes } = subnetRequest('10.60.0.0/24');
    await ctx.subnets.create(
      { ...attributes, networkId: net.id, projectId: 'p', cidr: undefined, subnetPoolId: pool.id, useDefaultSubnetPool: false, prefixLength: undefined },
      meta,
    );
    // The first steps of two sagas whose process died before the second step.
    await ctx.model.registryCommand({ type: 'ReserveSegment', networkId: 'ghost-net', request: {}, policy: ctx.model.policies.segments }, meta);
    const allocated = await ctx.model.pools.execute(
      pool.id,
      { type: 'AllocatePrefix', id: pool.id, subnetId: 'ghost-subnet', networkId: net.id, projectId: 'p' },
      meta,
    );
    await ctx.projection.waitFor(allocated.sequence);

    // Within the grace period nothing is touched: the saga may still be running.
    expect(await ctx.sweeper.sweep(new Date())).toEqual({ segments: 0, prefixes: 0, scopeClaims: 0, defaultPools: 0, bulkCreates: 0 });

    const later = new Date(Date.now() + 120_000);
    expect(await ctx.sweeper.sweep(later)).toEqual({ segments: 1, prefixes: 1, scopeClaims: 0, defaultPools: 0, bulkCreates: 0 });
    const registry = (await ctx.model.registry.load(IPAM_REGISTRY_ID)).state;
    expect(registry.segments.has('ghost-net')).toBe(false);
    expect(registry.segments.has(net.id)).toBe(true);
    const poolState = (await ctx.model.pools.load(pool.id)).state;
    expect([...poolState.allocations.keys()]).toHaveLength(1);
    expect(poolState.allocations.has('ghost-subnet')).toBe(false);
    // A second sweep finds nothing left to do.
    expect(await ctx.sweeper.sweep(later)).toEqual({ segments: 0, prefixes: 0, scopeClaims: 0, defaultPools: 0, bulkCreates: 0 });
  });

  it('undoes a bulk create a crash interrupted: all of its items go, other resources stay', async () => {
    const attributes = { name: 'b', description: '', adminStateUp: true, shared: false, external: false, portSecurityEnabled: true };
    const bystander = await ctx.networks.create({ projectId: 'p', attributes, segment: {} }, meta);
    // What a request had done when its process died: the journal and the first of its two
    // networks, nothing more. Meanwhile another request put a port on another network.
    const bulkId = 'crashed-bulk';
    const [first, second] = ['bulk-net-1', 'bulk-net-2'];
    await ctx.model.bulkCreates.execute(
      bulkId,
      {
        type: 'StartBulkCreate',
        id: bulkId,
        collection: 'networks',
        items: [
          { id: first, networkId: first },
          { id: second, networkId: second },
        ],
      },
      meta,
    );
    await ctx.networks.create({ projectId: 'p', attributes, segment: {} }, meta, first);
    const port = await ctx.ports.create(bystander.id, 'p', portRequest, meta);
    await ctx.projection.waitFor(port.sequence);

    expect((await ctx.sweeper.sweep(new Date())).bulkCreates).toBe(0);
    const later = new Date(Date.now() + 120_000);
    expect((await ctx.sweeper.sweep(later)).bulkCreates).toBe(1);
    expect((await ctx.model.networks.load(first)).state.exists).toBe(false);
    expect((await ctx.model.registry.load(IPAM_REGISTRY_ID)).state.segments.has(first)).toBe(false);
    expect((await ctx.model.bulkCreates.load(bulkId)).state.status).toBe('undone');
    expect((await ctx.model.networks.load(bystander.id)).state.ports.has(port.id)).toBe(true);
    // The request, had it survived, can no longer complete what the sweeper undid.
    await expect(ctx.model.bulkCreates.execute(bulkId, { type: 'CompleteBulkCreate', id: bulkId }, meta)).rejects.toThrow(/aborted/);
    const again = await ctx.sweeper.sweep(later);
    expect(again.bulkCreates).toBe(0);
  });

  it('leaves a completed bulk create alone', async () => {
    const attributes = { name: 'c', description: '', adminStateUp: true, shared: false, external: false, portSecurityEnabled: true };
    const written = await ctx.bulkCreates.createNetworks(
      [
        { projectId: 'p', attributes, segment: {} },
        { projectId: 'p', attributes, segment: {} },
      ],
      meta,
    );
    await ctx.projection.waitFor(Math.max(...written.map((w) => w.sequence)));
    expect((await ctx.sweeper.sweep(new Date(Date.now() + 120_000))).bulkCreates).toBe(0);
    for (const w of written) expect((await ctx.model.networks.load(w.id)).state.exists).toBe(true);
  });
});
