import { type HaNetworkEvent } from '@ncp/contracts';
import { deciderSpec } from '@ncp/testing';
import { describe, it } from 'vitest';
import { haNetworkDecider } from './ha-network.decider';

const NET = '66666666-0000-4000-8000-000000000001';
const OTHER_NET = '66666666-0000-4000-8000-000000000002';
const R1 = '33333333-0000-4000-8000-000000000001';
const R2 = '33333333-0000-4000-8000-000000000002';

describe('HA network decider', () => {
  const spec = deciderSpec(haNetworkDecider);
  const claimed: HaNetworkEvent = { type: 'HaNetworkClaimed', data: { networkId: NET } };
  const vrid = (routerId: string, n: number): HaNetworkEvent => ({ type: 'HaVridAllocated', data: { routerId, vrid: n } });

  it('keeps the first HA network a project claims', () => {
    spec.given([]).when({ type: 'ClaimHaNetwork', networkId: NET }).then([claimed]);
    spec.given([claimed]).when({ type: 'ClaimHaNetwork', networkId: NET }).then([]);
    spec.given([claimed]).when({ type: 'ClaimHaNetwork', networkId: OTHER_NET }).thenThrows('L3.HaNetworkExists', new RegExp(NET));
  });

  it('lets the network go once no router has a VRID on it; a router placed first keeps it; another network is claimed after', () => {
    const releasedNet: HaNetworkEvent = { type: 'HaNetworkReleased', data: { networkId: NET } };
    const gone: HaNetworkEvent = { type: 'HaVridReleased', data: { routerId: R1 } };
    spec
      .given([claimed, vrid(R1, 1), gone])
      .when({ type: 'ReleaseHaNetwork', networkId: NET })
      .then([releasedNet]);
    // a router placed between the last release and this one: the network stays
    spec
      .given([claimed, vrid(R1, 1)])
      .when({ type: 'ReleaseHaNetwork', networkId: NET })
      .then([]);
    spec.given([claimed, releasedNet]).when({ type: 'ReleaseHaNetwork', networkId: NET }).then([]);
    spec.given([claimed]).when({ type: 'ReleaseHaNetwork', networkId: OTHER_NET }).then([]);
    // released: no VRID until a network is claimed again
    spec.given([claimed, releasedNet]).when({ type: 'AllocateVrid', routerId: R2 }).thenThrows('L3.HaNetworkMissing');
    spec
      .given([claimed, releasedNet])
      .when({ type: 'ClaimHaNetwork', networkId: OTHER_NET })
      .then([{ type: 'HaNetworkClaimed', data: { networkId: OTHER_NET } }]);
  });

  it('gives each router the lowest free VRID, keeps it, and reuses a released one', () => {
    spec.given([]).when({ type: 'AllocateVrid', routerId: R1 }).thenThrows('L3.HaNetworkMissing');
    spec
      .given([claimed])
      .when({ type: 'AllocateVrid', routerId: R1 })
      .then([vrid(R1, 1)]);
    spec
      .given([claimed, vrid(R1, 1)])
      .when({ type: 'AllocateVrid', routerId: R1 })
      .then([]);
    spec
      .given([claimed, vrid(R1, 1)])
      .when({ type: 'AllocateVrid', routerId: R2 })
      .then([vrid(R2, 2)]);
    const released: HaNetworkEvent = { type: 'HaVridReleased', data: { routerId: R1 } };
    spec
      .given([claimed, vrid(R1, 1), vrid(R2, 2)])
      .when({ type: 'ReleaseVrid', routerId: R1 })
      .then([released]);
    spec
      .given([claimed, vrid(R1, 1), vrid(R2, 2), released])
      .when({ type: 'ReleaseVrid', routerId: R1 })
      .then([]);
    spec
      .given([claimed, vrid(R1, 1), vrid(R2, 2), released])
      .when({ type: 'AllocateVrid', routerId: R1 })
      .then([vrid(R1, 1)]);
  });

  it('refuses a 255th HA router of a project, as Neutron', () => {
    const full = [claimed, ...Array.from({ length: 254 }, (_, i) => vrid(`44444444-0000-4000-8000-${String(i).padStart(12, '0')}`, i + 1))];
    spec
      .given(full)
      .when({ type: 'AllocateVrid', routerId: R2 })
      .thenThrows('L3.NoVRIDAvailable', /limit of number of HA Routers per tenant is 254/);
  });
});
