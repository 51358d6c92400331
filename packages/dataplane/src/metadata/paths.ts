import path from 'node:path';
import { DataplaneError } from '../errors.js';
import { assertId } from '../names.js';
import { assertStateDir } from '../daemon/state-dir.js';

/** sun_path is 108 bytes with its terminating NUL. */
const UNIX_PATH_MAX = 107;

/** Where one metadata proxy keeps its files. */
export interface MetadataProxyFiles {
  readonly dir: string;
  /** the endpoints (JSON, `MetadataProxyConfig`), re-read by the proxy when it changes */
  readonly configFile: string;
  readonly pidFile: string;
  readonly logFile: string;
  /** the argv the proxy was last started with (JSON), to see whether it must be restarted */
  readonly cmdlineFile: string;
}

export function metadataProxyFiles(dir: string): MetadataProxyFiles {
  return {
    dir,
    configFile: path.posix.join(dir, 'config.json'),
    pidFile: path.posix.join(dir, 'pid'),
    logFile: path.posix.join(dir, 'proxy.log'),
    cmdlineFile: path.posix.join(dir, 'cmdline.json'),
  };
}

/** `<stateDir>/metadata/<router or network id>` */
export function metadataProxyDir(stateDir: string, id: string): string {
  return path.posix.join(assertStateDir(stateDir), 'metadata', assertId(id));
}

/**
 * A unix socket path the proxies may be given (`--socket=`): a plain absolute path (the same
 * rules as a state directory) that fits in sun_path.
 *
 * @throws DataplaneError `DATAPLANE.INVALID_CONFIG`
 */
export function assertSocketPath(socket: string): string {
  let checked: string;
  try {
    checked = assertStateDir(socket);
  } catch {
    throw new DataplaneError('DATAPLANE.INVALID_CONFIG', `socket path '${String(socket)}' must be a normalised absolute path of A-Z a-z 0-9 _ . - /`);
  }
  if (Buffer.byteLength(checked) > UNIX_PATH_MAX) {
    throw new DataplaneError('DATAPLANE.INVALID_CONFIG', `socket path ${checked} is longer than a unix socket allows (${UNIX_PATH_MAX} bytes)`);
  }
  return checked;
}

/** `<stateDir>/metadata/forward.sock`: where the agent's forwarder listens for its proxies. */
export function metadataForwardSocket(stateDir: string): string {
  return assertSocketPath(path.posix.join(assertStateDir(stateDir), 'metadata', 'forward.sock'));
}
