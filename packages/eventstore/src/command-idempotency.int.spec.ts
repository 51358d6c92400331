import { ConflictError, Naming, type CommandMetadata, type CommandReply } from '@ncp/contracts';
import { testInfra, uniqueName } from '@ncp/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandClient, CommandResponder, KvCommandReplies, commandRepliesBucket, connectNats, type CommandHandler, type NatsConnection } from './index';

/**
 * Commands with an idempotency key, between two replicas of a service on a real NATS: each
 * command is applied once however often it is sent, and a retry gets the first reply.
 */
const meta: CommandMetadata = { now: '2026-01-01T00:00:00Z', correlationId: 'c1', causationId: null, projectId: 'p1', actor: 'test', isAdmin: false };

describe('commands with an idempotency key, two replicas', () => {
  let nc: NatsConnection;
  let naming: Naming;
  const responders: CommandResponder[] = [];
  /** how often each handler ran, by key */
  const runs = new Map<string, number>();
  /** a command that waits for the test before it answers */
  let unblock: () => void = () => undefined;
  const blocked = new Promise<void>((resolve) => (unblock = resolve));

  const handlers: Record<string, CommandHandler> = {
    apply: async (input) => {
      const { id } = input as { id: string };
      runs.set(id, (runs.get(id) ?? 0) + 1);
      return { id, run: runs.get(id) };
    },
    refuse: async (input) => {
      const { id } = input as { id: string };
      runs.set(id, (runs.get(id) ?? 0) + 1);
      throw new ConflictError('PROBE.Taken', `${id} is taken`);
    },
    slow: async (input) => {
      const { id } = input as { id: string };
      runs.set(id, (runs.get(id) ?? 0) + 1);
      await blocked;
      return { id, run: runs.get(id) };
    },
  };

  beforeAll(async () => {
    const infra = await testInfra();
    naming = new Naming({ prefix: uniqueName() });
    nc = await connectNats(infra.natsUrl, 'command-idempotency-test');
    for (let replica = 0; replica < 2; replica++) {
      const responder = new CommandResponder(nc, naming, 'probe', handlers, console, () => KvCommandReplies.open(nc, naming, 'probe', 1));
      await responder.start();
      responders.push(responder);
    }
  });

  afterAll(async () => {
    unblock();
    for (const r of responders) await r.stop();
    const jsm = await (await import('@nats-io/jetstream')).jetstreamManager(nc);
    await jsm.streams.delete(`KV_${commandRepliesBucket(naming, 'probe')}`).catch(() => undefined);
    await nc.close();
  });

  /** One request as a caller sends it, with the key it chooses. */
  const send = async (verb: string, id: string, idempotencyKey?: string): Promise<CommandReply<{ id: string; run: number }>> => {
    const reply = await nc.request(naming.commandSubject('probe', verb), JSON.stringify({ meta, input: { id }, idempotencyKey }), { timeout: 10_000 });
    return JSON.parse(reply.string()) as CommandReply<{ id: string; run: number }>;
  };

  it('applies a command once, whichever replica gets it and however often, and answers each time with the first reply', async () => {
    const key = 'key-applied-once';
    const replies = await Promise.all(Array.from({ length: 6 }, () => send('apply', 'a1', key)));
    for (const r of replies) expect(r).toEqual({ result: { id: 'a1', run: 1 } });
    expect(runs.get('a1')).toBe(1);
    // another key is another command; no key at all runs every time
    expect(await send('apply', 'a1', 'key-another-one')).toEqual({ result: { id: 'a1', run: 2 } });
    expect(await send('apply', 'a1')).toEqual({ result: { id: 'a1', run: 3 } });
    expect(await send('apply', 'a1')).toEqual({ result: { id: 'a1', run: 4 } });
  });

  it('answers a retry of a refused command with the same refusal, without running it again', async () => {
    const first = await send('refuse', 'r1', 'key-refused');
    expect(first).toMatchObject({ error: { kind: 'conflict', code: 'PROBE.Taken' } });
    expect(await send('refuse', 'r1', 'key-refused')).toEqual(first);
    expect(runs.get('r1')).toBe(1);
  });

  it('refuses a key that is not a key, and changes nothing', async () => {
    expect(await send('apply', 'bad', 'no spaces or dots.allowed')).toMatchObject({ error: { kind: 'validation', code: 'PROBE.BadRequest' } });
    expect(runs.get('bad')).toBeUndefined();
  });

  it('gives the caller that timed out and asked again the reply of the first attempt, applied once (CommandClient)', async () => {
    // every request on the wire, the client's retries among them
    const seen: string[] = [];
    let retried: () => void = () => undefined;
    const retry = new Promise<void>((resolve) => (retried = resolve));
    const wire = nc.subscribe(naming.commandSubject('probe', 'slow'), {
      callback: (_err, m) => {
        seen.push((JSON.parse(m.string()) as { idempotencyKey: string }).idempotencyKey);
        if (seen.length === 2) retried();
      },
    });
    await nc.flush();
    const client = new CommandClient(nc, naming, 'probe', 'Probe', 2_000, 5);
    const answer = client.request<{ id: string; run: number }>('slow', { id: 's1' }, meta);
    // the first attempt is still running when the client gives up on it and sends it again
    await retry;
    unblock();
    await expect(answer).resolves.toEqual({ id: 's1', run: 1 });
    expect(runs.get('s1')).toBe(1);
    expect(new Set(seen).size).toBe(1);
    wire.unsubscribe();
  });
});
