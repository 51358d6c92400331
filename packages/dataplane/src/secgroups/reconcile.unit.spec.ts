import { describe, expect, it } from 'vitest';
import { type SgHostIntent } from '@ncp/contracts';
import { type CommandRunner } from '../runner';
import { SecurityGroupsApplier, reconcileSecurityGroups } from './reconcile';

/**
 * Answers `nft -j list map inet ncp_sg zones` with `zones` (or nft's error when the table is
 * not there), fails `nft -f` while `failLoads` says so, and records every command and its input.
 */
function fakeNft(zones: [string, number][] | null = null) {
  const calls: { argv: string[]; input?: string }[] = [];
  const state = { failLoads: false };
  const runner: CommandRunner = {
    run: (argv, options) => {
      calls.push({ argv: [...argv], ...(options?.input === undefined ? {} : { input: options.input }) });
      if (argv.includes('map')) {
        if (zones === null) return Promise.reject(new Error('`nft -j list map inet ncp_sg zones` failed: Error: No such file or directory'));
        return Promise.resolve({ stdout: JSON.stringify({ nftables: [{ map: { name: 'zones', elem: zones } }] }) });
      }
      if (argv.includes('-f') && state.failLoads) return Promise.reject(new Error('`nft -f -` failed: Error: Could not process rule'));
      return Promise.resolve({ stdout: '' });
    },
  };
  return { runner, calls, state };
}

const port: SgHostIntent['ports'][number] = {
  id: '5e000001-0000-4000-8000-000000000001',
  networkId: '5e000000-0000-4000-8000-0000000000aa',
  mac: 'fa:16:3e:00:00:01',
  fixedIps: ['10.0.0.5'],
  allowedAddressPairs: [],
  portSecurityEnabled: true,
  securityGroupIds: [],
};
const intent: SgHostIntent = { ports: [port], groups: [], members: [] };
const moved: SgHostIntent = { ...intent, ports: [{ ...port, fixedIps: ['10.0.0.6'] }] };
const commands = (calls: { argv: string[] }[]) => calls.map((c) => c.argv.slice(4).join(' '));

describe('reconcileSecurityGroups', () => {
  it('turns on br_netfilter, then loads both tables in one transaction in the host namespace', async () => {
    const { runner, calls } = fakeNft();
    expect(await reconcileSecurityGroups(intent, runner, { netns: 'host-a' })).toEqual({ ok: true, ports: 1 });
    expect(commands(calls)).toEqual([
      'sysctl -q -w net.bridge.bridge-nf-call-iptables=1',
      'sysctl -q -w net.bridge.bridge-nf-call-ip6tables=1',
      'nft -j list map inet ncp_sg zones',
      'nft -f -',
    ]);
    expect(calls[3]?.input).toContain('delete table inet ncp_sg');
    expect(calls[3]?.input).toContain('delete table bridge ncp_sg');
    expect(calls[3]?.input).toContain('"br-5e000000" : 1');
  });

  it('keeps the zone the kernel has for a network', async () => {
    const { runner, calls } = fakeNft([['br-5e000000', 4]]);
    await reconcileSecurityGroups(intent, runner, { netns: null });
    expect(calls.at(-1)?.input).toContain('"br-5e000000" : 4');
  });

  it('refuses an invalid intent without running anything', async () => {
    const { runner, calls } = fakeNft();
    const bad = { ...intent, ports: [{ ...port, mac: 'not-a-mac' }] };
    const result = await reconcileSecurityGroups(bad, runner, { netns: null });
    expect(result.ok).toBe(false);
    expect(calls).toEqual([]);
  });
});

describe('SecurityGroupsApplier', () => {
  it('replaces the tables whole first, then sends only what changed, and nothing when nothing did', async () => {
    const { runner, calls } = fakeNft([['br-5e000000', 4]]);
    const applier = new SecurityGroupsApplier(runner, { netns: 'host-a' });
    expect(await applier.apply(intent)).toEqual({ ok: true, ports: 1 });
    calls.length = 0;
    expect(await applier.apply(moved)).toEqual({ ok: true, ports: 1 });
    expect(commands(calls)).toEqual(['nft -f -']);
    expect(calls[0]?.input).toBe(
      [
        'delete element bridge ncp_sg arp4 { "tap5e000001000" . 10.0.0.5 }',
        'delete element bridge ncp_sg src4 { "tap5e000001000" . 10.0.0.5 }',
        'add element bridge ncp_sg arp4 { "tap5e000001000" . 10.0.0.6 }',
        'add element bridge ncp_sg src4 { "tap5e000001000" . 10.0.0.6 }',
        '',
      ].join('\n'),
    );
    calls.length = 0;
    expect(await applier.apply(moved)).toEqual({ ok: true, ports: 1 });
    expect(calls).toEqual([]);
  });

  it('gives a new network the next free zone from what it remembers, without reading the kernel again', async () => {
    const { runner, calls } = fakeNft([['br-5e000000', 4]]);
    const applier = new SecurityGroupsApplier(runner, { netns: 'host-a' });
    await applier.apply(intent);
    const other = { ...port, id: '5e000002-0000-4000-8000-000000000002', networkId: '5e0000bb-0000-4000-8000-0000000000bb', mac: 'fa:16:3e:00:00:02' };
    calls.length = 0;
    await applier.apply({ ...intent, ports: [port, other] });
    expect(commands(calls)).toEqual(['nft -f -']);
    expect(calls[0]?.input).toContain('add element inet ncp_sg zones { "br-5e0000bb" : 1 }');
  });

  it('replaces the tables whole again after a failed transaction', async () => {
    const { runner, calls, state } = fakeNft();
    const applier = new SecurityGroupsApplier(runner, { netns: 'host-a' });
    await applier.apply(intent);
    state.failLoads = true;
    expect((await applier.apply(moved)).ok).toBe(false);
    state.failLoads = false;
    calls.length = 0;
    expect(await applier.apply(moved)).toEqual({ ok: true, ports: 1 });
    expect(commands(calls).at(-1)).toBe('nft -f -');
    expect(calls.at(-1)?.input).toContain('delete table inet ncp_sg');
    expect(calls.at(-1)?.input).toContain('"tap5e000001000" . 10.0.0.6');
  });

  it('keeps what it applied across an invalid intent, which changes nothing', async () => {
    const { runner, calls } = fakeNft();
    const applier = new SecurityGroupsApplier(runner, { netns: null });
    await applier.apply(intent);
    calls.length = 0;
    expect((await applier.apply({ ...intent, ports: [{ ...port, fixedIps: ['not-an-ip'] }] })).ok).toBe(false);
    expect(calls).toEqual([]);
    await applier.apply(moved);
    expect(calls.map((c) => c.input)).toEqual([expect.not.stringContaining('delete table')]);
  });

  it('refuses a changed entry that is invalid though every other entry passed before, and an intent that is not one', async () => {
    const { runner, calls } = fakeNft();
    const applier = new SecurityGroupsApplier(runner, { netns: null });
    await applier.apply({ ...intent, groups: [{ id: '5e000000-0000-4000-8000-00000000000a', stateful: true, rules: [] }] });
    calls.length = 0;
    const badRule = {
      direction: 'ingress' as const,
      ethertype: 'IPv4' as const,
      protocol: 6,
      portRangeMin: 1,
      portRangeMax: 70000,
      remoteIpPrefix: null,
      remoteGroupId: null,
    };
    const result = await applier.apply({ ...intent, groups: [{ id: '5e000000-0000-4000-8000-00000000000a', stateful: true, rules: [badRule] }] });
    expect(result).toEqual({ ok: false, error: expect.stringContaining('invalid security group intent') });
    expect((await applier.apply({ ports: 'all' } as unknown as SgHostIntent)).ok).toBe(false);
    expect((await applier.apply({ ...intent, ports: [5] } as unknown as SgHostIntent)).ok).toBe(false);
    expect(calls).toEqual([]);
  });

  it('fails without loading anything when the zones cannot be read', async () => {
    const calls: string[][] = [];
    const runner: CommandRunner = {
      run: (argv) => {
        calls.push([...argv]);
        return argv.includes('map') ? Promise.reject(new Error('`nft` failed: Error: Operation not permitted')) : Promise.resolve({ stdout: '' });
      },
    };
    const result = await new SecurityGroupsApplier(runner, { netns: null }).apply(intent);
    expect(result).toEqual({ ok: false, error: expect.stringContaining('Operation not permitted') });
    expect(calls.some((argv) => argv.includes('-f'))).toBe(false);
  });
});
