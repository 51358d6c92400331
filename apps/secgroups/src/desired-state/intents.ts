import { DESIRED_KINDS, groupBy, ipamNetworkEvent, parseDesiredKey, type Naming, type RecordedEvent } from '@ncp/contracts';
import { type DesiredScope } from '@ncp/eventstore';
import { rowChanges } from '@ncp/fact-mirror';
import { filteringEntries, SgEntryTexts, type GroupFacts, type PortFacts, type RuleFacts } from '../domain/host-intents';
import { type SecgroupsPrisma } from '../infrastructure/prisma';

/** Reads the projection's filtering facts: all of them, or those of the ids given. */
export interface FilteringReader {
  ports(ids?: readonly string[]): Promise<PortFacts[]>;
  groups(ids?: readonly string[]): Promise<GroupFacts[]>;
  rules(groupIds?: readonly string[]): Promise<RuleFacts[]>;
  agents(hosts?: readonly string[]): Promise<{ host: string; row: string }[]>;
}

export function prismaFilteringReader(prisma: SecgroupsPrisma): FilteringReader {
  const among = (ids: readonly string[] | undefined) => (ids === undefined ? undefined : { in: [...ids] });
  return {
    ports: async (ids) =>
      (await prisma.ipamPort.findMany({ where: { id: among(ids) } })).map((p) => ({
        ...p,
        fixedIps: p.fixedIps as unknown as PortFacts['fixedIps'],
        allowedAddressPairs: p.allowedAddressPairs as unknown as PortFacts['allowedAddressPairs'],
      })),
    groups: (ids) => prisma.securityGroup.findMany({ where: { id: among(ids) }, select: { id: true, stateful: true } }),
    // in a stable order: a group's rules are one entry, compared as text
    rules: (groupIds) => prisma.securityGroupRule.findMany({ where: { securityGroupId: among(groupIds) }, orderBy: { id: 'asc' } }),
    agents: (hosts) => prisma.agent.findMany({ where: { host: among(hosts) }, select: { host: true, row: true } }),
  };
}

/** The rows a batch of the projection's events may have changed: `port:<id>` and `agent:<host>` (the fact mirror's keys), `group:<id>`. */
export function filteringChangesOf(events: readonly RecordedEvent[]): string[] {
  const changed = new Set<string>();
  for (const e of events) {
    if (e.envelope.aggregate === 'group') changed.add(`group:${e.envelope.aggregateId}`);
    else for (const { key } of rowChanges(e)) if (key.startsWith('port:') || key.startsWith('agent:')) changed.add(key);
  }
  return [...changed];
}

/**
 * The service's copy of the filtering facts, and every host's entries (`sgport`, `sggroup`,
 * `sgmem`) made from it. A pass reads again only the rows its scope names (`filteringChangesOf`),
 * or everything for `'all'`: each bind used to read every port of the cloud from Postgres and
 * serialise every entry again.
 */
export class FilteringState {
  private ports = new Map<string, PortFacts>();
  private groups = new Map<string, GroupFacts>();
  private rulesOf = new Map<string, readonly RuleFacts[]>();
  private rowOfHost = new Map<string, string>();
  private loaded = false;
  private readonly texts = new SgEntryTexts();

  constructor(private readonly reader: FilteringReader) {}

  async entries(scope: DesiredScope): Promise<Map<string, string>> {
    if (scope === 'all' || !this.loaded) await this.readAll();
    else await this.readAgain(scope);
    return filteringEntries({ ports: this.ports, groups: this.groups, rulesOf: this.rulesOf, rowOfHost: this.rowOfHost }, this.texts);
  }

  private async readAll(): Promise<void> {
    this.loaded = false;
    const [ports, groups, rules, agents] = await Promise.all([this.reader.ports(), this.reader.groups(), this.reader.rules(), this.reader.agents()]);
    this.ports = new Map(ports.map((p) => [p.id, p]));
    this.groups = new Map(groups.map((g) => [g.id, g]));
    this.rulesOf = groupBy(rules, (r) => r.securityGroupId);
    this.rowOfHost = new Map(agents.map((a) => [a.host, a.row]));
    this.loaded = true;
  }

  /** Reads the rows named again, all before changing any: a failed read leaves the copy as it was. */
  private async readAgain(changed: ReadonlySet<string>): Promise<void> {
    const named = { port: [] as string[], agent: [] as string[], group: [] as string[] };
    const listOf: Record<string, string[] | undefined> = named;
    for (const key of changed) {
      const colon = key.indexOf(':');
      listOf[key.slice(0, colon)]?.push(key.slice(colon + 1));
    }
    const none = Promise.resolve([]);
    const [ports, agents, groups, rules] = await Promise.all([
      named.port.length ? this.reader.ports(named.port) : none,
      named.agent.length ? this.reader.agents(named.agent) : none,
      named.group.length ? this.reader.groups(named.group) : none,
      named.group.length ? this.reader.rules(named.group) : none,
    ]);
    replaceRows(this.ports, named.port, ports, (p) => p.id);
    replaceRows(this.groups, named.group, groups, (g) => g.id);
    const rulesOf = groupBy(rules, (r) => r.securityGroupId);
    for (const id of named.group) {
      const groupRules = rulesOf.get(id);
      if (groupRules === undefined) this.rulesOf.delete(id);
      else this.rulesOf.set(id, groupRules);
    }
    for (const host of named.agent) this.rowOfHost.delete(host);
    for (const a of agents) this.rowOfHost.set(a.host, a.row);
  }
}

/** The rows read for `ids` replace theirs; an id without a row is gone. */
function replaceRows<T>(rows: Map<string, T>, ids: readonly string[], read: readonly T[], idOf: (row: T) => string): void {
  for (const id of ids) rows.delete(id);
  for (const row of read) rows.set(idOf(row), row);
}

/**
 * Whether a batch of the projection's events leaves every entry as `published` shows it: only
 * ports created unbound (no host filters them) in no group whose members an entry lists, and
 * statuses. Every port created used to read every port of the cloud again; a port joining a
 * group whose members hosts filter on still does.
 */
export function filteringUnchangedBy(naming: Naming, events: readonly RecordedEvent[], published: ReadonlyMap<string, string>): boolean {
  let listedGroups: Set<string> | undefined;
  return events.every((e) => {
    const event = ipamNetworkEvent(naming, e);
    switch (event?.type) {
      case 'PortStatusChanged':
        return true;
      case 'PortCreated': {
        const groups = (listedGroups ??= groupsWithMembersIn(published));
        return event.data.bindingHostId === '' && !event.data.securityGroups.some((g) => groups.has(g));
      }
      default:
        return false;
    }
  });
}

const groupsWithMembersIn = (entries: ReadonlyMap<string, string>): Set<string> =>
  new Set(
    [...entries.keys()].flatMap((key) => {
      const parsed = parseDesiredKey(key);
      return parsed?.kind === DESIRED_KINDS.sgMembers ? [parsed.id] : [];
    }),
  );
