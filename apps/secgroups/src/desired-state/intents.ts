import { DESIRED_KINDS, ipamNetworkEvent, parseDesiredKey, type Naming, type RecordedEvent } from '@ncp/contracts';
import { sgHostEntries, type PortFacts } from '../domain/host-intents';
import { type SecgroupsPrisma } from '../infrastructure/prisma';

/** Every host's filtering entries (`sgport`, `sggroup`, `sgmem`), from the projection. */
export async function securityGroupEntries(prisma: SecgroupsPrisma): Promise<Map<string, string>> {
  const [ports, groups, rules, agents] = await Promise.all([
    prisma.ipamPort.findMany({ orderBy: { id: 'asc' } }),
    prisma.securityGroup.findMany({ select: { id: true, stateful: true } }),
    prisma.securityGroupRule.findMany({ orderBy: { id: 'asc' } }),
    prisma.agent.findMany(),
  ]);
  return sgHostEntries(
    ports.map((p) => ({
      ...p,
      fixedIps: p.fixedIps as unknown as PortFacts['fixedIps'],
      allowedAddressPairs: p.allowedAddressPairs as unknown as PortFacts['allowedAddressPairs'],
    })),
    groups,
    rules,
    new Map(agents.map((a) => [a.host, a.row])),
  );
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
