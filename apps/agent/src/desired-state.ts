import { DESIRED_KINDS, parseDesiredKey } from '@ncp/contracts';
import {
  L2NetworkIntentSchema,
  L2PortIntentSchema,
  RouterIntentSchema,
  type L2HostIntent,
  type L2NetworkIntent,
  type L2PortIntent,
  type RouterIntent,
} from '@ncp/dataplane';

/**
 * This host's desired state as the KV bucket holds it (key -> JSON), turned into the
 * intent the drivers take. Entries that do not parse are reported, not applied.
 */
export class DesiredState {
  private readonly entries = new Map<string, string>();

  put(key: string, value: string): void {
    this.entries.set(key, value);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The routers this host runs (every one of them: namespaces of others are swept). */
  routerIntents(): { intents: RouterIntent[]; invalid: { key: string; error: string }[] } {
    const intents: RouterIntent[] = [];
    const invalid: { key: string; error: string }[] = [];
    for (const [key, value] of this.entries) {
      if (parseDesiredKey(key)?.kind !== DESIRED_KINDS.router) continue;
      try {
        intents.push(RouterIntentSchema.parse(JSON.parse(value)));
      } catch (e) {
        invalid.push({ key, error: e instanceof Error ? e.message : String(e) });
      }
    }
    return { intents: intents.sort((a, b) => a.id.localeCompare(b.id)), invalid };
  }

  l2Intent(): { intent: L2HostIntent; invalid: { key: string; error: string }[] } {
    const networks: L2NetworkIntent[] = [];
    const ports: L2PortIntent[] = [];
    const invalid: { key: string; error: string }[] = [];
    for (const [key, value] of this.entries) {
      const kind = parseDesiredKey(key)?.kind;
      try {
        if (kind === DESIRED_KINDS.l2Network) networks.push(L2NetworkIntentSchema.parse(JSON.parse(value)));
        else if (kind === DESIRED_KINDS.l2Port) ports.push(L2PortIntentSchema.parse(JSON.parse(value)));
      } catch (e) {
        invalid.push({ key, error: e instanceof Error ? e.message : String(e) });
      }
    }
    const byId = <T extends { id: string }>(a: T, b: T) => a.id.localeCompare(b.id);
    return { intent: { networks: networks.sort(byId), ports: ports.sort(byId) }, invalid };
  }
}
