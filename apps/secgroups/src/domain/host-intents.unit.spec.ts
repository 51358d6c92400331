import { describe, expect, it } from 'vitest';
import { parseDesiredKey, type SgGroupIntent, type SgMembersIntent, type SgPortIntent } from '@ncp/contracts';
import { factsOf, portFacts, ruleFacts } from './__fixtures__/facts';
import { filteringEntries, type PortFacts, type RuleFacts } from './host-intents';

const WEB = '5e000000-0000-4000-8000-00000000000a';
const DB = '5e000000-0000-4000-8000-00000000000b';
const NET = '5e000000-0000-4000-8000-0000000000aa';
const port = (id: string, over: Partial<PortFacts> = {}): PortFacts => portFacts(id, { networkId: NET, securityGroups: [WEB], ...over });
const rule = (over: Partial<RuleFacts>): RuleFacts => ruleFacts(WEB, over);
/** Every host's entries, from the facts as lists. */
const sgHostEntries = (...lists: Parameters<typeof factsOf>) => filteringEntries(factsOf(...lists));
const rows = new Map([
  ['h1', 'r1'],
  ['h2', 'r2'],
]);

/** The entries of one host, by kind and id, parsed. */
function entriesOf(entries: Map<string, string>, host: string) {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [key, value] of entries) {
    const k = parseDesiredKey(key);
    if (k?.host !== host) continue;
    (out[k.kind] ??= {})[k.id] = JSON.parse(value);
  }
  return out;
}

describe("each host's filtering entries", () => {
  it('gives a host its filtered ports, their groups with rules as numbers, and the members of their remote groups from anywhere', () => {
    const ports = [
      port('p-1'),
      port('p-2', { bindingHostId: 'h2', securityGroups: [DB], allowedAddressPairs: [{ ipAddress: '10.9.0.0/24', macAddress: 'fa:16:3e:00:00:09' }] }),
    ];
    const rules = [
      rule({ protocol: 'tcp', portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: '192.0.2.0/24' }),
      rule({ remoteGroupId: DB }),
      rule({ remoteIpPrefix: '0.0.0.0/0', protocol: 'icmp' }),
    ];
    const entries = sgHostEntries(
      ports,
      [
        { id: WEB, stateful: true },
        { id: DB, stateful: false },
      ],
      rules,
      rows,
    );
    const h1 = entriesOf(entries, 'h1');
    expect(Object.keys(h1.sgport ?? {})).toEqual(['p-1']);
    expect((h1.sgport?.['p-1'] as SgPortIntent).fixedIps).toEqual(['10.0.0.1']);
    const web = h1.sggroup?.[WEB] as SgGroupIntent;
    expect(web.rules).toContainEqual(expect.objectContaining({ protocol: 6, portRangeMin: 22, remoteIpPrefix: '192.0.2.0/24' }));
    // 0.0.0.0/0 is the same as no prefix
    expect(web.rules).toContainEqual(expect.objectContaining({ protocol: 1, remoteIpPrefix: null }));
    expect(h1.sggroup?.[DB]).toBeUndefined();
    // DB's member is on h2, with its address pair
    expect((h1.sgmem?.[DB] as SgMembersIntent).addresses).toEqual(['10.0.0.2', '10.9.0.0/24']);
    // h2's port is in DB, whose (absent) rules name no remote group
    const h2 = entriesOf(entries, 'h2');
    expect(h2.sggroup?.[DB]).toEqual({ id: DB, stateful: false, rules: [] });
    expect(h2.sgmem).toBeUndefined();
  });

  it('filters neither trusted ports, nor ports without port security, nor unbound ports, nor ports of a host without an agent', () => {
    const ports = [
      port('p-1', { deviceOwner: 'network:router_interface' }),
      port('p-2', { portSecurityEnabled: false, securityGroups: [] }),
      port('p-3', { bindingHostId: '' }),
      port('p-4', { bindingHostId: 'h9' }),
    ];
    expect(sgHostEntries(ports, [{ id: WEB, stateful: true }], [], rows).size).toBe(0);
  });

  it('filters a port whose group is gone as a group without rules', () => {
    const h1 = entriesOf(sgHostEntries([port('p-1')], [], [rule({})], rows), 'h1');
    expect(h1.sggroup?.[WEB]).toEqual({ id: WEB, stateful: true, rules: [] });
  });
});
