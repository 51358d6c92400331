import { Kvm, type KV } from '@nats-io/kv';
import { DESIRED_KINDS, DESIRED_STATE_BUCKET, desiredKey, parseDesiredKey, type Naming } from '@ncp/contracts';
import { type NatsConnection } from '@ncp/eventstore';
import { type Logger } from '@ncp/nest-common';
import { routerIntent, type SubnetFacts } from '../domain/router-intent';
import { type L3Prisma } from '../infrastructure/prisma';

/**
 * Keeps every scheduled router's intent in the desired-state bucket under
 * `<row>.<host>.router.<id>`. Level-triggered: after the projection moves, all router
 * intents are recomputed from it and diffed against what is published.
 */
export class RouterIntentPublisher {
  private kv: KV | undefined;
  private readonly published = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    private readonly prisma: L3Prisma,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.kv = await new Kvm(this.nc).create(this.naming.bucket(DESIRED_STATE_BUCKET), { history: 1 });
    for await (const key of await this.kv.keys('*.*.router.*')) {
      const entry = await this.kv.get(key);
      if (entry?.operation === 'PUT') this.published.set(key, entry.string());
    }
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  /** Something changed: recompute soon (changes arriving together are published together). */
  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.running) {
        this.again = true;
        return;
      }
      this.running = this.publish()
        .catch((err: unknown) => this.logger.error({ err }, 'publishing router intents failed'))
        .finally(() => {
          this.running = undefined;
          if (this.again) {
            this.again = false;
            this.schedule();
          }
        });
    }, 20);
  }

  async publish(): Promise<void> {
    const kv = this.kv;
    if (!kv) return;
    const routers = await this.prisma.router.findMany({ where: { host: { not: null } }, include: { interfaces: true } });
    const fips = await this.prisma.floatingIp.findMany({ where: { routerId: { not: null } } });
    const subnetIds = new Set<string>();
    for (const r of routers) {
      for (const f of r.gatewayFixedIps as { subnetId: string }[]) subnetIds.add(f.subnetId);
      for (const i of r.interfaces) for (const f of i.fixedIps as { subnetId: string }[]) subnetIds.add(f.subnetId);
    }
    const subnets = new Map<string, SubnetFacts>(
      (await this.prisma.ipamSubnet.findMany({ where: { id: { in: [...subnetIds] } } })).map((s) => [s.id, s]),
    );
    const wanted = new Map<string, string>();
    for (const r of routers) {
      if (r.host === null || r.row === null) continue;
      const intent = routerIntent(
        {
          id: r.id,
          adminStateUp: r.adminStateUp,
          enableSnat: r.enableSnat,
          natExclusions: r.natExclusions,
          routes: r.routes as { destination: string; nexthop: string }[],
          gateway: r.gatewayPortId ? { portId: r.gatewayPortId, fixedIps: r.gatewayFixedIps as { subnetId: string; ipAddress: string }[] } : null,
          interfaces: r.interfaces.map((i) => ({ portId: i.portId, fixedIps: i.fixedIps as { subnetId: string; ipAddress: string }[] })),
          floatingIps: fips
            .filter((f) => f.routerId === r.id && f.fixedIpAddress !== null)
            .map((f) => ({ id: f.id, floatingIpAddress: f.floatingIpAddress, fixedIpAddress: f.fixedIpAddress ?? '' })),
        },
        subnets,
      );
      wanted.set(desiredKey(r.row, r.host, DESIRED_KINDS.router, r.id), JSON.stringify(intent));
    }
    for (const [key, value] of wanted) {
      if (this.published.get(key) === value) continue;
      await kv.put(key, value);
      this.published.set(key, value);
    }
    for (const key of [...this.published.keys()]) {
      if (wanted.has(key) || parseDesiredKey(key)?.kind !== DESIRED_KINDS.router) continue;
      await kv.delete(key);
      this.published.delete(key);
    }
  }
}
