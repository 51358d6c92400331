import path from 'node:path';
import { DataplaneError } from '../errors.js';

// Paths reach dnsmasq as `--opt=<path>` and radvd.conf never names one, but a comma would end a
// field of options that take lists and whitespace or a newline would be easy to smuggle into a
// log line: only a plain absolute path is accepted.
const STATE_DIR = /^\/[A-Za-z0-9_./-]*$/;

/** @throws DataplaneError `DATAPLANE.INVALID_CONFIG` */
export function assertStateDir(stateDir: string): string {
  const trimmed = typeof stateDir === 'string' && stateDir.length > 1 ? stateDir.replace(/\/+$/, '') : stateDir;
  // normalize() changes "/a//b", "/a/./b" and "/a/../b": those are refused rather than guessed at
  if (typeof stateDir !== 'string' || !STATE_DIR.test(stateDir) || path.posix.normalize(trimmed) !== trimmed) {
    throw new DataplaneError('DATAPLANE.INVALID_CONFIG', `stateDir '${String(stateDir)}' must be a normalised absolute path of A-Z a-z 0-9 _ . - /`);
  }
  return trimmed;
}
