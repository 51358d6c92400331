import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type ConsumerInfo, type JetStreamManager } from '@nats-io/jetstream';
import { Client as PgClient } from 'pg';
import { Child, OutputTail, describeExit, httpHealth } from '@ncp/supervisor';
import { testInfra, uniqueName, type TestDatabase } from './infra';
import { REPO_ROOT, TEST_METADATA_SECRET, createMigratedDatabase, serviceUrl, stablePort, startServiceProcess, type ServiceProcess } from './stack';

/** Where Debian's nats-server package puts the server. */
export const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

interface NatsNode {
  readonly name: string;
  readonly port: number;
  readonly monitorPort: number;
  /** where it accepts leaf nodes (with `leafnodes`) */
  readonly leafPort: number;
  readonly config: string;
  child?: Child;
  readonly output: OutputTail;
}

export interface NatsClusterOptions {
  /** the cluster's JetStream domain (cluster.conf's), which a leaf node's clients address */
  readonly domain?: string;
  /** accept leaf nodes, on a port of each node's own */
  readonly leafnodes?: boolean;
  /** an `authorization` block (a file of infra/nats) every node includes */
  readonly authConf?: string;
  /** the environment of the servers (the passwords `authConf` reads) */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * A NATS JetStream cluster of local nats-server processes (each with its own store under a
 * temporary directory, routes to the others on loopback), which a test can kill -9 and start
 * again node by node. What infra/nats/cluster/ runs in compose, on loopback ports.
 */
export class NatsCluster {
  private constructor(
    private readonly dir: string,
    readonly nodes: readonly NatsNode[],
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** `size` nodes, on new ports if one was taken between its choice and its server's bind. */
  static async start(size = 3, opts: NatsClusterOptions = {}, attempts = 3): Promise<NatsCluster> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await NatsCluster.startOnce(size, opts);
      } catch (e) {
        if (attempt >= attempts || !String(e).includes('address already in use')) throw e;
      }
    }
  }

  private static async startOnce(size: number, opts: NatsClusterOptions): Promise<NatsCluster> {
    if (!existsSync(NATS_SERVER)) throw new Error(`a NATS cluster needs nats-server (${NATS_SERVER}; Debian package nats-server)`);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ncp-nats-cluster-'));
    const ports = await Promise.all(
      Array.from({ length: size }, async () => ({
        client: await stablePort(),
        route: await stablePort(),
        monitor: await stablePort(),
        leaf: await stablePort(),
      })),
    );
    const nodes: NatsNode[] = ports.map((p, i) => {
      const name = `n${i + 1}`;
      return { name, port: p.client, monitorPort: p.monitor, leafPort: p.leaf, config: path.join(dir, `${name}.conf`), output: new OutputTail(2000) };
    });
    if (opts.authConf) await copyFile(opts.authConf, path.join(dir, 'auth.conf'));
    for (const [i, node] of nodes.entries()) {
      const p = ports[i];
      if (!p) continue;
      const routes = ports.filter((_, j) => j !== i).map((o) => `nats-route://127.0.0.1:${o.route}`);
      const domain = opts.domain ? `, domain: ${opts.domain}` : '';
      await writeFile(
        node.config,
        [
          `server_name: ${node.name}`,
          `listen: 127.0.0.1:${p.client}`,
          `http: 127.0.0.1:${p.monitor}`,
          `jetstream { store_dir: "${path.join(dir, node.name)}", max_memory_store: 256MB, max_file_store: 2GB${domain} }`,
          // one node alone is a plain server: a cluster block without routes is refused
          size > 1 ? `cluster { name: ncp-test, listen: 127.0.0.1:${p.route}, routes: [${routes.join(', ')}] }` : '',
          opts.leafnodes ? `leafnodes { listen: 127.0.0.1:${p.leaf} }` : '',
          opts.authConf ? 'include ./auth.conf' : '',
          '',
        ].join('\n'),
      );
    }
    const cluster = new NatsCluster(dir, nodes, { ...process.env, ...opts.env });
    try {
      await Promise.all(nodes.map((_, i) => cluster.startNode(i)));
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  /** Every node's client URL, as NATS_URL takes them. */
  get url(): string {
    return this.nodes.map((n) => `nats://127.0.0.1:${n.port}`).join(',');
  }

  /**
   * Starts a node (again) and waits until its JetStream is in contact with the cluster (its
   * /healthz). A node started again is back once its JetStream server is (`js-server-only`),
   * not once each of its replicas has caught up: the other two serve every stream and consumer
   * meanwhile, and a replica of a busy consumer was seen to stay behind for more than a minute
   * (NATS 2.9.10, on a machine whose disk was slow).
   */
  async startNode(i: number): Promise<void> {
    const node = this.nodes[i];
    if (!node) throw new Error(`no node ${i}`);
    const again = node.child !== undefined;
    const child = new Child({ name: node.name, command: NATS_SERVER, args: ['-c', node.config], env: this.env, onLine: node.output.add });
    node.child = child;
    const url = `http://127.0.0.1:${node.monitorPort}/healthz${again ? '?js-server-only=true' : ''}`;
    const healthy = await child.waitHealthy(httpHealth(url, { anyPid: true }), { timeoutMs: 60_000, pollMs: 100 });
    if (!healthy) throw new Error(`nats ${node.name} exited (${describeExit(await child.exit)}) before it was healthy\n${node.output.text()}`);
  }

  /** How many leaf connections, over every node, carry a subscription to `subject` (their /leafz). */
  async leafInterest(subject: string): Promise<number> {
    let count = 0;
    for (const node of this.nodes) {
      if (node.child?.exited) continue;
      const res = await fetch(`http://127.0.0.1:${node.monitorPort}/leafz?subs=1`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
      if (!res?.ok) continue;
      const leafz = (await res.json()) as { leafs?: { subscriptions_list?: string[] }[] };
      count += (leafz.leafs ?? []).filter((l) => l.subscriptions_list?.includes(subject)).length;
    }
    return count;
  }

  async killNode(i: number): Promise<void> {
    await this.nodes[i]?.child?.stop({ signal: 'SIGKILL', graceMs: 0 });
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.flatMap((n) => (n.child ? [n.child.stop({ signal: 'SIGTERM', graceMs: 10_000 })] : [])));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * A row's leaf node: a nats-server without JetStream that connects to every node of a cluster
 * (on their leaf ports) as one user, and lets the row's agents in with `authConf` (an
 * infra/nats/leaf-<row>.auth.conf). What docker-compose.ha.yml's nats-leaf-<row> runs.
 */
export class NatsLeaf {
  private constructor(
    private readonly dir: string,
    private readonly cluster: NatsCluster,
    readonly port: number,
    private readonly monitorPort: number,
    private readonly child: Child,
    readonly output: OutputTail,
  ) {}

  static async start(cluster: NatsCluster, opts: { user: string; password: string; authConf?: string; env?: NodeJS.ProcessEnv }): Promise<NatsLeaf> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ncp-nats-leaf-'));
    const port = await stablePort();
    const monitorPort = await stablePort();
    const hub = (n: NatsNode) => `nats-leaf://${opts.user}:${opts.password}@127.0.0.1:${n.leafPort}`;
    if (opts.authConf) await copyFile(opts.authConf, path.join(dir, 'auth.conf'));
    const config = path.join(dir, 'leaf.conf');
    await writeFile(
      config,
      [
        `listen: 127.0.0.1:${port}`,
        `http: 127.0.0.1:${monitorPort}`,
        `leafnodes { reconnect: 1, remotes: [ { urls: [${cluster.nodes.map((n) => JSON.stringify(hub(n))).join(', ')}] } ] }`,
        opts.authConf ? 'include ./auth.conf' : '',
        '',
      ].join('\n'),
    );
    const output = new OutputTail(200);
    const child = new Child({ name: 'leaf', command: NATS_SERVER, args: ['-c', config], env: { ...process.env, ...opts.env }, onLine: output.add });
    const leaf = new NatsLeaf(dir, cluster, port, monitorPort, child, output);
    if (!(await child.waitHealthy(() => leaf.hubProblem(), { timeoutMs: 60_000, pollMs: 100 }))) {
      await leaf.stop();
      throw new Error(`the leaf node did not connect to the cluster\n${output.text()}`);
    }
    return leaf;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** The cluster node it is connected to (its index), or null while it is not. */
  async hubNode(): Promise<number | null> {
    const res = await fetch(`http://127.0.0.1:${this.monitorPort}/leafz`, { signal: AbortSignal.timeout(2000) });
    const leafz = (await res.json()) as { leafs?: { port: number }[] };
    const port = leafz.leafs?.[0]?.port;
    const node = this.cluster.nodes.findIndex((n) => n.leafPort === port);
    return node < 0 ? null : node;
  }

  /** null once it is connected to the cluster: a health check. */
  private async hubProblem(): Promise<string | null> {
    try {
      return (await this.hubNode()) === null ? 'no connection to the cluster yet' : null;
    } catch (e) {
      return String(e);
    }
  }

  async stop(): Promise<void> {
    await this.child.stop({ signal: 'SIGTERM', graceMs: 10_000 });
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The services behind the gateway, by app, with the event context that names their lease. */
const CONTEXT_OF = { ipam: 'ipam', l3: 'l3', dhcp: 'dhcp', bgp: 'bgp', metadata: 'meta', secgroups: 'sg' } as const;
export type ReplicatedBackend = keyof typeof CONTEXT_OF;
export const REPLICATED_BACKENDS = Object.keys(CONTEXT_OF) as ReplicatedBackend[];

/** Every consumer of the stream, with its counts. */
async function consumersOf(jsm: JetStreamManager, stream: string): Promise<ConsumerInfo[]> {
  const consumers: ConsumerInfo[] = [];
  for await (const c of jsm.consumers.list(stream)) consumers.push(c);
  return consumers;
}

/**
 * Reactions (durable consumers `react_*`, shared by a service's replicas) with events not
 * handled yet: a reaction behind (a new leader starting, a retry) appends after the stream
 * looked quiet.
 */
function pendingReactions(consumers: readonly ConsumerInfo[]): string[] {
  return consumers
    .filter((c) => c.name.includes('react_') && c.num_pending + c.num_ack_pending > 0)
    .map((c) => `reaction ${c.name}: ${c.num_pending} pending, ${c.num_ack_pending} unacknowledged`);
}

/**
 * The stack as the clustered deployment runs it, as local processes: `replicas` processes of
 * every service (INSTANCE_ID `<service>-<n>`) against one database and a NATS cluster with
 * replicated stream and buckets, and `gateways` gateways each balancing over all replicas.
 */
export class ReplicatedStack {
  /** The database the services use (another server's after useDatabase). */
  private databaseUrl: string;

  private constructor(
    readonly prefix: string,
    readonly database: TestDatabase,
    readonly nats: NatsCluster,
    readonly backends: Readonly<Record<ReplicatedBackend, ServiceProcess[]>>,
    readonly gateways: readonly ServiceProcess[],
  ) {
    this.databaseUrl = database.url;
  }

  /** `databaseUrl`: the Postgres server to make the stack's database on (default: the tests' own). */
  static async start(
    nats: NatsCluster,
    opts: { replicas?: number; gateways?: number; env?: Record<string, string>; databaseUrl?: string } = {},
  ): Promise<ReplicatedStack> {
    const infra = await testInfra();
    const prefix = uniqueName('ha');
    const database = await createMigratedDatabase(opts.databaseUrl ?? infra.databaseUrl);
    const common = {
      DATABASE_URL: database.url,
      NATS_URL: nats.url,
      NATS_PREFIX: prefix,
      NATS_REPLICAS: String(nats.nodes.length),
      LOG_LEVEL: 'warn',
      AUTH_STRATEGY: 'noauth',
      METADATA_PROXY_SHARED_SECRET: TEST_METADATA_SECRET,
      ...opts.env,
    };
    const process_ = async (name: string, instance: string, env: Record<string, string> = {}): Promise<ServiceProcess> => {
      const port = await stablePort();
      return {
        name: instance,
        script: path.join(REPO_ROOT, `apps/${name}/dist/main.js`),
        port,
        env: { ...common, PORT: String(port), INSTANCE_ID: instance, ...env },
        // a fault scenario's whole run, to find what a long silence waited on
        output: new OutputTail(5000),
      };
    };
    const backends = {} as Record<ReplicatedBackend, ServiceProcess[]>;
    for (const name of REPLICATED_BACKENDS) {
      backends[name] = [];
      for (let r = 1; r <= (opts.replicas ?? 2); r++) backends[name].push(await process_(name, `${name}-${r}`));
    }
    const list = (name: ReplicatedBackend) => backends[name].map(serviceUrl).join(',');
    const upstreams = {
      IPAM_URL: list('ipam'),
      L3_URL: list('l3'),
      DHCP_URL: list('dhcp'),
      BGP_URL: list('bgp'),
      METADATA_URL: list('metadata'),
      SECGROUPS_URL: list('secgroups'),
    };
    const gateways: ServiceProcess[] = [];
    for (let g = 1; g <= (opts.gateways ?? 2); g++) gateways.push(await process_('gateway', `gateway-${g}`, upstreams));
    const stack = new ReplicatedStack(prefix, database, nats, backends, gateways);
    // the first replica of each service first: it creates the stream and buckets, the others find them
    const first = REPLICATED_BACKENDS.map((name) => backends[name][0]).filter((s): s is ServiceProcess => s !== undefined);
    const rest = [...REPLICATED_BACKENDS.flatMap((name) => backends[name].slice(1)), ...gateways];
    const started = await Promise.allSettled(first.map(startServiceProcess));
    const more = started.every((r) => r.status === 'fulfilled') ? await Promise.allSettled(rest.map(startServiceProcess)) : [];
    const failed = [...started, ...more].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await stack.stop();
      throw failed.reason;
    }
    return stack;
  }

  get urls(): string[] {
    return this.gateways.map(serviceUrl);
  }

  /** One call to the API through the first gateway; anything but a 2xx throws. */
  async api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.urls[0] ?? ''}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  /** A network with one IPv4 subnet (and its gateway), made through the API: its id. */
  async networkWithSubnet(name: string, cidr: string, extra: Record<string, unknown> = {}): Promise<string> {
    const id = (await this.api<{ network: { id: string } }>('POST', '/v2.0/networks', { network: { name, ...extra } })).network.id;
    await this.api('POST', '/v2.0/subnets', { subnet: { network_id: id, cidr, ip_version: 4 } });
    return id;
  }

  /** `fn` with a connection of its own to the cluster, closed after it. */
  private async withNats<T>(fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
    const nc = await connect({ servers: this.nats.url.replace(/nats:\/\//g, '').split(',') });
    try {
      return await fn(nc);
    } finally {
      await nc.close();
    }
  }

  /** The replica (its INSTANCE_ID) holding a service's leader lease, or null while nobody does. */
  async leaderOf(name: ReplicatedBackend): Promise<string | null> {
    return this.withNats(async (nc) => {
      const context = CONTEXT_OF[name];
      const bucket = `ncp_leases_${context}_${this.prefix}`;
      const jsm = await jetstreamManager(nc);
      const entry = await jsm.streams.getMessage(`KV_${bucket}`, { last_by_subj: `$KV.${bucket}.${context}` }).catch(() => null);
      const operation = entry?.header.get('KV-Operation') ?? '';
      return entry && operation === '' ? entry.string() : null;
    });
  }

  /**
   * The replica holding a service's lease, once one does: after a NATS failover longer than
   * the lease, the entry may have expired and be taken again a moment later.
   */
  async leader(name: ReplicatedBackend, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const holder = await this.leaderOf(name);
      if (holder !== null) return holder;
      if (Date.now() > deadline) throw new Error(`${name} has had no leader for ${timeoutMs} ms`);
      await sleep(200);
    }
  }

  replica(instance: string): ServiceProcess {
    const found = [...Object.values(this.backends).flat(), ...this.gateways].find((s) => s.name === instance);
    if (!found) throw new Error(`no process ${instance}`);
    return found;
  }

  /** Every service process from now on uses this database (they must be started again to use it). */
  useDatabase(url: string): void {
    this.databaseUrl = url;
    for (const s of Object.values(this.backends).flat()) s.env.DATABASE_URL = url;
  }

  /** Every service process (not the gateways), by INSTANCE_ID. */
  get serviceInstances(): string[] {
    return Object.values(this.backends).flatMap((replicas) => replicas.map((s) => s.name));
  }

  async kill(instance: string): Promise<void> {
    await this.replica(instance).child?.stop({ signal: 'SIGKILL', graceMs: 0 });
  }

  restart(instance: string): Promise<void> {
    return startServiceProcess(this.replica(instance));
  }

  logs(instance: string): string {
    return this.replica(instance).output.text();
  }

  /**
   * Every row of a service's projection tables (its schema, less the checkpoints, parked
   * events and snapshots), as text in a stable order: for comparison with a rebuild.
   */
  async projectionDump(name: ReplicatedBackend): Promise<Record<string, string[]>> {
    const client = new PgClient({ connectionString: this.databaseUrl });
    await client.connect();
    try {
      const { rows: tables } = await client.query<{ t: string }>(
        `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'
           AND table_name NOT IN ('projection_checkpoints', 'parked_events', 'aggregate_snapshots', '_prisma_migrations') ORDER BY 1`,
        [name],
      );
      const dump: Record<string, string[]> = {};
      for (const { t } of tables)
        dump[t] = (await client.query<{ r: string }>(`SELECT row_to_json(x)::text AS r FROM "${name}"."${t}" x ORDER BY 1`)).rows.map((r) => r.r);
      return dump;
    } finally {
      await client.end();
    }
  }

  /**
   * What a rebuild changed in a projection (projectionDump before and after): for each table
   * that differs, the rows only the one or the other has. Empty when they are equal. The rows
   * themselves, because a failed deep equality of two whole dumps is too big for the test
   * runner to print its difference ("Compared values have no visual difference").
   */
  static projectionDifference(before: Record<string, string[]>, after: Record<string, string[]>): Record<string, { before: string[]; after: string[] }> {
    const difference: Record<string, { before: string[]; after: string[] }> = {};
    const without = (rows: string[], others: string[]) => {
      const left = new Map<string, number>();
      for (const r of others) left.set(r, (left.get(r) ?? 0) + 1);
      return rows.filter((r) => {
        const n = left.get(r) ?? 0;
        if (n > 0) left.set(r, n - 1);
        return n === 0;
      });
    };
    for (const table of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const b = before[table] ?? [];
      const a = after[table] ?? [];
      const onlyBefore = without(b, a);
      const onlyAfter = without(a, b);
      if (onlyBefore.length > 0 || onlyAfter.length > 0 || !(table in before) || !(table in after))
        difference[table] = { before: onlyBefore, after: onlyAfter };
    }
    return difference;
  }

  /**
   * Waits until the stack is still: no event appended for `quietMs`, and every projection of
   * every service with nothing pending. What runs after the load (the leaders' reactions
   * confirming reservations) must be done before a projection is compared with a rebuild.
   */
  async settle(quietMs = 3000, timeoutMs = 120_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    return this.withNats(async (nc) => {
      const jsm = await jetstreamManager(nc);
      const stream = `EVENTS_${this.prefix}`;
      let last = -1;
      let since = Date.now();
      let waitingOn = 'nothing yet';
      for (;;) {
        const seq = (await jsm.streams.info(stream)).state.last_seq;
        if (seq !== last) {
          last = seq;
          since = Date.now();
          waitingOn = 'the stream to stand still';
        } else if (Date.now() - since >= quietMs) {
          const behind = [...(await this.pendingEvents(nc)), ...pendingReactions(await consumersOf(jsm, stream))];
          if (behind.length === 0) return seq;
          waitingOn = behind.join('; ');
        }
        if (Date.now() > deadline) {
          // what each consumer of the stream holds: a projection's replica or a reaction stuck shows here
          const consumers = (await consumersOf(jsm, stream)).map(
            (c) =>
              `${c.name}: pending ${c.num_pending}, unacknowledged ${c.num_ack_pending}, pulls waiting ${c.num_waiting}, acknowledged to ${c.ack_floor.stream_seq}`,
          );
          throw new Error(
            `the stack did not settle within ${timeoutMs} ms (stream at ${seq}, last moved ${Date.now() - since} ms ago); waiting on ${waitingOn}\nconsumers:\n${consumers.join('\n')}`,
          );
        }
        await sleep(500);
      }
    });
  }

  /** Projections with events not yet applied, over every service (projection_status of the replica that answers). */
  private async pendingEvents(nc: NatsConnection): Promise<string[]> {
    const behind: string[] = [];
    for (const name of REPLICATED_BACKENDS) {
      const reply = await nc.request(`${this.prefix}.admin.${CONTEXT_OF[name]}.projection_status`, '', { timeout: 30_000 });
      const body = JSON.parse(reply.string()) as { result?: { name: string; pending: number; checkpoint: number }[]; error?: { message: string } };
      if (!body.result) behind.push(`${name}: ${body.error?.message ?? 'no status'}`);
      for (const p of body.result ?? []) if (p.pending > 0) behind.push(`${name} projection ${p.name}: ${p.pending} pending at ${p.checkpoint}`);
    }
    return behind;
  }

  /** The stream's last sequence. */
  async streamLastSequence(): Promise<number> {
    return this.withNats(async (nc) => {
      return (await (await jetstreamManager(nc)).streams.info(`EVENTS_${this.prefix}`)).state.last_seq;
    });
  }

  /** The database's sessions that are not idle, with what they wait on. */
  private async sessions(): Promise<string> {
    const client = new PgClient({ connectionString: this.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ r: string }>(
        `SELECT row_to_json(x)::text AS r FROM (SELECT pid, state, wait_event_type, wait_event, pg_blocking_pids(pid) AS blocked_by,
           now() - xact_start AS in_transaction_for, left(query, 200) AS query FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle') x`,
      );
      return rows.map((r) => r.r).join('\n');
    } catch (e) {
      return String(e);
    } finally {
      await client.end();
    }
  }

  /** Asks one replica of a service (NATS picks it) to rebuild its projections from sequence 1. */
  async rebuild(name: ReplicatedBackend): Promise<void> {
    return this.withNats(async (nc) => {
      const reply = await nc.request(`${this.prefix}.admin.${CONTEXT_OF[name]}.projection_rebuild`, '', { timeout: 120_000 }).catch(async (e: unknown) => {
        // what each replica said last and what the database waits on: a rebuild that hangs is found from them
        const tails = this.backends[name].map((s) => `--- ${s.name}\n${s.output.text()}`).join('');
        throw new Error(`${name}: no answer to the rebuild: ${String(e)}\n${tails}\n--- database sessions\n${await this.sessions()}`);
      });
      const body = JSON.parse(reply.string()) as { result?: unknown; error?: { message: string } };
      if (body.result === undefined) throw new Error(`${name}: rebuild failed: ${body.error?.message ?? 'no result'}`);
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.gateways.flatMap((g) => (g.child ? [g.child.stop({ signal: 'SIGTERM', graceMs: 10_000 })] : [])));
    await Promise.all(
      Object.values(this.backends).flatMap((replicas) => replicas.flatMap((s) => (s.child ? [s.child.stop({ signal: 'SIGTERM', graceMs: 10_000 })] : []))),
    );
    await this.withNats(async (nc) => {
      const jsm = await jetstreamManager(nc);
      for await (const name of jsm.streams.names()) if (name.endsWith(`_${this.prefix}`)) await jsm.streams.delete(name).catch(() => undefined);
    });
    // the database's server may be gone (a Postgres failover test stops it)
    await this.database.drop().catch((e: unknown) => {
      if ((e as { code?: unknown }).code !== 'ECONNREFUSED') throw e;
    });
  }
}
