import path from 'node:path';
import { assertStateDir } from '../daemon/state-dir.js';
import { assertId } from '../names.js';

/** Where one DHCP server keeps its files (the names Neutron uses, plus our own bookkeeping). */
export interface DhcpServerFiles {
  readonly dir: string;
  readonly pidFile: string;
  readonly leaseFile: string;
  readonly hostsFile: string;
  readonly optsFile: string;
  readonly logFile: string;
  /** the argv dnsmasq was last started with (JSON), to see whether it must be restarted */
  readonly cmdlineFile: string;
  /** the namespace the server ran in, so the sweep can delete it after the intent is gone */
  readonly namespaceFile: string;
}

export function dhcpServerFiles(dir: string): DhcpServerFiles {
  return {
    dir,
    pidFile: path.posix.join(dir, 'pid'),
    leaseFile: path.posix.join(dir, 'leases'),
    hostsFile: path.posix.join(dir, 'host'),
    optsFile: path.posix.join(dir, 'opts'),
    logFile: path.posix.join(dir, 'dnsmasq.log'),
    cmdlineFile: path.posix.join(dir, 'cmdline.json'),
    namespaceFile: path.posix.join(dir, 'namespace'),
  };
}

/** `<stateDir>/dhcp/<network id>` */
export function dhcpServerDir(stateDir: string, networkId: string): string {
  return path.posix.join(assertStateDir(stateDir), 'dhcp', assertId(networkId));
}

export interface RaFiles {
  readonly dir: string;
  readonly confFile: string;
  readonly pidFile: string;
  readonly logFile: string;
  readonly cmdlineFile: string;
}

export function raFiles(dir: string): RaFiles {
  return {
    dir,
    confFile: path.posix.join(dir, 'radvd.conf'),
    pidFile: path.posix.join(dir, 'radvd.pid'),
    logFile: path.posix.join(dir, 'radvd.log'),
    cmdlineFile: path.posix.join(dir, 'cmdline.json'),
  };
}

/** `<stateDir>/ra/<router id>` */
export function raDir(stateDir: string, routerId: string): string {
  return path.posix.join(assertStateDir(stateDir), 'ra', assertId(routerId));
}
