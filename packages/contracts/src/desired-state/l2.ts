import { isValidIp, isValidMac } from '@ncp/netaddr';
import { z } from 'zod';
import { isValidId, isValidLinkName, isValidNetnsName } from './names';

/** Desired L2 state of one network on this host. */
export interface L2NetworkIntent {
  /** network uuid */
  id: string;
  mtu: number;
  segment: {
    networkType: 'vxlan' | 'vlan' | 'flat' | 'local';
    segmentationId: number | null;
    physicalNetwork: string | null;
  };
  /** vxlan: underlay (tunnel) IPv4/IPv6 addresses of the OTHER hosts with this network */
  floodList: string[];
  /** vxlan: MACs of ports on other hosts (learning is off, so every remote MAC is static) */
  remoteMacs: { mac: string; tunnelIp: string }[];
}

/** Desired state of one port bound to this host. */
export interface L2PortIntent {
  /** port uuid */
  id: string;
  networkId: string;
  mac: string;
  adminStateUp: boolean;
  /**
   * The port is filtered (port security, not a trusted `network:` port): until its security
   * groups entry reaches the agent, the port is held closed rather than plugged open.
   */
  filtered?: boolean;
  /** where the NIC goes; the namespace is created if absent (and never deleted by us) */
  workload: { netns: string; ifname: string };
}

export interface L2HostIntent {
  networks: L2NetworkIntent[];
  ports: L2PortIntent[];
}

const Id = z.string().refine(isValidId, 'must be a UUID');
const Ip = z.string().refine(isValidIp, 'must be an IPv4 or IPv6 address');
const Mac = z.string().refine(isValidMac, 'must be a MAC address (six hex pairs)');
const LinkName = z.string().refine(isValidLinkName, 'must be an interface name (1-15 of A-Z a-z 0-9 _ . -)');
const NetnsName = z.string().refine(isValidNetnsName, 'must be a namespace name (1-64 of A-Z a-z 0-9 _ . -)');

const VNI_MAX = 0xffffff;

export const L2NetworkIntentSchema: z.ZodType<L2NetworkIntent> = z
  .object({
    id: Id,
    // 68 is the IPv4 minimum; IPv6 needs 1280 but a v4-only network may go lower.
    mtu: z.number().int().min(68).max(65535),
    segment: z.object({
      networkType: z.enum(['vxlan', 'vlan', 'flat', 'local']),
      segmentationId: z.number().int().nullable(),
      physicalNetwork: z.string().min(1).nullable(),
    }),
    floodList: z.array(Ip),
    remoteMacs: z.array(z.object({ mac: Mac, tunnelIp: Ip })),
  })
  .superRefine((net, ctx) => {
    const { networkType, segmentationId, physicalNetwork } = net.segment;
    const issue = (message: string): void => {
      ctx.addIssue({ code: 'custom', path: ['segment'], message });
    };
    if (networkType === 'vxlan' && (segmentationId === null || segmentationId < 1 || segmentationId > VNI_MAX)) {
      issue(`a vxlan network needs a VNI 1-${VNI_MAX}`);
    }
    if (networkType === 'vlan' && (segmentationId === null || segmentationId < 1 || segmentationId > 4094)) {
      issue('a vlan network needs a VLAN id 1-4094');
    }
    if ((networkType === 'vlan' || networkType === 'flat') && physicalNetwork === null) {
      issue(`a ${networkType} network needs a physical network`);
    }
  });

export const L2PortIntentSchema: z.ZodType<L2PortIntent> = z.object({
  id: Id,
  networkId: Id,
  mac: Mac,
  adminStateUp: z.boolean(),
  filtered: z.boolean().optional(),
  workload: z.object({ netns: NetnsName, ifname: LinkName }),
});

/**
 * The whole host intent. Items are checked one by one by the planner as well, so one bad
 * item becomes an error for that item; parse with this schema where a bad document should be
 * refused as a whole.
 */
export const L2HostIntentSchema: z.ZodType<L2HostIntent> = z.object({
  networks: z.array(L2NetworkIntentSchema),
  ports: z.array(L2PortIntentSchema),
});
