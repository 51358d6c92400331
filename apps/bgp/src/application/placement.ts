import { serviceMeta } from '@ncp/contracts';
import { ReconcileLoop, type HeartbeatWatcher } from '@ncp/eventstore';
import { type Logger } from '@ncp/nest-common';
import { chooseSpeakerHosts, familiesClash } from '../domain/placement';
import { type BgpPrisma } from '../infrastructure/prisma';
import { type BgpCommands } from './commands';
import { speakerHosts, speakerIpVersion } from './facts';

/**
 * Keeps every speaker on live bgp agents (two, in different rows when there are), moving it
 * off dead agents unless pinned there. Level-triggered and idempotent: a pass on every
 * projection advance and on a timer; passes never overlap.
 */
export class BgpPlacement extends ReconcileLoop {
  /** speakers already warned about as placed nowhere (once each, not every pass) */
  private readonly unplaced = new Set<string>();

  constructor(
    private readonly prisma: BgpPrisma,
    private readonly commands: BgpCommands,
    private readonly heartbeats: Pick<HeartbeatWatcher, 'isAlive'>,
    private readonly catchUp: () => Promise<void>,
    private readonly logger: Logger,
  ) {
    super('BGP speaker placement', logger);
  }

  async reconcile(): Promise<void> {
    await this.catchUp();
    const [speakers, agents] = await Promise.all([
      this.prisma.bgpSpeaker.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
      this.prisma.agent.findMany(),
    ]);
    const load = new Map<string, number>();
    for (const s of speakers) for (const h of speakerHosts(s)) load.set(h.host, (load.get(h.host) ?? 0) + 1);
    // Which speakers run where, as decided so far in this pass (pinned ones count from the
    // start: the operator chose them); earlier speakers keep a host a later one clashes on.
    const decided = new Map<string, { host: string; ipVersion: 4 | 6 | null }[]>();
    for (const s of speakers) {
      const pinned = speakerHosts(s).filter((h) => h.pinned);
      if (pinned.length > 0)
        decided.set(
          s.id,
          pinned.map((h) => ({ host: h.host, ipVersion: speakerIpVersion(s) })),
        );
    }
    for (const speaker of speakers) {
      const current = speakerHosts(speaker);
      const ipVersion = speakerIpVersion(speaker);
      const others = [...decided.entries()].filter(([id]) => id !== speaker.id).flatMap(([, hosts]) => hosts);
      const candidates = agents.map((a) => ({
        host: a.host,
        row: a.row,
        roles: a.roles,
        alive: this.heartbeats.isAlive(a.host),
        busy: others.some((o) => o.host === a.host && familiesClash(o.ipVersion, ipVersion)),
      }));
      const wanted = chooseSpeakerHosts(current, candidates, load);
      decided.set(
        speaker.id,
        wanted.map((h) => ({ host: h.host, ipVersion })),
      );
      if (wanted.length === 0 && !this.unplaced.has(speaker.id)) {
        this.unplaced.add(speaker.id);
        this.logger.warn({ speakerId: speaker.id }, 'no live bgp agent without a speaker of the same address family: the speaker runs nowhere for now');
      } else if (wanted.length > 0) this.unplaced.delete(speaker.id);
      if (JSON.stringify(wanted) === JSON.stringify(current)) continue;
      for (const h of current) load.set(h.host, (load.get(h.host) ?? 1) - 1);
      for (const h of wanted) load.set(h.host, (load.get(h.host) ?? 0) + 1);
      const gone = current.filter((h) => !wanted.some((w) => w.host === h.host)).map((h) => h.host);
      const reason =
        gone.length > 0 ? `left ${gone.join(', ')} (agent down, without the bgp role, or taken by a speaker of the same family)` : 'placed on live bgp agents';
      try {
        await this.commands.speakers.execute(speaker.id, { type: 'Schedule', id: speaker.id, hosts: wanted, reason }, serviceMeta('bgp:placement'));
        this.logger.info({ speakerId: speaker.id, hosts: wanted.map((h) => h.host), reason }, 'BGP speaker placed');
      } catch (err) {
        this.logger.error({ err, speakerId: speaker.id }, 'BGP speaker not placed; retrying on the next pass');
      }
    }
  }
}
