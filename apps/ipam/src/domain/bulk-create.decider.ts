import { IPAM_AGGREGATES, IPAM_CONTEXT, type BulkCreateEvent } from '@ncp/contracts';
import { type Decider } from '@ncp/eventstore';
import { badRequest, conflict } from './rules';

/** The collections that accept `{"<collection>": [...]}` on POST. */
export type BulkCollection = 'networks' | 'subnets' | 'ports';

/** One resource of a bulk create and the network aggregate that holds it. */
export interface BulkItem {
  readonly id: string;
  readonly networkId: string;
}

/** At most this many items in one request: a bound on the saga's length and the journal's size. */
export const MAX_BULK_ITEMS = 100;

/**
 * The journal of one bulk create. A saga makes the items one aggregate at a time; this
 * aggregate decides whether they stay (completed) or go (aborted, then undone), so the
 * request and the orphan sweeper can never both win: once aborted it cannot complete,
 * once completed it cannot be aborted.
 */
export interface BulkCreateState {
  readonly status: 'none' | 'started' | 'completed' | 'aborted' | 'undone';
  readonly collection: BulkCollection;
  readonly items: readonly BulkItem[];
}

export type BulkCreateCommand =
  | { type: 'StartBulkCreate'; id: string; collection: BulkCollection; items: readonly BulkItem[] }
  | { type: 'CompleteBulkCreate'; id: string }
  | { type: 'AbortBulkCreate'; id: string; reason: string }
  | { type: 'MarkBulkCreateUndone'; id: string };

export function initialBulkCreate(): BulkCreateState {
  return { status: 'none', collection: 'networks', items: [] };
}

function evolve(state: BulkCreateState, event: BulkCreateEvent): BulkCreateState {
  switch (event.type) {
    case 'BulkCreateStarted':
      return { status: 'started', collection: event.data.collection, items: event.data.items };
    case 'BulkCreateCompleted':
      return { ...state, status: 'completed' };
    case 'BulkCreateAborted':
      return { ...state, status: 'aborted' };
    case 'BulkCreateUndone':
      return { ...state, status: 'undone' };
  }
}

function decide(command: BulkCreateCommand, state: Readonly<BulkCreateState>): readonly [] | readonly [BulkCreateEvent] {
  switch (command.type) {
    case 'StartBulkCreate': {
      if (state.status !== 'none') throw conflict('BulkCreateExists', `Bulk create ${command.id} already exists.`);
      if (command.items.length === 0) throw badRequest('Resources required');
      if (command.items.length > MAX_BULK_ITEMS) {
        throw badRequest(`Bulk create of ${command.items.length} ${command.collection} refused: at most ${MAX_BULK_ITEMS} per request`);
      }
      return [{ type: 'BulkCreateStarted', data: { collection: command.collection, items: [...command.items] } }];
    }
    case 'CompleteBulkCreate':
      if (state.status === 'completed') return [];
      if (state.status !== 'started') {
        throw conflict('BulkCreateAborted', `Bulk create ${command.id} was aborted (interrupted for too long); nothing of it remains.`);
      }
      return [{ type: 'BulkCreateCompleted', data: {} }];
    case 'AbortBulkCreate':
      if (state.status === 'aborted' || state.status === 'undone') return [];
      if (state.status !== 'started') throw conflict('BulkCreateCompleted', `Bulk create ${command.id} is ${state.status} and cannot be aborted.`);
      return [{ type: 'BulkCreateAborted', data: { reason: command.reason } }];
    case 'MarkBulkCreateUndone':
      if (state.status === 'undone') return [];
      if (state.status !== 'aborted') throw conflict('BulkCreateNotAborted', `Bulk create ${command.id} is ${state.status}, not aborted.`);
      return [{ type: 'BulkCreateUndone', data: {} }];
  }
}

export const bulkCreateDecider: Decider<BulkCreateState, BulkCreateCommand, BulkCreateEvent> = {
  context: IPAM_CONTEXT,
  aggregate: IPAM_AGGREGATES.bulkCreate,
  initialState: initialBulkCreate,
  evolve,
  decide,
};
