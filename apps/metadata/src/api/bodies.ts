import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type CommandMetadata } from '@ncp/contracts';
import { boundedJsonObject, defined, jsonBoundsProblem, neutronString, ownerAttributes, parseBody, parseUpdateBody, projectOf } from '@ncp/nest-common';
import { type InstanceAttributes } from '../domain/instance.decider';

/** Nova's limit on user data (decoded). */
const USER_DATA_MAX_BYTES = 65535;
/**
 * Bounds that keep an instance's event well under NATS's default max_payload (1 MB):
 * Nova's 128 metadata items of 255 characters, at most 64 KiB of JSON each for the
 * metadata and vendor data, and 10 public keys (Nova gives an instance one).
 */
const FREE_FORM = { maxBytes: 65536, maxDepth: 10 };
const MAX_PUBLIC_KEYS = 10;
const text = neutronString();
/** A DNS name of RFC 1123 labels (what cloud-init sets as the host name). */
const hostname = z
  .string()
  .max(253)
  .regex(/^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$/, 'hostname must be DNS labels of letters, digits and hyphens');
const publicKey = z.strictObject({
  name: neutronString().min(1),
  type: z.enum(['ssh', 'x509']).optional(),
  data: z
    .string()
    .min(1)
    .max(16384)
    .refine((s) => !/[\r\n\0]/.test(s.trimEnd()), 'a public key is one line')
    .refine((s) => /^[\x20-\x7e\t]*$/.test(s.trimEnd()), 'a public key is printable ASCII'),
});
const userData = z
  .string()
  .refine((s) => /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0, 'user_data must be base64')
  .refine((s) => Buffer.from(s, 'base64').length <= USER_DATA_MAX_BYTES, `user_data must decode to at most ${USER_DATA_MAX_BYTES} bytes`);

const instanceBody = z.strictObject({
  ...ownerAttributes(),
  id: z.uuid('id must be a UUID').optional(),
  name: text.optional(),
  hostname: hostname.optional(),
  availability_zone: neutronString().min(1).optional(),
  public_keys: z.array(publicKey).max(MAX_PUBLIC_KEYS, `at most ${MAX_PUBLIC_KEYS} public keys are allowed`).optional(),
  user_data: userData.nullable().optional(),
  metadata: z
    .record(neutronString().min(1), neutronString())
    .refine((m) => Object.keys(m).length <= 128, 'at most 128 metadata items')
    .superRefine((m, ctx) => {
      const problem = jsonBoundsProblem(m, FREE_FORM);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  vendor_data: boundedJsonObject(FREE_FORM).optional(),
});

/** A host name from an instance name, as Nova makes one: lower case, other characters as `-`. */
export function hostnameOf(name: string, id: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return cleaned === '' ? `instance-${id.slice(0, 8)}` : cleaned;
}

export function registerInstanceInput(body: unknown, meta: CommandMetadata, defaultZone: string): { id: string; projectId: string } & InstanceAttributes {
  const b = parseBody(body, 'instance', instanceBody);
  const projectId = projectOf(b, meta);
  const id = b.id ?? randomUUID();
  const name = b.name ?? '';
  return {
    id,
    projectId,
    name,
    hostname: b.hostname ?? hostnameOf(name, id),
    availabilityZone: b.availability_zone ?? defaultZone,
    publicKeys: (b.public_keys ?? []).map((k) => ({ name: k.name, type: k.type ?? 'ssh', data: k.data.trimEnd() })),
    userData: b.user_data ?? null,
    metadata: b.metadata ?? {},
    vendorData: b.vendor_data ?? {},
  };
}

export function updateInstanceInput(body: unknown): Partial<InstanceAttributes> {
  const b = parseUpdateBody(body, 'instance', instanceBody, ['name', 'hostname', 'availability_zone', 'public_keys', 'user_data', 'metadata', 'vendor_data']);
  return defined({
    name: b.name,
    hostname: b.hostname,
    availabilityZone: b.availability_zone,
    publicKeys: b.public_keys?.map((k) => ({ name: k.name, type: k.type ?? 'ssh', data: k.data.trimEnd() })),
    userData: b.user_data,
    metadata: b.metadata,
    vendorData: b.vendor_data,
  });
}

export const REQUEST_SCHEMAS = { instance: instanceBody } as const;
