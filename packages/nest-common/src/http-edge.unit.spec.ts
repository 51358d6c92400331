import { describe, expect, it } from 'vitest';
import { badPathSegment, bodyParserError, clientErrorResponse, originForm, storableJsonReviver } from './http-edge';

describe('request targets', () => {
  it.each([
    ['/v2.0/networks?name=a', '/v2.0/networks?name=a'],
    ['http://127.0.0.1:9696/v2.0/networks', '/v2.0/networks'],
    ['HTTP://host/v2.0/ports?fields=id', '/v2.0/ports?fields=id'],
    ['http://host', '/'],
    ['http://host?x=1', '/?x=1'],
    ['*', null],
    ['v2.0/networks', null],
    ['http:/v2.0', null],
  ])('%s -> %s', (target, expected) => {
    expect(originForm(target)).toBe(expected);
  });
});

describe('ids in paths', () => {
  const notFound = { networks: (id: string) => ({ type: 'NetworkNotFound', message: `Network ${id} could not be found.` }) };
  const answer = (path: string) => {
    const e = badPathSegment(path, notFound);
    return e === null ? null : [e.getStatus(), e.getResponse()];
  };

  it('lets ids, collections and actions of the id alphabet through', () => {
    expect(answer('/v2.0/networks/7d8a0ab1-5f3c-4bb8-9a5b-3c3b2a1d0e9f')).toBeNull();
    expect(answer('/v2.0/routers/r1/add_router_interface')).toBeNull();
    expect(answer('/v2.0/networks/')).toBeNull();
    expect(answer('/openstack/2012-08-10/meta_data.json')).toBeNull();
  });

  it.each([
    ['a NUL', '/v2.0/networks/a%00b', 'a\u0000b'],
    ['a dot', '/v2.0/networks/a.b', 'a.b'],
    ['a space', '/v2.0/networks/a%20b', 'a b'],
    ['a wildcard', '/v2.0/networks/%3E/dhcp-agents', '>'],
  ])("answers an id with %s as the collection's 404", (_what, path, id) => {
    expect(answer(path)).toEqual([404, { NeutronError: { type: 'NetworkNotFound', message: `Network ${id} could not be found.`, detail: '' } }]);
  });

  it('answers other bad segments with a plain 404, and bad percent-encoding with a 400', () => {
    expect(answer('/v2.0/agents/a.b/dhcp-networks')?.[0]).toBe(404);
    expect(answer('/v2.0/networks/x/a%00')).toEqual([404, { NeutronError: { type: 'HTTPNotFound', message: 'The resource could not be found.', detail: '' } }]);
    expect(answer('/v2.0/networks/%E0%A4%A')?.[0]).toBe(400);
  });
});

describe('bodies', () => {
  it('refuses any key or string Postgres could not store while parsing', () => {
    const parse = (text: string): unknown => JSON.parse(text, storableJsonReviver);
    expect(parse('{"a": ["x", {"b": "\\ud83d\\ude00"}]}')).toEqual({ a: ['x', { b: '\uD83D\uDE00' }] });
    expect(() => parse('{"network": {"name": "a\\u0000"}}')).toThrow('Invalid input for name. Reason: it contains a NUL character.');
    expect(() => parse('{"vendor_data": {"k": "\\udc00"}}')).toThrow(/unpaired UTF-16 surrogate/);
    expect(() => parse('{"a\\u0000": 1}')).toThrow(/an attribute name/);
  });

  it.each([
    [{ type: 'entity.too.large', status: 413 }, 413, 'HTTPRequestEntityTooLarge'],
    [{ type: 'charset.unsupported', status: 415, charset: 'latin-9' }, 415, 'HTTPUnsupportedMediaType'],
    [{ type: 'encoding.unsupported', status: 415, encoding: 'zstd' }, 415, 'HTTPUnsupportedMediaType'],
    [{ type: 'entity.parse.failed', status: 400, message: 'Unexpected end of JSON input' }, 400, 'HTTPBadRequest'],
    [{ type: 'request.aborted', status: 400 }, 400, 'HTTPBadRequest'],
    [new Error('something odd'), 400, 'HTTPBadRequest'],
  ])("maps the body parser's %o to %i", (err, status, type) => {
    const e = bodyParserError(err);
    expect(e.getStatus()).toBe(status);
    expect(e.getResponse()).toMatchObject({ NeutronError: { type } });
  });
});

describe("the HTTP parser's refusals", () => {
  it.each([
    ['HPE_INVALID_HEADER_TOKEN', 400],
    ['HPE_HEADER_OVERFLOW', 431],
    ['ERR_HTTP_REQUEST_TIMEOUT', 408],
    [undefined, 400],
  ])('%s -> a whole response with a Neutron body (%i)', (code, status) => {
    const raw = clientErrorResponse(code);
    const [head = '', body = ''] = raw.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    expect(head).toContain(`Content-Length: ${Buffer.byteLength(body)}`);
    expect(JSON.parse(body)).toHaveProperty('NeutronError.type');
  });
});
