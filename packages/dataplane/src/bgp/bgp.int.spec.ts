import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BGP_LEARN_NOTHING, type BgpSpeakerIntent } from '@ncp/contracts';
import { processAlive, runArgv } from '@ncp/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnNamespaces } from '../__fixtures__/netns-suite.js';
import { reconcileRecorded } from '../__fixtures__/recorded.js';
import { bgpSpeakerFiles } from './paths.js';
import { type BgpItemResult, isBgpReadOnlyCommand, reconcileBgp } from './reconcile.js';
import { type BgpSessionState } from './status.js';

/*
 * A speaker and a core router on one link. The driver runs BIRD in the speaker namespace
 * (AS 64711) with an IPv4 session (TCP MD5) and an IPv6 session to the core's BIRD (AS 14907,
 * written by this test), which installs what it learns in the core's kernel: the kernel's
 * routing table is what the assertions read.
 *
 *   speaker s0 10.81.0.2/24 2001:db8:bad:face::2/64 ── c0 10.81.0.1/24 2001:db8:bad:face::1/64 core
 *
 * The advertised next hops (.5 / ::5, a router's gateway address) are on the link but nobody
 * has them: the core installs the routes all the same.
 */

const SPEAKER = 'b6900000-0000-4000-8000-000000000001';
const PEER4 = 'bee00004-0000-4000-8000-000000000004';
const PEER6 = 'bee00006-0000-4000-8000-000000000006';
const PASSWORD = 'md5 s3cret!';
const TENANT4 = '192.168.81.64/26';
const TENANT6 = '2001:db8:bad:cafe::/64';
const FIP = '203.0.113.7';
const HOP4 = '10.81.0.5';
const HOP6 = '2001:db8:bad:face::5';
/** What the core advertises; the speaker learns what its import policy accepts of it. */
const OFFERED = ['0.0.0.0/0', '10.99.0.0/16', '172.31.0.0/16'];
/** The next hop the core gives: another router on the link than itself. */
const CORE_ROUTER = '10.81.0.9';
/** UPDATE_BIRD_FIXTURES=1 stores BIRD's output for status.unit.spec.ts */
const FIXTURES = path.join(__dirname, '__fixtures__');

describeOnNamespaces('BGP driver (BIRD 2) on real namespaces', ['bird', 'birdc'], (topo) => {
  const { ns, create } = topo.plan({ speaker: 'spk', core: 'core' });
  let tmp = '';
  let stateDir = '';
  let speakerDir = '';
  let coreDir = '';

  const intent = (over: Partial<BgpSpeakerIntent> = {}): BgpSpeakerIntent => ({
    speakerId: SPEAKER,
    localAs: 64711,
    routerId: '10.81.0.2',
    namespace: ns.speaker,
    peers: [
      { id: PEER4, address: '10.81.0.1', remoteAs: 14907, password: PASSWORD, importPolicy: BGP_LEARN_NOTHING, bfd: false },
      { id: PEER6, address: '2001:db8:bad:face::1', remoteAs: 14907, password: null, importPolicy: BGP_LEARN_NOTHING, bfd: false },
    ],
    routes: [
      { destination: TENANT4, nextHop: HOP4 },
      { destination: TENANT6, nextHop: HOP6 },
    ],
    ...over,
  });

  const reconcile = (speakers: BgpSpeakerIntent[]): Promise<{ results: BgpItemResult[]; mutations: string[] }> =>
    reconcileRecorded((recorder) => reconcileBgp(speakers, recorder, { stateDir }), isBgpReadOnlyCommand);
  const sessionsOf = (results: BgpItemResult[]): BgpSessionState[] => {
    const [first] = results;
    return first?.ok === true && 'sessions' in first ? [...first.sessions] : [];
  };
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  /** Polls until `check` returns a value that is not undefined. */
  const poll = async <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(300);
    }
  };
  const established = (speaker: BgpSpeakerIntent): Promise<BgpSessionState[]> =>
    poll('both sessions Established', async () => {
      const sessions = sessionsOf((await reconcile([speaker])).results);
      return sessions.length === 2 && sessions.every((s) => s.state === 'Established') ? sessions : undefined;
    });
  /** The routes the core's BIRD installed: `dst via gateway`. */
  const coreRoutes = async (): Promise<string[]> => {
    const routes: string[] = [];
    for (const family of ['-4', '-6']) {
      const json = JSON.parse(await runArgv(['ip', family, '-j', '-n', ns.core, 'route', 'show', 'proto', 'bird'])) as { dst: string; gateway?: string }[];
      routes.push(...json.map((r) => `${r.dst} via ${r.gateway ?? '-'}`));
    }
    return routes.sort();
  };
  const coreRoutesBecome = (expected: string[]): Promise<string[]> =>
    poll(`core routes ${expected.join(', ')}`, async () => {
      const routes = await coreRoutes();
      return JSON.stringify(routes) === JSON.stringify([...expected].sort()) ? routes : undefined;
    });
  const pidOf = (): number => Number(readFileSync(path.join(speakerDir, 'pid'), 'utf8').trim());
  const capture = async (name: string): Promise<void> => {
    if (process.env.UPDATE_BIRD_FIXTURES !== '1') return;
    writeFileSync(path.join(FIXTURES, name), await runArgv(['birdc', '-s', path.join(speakerDir, 'bird.ctl'), 'show', 'protocols', 'all']));
  };

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'ncp-bgp-int-'));
    stateDir = path.join(tmp, 'state');
    speakerDir = path.join(stateDir, 'bgp', SPEAKER);
    coreDir = path.join(tmp, 'core');
    mkdirSync(coreDir, { recursive: true });
    await create();
    await topo.wire(ns.speaker, 's0', ns.core, 'c0');
    await topo.addAddress(ns.speaker, 's0', '10.81.0.2/24');
    await topo.addAddress(ns.core, 'c0', '10.81.0.1/24');
    await topo.addAddress(ns.speaker, 's0', '2001:db8:bad:face::2/64');
    await topo.addAddress(ns.core, 'c0', '2001:db8:bad:face::1/64');
    // the core router: learns everything, installs it in its kernel, advertises nothing; its
    // files laid out like a speaker's directory
    const core = bgpSpeakerFiles(coreDir);
    writeFileSync(
      core.confFile,
      [
        'router id 10.81.0.1;',
        `log "${core.logFile}" all;`,
        'protocol device { }',
        'protocol kernel k4 { ipv4 { import none; export where source = RTS_BGP; }; }',
        'protocol kernel k6 { ipv6 { import none; export where source = RTS_BGP; }; }',
        // what the core offers the speaker, with another router of the link as next hop
        `protocol static offered { ipv4; ${OFFERED.map((p) => `route ${p} unreachable;`).join(' ')} }`,
        `protocol bgp speaker4 { local 10.81.0.1 as 14907; neighbor 10.81.0.2 as 64711; password "${PASSWORD}"; connect retry time 2; ipv4 { import all; export filter { if proto = "offered" then { bgp_next_hop = ${CORE_ROUTER}; accept; } reject; }; }; }`,
        'protocol bgp speaker6 { local 2001:db8:bad:face::1 as 14907; neighbor 2001:db8:bad:face::2 as 64711; connect retry time 2; ipv6 { import all; export none; }; }',
        '',
      ].join('\n'),
    );
    await runArgv(['ip', 'netns', 'exec', ns.core, 'bird', '-c', core.confFile, '-s', core.ctlSocket, '-P', core.pidFile]);
  });

  afterAll(async () => {
    // destroy() also kills what runs in the namespaces (the daemons)
    await topo.destroy();
    if (tmp !== '' && process.env.KEEP_BGP_TMP !== '1') rmSync(tmp, { recursive: true, force: true });
  });

  it('starts BIRD; both sessions come up and the core installs exactly the advertised prefixes via our next hops', async () => {
    const { results, mutations } = await reconcile([intent()]);
    expect(results.map((r) => r.item)).toEqual([`bgp:${SPEAKER}`, 'sweep']);
    expect(mutations).toEqual([`ip netns exec ${ns.speaker} bird -c ${speakerDir}/bird.conf -s ${speakerDir}/bird.ctl -P ${speakerDir}/pid`]);
    expect(processAlive(pidOf())).toBe(true);

    const sessions = await established(intent());
    expect(sessions.map((s) => [s.peerId, s.state, s.exported, s.lastError])).toEqual([
      [PEER4, 'Established', 1, null],
      [PEER6, 'Established', 1, null],
    ]);
    for (const s of sessions) expect(Math.abs(Date.parse(s.since ?? '') - Date.now())).toBeLessThan(60_000);
    expect(await coreRoutesBecome([`${TENANT4} via ${HOP4}`, `${TENANT6} via ${HOP6}`])).toHaveLength(2);
  });

  it('a second reconcile is a no-op: no mutating command, same pid', async () => {
    const pid = pidOf();
    const { mutations, results } = await reconcile([intent()]);
    expect(mutations).toEqual([]);
    expect(pidOf()).toBe(pid);
    expect(sessionsOf(results).map((s) => s.state)).toEqual(['Established', 'Established']);
  });

  it('a floating IP /32 is advertised and withdrawn with birdc configure, the sessions stay up', async () => {
    const pid = pidOf();
    const withFip = intent({ routes: [...intent().routes, { destination: `${FIP}/32`, nextHop: HOP4 }] });
    const { mutations } = await reconcile([withFip]);
    expect(mutations).toEqual([`bird -p -c ${speakerDir}/bird.conf.new`, `birdc -s ${speakerDir}/bird.ctl configure`]);
    await coreRoutesBecome([`${FIP} via ${HOP4}`, `${TENANT4} via ${HOP4}`, `${TENANT6} via ${HOP6}`]);
    const sessions = await established(withFip);
    expect(sessions.map((s) => s.exported)).toEqual([2, 1]);
    await capture('show-protocols-established.txt');

    await reconcile([intent()]);
    await coreRoutesBecome([`${TENANT4} via ${HOP4}`, `${TENANT6} via ${HOP6}`]);
    expect(pidOf()).toBe(pid);
    expect((await established(intent())).map((s) => s.exported)).toEqual([1, 1]);
  });

  it('a wrong MD5 password never establishes (its routes are withdrawn); the right one again does', async () => {
    const wrong = intent({ peers: intent().peers.map((p) => (p.id === PEER4 ? { ...p, password: 'not the password' } : p)) });
    await reconcile([wrong]);
    await coreRoutesBecome([`${TENANT6} via ${HOP6}`]);
    const until = Date.now() + 8_000;
    while (Date.now() < until) {
      const [v4, v6] = sessionsOf((await reconcile([wrong])).results);
      expect(v4?.state).not.toBe('Established');
      expect(v4?.exported).toBeNull();
      expect(v6?.state).toBe('Established');
      await sleep(500);
    }
    await capture('show-protocols-md5-mismatch.txt');

    await reconcile([intent()]);
    await established(intent());
    await coreRoutesBecome([`${TENANT4} via ${HOP4}`, `${TENANT6} via ${HOP6}`]);
  });

  it("learns what the peer's import policy accepts, with the peer's next hop, and installs none of it in the speaker's namespace", async () => {
    const learner = intent({
      peers: intent().peers.map((p) =>
        p.id === PEER4 ? { ...p, importPolicy: { acceptDefaultRoute: true, acceptedPrefixes: ['10.0.0.0/8'], maxPrefixes: 10 } } : p,
      ),
    });
    const before = (await established(intent())).find((s) => s.peerId === PEER4)?.since;
    const { mutations } = await reconcile([learner]);
    expect(mutations).toEqual([`bird -p -c ${speakerDir}/bird.conf.new`, `birdc -s ${speakerDir}/bird.ctl configure`]);
    const learned = await poll('the default route and 10.99.0.0/16 learned', async () => {
      const [v4, v6] = sessionsOf((await reconcile([learner])).results);
      return v4?.learned?.length === 2 ? { v4, v6 } : undefined;
    });
    const hop = { nextHop: CORE_ROUTER, asPath: [14907], localPref: 100, best: true };
    expect(learned.v4.learned?.map((r) => ({ ...r, med: null }))).toEqual([
      { destination: '0.0.0.0/0', ...hop, med: null },
      { destination: '10.99.0.0/16', ...hop, med: null },
    ]);
    expect(learned.v4.learnedTotal).toBe(2);
    // a new import policy is a route refresh, not a new session (which would withdraw what the speaker advertises)
    expect(learned.v4.since).toBe(before);
    expect([learned.v6?.learned, learned.v6?.learnedTotal]).toEqual([[], 0]);
    // no kernel protocol: the speaker's namespace routes nothing it learned
    const speakerRoutes = JSON.parse(await runArgv(['ip', '-4', '-j', '-n', ns.speaker, 'route', 'show', 'table', 'all'])) as { dst: string; type?: string }[];
    expect(speakerRoutes.filter((r) => r.type !== 'local' && r.type !== 'broadcast').map((r) => r.dst)).toEqual(['10.81.0.0/24']);

    // the policy withdrawn: BIRD imports nothing again, and the session reports nothing learned
    await reconcile([intent()]);
    const forgotten = await poll('nothing learned', async () => {
      const [v4] = sessionsOf((await reconcile([intent()])).results);
      return v4?.state === 'Established' && v4.learned?.length === 0 ? v4 : undefined;
    });
    expect(forgotten.learnedTotal).toBe(0);
  });

  it('the sweep stops BIRD and removes its state; the core withdraws everything', async () => {
    const pid = pidOf();
    const { mutations, results } = await reconcile([]);
    expect(results).toEqual([{ item: 'sweep', ok: true }]);
    expect(mutations).toEqual([]);
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(speakerDir)).toBe(false);
    await coreRoutesBecome([]);
    expect((await reconcile([])).mutations).toEqual([]);
  });
});
