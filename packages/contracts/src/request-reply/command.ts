import { z } from 'zod';
import { type CommandMetadata } from '../envelope';
import { type ErrorReply } from '../errors';

/**
 * A service's command API for the other services: NATS request/reply on `cmd.<context>.<verb>`.
 * The request carries the caller's metadata and the verb's input; the reply the verb's result,
 * or an error reply with the same codes the HTTP edge uses.
 */
export const CommandMetadataSchema: z.ZodType<CommandMetadata> = z.object({
  now: z.string(),
  correlationId: z.string(),
  causationId: z.string().nullable(),
  projectId: z.string(),
  actor: z.string(),
  isAdmin: z.boolean(),
  // The policy decides on them: a command relayed between services keeps the caller's roles.
  roles: z.array(z.string()).readonly().optional(),
});

export const CommandRequestSchema = z.object({
  meta: CommandMetadataSchema,
  input: z.unknown(),
  /**
   * One command across its retries (a request that got no answer may have been applied): the
   * responder applies it once and answers every retry with the first reply. A KV key token.
   */
  idempotencyKey: z
    .string()
    .regex(/^[A-Za-z0-9_-]{8,64}$/)
    .optional(),
});
export type CommandRequest = z.infer<typeof CommandRequestSchema>;

export type CommandReply<T> = { readonly result: T } | ErrorReply;
