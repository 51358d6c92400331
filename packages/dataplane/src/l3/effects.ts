import { isValidIp, normalizeIp, parseIp } from '@ncp/netaddr';
import { type ObservedAddress, type ObservedRouterNs, type ObservedRuleset } from './observed.js';

/**
 * What a step does to a router namespace as observe reads it, where that is sure: an IPv4 /32
 * added to or removed from a link (no route comes or goes with it, and IPv4 has no duplicate
 * address detection), our NAT table replaced or deleted, or nothing observe reads (`none`:
 * conntrack, a gratuitous ARP). None of them concerns what the drivers after L3 build on (the
 * namespace, its links, their link-local addresses). The L3 reconciler keeps a namespace's
 * read-back through steps that all have one instead of reading the namespace again: a floating
 * IP's pass runs its commands and reads nothing.
 */
export type L3StepEffect =
  | { readonly kind: 'address'; readonly link: string; readonly cidr: string; readonly add: boolean }
  | { readonly kind: 'ruleset'; readonly ruleset: ObservedRuleset | null }
  | { readonly kind: 'none' };

export const NO_EFFECT: L3StepEffect = { kind: 'none' };

/** Adding or removing `cidr` on `link`, where its effect is sure (an IPv4 /32); else undefined. */
export function addressEffect(link: string, cidr: string, add: boolean): L3StepEffect | undefined {
  const [ip, length] = cidr.split('/');
  if (length !== '32' || ip === undefined || !isValidIp(ip) || parseIp(ip).version !== 4) return undefined;
  return { kind: 'address', link, cidr: `${normalizeIp(ip)}/32`, add };
}

/**
 * The namespace after steps run in order, each with its effect; undefined when one has none,
 * or concerns a link that is not there (then only a read can say).
 */
export function afterEffects(state: ObservedRouterNs, effects: readonly (L3StepEffect | undefined)[]): ObservedRouterNs | undefined {
  let { links, ruleset } = state;
  for (const effect of effects) {
    if (effect === undefined) return undefined;
    if (effect.kind === 'ruleset') ruleset = effect.ruleset;
    if (effect.kind !== 'address') continue;
    const { link, cidr, add } = effect;
    if (!links.some((l) => l.name === link)) return undefined;
    const added: ObservedAddress = { family: 4, cidr, scope: 'global', dadFailed: false, deprecated: false };
    links = links.map((l) => {
      if (l.name !== link) return l;
      const others = l.addresses.filter((a) => a.cidr !== cidr);
      return { ...l, addresses: add ? [...others, added] : others };
    });
  }
  return { ...state, links, ruleset };
}
