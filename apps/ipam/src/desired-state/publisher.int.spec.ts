import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm, type KV } from '@nats-io/kv';
import { DESIRED_STATE_BUCKET, EventRegistry, Naming, agentEventDefinitions, ipamEventDefinitions, type CommandMetadata } from '@ncp/contracts';
import { AggregateRepository, InMemorySnapshotStore, JetStreamEventStore, connectNats, type NatsConnection } from '@ncp/eventstore';
import { createLogger } from '@ncp/nest-common';
import { testInfra, uniqueName } from '@ncp/testing';
import { mtuPolicy, portRequest, vxlan } from '../domain/__fixtures__/ipam';
import { networkDecider } from '../domain/network.decider';
import { L2_TOPOLOGY_JSON_VERSION } from './l2-topology';
import { DesiredStatePublisher } from './publisher';

/**
 * IPAM's desired-state publisher restarts from a snapshot of its fold: it reads only the
 * events after it, publishes what changed while it was down, ignores a snapshot of another
 * version, and never touches other services' keys.
 */

const meta: CommandMetadata = { now: '2026-01-01T00:00:00Z', correlationId: 'c', causationId: null, projectId: 'p', actor: 'test', isAdmin: true };
const NET = '11111111-0000-4000-8000-00000000000a';
const attributes = { name: 'n', description: '', adminStateUp: true, shared: false, external: false, portSecurityEnabled: true };

/** The info lines a start logs when it has caught up: how many events it read. */
class CaughtUpLog {
  readonly reads: number[] = [];
  readonly logger = createLogger('ipam-test', 'silent');
  constructor() {
    const info = this.logger.info.bind(this.logger);
    this.logger.info = (obj: unknown, msg?: string) => {
      if (msg === 'desired state caught up') this.reads.push((obj as { events: number }).events);
      return info(obj as object, msg);
    };
  }
}

describe('IPAM desired-state publisher: restart from a snapshot', () => {
  let nc: NatsConnection;
  let store: JetStreamEventStore;
  let kv: KV;
  let networks: AggregateRepository<
    ReturnType<typeof networkDecider.initialState>,
    Parameters<typeof networkDecider.decide>[0],
    Parameters<typeof networkDecider.evolve>[1]
  >;
  const naming = new Naming({ prefix: uniqueName() });
  const snapshots = new InMemorySnapshotStore();
  let ports = 0;

  const createPort = async (host: string) => {
    const portId = `22222222-0000-4000-8000-${String(++ports).padStart(12, '0')}`;
    await networks.execute(
      NET,
      {
        type: 'CreatePort',
        id: NET,
        portId,
        projectId: 'p',
        request: { ...portRequest, bindingHostId: host },
        macPrefix: 'fa:16:3e',
        groups: { confirmed: [], defaultSecurityGroupId: 'default-group' },
      },
      meta,
    );
    return portId;
  };
  const registerAgent = async (host: string) => {
    const data = { row: 'row-a', host, roles: ['compute'], tunnelIp: '10.1.0.2', physnets: {}, version: '1', startedAt: meta.now };
    await store.append(
      naming.eventSubject('agent', 'agent', `agent-${host}`),
      store.envelope({ type: 'AgentRegistered', data }, 'agent', `agent-${host}`, meta),
      0,
    );
  };
  const keys = async () => {
    const all: string[] = [];
    for await (const k of await kv.keys()) all.push(k);
    return all.sort();
  };
  const started = async (log: CaughtUpLog) => {
    const p = new DesiredStatePublisher(store, naming, snapshots, log.logger, { snapshotEvery: 1_000_000 });
    await p.start();
    await p.caughtUp;
    return p;
  };

  beforeAll(async () => {
    const infra = await testInfra();
    nc = await connectNats(infra.natsUrl, 'publisher-test');
    store = new JetStreamEventStore(nc, naming, new EventRegistry([...ipamEventDefinitions, ...agentEventDefinitions]));
    await store.ensureStream();
    networks = new AggregateRepository(store, networkDecider);
    kv = await new Kvm(nc).create(naming.bucket(DESIRED_STATE_BUCKET), { history: 1 });
    await networks.execute(NET, { type: 'CreateNetwork', id: NET, projectId: 'p', attributes, segment: vxlan(100), mtuPolicy }, meta);
    await registerAgent('host-a1');
  });

  afterAll(async () => {
    const jsm = await store.jsm();
    await jsm.streams.delete(`KV_${naming.bucket(DESIRED_STATE_BUCKET)}`).catch(() => undefined);
    await store.deleteStream();
    await nc.close();
  });

  it('reads only what came after its snapshot, and publishes what changed while it was down', async () => {
    const first = await createPort('host-a1');
    // another service's key on the same host: IPAM's publisher must leave it alone
    await kv.put('row-a.host-a1.router.r1', '{"router":1}');
    const log = new CaughtUpLog();
    let publisher = await started(log);
    expect(await keys()).toEqual([`row-a.host-a1.l2net.${NET}`, `row-a.host-a1.l2port.${first}`, 'row-a.host-a1.router.r1']);
    const everything = await store.streamLastSequence();
    expect(log.reads).toEqual([everything]);
    await publisher.stop();
    expect(snapshots.saved.get(publisher.snapshotKey)?.sequence).toBe(everything);

    // while it is down: a port moves away, another arrives
    const second = await createPort('host-a1');
    await networks.execute(NET, { type: 'UpdatePort', id: NET, portId: first, changes: { bindingHostId: 'host-b1' } }, meta);
    publisher = await started(log);
    // two events read, not the whole stream
    expect(log.reads).toEqual([everything, 2]);
    expect(await keys()).toEqual([`row-a.host-a1.l2net.${NET}`, `row-a.host-a1.l2port.${second}`, 'row-a.host-a1.router.r1']);
    // and it goes on folding as events come
    await registerAgent('host-b1');
    const third = await createPort('host-b1');
    await expect.poll(keys).toContain(`row-a.host-b1.l2port.${third}`);
    // a port that changes is published again, and its entry leaves the host it moves away from
    const entry = async (key: string) => {
      const e = await kv.get(key);
      return e?.operation === 'PUT' ? e.json<{ adminStateUp: boolean }>().adminStateUp : null;
    };
    await networks.execute(NET, { type: 'UpdatePort', id: NET, portId: third, changes: { adminStateUp: false } }, meta);
    await expect.poll(() => entry(`row-a.host-b1.l2port.${third}`)).toBe(false);
    await networks.execute(NET, { type: 'UpdatePort', id: NET, portId: third, changes: { bindingHostId: 'host-a1' } }, meta);
    await expect.poll(keys).toContain(`row-a.host-a1.l2port.${third}`);
    await expect.poll(keys).not.toContain(`row-a.host-b1.l2port.${third}`);
    expect(await entry(`row-a.host-a1.l2port.${third}`)).toBe(false);
    await publisher.stop();
  });

  it('folds from sequence 1 when the snapshot is of another version', async () => {
    const key = `desired-state.l2.${store.streamName}`;
    const saved = snapshots.saved.get(key);
    if (!saved) throw new Error('no snapshot from the first test');
    snapshots.saved.set(key, { ...saved, version: L2_TOPOLOGY_JSON_VERSION + 1 });
    const log = new CaughtUpLog();
    const before = await keys();
    const publisher = await started(log);
    expect(log.reads).toEqual([await store.streamLastSequence()]);
    expect(await keys()).toEqual(before);
    await publisher.stop();
    expect(snapshots.saved.get(key)?.version).toBe(L2_TOPOLOGY_JSON_VERSION);
  });
});
