import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import https from 'node:https';

/**
 * Where a relayed request goes: a unix socket (proxy -> agent), or a base URL whose path the
 * request's path is appended to (agent -> metadata service).
 */
export type RelayTarget = { readonly socketPath: string } | { readonly base: URL };

/** How long the next hop gets to answer before the client gets a 504. */
const ANSWER_TIMEOUT_MS = 30_000;

// RFC 9110 7.6.1: meaningful for one connection only. Node frames both sides itself
// (Content-Length or chunked), so a forwarded Transfer-Encoding would only contradict it.
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/** The headers minus the hop-by-hop ones, including those the Connection header names. */
export function withoutHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = String(headers.connection ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  const drop = new Set([...HOP_BY_HOP, ...named]);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !drop.has(name)) out[name] = value;
  return out;
}

/** A short plain-text answer of our own (never the next hop's). */
export function replyText(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end(`${text}\n`);
}

/**
 * Sends the request (method, path, body, `headers`) to the target and streams the answer
 * back: status, headers (minus hop-by-hop) and body. An unreachable or silent next hop is a
 * 502/504 to the client. The caller has checked that `req.url` is a path (origin form): an
 * absolute URL must never choose the destination.
 */
export function relayHttp(req: IncomingMessage, res: ServerResponse, target: RelayTarget, headers: OutgoingHttpHeaders, onError: (error: Error) => void): void {
  const path = req.url ?? '/';
  const options: http.RequestOptions =
    'socketPath' in target
      ? { socketPath: target.socketPath, path }
      : {
          protocol: target.base.protocol,
          hostname: target.base.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: target.base.port === '' ? undefined : Number(target.base.port),
          path: `${target.base.pathname.replace(/\/+$/, '')}${path}`,
        };
  const send = 'base' in target && target.base.protocol === 'https:' ? https.request : http.request;
  const upstream = send({ ...options, method: req.method, headers });
  let timedOut = false;
  upstream.setTimeout(ANSWER_TIMEOUT_MS, () => {
    timedOut = true;
    upstream.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`));
  });
  upstream.on('response', (answer) => {
    res.writeHead(answer.statusCode ?? 502, withoutHopByHop(answer.headers));
    answer.on('error', () => res.destroy());
    answer.pipe(res);
  });
  upstream.on('error', (error) => {
    onError(error);
    replyText(res, timedOut ? 504 : 502, 'metadata service unavailable');
  });
  req.on('error', () => upstream.destroy());
  // the client went away before the answer was complete: stop the next hop's work too
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}
