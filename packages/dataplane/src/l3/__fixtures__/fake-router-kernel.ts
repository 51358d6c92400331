import { formatCidr, normalizeIp, parseCidr } from '@ncp/netaddr';
import { runFakeBatch } from '../../__fixtures__/batch.js';
import { type CommandResult, type CommandRunner, type RunOptions } from '../../runner.js';

/**
 * A small in-memory model of what the L3 driver runs inside router namespaces (`ip` addr/route/
 * link/netns, `sysctl`, `nft`, `conntrack`, `arping`), for unit tests of observe -> plan -> apply
 * without root. It prints the JSON fields iproute2 6.1 prints and fails like the real tools on
 * the mistakes that matter (missing namespace or device, duplicate address, a missing table,
 * conntrack with nothing to delete).
 */
interface FakeAddr {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  scope: string;
}

interface FakeLink {
  name: string;
  alias?: string;
  up: boolean;
  addrs: FakeAddr[];
}

interface FakeRoute {
  family: 4 | 6;
  dst: string;
  gateways: string[];
  protocol: string;
  metric: number | null;
}

interface FakeNs {
  links: Map<string, FakeLink>;
  routes: FakeRoute[];
  sysctl: Map<string, string>;
  /** the `table inet ncp_router { ... }` text as nft would list it, or null */
  table: string | null;
  /** conntrack entries by original destination and reply destination */
  conntrack: { dst: string; replyDst: string }[];
}

const SYSCTL_DEFAULTS: Readonly<Record<string, string>> = {
  'net.ipv4.ip_forward': '0',
  'net.ipv6.conf.all.forwarding': '0',
  'net.ipv4.conf.all.promote_secondaries': '0',
  'net.ipv6.conf.all.keep_addr_on_down': '0',
  'net.ipv4.conf.all.arp_ignore': '0',
};

export class FakeRouterKernel implements CommandRunner {
  readonly calls: string[][] = [];
  /** stdin given with each call, by call index */
  readonly inputs = new Map<number, string>();
  readonly namespaces = new Map<string, FakeNs>();
  /** argv (joined) that should fail, to test per-item failure handling */
  readonly failOn = new Set<string>();
  private plugged = 0;

  addNs(name: string): FakeNs {
    const existing = this.namespaces.get(name);
    if (existing !== undefined) return existing;
    const ns: FakeNs = {
      links: new Map([['lo', { name: 'lo', up: false, addrs: [] }]]),
      routes: [],
      sysctl: new Map(Object.entries(SYSCTL_DEFAULTS)),
      table: null,
      conntrack: [],
    };
    this.namespaces.set(name, ns);
    return ns;
  }

  /** What the L2 driver does for a router port: a link in the namespace, up, with its fe80 address. */
  plug(nsName: string, ifname: string): void {
    this.plugged += 1;
    this.addNs(nsName).links.set(ifname, {
      name: ifname,
      up: true,
      addrs: [{ family: 'inet6', local: `fe80::${this.plugged}`, prefixlen: 64, scope: 'link' }],
    });
  }

  ns(name: string): FakeNs {
    const ns = this.namespaces.get(name);
    if (ns === undefined) throw new Error(`Cannot open network namespace "${name}": No such file or directory`);
    return ns;
  }

  /** every process started: a batch once (`ip -n NS -batch -`) */
  readonly processes: string[][] = [];

  async run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    this.processes.push([...argv]);
    return (await runFakeBatch(argv, options, (c) => this.command(c))) ?? this.command(argv, options);
  }

  /** One command, a batch's line as the command it stands for. */
  private async command(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    this.calls.push([...argv]);
    if (options?.input !== undefined) this.inputs.set(this.calls.length - 1, options.input);
    if (this.failOn.has(argv.join(' '))) throw new Error(`${argv.join(' ')}: injected failure`);
    const args = [...argv];
    if (args.shift() !== 'ip') throw new Error(`fake: unsupported ${argv.join(' ')}`);
    let nsName: string | null = null;
    let family: 4 | 6 | null = null;
    for (;;) {
      const flag = args[0];
      if (flag === '-n') {
        args.shift();
        nsName = this.need(args.shift());
      } else if (flag === '-6') {
        args.shift();
        family = 6;
      } else if (flag === '-j' || flag === '-N') {
        args.shift();
      } else break;
    }
    const [object, verb, ...rest] = args;
    if (object === 'netns') return { stdout: this.netns(verb, rest, options?.input) };
    const ns = this.ns(this.need(nsName ?? undefined));
    if (object === 'addr') return { stdout: this.addr(ns, verb, rest) };
    if (object === 'route') return { stdout: this.route(ns, verb, rest, family ?? 4) };
    if (object === 'link' && verb === 'set') {
      const link = this.dev(ns, rest);
      if (rest.includes('up') || rest.includes('down')) link.up = rest.includes('up');
      if (rest.includes('alias')) link.alias = this.need(rest[rest.indexOf('alias') + 1]);
      return { stdout: '' };
    }
    if (object === 'link' && verb === 'show') {
      const link = this.dev(ns, rest);
      return {
        stdout: JSON.stringify([{ ifname: link.name, flags: link.up ? ['UP'] : [], mtu: 1500, ...(link.alias === undefined ? {} : { ifalias: link.alias }) }]),
      };
    }
    throw new Error(`fake: unsupported ${argv.join(' ')}`);
  }

  private netns(verb: string | undefined, rest: string[], input: string | undefined): string {
    if (verb === 'list') return JSON.stringify([...this.namespaces.keys()].map((name) => ({ name })));
    const name = this.need(rest[0]);
    if (verb === 'add') {
      if (this.namespaces.has(name)) throw new Error(`Cannot create namespace file "/run/netns/${name}": File exists`);
      this.addNs(name);
      return '';
    }
    if (verb === 'del') {
      this.ns(name);
      this.namespaces.delete(name);
      return '';
    }
    if (verb === 'exec') return this.exec(this.ns(name), rest.slice(1), input);
    throw new Error(`fake: unsupported netns ${String(verb)}`);
  }

  private exec(ns: FakeNs, argv: string[], input: string | undefined): string {
    const [program, ...args] = argv;
    if (program === 'sysctl') {
      if (args[0] === '-n')
        return `${args
          .slice(1)
          .map((k) => this.need(ns.sysctl.get(k)))
          .join('\n')}\n`;
      for (const pair of args.filter((a) => a.includes('='))) {
        const [key = '', value = ''] = pair.split('=');
        ns.sysctl.set(key, value);
      }
      return '';
    }
    if (program === 'nft') return this.nft(ns, args, input);
    if (program === 'conntrack') {
      const [, flag, address] = args;
      const before = ns.conntrack.length;
      ns.conntrack = ns.conntrack.filter((e) => (flag === '-d' ? e.dst : e.replyDst) !== address);
      const deleted = before - ns.conntrack.length;
      if (deleted === 0) throw new Error('conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.');
      return '';
    }
    if (program === 'arping') {
      const link = this.dev(ns, ['dev', this.need(args[args.indexOf('-I') + 1])]);
      if (!link.up) throw new Error(`Interface "${link.name}" is down`);
      return 'Sent 1 probes (1 broadcast(s))\nReceived 0 response(s)\n';
    }
    throw new Error(`fake: unsupported program ${String(program)}`);
  }

  private nft(ns: FakeNs, args: string[], input: string | undefined): string {
    const command = args.filter((a) => a !== '-j').join(' ');
    if (command === 'list tables') {
      return JSON.stringify({
        nftables: [{ metainfo: { version: '1.0.6' } }, ...(ns.table === null ? [] : [{ table: { family: 'inet', name: 'ncp_router', handle: 1 } }])],
      });
    }
    if (command === 'list table inet ncp_router') {
      if (ns.table === null) throw new Error('Error: No such file or directory');
      return ns.table;
    }
    if (command === 'delete table inet ncp_router') {
      if (ns.table === null) throw new Error('Error: No such file or directory');
      ns.table = null;
      return '';
    }
    if (command === '-f -' && input !== undefined) {
      // Only the script the driver writes: `table X {}`, `delete table X`, then the full table.
      const prefix = 'table inet ncp_router {}\ndelete table inet ncp_router\n';
      if (!input.startsWith(prefix)) throw new Error('fake: unexpected nft script');
      // nft lists a table with an empty line between chains.
      ns.table = input.slice(prefix.length).replace(/\n\t}\n\tchain /g, '\n\t}\n\n\tchain ');
      return '';
    }
    throw new Error(`fake: unsupported nft ${command}`);
  }

  private addr(ns: FakeNs, verb: string | undefined, rest: string[]): string {
    if (verb === 'show') {
      return JSON.stringify(
        [...ns.links.values()].map((l) => ({
          ifname: l.name,
          flags: l.up ? ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'] : ['BROADCAST', 'MULTICAST'],
          addr_info: l.addrs.map((a) => ({ family: a.family, local: a.local, prefixlen: a.prefixlen, scope: a.scope })),
        })),
      );
    }
    const [cidr = ''] = rest;
    const link = this.dev(ns, rest);
    const [local = '', len = ''] = cidr.split('/');
    const addr: FakeAddr = { family: local.includes(':') ? 'inet6' : 'inet', local: normalizeIp(local), prefixlen: Number(len), scope: 'global' };
    const at = link.addrs.findIndex((a) => a.local === addr.local && a.prefixlen === addr.prefixlen);
    const subnet = formatCidr(parseCidr(cidr));
    const family = addr.family === 'inet' ? 4 : 6;
    if (verb === 'add') {
      if (at >= 0) throw new Error('Error: ipv4: Address already assigned.');
      link.addrs.push(addr);
      const host = (family === 4 && addr.prefixlen === 32) || addr.prefixlen === 128;
      if (!host && !ns.routes.some((r) => r.dst === subnet && r.protocol === '2')) {
        ns.routes.push({ family, dst: subnet, gateways: [], protocol: '2', metric: family === 6 ? 256 : null });
      }
      return '';
    }
    if (verb === 'del') {
      if (at < 0) throw new Error('Error: ipv4: Address not found.');
      link.addrs.splice(at, 1);
      ns.routes = ns.routes.filter((r) => !(r.dst === subnet && r.protocol === '2'));
      return '';
    }
    throw new Error(`fake: unsupported addr ${String(verb)}`);
  }

  private route(ns: FakeNs, verb: string | undefined, rest: string[], family: 4 | 6): string {
    if (verb === 'show') {
      return JSON.stringify(
        ns.routes
          .filter((r) => r.family === family)
          .map((r) => ({
            dst: r.dst === '0.0.0.0/0' || r.dst === '::/0' ? 'default' : r.dst,
            ...(r.gateways.length === 1 ? { gateway: r.gateways[0] } : {}),
            protocol: r.protocol,
            ...(r.metric === null ? {} : { metric: r.metric }),
            flags: [],
            ...(r.gateways.length > 1 ? { nexthops: r.gateways.map((gateway) => ({ gateway, weight: 1, flags: [] })) } : {}),
          })),
      );
    }
    const [dst = ''] = rest;
    const routeFamily = dst.includes(':') ? 6 : 4;
    const gateways = rest.flatMap((w, i) => (w === 'via' ? [normalizeIp(this.need(rest[i + 1]))] : []));
    const protocol = rest.includes('proto') ? this.need(rest[rest.indexOf('proto') + 1]) : '4';
    const metric = rest.includes('metric') ? Number(rest[rest.indexOf('metric') + 1]) : routeFamily === 6 ? 1024 : null;
    const same = (r: FakeRoute): boolean => r.family === routeFamily && r.dst === dst && r.metric === metric;
    if (verb === 'replace') {
      ns.routes = ns.routes.filter((r) => !same(r));
      ns.routes.push({ family: routeFamily, dst, gateways, protocol, metric });
      return '';
    }
    if (verb === 'del') {
      const at = ns.routes.findIndex((r) => r.family === routeFamily && r.dst === dst && r.protocol === protocol);
      if (at < 0) throw new Error('RTNETLINK answers: No such process');
      ns.routes.splice(at, 1);
      return '';
    }
    throw new Error(`fake: unsupported route ${String(verb)}`);
  }

  private dev(ns: FakeNs, args: string[]): FakeLink {
    const name = this.need(args[args.indexOf('dev') + 1]);
    const link = ns.links.get(name);
    if (link === undefined) throw new Error(`Cannot find device "${name}"`);
    return link;
  }

  private need<T>(value: T | undefined): T {
    if (value === undefined) throw new Error('fake: missing argument');
    return value;
  }
}
