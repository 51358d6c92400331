import { connect } from '@nats-io/transport-node';
import { testInfra, uniqueName } from '@ncp/testing';
import { describe, expect, it } from 'vitest';
import { connectNats, type NatsConnection } from './index';

/** A request nobody answers, made from a function whose name a captured trace would show. */
async function askNobodyHere(nc: NatsConnection): Promise<string> {
  try {
    await nc.request(`nobody.${uniqueName()}`, '', { timeout: 2_000 });
    return '';
  } catch (e) {
    return e instanceof Error ? (e.stack ?? '') : String(e);
  }
}

describe('connectNats', () => {
  it("captures no stack trace per request (the client's default does, for every request)", async () => {
    const servers = (await testInfra()).natsUrl.replace(/^nats:\/\//, '').split(',');
    const services = await connectNats(servers.join(','), 'nats-traces-test');
    const defaults = await connect({ servers });
    try {
      expect(await askNobodyHere(defaults)).toContain('askNobodyHere');
      const stack = await askNobodyHere(services);
      expect(stack).not.toBe('');
      expect(stack).not.toContain('askNobodyHere');
    } finally {
      await Promise.all([services.close(), defaults.close()]);
    }
  });
});
