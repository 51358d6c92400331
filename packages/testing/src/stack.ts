import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Client as PgClient } from 'pg';
import { Child, OutputTail, describeExit, httpHealth } from '@ncp/supervisor';
import { createTestDatabase, testInfra, uniqueName, type TestDatabase } from './infra';
import { removeNetnsWithProcesses } from './netns';

const execFileAsync = promisify(execFile);

/** The repository root, found from this file (src/ or dist/ of packages/testing). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** The services behind the gateway. */
const BACKENDS = ['ipam', 'l3', 'dhcp', 'bgp', 'metadata', 'secgroups'] as const;
type Backend = (typeof BACKENDS)[number];
type ServiceName = Backend | 'gateway';

/** The metadata proxies' shared secret in a test stack (the services and agents it starts get it). */
export const TEST_METADATA_SECRET = 'test-metadata-shared-secret';

/** Kills the BIRD of every BGP speaker under an agent's state directory (`bgp/<id>/pid`). */
async function killBirds(stateDir: string): Promise<void> {
  const dirs = await readdir(path.join(stateDir, 'bgp')).catch(() => [] as string[]);
  for (const dir of dirs) {
    const pid = Number((await readFile(path.join(stateDir, 'bgp', dir, 'pid'), 'utf8').catch(() => '')).trim());
    const cmdline = pid > 0 ? await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '') : '';
    if (cmdline.split('\0')[0] === 'bird') process.kill(pid, 'SIGKILL');
  }
}

/**
 * Kills the metadata proxy of every router/DHCP namespace under an agent's state directory
 * (`metadata/<id>/pid`, a node process running proxy-main.js with that pid file). They die with
 * their namespaces in stop(), unless a namespace was deleted while its proxy still ran.
 */
async function killMetadataProxies(stateDir: string): Promise<void> {
  const dirs = await readdir(path.join(stateDir, 'metadata')).catch(() => [] as string[]);
  for (const dir of dirs) {
    const pidFile = path.join(stateDir, 'metadata', dir, 'pid');
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    const argv = pid > 0 ? (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0') : [];
    if (path.basename(argv[1] ?? '') !== 'proxy-main.js' || !argv.includes(`--pid-file=${pidFile}`)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/** Applies a service's migrations to a database with the built ncp-migrate (as deployments do). */
export async function deployMigrations(service: Backend, databaseUrl: string): Promise<void> {
  await execFileAsync(process.execPath, [
    path.join(REPO_ROOT, 'packages/prisma-migrate/dist/cli.js'),
    'deploy',
    '--schema',
    path.join(REPO_ROOT, `apps/${service}/prisma/schema.prisma`),
    '--db-schema',
    service,
    '--url',
    databaseUrl,
  ]);
}

export const deployIpamMigrations = (databaseUrl: string) => deployMigrations('ipam', databaseUrl);

/** What the migrated template is made of: every service's migrations, and the tool that applies them. */
async function migrationsDigest(): Promise<string> {
  const hash = createHash('sha256');
  const add = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) await add(file);
      else
        hash
          .update(path.relative(REPO_ROOT, file))
          .update('\0')
          .update(await readFile(file))
          .update('\0');
    }
  };
  for (const service of BACKENDS) await add(path.join(REPO_ROOT, `apps/${service}/prisma/migrations`));
  await add(path.join(REPO_ROOT, 'packages/prisma-migrate/dist'));
  return hash.digest('hex').slice(0, 16);
}

/**
 * A fresh database with every service's migrations applied. Applying them takes six processes
 * and seconds per stack, so they are applied once, to a template database named by their
 * digest, and each stack gets a copy (CREATE DATABASE ... TEMPLATE, a file copy). The template
 * is built under another name and renamed when complete, under an advisory lock, so concurrent
 * test processes build it once and nobody copies a half-migrated one.
 */
export async function createMigratedDatabase(baseUrl: string): Promise<TestDatabase> {
  const template = `ncp_template_${await migrationsDigest()}`;
  const admin = new PgClient({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock(hashtext($1))', [template]);
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    if (exists.rowCount === 0) {
      const building = await createTestDatabase(baseUrl, `${template}_building_`);
      try {
        for (const service of BACKENDS) await deployMigrations(service, building.url);
        await admin.query(`ALTER DATABASE "${building.name}" RENAME TO "${template}"`);
      } catch (e) {
        await building.drop();
        throw e;
      }
    }
    await admin.query('SELECT pg_advisory_unlock(hashtext($1))', [template]);
  } finally {
    await admin.end();
  }
  return createTestDatabase(baseUrl, 'ncp_test_', template);
}

/**
 * The SQL a service's migrations lack to match its schema.prisma, '' when they match: what
 * `ncp-migrate check` (built) prints, so CI fails on drift.
 */
export async function migrationDrift(service: Backend, databaseUrl: string): Promise<string> {
  const cli = path.join(REPO_ROOT, 'packages/prisma-migrate/dist/cli.js');
  const schema = path.join(REPO_ROOT, `apps/${service}/prisma/schema.prisma`);
  try {
    await execFileAsync(process.execPath, [cli, 'check', '--schema', schema, '--db-schema', service, '--url', databaseUrl]);
    return '';
  } catch (e) {
    const failed = e as { code?: number; stdout?: string };
    if (failed.code === 2 && failed.stdout) return failed.stdout;
    throw e;
  }
}

/**
 * A free port below the kernel's ephemeral range, for a process that is killed and started
 * again on the same port. A port from the ephemeral range (port 0) can be taken meanwhile,
 * by another test's listener or as the source port of any outgoing connection; below the
 * range only an explicit bind takes it.
 */
export async function stablePort(): Promise<number> {
  const [low = '32768'] = (await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '32768')).trim().split(/\s+/);
  const top = Math.max(11_000, Number(low));
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (top - 10_000));
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below the ephemeral range');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A service process of a test stack: its script, port and environment, and the child once started. */
export interface ServiceProcess {
  readonly name: string;
  readonly script: string;
  port: number;
  readonly env: Record<string, string>;
  child?: Child;
  readonly output: OutputTail;
}

export const serviceUrl = (service: ServiceProcess) => `http://127.0.0.1:${service.port}`;

/**
 * The built stack (IPAM + gateway) as real processes against a fresh database and a
 * fresh NATS prefix, for API, crash and CLI tests and for benchmarks. Needs `npm run
 * build` first (turbo does it before the integration tiers).
 */
export interface AgentOptions {
  readonly row: string;
  readonly host: string;
  readonly tunnelIp: string;
  readonly hostNetns?: string;
  readonly physnets?: Record<string, string>;
  readonly roles?: readonly string[];
  readonly heartbeatSeconds?: number;
  readonly resyncSeconds?: number;
  /** seconds between reads of the BGP sessions (default 2 here, 5 in the agent) */
  readonly bgpStatusSeconds?: number;
  readonly logLevel?: string;
  /** Where the agent keeps DHCP/RA daemon state; default: a directory of its own under the OS temp dir. */
  readonly stateDir?: string;
  /** the metadata service the agent's metadata proxies forward to (env METADATA_URL) */
  readonly metadataUrl?: string;
  /** the secret shared with the metadata service (env METADATA_PROXY_SHARED_SECRET); without it the agent runs no proxies */
  readonly metadataSecret?: string;
  /** put before its router and DHCP namespace names (`--netns-prefix`): two network agents holding one HA router */
  readonly netnsPrefix?: string;
  /** seconds between reads of the HA routers' VRRP state (default 1 here, 5 in the agent) */
  readonly haStatusSeconds?: number;
}

/** One agent process; kill it (-9 by default) and start it again like a host reboot would. */
export class AgentProcess {
  private child: Child | undefined;
  private readonly output = new OutputTail(500);

  constructor(
    private readonly script: string,
    private readonly args: readonly string[],
    private readonly env: Record<string, string>,
  ) {}

  start(): void {
    this.child = new Child({
      name: 'agent',
      command: process.execPath,
      args: [this.script, ...this.args],
      env: { ...process.env, ...this.env },
      onLine: this.output.add,
    });
  }

  /** Resolves once the process is gone (SIGKILL 10 s after any other signal). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.child?.stop({ signal, graceMs: 10_000 });
  }

  logs(): string {
    return this.output.text();
  }
}

export class TestStack {
  private readonly agents: AgentProcess[] = [];
  /** state directories this stack chose for its agents (removed by stop) */
  private readonly stateDirs: string[] = [];
  /** every agent's state directory, chosen or given (their daemons are killed by stop) */
  private readonly agentStateDirs: string[] = [];
  /** the namespace prefixes of its agents ('' for none), whose router and DHCP namespaces stop removes */
  private readonly netnsPrefixes: string[] = [];

  /** The gateway's base URL, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly ipamUrl: string;
  readonly l3Url: string;
  readonly dhcpUrl: string;
  readonly bgpUrl: string;
  readonly metadataUrl: string;
  readonly secgroupsUrl: string;

  private constructor(
    readonly prefix: string,
    readonly database: TestDatabase,
    readonly natsUrl: string,
    private readonly services: Record<ServiceName, ServiceProcess>,
    private readonly adminToken?: () => Promise<string>,
  ) {
    // start() has settled every port by now (startIpam starts IPAM again on the same one)
    this.url = serviceUrl(services.gateway);
    this.ipamUrl = serviceUrl(services.ipam);
    this.l3Url = serviceUrl(services.l3);
    this.dhcpUrl = serviceUrl(services.dhcp);
    this.bgpUrl = serviceUrl(services.bgp);
    this.metadataUrl = serviceUrl(services.metadata);
    this.secgroupsUrl = serviceUrl(services.secgroups);
  }

  /**
   * `adminToken`: with AUTH_STRATEGY=keystone in `env`, how the stack gets an admin's token for
   * its own API calls (waiting for agents, finding the namespaces to clean up).
   */
  static async start(opts: { env?: Record<string, string>; adminToken?: () => Promise<string> } = {}): Promise<TestStack> {
    const infra = await testInfra();
    const prefix = uniqueName('t');
    const database = await createMigratedDatabase(infra.databaseUrl);
    const common = {
      DATABASE_URL: database.url,
      NATS_URL: infra.natsUrl,
      NATS_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      METADATA_PROXY_SHARED_SECRET: TEST_METADATA_SECRET,
      // the tiers that test authentication pass AUTH_STRATEGY=keystone and Keystone's settings
      AUTH_STRATEGY: 'noauth',
      ...opts.env,
    };
    const service = async (name: ServiceName, env: Record<string, string> = {}): Promise<ServiceProcess> => {
      const port = await freePort();
      return {
        name,
        script: path.join(REPO_ROOT, `apps/${name}/dist/main.js`),
        port,
        env: { ...common, PORT: String(port), ...env },
        output: new OutputTail(),
      };
    };
    // All at once, as compose starts them: each service creates what it needs on NATS (the
    // stream, its consumers and buckets) idempotently, and waits for nobody.
    const backends = {} as Record<Backend, ServiceProcess>;
    for (const name of BACKENDS) backends[name] = await service(name);
    const upstreams = () => ({
      IPAM_URL: serviceUrl(backends.ipam),
      L3_URL: serviceUrl(backends.l3),
      DHCP_URL: serviceUrl(backends.dhcp),
      BGP_URL: serviceUrl(backends.bgp),
      METADATA_URL: serviceUrl(backends.metadata),
      SECGROUPS_URL: serviceUrl(backends.secgroups),
    });
    const gateway = await service('gateway', upstreams());
    const all = [...BACKENDS.map((name) => backends[name]), gateway];
    const started = await Promise.allSettled(all.map((s) => TestStack.startOnFreePort(s)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(all.flatMap((s) => (s.child ? [s.child.stop({ signal: 'SIGKILL', graceMs: 0 })] : [])));
      await database.drop();
      throw failed.reason;
    }
    // A backend that found its port taken listens on another one: the gateway must know.
    if (Object.entries(upstreams()).some(([key, url]) => gateway.env[key] !== url)) {
      await gateway.child?.stop({ signal: 'SIGKILL', graceMs: 0 });
      Object.assign(gateway.env, upstreams());
      await TestStack.startOnFreePort(gateway);
    }
    return new TestStack(prefix, database, infra.natsUrl, { ...backends, gateway }, opts.adminToken);
  }

  /**
   * Starts a service, on another free port if its own was taken meanwhile (test runs in
   * parallel choose ports too).
   */
  private static async startOnFreePort(service: ServiceProcess, attempts = 3): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await startServiceProcess(service);
        return;
      } catch (e) {
        if (attempt >= attempts || !service.output.text().includes('EADDRINUSE')) throw e;
        service.port = await freePort();
        service.env.PORT = String(service.port);
        service.output.clear();
      }
    }
  }

  /** Starts IPAM again (after killIpam), waiting until it is healthy. */
  startIpam(): Promise<void> {
    return startServiceProcess(this.services.ipam);
  }

  /** Kills IPAM, by default without warning (kill -9). Resolves once the process is gone. */
  async killIpam(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.kill(this.services.ipam, signal);
  }

  /**
   * Starts a host agent process (apps/agent) against this stack's NATS prefix and waits
   * until the API lists it alive.
   */
  async startAgent(opts: AgentOptions): Promise<AgentProcess> {
    const args = ['--row', opts.row, '--host', opts.host, '--tunnel-ip', opts.tunnelIp, '--roles', (opts.roles ?? ['compute']).join(',')];
    if (opts.hostNetns) args.push('--host-netns', opts.hostNetns);
    if (opts.netnsPrefix) args.push('--netns-prefix', opts.netnsPrefix);
    if (!this.netnsPrefixes.includes(opts.netnsPrefix ?? '')) this.netnsPrefixes.push(opts.netnsPrefix ?? '');
    for (const [physnet, iface] of Object.entries(opts.physnets ?? {})) args.push('--physnet', `${physnet}:${iface}`);
    args.push(
      '--heartbeat-seconds',
      String(opts.heartbeatSeconds ?? 1),
      '--resync-seconds',
      String(opts.resyncSeconds ?? 30),
      '--bgp-status-seconds',
      String(opts.bgpStatusSeconds ?? 2),
      '--ha-status-seconds',
      String(opts.haStatusSeconds ?? 1),
    );
    const stateDir = opts.stateDir ?? path.join(os.tmpdir(), `ncp-agent-${this.prefix}-${opts.host}`);
    if (opts.stateDir === undefined) this.stateDirs.push(stateDir);
    if (!this.agentStateDirs.includes(stateDir)) this.agentStateDirs.push(stateDir);
    args.push('--state-dir', stateDir);
    const agent = new AgentProcess(path.join(REPO_ROOT, 'apps/agent/dist/main.js'), args, {
      NATS_URL: this.natsUrl,
      NATS_PREFIX: this.prefix,
      LOG_LEVEL: opts.logLevel ?? 'info',
      // the agents of a test stack talk to its metadata service, as a deployment's would
      METADATA_URL: opts.metadataUrl ?? this.metadataUrl,
      METADATA_PROXY_SHARED_SECRET: opts.metadataSecret ?? TEST_METADATA_SECRET,
    });
    this.agents.push(agent);
    agent.start();
    await this.waitForAgent(opts.host, true);
    return agent;
  }

  /** Waits until GET /v2.0/agents shows the host with the given liveness. */
  async waitForAgent(host: string, alive: boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const res = await fetch(`${this.url}/v2.0/agents?host=${encodeURIComponent(host)}`, { headers: await this.adminHeaders() });
      const body = (await res.json()) as { agents?: { alive: boolean }[] };
      if (body.agents?.[0]?.alive === alive) return;
      await sleep(200);
    }
    throw new Error(`agent ${host} not ${alive ? 'alive' : 'dead'} within ${timeoutMs} ms`);
  }

  private async adminHeaders(): Promise<Record<string, string>> {
    return this.adminToken ? { 'X-Auth-Token': await this.adminToken() } : {};
  }

  /** Recent output of a service, for failure messages. */
  logs(name: ServiceName): string {
    return this.services[name].output.text();
  }

  async stop(): Promise<void> {
    const agentNamespaces = this.agents.length > 0 ? await this.agentNamespaces() : [];
    await Promise.all(this.agents.map((a) => a.kill('SIGTERM')));
    // Router and DHCP namespaces, with their daemons, outlive agents (as they must on a real
    // host, so workloads keep their network): a test stack removes the ones it caused.
    for (const name of agentNamespaces) await removeNetnsWithProcesses(name);
    // BGP speakers' BIRDs outlive their agents too (in the agent's host namespace)
    for (const dir of this.stateDirs) await killBirds(dir);
    for (const dir of this.agentStateDirs) await killMetadataProxies(dir);
    await this.kill(this.services.gateway, 'SIGTERM');
    await Promise.all(BACKENDS.map((name) => this.kill(this.services[name], 'SIGTERM')));
    const nc = await connect({ servers: this.natsUrl.replace(/^nats:\/\//, '') });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete(`EVENTS_${this.prefix}`).catch(() => undefined);
    } finally {
      await nc.close();
    }
    await this.database.drop();
    await Promise.all(this.stateDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }

  /** `qrouter-<8>` and `qdhcp-<8>` of every router and network this stack's API knows, as each of its agents names them. */
  private async agentNamespaces(): Promise<string[]> {
    const ids = async (collection: string) => {
      try {
        const res = await fetch(`${this.url}/v2.0/${collection}?fields=id`, { headers: await this.adminHeaders() });
        return ((await res.json()) as Record<string, { id: string }[] | undefined>)[collection]?.map((r) => r.id.replace(/-/g, '').slice(0, 8)) ?? [];
      } catch {
        return [];
      }
    };
    const names = [...(await ids('routers')).map((id) => `qrouter-${id}`), ...(await ids('networks')).map((id) => `qdhcp-${id}`)];
    return this.netnsPrefixes.flatMap((prefix) => names.map((name) => `${prefix}${name}`));
  }

  private async kill(service: ServiceProcess, signal: NodeJS.Signals): Promise<void> {
    await service.child?.stop({ signal, graceMs: 10_000 });
  }
}

/** Starts a service's process and waits until it is healthy; healthy means this child answers on its port, not just anyone. */
export async function startServiceProcess(service: ServiceProcess): Promise<void> {
  const child = new Child({
    name: service.name,
    command: process.execPath,
    args: [service.script],
    env: { ...process.env, ...service.env },
    onLine: service.output.add,
  });
  service.child = child;
  const failed = (why: string) => {
    child.kill('SIGKILL');
    return new Error(`${service.name} did not start: ${why}\n${service.output.text()}`);
  };
  let healthy: boolean;
  try {
    // A service needs ~3 CPU-seconds to start, and a stack starts seven at once: on a busy
    // 2-core machine one waits its turn for a while. The gateway's health asks every upstream's
    // and waits up to 5 s for each: a probe that gave up sooner would see only its own timeout,
    // never the gateway's answer naming the upstream that was slow.
    healthy = await child.waitHealthy(httpHealth(`${serviceUrl(service)}/healthz`, { timeoutMs: 10_000 }), { timeoutMs: 90_000, pollMs: 100 });
  } catch (e) {
    throw failed(e instanceof Error ? e.message : String(e));
  }
  if (!healthy) throw failed(`exited (${describeExit(await child.exit)}) before it was healthy`);
}
