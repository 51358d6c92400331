import { expect } from 'vitest';
import { type CommandRunner, ExecFileRunner, RecordingRunner, isReadOnlyCommand } from '../runner.js';

/** Fails the test unless every item of a reconcile is ok (the failures are what it shows). */
export function expectAllOk(results: readonly { readonly ok: boolean }[]): void {
  expect(results.filter((r) => !r.ok)).toEqual([]);
}

/**
 * Runs one reconcile on the real machine through a recorder, expects every item ok, and returns
 * the results with the commands that changed something (all but what `isReadOnly` accepts).
 */
export async function reconcileRecorded<R extends { readonly ok: boolean }>(
  reconcile: (runner: CommandRunner) => Promise<R[]>,
  isReadOnly: (argv: readonly string[]) => boolean = isReadOnlyCommand,
): Promise<{ results: R[]; mutations: string[] }> {
  const recorder = new RecordingRunner(new ExecFileRunner());
  const results = await reconcile(recorder);
  expectAllOk(results);
  return { results, mutations: recorder.calls.filter((argv) => !isReadOnly(argv)).map((argv) => argv.join(' ')) };
}
