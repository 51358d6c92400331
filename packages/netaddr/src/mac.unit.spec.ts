import { describe, expect, it } from 'vitest';
import { NetaddrError, eui64Address, eui64InterfaceId, formatIp, formatMac, isUnicastMac, isValidMac, normalizeMac, parseCidr, parseMac } from './index.js';

describe('MAC addresses', () => {
  it('parses and normalizes to lowercase colon form', () => {
    expect(parseMac('fa:16:3e:11:11:11')).toEqual([0xfa, 0x16, 0x3e, 0x11, 0x11, 0x11]);
    expect(normalizeMac('FA:16:3E:AB:CD:EF')).toBe('fa:16:3e:ab:cd:ef');
    expect(normalizeMac('fa-16-3e-ab-cd-ef')).toBe('fa:16:3e:ab:cd:ef');
    expect(formatMac([0, 1, 2, 0xa, 0xb, 0xff])).toBe('00:01:02:0a:0b:ff');
  });

  it.each([
    'fa:16:3e:11:11',
    'fa:16:3e:11:11:11:11',
    'fa:16-3e:11:11:11',
    'fa163e111111',
    'fa16.3e11.1111',
    'fa:16:3e:11:11:1g',
    'f:16:3e:11:11:11',
    ' fa:16:3e:11:11:11',
    '',
  ])('rejects %j', (text) => {
    expect(isValidMac(text)).toBe(false);
    expect(() => parseMac(text)).toThrow(NetaddrError);
    expect(() => parseMac(text)).toThrow(`'${text}' is not a valid MAC address`);
  });

  it('refuses impossible octets when formatting', () => {
    expect(() => formatMac([256, 0, 0, 0, 0, 0])).toThrow(NetaddrError);
  });

  it.each([
    ['fa:16:3e:11:11:11', true],
    ['00:00:00:00:00:00', true],
    ['02:00:00:00:00:01', true],
    ['01:00:5e:00:00:01', false], // IPv4 multicast
    ['33:33:00:00:00:01', false], // IPv6 multicast
    ['ff:ff:ff:ff:ff:ff', false],
  ])('isUnicastMac(%s) = %s', (mac, unicast) => {
    expect(isUnicastMac(mac)).toBe(unicast);
  });
});

describe('modified EUI-64 (RFC 4291 appendix A)', () => {
  it.each([
    // RFC 2464 section 4 example
    ['34-56-78-9A-BC-DE', 0x365678fffe9abcden],
    // the universal/local bit is inverted in both directions
    ['00:00:00:00:00:00', 0x020000fffe000000n],
    ['02:00:00:00:00:00', 0x000000fffe000000n],
    ['fa:16:3e:11:11:11', 0xf8163efffe111111n],
  ])('interface id of %s', (mac, id) => {
    expect(eui64InterfaceId(mac)).toBe(id);
  });

  it('builds the SLAAC address of a Neutron port', () => {
    const prefix = parseCidr('2001:db8:0:1::/64');
    expect(formatIp(6, eui64Address(prefix, 'fa:16:3e:11:11:11'))).toBe('2001:db8:0:1:f816:3eff:fe11:1111');
    expect(formatIp(6, eui64Address(parseCidr('fe80::/64'), '34:56:78:9a:bc:de'))).toBe('fe80::3656:78ff:fe9a:bcde');
    // TCP/IP Illustrated vol. 1, 2nd ed., section 2.5.2
    expect(formatIp(6, eui64Address(parseCidr('fe80::/64'), '00:30:48:2A:19:89'))).toBe('fe80::230:48ff:fe2a:1989');
  });

  it('needs an IPv6 /64', () => {
    expect(() => eui64Address(parseCidr('2001:db8::/48'), 'fa:16:3e:11:11:11')).toThrow('EUI-64 addresses need an IPv6 /64 prefix, got 2001:db8::/48');
    expect(() => eui64Address(parseCidr('10.0.0.0/24'), 'fa:16:3e:11:11:11')).toThrow(NetaddrError);
    expect(() => eui64Address(parseCidr('2001:db8::/64'), 'nope')).toThrow(/not a valid MAC/);
  });
});
