import {
  IPAM_CONTEXT,
  QUOTA_AGGREGATE,
  ValidationError,
  quotaKind,
  type CommandMetadata,
  type Decider,
  type QuotaEvent,
  type QuotaKind,
  type QuotaLimits,
} from '@ncp/contracts';

/** A project's limits that differ from the defaults (`ev.ipam.quota.<project id>`). */
export interface QuotaState {
  limits: Partial<Record<QuotaKind, number>>;
}

export type QuotaCommand =
  /** `PUT /v2.0/quotas/<project>`: the body's `quota` object, unchecked (the decider checks it as Neutron does). */
  | { type: 'SetLimits'; limits: Readonly<Record<string, unknown>> }
  /** `DELETE /v2.0/quotas/<project>`: back to the defaults. */
  | { type: 'ResetLimits' };

const badRequest = (message: string) => new ValidationError('QUOTA.HTTPBadRequest', message);

/** Neutron's conversion and range of a limit (convert_to_int, then -1 .. max int). */
function limitOf(kind: string, value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw badRequest(`Invalid input for ${kind}. Reason: '${String(value)}' is not an integer.`);
  if (n < -1) throw badRequest(`Invalid input for ${kind}. Reason: '${n}' is too small - must be at least '-1'.`);
  if (n > 2 ** 31 - 1) throw badRequest(`Invalid input for ${kind}. Reason: '${n}' is too large - must be no larger than '${2 ** 31 - 1}'.`);
  return n;
}

function evolve(state: QuotaState, event: QuotaEvent): QuotaState {
  switch (event.type) {
    case 'QuotaLimitsSet':
      return { limits: { ...state.limits, ...event.data.limits } };
    case 'QuotaLimitsReset':
      return { limits: {} };
  }
}

function decide(command: QuotaCommand, state: Readonly<QuotaState>, _meta: CommandMetadata): readonly [] | readonly [QuotaEvent] {
  switch (command.type) {
    case 'SetLimits': {
      const unknown = Object.keys(command.limits).filter((k) => !quotaKind.safeParse(k).success);
      if (unknown.length > 0) throw badRequest(`Unrecognized attribute(s) '${unknown.join(', ')}'`);
      const changed: Partial<Record<QuotaKind, number>> = {};
      for (const [kind, value] of Object.entries(command.limits) as [QuotaKind, unknown][]) {
        const limit = limitOf(kind, value);
        if (state.limits[kind] !== limit) changed[kind] = limit;
      }
      return Object.keys(changed).length > 0 ? [{ type: 'QuotaLimitsSet', data: { limits: changed } }] : [];
    }
    case 'ResetLimits':
      return Object.keys(state.limits).length > 0 ? [{ type: 'QuotaLimitsReset', data: {} }] : [];
  }
}

export const quotaDecider: Decider<QuotaState, QuotaCommand, QuotaEvent> = {
  context: IPAM_CONTEXT,
  aggregate: QUOTA_AGGREGATE,
  initialState: () => ({ limits: {} }),
  evolve,
  decide,
};

/** The project's limits: its overrides over the defaults. */
export const effectiveLimits = (state: Readonly<QuotaState>, defaults: QuotaLimits): QuotaLimits => ({ ...defaults, ...state.limits });
