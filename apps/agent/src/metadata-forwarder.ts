import { chmod, mkdir, rm } from 'node:fs/promises';
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import path from 'node:path';
import { METADATA_HEADERS, metadataSignature } from '@ncp/contracts';
import { relayHttp, replyText, withoutHopByHop } from '@ncp/dataplane';
import { type Logger } from '@ncp/nest-common';

/**
 * What goes to the metadata service for a proxy's request: its headers (minus hop-by-hop)
 * with the signature over the instance id the proxy set, replacing any signature that came
 * along. Null when the proxy set no instance id (nothing to sign: refused).
 */
export function signedHeaders(incoming: IncomingHttpHeaders, secret: string): OutgoingHttpHeaders | null {
  const headers = withoutHopByHop(incoming);
  const instanceId = headers[METADATA_HEADERS.instanceId];
  if (typeof instanceId !== 'string' || instanceId === '') return null;
  headers[METADATA_HEADERS.signature] = metadataSignature(secret, instanceId);
  return headers;
}

export interface MetadataForwarder {
  close(): Promise<void>;
}

/**
 * The agent's end of the metadata path: an HTTP server on a unix socket (mode 0600: root's
 * proxies only) where the proxies in the router and DHCP namespaces send what instances ask,
 * already carrying the caller's identity. Signing happens here, not in the proxies, so the
 * shared secret never reaches a process that runs in a namespace facing instances. Requests
 * and answers are streamed through unchanged otherwise (no X-Forwarded-For is added).
 */
export async function startMetadataForwarder(options: { socketPath: string; metadataUrl: string; secret: string; logger: Logger }): Promise<MetadataForwarder> {
  const { socketPath, secret, logger } = options;
  const base = new URL(options.metadataUrl);
  const server = http.createServer((req, res) => {
    if (!(req.url ?? '').startsWith('/')) {
      replyText(res, 400, 'bad request');
      return;
    }
    const headers = signedHeaders(req.headers, secret);
    if (headers === null) {
      replyText(res, 400, `${METADATA_HEADERS.instanceId} is required`);
      return;
    }
    relayHttp(req, res, { base }, headers, (err) =>
      logger.warn({ err, path: req.url, instanceId: headers[METADATA_HEADERS.instanceId] }, 'metadata request not forwarded'),
    );
  });
  await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o755 });
  // a socket file left by the previous agent process refuses the bind
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  // Until this chmod the socket has the umask's mode (0755 under root's 022): connecting needs
  // write permission, so nobody but root could connect in the meantime either.
  await chmod(socketPath, 0o600);
  server.on('error', (err) => logger.error({ err }, 'metadata forwarder error'));
  return {
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(socketPath, { force: true });
    },
  };
}
