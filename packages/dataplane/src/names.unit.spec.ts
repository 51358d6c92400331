import { describe, expect, it } from 'vitest';
import { bridgeArgv, ipArgv } from './argv.js';
import { assertIp, assertLinkName, assertMac, assertNetnsName, bridgeName, ownerAlias, parseOwnerAlias, tapName, vlanName, vxlanName } from './names.js';
import { isReadOnlyCommand } from './runner.js';

const NET = '5F1C2D3E-aaaa-4bbb-8ccc-0123456789ab';
const PORT = '0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3';

describe('names', () => {
  it('derives short, lowercase link names from ids', () => {
    expect(bridgeName(NET)).toBe('br-5f1c2d3e');
    expect(vxlanName(NET)).toBe('vx-5f1c2d3e');
    expect(vlanName(NET)).toBe('vl-5f1c2d3e');
    expect(tapName(PORT)).toBe('tap0a1b2c3d4e5');
    for (const name of [bridgeName(NET), tapName(PORT)]) expect(name.length).toBeLessThanOrEqual(15);
  });

  it('refuses ids that are not UUIDs', () => {
    expect(() => bridgeName('../../etc')).toThrow(/is not a UUID/);
    expect(() => tapName('')).toThrow(/is not a UUID/);
  });

  it.each([
    ['eth0', true],
    ['br-5f1c2d3e', true],
    ['a.b_c-d', true],
    ['sixteen-chars-xx', false],
    ['', false],
    ['eth 0', false],
    ['eth0;rm', false],
    ['a/b', false],
    ['..', false],
    ['-all', false],
  ])('link name %j valid: %s', (name, ok) => {
    if (ok) expect(assertLinkName(name)).toBe(name);
    else expect(() => assertLinkName(name)).toThrow(/not a valid interface name/);
  });

  it('validates namespace names (up to 64 characters)', () => {
    expect(assertNetnsName('qrouter-5f1c2d3e')).toBe('qrouter-5f1c2d3e');
    expect(() => assertNetnsName('x'.repeat(65))).toThrow(/not a valid namespace name/);
    expect(() => assertNetnsName('a b')).toThrow();
  });

  it('normalises MACs and IPs to the form iproute2 prints', () => {
    expect(assertMac('FA-16-3E-00-00-01')).toBe('fa:16:3e:00:00:01');
    expect(assertIp('2001:0db8:0:0::2')).toBe('2001:db8::2');
    expect(() => assertMac('fa163e000001')).toThrow(/not a MAC/);
    expect(() => assertIp('10.1')).toThrow(/not an IP/);
  });

  it('marks and recognises our links by alias', () => {
    expect(ownerAlias('net', NET)).toBe('ncp:net:5f1c2d3e-aaaa-4bbb-8ccc-0123456789ab');
    expect(parseOwnerAlias(ownerAlias('port', PORT))).toEqual({ tag: 'port', id: PORT });
    expect(parseOwnerAlias('ncp:router:1')).toBeNull();
    expect(parseOwnerAlias('ncp:net:not-a-uuid')).toBeNull();
    expect(parseOwnerAlias('uplink to core')).toBeNull();
    expect(parseOwnerAlias(null)).toBeNull();
  });
});

describe('argv builders', () => {
  it('add -n only for a named namespace', () => {
    expect(ipArgv(null, 'link', 'show')).toEqual(['ip', 'link', 'show']);
    expect(ipArgv('host-a', 'link', 'show')).toEqual(['ip', '-n', 'host-a', 'link', 'show']);
    expect(bridgeArgv('host-a', 'fdb', 'show')).toEqual(['bridge', '-n', 'host-a', 'fdb', 'show']);
    expect(() => ipArgv('-all', 'link')).toThrow(/namespace name/);
    expect(() => ipArgv('a b', 'link')).toThrow(/namespace name/);
  });

  it('tell reads from writes', () => {
    expect(isReadOnlyCommand(['ip', '-n', 'h', '-j', '-d', 'link', 'show'])).toBe(true);
    expect(isReadOnlyCommand(['bridge', '-n', 'h', '-j', 'fdb', 'show', 'dev', 'vx-1'])).toBe(true);
    expect(isReadOnlyCommand(['ip', '-j', 'netns', 'list'])).toBe(true);
    expect(isReadOnlyCommand(['ip', 'netns', 'add', 'show'])).toBe(false);
    expect(isReadOnlyCommand(['ip', '-n', 'show', 'link', 'set', 'dev', 'x', 'up'])).toBe(false);
    expect(isReadOnlyCommand(['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx-1', 'dst', '10.0.0.1'])).toBe(false);
  });
});
