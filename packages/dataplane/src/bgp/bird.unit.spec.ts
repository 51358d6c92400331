import { type BgpSpeakerIntent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { expectGolden } from './__fixtures__/golden.js';
import { NS, PEER4, SPEAKER, STATE, empty, learning, prefixesOnly, speaker1 } from './__fixtures__/intent.js';
import { birdArgv, birdcArgv, renderBirdConf } from './bird.js';
import { bgpPeerProtocol } from './model.js';
import { bgpSpeakerDir, bgpSpeakerFiles } from './paths.js';

const DIR = bgpSpeakerDir(STATE, SPEAKER);
const files = bgpSpeakerFiles(DIR);

describe('renderBirdConf', () => {
  it('renders static routes, export filters and one BGP protocol per peer', () => {
    expectGolden('speaker1.bird.conf', renderBirdConf(speaker1, files));
  });

  it('renders a speaker with nothing to advertise, logging to stderr', () => {
    expectGolden('empty.bird.conf', renderBirdConf(empty, { logFile: null }));
  });

  it("imports per peer what its policy accepts, restarts a session over its limit, and runs BFD for the peers' families", () => {
    expectGolden('learning.bird.conf', renderBirdConf(learning, files));
    expectGolden('prefixes-only.bird.conf', renderBirdConf(prefixesOnly, { logFile: null }));
  });

  it('learns nothing from a peer of an older intent, which has no import policy', () => {
    const { importPolicy: _p, bfd: _b, ...old } = empty.peers[0] ?? { importPolicy: null, bfd: null };
    expect(renderBirdConf({ ...empty, peers: [old as (typeof empty.peers)[number]] }, { logFile: null })).toBe(renderBirdConf(empty, { logFile: null }));
  });

  it('is independent of the order of peers and routes', () => {
    const shuffled: BgpSpeakerIntent = { ...speaker1, peers: [...speaker1.peers].reverse(), routes: [...speaker1.routes].reverse() };
    expect(renderBirdConf(shuffled, files)).toBe(renderBirdConf(speaker1, files));
  });

  it('refuses what would break or escape the config', () => {
    const [peer] = speaker1.peers;
    if (peer === undefined) throw new Error('fixture');
    const bad =
      (over: Partial<BgpSpeakerIntent>): (() => string) =>
      () =>
        renderBirdConf({ ...speaker1, ...over }, files);
    expect(bad({ peers: [{ ...peer, password: 'a"; } protocol kernel { ' }] })).toThrow(/password/);
    expect(bad({ peers: [{ ...peer, password: 'back\\slash' }] })).toThrow(/password/);
    expect(bad({ peers: [{ ...peer, password: 'x'.repeat(81) }] })).toThrow(/password/);
    expect(bad({ peers: [{ ...peer, password: 'tab\there' }] })).toThrow(/password/);
    expect(bad({ peers: [{ ...peer, remoteAs: 0 }] })).toThrow(/remoteAs/);
    expect(bad({ localAs: 4294967296 })).toThrow(/localAs/);
    expect(bad({ routerId: '2001:db8::1' })).toThrow(/routerId/);
    expect(bad({ peers: [{ ...peer, address: 'fe80::1' }] })).toThrow(/link-local/);
    expect(bad({ peers: [{ ...peer, address: '10.0.0.1; }' }] })).toThrow(/address/);
    expect(bad({ namespace: 'a b' })).toThrow(/namespace/);
    expect(bad({ routes: [{ destination: '192.168.81.65/26', nextHop: '10.81.0.5' }] })).toThrow(/destination/);
    expect(bad({ routes: [{ destination: '192.168.81.64/26', nextHop: '2001:db8::5' }] })).toThrow(/not IPv4/);
    expect(
      bad({
        routes: [
          { destination: '192.168.81.64/26', nextHop: '10.81.0.5' },
          { destination: '192.168.81.64/26', nextHop: '10.81.0.6' },
        ],
      }),
    ).toThrow(/two next hops/);
    expect(bad({ peers: [peer, peer] })).toThrow(/listed twice/);
    const policy = { acceptDefaultRoute: false, maxPrefixes: null };
    expect(bad({ peers: [{ ...peer, importPolicy: { ...policy, acceptedPrefixes: ['10.0.0.1/8'] } }] })).toThrow(/acceptedPrefixes/);
    expect(bad({ peers: [{ ...peer, importPolicy: { ...policy, acceptedPrefixes: ['10.0.0.0/8 ] then accept; ['] } }] })).toThrow(/acceptedPrefixes/);
    expect(bad({ peers: [{ ...peer, importPolicy: { ...policy, acceptedPrefixes: [], maxPrefixes: 0 } }] })).toThrow(/maxPrefixes/);
    const peer4 = speaker1.peers.find((p) => p.id === PEER4);
    if (peer4 === undefined) throw new Error('fixture');
    expect(bad({ peers: [{ ...peer4, importPolicy: { ...policy, acceptedPrefixes: ['2001:db8::/32'] } }] })).toThrow(/not IPv4/);
    expect(bad({ peers: [peer, { ...peer, id: PEER4.replace('1', '9') }] })).toThrow(/two peers have the address/);
  });
});

describe('argv', () => {
  it('runs BIRD in the speaker namespace, or the host namespace, with its files in the state directory', () => {
    expect(birdArgv(speaker1, DIR)).toEqual(['ip', 'netns', 'exec', NS, 'bird', '-c', `${DIR}/bird.conf`, '-s', `${DIR}/bird.ctl`, '-P', `${DIR}/pid`]);
    expect(birdArgv(empty, DIR, 'host-a1')).toEqual([
      'ip',
      'netns',
      'exec',
      'host-a1',
      'bird',
      '-c',
      `${DIR}/bird.conf`,
      '-s',
      `${DIR}/bird.ctl`,
      '-P',
      `${DIR}/pid`,
    ]);
    expect(birdArgv(empty, DIR)).toEqual(['bird', '-c', `${DIR}/bird.conf`, '-s', `${DIR}/bird.ctl`, '-P', `${DIR}/pid`]);
    expect(birdcArgv(files.ctlSocket, 'configure')).toEqual(['birdc', '-s', `${DIR}/bird.ctl`, 'configure']);
  });

  it('names protocols by the whole peer id and refuses a control socket path too long for a unix socket', () => {
    expect(bgpPeerProtocol('BEE00001-0000-4000-8000-000000000001')).toBe('peer_bee00001000040008000000000000001');
    expect(() => bgpSpeakerFiles(`/${'x'.repeat(100)}`)).toThrow(/unix socket/);
  });
});
