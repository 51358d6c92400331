import { STATUS_CODES } from 'node:http';
import { HttpException } from '@nestjs/common';
import { isIdToken, unstorableText } from '@ncp/contracts';
import { type NeutronErrorBody } from './neutron/errors';

/**
 * What every service (and the gateway) answers before a request reaches a controller:
 * request lines in absolute form, ids in paths, bodies the JSON parser refuses and
 * requests the HTTP parser itself refuses. Each answer is a Neutron error body.
 */

/** The largest request body taken (Neutron's max_request_body_size is 114,688 bytes; ours allows bulk requests). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export function neutronErrorBody(type: string, message: string, detail = ''): NeutronErrorBody {
  return { NeutronError: { type, message, detail } };
}

/** An error a middleware hands on, answered as it is by the exception filter. */
export const httpError = (status: number, type: string, message: string, detail = '') => new HttpException(neutronErrorBody(type, message, detail), status);

export const bodyTooLarge = () => httpError(413, 'HTTPRequestEntityTooLarge', `Request is too large: the body may take at most ${MAX_BODY_BYTES} bytes.`);

/**
 * A request target as a server must accept it (RFC 9112 3.2): `http://host:9696/v2.0/networks`
 * (absolute form, as proxies send) becomes `/v2.0/networks`; null when it is neither form.
 */
export function originForm(target: string): string | null {
  if (target.startsWith('/')) return target;
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*([/?][^#]*)?$/.exec(target);
  if (!m) return null;
  const rest = m[1] ?? '/';
  return rest.startsWith('?') ? `/${rest}` : rest;
}

/**
 * Refuses, while JSON is parsed, any key or string Postgres could not store: the same
 * rule as the body schemas and the event store, so no body carries such text anywhere.
 */
export function storableJsonReviver(key: string, value: unknown): unknown {
  const keyProblem = unstorableText(key);
  if (keyProblem !== null) throw new Error(`Invalid input: an attribute name: ${keyProblem}.`);
  if (typeof value === 'string') {
    const problem = unstorableText(value);
    if (problem !== null) throw new Error(`Invalid input for ${key === '' ? 'body' : key}. Reason: ${problem}.`);
  }
  return value;
}

interface BodyParserError {
  readonly status?: unknown;
  readonly type?: unknown;
  readonly message?: unknown;
  readonly charset?: unknown;
  readonly encoding?: unknown;
}

/** The JSON body parser's errors (too large, malformed, charset or encoding) as Neutron's. */
export function bodyParserError(err: unknown): HttpException {
  const e = (typeof err === 'object' && err !== null ? err : {}) as BodyParserError;
  const message = typeof e.message === 'string' ? e.message : 'The request body could not be read.';
  switch (e.type) {
    case 'entity.too.large':
      return bodyTooLarge();
    case 'charset.unsupported':
      return httpError(415, 'HTTPUnsupportedMediaType', `Unsupported charset '${String(e.charset)}': send JSON in UTF-8.`);
    case 'encoding.unsupported':
      return httpError(415, 'HTTPUnsupportedMediaType', `Unsupported content encoding '${String(e.encoding)}'.`);
    case 'entity.parse.failed':
      return httpError(400, 'HTTPBadRequest', message.startsWith('Invalid input') ? message : `Malformed JSON in request body: ${message}`);
    default: {
      const status = typeof e.status === 'number' && e.status >= 400 && e.status < 500 ? e.status : 400;
      return httpError(status, status === 400 ? 'HTTPBadRequest' : 'HTTPError', `The request body could not be read: ${message}`);
    }
  }
}

export type NotFoundOf = (id: string) => { readonly type: string; readonly message: string };

/** Collections several services serve sub-resources of (`/v2.0/agents/<id>/...`, `/v2.0/networks/<id>/...`). */
export const AGENT_NOT_FOUND: NotFoundOf = (id) => ({ type: 'AgentNotFound', message: `Agent ${id} could not be found.` });
export const NETWORK_NOT_FOUND: NotFoundOf = (id) => ({ type: 'NetworkNotFound', message: `Network ${id} could not be found.` });

/** `pathIds` for startHttpService: each reader's own 404 under its path, plus `extra`. */
export function pathIdsOf(
  readers: readonly { readonly path: string; notFound: NotFoundOf }[],
  extra: Readonly<Record<string, NotFoundOf>> = {},
): Record<string, NotFoundOf> {
  return { ...extra, ...Object.fromEntries(readers.map((r) => [r.path, (id: string) => r.notFound(id)])) };
}

/**
 * The first path segment under `/v2.0/` that no id, collection or action can be (outside the
 * subject-token alphabet, NUL included), as the 404 Neutron gives for an unknown id: the
 * resource's own when the segment follows a collection in `notFound`, else a plain one.
 * null when every segment is fine. Malformed percent-encoding is a 400.
 */
export function badPathSegment(path: string, notFound: Readonly<Record<string, NotFoundOf>>): HttpException | null {
  if (!path.startsWith('/v2.0/')) return null;
  const segments = path.slice('/v2.0/'.length).split('/');
  for (let i = 0; i < segments.length; i++) {
    const raw = segments[i] ?? '';
    if (raw === '' && i === segments.length - 1) break;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return httpError(400, 'HTTPBadRequest', `Malformed percent-encoding in the path segment '${raw}'.`);
    }
    if (isIdToken(segment)) continue;
    const owner = i > 0 ? notFound[segments[i - 1] ?? ''] : undefined;
    if (owner) {
      const { type, message } = owner(segment);
      return httpError(404, type, message);
    }
    return httpError(404, 'HTTPNotFound', 'The resource could not be found.');
  }
  return null;
}

/**
 * The whole response to a request Node's HTTP parser refused (a malformed request line or
 * header, headers too large, a timeout): Node would close with a bare status line.
 */
export function clientErrorResponse(code: string | undefined): string {
  const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const type = status === 431 ? 'HTTPRequestHeaderFieldsTooLarge' : status === 408 ? 'HTTPRequestTimeout' : 'HTTPBadRequest';
  const message =
    status === 431
      ? 'The request headers are too large.'
      : status === 408
        ? 'The request took too long to arrive.'
        : 'The request could not be parsed as HTTP.';
  const body = JSON.stringify(neutronErrorBody(type, message, code ?? ''));
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}
