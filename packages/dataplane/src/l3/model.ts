import { ROUTER_NAMESPACE_PREFIX, isValidNetnsName } from '@ncp/contracts';
import { DataplaneError } from '../errors.js';

/** Static options of the L3 driver on a host. */
export interface L3Options {
  /**
   * Router namespaces are `<prefix><first 8 hex of the router id>`, and every namespace of
   * exactly that form that no intent wants is deleted (mark and sweep). Default `qrouter-`;
   * tests use their own prefix so they never sweep each other's (or a real agent's) routers.
   */
  readonly namespacePrefix?: string;
  /**
   * For several agents that share one machine's namespaces (the test stacks run one agent per
   * "host" namespace, and namespace names are global): each router namespace is then marked
   * as this agent's (`ncp:l3:<owner>` as the alias of its `lo`), and only unwanted namespaces
   * carrying this agent's mark are swept. Unset: every unwanted namespace of the name form is
   * swept, which is right on a real host with one agent.
   */
  readonly owner?: string;
}

/** {@link L3Options} checked, with the defaults applied. */
export interface ResolvedL3Options {
  readonly namespacePrefix: string;
  /** what observe expects on the `lo` alias of our namespaces, or null without an owner */
  readonly ownerMark: string | null;
  /** matches exactly the namespace names of our routers: `<prefix><8 hex>` */
  readonly namespacePattern: RegExp;
}

const OWNER = /^[A-Za-z0-9_.:-]{1,128}$/;

/** @throws DataplaneError `DATAPLANE.INVALID_CONFIG` */
export function resolveL3Options(options: L3Options = {}): ResolvedL3Options {
  const prefix = options.namespacePrefix ?? ROUTER_NAMESPACE_PREFIX;
  if (typeof prefix !== 'string' || prefix === '' || !isValidNetnsName(`${prefix}00000000`)) {
    throw new DataplaneError('DATAPLANE.INVALID_CONFIG', `invalid L3 options: namespacePrefix '${String(prefix)}' does not make valid namespace names`);
  }
  const owner = options.owner;
  if (owner !== undefined && (typeof owner !== 'string' || !OWNER.test(owner))) {
    throw new DataplaneError('DATAPLANE.INVALID_CONFIG', `invalid L3 options: owner '${String(owner)}' must be 1-128 of A-Z a-z 0-9 _ . : -`);
  }
  return {
    namespacePrefix: prefix,
    ownerMark: owner === undefined ? null : `ncp:l3:${owner}`,
    namespacePattern: new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[0-9a-f]{8}$`),
  };
}
