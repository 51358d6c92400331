import { createServer, connect, type Server, type Socket } from 'node:net';

/** A message the server sent a client, as the proxy reads it from the protocol. */
export interface ProxiedMessage {
  readonly subject: string;
  readonly reply?: string;
}

interface Drop {
  readonly matches: (m: ProxiedMessage) => boolean;
  readonly resolve: (m: ProxiedMessage) => void;
}

const CRLF = Buffer.from('\r\n');

/**
 * A TCP proxy in front of a NATS server that can lose a message on its way to the client, as
 * a server that dies with messages in flight does: the server counts it delivered, the client
 * never reads it. Everything else passes both ways unchanged.
 */
export class LossyNatsProxy {
  private readonly sockets = new Set<Socket>();
  private drops: Drop[] = [];

  private constructor(private readonly server: Server) {}

  static async start(natsUrl: string): Promise<LossyNatsProxy> {
    // the first server of a list such as connectNats takes
    const [host = '127.0.0.1', port = '4222'] = (natsUrl.replace(/^nats:\/\//, '').split(',')[0] ?? '').split(':');
    const proxy = new LossyNatsProxy(createServer());
    proxy.server.on('connection', (client: Socket) => proxy.accept(client, host, Number(port)));
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', resolve);
    });
    return proxy;
  }

  /** Where clients connect (as `connectNats` takes it). */
  get url(): string {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
    return `nats://127.0.0.1:${address.port}`;
  }

  /** Loses the next message the server sends that `matches`; resolves with it once lost. */
  dropNext(matches: (m: ProxiedMessage) => boolean): Promise<ProxiedMessage> {
    return new Promise((resolve) => this.drops.push({ matches, resolve }));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, host: string, port: number): void {
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream);
    let pending: Buffer = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      pending = this.forward(pending, client);
    });
  }

  /** Sends on every whole protocol operation of `buffer` (but a dropped message); returns what is left. */
  private forward(buffer: Buffer, client: Socket): Buffer {
    let rest = buffer;
    for (;;) {
      const eol = rest.indexOf(CRLF);
      if (eol < 0) return rest;
      const line = rest.subarray(0, eol).toString('latin1');
      const [op, ...args] = line.split(' ');
      const isMessage = op === 'MSG' || op === 'HMSG';
      // MSG <subject> <sid> [reply] <bytes>; HMSG <subject> <sid> [reply] <header bytes> <bytes>
      const size = isMessage ? eol + 2 + Number(args.at(-1)) + 2 : eol + 2;
      if (rest.length < size) return rest;
      const operation = rest.subarray(0, size);
      rest = rest.subarray(size);
      if (isMessage) {
        const withReply = args.length === (op === 'MSG' ? 4 : 5);
        const message: ProxiedMessage = { subject: args[0] ?? '', reply: withReply ? args[2] : undefined };
        const drop = this.drops.find((d) => d.matches(message));
        if (drop) {
          this.drops = this.drops.filter((d) => d !== drop);
          drop.resolve(message);
          continue;
        }
      }
      client.write(operation);
    }
  }
}
