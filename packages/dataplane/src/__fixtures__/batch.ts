import { commandsOfBatch } from '../batch.js';
import { type CommandResult, type RunOptions } from '../runner.js';

/**
 * For fake kernels: runs a batch (`<tool> [-n NS] -batch -`) as iproute2 does, line by line
 * through `command`, stopping at the first failure, which it names (`Command failed -:N`).
 * Null when `argv` is not a batch.
 */
export async function runFakeBatch(
  argv: readonly string[],
  options: RunOptions | undefined,
  command: (argv: readonly string[]) => Promise<CommandResult>,
): Promise<CommandResult | null> {
  const commands = commandsOfBatch(argv, options?.input);
  if (commands === null) return null;
  for (const [i, c] of commands.entries()) {
    try {
      await command(c);
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nCommand failed -:${i + 1}`);
    }
  }
  return { stdout: '' };
}
