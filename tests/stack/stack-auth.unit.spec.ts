import { describe, expect, it } from 'vitest';
import { authStrategy } from '../../scripts/stack-auth.mjs';

describe('npm run stack: the services authentication strategy', () => {
  it('is noauth, passed explicitly, when the user set neither AUTH_STRATEGY nor KEYSTONE_URL', () => {
    expect(authStrategy({})).toEqual({ strategy: 'noauth', env: { AUTH_STRATEGY: 'noauth' } });
    expect(authStrategy({ AUTH_STRATEGY: '', KEYSTONE_URL: '' })).toEqual({ strategy: 'noauth', env: { AUTH_STRATEGY: 'noauth' } });
  });

  it('is keystone when only KEYSTONE_URL is set', () => {
    expect(authStrategy({ KEYSTONE_URL: 'http://127.0.0.1:5000/v3' })).toEqual({ strategy: 'keystone', env: { AUTH_STRATEGY: 'keystone' } });
  });

  it("is the user's AUTH_STRATEGY, left as it is in the environment the services inherit", () => {
    expect(authStrategy({ AUTH_STRATEGY: 'keystone' })).toEqual({ strategy: 'keystone', env: {} });
    expect(authStrategy({ AUTH_STRATEGY: 'noauth', KEYSTONE_URL: 'http://127.0.0.1:5000/v3' })).toEqual({ strategy: 'noauth', env: {} });
  });
});
