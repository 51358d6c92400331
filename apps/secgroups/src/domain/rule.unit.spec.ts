import { describe, expect, it } from 'vitest';
import { ValidationError } from '@ncp/contracts';
import { checkRule, defaultGroupRules, ruleKey, type RuleRequest } from './rule';

const refusal = (request: RuleRequest): string => {
  try {
    checkRule(request);
  } catch (error) {
    if (error instanceof ValidationError) return error.code;
    throw error;
  }
  throw new Error('the rule was accepted');
};

describe('security group rule, checked as Neutron checks it', () => {
  it('fills the defaults: IPv4, any protocol, any port, any remote, no description', () => {
    expect(checkRule({ direction: 'ingress' })).toEqual({
      direction: 'ingress',
      ethertype: 'IPv4',
      protocol: null,
      portRangeMin: null,
      portRangeMax: null,
      remoteIpPrefix: null,
      remoteGroupId: null,
      description: '',
    });
  });

  it.each([
    ['ipv6', 'IPv6'],
    ['IPV4', 'IPv4'],
  ])('takes ethertype %s in any case as %s', (given, canonical) => {
    expect(checkRule({ direction: 'egress', ethertype: given }).ethertype).toBe(canonical);
  });

  it.each([
    ['TCP', 'IPv4', 'tcp'],
    ['6', 'IPv4', '6'],
    [17, 'IPv4', '17'],
    ['any', 'IPv4', null],
    ['icmp', 'IPv4', 'icmp'],
    // the legacy IPv6 ICMP names and number become ipv6-icmp / 58 over IPv6
    ['icmp', 'IPv6', 'ipv6-icmp'],
    ['icmpv6', 'IPv6', 'ipv6-icmp'],
    ['1', 'IPv6', '58'],
    ['ipv6-icmp', 'IPv6', 'ipv6-icmp'],
  ])('keeps protocol %s over %s as %s', (given, family, kept) => {
    expect(checkRule({ direction: 'ingress', ethertype: family, protocol: given }).protocol).toBe(kept);
  });

  it.each<[string, RuleRequest]>([
    ['HTTPBadRequest', { direction: 'inbound' }],
    ['SecurityGroupRuleInvalidEtherType', { direction: 'ingress', ethertype: 'IPv5' }],
    ['SecurityGroupRuleInvalidProtocol', { direction: 'ingress', protocol: 'tcpx' }],
    ['SecurityGroupRuleInvalidProtocol', { direction: 'ingress', protocol: '256' }],
    // a name is looked up in the table only, never in what every object has
    ['SecurityGroupRuleInvalidProtocol', { direction: 'ingress', protocol: 'constructor' }],
    ['SecurityGroupProtocolRequiredWithPorts', { direction: 'ingress', portRangeMin: 22, portRangeMax: 22 }],
    ['SecurityGroupInvalidPortValue', { direction: 'ingress', protocol: 'tcp', portRangeMin: 0, portRangeMax: 22 }],
    ['SecurityGroupInvalidPortRange', { direction: 'ingress', protocol: 'udp', portRangeMin: 30, portRangeMax: 20 }],
    ['SecurityGroupInvalidPortRange', { direction: 'ingress', protocol: 'tcp', portRangeMin: 22 }],
    // outside 0-65535 whatever the protocol: Neutron's API refuses the value before the range (Tempest checks the words)
    ['SecurityGroupInvalidPortValue', { direction: 'ingress', protocol: 'tcp', portRangeMin: 1, portRangeMax: 65536 }],
    ['SecurityGroupInvalidPortValue', { direction: 'ingress', protocol: 'tcp', portRangeMin: -16, portRangeMax: 80 }],
    ['SecurityGroupInvalidPortValue', { direction: 'ingress', protocol: 'icmp', portRangeMin: -1, portRangeMax: 25 }],
    ['SecurityGroupInvalidIcmpValue', { direction: 'ingress', protocol: 'icmp', portRangeMin: 256 }],
    ['SecurityGroupInvalidIcmpValue', { direction: 'ingress', protocol: 'icmp', portRangeMin: 8, portRangeMax: 300 }],
    ['SecurityGroupMissingIcmpType', { direction: 'ingress', protocol: 'icmp', portRangeMax: 0 }],
    ['SecurityGroupInvalidProtocolForPort', { direction: 'ingress', protocol: 'gre', portRangeMin: 1, portRangeMax: 2 }],
    ['SecurityGroupEthertypeConflictWithProtocol', { direction: 'ingress', ethertype: 'IPv4', protocol: 'ipv6-icmp' }],
    ['SecurityGroupEthertypeConflictWithProtocol', { direction: 'ingress', ethertype: 'IPv4', protocol: '58' }],
    ['SecurityGroupRuleParameterConflict', { direction: 'ingress', ethertype: 'IPv4', remoteIpPrefix: '2001:db8::/64' }],
    ['SecurityGroupRuleParameterConflict', { direction: 'ingress', ethertype: 'IPv6', remoteIpPrefix: '10.0.0.0/8' }],
    ['HTTPBadRequest', { direction: 'ingress', remoteIpPrefix: '10.0.0.0/33' }],
    ['SecurityGroupRemoteGroupAndRemoteIpPrefix', { direction: 'ingress', remoteIpPrefix: '10.0.0.0/8', remoteGroupId: 'g1' }],
  ])('refuses with %s: %j', (type, request) => {
    expect(refusal(request)).toBe(`SG.${type}`);
  });

  it('takes a port range on TCP, UDP, SCTP, DCCP and UDP-Lite, one port as min = max', () => {
    for (const p of ['tcp', 'udp', 'sctp', 'dccp', 'udplite', '6']) {
      expect(checkRule({ direction: 'ingress', protocol: p, portRangeMin: 22, portRangeMax: 22 })).toMatchObject({ portRangeMin: 22, portRangeMax: 22 });
    }
  });

  it('takes an ICMP type alone, or a type and a code, over IPv4 and IPv6', () => {
    expect(checkRule({ direction: 'ingress', protocol: 'icmp', portRangeMin: 8 })).toMatchObject({ portRangeMin: 8, portRangeMax: null });
    expect(checkRule({ direction: 'ingress', ethertype: 'IPv6', protocol: 'icmpv6', portRangeMin: 128, portRangeMax: 0 })).toMatchObject({
      protocol: 'ipv6-icmp',
      portRangeMin: 128,
      portRangeMax: 0,
    });
  });

  it('gives a bare address its host mask and clears host bits from a prefix', () => {
    expect(checkRule({ direction: 'ingress', remoteIpPrefix: '192.0.2.10' }).remoteIpPrefix).toBe('192.0.2.10/32');
    expect(checkRule({ direction: 'ingress', remoteIpPrefix: '192.0.2.10/24' }).remoteIpPrefix).toBe('192.0.2.0/24');
    expect(checkRule({ direction: 'ingress', ethertype: 'IPv6', remoteIpPrefix: '2001:DB8::1' }).remoteIpPrefix).toBe('2001:db8::1/128');
  });
});

describe('rule identity (what makes a rule a duplicate)', () => {
  const key = (r: RuleRequest) => ruleKey(checkRule(r));

  it('sees a protocol by name and by number as the same', () => {
    expect(key({ direction: 'ingress', protocol: 'tcp', portRangeMin: 22, portRangeMax: 22 })).toBe(
      key({ direction: 'ingress', protocol: '6', portRangeMin: 22, portRangeMax: 22 }),
    );
  });

  it('sees 0.0.0.0/0, ::/0 and no prefix as the same, and ignores the description', () => {
    expect(key({ direction: 'egress', remoteIpPrefix: '0.0.0.0/0', description: 'a' })).toBe(key({ direction: 'egress' }));
    expect(key({ direction: 'egress', ethertype: 'IPv6', remoteIpPrefix: '::/0' })).toBe(key({ direction: 'egress', ethertype: 'IPv6' }));
  });

  it('tells apart rules that differ in direction, family, ports or remote', () => {
    const base: RuleRequest = { direction: 'ingress', protocol: 'tcp', portRangeMin: 80, portRangeMax: 80 };
    const keys = [
      base,
      { ...base, direction: 'egress' },
      { ...base, ethertype: 'IPv6' },
      { ...base, portRangeMax: 81 },
      { ...base, remoteIpPrefix: '10.0.0.0/8' },
      { ...base, remoteGroupId: 'g1' },
    ].map(key);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe("a project's default group", () => {
  it('starts with every egress and ingress from its own members, IPv4 and IPv6', () => {
    const rules = defaultGroupRules('g1');
    expect(rules.map((r) => [r.direction, r.ethertype, r.remoteGroupId])).toEqual([
      ['ingress', 'IPv4', 'g1'],
      ['egress', 'IPv4', null],
      ['ingress', 'IPv6', 'g1'],
      ['egress', 'IPv6', null],
    ]);
    expect(new Set(rules.map(ruleKey)).size).toBe(4);
  });
});
