import { CommandRequestSchema, isDomainError, toErrorReply, type CommandMetadata, type CommandReply, type Naming } from '@ncp/contracts';
import { type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { z } from 'zod';

export type CommandHandler = (input: unknown, meta: CommandMetadata) => Promise<unknown>;

export interface CommandResponderLogger {
  error(obj: object, msg: string): void;
}

/**
 * A service's command API for the other services: request/reply on `cmd.<context>.<verb>`
 * (L3 creating router ports in IPAM, IPAM asking L3 to let go of floating IPs). Replies carry
 * the result or an error reply with the same codes the HTTP edge uses.
 */
export class CommandResponder {
  private subscription: Subscription | undefined;

  private readonly codePrefix: string;

  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    private readonly context: string,
    private readonly handlers: Readonly<Record<string, CommandHandler>>,
    private readonly logger: CommandResponderLogger,
  ) {
    this.codePrefix = context.toUpperCase();
  }

  start(): void {
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
        void this.handle(verb, msg.data).then((reply) => msg.respond(JSON.stringify(reply)));
      },
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.drain();
  }

  private async handle(verb: string, data: Uint8Array): Promise<CommandReply<unknown>> {
    const handler = this.handlers[verb];
    if (!handler) return { error: { kind: 'not_found', code: `${this.codePrefix}.UnknownCommand`, message: `unknown command ${verb}`, detail: '' } };
    try {
      const request = CommandRequestSchema.parse(JSON.parse(new TextDecoder().decode(data)));
      return { result: await handler(request.input, request.meta) };
    } catch (e) {
      if (isDomainError(e)) return toErrorReply(e);
      if (e instanceof z.ZodError || e instanceof SyntaxError) {
        return { error: { kind: 'validation', code: `${this.codePrefix}.BadRequest`, message: `malformed command: ${e.message}`, detail: '' } };
      }
      this.logger.error({ err: e, verb }, 'command failed');
      return { error: { kind: 'conflict', code: `${this.codePrefix}.InternalError`, message: 'internal error', detail: '' } };
    }
  }
}
