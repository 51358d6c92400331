import path from 'node:path';
import { assertStateDir } from '../daemon/state-dir.js';
import { assertId } from '../names.js';

/** Where the keepalived of one HA router keeps its files. */
export interface KeepalivedFiles {
  readonly dir: string;
  readonly confFile: string;
  /** the parent process (`-p`): the one we signal */
  readonly pidFile: string;
  /** the VRRP child (`-r`) */
  readonly vrrpPidFile: string;
  /** the argv keepalived was last started with (JSON), to see whether it must be restarted */
  readonly cmdlineFile: string;
}

export function keepalivedFiles(dir: string): KeepalivedFiles {
  return {
    dir,
    confFile: path.posix.join(dir, 'keepalived.conf'),
    pidFile: path.posix.join(dir, 'keepalived.pid'),
    vrrpPidFile: path.posix.join(dir, 'vrrp.pid'),
    cmdlineFile: path.posix.join(dir, 'cmdline.json'),
  };
}

/** `<stateDir>/keepalived/<router id>` */
export function keepalivedDir(stateDir: string, routerId: string): string {
  return path.posix.join(assertStateDir(stateDir), 'keepalived', assertId(routerId).toLowerCase());
}
