import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from './config';

describe('agent flags', () => {
  it('reads identity, roles, physnet mappings and the host namespace', () => {
    const c = parseAgentConfig([
      '--row',
      'row-a',
      '--host',
      'host-a1',
      '--roles',
      'compute,network',
      '--tunnel-ip',
      '10.1.0.2',
      '--physnet',
      'extnet0:eth1',
      '--physnet',
      'extnet1:eth2',
      '--host-netns',
      'host-a1',
    ]);
    expect(c).toMatchObject({
      row: 'row-a',
      host: 'host-a1',
      roles: ['compute', 'network'],
      tunnelIp: '10.1.0.2',
      physnets: { extnet0: 'eth1', extnet1: 'eth2' },
      hostNetns: 'host-a1',
      heartbeatSeconds: 5,
      bgpStatusSeconds: 5,
      haStatusSeconds: 5,
    });
    expect(parseAgentConfig(['--row', 'r', '--host', 'h', '--tunnel-ip', '10.0.0.1', '--bgp-status-seconds', '2']).bgpStatusSeconds).toBe(2);
    expect(parseAgentConfig(['--row', 'r', '--host', 'h', '--tunnel-ip', '10.0.0.1']).hostNetns).toBeNull();
    expect(parseAgentConfig(['--row', 'r', '--host', 'h', '--tunnel-ip', '10.0.0.1']).stateDir).toBe('/var/lib/ncp-agent');
    expect(parseAgentConfig(['--row', 'r', '--host', 'h', '--tunnel-ip', '10.0.0.1', '--state-dir', '/tmp/a1']).stateDir).toBe('/tmp/a1');
    expect(parseAgentConfig(['--row', 'r', '--host', 'h', '--tunnel-ip', '10.0.0.1']).netnsPrefix).toBe('');
    expect(parseAgentConfig(['--row', 'r', '--host', 'h', '--tunnel-ip', '10.0.0.1', '--netns-prefix', 'n2-']).netnsPrefix).toBe('n2-');
  });

  it('refuses names that cannot be subject tokens, unknown roles and bad mappings', () => {
    expect(() => parseAgentConfig(['--row', 'row.a', '--host', 'h', '--tunnel-ip', '1.1.1.1'])).toThrow();
    expect(() => parseAgentConfig(['--row', 'r', '--host', 'h', '--tunnel-ip', '1.1.1.1', '--roles', 'router'])).toThrow();
    expect(() => parseAgentConfig(['--row', 'r', '--host', 'h', '--tunnel-ip', '1.1.1.1', '--physnet', 'nocolon'])).toThrow(/physnet/);
    expect(() => parseAgentConfig(['--host', 'h', '--tunnel-ip', '1.1.1.1'])).toThrow(/row/);
    expect(() => parseAgentConfig(['--row', 'r', '--host', 'h', '--tunnel-ip', '1.1.1.1', '--state-dir', 'relative/dir'])).toThrow(/absolute/);
    expect(() => parseAgentConfig(['--row', 'r', '--host', 'h', '--tunnel-ip', '1.1.1.1', '--bgp-status-seconds', '0'])).toThrow();
    // a namespace name must not read as an option to ip, nor be a path
    for (const bad of ['-x', '.', 'a/b', 'x'.repeat(25)]) {
      expect(() => parseAgentConfig(['--row', 'r', '--host', 'h', '--tunnel-ip', '1.1.1.1', '--netns-prefix', bad])).toThrow(/netnsPrefix|prefix/);
    }
  });

  it('reads the metadata URL and the shared secret from a file or the environment', () => {
    const base = ['--row', 'r', '--host', 'h', '--tunnel-ip', '10.0.0.1'];
    const dir = mkdtempSync(path.join(tmpdir(), 'ncp-agent-config-'));
    try {
      const file = path.join(dir, 'secret');
      writeFileSync(file, 's3cret from file\n');
      const env = { METADATA_PROXY_SHARED_SECRET: 'from env' };
      expect(parseAgentConfig(base, {})).toMatchObject({ metadataUrl: 'http://127.0.0.1:9705', metadataSecret: null });
      expect(parseAgentConfig(base, env).metadataSecret).toBe('from env');
      expect(parseAgentConfig([...base, '--metadata-secret-file', file], env).metadataSecret).toBe('s3cret from file');
      expect(parseAgentConfig([...base, '--metadata-url', 'http://10.0.0.5:8775/meta'], {}).metadataUrl).toBe('http://10.0.0.5:8775/meta');
      writeFileSync(file, '\n');
      expect(() => parseAgentConfig([...base, '--metadata-secret-file', file], env)).toThrow(/is empty/);
      expect(() => parseAgentConfig([...base, '--metadata-secret-file', path.join(dir, 'missing')], env)).toThrow(/ENOENT/);
      expect(() => parseAgentConfig([...base, '--metadata-url', 'ftp://x/'], {})).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads its NATS user (flag or NATS_USER) and password (NATS_PASSWORD); none: no authorization', () => {
    const base = ['--row', 'row-a', '--host', 'net-a1', '--tunnel-ip', '10.0.0.1'];
    expect(parseAgentConfig(base, {})).toMatchObject({ natsUser: null, natsPassword: null });
    expect(parseAgentConfig([...base, '--nats-user', 'agent-row-a-net-a1'], { NATS_PASSWORD: 'pw1' })).toMatchObject({
      natsUser: 'agent-row-a-net-a1',
      natsPassword: 'pw1',
    });
    // compose passes unset variables as empty strings
    expect(parseAgentConfig([...base, '--nats-user', ''], { NATS_PASSWORD: '' })).toMatchObject({ natsUser: null, natsPassword: null });
    expect(() => parseAgentConfig([...base, '--nats-user', 'a.b'], {})).toThrow();
  });

  it("takes the cluster's JetStream domain for a connection through a leaf node; none by default, and no subject tokens", () => {
    const base = ['--row', 'row-a', '--host', 'net-a1', '--tunnel-ip', '10.0.0.1'];
    expect(parseAgentConfig(base, {}).natsDomain).toBeNull();
    expect(parseAgentConfig([...base, '--nats-domain', 'ncp'], {}).natsDomain).toBe('ncp');
    expect(parseAgentConfig([...base, '--nats-domain', ''], {}).natsDomain).toBeNull();
    expect(() => parseAgentConfig([...base, '--nats-domain', 'a.b'], {})).toThrow(/JetStream domain/);
    expect(() => parseAgentConfig([...base, '--nats-domain', 'a>'], {})).toThrow(/JetStream domain/);
  });
});
