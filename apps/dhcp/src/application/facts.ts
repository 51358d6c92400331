import { type IpamNetwork, type IpamPort, type IpamSubnet } from '../generated/prisma/client';
import { type NetworkFacts, type PortFacts, type SubnetFacts } from '../domain/dhcp-intent';

/** Rows of DHCP's IPAM copy as the pure intent functions take them. */
export const networkFacts = (n: IpamNetwork): NetworkFacts => n;

export const subnetFacts = (s: IpamSubnet): SubnetFacts => ({ ...s, hostRoutes: s.hostRoutes as { destination: string; nexthop: string }[] });

export const portFacts = (p: IpamPort): PortFacts => ({
  ...p,
  bindingProfile: p.bindingProfile as Record<string, unknown>,
  fixedIps: p.fixedIps as { subnetId: string; ipAddress: string }[],
  extraDhcpOpts: p.extraDhcpOpts as { optName: string; optValue: string; ipVersion: number }[],
});
