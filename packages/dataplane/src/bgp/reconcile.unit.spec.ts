import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type BgpSpeakerIntent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { RecordingRunner } from '../runner.js';
import { expectStillRunning, withDaemonRunning } from '../dhcp/__fixtures__/fake-host.js';
import { FakeBirdMachine } from './__fixtures__/fake-host.js';
import { NS, PEER4, PEER6, SPEAKER, SPEAKER2, STATE, empty, learning, speaker1 } from './__fixtures__/intent.js';
import { bgpPeerProtocol } from './model.js';
import { type BgpOptions, isBgpReadOnlyCommand, learnedRoutes, reconcileBgp } from './reconcile.js';
import { MAX_LEARNED_REPORTED, type BirdRoute } from './status.js';

const DIR = `${STATE}/bgp/${SPEAKER}`;
const established = (peerId: string) => ({
  peerId,
  state: 'Established',
  since: '2026-11-22T08:46:00.000Z',
  exported: 3,
  lastError: null,
  learned: [],
  learnedTotal: 0,
});
const allOk = [
  { item: `bgp:${SPEAKER}`, ok: true, sessions: [established(PEER6), established(PEER4)] },
  { item: 'sweep', ok: true },
];

function machine(): { machine: FakeBirdMachine; options: BgpOptions } {
  const m = new FakeBirdMachine();
  m.addNamespace(NS);
  return { machine: m, options: { stateDir: STATE, host: m } };
}

const pid = (m: FakeBirdMachine, file = `${DIR}/pid`): number => Number(m.files.get(file));
/** {@link machine} with BIRD already running for speaker1. */
const birdRunning = () => withDaemonRunning(machine, (m, options) => reconcileBgp([speaker1], m, options), `${DIR}/pid`);
const mutations = (r: RecordingRunner): string[] => r.calls.filter((c) => !isBgpReadOnlyCommand(c)).map((c) => c.join(' '));
const withRoute = (intent: BgpSpeakerIntent, destination: string, nextHop: string): BgpSpeakerIntent => ({
  ...intent,
  routes: [...intent.routes, { destination, nextHop }],
});

describe('reconcileBgp against an in-memory machine', () => {
  it('writes bird.conf (0600), starts BIRD and reports the sessions; then does nothing', async () => {
    const { machine: m, options } = machine();
    const first = new RecordingRunner(m);
    expect(await reconcileBgp([speaker1], first, options)).toEqual(allOk);
    expect(mutations(first)).toEqual([`ip netns exec ${NS} bird -c ${DIR}/bird.conf -s ${DIR}/bird.ctl -P ${DIR}/pid`]);
    expect(m.files.get(`${DIR}/bird.conf`)).toContain('route 192.168.81.64/26 unreachable;');
    expect(JSON.parse(m.files.get(`${DIR}/cmdline.json`) ?? '[]')).toContain(`${DIR}/pid`);

    // a restarted agent: same intent, nothing remembered but the state directory
    const started = pid(m);
    const second = new RecordingRunner(m);
    expect(await reconcileBgp([speaker1], second, options)).toEqual(allOk);
    expect(mutations(second)).toEqual([]);
    expect(second.calls.map((c) => c.join(' '))).toContain(`birdc -s ${DIR}/bird.ctl show protocols all`);
    expectStillRunning(m, `${DIR}/pid`, started);
  });

  it('a changed intent is checked with bird -p and applied with birdc configure, BIRD keeps running', async () => {
    const { machine: m, options, started } = await birdRunning();
    const recorder = new RecordingRunner(m);
    const fip = withRoute(speaker1, '203.0.113.9/32', '10.81.0.5');
    expect(await reconcileBgp([fip], recorder, options)).toEqual(allOk);
    expect(mutations(recorder)).toEqual([`bird -p -c ${DIR}/bird.conf.new`, `birdc -s ${DIR}/bird.ctl configure`]);
    expect(m.loaded.get(`${DIR}/bird.ctl`)).toContain('203.0.113.9/32');
    expectStillRunning(m, `${DIR}/pid`, started);
  });

  it('a refused configuration is reported and the running one stays, also on disk (retried next time)', async () => {
    const { machine: m, options } = await birdRunning();
    const good = m.files.get(`${DIR}/bird.conf`);
    const fip = withRoute(speaker1, '203.0.113.9/32', '10.81.0.5');

    m.refuseConfig = 'syntax error';
    const [refused] = await reconcileBgp([fip], m, options);
    expect(refused).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^the new configuration is refused, BIRD keeps the old one: .*syntax error/) as unknown,
    });
    expect(m.files.get(`${DIR}/bird.conf`)).toBe(good);

    m.refuseConfig = null;
    m.configureAnswer = `${DIR}/bird.conf:3:1 syntax error, unexpected GARBAGE`;
    const [notReconfigured] = await reconcileBgp([fip], m, options);
    expect(notReconfigured).toMatchObject({ ok: false, error: expect.stringContaining('birdc configure did not reconfigure BIRD') as unknown });
    expect(m.files.get(`${DIR}/bird.conf`)).toBe(good);

    m.configureAnswer = null;
    const retry = new RecordingRunner(m);
    expect((await reconcileBgp([fip], retry, options))[0]).toMatchObject({ ok: true });
    expect(mutations(retry)).toEqual([`bird -p -c ${DIR}/bird.conf.new`, `birdc -s ${DIR}/bird.ctl configure`]);
  });

  it('restarts BIRD when its command line changes (another namespace) and never signals a stranger', async () => {
    const { machine: m, options } = machine();
    m.addNamespace('other');
    await reconcileBgp([speaker1], m, options);
    const started = pid(m);
    const moved = new RecordingRunner(m);
    expect((await reconcileBgp([{ ...speaker1, namespace: 'other' }], moved, options))[0]).toMatchObject({ ok: true });
    expect(m.signals).toEqual([`SIGTERM ${started} bird`]);
    expect(mutations(moved)).toEqual([`ip netns exec other bird -c ${DIR}/bird.conf -s ${DIR}/bird.ctl -P ${DIR}/pid`]);

    m.processes.delete(pid(m)); // BIRD died, and its pid went to another program
    const stranger = m.spawnForeign(['sshd', '-D']);
    m.files.set(`${DIR}/pid`, `${stranger}\n`);
    const recorder = new RecordingRunner(m);
    expect((await reconcileBgp([{ ...speaker1, namespace: 'other' }], recorder, options))[0]).toMatchObject({ ok: true });
    expect(m.processes.get(stranger)).toEqual(['sshd', '-D']);
    expect(m.signals).toHaveLength(1);
    expect(mutations(recorder)).toEqual([`ip netns exec other bird -c ${DIR}/bird.conf -s ${DIR}/bird.ctl -P ${DIR}/pid`]);
  });

  it('runs a speaker without namespace in the host namespace', async () => {
    const { machine: m } = machine();
    m.addNamespace('host-a1');
    const recorder = new RecordingRunner(m);
    const results = await reconcileBgp([empty], recorder, { stateDir: STATE, host: m, hostNetns: 'host-a1' });
    expect(results).toEqual([
      { item: `bgp:${SPEAKER2}`, ok: true, sessions: [established(PEER4)] },
      { item: 'sweep', ok: true },
    ]);
    expect(mutations(recorder)[0]).toMatch(/^ip netns exec host-a1 bird -c /);
    const direct = new FakeBirdMachine();
    const plain = new RecordingRunner(direct);
    await reconcileBgp([empty], plain, { stateDir: STATE, host: direct });
    expect(mutations(plain)[0]).toMatch(/^bird -c /);
  });

  it('reports a missing namespace, an invalid intent, a duplicate and a BIRD that does not come up as item errors', async () => {
    const { machine: m, options } = machine();
    const results = await reconcileBgp(
      [
        { ...speaker1, namespace: 'nope' },
        { ...empty, localAs: 0 },
        { ...empty, localAs: 0 },
      ],
      m,
      options,
    );
    expect(results).toEqual([
      { item: `bgp:${SPEAKER}`, ok: false, error: 'namespace nope does not exist' },
      { item: `bgp:${SPEAKER2}`, ok: false, error: expect.stringContaining('localAs') as unknown },
      { item: `bgp:${SPEAKER2}`, ok: false, error: `bgp:${SPEAKER2} is listed twice` },
      { item: 'sweep', ok: true },
    ]);
    m.daemonsFail = true;
    const [failed] = await reconcileBgp([speaker1], m, { ...options, timings: { startWaitMs: 100, pollMs: 50 } });
    expect(failed).toEqual({ item: `bgp:${SPEAKER}`, ok: false, error: `bird did not start (no live process for ${DIR}/pid; see ${DIR}/bird.log)` });
  });

  it('sweeps the speakers no intent names: SIGTERM after the identity check, state removed', async () => {
    const { machine: m, options } = machine();
    await reconcileBgp([speaker1, empty], m, options);
    const started = pid(m);
    await m.makeDir(`${STATE}/bgp/not-an-id`);
    const recorder = new RecordingRunner(m);
    expect(await reconcileBgp([empty], recorder, options)).toEqual([
      { item: `bgp:${SPEAKER2}`, ok: true, sessions: [established(PEER4)] },
      { item: 'sweep', ok: true },
    ]);
    expect(m.signals).toEqual([`SIGTERM ${started} bird`]);
    expect(m.dirs.has(DIR)).toBe(false);
    expect(m.dirs.has(`${STATE}/bgp/not-an-id`)).toBe(true);
    expect(mutations(recorder)).toEqual([]);
  });

  it('refuses an invalid state directory or host namespace', async () => {
    const { machine: m } = machine();
    await expect(reconcileBgp([], m, { stateDir: 'relative', host: m })).rejects.toThrow(/stateDir/);
    await expect(reconcileBgp([], m, { stateDir: STATE, host: m, hostNetns: 'a b' })).rejects.toThrow(/hostNetns/);
  });
});

describe('learned routes', () => {
  const captured = readFileSync(path.join(__dirname, '__fixtures__', 'show-route-learned.txt'), 'utf8');

  it("reports what a learning peer's session holds, asking BIRD only for peers that learn and hold routes", async () => {
    const { machine: m, options } = machine();
    // the capture is of a session with PEER4's protocol: what the IPv4 peer of `learning` gives
    m.learned.set(bgpPeerProtocol(PEER4), { output: captured, count: 2 });
    const recorder = new RecordingRunner(m);
    const [result] = await reconcileBgp([learning], recorder, options);
    const sessions = result?.ok === true && 'sessions' in result ? result.sessions : [];
    const hop = { nextHop: '192.168.81.1', asPath: [14907], med: 0, localPref: 100, best: true };
    expect(sessions.map((s) => [s.peerId, s.learned, s.learnedTotal])).toEqual([
      [
        PEER4,
        [
          { destination: '0.0.0.0/0', ...hop },
          { destination: '10.99.0.0/16', ...hop },
        ],
        2,
      ],
      [PEER6, [], 0],
    ]);
    const asked = recorder.calls.map((c) => c.join(' ')).filter((c) => c.includes('show route'));
    expect(asked).toEqual([`birdc -s ${DIR}/bird.ctl show route protocol ${bgpPeerProtocol(PEER4)} all`]);
    // speaker1's peers learn nothing: BIRD is never asked for routes
    const quiet = new RecordingRunner(m);
    await reconcileBgp([speaker1], quiet, options);
    expect(quiet.calls.filter((c) => c.includes('route'))).toEqual([]);
  });

  it('keeps routes of the peer, of its family, in normal form and order, at most MAX_LEARNED_REPORTED', () => {
    const route = (destination: string, nextHop: string | null, protocol = 'p4'): BirdRoute => ({
      destination,
      protocol,
      from: null,
      since: null,
      best: true,
      nextHop,
      asPath: [],
      med: null,
      localPref: null,
    });
    const routes = [
      route('10.2.0.0/16', '192.0.2.1'),
      route('10.1.0.0/16', '192.0.2.2'),
      route('10.1.0.0/16', '192.0.2.1'),
      route('10.3.0.0/16', '192.0.2.1', 'other'),
      route('10.4.0.0/16', null),
      route('2001:db8::/32', '2001:db8::1'),
      route('10.5.0.1/16', '192.0.2.1'),
    ];
    const { learned, total } = learnedRoutes(routes, 'p4', '192.0.2.254');
    expect(learned.map((r) => `${r.destination} ${r.nextHop}`)).toEqual(['10.1.0.0/16 192.0.2.1', '10.1.0.0/16 192.0.2.2', '10.2.0.0/16 192.0.2.1']);
    expect(total).toBe(6);
    const many = Array.from({ length: MAX_LEARNED_REPORTED + 5 }, (_, i) => route(`10.${Math.floor(i / 256)}.${i % 256}.0/24`, '192.0.2.1'));
    const bounded = learnedRoutes(many, 'p4', '192.0.2.254');
    expect([bounded.learned.length, bounded.total]).toEqual([MAX_LEARNED_REPORTED, MAX_LEARNED_REPORTED + 5]);
  });
});
