import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Helpers for data-plane tests that build topologies only inside network namespaces they
 * create. Every command takes a namespace and runs there (`ip -n NS`, `ip netns exec NS`), so
 * the machine's own interfaces are never touched; `Topology` remembers the namespaces it made
 * and deletes them all (which also removes every veth, bridge and VXLAN device inside).
 * Everything runs with execFile and an argument array, never a shell.
 */

const NETNS_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const LINK_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
const SYSCTL_KEY = /^[A-Za-z0-9_.\-/]{1,128}$/;
const ARG = /^[A-Za-z0-9_.:/-]{1,64}$/;

function check(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value) || value.startsWith('-') || value === '.' || value === '..') throw new Error(`invalid ${what}: '${value}'`);
  return value;
}

const netnsName = (name: string): string => check(name, NETNS_NAME, 'namespace name');
const linkName = (name: string): string => check(name, LINK_NAME, 'interface name');

/** Runs a command; rejects with its stderr. */
export function runArgv(argv: readonly string[], timeoutMs = 20_000): Promise<string> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('empty command'));
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`\`${argv.join(' ')}\` failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

/** `ip -n NS args...`: an iproute2 command run against one namespace (checked), never the root one. */
function ipIn(ns: string, ...args: string[]): Promise<string> {
  return runArgv(['ip', '-n', netnsName(ns), ...args]);
}

/**
 * A short unique prefix for namespace names, e.g. `tl3k9xq-`: base36 time (last 4 digits)
 * plus 2 random characters, so parallel runs and leftovers of crashed runs do not collide.
 */
export function netnsPrefix(): string {
  const time = Date.now().toString(36).slice(-4);
  const rand = randomBytes(2).readUInt16BE(0).toString(36).padStart(2, '0').slice(-2);
  return `t${time}${rand}-`;
}

export type NetnsPrerequisites = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Whether namespaces can be built here: root and a working `ip netns`. Tests skip on `ok:
 * false` only outside CI; with CI=true they must fail instead (see `requireNetns`).
 */
export function netnsPrerequisites(): NetnsPrerequisites {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, reason: 'not running as root' };
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'pipe', timeout: 5_000 });
  } catch (error) {
    return { ok: false, reason: `ip netns is not usable: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { ok: true };
}

/** True when the data-plane tests can run; throws under CI=true when they cannot. */
export function requireNetns(env: NodeJS.ProcessEnv = process.env): boolean {
  const pre = netnsPrerequisites();
  if (pre.ok) return true;
  if (env.CI === 'true') throw new Error(`data-plane tests need root and iproute2 (CI=true, no skipping): ${pre.reason}`);
  return false;
}

export async function addNetns(name: string): Promise<void> {
  await runArgv(['ip', 'netns', 'add', netnsName(name)]);
  // Loopback up, as on any real host (ping to self, local services).
  await linkUp(name, 'lo');
}

export async function delNetns(name: string): Promise<void> {
  await runArgv(['ip', 'netns', 'del', netnsName(name)]);
}

/** Kills whatever runs in a namespace (`ip netns del` would leave it running: dnsmasq, radvd, BIRD). */
async function killProcessesIn(name: string): Promise<void> {
  const pids = (await runArgv(['ip', 'netns', 'pids', netnsName(name)]).catch(() => '')).split('\n').filter((p) => /^\d+$/.test(p));
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/** True while the process runs: a zombie (exited, not reaped) has an empty command line and counts as gone. */
export function processAlive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== '';
  } catch {
    return false;
  }
}

/** Deletes a namespace with whatever runs in it; one that does not exist is fine. */
export async function removeNetnsWithProcesses(name: string): Promise<void> {
  await killProcessesIn(name);
  await delNetns(name).catch(() => undefined);
}

/** A veth pair with one end in each namespace (both must be namespaces, never the root one). */
export async function addVethPair(nsA: string, ifA: string, nsB: string, ifB: string): Promise<void> {
  await ipIn(nsA, 'link', 'add', linkName(ifA), 'type', 'veth', 'peer', 'name', linkName(ifB), 'netns', netnsName(nsB));
}

export async function linkUp(ns: string, ifname: string): Promise<void> {
  await ipIn(ns, 'link', 'set', 'dev', linkName(ifname), 'up');
}

/** `cidr` like 10.91.1.1/24 or fd00::1/64. IPv6 addresses skip DAD so they work at once. */
export async function addAddress(ns: string, ifname: string, cidr: string): Promise<void> {
  const extra = cidr.includes(':') ? ['nodad'] : [];
  await ipIn(ns, 'addr', 'add', check(cidr, ARG, 'address'), 'dev', linkName(ifname), ...extra);
}

/** `dst` is a prefix or `default`. */
export async function addRoute(ns: string, dst: string, via: string): Promise<void> {
  await ipIn(ns, 'route', 'add', check(dst, ARG, 'destination'), 'via', check(via, ARG, 'gateway'));
}

/** `sysctl -w key=value` inside the namespace (net.* keys are per namespace). */
export async function sysctl(ns: string, key: string, value: string): Promise<void> {
  await netnsExec(ns, ['sysctl', '-q', '-w', `${check(key, SYSCTL_KEY, 'sysctl key')}=${check(value, ARG, 'sysctl value')}`]);
}

/** Runs a program inside a namespace (`ip netns exec NS argv...`), e.g. ping. */
export function netnsExec(ns: string, argv: readonly string[], timeoutMs = 20_000): Promise<string> {
  return runArgv(['ip', 'netns', 'exec', netnsName(ns), ...argv], timeoutMs);
}

/**
 * A set of namespaces made for one test file. Names are `prefix + suffix`; `destroy()` deletes
 * every namespace it made or adopted, in reverse order, and may be called any number of times
 * (afterAll, and again after a failure).
 */
export class Topology {
  private readonly namespaces: string[] = [];

  constructor(readonly prefix: string = netnsPrefix()) {
    check(`${prefix}x`, NETNS_NAME, 'namespace prefix');
  }

  /** The full namespace name for a suffix (no side effect). */
  ns(suffix: string): string {
    return netnsName(`${this.prefix}${suffix}`);
  }

  /** Creates `prefix + suffix` and returns its full name. */
  async addNetns(suffix: string): Promise<string> {
    const name = this.ns(suffix);
    this.adopt(name);
    await addNetns(name);
    return name;
  }

  /**
   * This file's namespaces by role, e.g. `{ router: 'qrouter-e7a1b2c3', wl1: 'wl1' }` to their
   * full names (no side effect yet). `create()`, in beforeAll, creates the `make` ones and
   * registers the `adopt` ones (made by the code under test) so that `destroy()` deletes them too.
   */
  plan<M extends string, A extends string = never>(
    make: Readonly<Record<M, string>>,
    adopt: Readonly<Record<A, string>> = {} as Record<A, string>,
  ): { readonly ns: Readonly<Record<M | A, string>>; create(): Promise<void> } {
    const named = (suffixes: Readonly<Record<string, string>>) => Object.entries(suffixes).map(([role, suffix]) => [role, this.ns(suffix)] as const);
    const ns = Object.fromEntries([...named(make), ...named(adopt)]) as Record<M | A, string>;
    const create = async (): Promise<void> => {
      // registered first, so that a setup failing half-way still deletes them
      for (const [, name] of named(adopt)) this.adopt(name);
      for (const suffix of Object.values<string>(make)) await this.addNetns(suffix);
    };
    return { ns, create };
  }

  /** Marks a namespace created by someone else (e.g. the code under test) for deletion. */
  adopt(name: string): void {
    if (!name.startsWith(this.prefix)) throw new Error(`${name} is not one of this topology's namespaces (${this.prefix}*)`);
    if (!this.namespaces.includes(name)) this.namespaces.push(name);
  }

  private own(ns: string): string {
    if (!this.namespaces.includes(ns)) throw new Error(`${ns} was not created by this topology`);
    return ns;
  }

  addVethPair(nsA: string, ifA: string, nsB: string, ifB: string): Promise<void> {
    return addVethPair(this.own(nsA), ifA, this.own(nsB), ifB);
  }

  linkUp(ns: string, ifname: string): Promise<void> {
    return linkUp(this.own(ns), ifname);
  }

  /** A veth pair between two of this topology's namespaces, both ends up. */
  async wire(nsA: string, ifA: string, nsB: string, ifB: string): Promise<void> {
    await this.addVethPair(nsA, ifA, nsB, ifB);
    await this.linksUp([nsA, ifA], [nsB, ifB]);
  }

  /** A bridge in one of this topology's namespaces (a "switch"), up, with `ports` enslaved and up. */
  async bridge(ns: string, name: string, ports: readonly string[]): Promise<void> {
    await addBridge(this.own(ns), name);
    for (const port of ports) {
      await setMaster(ns, port, name);
      await this.linkUp(ns, port);
    }
  }

  /** Brings up each `[namespace, interface]`, in order. */
  async linksUp(...links: readonly (readonly [ns: string, ifname: string])[]): Promise<void> {
    for (const [ns, ifname] of links) await this.linkUp(ns, ifname);
  }

  addAddress(ns: string, ifname: string, cidr: string): Promise<void> {
    return addAddress(this.own(ns), ifname, cidr);
  }

  addRoute(ns: string, dst: string, via: string): Promise<void> {
    return addRoute(this.own(ns), dst, via);
  }

  sysctl(ns: string, key: string, value: string): Promise<void> {
    return sysctl(this.own(ns), key, value);
  }

  exec(ns: string, argv: readonly string[], timeoutMs?: number): Promise<string> {
    return netnsExec(this.own(ns), argv, timeoutMs);
  }

  /**
   * Two "hosts" in two rows, each on its own routed underlay: `spine` routes between row A
   * (10.1.0.0/24: spine `to-a` .1, hostA `ul0` .2) and row B (10.2.0.0/24: `to-b`, hostB
   * `ul0`). Returns the hosts' tunnel addresses, for their agents' --tunnel-ip.
   */
  async routedRows(spine: string, hostA: string, hostB: string): Promise<{ readonly a: string; readonly b: string }> {
    await this.addVethPair(spine, 'to-a', hostA, 'ul0');
    await this.addVethPair(spine, 'to-b', hostB, 'ul0');
    await this.linksUp([spine, 'to-a'], [spine, 'to-b'], [hostA, 'ul0'], [hostB, 'ul0']);
    await this.addAddress(spine, 'to-a', '10.1.0.1/24');
    await this.addAddress(spine, 'to-b', '10.2.0.1/24');
    await this.sysctl(spine, 'net.ipv4.ip_forward', '1');
    await this.addAddress(hostA, 'ul0', '10.1.0.2/24');
    await this.addAddress(hostB, 'ul0', '10.2.0.2/24');
    await this.addRoute(hostA, '10.2.0.0/24', '10.1.0.1');
    await this.addRoute(hostB, '10.1.0.0/24', '10.2.0.1');
    return { a: '10.1.0.2', b: '10.2.0.2' };
  }

  /** Deletes everything this topology made, processes inside included; namespaces already gone are fine. */
  async destroy(): Promise<void> {
    const failures: string[] = [];
    for (const name of [...this.namespaces].reverse()) {
      try {
        // Daemons a test started in its namespaces (dnsmasq, radvd, BIRD) die with them.
        await killProcessesIn(name);
        await delNetns(name);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (!/No such file|does not exist|Invalid argument/.test(message)) failures.push(message);
      }
      this.namespaces.splice(this.namespaces.indexOf(name), 1);
    }
    if (failures.length > 0) throw new Error(`topology cleanup failed: ${failures.join('; ')}`);
  }
}

/** A bridge in a namespace, up (e.g. a "switch" joining several test namespaces). */
export async function addBridge(ns: string, name: string): Promise<void> {
  await ipIn(ns, 'link', 'add', linkName(name), 'type', 'bridge');
  await linkUp(ns, name);
}

/** Enslaves an interface to a bridge of the same namespace. */
export async function setMaster(ns: string, ifname: string, master: string): Promise<void> {
  await ipIn(ns, 'link', 'set', 'dev', linkName(ifname), 'master', linkName(master));
}

/**
 * Waits until no address in the namespace is still tentative (IPv6 duplicate address
 * detection), so a test can use an address the code under test just added. Polls every 100 ms,
 * up to `timeoutMs`.
 */
export async function waitForDad(ns: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const links = JSON.parse(await ipIn(ns, '-j', 'addr', 'show')) as { addr_info?: { tentative?: boolean; local?: string }[] }[];
    const pending = links.flatMap((l) => (l.addr_info ?? []).filter((a) => a.tentative === true).map((a) => a.local ?? '?'));
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw new Error(`addresses still tentative in ${ns} after ${timeoutMs} ms: ${pending.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A UDP listener started by {@link listenUdpOnce}. */
export interface UdpListener {
  /** the source address of the first datagram received (as the listener saw it, after any NAT) */
  readonly peer: Promise<string>;
  /** stops the listener if it is still running */
  close(): void;
}

const UDP_LISTENER = `
const [port, timeoutMs] = process.argv.slice(1).map(Number);
const socket = require('node:dgram').createSocket({ type: 'udp6', ipv6Only: false });
socket.on('message', (_msg, rinfo) => {
  process.stdout.write('peer ' + rinfo.address.replace(/^::ffff:/, '') + '\\n', () => process.exit(0));
});
socket.bind(port, () => process.stdout.write('ready\\n'));
setTimeout(() => process.exit(2), timeoutMs);
`;

/**
 * Starts a one-shot UDP listener on all addresses of a namespace (a `node` child process run
 * with `ip netns exec`). Resolves once the socket is bound; `peer` then resolves with the
 * source address of the first datagram, which is how a test sees what NAT did to a flow.
 */
export function listenUdpOnce(ns: string, port: number, timeoutMs = 15_000): Promise<UdpListener> {
  netnsName(ns);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return Promise.reject(new Error(`invalid port ${port}`));
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', UDP_LISTENER, String(port), String(timeoutMs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const close = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const peer = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /^peer (\S+)$/m.exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`UDP listener in ${ns} exited (${String(code)}) without a datagram: ${stderr.trim()}`)));
  });
  // Never an unhandled rejection: the caller may not await `peer` (e.g. after a failed step).
  peer.catch(() => undefined);
  return new Promise<UdpListener>((resolve, reject) => {
    child.stdout.on('data', () => {
      if (/^ready$/m.test(output)) resolve({ peer, close });
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`UDP listener in ${ns} did not start (${String(code)}): ${stderr.trim()}`)));
  });
}

const UDP_SENDER = `
const [host, port, count] = process.argv.slice(1);
const socket = require('node:dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
let sent = 0;
const send = () => socket.send('probe', Number(port), host, (error) => {
  if (error) { console.error(error.message); process.exit(1); }
  if (++sent === Number(count)) socket.close(); else setTimeout(send, 100);
});
send();
`;

/**
 * Sends `count` UDP datagrams (100 ms apart, from one socket: one flow) from a namespace to
 * host:port. More than one covers the first being dropped while a neighbour is resolved.
 */
export async function sendUdp(ns: string, host: string, port: number, count = 3): Promise<void> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port ${port}`);
  await netnsExec(ns, [process.execPath, '-e', UDP_SENDER, check(host, ARG, 'address'), String(port), String(count)]);
}

/**
 * The source address a UDP flow from namespace `from` to `address`:`port` arrives with in
 * namespace `at`, where a one-shot listener waits for it: what NAT (or no NAT) made of the flow.
 */
export async function sourceSeen(from: string, at: string, address: string, port: number): Promise<string> {
  const listener = await listenUdpOnce(at, port);
  try {
    await sendUdp(from, address, port);
    return await listener.peer;
  } finally {
    listener.close();
  }
}

/**
 * Whether the given tools run here (each probe is an argv such as `['nft', '--version']` that
 * must exit 0). Like {@link requireNetns}: false outside CI, a thrown error with CI=true.
 */
export function requireCommands(probes: readonly (readonly string[])[], env: NodeJS.ProcessEnv = process.env): boolean {
  const missing = probes.filter(([file, ...args]) => {
    if (file === undefined) return true;
    try {
      // generous: a Python tool's --version (keystone-manage) can take seconds on a loaded machine
      execFileSync(file, args, { stdio: 'pipe', timeout: 60_000 });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return true;
  const names = missing.map((p) => p.join(' ')).join(', ');
  if (env.CI === 'true') throw new Error(`data-plane tests need these tools (CI=true, no skipping): ${names}`);
  return false;
}
