import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestStack } from '@ncp/testing';
import { type NeutronClient } from './client';
import { dumpIpamProjection, rebuildIpamProjection } from './projection-dump';
import { startStack } from '../support/stack';

let stack: TestStack;
let api: NeutronClient;

beforeAll(async () => ({ stack, api } = await startStack()));
afterAll(() => stack?.stop());

async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('crash safety', () => {
  it('kill -9 of IPAM in a burst of port creations loses no acknowledged write and allocates nothing twice', async () => {
    const net = await api.create('networks', 'network', { name: 'burst' });
    await api.create('subnets', 'subnet', { network_id: net.id, ip_version: 4, cidr: '10.50.0.0/16' });

    const acknowledged = new Map<string, { ip: string; mac: string }>();
    let refused = 0;
    let running = true;
    const worker = async () => {
      while (running) {
        try {
          const r = await api.post<{ port: { id: string; mac_address: string; fixed_ips: { ip_address: string }[] } }>('/v2.0/ports', {
            port: { network_id: net.id },
          });
          if (r.status === 201) acknowledged.set(r.body.port.id, { ip: r.body.port.fixed_ips[0]?.ip_address ?? '', mac: r.body.port.mac_address });
          else refused++;
        } catch {
          refused++;
          await sleep(10);
        }
      }
    };
    const workers = Array.from({ length: 8 }, () => worker());

    await until(() => acknowledged.size >= 100, '100 acknowledged ports');
    await stack.killIpam('SIGKILL');
    const atKill = acknowledged.size;
    const refusedAtKill = refused;
    // the burst meets the dead IPAM before it comes back
    await until(() => refused > refusedAtKill, 'a request refused while IPAM is down');
    await stack.startIpam();
    await until(() => acknowledged.size >= atKill + 100, '100 more ports after the restart');
    running = false;
    await Promise.all(workers);

    const listed = await api.get<{ ports: { id: string; mac_address: string; fixed_ips: { ip_address: string }[] }[] }>(
      `/v2.0/ports?network_id=${net.id}&fields=id&fields=mac_address&fields=fixed_ips`,
    );
    const byId = new Map(listed.body.ports.map((p) => [p.id, p]));
    // Every acknowledged port exists with the address and MAC it was acknowledged with.
    for (const [id, { ip, mac }] of acknowledged) {
      expect(byId.get(id)?.fixed_ips[0]?.ip_address, `port ${id}`).toBe(ip);
      expect(byId.get(id)?.mac_address).toBe(mac);
    }
    const ips = listed.body.ports.flatMap((p) => p.fixed_ips.map((f) => f.ip_address));
    expect(new Set(ips).size).toBe(ips.length);
    const macs = listed.body.ports.map((p) => p.mac_address);
    expect(new Set(macs).size).toBe(macs.length);

    // The projection the restarted service built equals a rebuild from the log.
    const live = await dumpIpamProjection(stack.database.url);
    expect(live.ports?.length).toBe(listed.body.ports.length);
    const rebuilt = await rebuildIpamProjection(stack.natsUrl, stack.prefix);
    expect(rebuilt.projections.find((p) => p.name === 'ipam')?.checkpoint).toBeGreaterThan(0);
    expect(await dumpIpamProjection(stack.database.url)).toEqual(live);
  });
});
