import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError, type CommandMetadata, type SgPortGroupsInput, type SgPortGroupsReply } from '@ncp/contracts';
import { createTestDatabase, deployIpamMigrations, testInfra, uniqueName, type TestDatabase } from '@ncp/testing';
import { ipamConfig } from '../config';
import { IpamContext } from '../context';
import { portRequest, subnetRequest } from '../domain/__fixtures__/ipam';
import { type SecurityGroupsResolver } from './port.commands';

/**
 * Port commands ask the security groups service only when the request might need it, carry
 * its answer into the decider, and change nothing when it refuses a group.
 */
let db: TestDatabase;
let ctx: IpamContext;
const meta: CommandMetadata = { now: new Date().toISOString(), correlationId: 'c', causationId: null, projectId: 'p', actor: 't', isAdmin: false };
const admin: CommandMetadata = { ...meta, isAdmin: true };

/** A fake service: groups `sg-*` of project p exist, its default group is `default-<project>`. */
class FakeSecurityGroups implements SecurityGroupsResolver {
  readonly asked: SgPortGroupsInput[] = [];
  portGroups(input: SgPortGroupsInput, m: CommandMetadata): Promise<SgPortGroupsReply> {
    this.asked.push(input);
    const missing = input.securityGroupIds.filter((id) => !id.startsWith('sg-') || (input.projectId !== 'p' && !m.isAdmin));
    if (missing.length > 0) return Promise.reject(new NotFoundError('SG.SecurityGroupNotFound', `Security group ${missing.join(', ')} does not exist`));
    return Promise.resolve({ defaultGroupId: input.withDefault ? `default-${input.projectId}` : null });
  }
}
const fake = new FakeSecurityGroups();
let networkId: string;

beforeAll(async () => {
  const infra = await testInfra();
  db = await createTestDatabase(infra.databaseUrl);
  await deployIpamMigrations(db.url);
  ctx = await IpamContext.create(ipamConfig({ DATABASE_URL: db.url, NATS_URL: infra.natsUrl, NATS_PREFIX: uniqueName('pc'), LOG_LEVEL: 'silent' }), undefined, {
    securityGroups: fake,
  });
  await ctx.start();
  const attributes = { name: 'n', description: '', adminStateUp: true, shared: false, external: false, portSecurityEnabled: true };
  networkId = (await ctx.networks.create({ projectId: 'p', attributes, segment: {} }, meta)).id;
  const { cidr, ...rest } = subnetRequest('10.70.0.0/24');
  await ctx.subnets.create({ ...rest, networkId, projectId: 'p', cidr, subnetPoolId: undefined, useDefaultSubnetPool: false, prefixLength: undefined }, meta);
});

afterAll(async () => {
  if (ctx) {
    await ctx.store.deleteStream();
    await ctx.stop();
  }
  await db?.drop();
});

beforeEach(() => {
  fake.asked.length = 0;
});

const portOf = async (id: string) => {
  const port = (await ctx.model.networks.load(networkId)).state.ports.get(id);
  if (!port) throw new Error(`no port ${id}`);
  return port;
};

describe('port commands and the security groups service', () => {
  it("gives a workload port its project's default group, asking once; an admin's port for another project gets that project's", async () => {
    const mine = await ctx.ports.create(networkId, 'p', portRequest, meta);
    expect((await portOf(mine.id)).securityGroups).toEqual(['default-p']);
    const theirs = await ctx.ports.create(networkId, 'q', portRequest, admin);
    expect((await portOf(theirs.id)).securityGroups).toEqual(['default-q']);
    expect(fake.asked).toEqual([
      { projectId: 'p', securityGroupIds: [], withDefault: true },
      { projectId: 'q', securityGroupIds: [], withDefault: true },
    ]);
  });

  it('asks nothing for trusted ports, ports with port security off, without an address or naming no groups, nor for a request refused anyway', async () => {
    for (const request of [
      { ...portRequest, deviceOwner: 'network:dhcp' },
      { ...portRequest, deviceOwner: 'network:router_interface' },
      { ...portRequest, portSecurityEnabled: false },
      { ...portRequest, securityGroups: [] },
      { ...portRequest, fixedIps: [] },
    ]) {
      await ctx.ports.create(networkId, 'p', request, admin);
    }
    await expect(ctx.ports.create(randomUUID(), 'p', portRequest, meta)).rejects.toMatchObject({ code: 'IPAM.NetworkNotFound' });
    await expect(ctx.ports.create(networkId, 'p', { ...portRequest, portSecurityEnabled: false, securityGroups: ['nope'] }, meta)).rejects.toMatchObject({
      code: 'IPAM.PortSecurityAndIPRequiredForSecurityGroups',
    });
    expect(fake.asked).toEqual([]);
  });

  it('checks named groups on create and update; a refused group changes nothing', async () => {
    const port = await ctx.ports.create(networkId, 'p', { ...portRequest, securityGroups: ['sg-web'] }, meta);
    expect((await portOf(port.id)).securityGroups).toEqual(['sg-web']);
    // an update finds the port's network in the projection
    await ctx.projection.waitFor(port.sequence);
    const before = (await ctx.model.networks.load(networkId)).sequence;
    await expect(ctx.ports.create(networkId, 'p', { ...portRequest, securityGroups: ['sg-web', 'nope'] }, meta)).rejects.toMatchObject({
      code: 'SG.SecurityGroupNotFound',
    });
    await expect(ctx.ports.update(port.id, { securityGroups: ['nope'] }, undefined, meta)).rejects.toMatchObject({ code: 'SG.SecurityGroupNotFound' });
    expect((await ctx.model.networks.load(networkId)).sequence).toBe(before);
    await ctx.ports.update(port.id, { securityGroups: ['sg-db', 'sg-web'] }, undefined, meta);
    expect((await portOf(port.id)).securityGroups).toEqual(['sg-db', 'sg-web']);
    // clearing, or turning port security off with the groups cleared, asks nothing
    fake.asked.length = 0;
    await ctx.ports.update(port.id, { portSecurityEnabled: false, securityGroups: [] }, undefined, meta);
    expect(await portOf(port.id)).toMatchObject({ portSecurityEnabled: false, securityGroups: [] });
    expect(fake.asked).toEqual([]);
  });

  it('creates bulk ports on the same path: all checked, none left when one group is refused', async () => {
    const before = (await ctx.model.networks.load(networkId)).state.ports.size;
    const request = (securityGroups?: string[]) => ({ networkId, projectId: 'p', request: { ...portRequest, ...(securityGroups ? { securityGroups } : {}) } });
    await expect(ctx.bulkCreates.createPorts([request(), request(['sg-web']), request(['missing'])], meta)).rejects.toMatchObject({
      code: 'SG.SecurityGroupNotFound',
    });
    expect((await ctx.model.networks.load(networkId)).state.ports.size).toBe(before);
    const written = await ctx.bulkCreates.createPorts([request(), request(['sg-web'])], meta);
    expect(await Promise.all(written.map(async (w) => (await portOf(w.id)).securityGroups))).toEqual([['default-p'], ['sg-web']]);
  });
});
