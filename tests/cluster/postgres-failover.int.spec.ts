import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsCluster, PostgresPair, REPLICATED_BACKENDS, ReplicatedStack, withPort } from '@ncp/testing';

/**
 * The services' database fails over: a Postgres primary with a streaming standby (both local
 * servers), the services writing to the primary; the standby stops receiving WAL and more is
 * written; the primary dies (immediate stop, as a crashed machine), the standby is promoted
 * and every service is started again against it.
 * Postgres holds only projections, each with its checkpoint in the same transactions as its
 * rows: on the standby each projection is wherever replication had got it, and goes on from
 * there with the events after it in the stream. Nothing acknowledged is lost, no address is
 * given twice, and every projection equals a rebuild from the stream.
 */
describe('Postgres failover: a promoted standby under the services', () => {
  let pair: PostgresPair | undefined;
  let nats: NatsCluster | undefined;
  let stack: ReplicatedStack | undefined;

  beforeAll(async () => {
    pair = await PostgresPair.start();
    nats = await NatsCluster.start(1);
    stack = await ReplicatedStack.start(nats, { replicas: 1, gateways: 1, databaseUrl: pair.primaryUrl, env: { QUOTA_PORT: '-1' } });
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
    await nats?.stop();
    await pair?.stop();
  }, 120_000);

  it('resumes every projection from its checkpoint on the standby and loses nothing', async () => {
    if (!stack || !pair) throw new Error('the stack did not start');
    const s = stack;
    const api = <T>(method: string, path: string, body?: unknown) => s.api<T>(method, path, body);
    const net = await s.networkWithSubnet('pg-failover', '10.70.0.0/16');
    const acked: string[] = [];
    const createPorts = async (n: number, prefix: string) => {
      for (let i = 0; i < n; i++)
        acked.push((await api<{ port: { id: string } }>('POST', '/v2.0/ports', { port: { name: `${prefix}${i}`, network_id: net } })).port.id);
    };
    await createPorts(20, 'before-');
    // the standby falls behind: these ports, their checkpoints with them, are on the primary only
    await pair.detachStandby();
    await createPorts(20, 'unreplicated-');
    const lag = await pair.standbyLagBytes();
    console.log(`postgres failover: the standby was ${lag} bytes of WAL behind when the primary died`);
    expect(lag).toBeGreaterThan(0);

    await pair.killPrimary();
    await pair.promoteStandby();
    s.useDatabase(withPort(s.database.url, pair.standbyPort));
    for (const instance of s.serviceInstances) {
      await s.kill(instance);
      await s.restart(instance);
    }
    await createPorts(20, 'after-');

    const ports = (await api<{ ports: { id: string; fixed_ips: { ip_address: string }[] }[] }>('GET', `/v2.0/ports?network_id=${net}`)).ports;
    const listed = new Set(ports.map((p) => p.id));
    expect(acked.filter((id) => !listed.has(id))).toEqual([]);
    const addresses = ports.flatMap((p) => p.fixed_ips.map((f) => f.ip_address));
    expect(addresses.filter((a, i) => addresses.indexOf(a) !== i)).toEqual([]);
    // every projection has folded the last ports (and the reactions to them) before it is compared with its rebuild
    await s.settle();
    for (const service of REPLICATED_BACKENDS) {
      const before = await s.projectionDump(service);
      await s.rebuild(service);
      expect(ReplicatedStack.projectionDifference(before, await s.projectionDump(service)), `${service} rebuilt`).toEqual({});
    }
  }, 600_000);
});
