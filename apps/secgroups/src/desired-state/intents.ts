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
