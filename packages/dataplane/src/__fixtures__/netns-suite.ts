import { Topology, requireCommands, requireNetns } from '@ncp/testing';
import { describe } from 'vitest';

/**
 * How each tool a data-plane spec needs is found: a command that exits 0 when it is installed.
 * radvd has no option that exits 0 without a config (even --version exits 1), and birdc none
 * that does without a running BIRD (it knows no --version): `which` finds them.
 */
const PROBES = {
  arping: ['arping', '-V'],
  bird: ['bird', '--version'],
  birdc: ['which', 'birdc'],
  conntrack: ['conntrack', '--version'],
  curl: ['curl', '--version'],
  dhclient: ['dhclient', '--version'],
  dnsmasq: ['dnsmasq', '--version'],
  nft: ['nft', '--version'],
  keepalived: ['keepalived', '--version'],
  ping: ['ping', '-V'],
  radvd: ['which', 'radvd'],
  rdisc6: ['rdisc6', '-V'],
} as const satisfies Record<string, readonly string[]>;

export type Tool = keyof typeof PROBES;

/**
 * A describe block for a driver on real namespaces: it runs as root with a working `ip netns`
 * and the given tools, and skips elsewhere (with CI=true a missing prerequisite fails the file
 * instead). `body` gets the Topology its namespaces are made in.
 */
export function describeOnNamespaces(title: string, tools: readonly Tool[], body: (topo: Topology) => void): void {
  const canRun = requireNetns() && requireCommands(tools.map((tool) => PROBES[tool]));
  describe.skipIf(!canRun)(title, () => body(new Topology()));
}
