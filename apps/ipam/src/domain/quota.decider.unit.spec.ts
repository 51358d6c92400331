import { describe, expect, it } from 'vitest';
import { NEUTRON_QUOTA_DEFAULTS, type QuotaEvent } from '@ncp/contracts';
import { deciderSpec } from '@ncp/testing';
import { effectiveLimits, quotaDecider } from './quota.decider';

const spec = deciderSpec(quotaDecider);
const set = (limits: Record<string, number>): QuotaEvent => ({ type: 'QuotaLimitsSet', data: { limits } });

describe('quota limits', () => {
  it('sets the limits named, as integers (Neutron converts integer text), and only those that change', () => {
    spec
      .given([])
      .when({ type: 'SetLimits', limits: { port: 20, router: '-1' } })
      .then([set({ port: 20, router: -1 })]);
    spec
      .given([set({ port: 20 })])
      .when({ type: 'SetLimits', limits: { port: 20, network: 0 } })
      .then([set({ network: 0 })]);
    spec
      .given([set({ port: 20 })])
      .when({ type: 'SetLimits', limits: { port: 20 } })
      .then([]);
    const state = spec.given([set({ port: 20 }), set({ network: 3 })]).state();
    expect(effectiveLimits(state, NEUTRON_QUOTA_DEFAULTS)).toEqual({ ...NEUTRON_QUOTA_DEFAULTS, port: 20, network: 3 });
  });

  it('refuses an unknown kind or a value that is not an integer >= -1, whatever else the body holds', () => {
    spec
      .given([])
      .when({ type: 'SetLimits', limits: { port: 5, volumes: 3 } })
      .thenThrows('QUOTA.HTTPBadRequest', /Unrecognized attribute\(s\) 'volumes'/);
    spec
      .given([])
      .when({ type: 'SetLimits', limits: { port: -2 } })
      .thenThrows('QUOTA.HTTPBadRequest', /'-2' is too small - must be at least '-1'/);
    for (const bad of [2.5, 'ten', '', null, true, [], {}, 2 ** 31]) {
      spec
        .given([])
        .when({ type: 'SetLimits', limits: { network: 1, port: bad } })
        .thenThrows('QUOTA.HTTPBadRequest', /Invalid input for port/);
    }
  });

  it('resets to the defaults, once', () => {
    spec
      .given([set({ port: 20 })])
      .when({ type: 'ResetLimits' })
      .then([{ type: 'QuotaLimitsReset', data: {} }]);
    spec
      .given([set({ port: 20 }), { type: 'QuotaLimitsReset', data: {} }])
      .when({ type: 'ResetLimits' })
      .then([]);
    expect(spec.given([set({ port: 20 }), { type: 'QuotaLimitsReset', data: {} }]).state()).toEqual({ limits: {} });
  });
});
