import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { defineEvent, type EventsOf } from '../event-registry';

/**
 * Metadata events: the instances behind ports, as a compute layer registers them (there is
 * no Nova here). An instance is linked to its ports by their `device_id`. One aggregate per
 * instance: `ev.meta.instance.<instance id>`.
 */
export const META_CONTEXT = 'meta';
export const META_AGGREGATES = { instance: 'instance' } as const;

const text = z.string();
export const instancePublicKey = z.object({ name: text, type: text, data: text });

export const instanceAttributes = {
  name: text,
  hostname: text,
  availabilityZone: text,
  publicKeys: z.array(instancePublicKey),
  /** base64, as Nova takes it; null when the instance has none */
  userData: text.nullable(),
  /** Nova's `meta`: string keys and values the instance reads back */
  metadata: z.record(text, text),
  /** served as vendor_data.json (and vendor_data2.json's `static`) */
  vendorData: z.record(text, z.unknown()),
};

export const InstanceRegistered = defineEvent('InstanceRegistered', z.object({ projectId: text, ...instanceAttributes }));
export const InstanceUpdated = defineEvent('InstanceUpdated', z.object({ changes: z.object(instanceAttributes).partial() }));
export const InstanceDeleted = defineEvent('InstanceDeleted', z.object({}));

export const metaEventDefinitions = [InstanceRegistered, InstanceUpdated, InstanceDeleted] as const;

export type MetaEvent = EventsOf<typeof metaEventDefinitions>;

/**
 * The identity headers a metadata proxy sets on what it forwards (any the instance sent are
 * replaced), and the signature that proves a proxy set them: HMAC-SHA256 of the instance id
 * with the shared secret, hex (Nova's X-Instance-ID-Signature).
 */
export const METADATA_HEADERS = {
  instanceId: 'x-instance-id',
  signature: 'x-instance-id-signature',
  projectId: 'x-tenant-id',
  portId: 'x-ncp-port-id',
} as const;

export function metadataSignature(secret: string, instanceId: string): string {
  return createHmac('sha256', secret).update(instanceId).digest('hex');
}
