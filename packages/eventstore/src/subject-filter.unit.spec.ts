import { describe, expect, it } from 'vitest';
import { Naming } from '@ncp/contracts';
import { acceptsContexts } from './subject-filter';

describe('acceptsContexts', () => {
  it('takes every aggregate of a context given as *, only the listed ones of the others', () => {
    const accepts = acceptsContexts(new Naming({ prefix: 't1' }), { bgp: '*', ipam: ['network'] });
    expect(
      ['t1.ev.bgp.peer.x', 't1.ev.ipam.network.x', 't1.ev.ipam.subnet_pool.x', 't1.ev.l3.router.x', 't1.cmd.ipam.create_port', 'ev.bgp.peer.x'].map(accepts),
    ).toEqual([true, true, false, false, false, false]);
  });
});
