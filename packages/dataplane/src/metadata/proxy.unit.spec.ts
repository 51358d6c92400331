import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type MetadataEndpoint } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { isOurDaemon } from '../daemon/daemon.js';
import { NodeDaemonHost } from '../daemon/host.js';
import { vm1, vm2 } from './__fixtures__/intent.js';
import { EndpointsFile, canonicalAddress, forwardedHeaders, identifyCaller, isLinkLocalIpv6, isMetadataAddress, parseNeighbourMacs } from './proxy.js';

const LL = 'fe80::f0:1234:5678:9abc';
const found = (endpoint: MetadataEndpoint) => ({ ok: true, endpoint });

describe('identifyCaller', () => {
  it('finds an IPv4 or global IPv6 caller by its address, in any spelling', () => {
    expect(identifyCaller([vm1, vm2], '10.0.0.11', [])).toEqual(found(vm1));
    expect(identifyCaller([vm1, vm2], '::ffff:10.0.1.12', [])).toEqual(found(vm2));
    expect(identifyCaller([vm1, vm2], '2001:DB8:0:1:0:0:0:11', [])).toEqual(found(vm1));
    expect(identifyCaller([vm1, vm2], '10.0.0.11', [vm1.mac])).toEqual(found(vm1));
  });

  it('finds a link-local caller by the MAC of its neighbour entry, whatever its interface id', () => {
    expect(identifyCaller([vm1, vm2], LL, [vm2.mac])).toEqual(found(vm2));
    expect(identifyCaller([vm1, vm2], `${LL}%qr-b0000001-00`, ['FA:16:3E:00:00:01'])).toEqual(found(vm1));
  });

  it('refuses a link-local caller with no neighbour entry, an unknown MAC, or two MACs', () => {
    expect(identifyCaller([vm1, vm2], LL, [])).toEqual({ ok: false, reason: `no neighbour entry (MAC) for link-local ${LL}` });
    expect(identifyCaller([vm1, vm2], LL, ['02:00:00:00:00:99'])).toEqual({ ok: false, reason: `no port has MAC 02:00:00:00:00:99 (of ${LL})` });
    // the same address on two links: which one asked is unknown, even if only one MAC is a port's
    expect(identifyCaller([vm1, vm2], LL, [vm1.mac, '02:00:00:00:00:99'])).toEqual({
      ok: false,
      reason: `${LL} is ambiguous: the neighbour table has it with MACs ${vm1.mac}, 02:00:00:00:00:99`,
    });
    expect(identifyCaller([vm1, vm2], LL, [vm1.mac, vm1.mac])).toEqual(found(vm1));
  });

  it('refuses ambiguous matches: one address or one MAC on two ports', () => {
    const twin: MetadataEndpoint = { ...vm2, portId: 'c0000003-0000-4000-8000-000000000003', addresses: ['10.0.0.11'], mac: vm1.mac };
    expect(identifyCaller([vm1, twin], '10.0.0.11', [])).toEqual({ ok: false, reason: `address 10.0.0.11 is on several ports: ${vm1.portId}, ${twin.portId}` });
    expect(identifyCaller([vm1, twin], LL, [vm1.mac])).toEqual({
      ok: false,
      reason: `MAC ${vm1.mac} (of ${LL}) is on several ports: ${vm1.portId}, ${twin.portId}`,
    });
  });

  it('refuses an unknown address, and a known one whose neighbour entry has another MAC', () => {
    expect(identifyCaller([vm1, vm2], '10.0.0.99', [])).toEqual({ ok: false, reason: 'no port has address 10.0.0.99' });
    expect(identifyCaller([vm1, vm2], '10.0.0.11', [vm2.mac])).toEqual({
      ok: false,
      reason: `10.0.0.11 is port ${vm1.portId}'s (MAC ${vm1.mac}) but the neighbour table has it at ${vm2.mac}`,
    });
    expect(identifyCaller([vm1, vm2], 'nonsense', [])).toEqual({ ok: false, reason: 'source nonsense is not an IP address' });
  });
});

describe('proxy helpers', () => {
  it('replaces every identity header the instance sent and passes the others', () => {
    const headers = forwardedHeaders(
      {
        host: '169.254.169.254',
        'x-instance-id': 'i-forged',
        'x-instance-id-signature': 'f00d',
        'x-tenant-id': 'p-forged',
        'x-ncp-port-id': 'forged',
        'x-ncp-anything': 'forged',
        'x-forwarded-for': '10.9.9.9',
        'x-aws-ec2-metadata-token': 'tok',
        'x-aws-ec2-metadata-token-ttl-seconds': '21600',
        connection: 'keep-alive, x-hop',
        'x-hop': 'hop',
        'content-type': 'text/plain',
      },
      vm1,
    );
    expect(headers).toEqual({
      host: '169.254.169.254',
      'x-forwarded-for': '10.9.9.9',
      'x-aws-ec2-metadata-token': 'tok',
      'x-aws-ec2-metadata-token-ttl-seconds': '21600',
      'content-type': 'text/plain',
      'x-instance-id': 'i-vm1',
      'x-tenant-id': 'p-one',
      'x-ncp-port-id': vm1.portId,
    });
  });

  it('answers only on the metadata addresses', () => {
    expect(['::ffff:169.254.169.254', '169.254.169.254', 'fe80::a9fe:a9fe', 'FE80::A9FE:A9FE%qr-x'].map(isMetadataAddress)).toEqual([true, true, true, true]);
    expect(['::ffff:10.0.0.1', '172.24.4.10', 'fe80::1', '2001:db8::a9fe:a9fe', undefined].map(isMetadataAddress)).toEqual([false, false, false, false, false]);
    expect([canonicalAddress('::ffff:10.0.0.1'), canonicalAddress('fe80::0:1%eth0'), canonicalAddress('x')]).toEqual(['10.0.0.1', 'fe80::1', null]);
    expect([isLinkLocalIpv6('fe80::1'), isLinkLocalIpv6('febf::1'), isLinkLocalIpv6('fec0::1'), isLinkLocalIpv6('169.254.0.1')]).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it('reads the usable MACs of ip -j neigh show', () => {
    const json = JSON.stringify([
      { dst: LL, dev: 'qr-b0000001-00', lladdr: 'FA:16:3E:00:00:01', router: null, state: ['STALE'] },
      { dst: LL, dev: 'qr-b0000002-00', state: ['FAILED'] },
      { dst: LL, dev: 'qr-b0000003-00', lladdr: '02:00:00:00:00:09', state: ['INCOMPLETE'] },
      { dst: LL, dev: 'qr-b0000004-00', lladdr: 'fa:16:3e:00:00:01', state: ['REACHABLE'] },
    ]);
    expect(parseNeighbourMacs(json)).toEqual(['fa:16:3e:00:00:01']);
    expect(parseNeighbourMacs('')).toEqual([]);
    expect(() => parseNeighbourMacs('{')).toThrow(/not JSON/);
  });

  it('recognises the proxy by its script and pid file, node being argv[0]', () => {
    const pid = '/var/lib/ncp/metadata/x/pid';
    expect(isOurDaemon(['/usr/local/bin/node', '/opt/ncp/dist/metadata/proxy-main.js', '--config=/c', `--pid-file=${pid}`], 'metadata-proxy', pid)).toBe(true);
    expect(isOurDaemon(['/usr/local/bin/node', '/opt/ncp/dist/metadata/proxy-main.js', '--pid-file=/other/pid'], 'metadata-proxy', pid)).toBe(false);
    expect(isOurDaemon(['/usr/local/bin/node', '/opt/other/main.js', `--pid-file=${pid}`], 'metadata-proxy', pid)).toBe(false);
    expect(isOurDaemon(['proxy-main.js', `--pid-file=${pid}`], 'metadata-proxy', pid)).toBe(false);
    expect(isOurDaemon(['dnsmasq', `--pid-file=${pid}`], 'dnsmasq', pid)).toBe(true);
  });
});

describe('EndpointsFile', () => {
  it('re-reads the config when the agent replaces it, and keeps the last good one when it does not parse', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ncp-md-config-'));
    const file = path.join(dir, 'config.json');
    const host = new NodeDaemonHost();
    const lines: string[] = [];
    try {
      await host.writeFileAtomic(file, JSON.stringify({ endpoints: [vm1] }));
      const endpoints = new EndpointsFile(file, (line) => lines.push(line));
      await endpoints.load();
      expect(await endpoints.current()).toEqual([vm1]);
      expect(lines).toEqual([]);
      await host.writeFileAtomic(file, JSON.stringify({ endpoints: [vm1, vm2] }));
      expect(await endpoints.current()).toEqual([vm1, vm2]);
      await host.writeFileAtomic(file, JSON.stringify({ endpoints: [{ ...vm1, mac: 'nope' }] }));
      expect(await endpoints.current()).toEqual([vm1, vm2]);
      expect(await endpoints.current()).toEqual([vm1, vm2]);
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatch(/not \(re\)loaded, keeping 2 endpoint\(s\)/);
      await expect(new EndpointsFile(path.join(dir, 'missing.json'), () => undefined).load()).rejects.toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
