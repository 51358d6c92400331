import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsCluster, REPLICATED_BACKENDS, ReplicatedStack, type ReplicatedBackend } from '@ncp/testing';

/**
 * The control plane's own failover, every part a local process: a three-node NATS cluster
 * (stream and buckets at three replicas), two replicas of every service, two gateways. Eight
 * API clients create ports, routers and floating IPs through the gateways (a client goes to the
 * other gateway when one refuses, as a load balancer would) and read every service, while one
 * NATS server, the leading replica of each service and a gateway are killed -9 in turn and
 * started again. Afterwards: every acknowledged create exists exactly once, no address was
 * given twice, and the projections equal a rebuild from the stream; the longest time a client
 * went without an answer is printed and bounded.
 */

/**
 * The longest any kind of request may go unanswered by every client at one fault: well above
 * what a NATS server's death costs (its Raft elections wait 4-9 s; 10-17 s measured here alone,
 * with the 5 s timeouts of the reads that met it, and 42 s once in CI, beside the packages'
 * tests and their own three-node cluster on the same two cores), and short of a stall that
 * lasts (a pull lost with its server held writes until it expired: 40-57 s when pulls lasted
 * 30 s, so such a stall can hide under this bound; past SLOW_MS the test prints what the
 * replicas and the NATS servers said, which shows one). The bench measures the real figures.
 */
const FAILOVER_BOUND_MS = Number(process.env.FAILOVER_BOUND_MS ?? 60_000);
const SLOW_MS = 20_000;
const CLIENTS = 8;

interface Acked {
  readonly kind: 'ports' | 'routers' | 'floatingips';
  readonly id: string;
  readonly name: string;
}

/** The service each read goes to, by path. */
const READS: Record<ReplicatedBackend, (net: string) => string> = {
  ipam: (net) => `/v2.0/networks/${net}`,
  l3: () => '/v2.0/routers?limit=1',
  dhcp: (net) => `/v2.0/networks/${net}/dhcp-agents`,
  bgp: () => '/v2.0/bgp-speakers',
  metadata: () => '/v2.0/instances?limit=1',
  secgroups: () => '/v2.0/security-groups?limit=1',
};

/** When each kind of request (writes, each service's reads) last succeeded, for all clients together. */
class Timeline {
  private readonly stamps = new Map<string, number[]>();

  ok(what: string): void {
    const list = this.stamps.get(what) ?? [];
    list.push(Date.now());
    this.stamps.set(what, list);
  }

  /** The longest stretch of [from, to) in which no request of `what` succeeded, for any client. */
  silence(what: string, from: number, to: number): number {
    const inside = (this.stamps.get(what) ?? []).filter((t) => t >= from && t < to);
    const points = [from, ...inside, to];
    let longest = 0;
    for (let i = 1; i < points.length; i++) longest = Math.max(longest, (points[i] ?? 0) - (points[i - 1] ?? 0));
    return longest;
  }
}

/** How long a client's reads pause after a read of every service: the reads add load, not a flood. */
const READ_PAUSE_MS = 250;

/**
 * One API client: writes one after another, and beside them reads of every service in turn,
 * through the other gateway when one refuses. Reads do not wait behind writes, so a service's
 * silence is its own, not that of a write the client was waiting for.
 */
class Client {
  readonly acked: Acked[] = [];
  readonly failures: string[] = [];
  private step = 0;
  private reads = 0;

  constructor(
    private readonly index: number,
    private readonly gateways: readonly string[],
    private readonly ids: { net: string; ext: string },
    private readonly timeline: Timeline,
  ) {}

  async run(until: { done: boolean }): Promise<void> {
    await Promise.all([this.write(until), this.read(until)]);
  }

  private async write(until: { done: boolean }): Promise<void> {
    while (!until.done) {
      this.step += 1;
      const name = `c${this.index}-${this.step}`;
      const kind = this.step % 4 === 0 ? 'routers' : this.step % 4 === 2 ? 'floatingips' : 'ports';
      const body =
        kind === 'ports'
          ? { port: { name, network_id: this.ids.net } }
          : kind === 'routers'
            ? { router: { name } }
            : { floatingip: { floating_network_id: this.ids.ext, description: name } };
      const res = await this.request('POST', `/v2.0/${kind}`, this.step, body);
      if (res?.status === 201) {
        const json = (await res.json()) as Record<string, { id: string }>;
        const created = Object.values(json)[0];
        if (created) this.acked.push({ kind, id: created.id, name });
        this.timeline.ok('writes');
      } else this.failures.push(`${kind} ${name}: ${res ? `${res.status} ${await res.text()}` : 'no gateway answered'}`);
    }
  }

  private async read(until: { done: boolean }): Promise<void> {
    while (!until.done) {
      for (const service of REPLICATED_BACKENDS) {
        this.reads += 1;
        const read = await this.request('GET', READS[service](this.ids.net), this.reads);
        if (read?.status === 200) this.timeline.ok(service);
        await read?.body?.cancel();
      }
      await new Promise((r) => setTimeout(r, READ_PAUSE_MS));
    }
  }

  /** `turn` spreads a client's requests over the gateways. */
  private async request(method: string, path: string, turn: number, body?: unknown): Promise<Response | null> {
    const first = (this.index + turn) % this.gateways.length;
    const order = [...this.gateways.slice(first), ...this.gateways.slice(0, first)];
    for (const url of order) {
      try {
        return await fetch(`${url}${path}`, {
          method,
          headers: { 'Content-Type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(60_000),
        });
      } catch (e) {
        // Refused: nothing was sent, the other gateway may take it. Any other failure leaves a
        // write's outcome unknown: a client must not send it again (it would make a second one).
        const code = (e as { cause?: { code?: unknown } }).cause?.code;
        if (code !== 'ECONNREFUSED') {
          this.failures.push(`${method} ${path}: ${e instanceof Error ? e.message : String(e)} (${String(code)})`);
          return null;
        }
      }
    }
    return null;
  }
}

/**
 * What a fault's silence waited on: every warning and error the replicas logged, and what the
 * NATS servers said (elections, lost routes), with the faults' times beside them.
 */
function faultDiagnostics(stack: ReplicatedStack, cluster: NatsCluster, faults: readonly { name: string; from: number; to: number }[]): string {
  const lines = faults.map((f) => `fault ${f.name}: ${new Date(f.from).toISOString()} .. ${new Date(f.to).toISOString()}`);
  for (const instance of stack.serviceInstances) {
    const notable = stack
      .replica(instance)
      .output.text()
      .split('\n')
      .filter((l) => /"level":(4|5|6)0/.test(l));
    lines.push(`--- ${instance}: ${notable.length} warnings and errors`, ...notable.slice(-60));
  }
  for (const node of cluster.nodes) lines.push(`--- nats ${node.name}`, ...node.output.text().split('\n').slice(-80));
  return lines.join('\n');
}

/**
 * A late fault in a few lines (a CI report may keep only the end of the output): what each
 * replica warned of during it, each message once with how often.
 */
function faultSummary(stack: ReplicatedStack, fault: { name: string; from: number; to: number }): string {
  const lines = [`fault ${fault.name}: ${new Date(fault.from).toISOString()} .. ${new Date(fault.to).toISOString()}`];
  for (const instance of stack.serviceInstances) {
    const said = new Map<string, number>();
    for (const line of stack.logs(instance).split('\n')) {
      if (!/"level":(4|5|6)0/.test(line)) continue;
      try {
        const entry = JSON.parse(line) as { time?: number; msg?: string };
        if (entry.time === undefined || entry.time < fault.from || entry.time > fault.to) continue;
        said.set(entry.msg ?? line, (said.get(entry.msg ?? line) ?? 0) + 1);
      } catch {
        // a line cut by the output's tail
      }
    }
    if (said.size > 0) lines.push(`${instance}: ${[...said].map(([msg, n]) => `${msg} (x${n})`).join('; ')}`);
  }
  return lines.join('\n');
}

/** The requests that failed, counted by kind and answer (a client's own names and ids left out). */
function failureTally(failures: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const f of failures) {
    const key = f
      .replace(/ c\d+-\d+:/, ':')
      .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>')
      .slice(0, 160);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([what, n]) => `${n} x ${what}`).join('\n');
}

describe('control plane HA: NATS cluster, two replicas of every service, two gateways', () => {
  let nats: NatsCluster | undefined;
  let stack: ReplicatedStack | undefined;

  beforeAll(async () => {
    nats = await NatsCluster.start(3);
    // sweeps stay out of the comparison with a rebuild; a dead leader's lease goes in 2 s; the
    // load creates more than a project's default quotas allow
    stack = await ReplicatedStack.start(nats, {
      replicas: 2,
      gateways: 2,
      env: {
        // the leases moving and the projections following a rebuild, in the replicas' output tails
        LOG_LEVEL: 'info',
        ORPHAN_GRACE_SECONDS: '3600',
        QUOTA_RESERVATION_SECONDS: '3600',
        LEADER_LEASE_SECONDS: '2',
        QUOTA_PORT: '-1',
        QUOTA_ROUTER: '-1',
        QUOTA_FLOATINGIP: '-1',
      },
    });
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
    await nats?.stop();
  }, 120_000);

  it('keeps every acknowledged write, exactly once, through kill -9 of a NATS server, each leading replica and a gateway', async () => {
    if (!stack || !nats) throw new Error('the stack did not start');
    const s = stack;
    const cluster = nats;
    const api = <T>(method: string, path: string, body?: unknown) => s.api<T>(method, path, body);
    const net = await s.networkWithSubnet('ha-tenant', '10.60.0.0/16');
    const ext = await s.networkWithSubnet('ha-ext', '172.30.0.0/16', { 'router:external': true });

    const until = { done: false };
    const timeline = new Timeline();
    const clients = Array.from({ length: CLIENTS }, (_, i) => new Client(i, s.urls, { net, ext }, timeline));
    const running = clients.map((c) => c.run(until));
    const acked = () => clients.reduce((n, c) => n + c.acked.length, 0);
    /** Waits until the clients have had `n` more writes acknowledged: the stack serves again. */
    const progress = async (n: number, what: string) => {
      const target = acked() + n;
      const deadline = Date.now() + 120_000;
      while (acked() < target) {
        if (Date.now() > deadline) {
          const failures = clients.flatMap((c) => c.failures);
          throw new Error(`no progress after ${what}: ${acked()} of ${target}; ${failures.length} failures, the last: ${failures.slice(-5).join('; ')}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    /** each fault's window: from its kill to the progress after its restart */
    const faults: { name: string; from: number; to: number }[] = [];
    const fault = async (name: string, kill: () => Promise<void>, restart: () => Promise<void>, during?: () => Promise<void>) => {
      const from = Date.now();
      await kill();
      await progress(10, `killing ${name}`);
      await during?.();
      await restart();
      await progress(5, `restarting ${name}`);
      faults.push({ name, from, to: Date.now() });
    };
    try {
      await progress(20, 'the start');
      // one NATS server (the one the cluster lists first)
      await fault(
        'nats n1',
        () => cluster.killNode(0),
        () => cluster.startNode(0),
      );
      // each service's leading replica; the other replica takes the lease over
      for (const service of REPLICATED_BACKENDS) {
        const leader = await s.leader(service);
        await fault(
          leader,
          () => s.kill(leader),
          () => s.restart(leader),
          async () => {
            const deadline = Date.now() + 60_000;
            while ((await s.leaderOf(service)) === leader && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
            expect(await s.leaderOf(service)).not.toBe(leader);
          },
        );
      }
      await fault(
        'gateway-1',
        () => s.kill('gateway-1'),
        () => s.restart('gateway-1'),
      );
    } catch (e) {
      // a fault the stack did not come back from: what the replicas and the servers said
      console.log(faultDiagnostics(s, cluster, faults));
      throw e;
    } finally {
      until.done = true;
      await Promise.all(running);
    }

    const failures = clients.flatMap((c) => c.failures);
    const silences = faults.map((f) => ({
      fault: f.name,
      writes: timeline.silence('writes', f.from, f.to),
      ...Object.fromEntries(REPLICATED_BACKENDS.map((b) => [b, timeline.silence(b, f.from, f.to)])),
    }));
    console.log(`control plane HA: ${acked()} writes acknowledged, ${failures.length} refused or unanswered; longest silence per fault (ms):`);
    console.log(failureTally(failures));
    console.table(silences);
    const late = silences.filter((row) => Object.entries(row).some(([what, ms]) => what !== 'fault' && Number(ms) >= SLOW_MS));
    if (late.length > 0) console.log(faultDiagnostics(s, cluster, faults));
    for (const [i, row] of silences.entries())
      for (const [what, ms] of Object.entries(row))
        if (what !== 'fault')
          expect(ms, `${row.fault}: ${what}\n${faultSummary(s, faults[i] ?? { name: row.fault, from: 0, to: 0 })}`).toBeLessThan(FAILOVER_BOUND_MS);

    // every acknowledged create exists, once
    const all = <T>(kind: string) => api<Record<string, T[]>>('GET', `/v2.0/${kind}`).then((r) => r[kind] ?? []);
    const ports = await all<{ id: string; name: string; network_id: string; fixed_ips: { ip_address: string }[] }>('ports');
    const routers = await all<{ id: string; name: string }>('routers');
    const fips = await all<{ id: string; description: string; floating_ip_address: string }>('floatingips');
    const present = { ports: new Set(ports.map((p) => p.id)), routers: new Set(routers.map((r) => r.id)), floatingips: new Set(fips.map((f) => f.id)) };
    const missing = clients.flatMap((c) => c.acked).filter((a) => !present[a.kind].has(a.id));
    expect(missing).toEqual([]);
    const names = [...ports.filter((p) => p.network_id === net).map((p) => p.name), ...routers.map((r) => r.name), ...fips.map((f) => f.description)];
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    // no address given twice
    const addresses = [...ports.flatMap((p) => p.fixed_ips.map((f) => f.ip_address))];
    expect(addresses.length).toBe(new Set(addresses).size);

    // every projection equals a rebuild from the stream
    // (once the stack is still: the leaders' reactions confirm the last reservations after the load)
    // A late event (seen: one, after the settle's 3 quiet seconds) makes a comparison say
    // nothing; it is made again, up to three times, and the stream must have stood still.
    for (const service of REPLICATED_BACKENDS) {
      for (let attempt = 1; ; attempt++) {
        const at = await s.settle().catch((e: unknown) => {
          // what the replicas warned of since the faults ended: why a projection or reaction stays behind
          const after = { name: 'after the faults', from: faults.at(-1)?.to ?? 0, to: Date.now() };
          throw new Error(`${e instanceof Error ? e.message : String(e)}\n${faultSummary(s, after)}`);
        });
        const before = await s.projectionDump(service);
        await s.rebuild(service);
        const moved = (await s.streamLastSequence()) !== at;
        if (moved && attempt < 3) continue;
        expect(await s.streamLastSequence(), 'the stream moved during the comparison').toBe(at);
        const difference = ReplicatedStack.projectionDifference(before, await s.projectionDump(service));
        if (Object.keys(difference).length > 0) {
          // what its replicas said of their projections: a parked event, a reset, a consumer made again
          const said = s.serviceInstances
            .filter((i) => i.startsWith(`${service}-`))
            .flatMap((i) =>
              s
                .logs(i)
                .split('\n')
                .filter((l) => /projection|parked|checkpoint/i.test(l))
                .map((l) => `${i}: ${l}`),
            );
          console.log(`${service}: what its replicas logged of their projections\n${said.join('\n')}`);
        }
        expect(difference, `${service} rebuilt`).toEqual({});
        break;
      }
    }
    // how often a replay had to get a new consumer (ProjectionRunner.rebuild), and a consumer
    // lost a delivery on the way (a server killed with messages in flight), for the record
    const said = (text: string) =>
      s.serviceInstances.flatMap((i) =>
        s
          .logs(i)
          .split('\n')
          .filter((l) => l.includes(text)),
      );
    console.log(`replays that stalled and consumed again: ${said('projection replay stalled').length}`);
    console.log(`projection consumers that lost a delivery and consumed again: ${said('projection consumer skipped a delivery').length}`);
  }, 900_000);
});
