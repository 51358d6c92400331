import { type KV } from '@nats-io/kv';
import { COMMAND_REPLIES_BUCKET, type CommandReply, type Naming } from '@ncp/contracts';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBucket } from './buckets';
import { type NatsConnection } from './nats';

/** A service's bucket of command replies (`ncp_commands_<context>`). */
export const commandRepliesBucket = (naming: Naming, context: string) => naming.bucket(`${COMMAND_REPLIES_BUCKET}_${context}`);

/** How long a reply is kept for the retries of its command. */
export const COMMAND_REPLY_TTL_MS = 10 * 60_000;

/** What a claim finds: the command is this replica's to run, another's that runs it, or done. */
export type CommandClaim = { readonly state: 'claimed' } | CommandSeen;
/** What a look finds: nothing (never claimed, released, expired), a command running, or its reply. */
export type CommandSeen = { readonly state: 'absent' } | { readonly state: 'running' } | { readonly state: 'answered'; readonly reply: CommandReply<unknown> };

/** Where a service's replicas keep the replies to commands that carry an idempotency key. */
export interface CommandReplies {
  claim(key: string): Promise<CommandClaim>;
  peek(key: string): Promise<CommandSeen>;
  record(key: string, reply: CommandReply<unknown>): Promise<void>;
  /** The command failed without an answer worth keeping: a retry runs it again. */
  release(key: string): Promise<void>;
}

const RUNNING = 'running';

/**
 * The replies in a KV bucket shared by the service's replicas: a claim is a create of the key
 * (which only one replica can make), the reply replaces it, and entries expire after the TTL.
 */
export class KvCommandReplies implements CommandReplies {
  private constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection, naming: Naming, context: string, replicas: number): Promise<KvCommandReplies> {
    return new KvCommandReplies(await ensureBucket(nc, commandRepliesBucket(naming, context), { replicas, ttlMs: COMMAND_REPLY_TTL_MS }));
  }

  async claim(key: string): Promise<CommandClaim> {
    try {
      await this.kv.create(key, RUNNING);
      return { state: 'claimed' };
    } catch (e) {
      const seen = await this.peek(key);
      // refused for another reason than the key being there
      if (seen.state === 'absent') throw e;
      return seen;
    }
  }

  async peek(key: string): Promise<CommandSeen> {
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT') return { state: 'absent' };
    const value = entry.string();
    return value === RUNNING ? { state: 'running' } : { state: 'answered', reply: JSON.parse(value) as CommandReply<unknown> };
  }

  async record(key: string, reply: CommandReply<unknown>): Promise<void> {
    await this.kv.put(key, JSON.stringify(reply));
  }

  async release(key: string): Promise<void> {
    await this.kv.delete(key);
  }
}

/**
 * The reply of a command another replica runs, once it has one; null if none comes within
 * `timeoutMs` (still running, or that replica failed or died: the key is released or expires).
 */
export async function replyOfRunning(replies: CommandReplies, key: string, timeoutMs: number, pollMs = 100): Promise<CommandReply<unknown> | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await sleep(pollMs);
    const seen = await replies.peek(key);
    if (seen.state === 'answered') return seen.reply;
    if (seen.state === 'absent') return null;
  }
  return null;
}
