import {
  CommandRequestSchema,
  isDomainError,
  toErrorReply,
  type CommandMetadata,
  type CommandReply,
  type CommandRequest,
  type ErrorKind,
  type ErrorReply,
  type Naming,
} from '@ncp/contracts';
import { replyOfRunning, type CommandReplies } from './command-replies';
import { type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { z } from 'zod';

export type CommandHandler = (input: unknown, meta: CommandMetadata) => Promise<unknown>;

export interface CommandResponderLogger {
  error(obj: object, msg: string): void;
}

/** How long a retry waits for the reply of its command, which another replica is still running. */
const RUNNING_WAIT_MS = 10_000;

/** The code (after the context's prefix) of the reply to a retry whose command another replica still runs. */
export const COMMAND_IN_PROGRESS = 'CommandInProgress';

/** Replies a retry must not get again: the command was not applied, or may go through now. */
const TRANSIENT_KINDS = new Set(['concurrency', 'unavailable']);

/**
 * A service's command API for the other services: request/reply on `cmd.<context>.<verb>`
 * (L3 creating router ports in IPAM, IPAM asking L3 to let go of floating IPs). Replies carry
 * the result or an error reply with the same codes the HTTP edge uses.
 *
 * A request with an idempotency key is applied once, whichever replica gets it and however
 * often it is sent (a caller that got no answer sends it again, CommandClient does): the first
 * replica claims the key in the service's reply bucket, and its reply answers every retry.
 */
export class CommandResponder {
  private subscription: Subscription | undefined;
  private replies: CommandReplies | undefined;

  private readonly codePrefix: string;

  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    private readonly context: string,
    private readonly handlers: Readonly<Record<string, CommandHandler>>,
    private readonly logger: CommandResponderLogger,
    /** where the replies to commands with an idempotency key are kept (none: every request runs) */
    private readonly openReplies?: () => Promise<CommandReplies>,
  ) {
    this.codePrefix = context.toUpperCase();
  }

  async start(): Promise<void> {
    this.replies = await this.openReplies?.();
    const prefix = this.naming.commandSubject(this.context, 'x').slice(0, -1);
    // A queue group, so several instances share the work.
    this.subscription = this.nc.subscribe(this.naming.commandsOfContext(this.context), {
      queue: this.context,
      callback: (err, msg) => {
        if (err) {
          this.logger.error({ err }, 'command subscription failed');
          return;
        }
        const verb = msg.subject.slice(prefix.length);
        void this.answer(verb, msg.data).then((reply) => msg.respond(JSON.stringify(reply)));
      },
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.drain();
  }

  private async answer(verb: string, data: Uint8Array): Promise<CommandReply<unknown>> {
    const handler = this.handlers[verb];
    if (!handler) return this.refusal('not_found', 'UnknownCommand', `unknown command ${verb}`);
    let request: CommandRequest;
    try {
      request = CommandRequestSchema.parse(JSON.parse(new TextDecoder().decode(data)));
    } catch (e) {
      return this.refusal('validation', 'BadRequest', `malformed command: ${e instanceof Error ? e.message : String(e)}`);
    }
    const replies = this.replies;
    if (request.idempotencyKey === undefined || !replies) return (await this.run(handler, verb, request)).reply;
    const key = `${verb}.${request.idempotencyKey}`;
    try {
      const claim = await replies.claim(key);
      if (claim.state === 'answered') return claim.reply;
      if (claim.state !== 'claimed') {
        // another replica runs it (the caller gave up on it and asked again): its reply, or come back
        const reply = await replyOfRunning(replies, key, RUNNING_WAIT_MS);
        return reply ?? this.refusal('unavailable', COMMAND_IN_PROGRESS, `${verb} is still being applied; try again`);
      }
    } catch (e) {
      this.logger.error({ err: e, verb }, 'command replies cannot be read');
      return this.refusal('unavailable', 'Unavailable', `${verb} cannot be applied now; try again`);
    }
    const { reply, keep } = await this.run(handler, verb, request);
    try {
      if (keep) await replies.record(key, reply);
      else await replies.release(key);
    } catch (e) {
      // the reply still goes out; a retry finds the key running until it expires, and is told to come back
      this.logger.error({ err: e, verb }, 'command reply not kept for its retries');
    }
    return reply;
  }

  /** The handler's reply, and whether a retry of the command should get it again. */
  private async run(handler: CommandHandler, verb: string, request: CommandRequest): Promise<{ reply: CommandReply<unknown>; keep: boolean }> {
    try {
      return { reply: { result: await handler(request.input, request.meta) }, keep: true };
    } catch (e) {
      if (isDomainError(e)) return { reply: toErrorReply(e), keep: !TRANSIENT_KINDS.has(e.kind) };
      if (e instanceof z.ZodError) return { reply: this.refusal('validation', 'BadRequest', `malformed command: ${e.message}`), keep: true };
      this.logger.error({ err: e, verb }, 'command failed');
      return { reply: this.refusal('conflict', 'InternalError', 'internal error'), keep: false };
    }
  }

  private refusal(kind: ErrorKind, code: string, message: string): ErrorReply {
    return { error: { kind, code: `${this.codePrefix}.${code}`, message, detail: '' } };
  }
}
