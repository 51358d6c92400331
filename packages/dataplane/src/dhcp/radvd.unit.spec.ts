import { describe, expect, it } from 'vitest';
import { expectGolden } from './__fixtures__/golden.js';
import { STATE, ra1 } from './__fixtures__/intent.js';
import { raDir } from './paths.js';
import { radvdArgv, renderRadvdConf } from './radvd.js';

describe('renderRadvdConf', () => {
  it('renders one interface block per qr- interface', () => {
    expectGolden('ra1.radvd.conf', renderRadvdConf(ra1));
  });

  it('refuses timings and prefixes radvd would refuse or that give no address', () => {
    expect(() => renderRadvdConf({ ...ra1, minInterval: 500 })).toThrow(/0.75/);
    expect(() => renderRadvdConf({ ...ra1, routerLifetime: 300 })).toThrow(/at least maxInterval/);
    expect(() => renderRadvdConf({ ...ra1, preferredLifetime: 90000 })).toThrow(/exceeds validLifetime/);
    const [qr] = ra1.interfaces;
    if (qr === undefined) throw new Error('fixture');
    expect(() => renderRadvdConf({ ...ra1, interfaces: [{ ...qr, prefixes: [{ cidr: '2001:db8::/56', autonomous: true }] }] })).toThrow(/must be a \/64/);
    expect(() => renderRadvdConf({ ...ra1, interfaces: [{ ...qr, prefixes: [{ cidr: '10.0.0.0/24', autonomous: false }] }] })).toThrow(/not IPv6/);
    expect(() => renderRadvdConf({ ...ra1, interfaces: [qr, qr] })).toThrow(/listed twice/);
    expect(() => renderRadvdConf({ ...ra1, interfaces: [{ ...qr, ifname: 'qr-x; }' }] })).toThrow(/ifname/);
    // RAs must come from a link-local address (RFC 4861 4.2), never a global or metadata-less guess
    for (const sourceAddress of ['2001:db8:0:1::1', 'fe80:0:0:1::1', '169.254.169.254', 'fe80::1; }']) {
      expect(() => renderRadvdConf({ ...ra1, interfaces: [{ ...qr, sourceAddress }] })).toThrow(/sourceAddress: must be an IPv6 link-local address/);
    }
  });
});

describe('radvdArgv', () => {
  it('runs radvd in the router namespace with its files in the state directory', () => {
    expect(radvdArgv(ra1, raDir(STATE, ra1.routerId))).toEqual([
      'ip',
      'netns',
      'exec',
      'qrouter-7a000001',
      'radvd',
      '-C',
      '/var/lib/ncp-agent/ra/7a000001-0000-4000-8000-000000000001/radvd.conf',
      '-p',
      '/var/lib/ncp-agent/ra/7a000001-0000-4000-8000-000000000001/radvd.pid',
      '-m',
      'logfile',
      '-l',
      '/var/lib/ncp-agent/ra/7a000001-0000-4000-8000-000000000001/radvd.log',
    ]);
  });
});
