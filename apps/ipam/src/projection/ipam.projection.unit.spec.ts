import { describe, expect, it } from 'vitest';
import { Naming } from '@ncp/contracts';
import { IpamProjection } from './ipam.projection';

describe('IPAM projection: what it folds', () => {
  const naming = new Naming({ prefix: 'p1' });
  const projection = new IpamProjection(naming);

  it('reads the IPAM context and folds its resources, but not the quota limits and usage it shares the context with', () => {
    expect(projection.filter).toBe(naming.eventsOfContext('ipam'));
    expect(projection.accepts(naming.eventSubject('ipam', 'network', 'n1'))).toBe(true);
    expect(projection.accepts(naming.eventSubject('ipam', 'subnetpool', 's1'))).toBe(true);
    expect(projection.accepts(naming.eventSubject('ipam', 'usage', 'project1'))).toBe(false);
    expect(projection.accepts(naming.eventSubject('ipam', 'quota', 'project1'))).toBe(false);
  });

  it('lets a subject that is no event subject through, to be parked by the runner rather than skipped unseen', () => {
    expect(projection.accepts('p1.ev.ipam.network.n1.extra')).toBe(true);
  });
});
