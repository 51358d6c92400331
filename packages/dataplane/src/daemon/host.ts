import { readFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The signals the driver sends: stop (TERM, then KILL) and reload (HUP). */
export type DaemonSignal = 'SIGTERM' | 'SIGKILL' | 'SIGHUP';

/**
 * What the DHCP/RA driver does to the machine besides running commands: its state files, the
 * process table and signals. The seam lets the planning logic run against an in-memory fake;
 * `NodeDaemonHost` is the real one.
 */
export interface DaemonHost {
  /** The file's content, or null when it does not exist. */
  readFile(file: string): Promise<string | null>;
  /**
   * Replaces the file atomically (a reader sees the old or the new content, never a mix), with
   * `mode` (default 0644; 0600 for a file that holds secrets).
   */
  writeFileAtomic(file: string, content: string, mode?: number): Promise<void>;
  /** Creates the directory and its parents (mode 0755) if missing. */
  makeDir(dir: string): Promise<void>;
  /** Removes the directory and everything in it; a missing one is fine. */
  removeDir(dir: string): Promise<void>;
  /** Names of the subdirectories; [] when the directory does not exist. */
  listDirs(dir: string): Promise<string[]>;
  /** The argv of a live process (`/proc/<pid>/cmdline`); null when there is none (or a zombie). */
  processArgv(pid: number): Promise<string[] | null>;
  /**
   * Whether the process has finished exiting (no such process, or a zombie): only then are its
   * files and sockets closed. An exiting process already shows an empty cmdline before that.
   */
  processExited(pid: number): Promise<boolean>;
  /** Sends a signal; false when the process is gone. */
  signal(pid: number, signal: DaemonSignal): boolean;
  sleep(ms: number): Promise<void>;
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR');
}

/** Reading `/proc/<pid>/...` of a process that is gone (or went while being read). */
function isGoneProcess(error: unknown): boolean {
  return isMissing(error) || (error instanceof Error && 'code' in error && error.code === 'ESRCH');
}

let tempCounter = 0;

/** The real host: node:fs under whatever paths the driver computes, /proc and process.kill. */
export class NodeDaemonHost implements DaemonHost {
  /*
   * Reads are synchronous: the files are a few bytes of the agent's own local state and of
   * /proc, which a synchronous read returns in microseconds, where node:fs/promises took a
   * quarter of a millisecond each through the thread pool on a quiet host and several on a busy
   * one (a metadata pass checking 30 settled proxies spent 50 ms there).
   */
  async readFile(file: string): Promise<string | null> {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async writeFileAtomic(file: string, content: string, mode = 0o644): Promise<void> {
    tempCounter += 1;
    const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${tempCounter}.tmp`);
    // 0644 by default: radvd refuses a config that others may write, and the DHCP/RA files hold
    // nothing secret (bird.conf, with the BGP passwords, is written 0600)
    await writeFile(temp, content, { mode });
    try {
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async makeDir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o755 });
  }

  async removeDir(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
  }

  async listDirs(dir: string): Promise<string[]> {
    try {
      return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  }

  async processArgv(pid: number): Promise<string[] | null> {
    if (!Number.isInteger(pid) || pid <= 0) return null;
    try {
      // a zombie (a daemon nobody reaped, e.g. under a container's init) has an empty cmdline:
      // it counts as gone, as it no longer serves anything
      const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (raw === '') return null;
      return raw.replace(/\0$/, '').split('\0');
    } catch (error) {
      if (isGoneProcess(error)) return null;
      throw error;
    }
  }

  async processExited(pid: number): Promise<boolean> {
    try {
      // `pid (comm) S ...`: comm may hold spaces and parentheses; the state follows the last `)`
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).charAt(0);
      return state === 'Z' || state === 'X';
    } catch (error) {
      if (isGoneProcess(error)) return true;
      throw error;
    }
  }

  signal(pid: number, signal: DaemonSignal): boolean {
    try {
      process.kill(pid, signal);
      return true;
    } catch (error) {
      if (error instanceof Error && 'code' in error && error.code === 'ESRCH') return false;
      throw error;
    }
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
