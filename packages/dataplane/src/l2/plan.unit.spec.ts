import { type L2HostIntent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { goldenFiles } from '../__fixtures__/golden.js';
import { ownerAlias } from '../names.js';
import { N1, N2, N3, N4, P1, P2, P3, config, emptyHost, fixtureIntent, flatNet, plainLink, port1, port2, vxlanNet1 } from './__fixtures__/intent.js';
import { formatSteps } from '../format.js';
import { type ObservedL2 } from './observed.js';
import { planL2, type L2Plan, type Step } from './plan.js';

const expectGolden = goldenFiles('l2');

const H = ['ip', '-n', 'host-a'];
const B = ['bridge', '-n', 'host-a'];
const argvs = (steps: readonly Step[]): string[] => steps.map((s) => s.argv.join(' '));
const itemSteps = (plan: L2Plan, item: string): string[] => argvs(plan.steps.filter((s) => s.item === item));
/** vxlanNet1's VXLAN device with `vni`, in its bridge, with the flood list and the remote MACs in its fdb. */
const vxlanNet1Device = (vni: string): string[][] => [
  [...H, 'link', 'add', 'vx-1a2b3c4d', 'mtu', '1450', 'type', 'vxlan', 'id', vni, 'local', '10.0.0.1', 'dstport', '4789', 'nolearning'],
  [...H, 'link', 'set', 'dev', 'vx-1a2b3c4d', 'alias', `ncp:vx:${N1}`],
  [...H, 'link', 'set', 'dev', 'vx-1a2b3c4d', 'master', 'br-1a2b3c4d', 'up'],
  [...B, 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx-1a2b3c4d', 'dst', '10.0.0.2'],
  [...B, 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx-1a2b3c4d', 'dst', '10.0.0.3'],
  [...B, 'fdb', 'replace', 'fa:16:3e:00:02:01', 'dev', 'vx-1a2b3c4d', 'dst', '10.0.0.2'],
  [...B, 'fdb', 'replace', 'fa:16:3e:00:03:01', 'dev', 'vx-1a2b3c4d', 'dst', '10.0.0.3'],
];

/** The host as it looks after the one-vxlan-network, one-port intent below was applied. */
function convergedVxlanHost(): ObservedL2 {
  return {
    hostLinks: [
      plainLink('lo', { mtu: 65536 }),
      plainLink('eth1'),
      plainLink('eth2'),
      plainLink('br-1a2b3c4d', { alias: ownerAlias('net', N1), kind: 'bridge', mtu: 1450 }),
      plainLink('vx-1a2b3c4d', {
        alias: ownerAlias('vx', N1),
        kind: 'vxlan',
        master: 'br-1a2b3c4d',
        mtu: 1450,
        vxlan: { vni: 1001, local: '10.0.0.1', port: 4789, learning: false },
      }),
      plainLink('tapaaaa1111000', { alias: ownerAlias('port', P1), kind: 'veth', master: 'br-1a2b3c4d', mtu: 1450 }),
    ],
    fdb: {
      'vx-1a2b3c4d': [
        { mac: '00:00:00:00:00:00', dst: '10.0.0.2' },
        { mac: '00:00:00:00:00:00', dst: '10.0.0.3' },
        { mac: 'fa:16:3e:00:02:01', dst: '10.0.0.2' },
        { mac: 'fa:16:3e:00:03:01', dst: '10.0.0.3' },
      ],
    },
    netns: ['wl-vm1'],
    workloadLinks: {
      'wl-vm1': [plainLink('lo', { mtu: 65536 }), plainLink('eth0', { alias: ownerAlias('port', P1), kind: 'veth', mtu: 1450, address: 'fa:16:3e:00:01:01' })],
    },
  };
}

const oneVxlanPort: L2HostIntent = { networks: [vxlanNet1], ports: [port1] };

describe('planL2', () => {
  it('creates everything on an empty host', () => {
    const plan = planL2(oneVxlanPort, config, emptyHost);
    expect(plan.errors).toEqual([]);
    expect(itemSteps(plan, `network:${N1}`)).toEqual(
      [
        [...H, 'link', 'add', 'br-1a2b3c4d', 'type', 'bridge'],
        [...H, 'link', 'set', 'dev', 'br-1a2b3c4d', 'alias', `ncp:net:${N1}`],
        [...H, 'link', 'set', 'dev', 'br-1a2b3c4d', 'mtu', '1450', 'up'],
        ...vxlanNet1Device('1001'),
      ].map((a) => a.join(' ')),
    );
    expect(itemSteps(plan, `port:${P1}`)).toEqual(
      [
        ['ip', 'netns', 'add', 'wl-vm1'],
        [
          ...H,
          'link',
          'add',
          'tapaaaa1111000',
          'mtu',
          '1450',
          'type',
          'veth',
          'peer',
          'name',
          'eth0',
          'address',
          'fa:16:3e:00:01:01',
          'mtu',
          '1450',
          'netns',
          'wl-vm1',
        ],
        [...H, 'link', 'set', 'dev', 'tapaaaa1111000', 'alias', `ncp:port:${P1}`],
        [...H, 'link', 'set', 'dev', 'tapaaaa1111000', 'master', 'br-1a2b3c4d', 'up'],
        ['ip', '-n', 'wl-vm1', 'link', 'set', 'dev', 'eth0', 'alias', `ncp:port:${P1}`],
        ['ip', '-n', 'wl-vm1', 'link', 'set', 'dev', 'eth0', 'up'],
        ['ip', '-n', 'wl-vm1', 'link', 'set', 'dev', 'lo', 'up'],
      ].map((a) => a.join(' ')),
    );
    expect(plan.steps.filter((s) => s.item === 'sweep')).toEqual([]);
  });

  it('plans nothing when the host already matches', () => {
    expect(planL2(oneVxlanPort, config, convergedVxlanHost())).toMatchObject({ steps: [], errors: [] });
  });

  it('removes exactly one stale flood entry', () => {
    const observed = convergedVxlanHost();
    const fdb = [...(observed.fdb['vx-1a2b3c4d'] ?? []), { mac: '00:00:00:00:00:00', dst: '10.0.0.9' }];
    const plan = planL2(oneVxlanPort, config, { ...observed, fdb: { 'vx-1a2b3c4d': fdb } });
    expect(plan.errors).toEqual([]);
    expect(argvs(plan.steps)).toEqual([[...B, 'fdb', 'del', '00:00:00:00:00:00', 'dev', 'vx-1a2b3c4d', 'dst', '10.0.0.9'].join(' ')]);
  });

  it('moves a remote MAC to its new host: delete at the old remote, then add', () => {
    const intent: L2HostIntent = {
      networks: [
        {
          ...vxlanNet1,
          remoteMacs: [
            { mac: 'fa:16:3e:00:02:01', tunnelIp: '10.0.0.3' },
            { mac: 'fa:16:3e:00:03:01', tunnelIp: '10.0.0.3' },
          ],
        },
      ],
      ports: [port1],
    };
    expect(argvs(planL2(intent, config, convergedVxlanHost()).steps)).toEqual([
      [...B, 'fdb', 'del', 'fa:16:3e:00:02:01', 'dev', 'vx-1a2b3c4d', 'dst', '10.0.0.2'].join(' '),
      [...B, 'fdb', 'replace', 'fa:16:3e:00:02:01', 'dev', 'vx-1a2b3c4d', 'dst', '10.0.0.3'].join(' '),
    ]);
  });

  it('fixes only what differs: MTU, master, admin state, workload MAC', () => {
    const observed = convergedVxlanHost();
    const hostLinks = observed.hostLinks.map((l) =>
      l.name === 'br-1a2b3c4d' ? { ...l, mtu: 1500, up: false } : l.name === 'tapaaaa1111000' ? { ...l, master: null } : l,
    );
    const workload = (observed.workloadLinks['wl-vm1'] ?? []).map((l) => (l.name === 'eth0' ? { ...l, address: 'fa:16:3e:99:99:99' } : l));
    const plan = planL2({ networks: [vxlanNet1], ports: [{ ...port1, adminStateUp: false }] }, config, {
      ...observed,
      hostLinks,
      workloadLinks: { 'wl-vm1': workload },
    });
    expect(argvs(plan.steps)).toEqual([
      [...H, 'link', 'set', 'dev', 'br-1a2b3c4d', 'mtu', '1450', 'up'].join(' '),
      [...H, 'link', 'set', 'dev', 'tapaaaa1111000', 'master', 'br-1a2b3c4d', 'down'].join(' '),
      ['ip', '-n', 'wl-vm1', 'link', 'set', 'dev', 'eth0', 'address', 'fa:16:3e:00:01:01'].join(' '),
    ]);
  });

  it('recreates a VXLAN device whose VNI changed, and re-adds its fdb', () => {
    const plan = planL2(
      { networks: [{ ...vxlanNet1, segment: { ...vxlanNet1.segment, segmentationId: 2002 } }], ports: [port1] },
      config,
      convergedVxlanHost(),
    );
    expect(argvs(plan.steps)).toEqual([[...H, 'link', 'del', 'dev', 'vx-1a2b3c4d'], ...vxlanNet1Device('2002')].map((a) => a.join(' ')));
  });

  it('sweeps our objects that are no longer wanted, and nothing else', () => {
    const observed = convergedVxlanHost();
    const plan = planL2({ networks: [], ports: [] }, config, {
      ...observed,
      hostLinks: [
        ...observed.hostLinks.filter((l) => l.name !== 'eth1'),
        // a flat network that went away: its physnet NIC is released, never deleted
        plainLink('br-3c4d5e6f', { alias: ownerAlias('net', N3), kind: 'bridge' }),
        plainLink('eth1', { master: 'br-3c4d5e6f' }),
        // not ours: untouched (another driver's link in our bridge goes with the bridge)
        plainLink('br-foreign', { kind: 'bridge', alias: 'somebody else' }),
        plainLink('qr-1', { kind: 'veth', master: 'br-1a2b3c4d', alias: 'ncp:router:1' }),
      ],
    });
    expect(plan.errors).toEqual([]);
    expect(plan.steps.every((s) => s.item === 'sweep')).toBe(true);
    expect(argvs(plan.steps)).toEqual(
      [
        [...H, 'link', 'del', 'dev', 'tapaaaa1111000'],
        [...H, 'link', 'del', 'dev', 'vx-1a2b3c4d'],
        [...H, 'link', 'del', 'dev', 'br-1a2b3c4d'],
        [...H, 'link', 'set', 'dev', 'eth1', 'nomaster'],
        [...H, 'link', 'del', 'dev', 'br-3c4d5e6f'],
      ].map((a) => a.join(' ')),
    );
  });

  it('does not sweep the objects of an item that is in the intent but in error', () => {
    const broken: L2HostIntent = { networks: [{ ...vxlanNet1, floodList: ['not-an-ip'] }], ports: [port1] };
    const plan = planL2(broken, config, convergedVxlanHost());
    expect(plan.steps).toEqual([]);
    expect(plan.errors.map((e) => e.item)).toEqual([`network:${N1}`, `port:${P1}`]);
    expect(plan.errors[0]?.error).toMatch(/floodList\.0: must be an IPv4 or IPv6 address/);
    expect(plan.errors[1]?.error).toMatch(/in error/);
  });

  it('reports a port of an unknown network as an error of that port only', () => {
    const plan = planL2({ networks: [vxlanNet1], ports: [port1, port2] }, config, emptyHost);
    expect(plan.errors).toEqual([{ item: `port:${P2}`, error: `network ${N3} is not in this host's intent` }]);
    expect(plan.steps.some((s) => s.item === `port:${P2}`)).toBe(false);
    expect(plan.steps.some((s) => s.item === `port:${P1}`)).toBe(true);
  });

  it('errors a network whose physnet has no mapping, and its ports', () => {
    const plan = planL2({ networks: [flatNet], ports: [port2] }, { ...config, physnets: {} }, emptyHost);
    expect(plan.steps).toEqual([]);
    expect(plan.errors).toEqual([
      { item: `network:${N3}`, error: "no interface is mapped for physical network 'extnet0' on this host (mapped: none)" },
      { item: `port:${P2}`, error: `network ${N3} is in error on this host, so the port cannot be plugged` },
    ]);
  });

  it('errors a network whose physnet interface does not exist', () => {
    const plan = planL2({ networks: [flatNet], ports: [] }, config, { ...emptyHost, hostLinks: [plainLink('lo')] });
    expect(plan.errors[0]?.error).toBe("interface eth1 of physical network 'extnet0' does not exist in the host namespace");
  });

  it("never touches a link that has our name but someone else's alias", () => {
    const observed: ObservedL2 = { ...emptyHost, hostLinks: [...emptyHost.hostLinks, plainLink('br-1a2b3c4d', { kind: 'bridge', alias: 'libvirt' })] };
    const plan = planL2(oneVxlanPort, config, observed);
    expect(plan.steps).toEqual([]);
    expect(plan.errors[0]?.error).toMatch(/br-1a2b3c4d exists in the host namespace but is not ours/);
  });

  it('adopts a link with our name and no alias (an agent killed between add and alias)', () => {
    const converged = convergedVxlanHost();
    const unmarked = converged.hostLinks.map((l) => (l.name === 'br-1a2b3c4d' ? { ...l, alias: null } : l));
    const plan = planL2(oneVxlanPort, config, { ...converged, hostLinks: unmarked });
    expect(plan.errors).toEqual([]);
    expect(plan.steps.map((st) => st.argv.join(' '))).toEqual([[...H, 'link', 'set', 'dev', 'br-1a2b3c4d', 'alias', `ncp:net:${N1}`].join(' ')]);
  });

  it('refuses a workload interface name held by something else', () => {
    const observed: ObservedL2 = { ...emptyHost, netns: ['wl-vm1'], workloadLinks: { 'wl-vm1': [plainLink('lo'), plainLink('eth0')] } };
    const plan = planL2(oneVxlanPort, config, observed);
    expect(plan.errors).toEqual([{ item: `port:${P1}`, error: 'eth0 already exists in namespace wl-vm1 (alias null); not touching it' }]);
  });

  it('recreates a veth whose workload end is gone or elsewhere', () => {
    const observed = convergedVxlanHost();
    const plan = planL2(oneVxlanPort, config, { ...observed, workloadLinks: { 'wl-vm1': [plainLink('lo')] } });
    expect(itemSteps(plan, `port:${P1}`)[0]).toBe([...H, 'link', 'del', 'dev', 'tapaaaa1111000'].join(' '));
    expect(itemSteps(plan, `port:${P1}`)[1]).toMatch(/link add tapaaaa1111000 .* netns wl-vm1$/);
  });

  it('refuses an invalid host config as a whole', () => {
    expect(() => planL2(oneVxlanPort, { ...config, netns: 'bad name' }, emptyHost)).toThrow(/invalid L2 host config/);
  });

  it('omits -n for the root namespace', () => {
    const plan = planL2(oneVxlanPort, { ...config, netns: null }, emptyHost);
    expect(plan.steps[0]?.argv).toEqual(['ip', 'link', 'add', 'br-1a2b3c4d', 'type', 'bridge']);
    expect(plan.steps.find((s) => s.argv[0] === 'bridge')?.argv.slice(0, 3)).toEqual(['bridge', 'fdb', 'append']);
  });

  it('matches the golden plan of the fixture host', () => {
    const plan = planL2(fixtureIntent, config, emptyHost);
    expect(plan.errors).toEqual([]);
    expectGolden('plan.txt', formatSteps(plan.steps));
  });

  it('does not depend on the order of the intent', () => {
    const base = planL2(fixtureIntent, config, emptyHost);
    const shuffles: L2HostIntent[] = [
      { networks: [...fixtureIntent.networks].reverse(), ports: [...fixtureIntent.ports].reverse() },
      { networks: rotate(fixtureIntent.networks, 2), ports: rotate(fixtureIntent.ports, 1) },
      {
        networks: fixtureIntent.networks.map((n) => ({ ...n, floodList: [...n.floodList].reverse(), remoteMacs: [...n.remoteMacs].reverse() })),
        ports: [...fixtureIntent.ports, ...fixtureIntent.ports],
      },
    ];
    for (const intent of shuffles) {
      const plan = planL2(intent, config, emptyHost);
      expect(plan.errors).toEqual([]);
      for (const item of [N1, N2, N3, N4].map((id) => `network:${id}`).concat([P1, P2, P3].map((id) => `port:${id}`))) {
        expect(itemSteps(plan, item)).toEqual(itemSteps(base, item));
      }
      expect(plan.steps).toEqual(base.steps);
    }
  });

  it('errors the second of two networks whose names clash', () => {
    const twin = { ...vxlanNet1, id: '1a2b3c4d-ffff-4000-8000-000000000009', segment: { ...vxlanNet1.segment, segmentationId: 7 } };
    const plan = planL2({ networks: [twin, vxlanNet1], ports: [] }, config, emptyHost);
    expect(plan.errors).toEqual([
      { item: `network:${twin.id}`, error: `its link names (br-1a2b3c4d) clash with network ${N1}: the first 8 hex digits of the ids are equal` },
    ]);
  });

  it('rejects tunnel addresses of the other IP family', () => {
    const plan = planL2({ networks: [{ ...vxlanNet1, floodList: ['2001:db8::2'] }], ports: [] }, config, emptyHost);
    expect(plan.errors[0]?.error).toBe("tunnel address 2001:db8::2 is not IPv4 like this host's 10.0.0.1");
  });
});

function rotate<T>(items: readonly T[], by: number): T[] {
  return [...items.slice(by), ...items.slice(0, by)];
}
