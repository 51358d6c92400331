import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type DhclientMode = 'v4' | 'v6' | 'v6-stateless';

export interface DhclientResult {
  /** the variables dhclient handed its script for the lease (new_ip_address, new_routers, ...), or null: no lease */
  readonly lease: Record<string, string> | null;
  /** dhclient's own output, for failure messages */
  readonly log: string;
}

// Declared as Debian's dhclient.conf does: option 121 is not known to dhclient by name.
const CONF = `option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;
request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers, domain-search,
  host-name, interface-mtu, rfc3442-classless-static-routes, ntp-servers,
  dhcp6.name-servers, dhcp6.domain-search;
`;

/** What marks a complete answer in each mode. */
const DONE: Record<DhclientMode, RegExp> = {
  v4: /^new_ip_address=/m,
  v6: /^new_ip6_address=/m,
  'v6-stateless': /^new_dhcp6_name_servers=|^new_dhcp6_domain_search=/m,
};

/**
 * Runs the real ISC dhclient in a namespace and returns what the server handed out. The
 * hook script only records dhclient's variables: Debian's /sbin/dhclient-script would
 * rewrite the machine's /etc/resolv.conf (a namespace does not isolate files), so nothing
 * is applied to the workload; callers assert on the lease itself.
 */
export async function runDhclient(netns: string, ifname: string, mode: DhclientMode, timeoutSeconds = 15): Promise<DhclientResult> {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(netns) || !/^[A-Za-z0-9_.-]{1,15}$/.test(ifname)) throw new Error(`invalid namespace or interface: ${netns} ${ifname}`);
  const dir = await mkdtemp(path.join(tmpdir(), 'ncp-dhclient-'));
  const dump = path.join(dir, 'lease.env');
  try {
    await writeFile(path.join(dir, 'dhclient.conf'), `${CONF}timeout ${timeoutSeconds};\nretry 1;\n`);
    await writeFile(path.join(dir, 'hook.sh'), `#!/bin/sh\n{ echo "reason=$reason"; env | grep -E '^new_'; echo; } >> '${dump}'\nexit 0\n`, { mode: 0o755 });
    const flags = mode === 'v4' ? ['-4'] : mode === 'v6' ? ['-6'] : ['-6', '-S'];
    const args = [
      'netns',
      'exec',
      netns,
      'dhclient',
      ...flags,
      '-d',
      '-1',
      '-v',
      '-cf',
      path.join(dir, 'dhclient.conf'),
      '-lf',
      path.join(dir, 'leases'),
      '-pf',
      path.join(dir, 'pid'),
      '-sf',
      path.join(dir, 'hook.sh'),
      ifname,
    ];
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (c: Buffer) => (log += c.toString()));
    child.stderr.on('data', (c: Buffer) => (log += c.toString()));
    let exited = false;
    const exit = new Promise<void>((resolve) =>
      child.once('exit', () => {
        exited = true;
        resolve();
      }),
    );
    const deadline = Date.now() + (timeoutSeconds + 5) * 1000;
    let text = '';
    while (!exited && Date.now() < deadline) {
      text = await readFile(dump, 'utf8').catch(() => '');
      if (DONE[mode].test(text)) break;
      await sleep(100);
    }
    if (!exited) child.kill('SIGKILL');
    await exit;
    text = await readFile(dump, 'utf8').catch(() => '');
    const block = text.split('\n\n').find((b) => DONE[mode].test(b));
    if (block === undefined) return { lease: null, log };
    const lease = Object.fromEntries(
      block
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    return { lease, log };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
