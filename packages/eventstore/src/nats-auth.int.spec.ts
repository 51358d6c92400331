import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { PermissionViolationError } from '@nats-io/nats-core';
import { freePort } from '@ncp/testing';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_AGGREGATE,
  AGENT_CONTEXT,
  AGENT_HEARTBEAT_BUCKET,
  DESIRED_STATE_BUCKET,
  EventRegistry,
  Naming,
  agentEventDefinitions,
  agentIdOf,
  defineEvent,
  type AgentEvent,
  type CommandMetadata,
  type Decider,
} from '@ncp/contracts';
import {
  AggregateRepository,
  COMPOSE_NATS_AUTHORIZATION,
  CommandClient,
  CommandResponder,
  HeartbeatWatcher,
  JetStreamEventStore,
  KvCommandReplies,
  ReactionRunner,
  agentNatsUser,
  natsInboxPrefix,
  connectNats,
  watchedKeys,
  natsUsers,
  type NatsConnection,
  type NatsCredentials,
} from './index';

/**
 * The checked-in infra/nats/auth.conf, loaded by a nats-server of our own (a free port, a
 * scratch JetStream directory): what each user may do, and that an agent's credentials cannot
 * write another service's events nor read another host's desired state.
 */
const AUTH_CONF = path.resolve(__dirname, '../../../infra/nats/auth.conf');

function natsServerBinary(): string | null {
  const candidates = [process.env.NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];
  for (const c of candidates) {
    if (!c) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return null;
}

const binary = natsServerBinary();
if (binary === null && process.env.CI === 'true') {
  throw new Error('the NATS authorization tests need a nats-server binary (NATS_SERVER_BIN or /usr/sbin/nats-server; CI=true, no skipping)');
}

/** Starts nats-server; resolves once it says it is ready, rejects if it exits first. */
function startServer(bin: string, config: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; log: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['--config', config], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Server is ready')) resolve({ child, log: () => output });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`nats-server exited with ${code}: ${output}`)));
  });
}

/** A one-event aggregate in any context: what the permissions look at is the subject. */
const Probed = defineEvent('Probed', z.object({ n: z.number().int() }));
type ProbeEvent = { type: 'Probed'; data: { n: number } };
const registry = new EventRegistry([Probed]);
const probe = (context: string): Decider<null, { n: number }, ProbeEvent> => ({
  context,
  aggregate: 'probe',
  initialState: () => null,
  evolve: (s) => s,
  decide: (c) => [{ type: 'Probed', data: { n: c.n } }],
});

const meta: CommandMetadata = { now: '2026-01-01T00:00:00Z', correlationId: 'c1', causationId: null, projectId: '', actor: 'test', isAdmin: true };

const registered = (row: string, host: string): AgentEvent => ({
  type: 'AgentRegistered',
  data: { row, host, roles: ['network'], tunnelIp: '10.0.0.1', physnets: {}, version: 't', startedAt: meta.now },
});

describe.skipIf(binary === null)('NATS users and permissions (infra/nats/auth.conf)', () => {
  const naming = new Naming({ prefix: COMPOSE_NATS_AUTHORIZATION.prefix });
  const passwords = new Map(natsUsers(COMPOSE_NATS_AUTHORIZATION).map((u) => [u.user, `pw${randomBytes(12).toString('hex')}`]));
  const dir = mkdtempSync(path.join(tmpdir(), 'ncp-nats-auth-'));
  const connections: NatsConnection[] = [];
  const violations = new Map<NatsConnection, string[]>();
  let server: { child: ChildProcess; log: () => string };
  let url: string;

  const as = async (user: string, password = passwords.get(user)): Promise<NatsConnection> => {
    const credentials: NatsCredentials = { user, password };
    const nc = await connectNats(url, `test-${user}`, credentials);
    connections.push(nc);
    const errors: string[] = [];
    violations.set(nc, errors);
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'error') errors.push(String(s.error));
    })();
    return nc;
  };
  /** What the server refused this connection so far (reported asynchronously). */
  const refusals = async (nc: NatsConnection): Promise<string[]> => {
    // a round trip: every error the server sent before the PONG has been read
    await nc.flush();
    return violations.get(nc) ?? [];
  };
  const agentA = agentNatsUser('row-a', 'net-a1');
  const agentB = agentNatsUser('row-b', 'cmp-b1');

  beforeAll(async () => {
    const port = await freePort();
    url = `nats://127.0.0.1:${port}`;
    copyFileSync(AUTH_CONF, path.join(dir, 'auth.conf'));
    const config = path.join(dir, 'nats.conf');
    writeFileSync(
      config,
      [
        `port: ${port}`,
        'host: 127.0.0.1',
        'max_payload: 8MB',
        `jetstream { store_dir: ${JSON.stringify(path.join(dir, 'js'))} }`,
        'include ./auth.conf',
        '',
      ].join('\n'),
    );
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    for (const u of natsUsers(COMPOSE_NATS_AUTHORIZATION)) env[u.passwordEnv] = passwords.get(u.user);
    if (binary === null) throw new Error('unreachable: the suite is skipped without nats-server');
    server = await startServer(binary, config, env);
  });

  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close()));
    if (server?.child.exitCode === null) {
      const exited = new Promise((resolve) => server.child.once('exit', resolve));
      server.child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a wrong password and an unknown user', async () => {
    await expect(connectNats(url, 'wrong', { user: 'ipam', password: 'not-it' })).rejects.toThrow(/Authorization/i);
    await expect(connectNats(url, 'nobody', { user: 'nobody', password: 'x' })).rejects.toThrow(/Authorization/i);
    await expect(connectNats(url, 'anonymous')).rejects.toThrow(/Authorization/i);
  });

  it('lets a service create the stream, append and consume its events, publish desired state and serve its commands', async () => {
    const nc = await as('ipam');
    const store = new JetStreamEventStore(nc, naming, registry);
    await store.ensureStream();
    // a second call updates the existing stream
    await store.ensureStream();
    const repo = new AggregateRepository(store, probe('ipam'));
    const first = await repo.execute('p1', { n: 1 }, meta);
    const second = await repo.execute('p1', { n: 2 }, meta);
    expect(second.sequence).toBeGreaterThan(first.sequence);
    const read: number[] = [];
    for await (const e of store.read(naming.eventSubject('ipam', 'probe', 'p1'), 1)) read.push((e.envelope.data as { n: number }).n);
    expect(read).toEqual([1, 2]);

    // a durable consumer, each message acknowledged: a reaction, as every service runs them
    const seen: number[] = [];
    let done!: () => void;
    const allSeen = new Promise<void>((resolve) => (done = resolve));
    const reaction = new ReactionRunner(store, {
      name: 'auth_probe',
      filter: naming.eventsOfContext('ipam'),
      handle: async (e) => {
        seen.push(e.sequence);
        if (seen.length === 2) done();
      },
    });
    await reaction.start();
    await allSeen;
    await reaction.stop();
    expect(seen).toEqual([first.sequence, second.sequence]);

    // desired state for an agent, and the heartbeats the services watch
    const desired = await new Kvm(nc).create(naming.bucket(DESIRED_STATE_BUCKET), { history: 1 });
    await desired.put('row-a.net-a1.router.r1', '{"a":1}');
    await desired.put('row-b.cmp-b1.l2port.p1', '{"b":1}');
    const heartbeats = new HeartbeatWatcher(nc, naming, 30);
    await heartbeats.start();
    heartbeats.stop();
    // asking an agent to resync
    nc.publish(naming.agentControlSubject('row-a', 'net-a1', 'resync'));

    // L3 asks IPAM over request/reply; IPAM answers on L3's own inbox, and keeps the reply for retries
    const responder = new CommandResponder(nc, naming, 'ipam', { echo: async (input) => input }, console, () => KvCommandReplies.open(nc, naming, 'ipam', 1));
    await responder.start();
    await nc.flush();
    const l3 = await as('l3');
    await expect(new CommandClient(l3, naming, 'ipam', 'IPAM', 5000).request('echo', { x: 1 }, meta)).resolves.toEqual({ x: 1 });
    await responder.stop();
    expect(await refusals(nc)).toEqual([]);
    expect(await refusals(l3)).toEqual([]);
  });

  it("refuses a service another service's events", async () => {
    const nc = await as('dhcp');
    const store = new JetStreamEventStore(nc, naming, registry, { publishAttempts: 1 });
    await expect(new AggregateRepository(store, probe('ipam')).execute('p2', { n: 1 }, meta)).rejects.toThrow();
    await expect(new AggregateRepository(store, probe('dhcp')).execute('p2', { n: 1 }, meta)).resolves.toMatchObject({
      event: { subject: 'ev.dhcp.probe.p2' },
    });
  });

  it('lets an agent register, beat and watch its own desired state', async () => {
    const nc = await as(agentA);
    const store = new JetStreamEventStore(nc, naming, new EventRegistry(agentEventDefinitions));
    const id = agentIdOf('row-a', 'net-a1');
    const subject = naming.eventSubject(AGENT_CONTEXT, AGENT_AGGREGATE, id);
    // as HostAgent.record: on its own subject, after its own last event, read back by nobody
    const record = () => store.appendUnread(subject, store.envelope(registered('row-a', 'net-a1'), AGENT_AGGREGATE, id, meta));
    const r1 = await record();
    const r2 = await record();
    expect(r2.sequence).toBeGreaterThan(r1.sequence);

    const kvm = new Kvm(nc);
    const heartbeats = await kvm.create(naming.bucket(AGENT_HEARTBEAT_BUCKET), { history: 1 });
    await heartbeats.put('row-a.net-a1', JSON.stringify({ agentId: id, at: meta.now }));

    const desired = await kvm.create(naming.bucket(DESIRED_STATE_BUCKET), { history: 1 });
    const keys: string[] = [];
    for await (const k of await desired.keys('row-a.net-a1.>')) keys.push(k);
    expect(keys).toEqual(['row-a.net-a1.router.r1']);
    // what the agent lists before its watch, from the stream's info
    expect(await watchedKeys(await jetstreamManager(nc), naming.bucket(DESIRED_STATE_BUCKET), 'row-a.net-a1.>')).toEqual(new Set(['row-a.net-a1.router.r1']));
    const watcher = await desired.watch({ key: 'row-a.net-a1.>' });
    for await (const entry of watcher) {
      expect(entry.key).toBe('row-a.net-a1.router.r1');
      expect(entry.string()).toBe('{"a":1}');
      break;
    }
    watcher.stop();
    // the resync the services send
    const control = nc.subscribe(naming.agentControlSubject('row-a', 'net-a1', 'resync'), { max: 1 });
    await nc.flush();
    const ipam = await as('ipam');
    ipam.publish(naming.agentControlSubject('row-a', 'net-a1', 'resync'));
    for await (const m of control) expect(m.subject).toBe('agentctl.row-a.net-a1.resync');
    expect(await refusals(nc)).toEqual([]);
  });

  it("refuses an agent another service's events, another agent's aggregate and another host's keys", async () => {
    const nc = await as(agentA);
    const refused = (e: unknown) => e instanceof PermissionViolationError || (e instanceof Error && e.cause instanceof PermissionViolationError);
    // IPAM's events, through the event store's API and as a raw publish
    const store = new JetStreamEventStore(nc, naming, registry, { publishAttempts: 1 });
    await expect(new AggregateRepository(store, probe('ipam')).execute('p3', { n: 1 }, meta)).rejects.toSatisfy(refused);
    const js = jetstream(nc);
    await expect(js.publish(naming.eventSubject('ipam', 'network', 'n1'), '{}')).rejects.toSatisfy(refused);
    await expect(js.publish(naming.eventSubject('l3', 'router', 'r1'), '{}')).rejects.toSatisfy(refused);
    // another agent's aggregate
    const agentStore = new JetStreamEventStore(nc, naming, new EventRegistry(agentEventDefinitions), { publishAttempts: 1 });
    const other = agentIdOf('row-b', 'cmp-b1');
    const otherEvent = agentStore.envelope(registered('row-b', 'cmp-b1'), AGENT_AGGREGATE, other, meta);
    await expect(agentStore.appendUnread(naming.eventSubject(AGENT_CONTEXT, AGENT_AGGREGATE, other), otherEvent)).rejects.toSatisfy(refused);
    await expect(agentStore.append(naming.eventSubject(AGENT_CONTEXT, AGENT_AGGREGATE, other), otherEvent, 0)).rejects.toSatisfy(refused);
    // reading the stream: another subject's last event, any event by sequence, a consumer
    await expect(agentStore.lastSequence(naming.eventSubject('ipam', 'probe', 'p1'))).rejects.toSatisfy(refused);
    const jsmA = await jetstreamManager(nc);
    await expect(jsmA.direct.getMessage(naming.eventStream, { last_by_subj: naming.eventSubject('ipam', 'probe', 'p1') })).rejects.toSatisfy(refused);
    await expect(jsmA.direct.getMessage(naming.eventStream, { seq: 1 })).rejects.toSatisfy(refused);
    await expect(jsmA.streams.getMessage(naming.eventStream, { seq: 1 })).rejects.toSatisfy(refused);
    await expect(async () => {
      for await (const _e of agentStore.read(naming.eventSubject(AGENT_CONTEXT, AGENT_AGGREGATE, agentIdOf('row-a', 'net-a1')), 1, 1)) break;
    }).rejects.toSatisfy(refused);
    // another host's heartbeat, desired state of any host
    const kvm = new Kvm(nc);
    const heartbeats = await kvm.open(naming.bucket(AGENT_HEARTBEAT_BUCKET));
    await expect(heartbeats.put('row-b.cmp-b1', '{}')).rejects.toSatisfy(refused);
    const desired = await kvm.open(naming.bucket(DESIRED_STATE_BUCKET));
    await expect(desired.put('row-a.net-a1.router.r2', '{}')).rejects.toSatisfy(refused);
    // reading another host's (or every host's) desired state
    await expect(desired.watch({ key: 'row-b.cmp-b1.>' })).rejects.toSatisfy(refused);
    await expect(desired.watch()).rejects.toSatisfy(refused);
    await expect(desired.keys('row-b.>')).rejects.toSatisfy(refused);
    await expect(desired.get('row-b.cmp-b1.l2port.p1')).rejects.toSatisfy(refused);
    // stream administration, other consumers, acknowledgements
    const jsm = await jetstreamManager(nc);
    await expect(jsm.streams.delete(naming.eventStream)).rejects.toSatisfy(refused);
    await expect(jsm.streams.update(naming.eventStream, { subjects: ['ev.>', 'cmd.>'] })).rejects.toSatisfy(refused);
    await expect(jsm.consumers.delete(naming.eventStream, naming.consumerName('react_auth_probe'))).rejects.toSatisfy(refused);
    // nor another's replies or commands
    for (const subject of ['_INBOX.>', `${natsInboxPrefix(agentB)}.>`, 'cmd.ipam.*', 'agentctl.row-b.cmp-b1.resync', '>']) {
      const sub = nc.subscribe(subject);
      await expect(sub.closed).resolves.toSatisfy(refused);
    }
  });
});
