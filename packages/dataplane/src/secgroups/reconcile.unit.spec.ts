import { describe, expect, it } from 'vitest';
import { type SgHostIntent } from '@ncp/contracts';
import { type CommandRunner } from '../runner';
import { reconcileSecurityGroups } from './reconcile';

/** Answers `nft -j list tables` with `tables` and records every command and its input. */
function fakeNft(tables: string[] = []) {
  const calls: { argv: string[]; input?: string }[] = [];
  const runner: CommandRunner = {
    run: (argv, options) => {
      calls.push({ argv: [...argv], ...(options?.input === undefined ? {} : { input: options.input }) });
      if (argv.includes('tables'))
        return Promise.resolve({ stdout: JSON.stringify({ nftables: tables.map((t) => ({ table: { family: 'inet', name: t } })) }) });
      if (argv.includes('map')) return Promise.resolve({ stdout: JSON.stringify({ nftables: [{ map: { name: 'zones', elem: [['br-5e000000', 4]] } }] }) });
      return Promise.resolve({ stdout: '' });
    },
  };
  return { runner, calls };
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

describe('reconcileSecurityGroups', () => {
  it('turns on br_netfilter, then loads both tables in one transaction in the host namespace', async () => {
    const { runner, calls } = fakeNft();
    expect(await reconcileSecurityGroups(intent, runner, { netns: 'host-a' })).toEqual({ ok: true, ports: 1 });
    expect(calls.map((c) => c.argv.slice(4).join(' '))).toEqual([
      'sysctl -q -w net.bridge.bridge-nf-call-iptables=1',
      'sysctl -q -w net.bridge.bridge-nf-call-ip6tables=1',
      'nft -j list tables',
      'nft -f -',
    ]);
    expect(calls[3]?.input).toContain('"br-5e000000" : 1');
  });

  it('keeps the zone the kernel has for a network', async () => {
    const { runner, calls } = fakeNft(['ncp_sg']);
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
