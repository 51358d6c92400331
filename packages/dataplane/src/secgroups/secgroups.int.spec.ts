import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { type SgGroupIntent, type SgHostIntent, type SgPortIntent, type SgRuleIntent } from '@ncp/contracts';
import { waitForDad } from '@ncp/testing';
import { describeOnNamespaces } from '../__fixtures__/netns-suite';
import { bridgeName, tapName } from '../names';
import { ExecFileRunner, type CommandRunner } from '../runner';
import { SecurityGroupsApplier, reconcileSecurityGroups } from './reconcile';

const NET = '5e000000-0000-4000-8000-0000000000aa';
const A = '5e000000-0000-4000-8000-00000000000a';
const B = '5e000000-0000-4000-8000-00000000000b';
const workloads = [
  { id: '5e000001-0000-4000-8000-000000000001', ns: 'w1', mac: 'fa:16:3e:00:00:01', ip: '10.20.0.1', groups: [A] },
  { id: '5e000002-0000-4000-8000-000000000002', ns: 'w2', mac: 'fa:16:3e:00:00:02', ip: '10.20.0.2', groups: [A] },
  { id: '5e000003-0000-4000-8000-000000000003', ns: 'w3', mac: 'fa:16:3e:00:00:03', ip: '10.20.0.3', groups: [B] },
];
const any = { protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null };
const egressAll: SgRuleIntent = { direction: 'egress', ethertype: 'IPv4', ...any };

/** The real runner, keeping what each `nft -f` was given (to tell a full replace from an update). */
function loadsKept(): { runner: CommandRunner; loads: string[] } {
  const real = new ExecFileRunner();
  const loads: string[] = [];
  return {
    loads,
    runner: {
      run: (argv, options) => {
        if (options?.input !== undefined) loads.push(options.input);
        return real.run(argv, options);
      },
    },
  };
}

/**
 * `nft -j list table` of both tables, comparable whatever order things were made in: handles
 * dropped, chains, sets and maps by name, elements sorted, each chain's rules in their order.
 */
function normalised(...listings: string[]): Record<string, unknown> {
  const drop = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(drop)
      : typeof value === 'object' && value !== null
        ? Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (k === 'handle' ? [] : [[k, drop(v)]])))
        : value;
  const out: Record<string, unknown> = {};
  for (const listing of listings) {
    for (const item of (JSON.parse(listing) as { nftables: Record<string, Record<string, unknown>>[] }).nftables) {
      for (const [kind, body] of Object.entries(item)) {
        if (kind === 'metainfo') continue;
        const b = drop(body) as Record<string, unknown>;
        if (kind === 'rule') {
          const key = `rules ${String(b.family)} ${String(b.chain)}`;
          out[key] = [...((out[key] as unknown[] | undefined) ?? []), b.expr];
          continue;
        }
        if (Array.isArray(b.elem)) b.elem = b.elem.map((e) => JSON.stringify(e)).sort();
        out[`${kind} ${String(b.family)} ${String(b.name)}`] = b;
      }
    }
  }
  return out;
}

/** Sends one unsolicited neighbour advertisement for the target given, from eth0's link-local address to all nodes. */
const SEND_NA = [
  'import socket, struct, sys',
  's = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)',
  's.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)',
  "s.sendto(struct.pack('!BBHI', 136, 0, 0, 0x20000000) + socket.inet_pton(socket.AF_INET6, sys.argv[1]), ('ff02::1', 0, 0, socket.if_nametoindex('eth0')))",
].join('\n');

/** A ping every 0.2 s from a namespace, its replies counted as they come. */
function startPing(ns: string, target: string) {
  const child = spawn('ip', ['netns', 'exec', ns, 'ping', '-n', '-i', '0.2', '-W', '1', target]);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const replies = () => output.match(/ bytes from /g)?.length ?? 0;
  return {
    replies,
    /** waits until `count` replies in all came back */
    until: (count: number) =>
      vi.waitFor(
        () => {
          if (replies() < count) throw new Error(`${replies()} of ${count} ping replies:\n${output.slice(-500)}`);
        },
        { timeout: 20_000, interval: 100 },
      ),
    /** stops it right after a reply (ping counts a request still in flight as lost): requests sent and answered */
    stop: async (): Promise<{ sent: number; received: number }> => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await vi.waitFor(() => {
        if (!output.endsWith(' ms\n')) throw new Error('waiting for a reply');
      });
      child.kill('SIGINT');
      await exited;
      const [, sent, received] = /(\d+) packets transmitted, (\d+) received/.exec(output) ?? [];
      return { sent: Number(sent), received: Number(received) };
    },
  };
}

function intent(bIngress: SgRuleIntent[]): SgHostIntent {
  return {
    ports: workloads.map((w) => ({
      id: w.id,
      networkId: NET,
      mac: w.mac,
      fixedIps: [w.ip],
      allowedAddressPairs: [],
      portSecurityEnabled: true,
      securityGroupIds: w.groups,
    })),
    groups: [
      { id: A, stateful: true, rules: [egressAll, { direction: 'ingress', ethertype: 'IPv4', ...any, remoteGroupId: A }] },
      { id: B, stateful: true, rules: [egressAll, ...bIngress] },
    ],
    members: [{ groupId: A, addresses: ['10.20.0.1', '10.20.0.2'] }],
  };
}

describeOnNamespaces('security groups on the real kernel (bridge + br_netfilter + inet conntrack)', ['nft', 'ping'], (topo) => {
  const plan = topo.plan({ host: 'sgh', w1: 'sgw1', w2: 'sgw2', w3: 'sgw3' });
  const { ns } = plan;
  const apply = async (host: SgHostIntent) => {
    expect(await reconcileSecurityGroups(host, new ExecFileRunner(), { netns: ns.host })).toEqual({ ok: true, ports: 3 });
  };
  const ping = async (from: 'w1' | 'w2' | 'w3', to: string, waitSeconds: number, source?: string): Promise<boolean> =>
    topo.exec(ns[from], ['ping', '-n', '-c', '1', '-W', String(waitSeconds), ...(source ? ['-I', source] : []), to]).then(
      () => true,
      () => false,
    );

  beforeAll(async () => {
    await plan.create();
    for (const w of workloads) {
      await topo.wire(ns.host, tapName(w.id), ns[w.ns as 'w1'], 'eth0');
      await topo.exec(ns[w.ns as 'w1'], ['ip', 'link', 'set', 'eth0', 'address', w.mac]);
      // down and up again: the link-local address is made from the MAC it has now
      await topo.exec(ns[w.ns as 'w1'], ['ip', 'link', 'set', 'eth0', 'down']);
      await topo.exec(ns[w.ns as 'w1'], ['ip', 'link', 'set', 'eth0', 'up']);
      await topo.addAddress(ns[w.ns as 'w1'], 'eth0', `${w.ip}/24`);
    }
    await topo.bridge(
      ns.host,
      bridgeName(NET),
      workloads.map((w) => tapName(w.id)),
    );
    await apply(intent([]));
  }, 60_000);

  afterAll(async () => {
    await topo.destroy();
  });

  it("lets a group's members reach each other, and keeps out a port of another group", async () => {
    expect(await ping('w1', '10.20.0.2', 5)).toBe(true);
    expect(await ping('w3', '10.20.0.1', 2)).toBe(false);
  });

  it('refuses what a port with no ingress rule is sent, until a rule opens exactly that source', async () => {
    expect(await ping('w1', '10.20.0.3', 2)).toBe(false);
    await apply(intent([{ direction: 'ingress', ethertype: 'IPv4', ...any, protocol: 1, remoteIpPrefix: '10.20.0.1/32' }]));
    expect(await ping('w1', '10.20.0.3', 5)).toBe(true);
    expect(await ping('w2', '10.20.0.3', 2)).toBe(false);
  });

  it("keeps a network's conntrack zone across a change, read back from the kernel", async () => {
    const bridge = `"${bridgeName(NET)}"`;
    // as if an earlier agent had given the network zone 5
    await topo.exec(ns.host, ['nft', 'delete', 'element', 'inet', 'ncp_sg', 'zones', `{ ${bridge} }`]);
    await topo.exec(ns.host, ['nft', 'add', 'element', 'inet', 'ncp_sg', 'zones', `{ ${bridge} : 5 }`]);
    await apply(intent([]));
    expect(await topo.exec(ns.host, ['nft', 'list', 'map', 'inet', 'ncp_sg', 'zones'])).toContain(`${bridge} : 5`);
  });

  it('drops what a port sends from an address that is not its own', async () => {
    await topo.addAddress(ns.w1, 'eth0', '10.20.0.9/24');
    expect(await ping('w1', '10.20.0.2', 2, '10.20.0.9')).toBe(false);
    expect(await ping('w1', '10.20.0.2', 5, '10.20.0.1')).toBe(true);
  });

  it('lets a port advertise its own link-local address as a neighbour and drops its advertisement of any other', async () => {
    await apply(intent([]));
    await waitForDad(ns.w1);
    // a counter per target, on the bridge's forward hook: after the bridge table's checks
    await topo.exec(ns.host, ['nft', 'add', 'table', 'bridge', 'na_probe']);
    const chain = ['bridge', 'na_probe', 'counted'];
    await topo.exec(ns.host, ['nft', 'add', 'chain', ...chain, '{ type filter hook forward priority 0; policy accept; }']);
    const own = '0xfe80000000000000f8163efffe000001';
    const foreign = '0x20010db8000000000000000000000099';
    for (const target of [own, foreign]) {
      await topo.exec(ns.host, [
        'nft',
        'add',
        'rule',
        ...chain,
        'icmpv6',
        'type',
        'nd-neighbor-advert',
        '@th,64,128',
        target,
        'counter',
        'comment',
        `"${target}"`,
      ]);
    }
    const counted = async (target: string) => {
      const text = await topo.exec(ns.host, ['nft', 'list', 'chain', ...chain]);
      return Number(new RegExp(`counter packets (\\d+) bytes \\d+ comment "${target}"`).exec(text)?.[1] ?? NaN);
    };
    try {
      // the foreign one first: once the own one got through, the other had its chance
      for (const target of ['2001:db8::99', 'fe80::f816:3eff:fe00:1']) await topo.exec(ns.w1, ['python3', '-c', SEND_NA, target]);
      await vi.waitFor(async () => expect(await counted(own)).toBeGreaterThan(0), { timeout: 10_000, interval: 100 });
      expect(await counted(foreign)).toBe(0);
    } finally {
      await topo.exec(ns.host, ['nft', 'delete', 'table', 'bridge', 'na_probe']);
    }
  });

  it('keeps an established ping going across an update that takes away the rule that let it in, and refuses a new one', async () => {
    const { runner, loads } = loadsKept();
    const applier = new SecurityGroupsApplier(runner, { netns: ns.host });
    const icmpFromW1: SgRuleIntent = { direction: 'ingress', ethertype: 'IPv4', ...any, protocol: 1, remoteIpPrefix: '10.20.0.1/32' };
    expect(await applier.apply(intent([icmpFromW1]))).toEqual({ ok: true, ports: 3 });
    const pinger = startPing(ns.w1, '10.20.0.3');
    try {
      await pinger.until(3);
      expect(await applier.apply(intent([]))).toEqual({ ok: true, ports: 3 });
      expect(loads.at(-1)).toBe(`flush chain inet ncp_sg g_${B.replace(/-/g, '')}_in\ntable inet ncp_sg {\n  chain g_${B.replace(/-/g, '')}_in {\n  }\n}\n`);
      await pinger.until(pinger.replies() + 10);
      expect(await ping('w1', '10.20.0.3', 2)).toBe(false);
    } finally {
      const { sent, received } = await pinger.stop();
      expect(received).toBeGreaterThanOrEqual(sent - 1);
    }
  });

  it('leaves the kernel, after changes sent one at a time, with the tables a full replace of the last intent makes', async () => {
    const { runner, loads } = loadsKept();
    const applier = new SecurityGroupsApplier(runner, { netns: ns.host });
    const base = intent([]);
    const [p1, p2, p3] = base.ports as [SgPortIntent, SgPortIntent, SgPortIntent];
    const [gA, gB] = base.groups as [SgGroupIntent, SgGroupIntent];
    const NET2 = '5e0000bb-0000-4000-8000-0000000000bb';
    const extra = {
      ...p1,
      id: '5e000004-0000-4000-8000-000000000004',
      networkId: NET2,
      mac: 'fa:16:3e:00:00:04',
      fixedIps: ['10.30.0.4', '2001:db8:30::4'],
      allowedAddressPairs: [
        { ipAddress: '10.30.0.0/28', macAddress: 'fa:16:3e:00:00:44' },
        { ipAddress: '2001:db8:30::/64', macAddress: 'fa:16:3e:00:00:04' },
      ],
    };
    const v6FromB: SgRuleIntent = { direction: 'ingress', ethertype: 'IPv6', ...any, protocol: 58, remoteGroupId: B };
    const steps: SgHostIntent[] = [
      base,
      // a rule added to B
      intent([{ direction: 'ingress', ethertype: 'IPv4', ...any, protocol: 6, portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: '10.20.0.0/24' }]),
      // w3 joins A as well, and A's members with it
      { ...base, ports: [p1, p2, { ...p3, securityGroupIds: [A, B] }], members: [{ groupId: A, addresses: ['10.20.0.1', '10.20.0.2', '10.20.0.3'] }] },
      // an address pair's CIDR joins A's members and covers the others: they go, in one transaction
      {
        ...base,
        ports: [p1, p2, { ...p3, securityGroupIds: [A, B] }],
        members: [{ groupId: A, addresses: ['10.20.0.1', '10.20.0.2', '10.20.0.3', '10.20.0.0/28'] }],
      },
      // A gets a rule whose remote group is B (a new set), a port on a second network arrives (a new zone)
      {
        ports: [p1, p2, { ...p3, securityGroupIds: [A, B] }, extra],
        groups: [{ ...gA, rules: [...gA.rules, v6FromB] }, gB],
        members: [
          { groupId: A, addresses: ['10.20.0.1', '10.20.0.2', '10.20.0.3'] },
          { groupId: B, addresses: ['10.20.0.3', '2001:db8::3', '2001:db8::/120'] },
        ],
      },
      // w2 loses port security, w1 changes its address and MAC, B turns stateless
      {
        ports: [{ ...p1, mac: 'fa:16:3e:00:01:01', fixedIps: ['10.20.0.11'] }, { ...p2, portSecurityEnabled: false }, p3, extra],
        groups: [
          { ...gA, rules: [...gA.rules, v6FromB] },
          { ...gB, stateful: false },
        ],
        members: [
          { groupId: A, addresses: ['10.20.0.11'] },
          { groupId: B, addresses: ['10.20.0.3'] },
        ],
      },
      // B used by no port any more; its members' set goes with A's rule naming it
      { ...base, ports: [{ ...p1, securityGroupIds: [A] }, p2, { ...p3, securityGroupIds: [A] }] },
    ];
    const tablesNow = async () =>
      normalised(
        await topo.exec(ns.host, ['nft', '-j', 'list', 'table', 'inet', 'ncp_sg']),
        await topo.exec(ns.host, ['nft', '-j', 'list', 'table', 'bridge', 'ncp_sg']),
      );
    const seen: Record<string, unknown>[] = [];
    for (const step of steps) {
      expect(await applier.apply(step)).toEqual({ ok: true, ports: expect.any(Number) as number });
      seen.push(await tablesNow());
    }
    // the first was a full replace, the others only changes
    expect(loads.map((l) => l.includes('delete table'))).toEqual([true, false, false, false, false, false, false]);
    for (const [i, step] of steps.entries()) {
      expect(await reconcileSecurityGroups(step, new ExecFileRunner(), { netns: ns.host })).toEqual({ ok: true, ports: expect.any(Number) as number });
      expect(await tablesNow(), `after step ${i}`).toEqual(seen[i]);
    }
    expect(seen[3]).not.toEqual(seen[0]);
  });
});
