/**
 * Subject and stream names. `prefix` lets tests (and several stacks on one NATS)
 * run side by side: with prefix "t1" the stream is EVENTS_t1 and subjects start "t1.".
 */
export interface NamingOptions {
  readonly prefix?: string;
}

const TOKEN = /^[A-Za-z0-9_-]+$/;

export function assertToken(kind: string, value: string): string {
  if (!TOKEN.test(value)) throw new Error(`invalid ${kind} for a subject token: ${JSON.stringify(value)}`);
  return value;
}

export class Naming {
  readonly prefix: string;
  constructor(opts: NamingOptions = {}) {
    this.prefix = opts.prefix ? assertToken('prefix', opts.prefix) : '';
  }

  private p(subject: string): string {
    return this.prefix ? `${this.prefix}.${subject}` : subject;
  }

  get eventStream(): string {
    return this.prefix ? `EVENTS_${this.prefix}` : 'EVENTS';
  }

  /** All event subjects, as the stream captures them. */
  get allEvents(): string {
    return this.p('ev.>');
  }

  eventsOfContext(context: string): string {
    return this.p(`ev.${assertToken('context', context)}.>`);
  }

  eventsOfAggregateType(context: string, aggregate: string): string {
    return this.p(`ev.${assertToken('context', context)}.${assertToken('aggregate', aggregate)}.*`);
  }

  eventSubject(context: string, aggregate: string, id: string): string {
    return this.p(`ev.${assertToken('context', context)}.${assertToken('aggregate', aggregate)}.${assertToken('id', id)}`);
  }

  /** Splits an event subject back into its parts. */
  parseEventSubject(subject: string): { context: string; aggregate: string; id: string } {
    const rest = this.prefix ? subject.slice(this.prefix.length + 1) : subject;
    const [ev, context, aggregate, id, ...extra] = rest.split('.');
    if (ev !== 'ev' || !context || !aggregate || !id || extra.length > 0) {
      throw new Error(`not an event subject: ${subject}`);
    }
    return { context, aggregate, id };
  }

  commandSubject(context: string, verb: string): string {
    return this.p(`cmd.${assertToken('context', context)}.${assertToken('verb', verb)}`);
  }

  commandsOfContext(context: string): string {
    return this.p(`cmd.${assertToken('context', context)}.*`);
  }

  /** Operator requests to a service (projection status, rebuild), answered by every instance's leader. */
  adminSubject(context: string, verb: string): string {
    return this.p(`admin.${assertToken('context', context)}.${assertToken('verb', verb)}`);
  }

  /** Control messages to one agent (core NATS, not events), e.g. `resync`. */
  agentControlSubject(row: string, host: string, verb: string): string {
    return this.p(`agentctl.${assertToken('row', row)}.${assertToken('host', host)}.${assertToken('verb', verb)}`);
  }

  /** KV bucket names allow only a restricted alphabet; the prefix keeps stacks apart. */
  bucket(name: string): string {
    return assertToken('bucket', this.prefix ? `${name}_${this.prefix}` : name);
  }

  /** Durable consumer names allow only a restricted alphabet. */
  consumerName(name: string): string {
    return assertToken('consumer', this.prefix ? `${this.prefix}_${name}` : name);
  }
}
