import { execFile } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Topology } from '@ncp/testing';

const run = promisify(execFile);

/** FRR's daemons this helper runs: zebra (bfdd and bgpd talk through it), bfdd, bgpd. */
export type FrrConfig = Readonly<Record<'zebra.conf' | 'bfdd.conf' | 'bgpd.conf', readonly string[]>>;

/**
 * A core router: FRR (Debian's `frr`, started here without systemd) in a namespace of the
 * scenario, each daemon with its files and sockets in `dir` (`-N` keeps FRR's default paths
 * apart from any system FRR). Each forks once it is ready (`-d`). Returns vtysh against it.
 */
export async function startFrr(topo: Topology, ns: string, dir: string, conf: FrrConfig): Promise<(...commands: string[]) => Promise<string>> {
  // FRR's daemons drop to the frr user: they must reach the directory and write in it
  await mkdir(dir, { recursive: true });
  await chmod(path.dirname(dir), 0o755);
  await chmod(dir, 0o777);
  const file = (name: string): string => path.join(dir, name);
  for (const [name, lines] of Object.entries(conf)) await writeFile(file(name), `${lines.join('\n')}\n`);
  const pathspace = `ncp${path
    .basename(path.dirname(dir))
    .slice(-6)
    .replace(/[^A-Za-z0-9]/g, 'x')}`;
  for (const daemon of ['zebra', 'bfdd', 'bgpd']) {
    await topo.exec(ns, [
      `/usr/lib/frr/${daemon}`,
      '-d',
      '-N',
      pathspace,
      '-f',
      file(`${daemon}.conf`),
      '-i',
      file(`${daemon}.pid`),
      '--vty_socket',
      file(''),
      '-z',
      file('zserv.api'),
      '--log',
      `file:${file(`${daemon}.log`)}`,
      ...(daemon === 'bfdd' ? ['--bfdctl', file('bfdd.sock')] : []),
    ]);
  }
  return async (...commands: string[]) => (await run('vtysh', ['--vty_socket', file(''), ...commands.flatMap((c) => ['-c', c])])).stdout;
}

/** What the scenarios need to run FRR (with CI=true a missing one fails the file). */
export const FRR_COMMANDS: readonly (readonly string[])[] = [
  ['/usr/lib/frr/bgpd', '--version'],
  ['/usr/lib/frr/bfdd', '--version'],
  ['/usr/lib/frr/zebra', '--version'],
  ['which', 'vtysh'],
];
