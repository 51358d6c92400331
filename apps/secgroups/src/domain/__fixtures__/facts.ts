import { groupBy } from '@ncp/contracts';
import { type FilteringFacts, type GroupFacts, type PortFacts, type RuleFacts } from '../host-intents';

/** A port of host h1 with port security, in no group, its fixed IP 10.0.0.<the id's digits>. */
export const portFacts = (id: string, over: Partial<PortFacts> = {}): PortFacts => ({
  id,
  networkId: 'n1',
  macAddress: 'fa:16:3e:00:00:01',
  deviceOwner: 'compute:nova',
  bindingHostId: 'h1',
  fixedIps: [{ ipAddress: `10.0.0.${id.replace(/\D/g, '')}` }],
  portSecurityEnabled: true,
  securityGroups: [],
  allowedAddressPairs: [],
  ...over,
});

/** An ingress IPv4 rule of `securityGroupId` that matches anything. */
export const ruleFacts = (securityGroupId: string, over: Partial<RuleFacts> = {}): RuleFacts => ({
  securityGroupId,
  direction: 'ingress',
  ethertype: 'IPv4',
  protocol: null,
  portRangeMin: null,
  portRangeMax: null,
  remoteIpPrefix: null,
  remoteGroupId: null,
  ...over,
});

/** The facts of these lists, rules in the order given. */
export const factsOf = (
  ports: readonly PortFacts[],
  groups: readonly GroupFacts[],
  rules: readonly RuleFacts[],
  rowOfHost: ReadonlyMap<string, string>,
): FilteringFacts => ({ ports, groups: new Map(groups.map((g) => [g.id, g])), rulesOf: groupBy(rules, (r) => r.securityGroupId), rowOfHost });
