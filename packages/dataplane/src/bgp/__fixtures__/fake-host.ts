import { DataplaneError } from '../../errors.js';
import { type CommandResult, type CommandRunner } from '../../runner.js';
import { FakeDhcpMachine } from '../../dhcp/__fixtures__/fake-host.js';

/**
 * The DHCP driver's in-memory machine (files, processes, signals, namespaces) that also
 * "runs" BIRD: `bird -c … -s … -P …` registers a process and writes its pid file (as BIRD does
 * once it has forked), `bird -p` checks a config, and `birdc -s <socket>` answers `configure`
 * and `show protocols all` for the BIRD listening on that socket.
 */
export class FakeBirdMachine extends FakeDhcpMachine implements CommandRunner {
  /** the configuration each running BIRD (by control socket) has loaded */
  readonly loaded = new Map<string, string>();
  /** when set, `bird -p` refuses every configuration with this message */
  refuseConfig: string | null = null;
  /** when set, `birdc configure` answers this instead of `Reconfigured` */
  configureAnswer: string | null = null;
  /** what each BGP protocol (by name) learned: the answer of `show route protocol <name> all`, and how many routes it holds */
  readonly learned = new Map<string, { output: string; count: number }>();

  override run(argv: readonly string[]): Promise<CommandResult> {
    const a = [...argv];
    const at = a[0] === 'ip' && a[1] === 'netns' && a[2] === 'exec' ? 4 : 0;
    if (a[at] !== 'bird' && a[at] !== 'birdc') return super.run(argv);
    try {
      if (at === 4 && !this.namespaces.has(a[3] ?? '')) this.refuse(a, `Cannot open network namespace "${String(a[3])}"`);
      return Promise.resolve({ stdout: a[at] === 'bird' ? this.bird(a, a.slice(at)) : this.birdc(a, a.slice(at)) });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private refuse(argv: readonly string[], why: string): never {
    throw new DataplaneError('DATAPLANE.COMMAND_FAILED', `\`${argv.join(' ')}\` failed: ${why}`);
  }

  private bird(argv: readonly string[], args: string[]): string {
    const opt = (flag: string): string => args[args.indexOf(flag) + 1] ?? '';
    if (args.includes('-p')) {
      if (this.refuseConfig !== null) this.refuse(argv, `bird: ${opt('-c')}:1:1 ${this.refuseConfig}`);
      return '';
    }
    if (this.daemonsFail) return '';
    const pid = this.spawnForeign(args);
    this.files.set(opt('-P'), `${pid}\n`);
    this.loaded.set(opt('-s'), this.files.get(opt('-c')) ?? '');
    return '';
  }

  /** The BIRD process serving this control socket, and its config file. */
  private serving(argv: readonly string[], socket: string): string {
    for (const [, args] of this.processes) {
      if (args[0] === 'bird' && args[args.indexOf('-s') + 1] === socket) return args[args.indexOf('-c') + 1] ?? '';
    }
    return this.refuse(argv, `Unable to connect to server control socket (${socket}): Connection refused`);
  }

  private birdc(argv: readonly string[], args: string[]): string {
    const socket = args[2] ?? '';
    const conf = this.serving(argv, socket);
    const command = args.slice(3).join(' ');
    if (command === 'configure') {
      if (this.configureAnswer !== null) return `BIRD 2.0.12 ready.\nReading configuration from ${conf}\n${this.configureAnswer}\n`;
      this.loaded.set(socket, this.files.get(conf) ?? '');
      return `BIRD 2.0.12 ready.\nReading configuration from ${conf}\nReconfigured\n`;
    }
    if (command === 'show protocols all') {
      const lines = ['BIRD 2.0.12 ready.', 'Name       Proto      Table      State  Since         Info'];
      for (const [, name = ''] of (this.loaded.get(socket) ?? '').matchAll(/^protocol bgp (\S+)$/gm)) {
        lines.push(
          `${name} BGP        ---        up     1795337160    Established   `,
          '  BGP state:          Established',
          '  Channel ipv4',
          `    Routes:         ${this.learned.get(name)?.count ?? 0} imported, 3 exported, 0 preferred`,
          '',
        );
      }
      return `${lines.join('\n')}\n`;
    }
    const route = /^show route protocol (\S+) all$/.exec(command);
    if (route !== null) return this.learned.get(route[1] ?? '')?.output ?? 'BIRD 2.0.12 ready.\n';
    return this.refuse(argv, 'unknown birdc command');
  }
}
