import { describe, expect, it } from 'vitest';
import { DesiredState } from './desired-state';

const intent = (id: string) => ({ id, kind: 'router', namespace: `qrouter-${id.slice(0, 8)}`, interfaces: ['qr-b0000001-00'], endpoints: [] });

describe('DesiredState.metadataIntents', () => {
  it('parses the meta entries, sorted, and reports the ones that do not parse', () => {
    const desired = new DesiredState();
    desired.put('r.h.meta.bbbbbbbb-0000-4000-8000-000000000002', JSON.stringify(intent('bbbbbbbb-0000-4000-8000-000000000002')));
    desired.put('r.h.meta.aaaaaaaa-0000-4000-8000-000000000001', JSON.stringify(intent('aaaaaaaa-0000-4000-8000-000000000001')));
    desired.put('r.h.meta.cccccccc-0000-4000-8000-000000000003', JSON.stringify({ ...intent('cccccccc-0000-4000-8000-000000000003'), namespace: 'a b' }));
    desired.put('r.h.router.aaaaaaaa-0000-4000-8000-000000000001', '{}');
    const { intents, invalid } = desired.metadataIntents();
    expect(intents.map((i) => i.id)).toEqual(['aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002']);
    expect(invalid.map((i) => i.key)).toEqual(['r.h.meta.cccccccc-0000-4000-8000-000000000003']);
  });
});

describe('DesiredState between passes', () => {
  const A = 'aaaaaaaa-0000-4000-8000-000000000001';
  const B = 'bbbbbbbb-0000-4000-8000-000000000002';

  it('gives the same intent until an entry of its kind changes, then the new one', () => {
    const desired = new DesiredState();
    desired.put(`r.h.meta.${A}`, JSON.stringify(intent(A)));
    desired.put(`r.h.meta.${B}`, '{');
    const first = desired.metadataIntents();
    expect(first.intents.map((i) => i.interfaces)).toEqual([['qr-b0000001-00']]);
    expect(first.invalid.map((i) => i.key)).toEqual([`r.h.meta.${B}`]);
    // another kind's change leaves it as it was
    desired.put(`r.h.router.${A}`, '{}');
    expect(desired.metadataIntents()).toEqual(first);

    desired.put(`r.h.meta.${A}`, JSON.stringify({ ...intent(A), interfaces: ['qr-b0000002-00'] }));
    desired.put(`r.h.meta.${B}`, JSON.stringify(intent(B)));
    expect(desired.metadataIntents().intents.map((i) => [i.id, i.interfaces])).toEqual([
      [A, ['qr-b0000002-00']],
      [B, ['qr-b0000001-00']],
    ]);
    expect(desired.delete(`r.h.meta.${A}`)).toBe(true);
    expect(desired.delete(`r.h.meta.${A}`)).toBe(false);
    expect(desired.metadataIntents().intents.map((i) => i.id)).toEqual([B]);
    expect([desired.count('meta'), desired.count('router'), desired.size]).toEqual([1, 1, 2]);
  });

  it('patches a long list with the few entries that changed as a list made anew would be, invalid entries too', () => {
    const id = (n: number) => `${n.toString(16).padStart(8, '0')}-0000-4000-8000-000000000001`;
    const patched = new DesiredState();
    const entries = new Map<string, string>();
    const put = (n: number, value: string) => {
      patched.put(`r.h.meta.${id(n)}`, value);
      entries.set(`r.h.meta.${id(n)}`, value);
    };
    for (let n = 0; n < 200; n++) put(n, JSON.stringify(intent(id(n))));
    const listed = patched.metadataIntents();
    // a few changes between passes, each kind of them: a new entry, a changed one, a deleted one, one turned invalid and one repaired
    const changes = [
      () => put(500, JSON.stringify(intent(id(500)))),
      () => put(7, JSON.stringify({ ...intent(id(7)), interfaces: [] })),
      () => {
        patched.delete(`r.h.meta.${id(9)}`);
        entries.delete(`r.h.meta.${id(9)}`);
      },
      () => put(11, '{'),
      () => put(11, JSON.stringify(intent(id(11)))),
      () => put(3, JSON.stringify({ ...intent(id(3)), namespace: 'a b' })),
    ];
    for (const change of changes) {
      change();
      const fresh = new DesiredState();
      for (const [key, value] of entries) fresh.put(key, value);
      const now = patched.metadataIntents();
      expect(now).toEqual(fresh.metadataIntents());
      expect(now.intents.length).toBeGreaterThan(195);
    }
    // what did not change is the object listed before
    expect(patched.metadataIntents().intents.find((i) => i.id === id(100))).toBe(listed.intents.find((i) => i.id === id(100)));
  });

  it("parses again only the entry that changed: the others' intents are the objects it gave before", () => {
    const desired = new DesiredState();
    desired.put(`r.h.router.${A}`, JSON.stringify({ id: A }));
    desired.put(`r.h.meta.${A}`, JSON.stringify(intent(A)));
    const [before] = desired.metadataIntents().intents;
    desired.put(`r.h.meta.${B}`, JSON.stringify(intent(B)));
    const after = desired.metadataIntents().intents;
    expect(after.map((i) => i.id)).toEqual([A, B]);
    // the drivers' caches (security groups' pieces, by object) hold across a pass that added B
    expect(after[0]).toBe(before);
    // the same value again changes nothing, and says so (the agent then runs no pass for it)
    expect(desired.put(`r.h.meta.${B}`, JSON.stringify(intent(B)))).toBe(false);
    expect(desired.metadataIntents().intents[1]).toBe(after[1]);
    expect(desired.put(`r.h.meta.${A}`, JSON.stringify({ ...intent(A), interfaces: [] }))).toBe(true);
    expect(desired.metadataIntents().intents[0]).not.toBe(before);
  });

  it('hands out intents no driver can change for the next pass', () => {
    const desired = new DesiredState();
    desired.put(`r.h.meta.${A}`, JSON.stringify(intent(A)));
    const { intents } = desired.metadataIntents();
    expect(() => (intents[0]?.interfaces as string[]).push('qr-x')).toThrow(TypeError);
    intents.pop();
    expect(desired.metadataIntents().intents[0]?.interfaces).toEqual(['qr-b0000001-00']);
  });
});

describe('DesiredState with a namespace prefix', () => {
  const ID = 'aaaaaaaa-0000-4000-8000-000000000001';
  const PORT = 'bbbbbbbb-0000-4000-8000-000000000002';
  const l2Port = (netns: string, id = PORT) => ({
    id,
    networkId: ID,
    mac: 'fa:16:3e:00:00:01',
    adminStateUp: true,
    workload: { netns, ifname: 'qr-bbbbbbbb-00' },
  });

  it("names the services' router and DHCP namespaces with the prefix, everywhere they appear; workloads' namespaces stay as they are", () => {
    const put = (desired: DesiredState) => {
      desired.put(`r.h.meta.${ID}`, JSON.stringify(intent(ID)));
      desired.put(`r.h.l2port.${PORT}`, JSON.stringify(l2Port('qrouter-aaaaaaaa')));
      desired.put('r.h.l2port.cccccccc-0000-4000-8000-000000000003', JSON.stringify(l2Port('qdhcp-aaaaaaaa', 'cccccccc-0000-4000-8000-000000000003')));
      desired.put('r.h.l2port.dddddddd-0000-4000-8000-000000000004', JSON.stringify(l2Port('vm-1', 'dddddddd-0000-4000-8000-000000000004')));
      return desired;
    };
    const prefixed = put(new DesiredState('n2-'));
    expect(prefixed.metadataIntents().intents.map((i) => i.namespace)).toEqual(['n2-qrouter-aaaaaaaa']);
    expect(prefixed.l2Intent().intent.ports.map((p) => p.workload.netns)).toEqual(['n2-qrouter-aaaaaaaa', 'n2-qdhcp-aaaaaaaa', 'vm-1']);
    const plain = put(new DesiredState());
    expect(plain.metadataIntents().intents.map((i) => i.namespace)).toEqual(['qrouter-aaaaaaaa']);
    expect(plain.l2Intent().intent.ports.map((p) => p.workload.netns)).toEqual(['qrouter-aaaaaaaa', 'qdhcp-aaaaaaaa', 'vm-1']);

    // the next pass gets the same frozen objects, renamed or not, until an entry changes
    for (const desired of [prefixed, plain]) {
      const before = desired.l2Intent().intent.ports;
      const meta = desired.metadataIntents().intents[0];
      desired.put('r.h.l2port.eeeeeeee-0000-4000-8000-000000000005', JSON.stringify(l2Port('vm-2', 'eeeeeeee-0000-4000-8000-000000000005')));
      const after = desired.l2Intent().intent.ports;
      expect(after.slice(0, 3).every((p, i) => p === before[i] && Object.isFrozen(p))).toBe(true);
      expect(desired.metadataIntents().intents[0]).toBe(meta);
      expect(Object.isFrozen(meta)).toBe(true);
    }
  });
});

const P1 = '5e000001-0000-4000-8000-000000000001';
const P2 = '5e000001-0000-4000-8000-000000000002';
const NET = '5e000000-0000-4000-8000-0000000000aa';
const G_WEB = '5e0000a0-0000-4000-8000-000000000001';
const G_DB = '5e0000a0-0000-4000-8000-000000000002';
const G_LATE = '5e0000a0-0000-4000-8000-000000000003';

const sgPort = (id: string, groups: string[]) => ({
  id,
  networkId: NET,
  mac: `fa:16:3e:00:00:${id.slice(-2)}`,
  fixedIps: ['10.0.0.5'],
  allowedAddressPairs: [],
  portSecurityEnabled: true,
  securityGroupIds: groups,
});
const ssh = { direction: 'ingress', ethertype: 'IPv4', protocol: 6, portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: '192.0.2.0/24', remoteGroupId: null };

describe('DesiredState.sgIntent', () => {
  it("assembles the ports, their groups and the remote groups' members from the three kinds, sorted", () => {
    const desired = new DesiredState();
    desired.put(`r.h.sgport.${P2}`, JSON.stringify(sgPort(P2, [G_DB])));
    desired.put(`r.h.sgport.${P1}`, JSON.stringify(sgPort(P1, [G_WEB])));
    desired.put(`r.h.sggroup.${G_WEB}`, JSON.stringify({ id: G_WEB, stateful: true, rules: [ssh] }));
    desired.put(`r.h.sggroup.${G_DB}`, JSON.stringify({ id: G_DB, stateful: false, rules: [{ ...ssh, remoteIpPrefix: null, remoteGroupId: G_WEB }] }));
    desired.put(`r.h.sgmem.${G_WEB}`, JSON.stringify({ groupId: G_WEB, addresses: ['10.0.0.5', '2001:db8::5'] }));
    desired.put(`r.h.l2port.${P1}`, '{}');
    const { intent, invalid } = desired.sgIntent();
    expect(invalid).toEqual([]);
    expect(intent.ports.map((p) => [p.id, p.securityGroupIds])).toEqual([
      [P1, [G_WEB]],
      [P2, [G_DB]],
    ]);
    expect(intent.groups.map((g) => [g.id, g.stateful, g.rules.length])).toEqual([
      [G_WEB, true, 1],
      [G_DB, false, 1],
    ]);
    expect(intent.members).toEqual([{ groupId: G_WEB, addresses: ['10.0.0.5', '2001:db8::5'] }]);
  });

  it('gives a group a port names but whose entry is missing or unreadable no rules, and reports the unreadable entries', () => {
    const desired = new DesiredState();
    desired.put(`r.h.sgport.${P1}`, JSON.stringify(sgPort(P1, [G_WEB, G_LATE])));
    desired.put(`r.h.sgport.${P2}`, JSON.stringify({ ...sgPort(P2, []), mac: 'not-a-mac' }));
    desired.put(`r.h.sggroup.${G_WEB}`, JSON.stringify({ id: G_WEB, stateful: true, rules: [{ ...ssh, protocol: 'tcp' }] }));
    desired.put(`r.h.sgmem.${G_DB}`, 'not json');
    const { intent, invalid } = desired.sgIntent();
    expect(intent.ports.map((p) => p.id)).toEqual([P1]);
    expect(intent.groups).toEqual([
      { id: G_WEB, stateful: true, rules: [] },
      { id: G_LATE, stateful: true, rules: [] },
    ]);
    expect(intent.members).toEqual([]);
    expect(invalid.map((i) => i.key)).toEqual([`r.h.sgport.${P2}`, `r.h.sggroup.${G_WEB}`, `r.h.sgmem.${G_DB}`]);
  });

  it('holds closed a filtered port L2 plugs before its own entry arrives, and not an unfiltered one', () => {
    const desired = new DesiredState();
    const l2port = (id: string, filtered: boolean) =>
      JSON.stringify({ id, networkId: G_DB, mac: 'fa:16:3e:00:00:0a', adminStateUp: true, filtered, workload: { netns: 'wl-a', ifname: 'eth0' } });
    desired.put(`r.h.l2port.${P1}`, l2port(P1, true));
    desired.put(`r.h.l2port.${P2}`, l2port(P2, false));
    expect(desired.sgIntent().intent.ports).toEqual([
      { id: P1, networkId: G_DB, mac: 'fa:16:3e:00:00:0a', fixedIps: [], allowedAddressPairs: [], portSecurityEnabled: true, securityGroupIds: [] },
    ]);
    // its own entry, once there, is what filters it
    desired.put(`r.h.sgport.${P1}`, JSON.stringify(sgPort(P1, [G_WEB])));
    expect(desired.sgIntent().intent.ports.map((p) => [p.id, p.securityGroupIds])).toEqual([[P1, [G_WEB]]]);
  });

  it('is empty without entries (the driver then sweeps every filter)', () => {
    expect(new DesiredState().sgIntent()).toEqual({ intent: { ports: [], groups: [], members: [] }, invalid: [] });
  });
});
