import { runFakeBatch } from '../../__fixtures__/batch.js';
import { type CommandResult, type CommandRunner, type RunOptions } from '../../runner.js';

/**
 * A tiny in-memory model of the `ip`/`bridge` commands the L2 driver uses, for unit tests of
 * observe -> plan -> apply without root. It prints the same JSON fields as iproute2 6.1 and
 * fails like the kernel on the mistakes that matter (existing names, missing devices).
 */
interface FakeLink {
  name: string;
  alias: string | null;
  kind: string | null;
  master: string | null;
  parent: string | null;
  mtu: number;
  up: boolean;
  address: string;
  vxlan?: { id: number; local: string; port: number; learning: boolean };
  vlanId?: number;
  peer?: { ns: string; name: string };
}

interface FdbEntry {
  mac: string;
  dst: string;
}

const ROOT = '';

export class FakeKernel implements CommandRunner {
  /** every command, a batch's lines each as the command it stands for */
  readonly calls: string[][] = [];
  /** every process started: a batch once (`ip -n NS -batch -`) */
  readonly processes: string[][] = [];
  private readonly namespaces = new Map<string, Map<string, FakeLink>>([[ROOT, new Map()]]);
  private readonly fdbs = new Map<string, FdbEntry[]>();
  private macCounter = 0;
  /** argv (joined) that should fail, to test per-item failure handling */
  readonly failOn = new Set<string>();

  constructor(hostNs: string | null, hostLinks: readonly string[] = []) {
    const ns = hostNs ?? ROOT;
    this.addNs(ns);
    for (const name of hostLinks) this.put(ns, { ...this.blank(name), up: true });
  }

  addNs(name: string): void {
    if (!this.namespaces.has(name)) this.namespaces.set(name, new Map([['lo', { ...this.blank('lo'), mtu: 65536, address: '00:00:00:00:00:00' }]]));
  }

  links(ns: string | null): FakeLink[] {
    return [...this.table(ns ?? ROOT).values()];
  }

  link(ns: string | null, name: string): FakeLink | undefined {
    return this.table(ns ?? ROOT).get(name);
  }

  fdb(ns: string | null, dev: string): FdbEntry[] {
    return this.fdbs.get(`${ns ?? ROOT}/${dev}`) ?? [];
  }

  async run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    this.processes.push([...argv]);
    return (await runFakeBatch(argv, options, (c) => this.command(c))) ?? this.command(argv);
  }

  private async command(argv: readonly string[]): Promise<CommandResult> {
    this.calls.push([...argv]);
    if (this.failOn.has(argv.join(' '))) throw new Error(`${argv.join(' ')}: injected failure`);
    const args = [...argv];
    const tool = args.shift();
    let ns = ROOT;
    for (;;) {
      if (args[0] === '-n') {
        args.shift();
        ns = this.need(args.shift());
      } else if (args[0] === '-j' || args[0] === '-d' || args[0] === '-force') {
        args.shift();
      } else break;
    }
    if (!this.namespaces.has(ns)) throw new Error(`Cannot open network namespace "${ns}": No such file or directory`);
    return { stdout: tool === 'bridge' ? this.bridge(ns, args) : this.ip(ns, args) };
  }

  private ip(ns: string, args: string[]): string {
    const [object, verb, ...rest] = args;
    if (object === 'netns' && verb === 'list') return JSON.stringify([...this.namespaces.keys()].filter((n) => n !== ROOT).map((name) => ({ name })));
    if (object === 'netns' && verb === 'add') {
      const name = this.need(rest[0]);
      if (this.namespaces.has(name)) throw new Error(`Cannot create namespace file "/run/netns/${name}": File exists`);
      this.addNs(name);
      return '';
    }
    if (object !== 'link') throw new Error(`fake: unsupported ${args.join(' ')}`);
    if (verb === 'show' && rest[0] === 'dev') {
      const link = this.table(ns).get(this.need(rest[1]));
      if (link === undefined) throw new Error(`Device "${this.need(rest[1])}" does not exist.`);
      // in a batch, each line's array ends with a newline, as iproute2 prints it
      return `${JSON.stringify([this.toJson(link)])}\n`;
    }
    if (verb === 'show') return JSON.stringify(this.links(ns).map((l) => this.toJson(l)));
    if (verb === 'add') return this.linkAdd(ns, rest);
    if (verb === 'del') return this.linkDel(ns, this.dev(ns, rest));
    if (verb === 'set') return this.linkSet(ns, rest);
    throw new Error(`fake: unsupported ${args.join(' ')}`);
  }

  private linkAdd(ns: string, args: string[]): string {
    const opts = new Map<string, string>();
    let i = 0;
    let name = '';
    let parent: string | null = null;
    for (; i < args.length && args[i] !== 'type'; i += 1) {
      const word = this.need(args[i]);
      if (word === 'link') parent = this.need(args[++i]);
      else if (word === 'name') name = this.need(args[++i]);
      else if (word === 'mtu' || word === 'address') opts.set(word, this.need(args[++i]));
      else name = word;
    }
    const kind = this.need(args[i + 1]);
    const tail = args.slice(i + 2);
    const link: FakeLink = { ...this.blank(name), kind, mtu: Number(opts.get('mtu') ?? 1500) };
    if (kind === 'vxlan') {
      const at = (key: string): string => this.need(tail[tail.indexOf(key) + 1]);
      link.vxlan = { id: Number(at('id')), local: at('local'), port: Number(at('dstport')), learning: !tail.includes('nolearning') };
    } else if (kind === 'vlan') {
      if (parent === null || !this.table(ns).has(parent)) throw new Error('Cannot find device');
      link.parent = parent;
      link.vlanId = Number(this.need(tail[tail.indexOf('id') + 1]));
    } else if (kind === 'veth') {
      // peer name X [address M] [mtu N] netns NS
      const peerName = this.need(tail[tail.indexOf('name') + 1]);
      const value = (key: string): string | undefined => (tail.includes(key) ? tail[tail.indexOf(key) + 1] : undefined);
      const peerNs = value('netns') ?? ns;
      if (!this.namespaces.has(peerNs)) throw new Error(`Invalid "netns" value "${peerNs}"`);
      if (this.table(peerNs).has(peerName) || this.table(ns).has(name)) throw new Error('RTNETLINK answers: File exists');
      const peer: FakeLink = { ...this.blank(peerName), kind: 'veth', mtu: Number(value('mtu') ?? 1500), peer: { ns, name } };
      const address = value('address');
      if (address !== undefined) peer.address = address;
      link.peer = { ns: peerNs, name: peerName };
      this.put(peerNs, peer);
    } else if (kind !== 'bridge') {
      throw new Error(`fake: unsupported type ${kind}`);
    }
    if (this.table(ns).has(name)) throw new Error('RTNETLINK answers: File exists');
    this.put(ns, link);
    return '';
  }

  private linkDel(ns: string, link: FakeLink): string {
    this.table(ns).delete(link.name);
    this.fdbs.delete(`${ns}/${link.name}`);
    if (link.peer !== undefined) this.table(link.peer.ns).delete(link.peer.name);
    for (const other of this.table(ns).values()) {
      if (other.master === link.name) other.master = null;
      if (other.parent === link.name) this.table(ns).delete(other.name);
    }
    return '';
  }

  private linkSet(ns: string, args: string[]): string {
    const link = this.dev(ns, args);
    const rest = args.slice(args.indexOf('dev') + 2);
    for (let i = 0; i < rest.length; i += 1) {
      const word = rest[i];
      if (word === 'up' || word === 'down') link.up = word === 'up';
      else if (word === 'nomaster') link.master = null;
      else if (word === 'alias') link.alias = this.need(rest[++i]);
      else if (word === 'mtu') link.mtu = Number(rest[++i]);
      else if (word === 'address') link.address = this.need(rest[++i]);
      else if (word === 'master') {
        const master = this.need(rest[++i]);
        if (this.table(ns).get(master)?.kind !== 'bridge') throw new Error(`Device does not exist or is not a bridge: ${master}`);
        link.master = master;
      } else throw new Error(`fake: unsupported link set ${String(word)}`);
    }
    return '';
  }

  private bridge(ns: string, args: string[]): string {
    const [object, verb, ...rest] = args;
    if (object !== 'fdb') throw new Error(`fake: unsupported bridge ${args.join(' ')}`);
    if (verb === 'show') {
      // Without `dev`, the whole namespace, each entry naming its device (as the real one does).
      const devices = rest.includes('dev')
        ? [this.dev(ns, rest).name]
        : [...this.fdbs.keys()].filter((k) => k.startsWith(`${ns}/`)).map((k) => k.slice(ns.length + 1));
      return JSON.stringify(devices.flatMap((d) => this.fdb(ns, d).map((e) => ({ mac: e.mac, ifname: d, dst: e.dst, flags: ['self'], state: 'permanent' }))));
    }
    const [mac = ''] = rest;
    const dev = this.dev(ns, rest);
    const dst = this.need(rest[rest.indexOf('dst') + 1]);
    const key = `${ns}/${dev.name}`;
    const entries = this.fdbs.get(key) ?? [];
    this.fdbs.set(key, entries);
    const same = (e: FdbEntry): boolean => e.mac === mac && e.dst === dst;
    if (verb === 'append') {
      if (!entries.some(same)) entries.push({ mac, dst });
    } else if (verb === 'replace') {
      const existing = entries.find((e) => e.mac === mac);
      if (existing) existing.dst = dst;
      else entries.push({ mac, dst });
    } else if (verb === 'del') {
      const at = entries.findIndex(same);
      if (at < 0) throw new Error('RTNETLINK answers: No such file or directory');
      entries.splice(at, 1);
    } else throw new Error(`fake: unsupported fdb ${String(verb)}`);
    return '';
  }

  private toJson(l: FakeLink): unknown {
    const info_data = l.vxlan
      ? { id: l.vxlan.id, local: l.vxlan.local, port: l.vxlan.port, learning: l.vxlan.learning }
      : l.vlanId !== undefined
        ? { protocol: '802.1Q', id: l.vlanId }
        : undefined;
    return {
      ifname: l.name,
      flags: l.up ? ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'] : ['BROADCAST', 'MULTICAST'],
      mtu: l.mtu,
      ...(l.master !== null ? { master: l.master } : {}),
      ...(l.parent !== null ? { link: l.parent } : {}),
      operstate: l.up ? 'UP' : 'DOWN',
      address: l.address,
      ...(l.kind !== null ? { linkinfo: { info_kind: l.kind, ...(info_data ? { info_data } : {}) } } : {}),
      ...(l.alias !== null ? { ifalias: l.alias } : {}),
    };
  }

  private dev(ns: string, args: string[]): FakeLink {
    const name = this.need(args[args.indexOf('dev') + 1]);
    const link = this.table(ns).get(name);
    if (link === undefined) throw new Error(`Cannot find device "${name}"`);
    return link;
  }

  private blank(name: string): FakeLink {
    this.macCounter += 1;
    const mac = `02:00:00:00:${Math.floor(this.macCounter / 256)
      .toString(16)
      .padStart(2, '0')}:${(this.macCounter % 256).toString(16).padStart(2, '0')}`;
    return { name, alias: null, kind: null, master: null, parent: null, mtu: 1500, up: false, address: mac };
  }

  private put(ns: string, link: FakeLink): void {
    this.table(ns).set(link.name, link);
  }

  private table(ns: string): Map<string, FakeLink> {
    const table = this.namespaces.get(ns);
    if (table === undefined) throw new Error(`Cannot open network namespace "${ns}"`);
    return table;
  }

  private need(value: string | undefined): string {
    if (value === undefined) throw new Error('fake: missing argument');
    return value;
  }
}
