import { type CommandResult, type CommandRunner } from '../../runner.js';
import { FakeDhcpMachine } from '../../dhcp/__fixtures__/fake-host.js';

/**
 * The DHCP driver's in-memory machine (files, processes, signals, namespaces) that also
 * "runs" the metadata proxy: `ip netns exec <ns> <node> <script> ... --daemon` registers the
 * daemonized child (its argv without --daemon) and writes its pid file, as proxy-main does
 * before it exits; `ip netns identify <pid>` names the namespace the process is in, which is
 * none once that namespace was deleted (even if one of the same name was made again).
 */
export class FakeMetadataMachine extends FakeDhcpMachine implements CommandRunner {
  /** the namespace each started proxy entered (the object, not the name: a recreated namespace is another) */
  private readonly entered = new Map<number, object>();
  /** interfaces on which adding an address fails (IPv6 disabled) */
  readonly failAddressOn = new Set<string>();

  override run(argv: readonly string[]): Promise<CommandResult> {
    const a = [...argv];
    if (a[0] === 'ip' && a[1] === 'netns' && a[2] === 'identify') {
      const ns = this.entered.get(Number(a[3]));
      return Promise.resolve({
        stdout: [...this.namespaces]
          .filter(([, links]) => links === ns)
          .map(([name]) => `${name}\n`)
          .join(''),
      });
    }
    if (a[0] === 'ip' && a[1] === '-n' && a[4] === 'add' && this.failAddressOn.has(a[a.indexOf('dev') + 1] ?? '')) {
      return Promise.reject(new Error(`\`${a.join(' ')}\` failed: RTNETLINK answers: Permission denied`));
    }
    if (a[0] === 'ip' && a[1] === 'netns' && a[2] === 'exec' && a.includes('--daemon')) {
      const links = this.namespaces.get(a[3] ?? '');
      if (links === undefined) return Promise.reject(new Error(`Cannot open network namespace "${String(a[3])}"`));
      if (this.daemonsFail) return Promise.resolve({ stdout: '' });
      const pid = this.spawnForeign(a.slice(4).filter((w) => w !== '--daemon'));
      this.entered.set(pid, links);
      const pidFile = a.find((w) => w.startsWith('--pid-file='))?.slice('--pid-file='.length) ?? '';
      this.files.set(pidFile, `${pid}\n`);
      return Promise.resolve({ stdout: '' });
    }
    return super.run(argv);
  }
}
