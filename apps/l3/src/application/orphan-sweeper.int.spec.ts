import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConflictError,
  L3_REGISTRY_ID,
  NotFoundError,
  UnavailableError,
  serviceMeta,
  type CommandMetadata,
  type IpamPortWire,
  type NetworkEvent,
} from '@ncp/contracts';
import { type JetStreamEventStore } from '@ncp/eventstore';
import { createTestDatabase, deployMigrations, factPort, factSubnet, testInfra, uniqueName, type TestDatabase } from '@ncp/testing';
import { l3Config } from '../config';
import { HA_PORT_OWNER } from './placement';
import { L3Context } from '../context';
import { claimKey } from '../domain/registry.decider';
import { asService, type IpamPorts } from './write-model';

const text = (v: unknown) => (typeof v === 'string' ? v : '');

interface FakePort {
  id: string;
  networkId: string;
  projectId: string;
  fixedIps: { subnetId: string; ipAddress: string }[];
  deviceOwner: string;
  deviceId: string;
}

/**
 * IPAM as L3 sees it: its events on the stream (which L3 mirrors) and its port commands,
 * which a test makes fail at will, as a crash or an IPAM that does not answer would.
 */
class FakeIpam implements IpamPorts {
  store: JetStreamEventStore | undefined;
  readonly ports = new Map<string, FakePort>();
  private readonly subnets = new Map<string, { networkId: string; prefix: string; next: number }>();
  failCreate: Error | null = null;
  failDelete: Error | null = null;

  // these tests make no HA router: an HA network is only ever released (and swept)
  createNetwork(): Promise<never> {
    return Promise.reject(new Error('no HA network in these tests'));
  }
  failDeleteNetwork: Error | null = null;
  async deleteNetwork(id: string, meta: CommandMetadata): Promise<void> {
    if (this.failDeleteNetwork) throw this.failDeleteNetwork;
    await this.append(id, { type: 'NetworkDeleted', data: { subnets: [], portIds: [] } }, meta);
  }
  createSubnet(): Promise<never> {
    return Promise.reject(new Error('no HA network in these tests'));
  }
  deleteSubnet(): Promise<never> {
    return Promise.reject(new Error('no HA network in these tests'));
  }

  private async append(networkId: string, event: NetworkEvent, meta: CommandMetadata): Promise<void> {
    const store = this.store;
    if (!store) throw new Error('no store yet');
    const subject = store.naming.eventSubject('ipam', 'network', networkId);
    await store.append(subject, store.envelope(event, 'network', networkId, meta), await store.lastSequence(subject));
  }

  async network(external: boolean, meta: CommandMetadata): Promise<string> {
    const id = randomUUID();
    const segment = { networkType: 'vxlan' as const, physicalNetwork: null, segmentationId: 100 };
    const data = { projectId: 'p', segment, name: '', description: '', adminStateUp: true, shared: false, external, mtu: 1450, portSecurityEnabled: true };
    await this.append(id, { type: 'NetworkCreated', data }, meta);
    return id;
  }

  async subnet(networkId: string, prefix: string, meta: CommandMetadata): Promise<string> {
    const subnetId = randomUUID();
    await this.append(
      networkId,
      {
        type: 'SubnetCreated',
        data: factSubnet(subnetId, `${prefix}.0/24`, {
          gatewayIp: `${prefix}.1`,
          allocationPools: [{ start: `${prefix}.2`, end: `${prefix}.254` }],
          enableDhcp: false,
        }),
      },
      meta,
    );
    this.subnets.set(subnetId, { networkId, prefix, next: 2 });
    return subnetId;
  }

  async createPort(input: Record<string, unknown>, meta: CommandMetadata): Promise<IpamPortWire> {
    if (this.failCreate) throw this.failCreate;
    const networkId = text(input.network_id);
    const requested = (input.fixed_ips as { subnet_id?: string; ip_address?: string }[] | undefined)?.[0];
    const subnetId = requested?.subnet_id ?? [...this.subnets].find(([, s]) => s.networkId === networkId)?.[0] ?? '';
    const subnet = this.subnets.get(subnetId);
    if (!subnet) throw new NotFoundError('IPAM.SubnetNotFound', `Subnet ${subnetId} could not be found.`);
    const ipAddress = requested?.ip_address ?? `${subnet.prefix}.${subnet.next++}`;
    if ([...this.ports.values()].some((p) => p.fixedIps.some((f) => f.ipAddress === ipAddress && f.subnetId === subnetId))) {
      throw new ConflictError('IPAM.IpAddressAlreadyAllocated', `IP address ${ipAddress} already allocated in subnet ${subnetId}`);
    }
    const port: FakePort = {
      id: randomUUID(),
      networkId,
      projectId: text(input.project_id) || meta.projectId,
      fixedIps: [{ subnetId, ipAddress }],
      deviceOwner: text(input.device_owner),
      deviceId: text(input.device_id),
    };
    const data = factPort(port.id, port.fixedIps, {
      projectId: port.projectId,
      macAddress: 'fa:16:3e:00:00:01',
      deviceOwner: port.deviceOwner,
      deviceId: port.deviceId,
      bindingHostId: '',
    });
    await this.append(networkId, { type: 'PortCreated', data }, meta);
    this.ports.set(port.id, port);
    return this.wire(port);
  }

  async updatePort(id: string, changes: Record<string, unknown>, meta: CommandMetadata): Promise<IpamPortWire> {
    const port = this.ports.get(id);
    if (!port) throw new NotFoundError('IPAM.PortNotFound', `Port ${id} could not be found.`);
    if (typeof changes.device_owner === 'string') port.deviceOwner = changes.device_owner;
    if (typeof changes.device_id === 'string') port.deviceId = changes.device_id;
    await this.append(port.networkId, { type: 'PortUpdated', data: { portId: id, changes: { deviceOwner: port.deviceOwner, deviceId: port.deviceId } } }, meta);
    return this.wire(port);
  }

  async deletePort(id: string, meta: CommandMetadata): Promise<void> {
    if (this.failDelete) throw this.failDelete;
    const port = this.ports.get(id);
    if (!port) throw new NotFoundError('IPAM.PortNotFound', `Port ${id} could not be found.`);
    await this.append(port.networkId, { type: 'PortDeleted', data: { portId: id, fixedIps: port.fixedIps } }, meta);
    this.ports.delete(id);
  }

  private wire(p: FakePort): IpamPortWire {
    return {
      id: p.id,
      network_id: p.networkId,
      mac_address: 'fa:16:3e:00:00:01',
      fixed_ips: p.fixedIps.map((f) => ({ subnet_id: f.subnetId, ip_address: f.ipAddress })),
      device_owner: p.deviceOwner,
      device_id: p.deviceId,
    };
  }
}

/**
 * L3's sagas interrupted (a failing IPAM, an outcome that is not known, a crash between two
 * steps): nothing is freed that something may still hold, and the sweeper finishes the rest
 * once it has stayed orphaned for the grace period, confirmed by the aggregates.
 */
let db: TestDatabase;
let ctx: L3Context;
const ipam = new FakeIpam();
const meta: CommandMetadata = { now: new Date().toISOString(), correlationId: 'c', causationId: null, projectId: 'p', actor: 'tester', isAdmin: false };
const GRACE = 60;
const later = (seconds = GRACE + 1) => new Date(Date.now() + seconds * 1000);
let ext: string;
let tenantSubnet: string;
let workload: IpamPortWire;

beforeAll(async () => {
  const infra = await testInfra();
  db = await createTestDatabase(infra.databaseUrl);
  await deployMigrations('l3', db.url);
  ctx = await L3Context.create(
    l3Config({ DATABASE_URL: db.url, NATS_URL: infra.natsUrl, NATS_PREFIX: uniqueName('l3sw'), LOG_LEVEL: 'silent', ORPHAN_GRACE_SECONDS: String(GRACE) }),
    undefined,
    { ipam },
  );
  ipam.store = ctx.store;
  // The parts the sagas need; no timers, so only the sweeps the test makes run.
  await ctx.store.ensureStream();
  await ctx.projection.start();
  await ctx.portDeleted.start();
  const setup = serviceMeta('test');
  ext = await ipam.network(true, setup);
  await ipam.subnet(ext, '203.0.113', setup);
  const tenant = await ipam.network(false, setup);
  tenantSubnet = await ipam.subnet(tenant, '10.0.0', setup);
  workload = await ipam.createPort({ network_id: tenant, project_id: 'p' }, setup);
});

afterAll(async () => {
  if (ctx) {
    await ctx.portDeleted.stop();
    await ctx.projection.stop();
    await ctx.store.deleteStream();
    await ctx.nc.drain();
    await ctx.prisma.$disconnect();
  }
  await db?.drop();
});

/** Polls an observable condition (an aggregate's state) until it holds. */
async function until(what: string, holds: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await holds())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const attributes = { name: 'r', description: '', adminStateUp: true, ha: false, distributed: false, natExclusions: [] };
const routerPorts = () => [...ipam.ports.values()].filter((p) => p.deviceOwner.startsWith('network:'));

/** Makes the floating IP repository fail a command, once: after appending it (the answer was lost) or before. */
function failNextFloatingIp(type: string, when: 'after' | 'before') {
  const repo = ctx.model.floatingIps;
  const real = repo.execute.bind(repo);
  repo.execute = async (id, command, m) => {
    if (command.type !== type) return real(id, command, m);
    repo.execute = real;
    // what the event store throws when it got no answer to an append (injected)
    const unknown = new UnavailableError(
      'EVENTSTORE.ServiceUnavailable',
      'The event store did not answer; the change may or may not have been stored (injected).',
    );
    if (when === 'before') throw unknown;
    await real(id, command, m);
    throw unknown;
  };
}

describe('L3 sagas and the orphan sweeper', () => {
  it('never frees the address of a floating IP whose creation may have been stored, and the sweeper frees it only if none was', async () => {
    // The answer of the append was lost, but the floating IP was stored: its port must stay.
    failNextFloatingIp('CreateFloatingIp', 'after');
    await expect(ctx.floatingIps.create({ projectId: 'p', floatingNetworkId: ext, description: '' }, meta)).rejects.toThrow(/injected/);
    const kept = [...ipam.ports.values()].filter((p) => p.deviceOwner === 'network:floatingip');
    expect(kept).toHaveLength(1);
    const held = kept[0];
    const fip = (await ctx.model.floatingIps.load(held?.deviceId ?? '')).state;
    expect([fip.exists, fip.floatingPortId]).toEqual([true, held?.id]);
    await ctx.projection.catchUp();
    // The sweeper leaves a port a floating IP holds, however long it waits.
    expect(await ctx.sweeper.sweep(new Date())).toEqual({ ports: 0, floatingIps: 0, haNetworks: 0 });
    expect((await ctx.sweeper.sweep(later())).ports).toBe(0);
    expect(ipam.ports.has(held?.id ?? '')).toBe(true);

    // The append failed before it reached the stream: nothing holds the port, but the
    // request cannot know; the sweeper frees it once the grace period is over.
    failNextFloatingIp('CreateFloatingIp', 'before');
    await expect(ctx.floatingIps.create({ projectId: 'p', floatingNetworkId: ext, description: '' }, meta)).rejects.toThrow(/injected/);
    const orphans = [...ipam.ports.values()].filter((p) => p.deviceOwner === 'network:floatingip' && p.id !== held?.id);
    expect(orphans).toHaveLength(1);
    const orphan = orphans[0];
    await ctx.projection.catchUp();
    const now = new Date();
    expect((await ctx.sweeper.sweep(now)).ports).toBe(0);
    expect((await ctx.sweeper.sweep(new Date(now.getTime() + 10_000))).ports).toBe(0);
    expect((await ctx.sweeper.sweep(new Date(now.getTime() + (GRACE + 1) * 1000))).ports).toBe(1);
    expect(ipam.ports.has(orphan?.id ?? '')).toBe(false);
    expect(ipam.ports.has(held?.id ?? '')).toBe(true);
    // Converged: a sweep later finds nothing.
    await ctx.projection.catchUp();
    expect(await ctx.sweeper.sweep(later(3 * GRACE))).toEqual({ ports: 0, floatingIps: 0, haNetworks: 0 });
  });

  it('makes no router when its gateway step fails, and frees the gateway port of a router it refused', async () => {
    const before = await ctx.prisma.router.count();
    ipam.failCreate = new ConflictError('IPAM.IpAddressAlreadyAllocated', 'IP address 203.0.113.9 already allocated');
    const admin = { ...meta, isAdmin: true }; // only admins choose the gateway's address
    await expect(
      ctx.routers.create(
        { projectId: 'p', attributes, gateway: { networkId: ext, enableSnat: true, externalFixedIps: [{ ipAddress: '203.0.113.9' }] } },
        admin,
      ),
    ).rejects.toThrow(/already allocated/);
    ipam.failCreate = null;
    const gatewayPorts = routerPorts().length;
    // The gateway port exists, then the router refuses (a route through nothing): the port goes.
    await expect(
      ctx.routers.create(
        {
          projectId: 'p',
          attributes,
          gateway: { networkId: ext, enableSnat: true, externalFixedIps: undefined },
          routes: [{ destination: '10.9.0.0/16', nexthop: '192.0.2.1' }],
        },
        meta,
      ),
    ).rejects.toThrow(/not connected/);
    expect(routerPorts().length).toBe(gatewayPorts);
    await ctx.projection.catchUp();
    expect(await ctx.prisma.router.count()).toBe(before);
  });

  it('removes router ports a crash left between the steps of a saga, and gives back a port it had borrowed', async () => {
    const service = asService(serviceMeta('test'));
    const router = await ctx.routers.create({ projectId: 'p', attributes, gateway: { networkId: ext, enableSnat: true, externalFixedIps: undefined } }, meta);
    // L3 died after IPAM made these ports, before any router recorded them.
    const lostGateway = await ipam.createPort({ network_id: ext, project_id: 'p', device_owner: 'network:router_gateway', device_id: router.id }, service);
    const lostInterface = await ipam.createPort(
      { network_id: workload.network_id, project_id: 'p', device_owner: 'network:router_interface', device_id: randomUUID() },
      service,
    );
    // A user's port taken as an interface (by port_id) whose router never recorded it.
    const borrowed = await ipam.createPort({ network_id: workload.network_id, project_id: 'p' }, serviceMeta('someone'));
    await ipam.updatePort(borrowed.id, { device_owner: 'network:router_interface', device_id: router.id }, service);
    await ctx.projection.catchUp();
    const now = new Date();
    expect((await ctx.sweeper.sweep(now)).ports).toBe(0);
    expect((await ctx.sweeper.sweep(new Date(now.getTime() + (GRACE + 1) * 1000))).ports).toBe(3);
    expect([ipam.ports.has(lostGateway.id), ipam.ports.has(lostInterface.id)]).toEqual([false, false]);
    expect(ipam.ports.get(borrowed.id)).toMatchObject({ deviceOwner: '', deviceId: '' });
    // The router's own gateway port stays.
    const gateway = (await ctx.model.routers.load(router.id)).state.gateway?.portId ?? '';
    expect(ipam.ports.has(gateway)).toBe(true);
  });

  it('removes an HA port no router recorded (a placement that crashed or lost), never one an HA router runs on', async () => {
    const service = asService(serviceMeta('test'));
    const router = await ctx.routers.create({ projectId: 'p', attributes: { ...attributes, ha: true } }, meta);
    const haNet = await ipam.network(false, service);
    await ipam.subnet(haNet, '169.254.192', service);
    const recorded = await ipam.createPort({ network_id: haNet, project_id: '', device_owner: HA_PORT_OWNER, device_id: router.id }, service);
    const lost = await ipam.createPort({ network_id: haNet, project_id: '', device_owner: HA_PORT_OWNER, device_id: router.id }, service);
    await ctx.model.routers.execute(
      router.id,
      { type: 'SetHaHosts', id: router.id, vrid: 1, networkId: haNet, hosts: [{ host: 'a1', row: 'row-a', haPortId: recorded.id }], seen: [] },
      service,
    );
    await ctx.projection.catchUp();
    const now = new Date();
    expect((await ctx.sweeper.sweep(now)).ports).toBe(0);
    expect((await ctx.sweeper.sweep(new Date(now.getTime() + (GRACE + 1) * 1000))).ports).toBe(1);
    expect([ipam.ports.has(recorded.id), ipam.ports.has(lost.id)]).toEqual([true, false]);
  });

  it('settles a floating IP whose association a crash interrupted, so the router and the fixed address are free again', async () => {
    const router = await ctx.routers.create({ projectId: 'p', attributes, gateway: { networkId: ext, enableSnat: true, externalFixedIps: undefined } }, meta);
    await ctx.routers.addInterface(router.id, { subnetId: tenantSubnet }, meta);
    const fip = await ctx.floatingIps.create({ projectId: 'p', floatingNetworkId: ext, description: '' }, meta);
    // Claimed and recorded in the router, then the process died before the floating IP's own step.
    const fixedIpAddress = workload.fixed_ips[0]?.ip_address ?? '';
    const service = asService(serviceMeta('test'));
    await ctx.model.registryCommand({ type: 'ClaimFixedIp', portId: workload.id, fixedIpAddress, floatingIpId: fip.id, floatingIpAddress: '' }, service);
    const attach = {
      type: 'AttachFloatingIp',
      id: router.id,
      floatingIpId: fip.id,
      floatingNetworkId: ext,
      portId: workload.id,
      fixedIpAddress,
      subnetId: tenantSubnet,
    } as const;
    await ctx.model.routers.execute(router.id, attach, service);
    await expect(ctx.routers.clearGateway(router.id, meta)).rejects.toThrow(/required by one or more floating IPs/);
    await ctx.projection.catchUp();
    const now = new Date();
    expect((await ctx.sweeper.sweep(now)).floatingIps).toBe(0);
    expect((await ctx.sweeper.sweep(new Date(now.getTime() + (GRACE + 1) * 1000))).floatingIps).toBe(1);
    expect((await ctx.model.registry.load(L3_REGISTRY_ID)).state.claims.has(claimKey(workload.id, fixedIpAddress))).toBe(false);
    expect((await ctx.model.routers.load(router.id)).state.floatingIps.size).toBe(0);
    await ctx.routers.clearGateway(router.id, meta);
  });

  it('lets a floating IP go of a deleted port, also when the reaction is stopped halfway and started again', async () => {
    const router = await ctx.routers.create({ projectId: 'p', attributes, gateway: { networkId: ext, enableSnat: true, externalFixedIps: undefined } }, meta);
    const network = await ipam.network(false, serviceMeta('test'));
    const subnet = await ipam.subnet(network, '10.1.0', serviceMeta('test'));
    await ctx.routers.addInterface(router.id, { subnetId: subnet }, meta);
    const vm = await ipam.createPort({ network_id: network, project_id: 'p' }, serviceMeta('test'));
    const fip = await ctx.floatingIps.create({ projectId: 'p', floatingNetworkId: ext, description: '', portId: vm.id }, meta);
    const fixedIpAddress = vm.fixed_ips[0]?.ip_address ?? '';
    // The reaction stops; the port goes; only the first of its steps happens (then a crash).
    await ctx.portDeleted.stop();
    await ipam.deletePort(vm.id, serviceMeta('test'));
    await ctx.model.floatingIps.execute(fip.id, { type: 'ForgetPort', id: fip.id, portId: vm.id }, serviceMeta('test'));
    expect((await ctx.model.registry.load(L3_REGISTRY_ID)).state.claims.get(claimKey(vm.id, fixedIpAddress))).toBe(fip.id);
    // Started again, it gets the event again and finishes: the claim and the router's record go.
    await ctx.portDeleted.start();
    await until('the router to let the floating IP go', async () => (await ctx.model.routers.load(router.id)).state.floatingIps.size === 0);
    expect((await ctx.model.registry.load(L3_REGISTRY_ID)).state.claims.has(claimKey(vm.id, fixedIpAddress))).toBe(false);
    expect((await ctx.model.floatingIps.load(fip.id)).state).toMatchObject({ portId: null, routerId: null });
    // Once more changes nothing.
    expect(await ctx.floatingIps.forgetPort(vm.id, serviceMeta('test'))).toBe(0);
  });

  it("deletes in IPAM an HA network let go with its project's last HA router when the release's own deletion failed", async () => {
    const service = asService(serviceMeta('test'));
    const haNetwork = await ipam.network(false, serviceMeta('test'));
    const router = randomUUID();
    await ctx.model.haNetworks.execute('q', { type: 'ClaimHaNetwork', networkId: haNetwork }, service);
    await ctx.model.haNetworks.execute('q', { type: 'AllocateVrid', routerId: router }, service);
    // the last HA router goes; IPAM does not answer the deletion
    ipam.failDeleteNetwork = new UnavailableError('IPAM.Unavailable', 'IPAM did not answer (injected)');
    await ctx.haNetworks.release('q', router, service);
    ipam.failDeleteNetwork = null;
    expect((await ctx.model.haNetworks.load('q')).state.networkId).toBeNull();
    await ctx.projection.catchUp();
    expect(await ctx.prisma.releasedHaNetwork.findMany()).toEqual([{ networkId: haNetwork, projectId: 'q' }]);
    expect(await ctx.prisma.ipamNetwork.count({ where: { id: haNetwork } })).toBe(1);

    const now = new Date();
    expect((await ctx.sweeper.sweep(now)).haNetworks).toBe(0);
    expect((await ctx.sweeper.sweep(new Date(now.getTime() + (GRACE + 1) * 1000))).haNetworks).toBe(1);
    await ctx.projection.catchUp();
    expect(await ctx.prisma.ipamNetwork.count({ where: { id: haNetwork } })).toBe(0);
    expect((await ctx.sweeper.sweep(later(3 * GRACE))).haNetworks).toBe(0);
  });
});
