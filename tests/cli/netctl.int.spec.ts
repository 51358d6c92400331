import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, TestStack } from '@ncp/testing';
import { NeutronClient, type PortResource, type Resource } from '../api/client';
import { FakeAgent } from '../api/fake-agent';
import { dumpIpamProjection } from '../api/projection-dump';
import { eventually } from '../support/eventually';

const run = promisify(execFile);

/**
 * netctl as an operator runs it (the built command, its human output and --json) against the
 * services as processes and an agent on the bus.
 */
let stack: TestStack;
let api: NeutronClient;
let agent: FakeAgent;
let net: Resource;
let port: PortResource;
const REQUEST_ID = `req-netctl-${Date.now()}`;
const NETCTL = () => path.join(REPO_ROOT, 'apps/cli/dist/main.js');

async function netctl(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [NETCTL(), ...args], {
    env: { ...process.env, NATS_URL: stack.natsUrl, NATS_PREFIX: stack.prefix },
    timeout: 120_000,
  });
  return stdout;
}
const netctlJson = async <T>(...args: string[]): Promise<T> => JSON.parse(await netctl('--json', ...args)) as T;

beforeAll(async () => {
  stack = await TestStack.start({ env: { PLACEMENT_INTERVAL_SECONDS: '1' } });
  api = new NeutronClient(stack.url);
  agent = await FakeAgent.start(stack.natsUrl, stack.prefix, { row: 'row-a', host: 'net-a1', roles: ['network'], physnets: {} });
  net = await api.create('networks', 'network', { name: 'traced' });
  await api.create('subnets', 'subnet', { network_id: net.id, ip_version: 4, cidr: '10.90.0.0/24' });
  const created = await api.call<{ port: PortResource }>(
    'POST',
    '/v2.0/ports',
    { port: { network_id: net.id, name: 'web' } },
    { 'X-Openstack-Request-Id': REQUEST_ID },
  );
  expect(created.status).toBe(201);
  port = created.body.port;
  await agent.report([{ kind: 'port', id: port.id, networkId: net.id, status: 'ERROR', reason: 'no such bridge' }]);
});

afterAll(async () => {
  await agent?.stop();
  await stack?.stop();
});

describe('netctl', () => {
  it('events tail: the latest events of a subject, as a table and as JSON', async () => {
    const text = await netctl('events', 'tail', '--subject', `ev.ipam.network.${net.id}`, '--limit', '5');
    const lines = text.trim().split('\n');
    expect(lines[0]).toMatch(/^SEQ\s+TIME\s+SUBJECT\s+TYPE\s+ACTOR\s+CORRELATION$/);
    const types = lines.map((l) => l.split(/\s+/)[3]);
    // the network's own events, then its ports' (ours and the DHCP server's)
    expect(types.slice(0, 3)).toEqual(['TYPE', 'NetworkCreated', 'SubnetCreated']);
    expect(types).toContain('PortCreated');
    expect((await netctl('events', 'tail', '--subject', `ev.ipam.network.${net.id}`, '--limit', '2')).trim().split('\n')).toHaveLength(3);
    const json = (await netctl('--json', 'events', 'tail', '--type', 'PortCreated', '--limit', '10'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { envelope: { type: string; correlationId: string } });
    // ours (and the DHCP server's once it is placed), each with the correlation of what caused it
    expect(new Set(json.map((e) => e.envelope.type))).toEqual(new Set(['PortCreated']));
    expect(json.map((e) => e.envelope.correlationId)).toContain(REQUEST_ID);
  });

  it('events tail --follow: prints new events as they are appended, until interrupted', async () => {
    const child = spawn(process.execPath, [NETCTL(), 'events', 'tail', '--follow', '--limit', '0', '--subject', 'ev.ipam.network.*'], {
      env: { ...process.env, NATS_URL: stack.natsUrl, NATS_PREFIX: stack.prefix },
    });
    let output = '';
    let errors = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (errors += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await eventually(
        'netctl following',
        async () => errors,
        (e) => e.includes('-- following'),
        { context: () => output },
      );
      const later = await api.create('networks', 'network', { name: 'followed' });
      await eventually(
        'the new event printed',
        async () => output,
        (o) => o.includes(`ev.ipam.network.${later.id}`),
        { context: () => errors },
      );
      expect(output).toMatch(new RegExp(`^\\d+ {2}\\S+ {2}\\S*ev\\.ipam\\.network\\.${later.id} {2}NetworkCreated `, 'm'));
      // --limit 0: nothing of what was there before
      expect(output).not.toContain(net.id);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('events show: who, when, correlation and what each event changed', async () => {
    const text = await netctl('events', 'show', 'network', net.id);
    expect(text).toMatch(new RegExp(`^ipam.network ${net.id}: \\d+ event\\(s\\)`));
    expect(text).toMatch(/#\d+ {2}\S+ {2}PortCreated v\d+ {2}by \S+ {2}correlation req-netctl-/);
    // NetworkCreated brought the network into existence
    expect(text).toMatch(/ {4}exists: false -> true/);
    const ambiguous = await run(process.execPath, [NETCTL(), 'events', 'show', 'registry', 'global'], {
      env: { ...process.env, NATS_URL: stack.natsUrl, NATS_PREFIX: stack.prefix },
    }).then(
      () => '',
      (e: { stderr: string }) => e.stderr,
    );
    expect(ambiguous).toMatch(/ambiguous: say ipam.registry or l3.registry/);
  });

  it('state --at: the aggregate as of a sequence, folded by the service', async () => {
    const history = await netctlJson<{ events: { sequence: number; type: string }[] }>('events', 'show', 'network', net.id);
    const first = history.events[0]?.sequence ?? 0;
    type Shown = { sequence: number; state: Record<string, unknown> };
    const atCreation = await netctlJson<Shown>('state', 'network', net.id, '--at', String(first));
    const now = await netctlJson<Shown>('state', 'network', net.id);
    expect(atCreation.sequence).toBe(first);
    expect(JSON.stringify(atCreation.state)).not.toContain('10.90.0.0/24');
    expect(JSON.stringify(now.state)).toContain('10.90.0.0/24');
    expect(JSON.stringify(now.state)).toContain(port.id);
  });

  it("trace: every event of one request, down to the agent's report on its port", async () => {
    const text = await netctl('trace', REQUEST_ID);
    expect(text).toContain('PortCreated');
    expect(text).toMatch(new RegExp(`\\+\\S+\\s+net-a1\\s+port\\s+${port.id}\\s+ERROR\\s+no such bridge`));
    expect(await netctl('trace', 'req-unknown')).toBe('no event has correlation id req-unknown\n');
  });

  it("projections status: every service's checkpoint and lag", async () => {
    type Status = { streamLastSequence: number; projections: { service: string; name: string; checkpoint: number; lag: number }[] };
    const status = await eventually(
      'no lag',
      () => netctlJson<Status>('projections', 'status'),
      (s) => s.projections.every((p) => p.lag === 0),
    );
    expect(status.projections.map((p) => p.service)).toEqual(expect.arrayContaining(['ipam', 'l3', 'dhcp', 'bgp', 'metadata']));
    expect(Math.max(...status.projections.map((p) => p.checkpoint))).toBeLessThanOrEqual(status.streamLastSequence);
  });

  it('projections rebuild: progress, and a rebuilt IPAM projection equal to the live one', async () => {
    const live = await dumpIpamProjection(stack.database.url);
    expect(live.ports?.length).toBeGreaterThan(0);
    const text = await netctl('projections', 'rebuild', 'ipam');
    expect(text).toMatch(/^\[#+\] 100% {2}[\d,]+\/[\d,]+ events/m);
    expect(text).toMatch(/^rebuilt ipam \(ipam, ipam-agents, ipam-quotas\): [\d,]+ events in \S+, [\d,]+ ev\/s$/m);
    expect(await dumpIpamProjection(stack.database.url)).toEqual(live);
  });

  it('replay --to/--into and diff: the IPAM projection before the port was created, against the live one', async () => {
    const history = await netctlJson<{ events: { sequence: number; type: string; data: { portId?: string } }[] }>('events', 'show', 'network', net.id);
    const ours = history.events.find((e) => e.type === 'PortCreated' && e.data.portId === port.id);
    const before = (ours?.sequence ?? 1) - 1;
    const replayed = await netctl('replay', 'ipam', '--to', String(before), '--into', 'replay_before_port');
    expect(replayed).toMatch(new RegExp(`^ipam as of #${before} is in schema replay_before_port`));
    const diffs = await netctlJson<{ table: string; onlyLive: string[]; onlyReplayed: string[] }[]>(
      'diff',
      'ipam',
      'replay_before_port',
      '--database-url',
      stack.database.url,
    );
    const ports = diffs.find((d) => d.table === 'ports');
    expect(ports?.onlyLive.some((r) => r.includes(port.id))).toBe(true);
    expect(ports?.onlyReplayed).toEqual([]);
    // our network was there before the port: the same row in both
    expect(diffs.find((d) => d.table === 'networks')?.onlyLive.some((r) => r.includes(net.id))).toBe(false);
    // replayed to the end, it is the live projection again
    const last = (await netctlJson<{ streamLastSequence: number }>('projections', 'status')).streamLastSequence;
    await netctl('replay', 'ipam', '--to', String(last), '--into', 'replay_now');
    expect(await netctl('diff', 'ipam', 'replay_now', '--database-url', stack.database.url)).toContain('no difference: ipam equals replay_now');
    const refused = await run(process.execPath, [NETCTL(), 'replay', 'ipam', '--to', '1', '--into', 'ipam'], {
      env: { ...process.env, NATS_URL: stack.natsUrl, NATS_PREFIX: stack.prefix },
    }).then(
      () => '',
      (e: { stderr: string }) => e.stderr,
    );
    expect(refused).toMatch(/--into takes a schema named replay_/);
  });

  it('agents: row, host, roles, alive, last reconcile and errors', async () => {
    type Row = { row: string; host: string; roles: string[]; alive: boolean; errors: { kind: string; id: string; reason: string }[] };
    const rows = await netctlJson<Row[]>('agents');
    expect(rows).toEqual([
      expect.objectContaining({
        row: 'row-a',
        host: 'net-a1',
        roles: ['network'],
        alive: true,
        errors: [{ kind: 'port', id: port.id, reason: 'no such bridge' }],
      }),
    ]);
    expect(await netctl('agents')).toMatch(/^row-a\s+net-a1\s+network\s+yes\s+\d+s ago/m);
  });

  it('dataplane: the desired-state keys of a host', async () => {
    type Entry = { key: string; value: { networkId?: string } };
    const entries = await eventually(
      'the DHCP intent',
      () => netctlJson<Entry[]>('dataplane', 'row-a', 'net-a1', '--kind', 'dhcp'),
      (e) => e.length > 0,
    );
    expect(entries.map((e) => e.key)).toEqual([`row-a.net-a1.dhcp.${net.id}`]);
    expect(entries[0]?.value.networkId).toBe(net.id);
    expect(await netctl('dataplane', 'row-z', 'nobody')).toBe('no desired state for row-z.nobody\n');
  });
});
