import { assertNetnsName } from '../names.js';

/** `ip netns exec NS PROGRAM ARGS...`: runs a tool (sysctl, nft, conntrack, arping) inside a namespace. */
export function netnsExecArgv(netns: string, ...args: string[]): string[] {
  return ['ip', 'netns', 'exec', assertNetnsName(netns), ...args];
}
