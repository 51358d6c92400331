import { commandsOfBatch } from '../batch.js';
import { type CommandResult, type RunOptions } from '../runner.js';

/**
 * For fake kernels: runs a batch (`<tool> [-n NS] [-force] -batch -`) as iproute2 does, line by
 * line through `command`, each line's output after the last, stopping at the first failure
 * (without `-force`), which it names (`Command failed -:N`). Null when `argv` is not a batch.
 */
export async function runFakeBatch(
  argv: readonly string[],
  options: RunOptions | undefined,
  command: (argv: readonly string[]) => Promise<CommandResult>,
): Promise<CommandResult | null> {
  const commands = commandsOfBatch(argv, options?.input);
  if (commands === null) return null;
  // with -force a failed line does not stop the batch: its error is printed and the exit status is 1
  const force = argv.includes('-force');
  let stdout = '';
  let stderr = '';
  for (const [i, c] of commands.entries()) {
    try {
      stdout += (await command(c)).stdout;
    } catch (error) {
      stderr += `${error instanceof Error ? error.message : String(error)}\nCommand failed -:${i + 1}\n`;
      if (!force) break;
    }
  }
  if (stderr === '') return { stdout };
  if (options?.allowFailure === true) return { stdout, failure: { stderr } };
  throw new Error(stderr.trimEnd());
}
