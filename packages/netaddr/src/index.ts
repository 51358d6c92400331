export { NetaddrError, type NetaddrErrorCode } from './errors.js';
export { addressBits, formatIp, isIpVersion, isValidIp, makeIp, maxAddress, netmaskOf, normalizeIp, parseIp, type IpAddress, type IpVersion } from './ip.js';
export {
  cidrContainsCidr,
  cidrContainsIp,
  cidrContaining,
  cidrFirst,
  cidrLast,
  cidrSize,
  cidrToRange,
  cidrsOverlap,
  formatCidr,
  isValidCidr,
  makeCidr,
  normalizeCidr,
  parseCidr,
  type Cidr,
  type ParseCidrOptions,
} from './cidr.js';
export {
  formatRange,
  makeRange,
  mergeRanges,
  parseRange,
  rangeContains,
  rangeContainsRange,
  rangeSize,
  rangeToPool,
  rangesOverlap,
  subtractRanges,
  type IpRange,
} from './range.js';
export {
  defaultAllocationPools,
  defaultGateway,
  usableRange,
  validateAllocationPools,
  validateFixedIp,
  validateGateway,
  validateSubnet,
  type FixedIpCheckOptions,
  type GatewayCheckOptions,
  type SubnetDefinition,
  type SubnetProblem,
  type SubnetProblemCode,
} from './subnet.js';
export { eui64Address, eui64InterfaceId, formatMac, isUnicastMac, isValidMac, normalizeMac, parseMac, type MacOctets } from './mac.js';
export { allocatePrefix, checkSpecificPrefix, type PrefixAllocationRequest, type SpecificPrefixCheck } from './prefix-allocation.js';
export { mergeCidrs, rangeToCidrs } from './cidr-merge.js';
export { AddressAllocator, type AddressAllocatorJson } from './address-allocator.js';
