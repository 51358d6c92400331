import { afterAll, beforeAll, expect, it } from 'vitest';
import { type SgHostIntent, type SgRuleIntent } from '@ncp/contracts';
import { describeOnNamespaces } from '../__fixtures__/netns-suite';
import { bridgeName, tapName } from '../names';
import { ExecFileRunner } from '../runner';
import { reconcileSecurityGroups } from './reconcile';

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
});
