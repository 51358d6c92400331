import { describe, expect, it } from 'vitest';
import { InitialState, parseDelivery } from './kv-watch';

describe('parseDelivery', () => {
  it('reads the stream sequence, the delivery sequence and what is pending from a reply subject', () => {
    expect(parseDelivery('$JS.ACK.KV_desired.KV_WATCH_x.1.42.7.1733356800000000000.3')).toEqual({ streamSequence: 42, deliverySequence: 7, pending: 3 });
  });

  it('reads the form with a domain and an account hash, with or without the token at its end', () => {
    const at = { streamSequence: 42, deliverySequence: 7, pending: 0 };
    expect(parseDelivery('$JS.ACK.ncp.ACCHASH.KV_desired.KV_WATCH_x.1.42.7.1733356800000000000.0')).toEqual(at);
    expect(parseDelivery('$JS.ACK.ncp.ACCHASH.KV_desired.KV_WATCH_x.1.42.7.1733356800000000000.0.tok')).toEqual(at);
  });

  it('takes nothing else for a delivery', () => {
    expect(parseDelivery('_INBOX.abc')).toBeNull();
    expect(parseDelivery('$JS.ACK.KV_desired.c.1.x.7.1.0')).toBeNull();
    expect(parseDelivery('$JS.ACK.KV_desired.c.1.42')).toBeNull();
  });
});

describe('InitialState: has a watch delivered the keys listed when it began', () => {
  it('is loaded at once when nothing was listed', () => {
    expect(new InitialState(new Set()).loaded).toBe(true);
  });

  it('waits for every listed key, not for as many entries: a key made meanwhile may come first', () => {
    const initial = new InitialState(new Set(['a', 'b']));
    // a key made after the listing, then b: two entries, and a (rewritten meanwhile) still to come
    expect(initial.arrived({ key: 'c', pending: 3 })).toBe(false);
    expect(initial.arrived({ key: 'b', pending: 2 })).toBe(false);
    expect(initial.loaded).toBe(false);
    expect(initial.arrived({ key: 'a', pending: 1 })).toBe(true);
    // said once only
    expect(initial.arrived({ key: 'd', pending: 0 })).toBe(false);
    expect(initial.loaded).toBe(true);
  });

  it('is loaded when the watch is caught up, though a listed key never came (gone since)', () => {
    const initial = new InitialState(new Set(['a', 'b']));
    expect(initial.arrived({ key: 'a', pending: 0 })).toBe(true);
  });
});
