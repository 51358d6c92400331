import { readFile, stat } from 'node:fs/promises';
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { type MetadataEndpoint } from '@ncp/contracts';
import { isValidIp, normalizeIp, parseIp } from '@ncp/netaddr';
import { z } from 'zod';
import { parseToolJson } from '../json-output.js';
import { ExecFileRunner, type CommandRunner } from '../runner.js';
import { METADATA_IPV4, METADATA_IPV6, MetadataProxyConfigSchema } from './model.js';
import { relayHttp, replyText, withoutHopByHop } from './relay.js';

/**
 * The identity headers the proxy sets: the names of `METADATA_HEADERS` in @ncp/contracts
 * (the dataplane does not depend on contracts; the agent's tests check that they agree).
 * The signature is the agent's to add, as only it holds the secret.
 */
export const PROXY_IDENTITY_HEADERS = { instanceId: 'x-instance-id', projectId: 'x-tenant-id', portId: 'x-ncp-port-id' } as const;

/**
 * Headers an instance must not choose: every name that starts with one of these is removed
 * from what it sent (x-instance-id, x-instance-id-signature, x-tenant-id, any x-ncp-...).
 */
const IDENTITY_PREFIXES = ['x-instance-id', 'x-tenant-id', 'x-ncp-'];

/** The address a socket reports, in canonical text: IPv4-mapped IPv6 as IPv4, no zone (`%eth0`). */
export function canonicalAddress(address: string | undefined): string | null {
  if (address === undefined) return null;
  const plain = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(\.\d{1,3}){3})$/i.exec(plain);
  const ip = mapped?.[1] ?? plain;
  return isValidIp(ip) ? normalizeIp(ip) : null;
}

/** fe80::/10 */
export function isLinkLocalIpv6(ip: string): boolean {
  if (!isValidIp(ip)) return false;
  const parsed = parseIp(ip);
  return parsed.version === 6 && parsed.value >> 118n === 0x3fan;
}

/** Whether a connection was made to the metadata address (the proxy listens on every address of its namespace). */
export function isMetadataAddress(localAddress: string | undefined): boolean {
  const local = canonicalAddress(localAddress);
  return local === METADATA_IPV4 || local === METADATA_IPV6;
}

export type CallerIdentity = { readonly ok: true; readonly endpoint: MetadataEndpoint } | { readonly ok: false; readonly reason: string };

const ports = (endpoints: readonly MetadataEndpoint[]): string => endpoints.map((e) => e.portId).join(', ');

/**
 * Who is asking. An IPv4 or global IPv6 source is the endpoint with that fixed address; an
 * IPv6 link-local source (what a query to fe80::a9fe:a9fe comes from) is the endpoint whose
 * MAC the namespace's neighbour table has for it (no EUI-64 guess: guests may use stable
 * privacy addresses). Exactly one endpoint must match. `neighbourMacs` are the MACs the
 * neighbour table has for the source: more than one (the address answers on two links) is
 * refused as ambiguous, and for an address-matched caller a table entry with another MAC than
 * the port's (someone answering ARP/ND for it) is refused too.
 */
export function identifyCaller(endpoints: readonly MetadataEndpoint[], source: string, neighbourMacs: readonly string[]): CallerIdentity {
  const ip = canonicalAddress(source);
  if (ip === null) return { ok: false, reason: `source ${source} is not an IP address` };
  const macs = [...new Set(neighbourMacs.map((m) => m.toLowerCase()))];
  if (macs.length > 1) return { ok: false, reason: `${ip} is ambiguous: the neighbour table has it with MACs ${macs.join(', ')}` };
  if (isLinkLocalIpv6(ip)) {
    const [mac] = macs;
    if (mac === undefined) return { ok: false, reason: `no neighbour entry (MAC) for link-local ${ip}` };
    const matches = endpoints.filter((e) => e.mac === mac);
    if (matches.length === 0) return { ok: false, reason: `no port has MAC ${mac} (of ${ip})` };
    if (matches.length > 1) return { ok: false, reason: `MAC ${mac} (of ${ip}) is on several ports: ${ports(matches)}` };
    return { ok: true, endpoint: matches[0] as MetadataEndpoint };
  }
  const matches = endpoints.filter((e) => e.addresses.some((a) => isValidIp(a) && normalizeIp(a) === ip));
  if (matches.length === 0) return { ok: false, reason: `no port has address ${ip}` };
  if (matches.length > 1) return { ok: false, reason: `address ${ip} is on several ports: ${ports(matches)}` };
  const endpoint = matches[0] as MetadataEndpoint;
  const [mac] = macs;
  if (mac !== undefined && mac !== endpoint.mac)
    return { ok: false, reason: `${ip} is port ${endpoint.portId}'s (MAC ${endpoint.mac}) but the neighbour table has it at ${mac}` };
  return { ok: true, endpoint };
}

/**
 * What is forwarded: the instance's headers minus hop-by-hop ones and minus every identity
 * header it sent, plus the identity of the endpoint. Everything else (X-Forwarded-For, the
 * EC2 token headers, Host) passes unchanged.
 */
export function forwardedHeaders(incoming: IncomingHttpHeaders, endpoint: MetadataEndpoint): OutgoingHttpHeaders {
  const headers = withoutHopByHop(incoming);
  for (const name of Object.keys(headers)) if (IDENTITY_PREFIXES.some((p) => name.startsWith(p))) delete headers[name];
  headers[PROXY_IDENTITY_HEADERS.instanceId] = endpoint.instanceId;
  headers[PROXY_IDENTITY_HEADERS.projectId] = endpoint.projectId;
  headers[PROXY_IDENTITY_HEADERS.portId] = endpoint.portId;
  return headers;
}

const NeighJson = z.array(z.object({ lladdr: z.string().optional(), state: z.array(z.string()).optional() }));

/** The MACs of `ip -j neigh show to <addr>`, without entries that have none or failed. */
export function parseNeighbourMacs(text: string): string[] {
  const entries = parseToolJson(NeighJson, text, 'ip -j neigh show');
  const usable = entries.filter((e) => e.lladdr !== undefined && !(e.state ?? []).some((s) => s === 'FAILED' || s === 'INCOMPLETE'));
  return [...new Set(usable.map((e) => (e.lladdr ?? '').toLowerCase()))];
}

/** The neighbour table of the namespace the proxy runs in (it is started inside it). */
export async function readNeighbourMacs(runner: CommandRunner, ip: string): Promise<string[]> {
  const address = canonicalAddress(ip);
  if (address === null) return [];
  return parseNeighbourMacs((await runner.run(['ip', '-j', 'neigh', 'show', 'to', address])).stdout);
}

/**
 * The endpoints of the config file, re-read when the file changes. The agent replaces it
 * atomically (a new inode), so a stat per request sees every change; one that does not
 * parse is logged and the previous endpoints stay.
 */
export class EndpointsFile {
  private version = '';
  private endpoints: readonly MetadataEndpoint[] = [];

  constructor(
    private readonly file: string,
    private readonly log: (line: string) => void,
  ) {}

  /** The first read, which must succeed. */
  async load(): Promise<void> {
    const info = await stat(this.file);
    this.endpoints = MetadataProxyConfigSchema.parse(JSON.parse(await readFile(this.file, 'utf8'))).endpoints;
    this.version = `${info.ino}:${info.mtimeMs}:${info.size}`;
  }

  async current(): Promise<readonly MetadataEndpoint[]> {
    try {
      const info = await stat(this.file);
      const version = `${info.ino}:${info.mtimeMs}:${info.size}`;
      if (version !== this.version) {
        // taken before the parse: a bad file is logged once, not on every request
        this.version = version;
        this.endpoints = MetadataProxyConfigSchema.parse(JSON.parse(await readFile(this.file, 'utf8'))).endpoints;
        this.log(`config reloaded: ${this.endpoints.length} endpoint(s)`);
      }
    } catch (error) {
      this.log(`config ${this.file} not (re)loaded, keeping ${this.endpoints.length} endpoint(s): ${error instanceof Error ? error.message : String(error)}`);
    }
    return this.endpoints;
  }
}

export interface MetadataProxyOptions {
  readonly endpoints: Pick<EndpointsFile, 'current'>;
  /** the agent's forwarder */
  readonly forwardSocket: string;
  /** the neighbour table's MACs for an address; `ip -j neigh show` by default */
  readonly neighbours?: (ip: string) => Promise<string[]>;
  readonly log: (line: string) => void;
  /** how long to wait before the one second look at an empty neighbour table (link-local only) */
  readonly neighbourRetryMs?: number;
}

/**
 * The metadata proxy's HTTP server (not yet listening). Connections to any other local address
 * than the metadata ones are closed at once: the namespace has other addresses (a router's
 * gateway) where port 80 must not answer.
 */
export function createMetadataProxy(options: MetadataProxyOptions): http.Server {
  const runner = new ExecFileRunner({ timeoutMs: 5_000 });
  const neighbours = options.neighbours ?? ((ip: string) => readNeighbourMacs(runner, ip));
  const retryMs = options.neighbourRetryMs ?? 200;
  const { log } = options;

  const macsOf = async (ip: string): Promise<string[]> => {
    const macs = await neighbours(ip);
    if (macs.length > 0 || !isLinkLocalIpv6(ip)) return macs;
    // the neighbour solicitation for fe80::a9fe:a9fe creates the entry; should the request
    // still outrun it, one more look
    await new Promise((resolve) => setTimeout(resolve, retryMs));
    return neighbours(ip);
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const source = canonicalAddress(req.socket.remoteAddress) ?? String(req.socket.remoteAddress);
      try {
        if (!(req.url ?? '').startsWith('/')) {
          replyText(res, 400, 'bad request');
          return;
        }
        const endpoints = await options.endpoints.current();
        const who = identifyCaller(endpoints, source, await macsOf(source));
        if (!who.ok) {
          log(`refused ${req.method ?? '?'} ${req.url ?? ''} from ${source}: ${who.reason}`);
          replyText(res, 404, 'not found');
          return;
        }
        relayHttp(req, res, { socketPath: options.forwardSocket }, forwardedHeaders(req.headers, who.endpoint), (error) =>
          log(`forwarding ${req.method ?? '?'} ${req.url ?? ''} for port ${who.endpoint.portId} failed: ${error.message}`),
        );
      } catch (error) {
        log(`${req.method ?? '?'} ${req.url ?? ''} from ${source} failed: ${error instanceof Error ? error.message : String(error)}`);
        replyText(res, 500, 'internal error');
      }
    })();
  });
  server.on('connection', (socket) => {
    if (!isMetadataAddress(socket.localAddress)) socket.destroy();
  });
  return server;
}
