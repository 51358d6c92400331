import { DataplaneError } from './errors.js';
import { type CommandRunner } from './runner.js';
import { stepsByItem } from './steps.js';

/** Tools that read commands from stdin with `-batch -`, one per line, in one process. */
const BATCH_TOOLS: ReadonlySet<string> = new Set(['ip', 'bridge']);
/** Words a batch line carries unchanged: iproute2 splits lines itself and gives quotes, backslashes and `#` a meaning. */
const PLAIN_WORD = /^[\w.:/@%+=,-]+$/;
/** Lines per process, so that one batch stays far inside the runner's timeout on a busy host. */
export const MAX_BATCH_LINES = 500;

/** A command as a batch sees it: the process it can share (tool and namespace) and its line there. */
export interface BatchLine {
  readonly process: readonly string[];
  readonly line: string;
}

/**
 * The process `argv` can share and its line there, or null when it must run as itself: other
 * tools, global options (`-j`, `-d`), `ip netns ...` (exec forks a program, add mounts) and
 * words iproute2's line splitter would read differently.
 */
export function batchLineOf(argv: readonly string[]): BatchLine | null {
  const [tool, ...rest] = argv;
  if (tool === undefined || !BATCH_TOOLS.has(tool)) return null;
  const netns = rest[0] === '-n' ? rest[1] : undefined;
  const words = netns === undefined ? rest : rest.slice(2);
  const [first] = words;
  if (first === undefined || first.startsWith('-') || (tool === 'ip' && first === 'netns') || !words.every((w) => PLAIN_WORD.test(w))) return null;
  return { process: netns === undefined ? [tool] : [tool, '-n', netns], line: words.join(' ') };
}

/** The commands a batch (`<tool> [-n NS] -batch -` with its lines as input) stands for; null for any other argv. */
export function commandsOfBatch(argv: readonly string[], input: string | undefined): string[][] | null {
  const at = argv.indexOf('-batch');
  if (at < 0 || argv[at + 1] !== '-' || input === undefined) return null;
  return input
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => [...argv.slice(0, at), ...line.split(' ')]);
}

/** What became of one step: run, failed, or not run because an earlier step of its item failed. */
export type StepOutcome = { readonly ok: true } | { readonly ok: false; readonly error: string } | null;

export interface RunnableStep<I> {
  readonly item: I;
  readonly argv: readonly string[];
  /** a step with stdin of its own runs alone */
  readonly input?: string;
}

/**
 * Runs steps in the order given, each item stopping at its first failed step, as running them
 * one by one would; but consecutive commands of one tool in one namespace go to one process
 * (`ip [-n NS] -batch -`). A process per command is what made a host's cold start cost ~35 ms
 * per port: entering a namespace (and its mount of /sys) dominates a single `ip` call.
 *
 * iproute2 stops a batch at its first failing line and names it (`Command failed -:N`): the
 * lines before it ran, the rest of the batch is sent again without the failed item's steps.
 * A batch that fails without naming a line (killed, not started) fails every step it carried:
 * the next resync reads the kernel and plans what is still missing.
 *
 * `runAlone` runs a step that cannot join a batch (default: the runner, its error as the step's).
 */
export async function runInBatches<S extends RunnableStep<unknown>>(
  steps: readonly S[],
  runner: CommandRunner,
  runAlone: (step: S) => Promise<StepOutcome> = (step) => runOne(step.argv, runner),
  /** false for a step that must go to `runAlone` although it could join a batch */
  batchable: (step: S) => boolean = () => true,
): Promise<StepOutcome[]> {
  const outcomes: StepOutcome[] = steps.map(() => null);
  const failed = new Set<unknown>();
  const record = (at: number, outcome: StepOutcome): void => {
    outcomes[at] = outcome;
    if (outcome !== null && !outcome.ok) failed.add(steps[at]?.item);
  };
  const lines = steps.map((s) => (s.input === undefined && batchable(s) ? batchLineOf(s.argv) : null));
  for (let start = 0; start < steps.length;) {
    const head = lines[start];
    let end = start + 1;
    while (head && end < steps.length && end - start < MAX_BATCH_LINES && sameProcess(lines[end], head)) end++;
    let pending = range(start, end).filter((at) => !failed.has(steps[at]?.item));
    while (pending.length > 0) {
      const [first] = pending;
      if (pending.length === 1 || !head || first === undefined) {
        if (first !== undefined) record(first, await runAlone(steps[first] as S));
        pending = pending.slice(1).filter((at) => !failed.has(steps[at]?.item));
        continue;
      }
      const ran = await runBatch(
        head.process,
        pending.map((at) => lines[at]?.line ?? ''),
        runner,
      );
      if (ran.ok) {
        pending.forEach((at) => record(at, { ok: true }));
        break;
      }
      if (ran.line === null) {
        pending.forEach((at) => record(at, { ok: false, error: ran.error }));
        break;
      }
      pending.slice(0, ran.line).forEach((at) => record(at, { ok: true }));
      const failedAt = pending[ran.line] ?? first;
      record(failedAt, { ok: false, error: `\`${steps[failedAt]?.argv.join(' ') ?? ''}\` failed: ${ran.error}` });
      pending = pending.slice(ran.line + 1).filter((at) => !failed.has(steps[at]?.item));
    }
    start = end;
  }
  return outcomes;
}

/** What became of an item: how many of its steps ran, and its failed step with the error (`<why>: <error>`). */
export interface ItemOutcome<S extends { readonly item: unknown }> {
  readonly item: S['item'];
  readonly applied: number;
  readonly failure: { readonly step: S; readonly error: string } | null;
}

/**
 * Each item's outcome, items in the order they first appear in `plan` (the plan's order, which
 * may differ from the order the steps ran in: `ran` and `outcomes` go together).
 */
export function outcomesByItem<S extends RunnableStep<unknown> & { readonly why: string }>(
  plan: readonly S[],
  ran: readonly S[],
  outcomes: readonly StepOutcome[],
): ItemOutcome<S>[] {
  const outcomeOf = new Map(ran.map((step, i) => [step, outcomes[i] ?? null]));
  return [...stepsByItem(plan)].map(([item, group]) => {
    let failure: ItemOutcome<S>['failure'] = null;
    for (const step of group) {
      const outcome = outcomeOf.get(step);
      if (outcome?.ok === false) {
        failure = { step, error: `${step.why}: ${outcome.error}` };
        break;
      }
    }
    return { item, applied: group.filter((s) => outcomeOf.get(s)?.ok === true).length, failure };
  });
}

async function runOne(argv: readonly string[], runner: CommandRunner): Promise<StepOutcome> {
  try {
    await runner.run(argv);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: messageOf(error) };
  }
}

/** A batch's result: all lines ran, or the 0-based line that failed (null: unknown) and why. */
type BatchResult = { readonly ok: true } | { readonly ok: false; readonly line: number | null; readonly error: string };

/** What iproute2 prints for a failed batch line (1-based). */
export const FAILED_LINE = /^Command failed -:(\d+)\s*$/m;

async function runBatch(process: readonly string[], lines: readonly string[], runner: CommandRunner): Promise<BatchResult> {
  try {
    await runner.run([...process, '-batch', '-'], { input: `${lines.join('\n')}\n` });
    return { ok: true };
  } catch (error) {
    const output = error instanceof DataplaneError && error.output !== undefined ? error.output : messageOf(error);
    const match = FAILED_LINE.exec(output);
    const line = match?.[1] === undefined ? null : Number(match[1]) - 1;
    if (line === null || line < 0 || line >= lines.length) return { ok: false, line: null, error: messageOf(error) };
    const reason = output
      .split('\n')
      .filter((l) => !FAILED_LINE.test(l) && l.trim() !== '')
      .join('; ');
    return { ok: false, line, error: reason || 'failed' };
  }
}

const sameProcess = (a: BatchLine | null | undefined, b: BatchLine): boolean =>
  a !== null && a !== undefined && a.process.length === b.process.length && a.process.every((w, i) => w === b.process[i]);

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
