export { DataplaneError, type DataplaneErrorCode } from './errors.js';
export { ExecFileRunner, RecordingRunner, execFileRunner, isReadOnlyCommand, type CommandResult, type CommandRunner, type ExecFileRunnerOptions } from './runner.js';
export { bridgeArgv, ipArgv } from './argv.js';
export {
  assertId,
  assertIp,
  assertLinkName,
  assertMac,
  assertNetnsName,
  bridgeName,
  isValidId,
  isValidLinkName,
  isValidNetnsName,
  ownerAlias,
  parseOwnerAlias,
  tapName,
  vlanName,
  vxlanName,
  type Owner,
  type OwnerTag,
} from './names.js';
export {
  L2HostConfigSchema,
  L2HostIntentSchema,
  L2NetworkIntentSchema,
  L2PortIntentSchema,
  type L2HostConfig,
  type L2HostIntent,
  type L2NetworkIntent,
  type L2PortIntent,
} from './l2/model.js';
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
export { observeL2 } from './l2/observe.js';
export { VXLAN_UDP_PORT, networkItem, planL2, portItem, type ItemError, type L2Item, type L2Plan, type Step } from './l2/plan.js';
export { formatSteps } from './l2/format.js';
export { applyL2, type ItemResult } from './l2/apply.js';
export { reconcileL2, type L2ItemResult } from './l2/reconcile.js';
