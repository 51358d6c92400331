import path from 'node:path';
import { DataplaneError } from '../errors.js';
import { assertId } from '../names.js';
import { assertStateDir } from '../daemon/state-dir.js';

/** Where one speaker's BIRD keeps its files. */
export interface BgpSpeakerFiles {
  readonly dir: string;
  /** the running configuration (mode 0600: it holds the MD5 passwords) */
  readonly confFile: string;
  /** a changed configuration, checked with `bird -p` before it replaces `confFile` */
  readonly candidateFile: string;
  /** BIRD's control socket (`-s`), where birdc talks to it */
  readonly ctlSocket: string;
  readonly pidFile: string;
  readonly logFile: string;
  /** the argv BIRD was last started with (JSON), to see whether it must be restarted */
  readonly cmdlineFile: string;
}

/** sun_path is 108 bytes with its terminating NUL. */
const UNIX_PATH_MAX = 107;

/** @throws DataplaneError `DATAPLANE.INVALID_CONFIG` when the control socket's path is too long for a unix socket */
export function bgpSpeakerFiles(dir: string): BgpSpeakerFiles {
  const files = {
    dir,
    confFile: path.posix.join(dir, 'bird.conf'),
    candidateFile: path.posix.join(dir, 'bird.conf.new'),
    ctlSocket: path.posix.join(dir, 'bird.ctl'),
    pidFile: path.posix.join(dir, 'pid'),
    logFile: path.posix.join(dir, 'bird.log'),
    cmdlineFile: path.posix.join(dir, 'cmdline.json'),
  };
  if (Buffer.byteLength(files.ctlSocket) > UNIX_PATH_MAX) {
    throw new DataplaneError('DATAPLANE.INVALID_CONFIG', `control socket path ${files.ctlSocket} is longer than a unix socket allows (${UNIX_PATH_MAX} bytes)`);
  }
  return files;
}

/** `<stateDir>/bgp/<speaker id>` */
export function bgpSpeakerDir(stateDir: string, speakerId: string): string {
  return path.posix.join(assertStateDir(stateDir), 'bgp', assertId(speakerId));
}
