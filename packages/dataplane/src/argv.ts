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

/**
 * The namespace a command runs in or acts on: `ip -n NS ...`, `bridge -n NS ...`, `ip netns
 * add|del|exec NS ...`; null for anything else (the root namespace).
 */
export function argvNamespace(argv: readonly string[]): string | null {
  if (argv[1] === '-n') return argv[2] ?? null;
  if (argv[0] === 'ip' && argv[1] === 'netns' && ['add', 'del', 'exec'].includes(argv[2] ?? '')) return argv[3] ?? null;
  return null;
}
