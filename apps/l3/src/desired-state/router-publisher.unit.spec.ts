import { describe, expect, it } from 'vitest';
import { HA_PRIORITY, haIntent } from './router-publisher';

const PORT = '5a555555-0000-4000-8000-0000000000a1';

describe("an HA router's intent on one host", () => {
  const subnets = new Map([
    ['ha4', { cidr: '169.254.192.0/18', ipVersion: 4, gatewayIp: null, addressScopeId: null }],
    ['v6', { cidr: '2001:db8::/64', ipVersion: 6, gatewayIp: null, addressScopeId: null }],
  ]);

  it("carries the VRID, the shared priority and that host's HA port with its address", () => {
    expect(
      haIntent(
        7,
        PORT,
        [
          { subnetId: 'v6', ipAddress: '2001:db8::5' },
          { subnetId: 'ha4', ipAddress: '169.254.192.5' },
        ],
        subnets,
        0.2,
      ),
    ).toEqual({ vrid: 7, priority: HA_PRIORITY, advertSeconds: 0.2, interface: { portId: PORT, ifname: 'ha-5a555555000', address: '169.254.192.5/18' } });
  });

  it('is not there before IPAM gave the port an IPv4 address', () => {
    expect(haIntent(7, PORT, undefined, subnets, 0.5)).toBeNull();
    expect(haIntent(7, PORT, [{ subnetId: 'v6', ipAddress: '2001:db8::5' }], subnets, 0.5)).toBeNull();
  });
});
