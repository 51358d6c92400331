import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { haInterfaceName, routerInterfaceName, type RouterIntent } from '@ncp/contracts';
import { processAlive, runArgv } from '@ncp/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnNamespaces } from '../__fixtures__/netns-suite.js';
import { expectAllOk, reconcileRecorded } from '../__fixtures__/recorded.js';
import { dualStackInterfaces } from '../l3/__fixtures__/intent.js';
import { type L3Options } from '../l3/model.js';
import { reconcileL3, type L3ItemResult } from '../l3/reconcile.js';
import { ExecFileRunner, isReadOnlyCommand } from '../runner.js';
import { keepalivedDir, keepalivedFiles } from './paths.js';

/*
 * One HA router on two "hosts": each host has its own instance of the router namespace (named
 * with the host's prefix, as two machines would both have qrouter-<id8>), plugged as the L2
 * driver would plug the router's ports on both: the same qr-/qg- ports (same MACs) on the
 * tenant and external segments, and each host's own HA port on the HA segment. The segments are
 * bridges in a "switch" namespace (what the VXLAN flood makes of a tenant network).
 *
 *   wl 172.16.100.10 ── brint ─┬─ qr- [router on A] qg- ─┬─ brext ── up 10.0.2.2
 *                              └─ qr- [router on B] qg- ─┘
 *                        brha: ha- (A) 169.254.192.1 ── ha- (B) 169.254.192.2
 */

const ROUTER = 'e8a1b2c3-0000-4000-8000-000000000001';
const PORT_QR = 'd4000001-0000-4000-8000-000000000001';
const PORT_QG = 'd4000002-0000-4000-8000-000000000002';
const PORT_HA_A = 'd400000a-0000-4000-8000-00000000000a';
const PORT_HA_B = 'd400000b-0000-4000-8000-00000000000b';
const FIP = 'f8000001-0000-4000-8000-000000000001';
const QR = routerInterfaceName('internal', PORT_QR);
const QG = routerInterfaceName('gateway', PORT_QG);
const MAC_QR = 'fa:16:3e:10:00:01';
const MAC_QG = 'fa:16:3e:10:00:02';
/** the EUI-64 link-local address of MAC_QR: the tenants' IPv6 gateway */
const LLA_QR = 'fe80::f816:3eff:fe10:1';
const VRID = 9;
const PRIMARY_VIP = `169.254.0.${VRID}/24`;

type Host = 'a' | 'b';

describeOnNamespaces('HA router (keepalived) on two hosts of real namespaces', ['keepalived', 'nft', 'ping'], (topo) => {
  const id8 = ROUTER.slice(0, 8);
  const { ns, create } = topo.plan({ sw: 'sw', up: 'up', wl: 'wl', a: `a-qrouter-${id8}`, b: `b-qrouter-${id8}` });
  const haPort = { a: PORT_HA_A, b: PORT_HA_B } as const;
  const haAddress = { a: '169.254.192.1/18', b: '169.254.192.2/18' } as const;
  const options = (host: Host): L3Options => ({ namespacePrefix: `${topo.prefix}${host}-qrouter-` });
  let tmp = '';
  const stateDir = (host: Host): string => path.join(tmp, host);

  const intent = (host: Host, over: Partial<RouterIntent> = {}): RouterIntent => ({
    id: ROUTER,
    namespace: ns[host],
    adminStateUp: true,
    interfaces: dualStackInterfaces({ portId: PORT_QR, ifname: QR }, { portId: PORT_QG, ifname: QG }),
    routes: [{ destination: '0.0.0.0/0', nexthop: '10.0.2.2' }],
    snat: [{ source: '172.16.100.0/24', to: '10.0.2.211', exceptDestinations: [] }],
    floatingIps: [],
    ha: { vrid: VRID, priority: 50, interface: { portId: haPort[host], ifname: haInterfaceName(haPort[host]), address: haAddress[host] } },
    ...over,
  });
  const withFip = (host: Host): RouterIntent => intent(host, { floatingIps: [{ id: FIP, floatingIp: '10.0.2.215', fixedIp: '172.16.100.10' }] });

  const runner = new ExecFileRunner();
  const reconcile = (host: Host, intents: RouterIntent[]): Promise<L3ItemResult[]> => reconcileL3(intents, runner, options(host), { stateDir: stateDir(host) });
  const routerResult = (results: readonly L3ItemResult[]): L3ItemResult | undefined => results.find((r) => r.item === `router:${ROUTER}`);
  const isReadOnly = (argv: readonly string[]): boolean => isReadOnlyCommand(argv) || (argv[1] === 'netns' && argv[2] === 'identify');

  const addresses = async (host: Host, dev: string): Promise<string[]> => {
    const out = JSON.parse(await topo.exec(ns[host], ['ip', '-j', 'addr', 'show', 'dev', dev])) as { addr_info: { local: string; prefixlen: number }[] }[];
    return (out[0]?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
  };
  const isMaster = async (host: Host): Promise<boolean> => (await addresses(host, haInterfaceName(haPort[host]))).includes(PRIMARY_VIP);
  const keepalivedPid = (host: Host): number => Number(readFileSync(keepalivedFiles(keepalivedDir(stateDir(host), ROUTER)).pidFile, 'utf8').trim());

  /** Bounded poll of an observable condition (no fixed sleeps): VRRP elects within a few adverts. */
  const waitFor = async <T>(what: string, probe: () => Promise<T | null>, timeoutMs = 20_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== null) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  /** The single master, once there is exactly one. */
  const oneMaster = (): Promise<Host> =>
    waitFor('exactly one VRRP master', async () => {
      const [a, b] = [await isMaster('a'), await isMaster('b')];
      return a !== b ? (a ? 'a' : 'b') : null;
    });

  beforeAll(async () => {
    await create();
    tmp = mkdtempSync(path.join(tmpdir(), 'ncp-ha-int-'));
    await topo.exec(ns.sw, ['ip', 'link', 'add', 'brint', 'type', 'bridge']);
    await topo.exec(ns.sw, ['ip', 'link', 'add', 'brext', 'type', 'bridge']);
    await topo.exec(ns.sw, ['ip', 'link', 'add', 'brha', 'type', 'bridge']);
    for (const host of ['a', 'b'] as const) {
      // what the L2 driver plugs on each host: the router's ports (same MACs) and its own HA port
      await topo.addVethPair(ns[host], QR, ns.sw, `${host}r`);
      await topo.addVethPair(ns[host], QG, ns.sw, `${host}g`);
      await topo.addVethPair(ns[host], haInterfaceName(haPort[host]), ns.sw, `${host}h`);
      await topo.exec(ns[host], ['ip', 'link', 'set', 'dev', QR, 'address', MAC_QR]);
      await topo.exec(ns[host], ['ip', 'link', 'set', 'dev', QG, 'address', MAC_QG]);
      for (const dev of [QR, QG, haInterfaceName(haPort[host])]) await topo.linkUp(ns[host], dev);
      for (const [port, bridge] of [
        [`${host}r`, 'brint'],
        [`${host}g`, 'brext'],
        [`${host}h`, 'brha'],
      ] as const) {
        await topo.exec(ns.sw, ['ip', 'link', 'set', 'dev', port, 'master', bridge, 'up']);
      }
    }
    await topo.addVethPair(ns.wl, 'eth0', ns.sw, 'w0');
    await topo.addVethPair(ns.up, 'ext', ns.sw, 'u0');
    await topo.exec(ns.sw, ['ip', 'link', 'set', 'dev', 'w0', 'master', 'brint', 'up']);
    await topo.exec(ns.sw, ['ip', 'link', 'set', 'dev', 'u0', 'master', 'brext', 'up']);
    for (const bridge of ['brint', 'brext', 'brha']) await topo.linkUp(ns.sw, bridge);
    await topo.linksUp([ns.wl, 'eth0'], [ns.up, 'ext']);
    await topo.addAddress(ns.up, 'ext', '10.0.2.2/24');
    await topo.addAddress(ns.up, 'ext', '2001:db8:0:1::2/64');
    await topo.addRoute(ns.up, 'fd00:100::/64', '2001:db8:0:1::1');
    await topo.addAddress(ns.wl, 'eth0', '172.16.100.10/24');
    await topo.addAddress(ns.wl, 'eth0', 'fd00:100::10/64');
    await topo.addRoute(ns.wl, 'default', '172.16.100.1');
    // the IPv6 gateway is the router's link-local address, as tenants learn it from the RAs
    await topo.exec(ns.wl, ['ip', '-6', 'route', 'add', 'default', 'via', LLA_QR, 'dev', 'eth0']);
  });

  afterAll(async () => {
    await topo.destroy();
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  let master: Host = 'a';
  const other = (host: Host): Host => (host === 'a' ? 'b' : 'a');

  it('elects exactly one master, which alone holds the addresses, the link-local gateway and the routes', async () => {
    expectAllOk(await reconcile('a', [intent('a')]));
    expectAllOk(await reconcile('b', [intent('b')]));
    master = await oneMaster();
    const backup = other(master);

    expect(await addresses(master, QR)).toEqual(expect.arrayContaining(['172.16.100.1/24', 'fd00:100::1/64', `${LLA_QR}/64`]));
    expect(await addresses(master, QG)).toEqual(expect.arrayContaining(['10.0.2.211/24', '2001:db8:0:1::1/64']));
    // the backup is silent on the router's segments: not even a link-local address
    expect(await addresses(backup, QR)).toEqual([]);
    expect(await addresses(backup, QG)).toEqual([]);
    expect(await topo.exec(ns[master], ['ip', 'route', 'show', 'default'])).toMatch(/via 10\.0\.2\.2 dev/);
    expect((await topo.exec(ns[backup], ['ip', 'route', 'show', 'default'])).trim()).toBe('');
    // the NAT rules are on both
    for (const host of ['a', 'b'] as const) expect(await topo.exec(ns[host], ['nft', 'list', 'table', 'inet', 'ncp_router'])).toContain('10.0.2.211');

    await topo.exec(ns.wl, ['ping', '-4', '-c', '2', '-W', '2', '10.0.2.2']);
    await topo.exec(ns.wl, ['ping', '-6', '-c', '2', '-W', '2', '2001:db8:0:1::2']);
  });

  it('reports each host its role, and a second pass changes nothing', async () => {
    for (const host of ['a', 'b'] as const) {
      const pid = keepalivedPid(host);
      const { results, mutations } = await reconcileRecorded(
        (recorder) => reconcileL3([intent(host)], recorder, options(host), { stateDir: stateDir(host) }),
        isReadOnly,
      );
      expect(mutations).toEqual([]);
      expect(routerResult(results)).toEqual({ item: `router:${ROUTER}`, ok: true, haState: host === master ? 'active' : 'standby' });
      expect(keepalivedPid(host)).toBe(pid);
    }
  });

  it('reloads keepalived with a new floating IP: same process, the master answers for it', async () => {
    const pids = { a: keepalivedPid('a'), b: keepalivedPid('b') };
    expectAllOk(await reconcile('a', [withFip('a')]));
    expectAllOk(await reconcile('b', [withFip('b')]));
    expect({ a: keepalivedPid('a'), b: keepalivedPid('b') }).toEqual(pids);
    await waitFor('the floating IP on the master', async () => ((await addresses(master, QG)).includes('10.0.2.215/32') ? true : null));
    expect(await addresses(other(master), QG)).toEqual([]);
    await topo.exec(ns.up, ['ping', '-4', '-c', '2', '-W', '2', '10.0.2.215']);
  });

  it('fails over when the master host dies: the backup takes the addresses and the traffic resumes', async () => {
    const ping = spawn('ip', ['netns', 'exec', ns.wl, 'ping', '-n', '-4', '-i', '0.1', '10.0.2.2']);
    const replies = collectReplies(ping);
    try {
      const before = await replies.waitForReplyAfter(0);
      // the host dies: its ports gone from the segments, the HA port first (a master that loses
      // a router port first resigns with a priority 0 advert: a fast, polite failover), then
      // keepalived killed without a goodbye
      const lastBefore = replies.lastSeq();
      for (const port of ['h', 'r', 'g']) await topo.exec(ns.sw, ['ip', 'link', 'del', `${master}${port}`]);
      for (const pid of (await runArgv(['ip', 'netns', 'pids', ns[master]])).split('\n').filter((p) => /^\d+$/.test(p))) process.kill(Number(pid), 'SIGKILL');
      const survivor = other(master);
      await waitFor('the backup to become master', async () => ((await isMaster(survivor)) ? true : null));
      const resumed = await replies.waitForReplyAfter(lastBefore);
      const lost = resumed - lastBefore - 1;
      console.log(`failover: ${lost} of the pings sent every 100 ms were lost (last reply before: seq ${lastBefore}, first after: ${resumed})`);
      expect(before).toBeGreaterThan(0);
      // 3 adverts of 0.5 s plus the skew time: about 2 s of pings, well under 40
      expect(lost).toBeLessThan(40);
      expect(await addresses(survivor, QR)).toEqual(expect.arrayContaining(['172.16.100.1/24', `${LLA_QR}/64`]));
      const results = await reconcile(survivor, [withFip(survivor)]);
      expect(routerResult(results)).toEqual({ item: `router:${ROUTER}`, ok: true, haState: 'active' });
      await topo.exec(ns.up, ['ping', '-4', '-c', '2', '-W', '2', '10.0.2.215']);
      await topo.exec(ns.wl, ['ping', '-6', '-c', '2', '-W', '2', '2001:db8:0:1::2']);
    } finally {
      ping.kill('SIGINT');
    }
  }, 60_000);

  it('migrates the router to a legacy router and back on the surviving host: keepalived stopped and the kernel link-local addresses back, then keepalived again holding the addresses', async () => {
    const host = other(master);
    const pid = keepalivedPid(host);
    expectAllOk(await reconcile(host, [{ ...withFip(host), ha: null }]));
    expect(processAlive(pid)).toBe(false);
    const genMode = async (dev: string) =>
      (JSON.parse(await topo.exec(ns[host], ['ip', '-d', '-j', 'link', 'show', 'dev', dev])) as { inet6_addr_gen_mode?: string }[])[0]?.inet6_addr_gen_mode;
    expect([await genMode(QR), await genMode(QG)]).toEqual(['eui64', 'eui64']);
    // addressed by the L3 driver itself now, with the kernel's link-local address
    expect(await addresses(host, QR)).toEqual(expect.arrayContaining(['172.16.100.1/24', 'fd00:100::1/64', `${LLA_QR}/64`]));
    expect(await addresses(host, QG)).toEqual(expect.arrayContaining(['10.0.2.211/24', '10.0.2.215/32']));

    expectAllOk(await reconcile(host, [withFip(host)]));
    expect(processAlive(keepalivedPid(host))).toBe(true);
    expect(await genMode(QR)).toBe('none');
    // alone on the HA network, keepalived becomes master and holds the addresses again
    await waitFor('keepalived master again', async () => ((await isMaster(host)) ? true : null));
    expect(await addresses(host, QR)).toEqual(expect.arrayContaining(['172.16.100.1/24', `${LLA_QR}/64`]));
  }, 60_000);

  it('stops keepalived and sweeps the namespace when the router leaves the host', async () => {
    const survivor = other(master);
    const pid = keepalivedPid(survivor);
    expectAllOk(await reconcile(survivor, []));
    expect(processAlive(pid)).toBe(false);
    expect(await runNetnsList()).not.toContain(ns[survivor]);
  });

  const runNetnsList = async (): Promise<string[]> =>
    (JSON.parse(await topo.exec(ns.sw, ['ip', '-j', 'netns', 'list'])) as { name: string }[]).map((n) => n.name);
});

/** The icmp_seq of each echo reply a running ping prints, and a way to wait for the next one. */
function collectReplies(ping: ChildProcessWithoutNullStreams): { waitForReplyAfter(seq: number): Promise<number>; lastSeq(): number } {
  const seqs: number[] = [];
  const waiters: { after: number; resolve: (seq: number) => void }[] = [];
  let buffered = '';
  ping.stdout.setEncoding('utf8');
  ping.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const match = /icmp_seq=(\d+)/.exec(line);
      if (match?.[1] === undefined || !line.includes('bytes from')) continue;
      const seq = Number(match[1]);
      seqs.push(seq);
      for (const w of waiters.filter((x) => seq > x.after)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(seq);
      }
    }
  });
  return {
    lastSeq: () => seqs.at(-1) ?? 0,
    waitForReplyAfter: (after) => {
      const seen = seqs.find((s) => s > after);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no echo reply after seq ${after}`)), 30_000);
        waiters.push({
          after,
          resolve: (seq) => {
            clearTimeout(timer);
            resolve(seq);
          },
        });
      });
    },
  };
}
