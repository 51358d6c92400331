import { runningDaemon, type DaemonProgram } from './daemon.js';
import { type DaemonHost } from './host.js';

/**
 * A daemon a pass found in place without running a command, with what it was found with. While
 * its intent, its namespace and its pid stay the same, the passes after it read nothing more of
 * it (the namespace's addresses, sysctls, the namespace its pid is in): a driver that read
 * every one of its daemons' namespaces after every change of the drivers before it took two
 * processes per daemon per pass. Its owner forgets the daemons of the namespaces someone else
 * changed (`forgetSettledIn`), and all of them at a resync.
 */
export interface SettledDaemon {
  readonly namespace: string;
  /** its intent, as JSON (`intentJson`), with anything else its set-up depends on */
  readonly intent: string;
  readonly pid: number;
}

/** Daemons found in place, by item; owned by the caller across passes. */
export type SettledDaemons = Map<string, SettledDaemon>;

/**
 * Forgets the settled daemons of the namespaces someone else changed, or all when that is not
 * known (or at a resync: pass undefined): the next pass reads them.
 */
export function forgetSettledIn(settled: SettledDaemons, changed: ReadonlySet<string> | undefined): void {
  for (const [item, daemon] of settled) if (changed === undefined || changed.has(daemon.namespace)) settled.delete(item);
}

/** Forgets the daemons of items no longer wanted. */
export function forgetSettledExcept(settled: SettledDaemons | undefined, wanted: ReadonlySet<string>): void {
  for (const item of settled?.keys() ?? []) if (!wanted.has(item)) settled?.delete(item);
}

/**
 * Whether the item's daemon is still as a pass found it: the same intent and namespace (which
 * still exists), and its process alive under the same pid. It stays settled then; otherwise it
 * is taken out, and settled again only by a pass that finds it in place, with no command run.
 */
export async function stillSettled(
  ctx: { readonly settled: SettledDaemons | undefined; readonly host: DaemonHost; readonly netns: readonly string[] },
  item: string,
  now: { readonly namespace: string; readonly intent: string },
  program: DaemonProgram,
  pidFile: string,
): Promise<boolean> {
  const known = ctx.settled?.get(item);
  ctx.settled?.delete(item);
  if (known === undefined || known.namespace !== now.namespace || known.intent !== now.intent || !ctx.netns.includes(now.namespace)) return false;
  if ((await runningDaemon(ctx.host, program, pidFile)) !== known.pid) return false;
  ctx.settled?.set(item, known);
  return true;
}
