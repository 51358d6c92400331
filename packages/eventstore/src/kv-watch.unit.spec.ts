import { describe, expect, it } from 'vitest';
import { parseDelivery } from './kv-watch';

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
