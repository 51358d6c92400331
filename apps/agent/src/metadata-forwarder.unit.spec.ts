import { mkdtempSync, rmSync, statSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { METADATA_HEADERS, metadataSignature } from '@ncp/contracts';
import { PROXY_IDENTITY_HEADERS } from '@ncp/dataplane';
import { createLogger } from '@ncp/nest-common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MetadataForwarder, signedHeaders, startMetadataForwarder } from './metadata-forwarder';

const SECRET = 'shared s3cret';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request to the forwarder's socket, as a proxy sends it. */
function ask(
  socketPath: string,
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: url, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('metadata forwarder', () => {
  let dir = '';
  let socketPath = '';
  let forwarder: MetadataForwarder;
  const seen: Seen[] = [];
  // the metadata service: records what arrives, answers with a status and headers of its own
  const service = http.createServer((req, res) => {
    void text(req).then((body) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(req.url?.includes('/api/token') ? 200 : 404, { 'x-aws-ec2-metadata-token-ttl-seconds': '21600', 'content-type': 'text/plain' });
      res.end(`answer to ${req.url ?? ''}`);
    });
  });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ncp-fwd-'));
    socketPath = path.join(dir, 'metadata', 'forward.sock');
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    const { port } = service.address() as AddressInfo;
    forwarder = await startMetadataForwarder({
      socketPath,
      metadataUrl: `http://127.0.0.1:${port}/base/`,
      secret: SECRET,
      logger: createLogger('test', 'silent'),
    });
  });

  afterAll(async () => {
    await forwarder.close();
    await new Promise((resolve) => service.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on a socket only root may use', () => {
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
  });

  it('signs the instance id the proxy set, replacing a signature that came along, and streams the answer back', async () => {
    seen.length = 0;
    const answer = await ask(
      socketPath,
      'PUT',
      '/latest/api/token?x=1',
      {
        'x-instance-id': 'i-vm1',
        'x-instance-id-signature': 'forged',
        'x-tenant-id': 'p-one',
        'x-aws-ec2-metadata-token-ttl-seconds': '60',
        host: '169.254.169.254',
      },
      'request body',
    );
    expect(answer).toMatchObject({ status: 200, body: 'answer to /base/latest/api/token?x=1' });
    expect(answer.headers['x-aws-ec2-metadata-token-ttl-seconds']).toBe('21600');
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request).toMatchObject({ method: 'PUT', url: '/base/latest/api/token?x=1', body: 'request body' });
    expect(request?.headers).toMatchObject({
      'x-instance-id': 'i-vm1',
      'x-instance-id-signature': metadataSignature(SECRET, 'i-vm1'),
      'x-tenant-id': 'p-one',
      'x-aws-ec2-metadata-token-ttl-seconds': '60',
      host: '169.254.169.254',
    });
    expect(request?.headers['x-forwarded-for']).toBeUndefined();
  });

  it('passes the service status through and refuses a request without an instance id', async () => {
    seen.length = 0;
    expect(await ask(socketPath, 'GET', '/openstack/latest/meta_data.json', { 'x-instance-id': 'i-vm2' })).toMatchObject({
      status: 404,
      body: 'answer to /base/openstack/latest/meta_data.json',
    });
    expect((await ask(socketPath, 'GET', '/latest/meta-data/', {})).status).toBe(400);
    expect(seen.map((s) => s.headers['x-instance-id-signature'])).toEqual([metadataSignature(SECRET, 'i-vm2')]);
  });

  it('answers 502 when the metadata service is down', async () => {
    const down = await startMetadataForwarder({
      socketPath: path.join(dir, 'down.sock'),
      metadataUrl: 'http://127.0.0.1:1/',
      secret: SECRET,
      logger: createLogger('test', 'silent'),
    });
    try {
      expect((await ask(path.join(dir, 'down.sock'), 'GET', '/', { 'x-instance-id': 'i-vm1' })).status).toBe(502);
    } finally {
      await down.close();
    }
  });

  it('uses the header names of the contracts, as the proxy does', () => {
    expect(PROXY_IDENTITY_HEADERS).toEqual({ instanceId: METADATA_HEADERS.instanceId, projectId: METADATA_HEADERS.projectId, portId: METADATA_HEADERS.portId });
    expect(signedHeaders({ 'x-instance-id': '' }, SECRET)).toBeNull();
    expect(signedHeaders({ 'x-instance-id': 'i-1', connection: 'close' }, SECRET)).toEqual({
      'x-instance-id': 'i-1',
      'x-instance-id-signature': metadataSignature(SECRET, 'i-1'),
    });
  });
});
