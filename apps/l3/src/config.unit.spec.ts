import { describe, expect, it } from 'vitest';
import { l3Config } from './config';

const base = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/x', AUTH_STRATEGY: 'noauth' };

describe('L3 configuration', () => {
  it("takes the HA routers' VRRP advert interval in hundredths of a second, 0.5 s by default", () => {
    expect(l3Config(base).L3_HA_ADVERT_SECONDS).toBe(0.5);
    expect(l3Config({ ...base, L3_HA_ADVERT_SECONDS: '0.1' }).L3_HA_ADVERT_SECONDS).toBe(0.1);
    for (const bad of ['0', '0.01', '0.125', '41', 'fast']) expect(() => l3Config({ ...base, L3_HA_ADVERT_SECONDS: bad })).toThrow(/L3_HA_ADVERT_SECONDS/);
  });
});
