import { describe, it } from 'vitest';
import { type BulkCreateEvent } from '@ncp/contracts';
import { deciderSpec } from '@ncp/testing';
import { bulkCreateDecider, MAX_BULK_ITEMS } from './bulk-create.decider';

const bulk = deciderSpec(bulkCreateDecider);
const items = [
  { id: 'p1', networkId: 'n1' },
  { id: 'p2', networkId: 'n2' },
];
const started: BulkCreateEvent = { type: 'BulkCreateStarted', data: { collection: 'ports', items } };
const completed: BulkCreateEvent = { type: 'BulkCreateCompleted', data: {} };
const aborted: BulkCreateEvent = { type: 'BulkCreateAborted', data: { reason: 'IpAddressAlreadyAllocated' } };
const undone: BulkCreateEvent = { type: 'BulkCreateUndone', data: {} };

describe('bulk create journal', () => {
  it('records the items before any is made, once, and within the bound', () => {
    bulk.given([]).when({ type: 'StartBulkCreate', id: 'b', collection: 'ports', items }).then([started]);
    bulk.given([started]).when({ type: 'StartBulkCreate', id: 'b', collection: 'ports', items }).thenThrows('IPAM.BulkCreateExists');
    bulk
      .given([])
      .when({ type: 'StartBulkCreate', id: 'b', collection: 'ports', items: [] })
      .thenThrows('IPAM.BadRequest', /Resources required/);
    const many = Array.from({ length: MAX_BULK_ITEMS + 1 }, (_, i) => ({ id: `p${i}`, networkId: 'n' }));
    bulk
      .given([])
      .when({ type: 'StartBulkCreate', id: 'b', collection: 'ports', items: many })
      .thenThrows('IPAM.BadRequest', /at most 100/);
  });

  it('completes a started bulk, idempotently', () => {
    bulk.given([started]).when({ type: 'CompleteBulkCreate', id: 'b' }).then([completed]);
    bulk.given([started, completed]).when({ type: 'CompleteBulkCreate', id: 'b' }).then([]);
  });

  it('never completes an aborted bulk, and never aborts a completed one', () => {
    // The request and the sweeper race: whoever appends first decides the outcome.
    bulk.given([started, aborted]).when({ type: 'CompleteBulkCreate', id: 'b' }).thenThrows('IPAM.BulkCreateAborted');
    bulk.given([started, aborted, undone]).when({ type: 'CompleteBulkCreate', id: 'b' }).thenThrows('IPAM.BulkCreateAborted');
    bulk.given([started, completed]).when({ type: 'AbortBulkCreate', id: 'b', reason: 'swept' }).thenThrows('IPAM.BulkCreateCompleted');
    bulk.given([]).when({ type: 'CompleteBulkCreate', id: 'b' }).thenThrows('IPAM.BulkCreateAborted');
  });

  it('aborts, then marks undone, each idempotently', () => {
    bulk.given([started]).when({ type: 'AbortBulkCreate', id: 'b', reason: 'IpAddressAlreadyAllocated' }).then([aborted]);
    bulk.given([started, aborted]).when({ type: 'AbortBulkCreate', id: 'b', reason: 'again' }).then([]);
    bulk.given([started, aborted]).when({ type: 'MarkBulkCreateUndone', id: 'b' }).then([undone]);
    bulk.given([started, aborted, undone]).when({ type: 'MarkBulkCreateUndone', id: 'b' }).then([]);
    bulk.given([started, aborted, undone]).when({ type: 'AbortBulkCreate', id: 'b', reason: 'again' }).then([]);
    // Undone only after an abort: a started bulk may still be running.
    bulk.given([started]).when({ type: 'MarkBulkCreateUndone', id: 'b' }).thenThrows('IPAM.BulkCreateNotAborted');
  });
});
