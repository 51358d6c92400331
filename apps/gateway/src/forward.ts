import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { MAX_BODY_BYTES, bodyTooLarge, neutronErrorBody } from '@ncp/nest-common';
import { mayRetry, type UpstreamPool } from './upstreams';
import { serviceOfPath, stripJsonSuffix } from './routing';

interface ForwardLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Headers of one hop (RFC 9110 7.6.1): never handed on. The body goes with its own length. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length']);

/** An attempt that got no answer: whether it reached the replica at all, and why it failed. */
class NoAnswer extends Error {
  constructor(
    readonly code: string | undefined,
    readonly reachedUpstream: boolean,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** How much of a body too large is read and dropped before the connection is given up. */
const DRAIN_BYTES = 4 * MAX_BODY_BYTES;

/**
 * The request's body, whole. One too large (sent chunked, so no length refused it up front) is
 * read to its end before the 413, up to a bound: leaving the way a refused body ended in the
 * middle of the connection would reset it, and the client's next request on it with it.
 */
async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > DRAIN_BYTES) throw bodyTooLarge();
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  if (size > MAX_BODY_BYTES) throw bodyTooLarge();
  return Buffer.concat(chunks);
}

function forwardedHeaders(req: IncomingMessage, body: Buffer): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  }
  // the services build links from the host and scheme the client used (Host is kept as sent)
  const remote = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior ? `${String(prior)}, ${remote}` : remote;
  headers['x-forwarded-proto'] ??= 'encrypted' in req.socket ? 'https' : 'http';
  const port = req.socket.localPort;
  if (port !== undefined) headers['x-forwarded-port'] ??= String(port);
  if (req.headers.host !== undefined) headers['x-forwarded-host'] ??= req.headers.host;
  if (body.length > 0 || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(req.method ?? 'GET')) headers['content-length'] = String(body.length);
  return headers;
}

/** One attempt on one replica; resolves once the answer's head is in and its body piped on. */
function attempt(upstream: string, req: IncomingMessage, res: ServerResponse, path: string, body: Buffer, timeoutMs: number): Promise<void> {
  const url = new URL(upstream);
  return new Promise<void>((resolve, reject) => {
    let reached = false;
    const out = request(
      // A connection per request (loopback or the compose network: cheap), as the proxy before
      // this one did: a pooled one the replica has just closed as idle would fail a write
      // that never reached it, and a POST that failed so is not sent again.
      { hostname: url.hostname, port: url.port, method: req.method, path, headers: forwardedHeaders(req, body), timeout: timeoutMs, agent: false },
      (answer) => {
        // the client's connection is the gateway's to keep or close, not the replica's
        const headers = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !HOP_BY_HOP.has(name) || name === 'content-length'));
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, headers);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
        resolve();
      },
    );
    out.on('socket', (socket) => {
      if (!socket.connecting) reached = true;
      else socket.once('connect', () => (reached = true));
    });
    out.on('timeout', () => out.destroy(Object.assign(new Error('the replica did not answer in time'), { code: 'ETIMEDOUT' })));
    out.on('error', (err: NodeJS.ErrnoException) => reject(new NoAnswer(err.code, reached, err)));
    out.end(body);
  });
}

/**
 * Hands a resource request to a replica of the service that owns the path, balancing over
 * the replicas. A replica that refuses the connection is passed over for a while and the
 * request goes to the next; a request that reached a replica which then failed without an
 * answer goes to the next only if it changes nothing (GET, HEAD), since the first may have
 * applied it. With no replica answering: a Neutron 503.
 */
export function forwarder(pool: UpstreamPool, logger: ForwardLogger, timeoutMs = 120_000) {
  return (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void => {
    const path = stripJsonSuffix(req.url ?? '/');
    const service = serviceOfPath(path);
    if (service === null) {
      next();
      return;
    }
    void (async () => {
      const body = await readBody(req);
      let lastError: NoAnswer | undefined;
      for (const upstream of pool.order(service, Date.now())) {
        try {
          await attempt(upstream, req, res, path, body, timeoutMs);
          pool.markUp(upstream);
          return;
        } catch (e) {
          if (!(e instanceof NoAnswer)) throw e;
          lastError = e;
          pool.markDown(upstream, Date.now());
          const retry = mayRetry(req.method ?? 'GET', e.code, e.reachedUpstream);
          logger.warn({ err: e, upstream, method: req.method, path, retry }, 'upstream request failed');
          if (!retry) break;
        }
      }
      if (res.headersSent) return;
      res.writeHead(503, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(neutronErrorBody('HTTPServiceUnavailable', 'The service is unavailable.', lastError?.message ?? '')));
    })().catch(next);
  };
}
