import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { netnsExec } from '@ncp/testing';
import { eventually } from './eventually';

/**
 * Small TCP and UDP peers run with `node` in a namespace (`ip netns exec`), for scenarios that
 * judge a filter by real connections: a listener, a connect probe, a long-lived connection whose
 * echoes are counted as they come, and a UDP collector that lists every datagram's source.
 */

const spawnIn = (ns: string, script: string, args: readonly string[]): ChildProcessWithoutNullStreams =>
  spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script, ...args]);

/** Resolves once `child` printed a line matching `ready`; rejects if it exits first. */
function readyLine(child: ChildProcessWithoutNullStreams, ready: RegExp, what: string): Promise<void> {
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
      if (ready.test(output)) resolve();
    });
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('exit', (code) => reject(new Error(`${what} exited (${String(code)}): ${output.trim()}`)));
  });
}

const stopChild = async (child: ChildProcessWithoutNullStreams): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
};

const TCP_ECHO = `
const server = require('node:net').createServer((s) => { s.on('error', () => {}); s.pipe(s); });
server.listen({ port: Number(process.argv[1]), host: '::', ipv6Only: false }, () => console.log('listening'));
`;

/** A TCP echo server on every address of a namespace; `stop` kills it. */
export async function tcpEchoServer(ns: string, port: number): Promise<{ stop: () => Promise<void> }> {
  const child = spawnIn(ns, TCP_ECHO, [String(port)]);
  await readyLine(child, /^listening$/m, `TCP echo server in ${ns}`);
  return { stop: () => stopChild(child) };
}

const TCP_CONNECT = `
const [host, port] = process.argv.slice(1);
const s = require('node:net').connect({ host, port: Number(port) });
s.setTimeout(2000, () => { console.log('silent'); process.exit(0); });
s.on('connect', () => { console.log('connects'); process.exit(0); });
s.on('error', (e) => { console.log(e.code === 'ECONNREFUSED' ? 'refused' : 'silent'); process.exit(0); });
`;

/** One TCP connection attempt from a namespace (2 s): whether it was accepted, refused (RST) or went unanswered. */
export async function tcpConnect(ns: string, host: string, port: number): Promise<'connects' | 'refused' | 'silent'> {
  const out = (await netnsExec(ns, [process.execPath, '-e', TCP_CONNECT, host, String(port)], 15_000)).trim();
  if (out !== 'connects' && out !== 'refused' && out !== 'silent') throw new Error(`unexpected probe output: ${out}`);
  return out;
}

const TCP_STREAM = `
const [host, port] = process.argv.slice(1);
const s = require('node:net').connect({ host, port: Number(port) }, () => {
  console.log('connected');
  let n = 0;
  setInterval(() => s.write('ping ' + n++ + '\\n'), 200);
});
s.on('data', (d) => process.stdout.write(d));
s.on('error', (e) => { console.log('error ' + e.code); process.exit(1); });
s.on('close', () => { console.log('closed'); process.exit(1); });
`;

/**
 * One TCP connection (the same conntrack entry throughout) that sends a line every 0.2 s to an
 * echo server and counts the echoes: what a scenario watches while the filter changes around
 * an established flow.
 */
export class TcpStream {
  private output = '';

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (c: Buffer) => (this.output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (this.output += c.toString()));
  }

  static async open(ns: string, host: string, port: number): Promise<TcpStream> {
    const child = spawnIn(ns, TCP_STREAM, [host, String(port)]);
    const stream = new TcpStream(child);
    await readyLine(child, /^connected$/m, `TCP stream from ${ns} to ${host}:${port}`);
    return stream;
  }

  get echoes(): number {
    return this.output.match(/^ping \d+$/gm)?.length ?? 0;
  }

  /** Waits for `count` more echoes than there are now. */
  async moreEchoes(count: number, timeoutMs = 30_000): Promise<void> {
    const wanted = this.echoes + count;
    await eventually(
      `${count} more echoes`,
      async () => this.echoes,
      (n) => n >= wanted,
      { timeoutMs, intervalMs: 100, context: () => this.output.slice(-500) },
    );
  }

  close(): Promise<void> {
    return stopChild(this.child);
  }
}

const UDP_COLLECT = `
const socket = require('node:dgram').createSocket({ type: 'udp6', ipv6Only: false });
socket.on('message', (msg, rinfo) => console.log(rinfo.address.replace(/^::ffff:/, '') + ' ' + msg.toString()));
socket.bind(Number(process.argv[1]), () => console.log('ready'));
`;

/** A UDP listener on every address of a namespace that keeps each datagram as `<source> <payload>`. */
export class UdpCollector {
  private output = '';

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (c: Buffer) => (this.output += c.toString()));
  }

  static async start(ns: string, port: number): Promise<UdpCollector> {
    const child = spawnIn(ns, UDP_COLLECT, [String(port)]);
    const collector = new UdpCollector(child);
    await readyLine(child, /^ready$/m, `UDP collector in ${ns}`);
    return collector;
  }

  /** Every datagram so far, as `<source> <payload>`. */
  get received(): string[] {
    return this.output.split('\n').filter((l) => l !== '' && l !== 'ready');
  }

  /** Waits until a datagram with this payload came, and returns everything received by then. */
  async until(payload: string, timeoutMs = 20_000): Promise<string[]> {
    return eventually(
      `a datagram '${payload}'`,
      async () => this.received,
      (lines) => lines.some((l) => l.endsWith(` ${payload}`)),
      { timeoutMs, intervalMs: 100, context: () => this.output.slice(-500) },
    );
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

const UDP_SEND = `
const [source, host, port, payload] = process.argv.slice(1);
const socket = require('node:dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
socket.bind({ address: source }, () => socket.send(payload, Number(port), host, (e) => { if (e) { console.error(e.message); process.exit(1); } socket.close(); }));
`;

/** One datagram from a namespace, sent from the given local source address. */
export async function sendUdpFrom(ns: string, source: string, host: string, port: number, payload: string): Promise<void> {
  await netnsExec(ns, [process.execPath, '-e', UDP_SEND, source, host, String(port), payload]);
}
