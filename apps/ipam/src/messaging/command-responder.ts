import { isDomainError, toErrorReply, type CommandMetadata, type Naming } from '@ncp/contracts';
import { type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { type Logger } from '@ncp/nest-common';
import { z } from 'zod';

const requestSchema = z.object({
  meta: z.object({
    now: z.string(),
    correlationId: z.string(),
    causationId: z.string().nullable(),
    projectId: z.string(),
    actor: z.string(),
    isAdmin: z.boolean(),
  }),
  input: z.unknown(),
});

export type CommandHandler = (input: unknown, meta: CommandMetadata) => Promise<unknown>;

/**
 * Other services change IPAM state only through request/reply on `cmd.ipam.<verb>`
 * (for instance L3 creating router ports). Replies carry the result or an error
 * reply with the same codes the HTTP edge uses.
 */
export class CommandResponder {
  private subscription: Subscription | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    private readonly handlers: Readonly<Record<string, CommandHandler>>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const prefix = this.naming.commandSubject('ipam', 'x').slice(0, -1);
    // A queue group, so several instances share the work.
    this.subscription = this.nc.subscribe(this.naming.commandsOfContext('ipam'), {
      queue: 'ipam',
      callback: (err, msg) => {
        if (err) {
          this.logger.error({ err }, 'command subscription failed');
          return;
        }
        const verb = msg.subject.slice(prefix.length);
        void this.handle(verb, msg.data).then((reply) => msg.respond(JSON.stringify(reply)));
      },
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.drain();
  }

  private async handle(verb: string, data: Uint8Array): Promise<unknown> {
    const handler = this.handlers[verb];
    if (!handler) return { error: { kind: 'not_found', code: 'IPAM.UnknownCommand', message: `unknown command ${verb}`, detail: '' } };
    try {
      const request = requestSchema.parse(JSON.parse(new TextDecoder().decode(data)));
      return { result: await handler(request.input, request.meta) };
    } catch (e) {
      if (isDomainError(e)) return toErrorReply(e);
      if (e instanceof z.ZodError || e instanceof SyntaxError) {
        return { error: { kind: 'validation', code: 'IPAM.BadRequest', message: `malformed command: ${e.message}`, detail: '' } };
      }
      this.logger.error({ err: e, verb }, 'command failed');
      return { error: { kind: 'conflict', code: 'IPAM.InternalError', message: 'internal error', detail: '' } };
    }
  }
}
