import path from 'node:path';
import { expect } from 'vitest';
import { DataplaneError } from '../../errors.js';
import { type CommandResult, type CommandRunner } from '../../runner.js';
import { type DaemonHost, type DaemonSignal } from '../../daemon/host.js';

interface FakeAddr {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  scope: string;
  /** what `ip -j` prints for `preferred_lft 0` */
  deprecated?: boolean;
  dadfailed?: boolean;
}

interface FakeLink {
  up: boolean;
  addrs: FakeAddr[];
  acceptRa: string;
}

/**
 * An in-memory machine for the DHCP/RA driver: the files and processes of `DaemonHost`, and a
 * `CommandRunner` that understands the `ip` commands the driver issues and "starts" dnsmasq
 * and radvd by registering a process and writing its pid file, as the daemons do.
 */
export class FakeDhcpMachine implements DaemonHost, CommandRunner {
  readonly files = new Map<string, string>();
  readonly dirs = new Set<string>();
  readonly processes = new Map<number, string[]>();
  readonly signals: string[] = [];
  readonly namespaces = new Map<string, Map<string, FakeLink>>();
  /** when set, a started daemon does not write its pid file (it failed after forking) */
  daemonsFail = false;
  private nextPid = 1000;

  /** A namespace with its loopback (down) and the links `plugged` into it, as the L2 driver leaves them. */
  addNamespace(ns: string, ...plugged: string[]): void {
    this.namespaces.set(ns, new Map([['lo', { up: false, addrs: [], acceptRa: '1' }]]));
    for (const ifname of plugged) this.plug(ns, ifname);
  }

  /** A plugged link with the link-local address the kernel formed at link up. */
  plug(ns: string, ifname: string, linkLocal = 'fe80::1'): void {
    this.namespaces.get(ns)?.set(ifname, { up: true, addrs: [{ family: 'inet6', local: linkLocal, prefixlen: 64, scope: 'link' }], acceptRa: '1' });
  }

  link(ns: string, ifname: string): FakeLink {
    const link = this.namespaces.get(ns)?.get(ifname);
    if (link === undefined) throw new Error(`no ${ifname} in ${ns}`);
    return link;
  }

  /** A process that is not ours took a pid (e.g. after a reboot the pid file is stale). */
  spawnForeign(argv: string[]): number {
    this.nextPid += 1;
    this.processes.set(this.nextPid, argv);
    return this.nextPid;
  }

  // --- DaemonHost

  readFile(file: string): Promise<string | null> {
    return Promise.resolve(this.files.get(file) ?? null);
  }

  writeFileAtomic(file: string, content: string): Promise<void> {
    if (!this.dirs.has(path.posix.dirname(file))) return Promise.reject(new Error(`ENOENT: ${path.posix.dirname(file)}`));
    this.files.set(file, content);
    return Promise.resolve();
  }

  makeDir(dir: string): Promise<void> {
    for (let d = dir; d !== '/'; d = path.posix.dirname(d)) this.dirs.add(d);
    return Promise.resolve();
  }

  removeDir(dir: string): Promise<void> {
    for (const d of [...this.dirs]) if (d === dir || d.startsWith(`${dir}/`)) this.dirs.delete(d);
    for (const f of [...this.files.keys()]) if (f.startsWith(`${dir}/`)) this.files.delete(f);
    return Promise.resolve();
  }

  listDirs(dir: string): Promise<string[]> {
    return Promise.resolve([...this.dirs].filter((d) => path.posix.dirname(d) === dir).map((d) => path.posix.basename(d)));
  }

  processArgv(pid: number): Promise<string[] | null> {
    return Promise.resolve(this.processes.get(pid) ?? null);
  }

  processExited(pid: number): Promise<boolean> {
    return Promise.resolve(!this.processes.has(pid));
  }

  signal(pid: number, signal: DaemonSignal): boolean {
    const argv = this.processes.get(pid);
    if (argv === undefined) return false;
    this.signals.push(`${signal} ${pid} ${argv[0] ?? ''}`);
    if (signal !== 'SIGHUP') this.processes.delete(pid);
    return true;
  }

  sleep(): Promise<void> {
    return Promise.resolve();
  }

  // --- CommandRunner

  run(argv: readonly string[]): Promise<CommandResult> {
    try {
      return Promise.resolve({ stdout: this.exec(argv) });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private fail(argv: readonly string[], why: string): never {
    throw new DataplaneError('DATAPLANE.COMMAND_FAILED', `\`${argv.join(' ')}\` failed: ${why}`);
  }

  private ns(argv: readonly string[], name: string | undefined): Map<string, FakeLink> {
    const ns = name === undefined ? undefined : this.namespaces.get(name);
    return ns ?? this.fail(argv, `Cannot open network namespace "${String(name)}"`);
  }

  private exec(argv: readonly string[]): string {
    const a = [...argv];
    if (a.join(' ') === 'ip -j netns list') return JSON.stringify([...this.namespaces.keys()].map((name) => ({ name })));
    if (a[0] === 'ip' && a[1] === 'netns' && a[2] === 'del') {
      if (!this.namespaces.delete(a[3] ?? '')) this.fail(a, 'No such file or directory');
      return '';
    }
    if (a[0] === 'ip' && a[1] === 'netns' && a[2] === 'exec') return this.inNamespace(a, this.ns(a, a[3]), a.slice(4));
    if (a[0] === 'ip' && a[1] === '-n') return this.ip(a, this.ns(a, a[2]), a.slice(3));
    return this.fail(a, 'unknown command');
  }

  private ip(argv: readonly string[], ns: Map<string, FakeLink>, args: string[]): string {
    const words = args.filter((w) => w !== '-j');
    const [object, verb] = words;
    if ((object === 'addr' || object === 'link') && verb === 'show') {
      return JSON.stringify(
        [...ns].map(([ifname, l]) => ({ ifname, mtu: 1500, flags: l.up ? ['UP'] : [], addr_info: object === 'addr' ? l.addrs : undefined })),
      );
    }
    const dev = words[words.indexOf('dev') + 1] ?? '';
    const link = ns.get(dev) ?? this.fail(argv, `Cannot find device "${dev}"`);
    if (object === 'link' && verb === 'set') {
      link.up = true;
      return '';
    }
    const cidr = words[2] ?? '';
    const [local = '', len = ''] = cidr.split('/');
    if (object === 'addr' && verb === 'add') {
      if (link.addrs.some((x) => x.local === local)) this.fail(argv, 'RTNETLINK answers: File exists');
      const lft = words.indexOf('preferred_lft');
      const added: FakeAddr = {
        family: local.includes(':') ? 'inet6' : 'inet',
        local,
        prefixlen: Number(len),
        scope: local.startsWith('fe80:') ? 'link' : 'global',
        ...(lft >= 0 && words[lft + 1] === '0' ? { deprecated: true } : {}),
      };
      // the kernel lists the newest link-local address first (the oldest is its ND source)
      const firstLinkLocal = link.addrs.findIndex((x) => x.scope === 'link');
      if (added.scope === 'link' && firstLinkLocal >= 0) link.addrs.splice(firstLinkLocal, 0, added);
      else link.addrs.push(added);
      return '';
    }
    if (object === 'addr' && verb === 'del') {
      link.addrs = link.addrs.filter((x) => `${x.local}/${x.prefixlen}` !== cidr);
      return '';
    }
    return this.fail(argv, 'unknown ip command');
  }

  private inNamespace(argv: readonly string[], ns: Map<string, FakeLink>, args: string[]): string {
    const [program, ...rest] = args;
    if (program === 'sysctl') {
      const key = rest.find((w) => w.startsWith('net/')) ?? '';
      const [, ifname = '', , value] = /^net\/ipv6\/conf\/([^/]+)\/accept_ra(=(\d+))?$/.exec(key) ?? [];
      const link = ns.get(ifname) ?? this.fail(argv, `sysctl: cannot stat /proc/sys/${key}: No such file or directory`);
      if (value !== undefined) link.acceptRa = value;
      return rest.includes('-n') ? `${link.acceptRa}\n` : '';
    }
    if (program === 'dnsmasq' || program === 'radvd') {
      const pidFile =
        program === 'dnsmasq' ? (rest.find((w) => w.startsWith('--pid-file='))?.slice('--pid-file='.length) ?? '') : (rest[rest.indexOf('-p') + 1] ?? '');
      if (this.daemonsFail) return '';
      this.nextPid += 1;
      this.processes.set(this.nextPid, [program, ...rest]);
      this.files.set(pidFile, `${this.nextPid}\n`);
      return '';
    }
    return this.fail(argv, 'unknown program');
  }
}

/**
 * A machine on which one reconcile already started the daemon: what `setUp` made, and the pid
 * in `pidFile` (`started`), for the tests of what a later reconcile does to a running daemon.
 */
export async function withDaemonRunning<M extends FakeDhcpMachine, O>(
  setUp: () => { machine: M; options: O },
  reconcile: (machine: M, options: O) => Promise<unknown>,
  pidFile: string,
): Promise<{ machine: M; options: O; started: number }> {
  const { machine, options } = setUp();
  await reconcile(machine, options);
  return { machine, options, started: Number(machine.files.get(pidFile)) };
}

/** The daemon of `pidFile` was neither signalled nor restarted: it still runs as `started`. */
export function expectStillRunning(machine: FakeDhcpMachine, pidFile: string, started: number): void {
  expect(machine.signals).toEqual([]);
  expect(Number(machine.files.get(pidFile))).toBe(started);
}
