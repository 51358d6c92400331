import { type CommandRunner, type RunOptions } from '@ncp/dataplane';
import { createLogger } from '@ncp/nest-common';
import { SgMembersIntentSchema, SgPortIntentSchema } from '@ncp/contracts';
import { describe, expect, it, vi } from 'vitest';
import { parseAgentConfig } from './config';
import { DesiredState } from './desired-state';
import { driverManagers, l3Owner } from './drivers';

const PORT = '5e000001-0000-4000-8000-000000000001';
const GROUP = '5e0000a0-0000-4000-8000-000000000001';
const sgPort = {
  id: PORT,
  networkId: '5e000000-0000-4000-8000-0000000000aa',
  mac: 'fa:16:3e:00:00:01',
  fixedIps: ['10.0.0.5'],
  allowedAddressPairs: [],
  portSecurityEnabled: true,
  securityGroupIds: [GROUP],
};

/** A kernel with no table, link or namespace of ours yet, whose `nft -f` fails with `nftError` if given. */
function fakeKernel(nftError?: string) {
  const calls: { argv: string[]; input?: string }[] = [];
  const runner: CommandRunner = {
    run: (argv: readonly string[], options?: RunOptions) => {
      calls.push({ argv: [...argv], ...(options?.input === undefined ? {} : { input: options.input }) });
      if (argv.includes('-f') && nftError !== undefined) return Promise.reject(new Error(nftError));
      if (argv.includes('nft') && argv.includes('list')) return Promise.resolve({ stdout: JSON.stringify({ nftables: [] }) });
      // `ip -j` and `bridge -j` reads: nothing there yet
      if (argv.includes('-j')) return Promise.resolve({ stdout: '[]' });
      return Promise.resolve({ stdout: '' });
    },
  };
  return { runner, calls };
}

function secgroupsManager(runner: CommandRunner, desired: DesiredState) {
  const config = parseAgentConfig(['--row', 'r', '--host', 'h', '--tunnel-ip', '10.1.0.2', '--host-netns', 'host-h'], {});
  const managers = driverManagers({ config, desired, runner, hasForwarder: () => false }, createLogger('test', 'silent'));
  const index = managers.findIndex((m) => m.name === 'secgroups');
  const manager = managers[index];
  if (manager === undefined) throw new Error('no secgroups manager');
  return { manager, index, l2Index: managers.findIndex((m) => m.name === 'l2') };
}

describe('the secgroups manager', () => {
  it("runs before L2 (a new port is in its sets before it is up), on changes to the three security group kinds and to L2's ports (a filtered port is held closed until its entry comes)", () => {
    const { manager, index, l2Index } = secgroupsManager(fakeKernel().runner, new DesiredState());
    expect(index).toBeLessThan(l2Index);
    expect(manager.spec.after).toBeUndefined();
    expect(['sgport', 'sggroup', 'sgmem', 'l2port'].map((k) => manager.watches(k))).toEqual([true, true, true, true]);
  });

  it('puts a new port in the filter before L2 makes its tap, in a pass as the loop runs it', async () => {
    const desired = new DesiredState();
    const networkId = sgPort.networkId;
    desired.put(
      `r.h.l2net.${networkId}`,
      JSON.stringify({
        id: networkId,
        mtu: 1450,
        segment: { networkType: 'vxlan', segmentationId: 1001, physicalNetwork: null },
        floodList: [],
        remoteMacs: [],
      }),
    );
    desired.put(
      `r.h.l2port.${PORT}`,
      JSON.stringify({ id: PORT, networkId, mac: sgPort.mac, adminStateUp: true, filtered: true, workload: { netns: 'wl-sg-order', ifname: 'eth0' } }),
    );
    desired.put(`r.h.sgport.${PORT}`, JSON.stringify(sgPort));
    const { runner, calls } = fakeKernel();
    const config = parseAgentConfig(['--row', 'r', '--host', 'h', '--tunnel-ip', '10.1.0.2', '--host-netns', 'host-h'], {});
    for (const m of driverManagers({ config, desired, runner, hasForwarder: () => false }, createLogger('test', 'silent'))) {
      if (m.name === 'secgroups' || m.name === 'l2') await m.pass(() => 0, new Set());
    }
    const tap = `tap${PORT.replace(/-/g, '').slice(0, 11)}`;
    const text = (c: { argv: string[]; input?: string }) => `${c.argv.join(' ')}\n${c.input ?? ''}`;
    const filtered = calls.findIndex((c) => c.argv.includes('nft') && text(c).includes(`"${tap}"`));
    const made = calls.findIndex((c) => c.argv.includes('ip') && new RegExp(`link add ${tap}\\b`).test(text(c)));
    expect(filtered).toBeGreaterThanOrEqual(0);
    expect(made).toBeGreaterThanOrEqual(0);
    expect(filtered).toBeLessThan(made);
  });

  it("loads the host's filtering in its namespace, the group not published yet filtering with no rule, and reports no status", async () => {
    const desired = new DesiredState();
    desired.put(`r.h.sgport.${PORT}`, JSON.stringify(sgPort));
    const { runner, calls } = fakeKernel();
    const outcome = await secgroupsManager(runner, desired).manager.pass(() => 0, new Set());
    expect(outcome).toEqual({ reports: [], failed: [], errors: [], thrown: false });
    expect(calls.every((c) => c.argv.slice(0, 4).join(' ') === 'ip netns exec host-h')).toBe(true);
    const loaded = calls.map((c) => c.input ?? '').join('\n');
    // the port is filtered (dispatched by its bridge and MAC, its tap checked), by a chain of its group with nothing in it
    expect(loaded).toMatch(/"br-5e000000" \. fa:16:3e:00:00:01 : jump \S+_in/);
    expect(loaded).toContain(`"tap${PORT.replace(/-/g, '').slice(0, 11)}" . 10.0.0.5`);
    expect(loaded).toMatch(new RegExp(`chain g_${GROUP.replace(/-/g, '')}_in \\{\\n  \\}`));
  });

  it('does not validate again the entries the desired state parsed (each pass once had every address of every entry checked)', async () => {
    const desired = new DesiredState();
    desired.put(`r.h.sgport.${PORT}`, JSON.stringify(sgPort));
    desired.put(`r.h.sgmem.${GROUP}`, JSON.stringify({ groupId: GROUP, addresses: ['10.0.0.5', '10.0.0.9'] }));
    const { manager } = secgroupsManager(fakeKernel().runner, desired);
    const validated = [vi.spyOn(SgPortIntentSchema, 'safeParse'), vi.spyOn(SgMembersIntentSchema, 'safeParse')];
    try {
      expect((await manager.pass(() => 0, new Set())).failed).toEqual([]);
      expect(validated.map((spy) => spy.mock.calls.length)).toEqual([0, 0]);
      // an entry that comes in is checked where it is parsed, and not after
      desired.put(`r.h.sgmem.${GROUP}`, JSON.stringify({ groupId: GROUP, addresses: ['10.0.0.5', 'not-an-address'] }));
      expect(desired.sgIntent().invalid).toEqual([{ key: `r.h.sgmem.${GROUP}`, error: expect.stringContaining('must be an IP address or a CIDR') as unknown }]);
    } finally {
      validated.forEach((spy) => spy.mockRestore());
    }
  });

  it('fails as one item with the error, for the log and the heartbeat', async () => {
    const desired = new DesiredState();
    desired.put(`r.h.sgport.${PORT}`, JSON.stringify(sgPort));
    const { manager } = secgroupsManager(fakeKernel('nft: Error: Could not process rule').runner, desired);
    const outcome = await manager.pass(() => 0, new Set());
    expect(outcome.failed).toEqual(['secgroups']);
    expect(outcome.errors).toEqual([expect.stringContaining('secgroups: ') as unknown]);
    expect(outcome.errors[0]).toContain('Could not process rule');
    expect(outcome.reports).toEqual([]);
    expect(manager.failing).toBe(1);
  });
});

describe('l3Owner', () => {
  it('is the host alone without a NATS prefix, and tells deployments sharing a machine apart by their prefix', () => {
    expect(l3Owner({ host: 'net-1', natsPrefix: '' })).toBe('net-1');
    const a = l3Owner({ host: 'net-1', natsPrefix: 't1796.a' });
    const b = l3Owner({ host: 'net-1', natsPrefix: 't1796.b' });
    expect(a).not.toBe(b);
    // what the L3 driver accepts as an owner, whatever the prefix holds
    expect(l3Owner({ host: 'h'.repeat(63), natsPrefix: 'p>*'.repeat(40) })).toMatch(/^[A-Za-z0-9_.:-]{1,128}$/);
  });
});

describe('the DHCP and metadata managers after the L3 manager', () => {
  const R1 = 'a1000000-0000-4000-8000-000000000001';
  const R2 = 'a2000000-0000-4000-8000-000000000002';
  const router = (id: string) => ({ id, namespace: `qrouter-${id.slice(0, 8)}`, adminStateUp: true, interfaces: [], routes: [], snat: [], floatingIps: [] });
  const ra = (routerId: string) => ({
    routerId,
    namespace: `qrouter-${routerId.slice(0, 8)}`,
    routerLifetime: 1800,
    validLifetime: 86400,
    preferredLifetime: 14400,
    minInterval: 3,
    maxInterval: 10,
    interfaces: [],
  });

  it('run for a router change only when the L3 pass changed a namespace they serve, not for every router change', async () => {
    const desired = new DesiredState();
    desired.put(`r.h.router.${R1}`, JSON.stringify(router(R1)));
    desired.put(`r.h.router.${R2}`, JSON.stringify(router(R2)));
    desired.put(`r.h.ra.${R2}`, JSON.stringify(ra(R2)));
    const config = parseAgentConfig(['--row', 'r', '--host', 'h', '--tunnel-ip', '10.1.0.2', '--host-netns', 'host-h'], {});
    // the fake kernel, with the namespaces the passes add
    const namespaces = new Set<string>();
    const kernel = fakeKernel().runner;
    const runner: CommandRunner = {
      listNetns: () => Promise.resolve([...namespaces]),
      run: (argv, options) => {
        if (argv[1] === 'netns' && argv[2] === 'add' && argv[3] !== undefined) namespaces.add(argv[3]);
        // the router sysctls, as the first pass set them
        if (argv.includes('sysctl') && argv.includes('-n')) return Promise.resolve({ stdout: '1\n1\n1\n1\n1\n' });
        // and lo, up with the owner mark
        const lo = { ifname: 'lo', ifalias: 'ncp:l3:h', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], mtu: 65536, operstate: 'UNKNOWN', addr_info: [] };
        if (['-j link show dev lo', '-j addr show'].includes(argv.slice(3).join(' '))) return Promise.resolve({ stdout: JSON.stringify([lo]) });
        return kernel.run(argv, options);
      },
    };
    const managers = driverManagers({ config, desired, runner, hasForwarder: () => false }, createLogger('test', 'silent'));
    const named = (name: string) => {
      const m = managers.find((x) => x.name === name);
      if (m === undefined) throw new Error(`no ${name} manager`);
      return m;
    };
    const [l3, dhcp] = [named('l3'), named('dhcp')];
    // the router kind is L3's: DHCP learns of a router through what L3's pass changed
    expect(dhcp.watches('router')).toBe(false);
    await l3.pass(() => 0, new Set());
    expect([...(l3.outcome.changedNamespaces ?? [])].sort()).toEqual([router(R1).namespace, router(R2).namespace]);
    expect(dhcp.followsChangesOf(l3)).toBe(true);
    // router 1 changes; its namespace holds no RA
    desired.put(`r.h.router.${R1}`, JSON.stringify({ ...router(R1), adminStateUp: false }));
    await l3.pass(() => 0, new Set());
    expect([...(l3.outcome.changedNamespaces ?? [])]).toEqual([router(R1).namespace]);
    expect(dhcp.followsChangesOf(l3)).toBe(false);
    // router 2 changes, where the RA is
    desired.put(`r.h.router.${R2}`, JSON.stringify({ ...router(R2), adminStateUp: false }));
    await l3.pass(() => 0, new Set());
    expect(dhcp.followsChangesOf(l3)).toBe(true);
  });
});
