import {
  BGP_AGGREGATES,
  DHCP_AGGREGATES,
  IPAM_AGGREGATES,
  L3_AGGREGATES,
  META_AGGREGATES,
  QUOTA_AGGREGATE,
  SG_AGGREGATES,
  USAGE_AGGREGATE,
} from '@ncp/contracts';

/** Which service owns (and folds) each aggregate: the context that answers its history. */
const OWNERS: readonly { context: string; aggregates: readonly string[] }[] = [
  { context: 'ipam', aggregates: [...Object.values(IPAM_AGGREGATES), QUOTA_AGGREGATE, USAGE_AGGREGATE] },
  { context: 'l3', aggregates: [...Object.values(L3_AGGREGATES), USAGE_AGGREGATE] },
  { context: 'dhcp', aggregates: Object.values(DHCP_AGGREGATES) },
  { context: 'bgp', aggregates: Object.values(BGP_AGGREGATES) },
  { context: 'meta', aggregates: Object.values(META_AGGREGATES) },
  { context: 'sg', aggregates: [...Object.values(SG_AGGREGATES), USAGE_AGGREGATE] },
];

/** The services netctl asks about projections (their admin context). */
export const SERVICE_CONTEXTS: Readonly<Record<string, string>> = { ipam: 'ipam', l3: 'l3', dhcp: 'dhcp', bgp: 'bgp', metadata: 'meta', secgroups: 'sg' };
/** Each service's Postgres schema, where its projections live. */
export const SERVICE_SCHEMAS: Readonly<Record<string, string>> = {
  ipam: 'ipam',
  l3: 'l3',
  dhcp: 'dhcp',
  bgp: 'bgp',
  metadata: 'metadata',
  secgroups: 'secgroups',
};

/**
 * `network` or `ipam.network` -> { context, aggregate }. A name two services use (`registry`)
 * must be given with its context.
 * @throws Error naming the choices
 */
export function resolveAggregate(name: string): { context: string; aggregate: string } {
  const [first = '', second] = name.split('.', 2);
  if (second !== undefined) {
    const owner = OWNERS.find((o) => o.context === first);
    if (!owner?.aggregates.includes(second)) throw new Error(`unknown aggregate ${name}; known: ${known()}`);
    return { context: first, aggregate: second };
  }
  const owners = OWNERS.filter((o) => o.aggregates.includes(first));
  if (owners.length === 0) throw new Error(`unknown aggregate ${name}; known: ${known()}`);
  if (owners.length > 1) throw new Error(`${name} is ambiguous: say ${owners.map((o) => `${o.context}.${first}`).join(' or ')}`);
  return { context: owners[0]?.context ?? '', aggregate: first };
}

const known = () => OWNERS.flatMap((o) => o.aggregates.map((a) => `${o.context}.${a}`)).join(', ');
