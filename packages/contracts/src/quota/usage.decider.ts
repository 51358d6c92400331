import { type CommandMetadata } from '../envelope';
import { type Decider } from '../decider';
import { ConflictError } from '../errors';
import { USAGE_AGGREGATE, type QuotaKind, type UsageEvent } from './events';

/** One counted id: pending (reserved by an API create under way) or confirmed (its created event was seen). */
export interface UsageEntry {
  confirmed: boolean;
  /** when it was reserved (or confirmed, if it was never reserved) */
  at: string;
}

/** A project's counted ids in one service, by kind. */
export type UsageState = Partial<Record<QuotaKind, Record<string, UsageEntry>>>;

export type UsageCommand =
  /** An API create of `ids` is about to run: count them, unless that takes the project over `limit` (-1: none). */
  | { type: 'Reserve'; kind: QuotaKind; ids: readonly string[]; limit: number }
  /** `ids` were created (through the API or not): count them as existing. */
  | { type: 'Confirm'; kind: QuotaKind; ids: readonly string[] }
  /**
   * `ids` were deleted, or their create failed: no longer counted. A failed create releases
   * `pendingOnly`: one whose failure was only its answer (a timeout) may have been created and
   * confirmed meanwhile, and stays counted.
   */
  | { type: 'Release'; kind: QuotaKind; ids: readonly string[]; pendingOnly?: boolean }
  /** The sweep: reservations pending since before `now` - `maxAgeSeconds` belong to creates that died. */
  | { type: 'ReleaseExpired'; kind: QuotaKind; now: string; maxAgeSeconds: number };

/** Neutron's OverQuota (409), naming the kind as Neutron does. */
export const overQuota = (kind: QuotaKind) => new ConflictError('QUOTA.OverQuota', `Quota exceeded for resources: ['${kind}'].`);

function evolve(state: UsageState, event: UsageEvent): UsageState {
  const entries = (state[event.data.kind] ??= {});
  switch (event.type) {
    case 'UsageReserved':
      for (const id of event.data.ids) entries[id] = { confirmed: false, at: event.data.at };
      return state;
    case 'UsageConfirmed':
      for (const id of event.data.ids) entries[id] = { confirmed: true, at: entries[id]?.at ?? '' };
      return state;
    case 'UsageReleased':
      for (const id of event.data.ids) delete entries[id];
      return state;
  }
}

function decide(command: UsageCommand, state: Readonly<UsageState>, meta: CommandMetadata): readonly [] | readonly [UsageEvent] {
  const entries = state[command.kind] ?? {};
  const { kind } = command;
  switch (command.type) {
    case 'Reserve': {
      // an id counted already (a retried request) is not counted twice
      const fresh = [...new Set(command.ids)].filter((id) => !Object.hasOwn(entries, id));
      if (fresh.length === 0) return [];
      if (command.limit >= 0 && Object.keys(entries).length + fresh.length > command.limit) throw overQuota(kind);
      return [{ type: 'UsageReserved', data: { kind, ids: fresh, at: meta.now } }];
    }
    case 'Confirm': {
      // an unknown id is added: creations that did not go through the API count too
      const ids = [...new Set(command.ids)].filter((id) => entries[id]?.confirmed !== true);
      return ids.length > 0 ? [{ type: 'UsageConfirmed', data: { kind, ids } }] : [];
    }
    case 'Release': {
      const ids = [...new Set(command.ids)].filter((id) => Object.hasOwn(entries, id) && !(command.pendingOnly === true && entries[id]?.confirmed === true));
      return ids.length > 0 ? [{ type: 'UsageReleased', data: { kind, ids } }] : [];
    }
    case 'ReleaseExpired': {
      const before = Date.parse(command.now) - command.maxAgeSeconds * 1000;
      const ids = Object.entries(entries)
        .filter(([, e]) => !e.confirmed && Date.parse(e.at) < before)
        .map(([id]) => id);
      return ids.length > 0 ? [{ type: 'UsageReleased', data: { kind, ids } }] : [];
    }
  }
}

/** The usage decider of a service's context (`ev.<context>.usage.<project id>`); the same rules in every service. */
export function usageDecider(context: string): Decider<UsageState, UsageCommand, UsageEvent> {
  return { context, aggregate: USAGE_AGGREGATE, initialState: () => ({}), evolve, decide };
}

/** How many ids are counted (`used`: confirmed, `reserved`: pending) of one kind. */
export function usageCounts(state: Readonly<UsageState>, kind: QuotaKind): { used: number; reserved: number } {
  const all = Object.values(state[kind] ?? {});
  const used = all.filter((e) => e.confirmed).length;
  return { used, reserved: all.length - used };
}
