import { assertNetnsName } from './names.js';

/**
 * `ip [-n NS] ARGS...`: the namespace option is left out for the root namespace (null), so the
 * same plan works for a real host and for a test "host" that is a namespace.
 */
export function ipArgv(netns: string | null, ...args: string[]): string[] {
  return netns === null ? ['ip', ...args] : ['ip', '-n', assertNetnsName(netns), ...args];
}

/** `bridge [-n NS] ARGS...` */
export function bridgeArgv(netns: string | null, ...args: string[]): string[] {
  return netns === null ? ['bridge', ...args] : ['bridge', '-n', assertNetnsName(netns), ...args];
}
