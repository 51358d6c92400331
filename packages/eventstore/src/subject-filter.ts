import { type Naming } from '@ncp/contracts';

/**
 * What a projection reading the whole stream folds (NATS 2.9 allows one filter per
 * consumer): per context, every aggregate (`'*'`) or the listed ones. Anything else, and
 * anything that is not an event subject, is skipped.
 */
export function acceptsContexts(naming: Naming, accepted: Readonly<Record<string, '*' | readonly string[]>>): (subject: string) => boolean {
  return (subject) => {
    try {
      const { context, aggregate } = naming.parseEventSubject(subject);
      const aggregates = accepted[context];
      return aggregates === '*' || (aggregates !== undefined && aggregates.includes(aggregate));
    } catch {
      return false;
    }
  };
}
