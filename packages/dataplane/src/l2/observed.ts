import { parseToolJson } from '../json-output.js';
import { z } from 'zod';

/** One link as read back from `ip -j -d link show`, reduced to what the planner compares. */
export interface ObservedLink {
  readonly name: string;
  /** IFLA_IFALIAS (`ifalias` in ip's JSON); ours carry `ncp:<tag>:<id>` */
  readonly alias: string | null;
  /** linkinfo.info_kind: bridge, vxlan, vlan, veth...; null for plain devices (and without -d) */
  readonly kind: string | null;
  /** the bridge this link is enslaved to */
  readonly master: string | null;
  /** the lower device of a vlan (JSON `link`), when it is in the same namespace */
  readonly parent: string | null;
  readonly mtu: number;
  /** administratively up (the UP flag), not operstate: a bridge without carrier is still "up" */
  readonly up: boolean;
  readonly address: string | null;
  readonly vxlan: ObservedVxlan | null;
  readonly vlanId: number | null;
}

export interface ObservedVxlan {
  readonly vni: number;
  /** `local` for IPv4, `local6` for IPv6 in ip's JSON; canonical text */
  readonly local: string | null;
  readonly port: number | null;
  readonly learning: boolean;
}

/** A VXLAN forwarding entry the device itself holds (`self`), with its remote. */
export interface ObservedFdbEntry {
  readonly mac: string;
  readonly dst: string;
}

/** What the planner needs to know about the kernel. Plain data so tests can build it by hand. */
export interface ObservedL2 {
  /** every link of the host namespace */
  readonly hostLinks: readonly ObservedLink[];
  /** `self` fdb entries with a remote, per VXLAN device name (ours only) */
  readonly fdb: Readonly<Record<string, readonly ObservedFdbEntry[]>>;
  /** `ip netns list` */
  readonly netns: readonly string[];
  /** links of each workload namespace that exists and that a port wants */
  readonly workloadLinks: Readonly<Record<string, readonly ObservedLink[]>>;
}

export const EMPTY_OBSERVED: ObservedL2 = { hostLinks: [], fdb: {}, netns: [], workloadLinks: {} };

// Only the fields we use; zod drops the rest (ip prints dozens).
const IpLinkJson = z.array(
  z.object({
    ifname: z.string(),
    ifalias: z.string().optional(),
    flags: z.array(z.string()).optional(),
    mtu: z.number(),
    master: z.string().optional(),
    link: z.string().nullable().optional(),
    address: z.string().optional(),
    linkinfo: z
      .object({
        info_kind: z.string().optional(),
        info_data: z.record(z.string(), z.unknown()).optional(),
      })
      .optional(),
  }),
);

const VxlanData = z.object({
  id: z.number(),
  local: z.string().optional(),
  local6: z.string().optional(),
  port: z.number().optional(),
  learning: z.boolean().optional(),
});

const VlanData = z.object({ id: z.number() });

const FdbJson = z.array(
  z.object({
    mac: z.string(),
    ifname: z.string().optional(),
    dst: z.string().optional(),
    master: z.string().optional(),
  }),
);

/** Parses `ip [-n NS] -j [-d] link show`. */
export function parseIpLinkJson(text: string): ObservedLink[] {
  return parseToolJson(IpLinkJson, text, 'ip -j link show').map((l) => {
    const kind = l.linkinfo?.info_kind ?? null;
    const data = l.linkinfo?.info_data;
    const vx = kind === 'vxlan' ? VxlanData.safeParse(data) : null;
    const vlan = kind === 'vlan' ? VlanData.safeParse(data) : null;
    return {
      name: l.ifname,
      alias: l.ifalias ?? null,
      kind,
      master: l.master ?? null,
      parent: l.link ?? null,
      mtu: l.mtu,
      up: (l.flags ?? []).includes('UP'),
      address: l.address?.toLowerCase() ?? null,
      vxlan: vx?.success
        ? {
            vni: vx.data.id,
            local: vx.data.local ?? vx.data.local6 ?? null,
            port: vx.data.port ?? null,
            learning: vx.data.learning ?? true,
          }
        : null,
      vlanId: vlan?.success ? vlan.data.id : null,
    };
  });
}

/**
 * Parses `bridge [-n NS] -j fdb show dev VX`. Keeps only the device's own entries with a remote
 * (`dst`): the all-zero flood entries and the static per-MAC ones. Entries with `master` are the
 * bridge's (its own address, learned MACs) and are not ours to manage.
 */
export function parseFdbJson(text: string): ObservedFdbEntry[] {
  return parseToolJson(FdbJson, text, 'bridge -j fdb show').flatMap((e) =>
    e.dst !== undefined && e.master === undefined ? [{ mac: e.mac.toLowerCase(), dst: e.dst }] : [],
  );
}

/**
 * Parses `bridge -j fdb show` of a whole namespace into the remote entries (with `dst`) of
 * each device; one command instead of one per VXLAN device.
 */
export function parseFdbByDevice(text: string): Record<string, ObservedFdbEntry[]> {
  const byDevice: Record<string, ObservedFdbEntry[]> = {};
  for (const e of parseToolJson(FdbJson, text, 'bridge -j fdb show')) {
    if (e.dst === undefined || e.master !== undefined || e.ifname === undefined) continue;
    (byDevice[e.ifname] ??= []).push({ mac: e.mac.toLowerCase(), dst: e.dst });
  }
  return byDevice;
}

/** Parses `ip -j netns list`. */
export function parseNetnsJson(text: string): string[] {
  return parseToolJson(z.array(z.object({ name: z.string() })), text, 'ip -j netns list').map((n) => n.name);
}
