import { isValidCidr, isValidIp, isValidMac } from '@ncp/netaddr';
import { z } from 'zod';
import { isValidId } from './names';

/** Neutron trusts its own service ports (router, DHCP, floating IP: device owners `network:*`) and never filters them. */
export const isTrustedOwner = (deviceOwner: string): boolean => deviceOwner.startsWith('network:');

/** Whether the data plane filters a port (wherever it is bound): port security on, and not a trusted port. */
export const isFilteredPort = (p: { readonly portSecurityEnabled: boolean; readonly deviceOwner: string }): boolean =>
  p.portSecurityEnabled && !isTrustedOwner(p.deviceOwner);

/** One rule of a security group, as the data plane needs it (the protocol as its number). */
export interface SgRuleIntent {
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** IP protocol number; null for any */
  protocol: number | null;
  /** TCP/UDP/SCTP/DCCP/UDP-Lite: the port range; ICMP: the type (min) and code (max) */
  portRangeMin: number | null;
  portRangeMax: number | null;
  remoteIpPrefix: string | null;
  remoteGroupId: string | null;
}

export interface SgGroupIntent {
  id: string;
  stateful: boolean;
  rules: SgRuleIntent[];
}

/** A workload port this host plugs, with what it may send and which groups filter it. */
export interface SgPortIntent {
  id: string;
  networkId: string;
  mac: string;
  fixedIps: string[];
  /** an address (or CIDR) the port may also use, with the MAC it may use it from */
  allowedAddressPairs: { ipAddress: string; macAddress: string }[];
  /** false: no filtering and no anti-spoofing at all */
  portSecurityEnabled: boolean;
  securityGroupIds: string[];
}

/** The addresses of a group's members in the whole cloud, for rules that name it as their remote group. */
export interface SgMembersIntent {
  groupId: string;
  addresses: string[];
}

export interface SgHostIntent {
  ports: SgPortIntent[];
  groups: SgGroupIntent[];
  members: SgMembersIntent[];
}

const Id = z.string().refine(isValidId, 'must be a UUID');
const Mac = z.string().refine(isValidMac, 'must be a MAC address (six hex pairs)');
const Ip = z.string().refine(isValidIp, 'must be an IPv4 or IPv6 address');
const IpOrCidr = z.string().refine((v) => isValidIp(v) || isValidCidr(v), 'must be an IP address or a CIDR');

export const SgRuleIntentSchema: z.ZodType<SgRuleIntent> = z.object({
  direction: z.enum(['ingress', 'egress']),
  ethertype: z.enum(['IPv4', 'IPv6']),
  protocol: z.number().int().min(0).max(255).nullable(),
  portRangeMin: z.number().int().min(0).max(65535).nullable(),
  portRangeMax: z.number().int().min(0).max(65535).nullable(),
  remoteIpPrefix: z
    .string()
    .refine((v) => isValidCidr(v), 'must be a CIDR')
    .nullable(),
  remoteGroupId: Id.nullable(),
});

export const SgPortIntentSchema: z.ZodType<SgPortIntent> = z.object({
  id: Id,
  networkId: Id,
  mac: Mac,
  fixedIps: z.array(Ip),
  allowedAddressPairs: z.array(z.object({ ipAddress: IpOrCidr, macAddress: Mac })),
  portSecurityEnabled: z.boolean(),
  securityGroupIds: z.array(Id),
});

export const SgGroupIntentSchema: z.ZodType<SgGroupIntent> = z.object({ id: Id, stateful: z.boolean(), rules: z.array(SgRuleIntentSchema) });

export const SgMembersIntentSchema: z.ZodType<SgMembersIntent> = z.object({ groupId: Id, addresses: z.array(IpOrCidr) });

export const SgHostIntentSchema: z.ZodType<SgHostIntent> = z.object({
  ports: z.array(SgPortIntentSchema),
  groups: z.array(SgGroupIntentSchema),
  members: z.array(SgMembersIntentSchema),
});
