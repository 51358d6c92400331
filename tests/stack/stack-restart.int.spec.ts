import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigratedDatabase, freePort, REPO_ROOT, testInfra, uniqueName, type TestDatabase } from '@ncp/testing';
import { NeutronClient } from '../api/client';
import { eventually } from '../support/eventually';

/**
 * `npm run stack` as a developer runs it (scripts/stack.mjs, built services, a fresh database
 * and NATS prefix): a service killed with -9 is restarted alone, and the stack gives up only
 * after --max-restarts restarts in a row that did not stay healthy.
 */
const SERVICES = ['ipam', 'l3', 'dhcp', 'bgp', 'metadata', 'secgroups', 'gateway'] as const;
type Service = (typeof SERVICES)[number];

let database: TestDatabase;
let natsUrl: string;
let prefix: string;
const ports = {} as Record<Service, number>;
let stack: ChildProcess;
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
const lines: string[] = [];
/** Waiters for a line of the stack's output, resolved as lines arrive. */
const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];

const url = (service: Service) => `http://127.0.0.1:${ports[service]}`;
const output = () => lines.slice(-80).join('\n');

/** Resolves with the first line (seen already or to come) matching `pattern`; fails if the stack exits first. */
function line(pattern: RegExp): Promise<string> {
  const seen = lines.find((l) => pattern.test(l));
  if (seen !== undefined) return Promise.resolve(seen);
  return Promise.race([
    new Promise<string>((resolve) => waiters.push({ pattern, resolve })),
    exited.then(({ code, signal }) => {
      throw new Error(`the stack exited (${signal ?? code}) before printing ${pattern}:\n${output()}`);
    }),
  ]);
}

/** The pid that answers a service's /healthz (200), or undefined while nothing healthy answers. */
async function healthyPid(service: Service): Promise<number | undefined> {
  try {
    const res = await fetch(`${url(service)}/healthz`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? ((await res.json()) as { pid: number }).pid : undefined;
  } catch {
    return undefined;
  }
}

async function pidOf(service: Service): Promise<number> {
  const pid = await healthyPid(service);
  if (pid === undefined) throw new Error(`${service} does not answer /healthz:\n${output()}`);
  return pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  const infra = await testInfra();
  natsUrl = infra.natsUrl;
  prefix = uniqueName('t');
  database = await createMigratedDatabase(infra.databaseUrl);
  for (const service of SERVICES) ports[service] = await freePort();
  const portEnv = Object.fromEntries(SERVICES.map((s) => [`${s.toUpperCase()}_PORT`, String(ports[s])]));
  // --stable-seconds 3600: the second kill below comes before IPAM counts as stable, whatever the machine's speed
  const args = [
    '--no-build',
    '--no-migrate',
    '--database-url',
    database.url,
    '--nats-url',
    natsUrl,
    '--nats-prefix',
    prefix,
    '--max-restarts',
    '1',
    '--stable-seconds',
    '3600',
  ];
  stack = spawn(process.execPath, [path.join(REPO_ROOT, 'scripts/stack.mjs'), ...args], {
    env: { ...process.env, ...portEnv, LOG_LEVEL: 'warn', METADATA_PROXY_SHARED_SECRET: 'stack-restart-test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  exited = new Promise((resolve) => stack.once('exit', (code, signal) => resolve({ code, signal })));
  for (const stream of [stack.stdout, stack.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (l) => {
      lines.push(l);
      for (const w of waiters.filter((x) => x.pattern.test(l))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    });
  }
  await line(/the stack is up/);
});

afterAll(async () => {
  if (stack && stack.exitCode === null && stack.signalCode === null) {
    stack.kill('SIGTERM');
    await exited;
  }
  if (database === undefined) return;
  // the stack's event stream and KV buckets (KV_<name>_<prefix>), as tests/tempest/drop-stack-data.mjs
  const nc = await connect({ servers: natsUrl.replace(/^nats:\/\//, '') });
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) names.push(name);
    for (const name of names.filter((n) => n === `EVENTS_${prefix}` || (n.startsWith('KV_') && n.endsWith(`_${prefix}`)))) await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
  await database.drop();
});

describe('npm run stack supervises its services', () => {
  it('restarts a service killed with -9, alone, and gives up after --max-restarts restarts in a row', async () => {
    const pids = {} as Record<Service, number>;
    for (const s of SERVICES) pids[s] = await pidOf(s);
    const first = pids.ipam;

    process.kill(first, 'SIGKILL');
    await line(new RegExp(`ipam exited on its own \\(signal SIGKILL, pid ${first}\\); restarting it in 0\\.5 s`));
    await line(/^stack\s+\| restarting ipam/);
    await eventually(
      'a new IPAM answering /healthz',
      () => healthyPid('ipam'),
      (pid) => pid !== undefined && pid !== first,
      { timeoutMs: 60_000, context: output },
    );
    const second = await pidOf('ipam');
    await line(new RegExp(`ipam is healthy again \\(pid ${second}\\)`));

    // the API writes again, through the gateway, and nothing else was restarted
    const created = await new NeutronClient(url('gateway')).post<{ network: { id: string } }>('/v2.0/networks', { network: { name: 'after-restart' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    for (const s of SERVICES.filter((x) => x !== 'ipam')) expect(await healthyPid(s), s).toBe(pids[s]);

    // a second death before IPAM stayed healthy: with --max-restarts 1 the stack gives up
    process.kill(second, 'SIGKILL');
    await line(new RegExp(`ipam exited on its own \\(signal SIGKILL, pid ${second}\\); giving up`));
    expect(await exited).toEqual({ code: 1, signal: null });
    for (const s of SERVICES.filter((x) => x !== 'ipam')) expect(alive(pids[s]), `${s} still runs`).toBe(false);
  });
});
