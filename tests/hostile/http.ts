import { Agent, request } from 'node:http';
import { connect } from 'node:net';

/** An answer as the client saw it: status, headers and the body as text. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/**
 * Sends a request exactly as given (any header value, any body bytes), with node:http
 * rather than fetch, which would normalise or refuse some of them.
 */
export function send(base: string, method: string, path: string, headers: Record<string, string>, body?: Buffer, timeoutMs = 60_000): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const chunked = headers['Transfer-Encoding'] === 'chunked';
    const all = { ...headers, ...(body !== undefined && !chunked ? { 'Content-Length': String(body.length) } : {}) };
    const req = request({ host: url.hostname, port: url.port, method, path, headers: all, agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== undefined) {
      // A server may answer (413) before it has read the whole body and close; the answer counts.
      req.on('error', () => undefined);
      if (chunked) {
        for (let i = 0; i < body.length; i += 1 << 20) req.write(body.subarray(i, i + (1 << 20)));
      } else {
        req.write(body);
      }
    }
    req.end();
  });
}

/** Writes raw bytes to a server and returns all it answers until it closes the connection. */
export function sendRaw(base: string, bytes: string, timeoutMs = 10_000): Promise<string> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(bytes));
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (out += d));
    socket.on('end', () => resolve(out));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(out);
    });
  });
}

/** Splits a raw HTTP/1.1 response into its status and its body. */
export function parseRaw(raw: string): { status: number; body: string } {
  const [head = '', ...rest] = raw.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  return { status, body: rest.join('\r\n\r\n') };
}
