import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventRegistry, defineEvent } from './event-registry';
import { ConflictError, fromErrorReply, toErrorReply } from './errors';
import { Naming } from './subjects';

describe('event registry', () => {
  const V3 = defineEvent('Renamed', z.object({ name: z.string(), by: z.string() }), [
    { version: 1, schema: z.object({ title: z.string() }), upcast: (d) => ({ name: (d as { title: string }).title }) },
    { version: 2, schema: z.object({ name: z.string() }), upcast: (d) => ({ ...(d as object), by: 'unknown' }) },
  ]);
  const registry = new EventRegistry([V3]);

  it('reads every old version as the latest one', () => {
    expect(registry.latestVersion('Renamed')).toBe(3);
    expect(registry.readLatest('Renamed', 1, { title: 'a' })).toEqual({ name: 'a', by: 'unknown' });
    expect(registry.readLatest('Renamed', 3, { name: 'b', by: 'me' })).toEqual({ name: 'b', by: 'me' });
  });

  it('refuses invalid data, unknown types and versions', () => {
    expect(() => registry.readLatest('Renamed', 2, { title: 'x' })).toThrow(/v2 is invalid/);
    expect(() => registry.validateLatest('Renamed', { name: 1 })).toThrow(/invalid/);
    expect(() => registry.readLatest('Nope', 1, {})).toThrow(/unknown event type Nope/);
    expect(() => registry.readLatest('Renamed', 7, {})).toThrow(/no version 7/);
    expect(() => new EventRegistry([V3, V3])).toThrow(/defined twice/);
  });
});

describe('naming', () => {
  it('puts a prefix on every stream, subject and consumer name', () => {
    const plain = new Naming();
    const test = new Naming({ prefix: 't1' });
    expect([plain.eventStream, plain.eventSubject('ipam', 'network', 'n1'), plain.commandSubject('ipam', 'create_port')]).toEqual([
      'EVENTS',
      'ev.ipam.network.n1',
      'cmd.ipam.create_port',
    ]);
    expect([test.eventStream, test.allEvents, test.eventsOfContext('ipam'), test.consumerName('proj')]).toEqual([
      'EVENTS_t1',
      't1.ev.>',
      't1.ev.ipam.>',
      't1_proj',
    ]);
    expect(test.parseEventSubject('t1.ev.ipam.network.n1')).toEqual({ context: 'ipam', aggregate: 'network', id: 'n1' });
  });

  it("refuses tokens that would change a subject's meaning", () => {
    expect(() => new Naming().eventSubject('ipam', 'network', 'a.b')).toThrow(/invalid id/);
    expect(() => new Naming().eventSubject('ipam', 'network', '>')).toThrow(/invalid id/);
    expect(() => new Naming({ prefix: 'a b' })).toThrow(/invalid prefix/);
  });
});

describe('error replies', () => {
  it('carry kind, code and message across NATS', () => {
    const back = fromErrorReply(toErrorReply(new ConflictError('IPAM.SubnetInUse', 'in use', 'd')));
    expect(back).toBeInstanceOf(ConflictError);
    expect([back.code, back.message, back.detail]).toEqual(['IPAM.SubnetInUse', 'in use', 'd']);
  });
});
