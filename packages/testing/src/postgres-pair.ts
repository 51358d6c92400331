import { execFile } from 'node:child_process';
import { chown, mkdtemp, readdir, rm, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { stablePort } from './stack';

const execFileAsync = promisify(execFile);

/** Debian's PostgreSQL binaries (the newest installed major version). */
async function postgresBin(): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql').catch(() => [] as string[])).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  const newest = versions[0];
  if (newest === undefined) throw new Error('a Postgres pair needs PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin; Debian package postgresql)');
  return path.join('/usr/lib/postgresql', newest, 'bin');
}

/** A Postgres URL on another port, the rest kept. */
export function withPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}

/**
 * A Postgres primary and a streaming standby of it (pg_basebackup -R), each its own server
 * on a free loopback port, run as the `postgres` user from a temporary directory (initdb
 * refuses root): for the failover of the services' database. Trust authentication, loopback
 * only.
 */
export class PostgresPair {
  private constructor(
    private readonly bin: string,
    private readonly dir: string,
    readonly primaryPort: number,
    readonly standbyPort: number,
  ) {}

  static async start(): Promise<PostgresPair> {
    const bin = await postgresBin();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ncp-pg-pair-'));
    await chown(dir, ...(await postgresIds()));
    const pair = new PostgresPair(bin, dir, await stablePort(), await stablePort());
    try {
      await pair.asPostgres('initdb', ['-D', pair.data('primary'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
      await appendFile(
        path.join(pair.data('primary'), 'postgresql.conf'),
        [
          `port = ${pair.primaryPort}`,
          "listen_addresses = '127.0.0.1'",
          `unix_socket_directories = '${dir}'`,
          'wal_level = replica',
          'max_wal_senders = 4',
          '',
        ].join('\n'),
      );
      await pair.asPostgres('pg_ctl', ['-D', pair.data('primary'), '-l', path.join(dir, 'primary.log'), '-w', 'start']);
      // the standby: a base backup that streams the WAL written meanwhile, set up to follow the primary (-R)
      await pair.asPostgres('pg_basebackup', [
        '-h',
        '127.0.0.1',
        '-p',
        String(pair.primaryPort),
        '-U',
        'postgres',
        '-D',
        pair.data('standby'),
        '-R',
        '-X',
        'stream',
      ]);
      await appendFile(path.join(pair.data('standby'), 'postgresql.conf'), `port = ${pair.standbyPort}\n`);
      await pair.asPostgres('pg_ctl', ['-D', pair.data('standby'), '-l', path.join(dir, 'standby.log'), '-w', 'start']);
    } catch (e) {
      await pair.stop();
      throw e;
    }
    return pair;
  }

  /** The primary's `postgres` database, as DATABASE_URL takes it. */
  get primaryUrl(): string {
    return `postgresql://postgres@127.0.0.1:${this.primaryPort}/postgres`;
  }

  /** How far the standby has replayed, in bytes of WAL behind the primary (the primary must be up). */
  async standbyLagBytes(): Promise<number> {
    const primary = await this.query<{ lsn: string }>(this.primaryPort, 'SELECT pg_current_wal_lsn()::text AS lsn');
    const rows = await this.query<{ lag: string }>(
      this.standbyPort,
      `SELECT pg_wal_lsn_diff('${primary[0]?.lsn ?? '0/0'}', pg_last_wal_replay_lsn())::text AS lag`,
    );
    return Number(rows[0]?.lag ?? NaN);
  }

  /**
   * The standby stops receiving the primary's WAL (its primary_conninfo emptied and reloaded):
   * what the primary commits from now on is what a standby behind by a network fault lacks.
   */
  async detachStandby(): Promise<void> {
    await this.query(this.standbyPort, "ALTER SYSTEM SET primary_conninfo = ''");
    await this.query(this.standbyPort, 'SELECT pg_reload_conf()');
    // the WAL receiver is gone once pg_stat_wal_receiver has no row
    for (let i = 0; i < 100; i++) {
      if ((await this.query(this.standbyPort, 'SELECT 1 FROM pg_stat_wal_receiver')).length === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the standby still receives WAL');
  }

  /** The primary dies as a crashed machine's would: no checkpoint, no goodbye to the standby. */
  async killPrimary(): Promise<void> {
    await this.asPostgres('pg_ctl', ['-D', this.data('primary'), '-m', 'immediate', '-w', 'stop']);
  }

  /** The standby becomes a primary (pg_ctl promote), taking writes on its own port. */
  async promoteStandby(): Promise<void> {
    await this.asPostgres('pg_ctl', ['-D', this.data('standby'), '-w', 'promote']);
  }

  async stop(): Promise<void> {
    for (const node of ['standby', 'primary']) {
      await this.asPostgres('pg_ctl', ['-D', this.data(node), '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  private data(node: string): string {
    return path.join(this.dir, node);
  }

  private async query<T>(port: number, sql: string): Promise<T[]> {
    const client = new Client({ connectionString: `postgresql://postgres@127.0.0.1:${port}/postgres` });
    await client.connect();
    try {
      return (await client.query<T & object>(sql)).rows;
    } finally {
      await client.end();
    }
  }

  private async asPostgres(tool: string, args: readonly string[]): Promise<void> {
    await execFileAsync('runuser', ['-u', 'postgres', '--', path.join(this.bin, tool), ...args], { cwd: this.dir });
  }
}

async function postgresIds(): Promise<[number, number]> {
  const { stdout: uid } = await execFileAsync('id', ['-u', 'postgres']);
  const { stdout: gid } = await execFileAsync('id', ['-g', 'postgres']);
  return [Number(uid.trim()), Number(gid.trim())];
}
