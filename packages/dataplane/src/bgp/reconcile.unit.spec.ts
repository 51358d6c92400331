import { type BgpSpeakerIntent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { RecordingRunner } from '../runner.js';
import { expectStillRunning, withDaemonRunning } from '../dhcp/__fixtures__/fake-host.js';
import { FakeBirdMachine } from './__fixtures__/fake-host.js';
import { NS, PEER4, PEER6, SPEAKER, SPEAKER2, STATE, empty, speaker1 } from './__fixtures__/intent.js';
import { type BgpOptions, isBgpReadOnlyCommand, reconcileBgp } from './reconcile.js';

const DIR = `${STATE}/bgp/${SPEAKER}`;
const established = (peerId: string) => ({ peerId, state: 'Established', since: '2026-11-22T08:46:00.000Z', exported: 3, lastError: null });
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
