import { isDomainError, type CommandMetadata, type DomainEvent } from '@ncp/contracts';
import { type Decider } from '@ncp/contracts';

export const testMeta: CommandMetadata = {
  now: '2026-01-01T00:00:00Z',
  correlationId: 'corr-1',
  causationId: null,
  projectId: 'project-a',
  actor: 'tester',
  isAdmin: false,
};

export interface ThenOptions {
  /** Compare only these data fields of the single resulting event. */
  readonly partial?: boolean;
}

/**
 * given(events).when(command).then(events) for deciders. Framework-neutral: it throws
 * plain Errors with a readable message, so any test runner reports the mismatch.
 */
export function deciderSpec<S, C, E extends DomainEvent>(decider: Decider<S, C, E>) {
  return {
    /** `aggregateId`: for states that know their own id (`initialStateFor`). */
    given(events: readonly E[], aggregateId?: string) {
      const initial = () => (aggregateId !== undefined && decider.initialStateFor ? decider.initialStateFor(aggregateId) : decider.initialState());
      const state = () => events.reduce((s, e) => decider.evolve(s, structuredClone(e)), initial());
      return {
        state,
        when(command: C, meta: Partial<CommandMetadata> = {}) {
          const run = () => decider.decide(command, state(), { ...testMeta, ...meta });
          return {
            events: run,
            then(expected: readonly E[]) {
              const actual = run();
              const a = JSON.stringify(actual);
              const b = JSON.stringify(expected);
              if (a !== b) throw new Error(`decider produced\n  ${a}\nexpected\n  ${b}`);
              return actual;
            },
            thenThrows(code: string, message?: RegExp) {
              let caught: unknown;
              try {
                run();
              } catch (e) {
                caught = e;
              }
              if (!isDomainError(caught)) {
                throw new Error(
                  `expected a DomainError ${code}, got ${caught instanceof Error ? caught.message : caught === undefined ? 'no error' : JSON.stringify(caught)}`,
                );
              }
              if (caught.code !== code) throw new Error(`expected error ${code}, got ${caught.code}: ${caught.message}`);
              if (message && !message.test(caught.message)) {
                throw new Error(`error message ${JSON.stringify(caught.message)} does not match ${String(message)}`);
              }
              return caught;
            },
          };
        },
      };
    },
  };
}
