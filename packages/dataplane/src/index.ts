export { DataplaneError, type DataplaneErrorCode } from './errors.js';
export {
  ExecFileRunner,
  RecordingRunner,
  execFileRunner,
  isReadOnlyCommand,
  type CommandResult,
  type CommandRunner,
  type ExecFileRunnerOptions,
  type RunOptions,
} from './runner.js';
export { COMMAND_HELPER_SCRIPT, HelperRunner } from './command-helper.js';
export { bridgeArgv, ipArgv } from './argv.js';
export {
  assertId,
  assertIp,
  assertLinkName,
  assertMac,
  assertNetnsName,
  bridgeName,
  ownerAlias,
  parseOwnerAlias,
  tapName,
  vlanName,
  vxlanName,
  type Owner,
  type OwnerTag,
} from './names.js';
export { L2HostConfigSchema, type L2HostConfig } from './l2/model.js';
export {
  EMPTY_OBSERVED,
  parseFdbByDevice,
  parseFdbJson,
  parseIpLinkJson,
  parseNetnsJson,
  type ObservedFdbEntry,
  type ObservedL2,
  type ObservedLink,
  type ObservedVxlan,
} from './l2/observed.js';
export { observeL2, type KnownL2 } from './l2/observe.js';
export {
  VXLAN_UDP_PORT,
  networkItem,
  planL2,
  portItem,
  type ItemError,
  type L2Item,
  type L2Plan,
  type L2PlanWithSettled,
  type SettledPort,
  type Step,
} from './l2/plan.js';
export { formatSteps } from './format.js';
export { rememberValid } from './intent-groups.js';
export { NodeDaemonHost, type DaemonHost, type DaemonSignal } from './daemon/host.js';
export { DEFAULT_DAEMON_TIMINGS, METADATA_PROXY_SCRIPT, isOurDaemon, type DaemonProgram, type DaemonTimings } from './daemon/daemon.js';
export { assertStateDir } from './daemon/state-dir.js';
export { applyL2, type ItemResult } from './l2/apply.js';
export { L2Reconciler, reconcileL2, type L2ItemResult } from './l2/reconcile.js';
export { resolveL3Options, type L3Options, type ResolvedL3Options } from './l3/model.js';
// everything observed.ts has: the read-back model and its parsers
export * from './l3/observed.js';
export { observeL3 } from './l3/observe.js';
export {
  renderRouterNat,
  renderRouterRuleset,
  replaceTableScript,
  routerNat,
  type FloatingNat,
  type RenderedRuleset,
  type RouterNat,
  type SourceNat,
} from './l3/nft.js';
export {
  ROUTE_PROTOCOL,
  fipItem,
  haPrimaryVip,
  planL3,
  routerItem,
  type L3Item,
  type L3ItemError,
  type L3Plan,
  type L3Step,
  type StepTolerance,
} from './l3/plan.js';
export { applyL3, type L3ApplyResult } from './l3/apply.js';
export { L3Reconciler, reconcileL3, type L3ItemResult } from './l3/reconcile.js';
export {
  DNSMASQ_LEASE_MAX,
  dnsmasqArgv,
  hostsReloadSafe,
  leasesBackedByHosts,
  renderDhcpHosts,
  renderDhcpOpts,
  type DhcpPortError,
  type RenderedDhcpFile,
} from './dhcp/dnsmasq.js';
export { radvdArgv, renderRadvdConf } from './dhcp/radvd.js';
export { dhcpServerDir, dhcpServerFiles, raDir, raFiles, type DhcpServerFiles, type RaFiles } from './dhcp/paths.js';
export { acceptRaKey, daemonAction, planRaLinks, planServerLinks, type DaemonAction, type DhcpLinkStep } from './dhcp/plan.js';
export { reconcileDhcp, type DhcpItem, type DhcpItemResult, type DhcpOptions } from './dhcp/reconcile.js';
export { BGP_EXPORT_FILTER, BGP_STATIC_PROTOCOL, bgpPeerProtocol } from './bgp/model.js';
export { birdArgv, birdcArgv, checkBgpSpeaker, renderBirdConf } from './bgp/bird.js';
export { bgpSpeakerDir, bgpSpeakerFiles, type BgpSpeakerFiles } from './bgp/paths.js';
export {
  MAX_LEARNED_REPORTED,
  parseBirdProtocols,
  parseBirdRoutes,
  type BgpLearnedRoute,
  type BgpSessionState,
  type BirdProtocolState,
  type BirdRoute,
} from './bgp/status.js';
export { isBgpReadOnlyCommand, learnedRoutes, reconcileBgp, type BgpItem, type BgpItemResult, type BgpOptions } from './bgp/reconcile.js';
export { METADATA_IPV4, METADATA_IPV6, MetadataProxyConfigSchema, type MetadataProxyConfig } from './metadata/model.js';
export { metadataForwardSocket, metadataProxyDir, metadataProxyFiles, type MetadataProxyFiles } from './metadata/paths.js';
export { relayHttp, replyText, withoutHopByHop, type RelayTarget } from './metadata/relay.js';
export {
  PROXY_IDENTITY_HEADERS,
  canonicalAddress,
  forwardedHeaders,
  identifyCaller,
  isLinkLocalIpv6,
  isMetadataAddress,
  parseNeighbourMacs,
  type CallerIdentity,
} from './metadata/proxy.js';
export {
  isMetadataReadOnlyCommand,
  planMetadataAddresses,
  proxyArgv,
  reconcileMetadata,
  type MetadataItem,
  type MetadataItemResult,
  type MetadataOptions,
  type MetadataStep,
} from './metadata/reconcile.js';
export { forgetSettledIn, type SettledDaemon, type SettledDaemons } from './daemon/settled.js';
export {
  SG_TABLE,
  assignZones,
  renderFilterTable,
  renderFullReplace,
  renderSecurityGroups,
  renderSpoofTable,
  SgRenderCache,
  securityGroupTables,
  type SgTables,
  type ZoneMap,
} from './secgroups/render.js';
export { renderSecurityGroupsUpdate } from './secgroups/update.js';
export { SecurityGroupsApplier, reconcileSecurityGroups, type SgOptions, type SgResult } from './secgroups/reconcile.js';
export {
  ADVERT_INTERVAL_SECONDS,
  haStateOf,
  keepalivedArgv,
  keepalivedRouter,
  parseLinkDetails,
  planHaLinks,
  renderKeepalivedConf,
  type HaLinkStep,
  type HaState,
  type KeepalivedAddress,
  type KeepalivedRoute,
  type KeepalivedRouter,
  type LinkDetails,
} from './keepalived/conf.js';
export { keepalivedDir, keepalivedFiles, type KeepalivedFiles } from './keepalived/paths.js';
export { convergeKeepalived, keepalivedContext, sweepKeepalived, type KeepalivedContext, type KeepalivedOptions } from './keepalived/reconcile.js';
