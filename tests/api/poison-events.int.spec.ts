import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { REPO_ROOT, TestStack } from '@ncp/testing';
import { NeutronClient, type Resource } from './client';
import { eventually } from '../support/eventually';

const run = promisify(execFile);

/**
 * Events that no projection can apply, appended straight to the stream (past the API and its
 * validation, as a bug or an old release could have left them): a NUL in a text column, an
 * integer out of range, a payload that is not JSON. Every service's projection parks its own
 * poison, keeps up with the good events that follow (writes through the API answer at once),
 * and says so: netctl, /healthz (degraded, still 200) and /metrics.
 */

interface ParkedEvent {
  readonly projection: string;
  readonly sequence: number;
  readonly type: string;
  readonly error: string;
}
interface Status {
  readonly name: string;
  readonly checkpoint: number;
  readonly pending: number;
  readonly parked: number;
}

const SERVICES = ['ipam', 'l3', 'dhcp', 'bgp', 'metadata'] as const;
type Service = (typeof SERVICES)[number];

let stack: TestStack;
let api: NeutronClient;
let nc: NatsConnection;
let jsm: JetStreamManager;
/** The stream sequence of each service's own poison events. */
const poison: Record<Service, number[]> = { ipam: [], l3: [], dhcp: [], bgp: [], metadata: [] };

async function netctl<T>(...args: string[]): Promise<T> {
  const { stdout } = await run(process.execPath, [path.join(REPO_ROOT, 'apps/cli/dist/main.js'), '--json', ...args], {
    env: { ...process.env, NATS_URL: stack.natsUrl, NATS_PREFIX: stack.prefix },
    timeout: 60_000,
  });
  return JSON.parse(stdout) as T;
}

const stream = () => `EVENTS_${stack.prefix}`;

/** The envelope of the last event on a subject, as stored. */
async function lastEnvelope(subject: string): Promise<{ subject: string; envelope: Record<string, unknown> & { data: Record<string, unknown> } }> {
  const m = await jsm.streams.getMessage(stream(), { last_by_subj: subject });
  if (!m) throw new Error(`no event on ${subject}`);
  return { subject: m.subject, envelope: m.json() };
}

/** Appends a copy of a real creation event under a new aggregate id, with `data` changed: valid JSON of the right shape, poison inside. */
async function appendCopy(subject: string, changes: Record<string, unknown>): Promise<number> {
  const { subject: original, envelope } = await lastEnvelope(subject);
  const id = randomUUID();
  const copy = { ...envelope, id: randomUUID(), aggregateId: id, data: { ...envelope.data, ...changes } };
  return (await jetstream(nc).publish(original.replace(/[^.]+$/, id), JSON.stringify(copy))).seq;
}

const envelope = (type: string, aggregate: string, aggregateId: string, data: unknown) => ({
  id: randomUUID(),
  type,
  schemaVersion: 1,
  aggregate,
  aggregateId,
  occurredAt: new Date().toISOString(),
  correlationId: 'poison-test',
  causationId: null,
  projectId: 'p',
  actor: 'poison-test',
  data,
});

const subjectOf = (context: string, aggregate: string, id: string) => `${stack.prefix}.ev.${context}.${aggregate}.${id}`;

beforeAll(async () => {
  stack = await TestStack.start();
  api = new NeutronClient(stack.url);
  nc = await connect({ servers: stack.natsUrl.replace(/^nats:\/\//, '') });
  jsm = await jetstreamManager(nc);
  // One real resource per service: its creation event is the shape the poison copies.
  const net = await api.create('networks', 'network', { name: 'real' });
  const pool = await api.create('subnetpools', 'subnetpool', { name: 'real', prefixes: ['10.200.0.0/16'], default_prefixlen: 24 });
  const router = await api.create('routers', 'router', { name: 'real' });
  const peer = await api.create('bgp-peers', 'bgp_peer', { name: 'real', peer_ip: '10.255.0.1', remote_as: 65001 });
  const instance = await api.create('instances', 'instance', { name: 'real' });

  const js = jetstream(nc);
  poison.ipam.push(await appendCopy(subjectOf('ipam', 'network', net.id), { name: 'nul\u0000network' }));
  poison.ipam.push(await appendCopy(subjectOf('ipam', 'subnet_pool', pool.id), { defaultQuota: 2 ** 31 }));
  // not JSON at all: every projection of IPAM's networks (IPAM, L3, DHCP, BGP, metadata) parks it
  const garbage = (await js.publish(subjectOf('ipam', 'network', randomUUID()), 'not json')).seq;
  poison.ipam.push(garbage);
  poison.l3.push(await appendCopy(subjectOf('l3', 'router', router.id), { name: 'nul\u0000router' }), garbage);
  poison.dhcp.push(
    (
      await js.publish(
        subjectOf('dhcp', 'server', net.id),
        JSON.stringify(envelope('DhcpServerScheduled', 'server', net.id, { host: 'net\u0000a1', row: 'row-a', pinned: false })),
      )
    ).seq,
    garbage,
  );
  poison.bgp.push(await appendCopy(subjectOf('bgp', 'peer', peer.id), { name: 'nul\u0000peer' }), garbage);
  poison.metadata.push(await appendCopy(subjectOf('meta', 'instance', instance.id), { name: 'nul\u0000instance' }), garbage);
}, 180_000);

afterAll(async () => {
  await nc?.close();
  await stack?.stop();
});

describe('poison events appended straight to the stream', () => {
  it('every service goes on: writes after them answer 201 and read back', async () => {
    const created: [string, string, Resource][] = [
      ['networks', 'network', await api.create('networks', 'network', { name: 'after' })],
      [
        'subnetpools',
        'subnetpool',
        await api.create('subnetpools', 'subnetpool', { name: 'after', prefixes: ['10.201.0.0/16'], default_prefixlen: 24, default_quota: 4 }),
      ],
      ['routers', 'router', await api.create('routers', 'router', { name: 'after' })],
      ['bgp-peers', 'bgp_peer', await api.create('bgp-peers', 'bgp_peer', { name: 'after', peer_ip: '10.255.0.2', remote_as: 65002 })],
      ['instances', 'instance', await api.create('instances', 'instance', { name: 'after' })],
    ];
    for (const [collection, singular, r] of created) {
      const got = await api.get<Record<string, Resource>>(`/v2.0/${collection}/${r.id}`);
      expect(got.status).toBe(200);
      expect(got.body[singular]?.name).toBe('after');
    }
  });

  it('each projection parks its own poison, is caught up with the stream, and netctl lists them', async () => {
    const last = (await jsm.streams.info(stream())).state.last_seq;
    // every projection has applied what the stream holds (their consumers' counts settle a moment after)
    const status = await eventually(
      'every projection caught up',
      () => netctl<{ projections: (Status & { service: string })[] }>('projections', 'status'),
      (s) => s.projections.every((p) => p.pending === 0),
      { timeoutMs: 60_000 },
    );
    for (const service of SERVICES) {
      const mine = status.projections.filter((p) => p.service === service);
      expect(mine.length, service).toBeGreaterThan(0);
      for (const p of mine) expect(p.pending, `${service}/${p.name}`).toBe(0);
      // past their poison; the others read the whole stream (IPAM's only its own and the agents' events)
      expect(Math.max(...mine.map((p) => p.checkpoint)), service).toBeGreaterThanOrEqual(Math.max(...poison[service]));
      if (service !== 'ipam') expect(Math.max(...mine.map((p) => p.checkpoint)), service).toBe(last);
      const { parked } = await netctl<{ parked: ParkedEvent[] }>('projections', 'parked', service);
      const sequences = parked.map((p) => p.sequence);
      for (const s of poison[service]) expect(sequences, `${service} parked`).toContain(s);
      expect(mine.reduce((n, p) => n + p.parked, 0)).toBe(parked.length);
      expect(parked.find((p) => p.sequence === poison[service][0])?.error).toMatch(/SQLSTATE 22/);
      expect(parked.find((p) => p.sequence === poison.ipam[2])?.error).toMatch(/SyntaxError/);
    }
  });

  it('/healthz says degraded with the count but answers 200; /metrics has a gauge per projection', async () => {
    const urls: Record<Service, string> = { ipam: stack.ipamUrl, l3: stack.l3Url, dhcp: stack.dhcpUrl, bgp: stack.bgpUrl, metadata: stack.metadataUrl };
    for (const service of SERVICES) {
      const res = await fetch(`${urls[service]}/healthz`);
      expect(res.status, service).toBe(200);
      const body = (await res.json()) as { status: string; checks: Record<string, string> };
      expect(body.status, service).toBe('degraded');
      expect(body.checks.projection).toMatch(/^degraded: .* has \d+ parked events?/);
      const metrics = await (await fetch(`${urls[service]}/metrics`)).text();
      const parked = [...metrics.matchAll(/^projection_parked_events\{[^}]*projection="([^"]+)"[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[2]), 0);
      expect(parked, service).toBeGreaterThanOrEqual(poison[service].length);
    }
    const gateway = await fetch(`${stack.url}/healthz`);
    expect(gateway.status).toBe(200);
    expect(((await gateway.json()) as { status: string }).status).toBe('degraded');
  });
});
