import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { type MetadataEndpoint, type MetadataProxyIntent } from '@ncp/contracts';
import { processAlive, runArgv, waitForDad } from '@ncp/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnNamespaces } from '../__fixtures__/netns-suite.js';
import { reconcileRecorded } from '../__fixtures__/recorded.js';
import { isMetadataReadOnlyCommand, reconcileMetadata, type MetadataOptions } from './reconcile.js';

/*
 * A router namespace with one interface towards a workload namespace. The driver runs the
 * proxy (the built dist/metadata/proxy-main.js) in the router namespace; the test plays the
 * agent's forwarder with a unix-socket HTTP server that echoes what reaches it, and curl in
 * the workload plays the instance.
 *
 *   router qr-md0 10.77.0.1/24 ─── eth0 10.77.0.11/24 (+ .99, no port's), fe80::beef:1 workload
 *
 * The workload's only link-local address is fe80::beef:1, not derived from its MAC: the proxy
 * must find it by the neighbour table, not by EUI-64.
 */

const ROUTER = 'a77d0000-0000-4000-8000-000000000001';
const QR = 'qr-md0';
const MAC = '02:00:00:77:00:11';
const PROXY = path.resolve(__dirname, '..', '..', 'dist', 'metadata', 'proxy-main.js');
const endpoint: MetadataEndpoint = {
  portId: 'c7700011-0000-4000-8000-000000000011',
  instanceId: 'i-workload',
  projectId: 'p-seventy-seven',
  mac: MAC,
  addresses: ['10.77.0.11', '2001:db8:77::11'],
};
const other: MetadataEndpoint = {
  portId: 'c7700012-0000-4000-8000-000000000012',
  instanceId: 'i-other',
  projectId: 'p-other',
  mac: '02:00:00:77:00:12',
  addresses: ['10.77.0.12'],
};

interface Echo {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describeOnNamespaces('metadata proxy on real namespaces', ['curl'], (topo) => {
  const { ns, create } = topo.plan({ router: 'qrouter', wl: 'wl' });
  let tmp = '';
  let stateDir = '';
  let proxyDir = '';
  let forwardSocket = '';
  const received: Echo[] = [];
  // the agent's forwarder, as far as the proxy can tell: echoes what it got
  const forwarder = http.createServer((req, res) => {
    void text(req).then((body) => {
      const echo = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      received.push(echo);
      res.writeHead(200, { 'content-type': 'application/json', 'x-echo': 'yes' });
      res.end(JSON.stringify(echo));
    });
  });

  const intent = (endpoints: MetadataEndpoint[] = [other, endpoint]): MetadataProxyIntent => ({
    id: ROUTER,
    kind: 'router',
    namespace: ns.router,
    interfaces: [QR, 'qr-notplugged'],
    endpoints,
  });
  const reconcile = async (intents: MetadataProxyIntent[]): Promise<string[]> => {
    const options: MetadataOptions = { stateDir, namespaces: [ns.router], forwardSocket, proxyCommand: [process.execPath, PROXY] };
    return (await reconcileRecorded((recorder) => reconcileMetadata(intents, recorder, options), isMetadataReadOnlyCommand)).mutations;
  };
  /** curl in the workload; the status code is printed after the body. */
  const curl = async (...args: string[]): Promise<{ status: number; body: string }> => {
    const out = await runArgv(['ip', 'netns', 'exec', ns.wl, 'curl', '-sS', '-m', '5', '-w', '\n%{http_code}', ...args]);
    const at = out.lastIndexOf('\n');
    return { status: Number(out.slice(at + 1)), body: out.slice(0, at).trimEnd() };
  };
  const echoed = (body: string): Echo => JSON.parse(body) as Echo;
  const pidOf = (): number => Number(readFileSync(path.join(proxyDir, 'pid'), 'utf8').trim());

  beforeAll(async () => {
    if (!existsSync(PROXY)) throw new Error(`${PROXY} is missing: build @ncp/dataplane first (turbo builds it before test:int)`);
    tmp = mkdtempSync(path.join(tmpdir(), 'ncp-md-int-'));
    stateDir = path.join(tmp, 'state');
    proxyDir = path.join(stateDir, 'metadata', ROUTER);
    forwardSocket = path.join(tmp, 'forward.sock');
    await new Promise<void>((resolve) => forwarder.listen(forwardSocket, resolve));
    await create();
    await topo.addVethPair(ns.router, QR, ns.wl, 'eth0');
    // no kernel-made link-local address: the workload's is set by hand, below
    await runArgv(['ip', '-n', ns.wl, 'link', 'set', 'dev', 'eth0', 'address', MAC, 'addrgenmode', 'none']);
    await topo.linkUp(ns.router, QR);
    await topo.linkUp(ns.wl, 'eth0');
    await topo.addAddress(ns.router, QR, '10.77.0.1/24');
    await topo.addAddress(ns.wl, 'eth0', '10.77.0.11/24');
    await topo.addAddress(ns.wl, 'eth0', '10.77.0.99/24');
    await topo.addAddress(ns.wl, 'eth0', 'fe80::beef:1/64');
    await topo.addRoute(ns.wl, 'default', '10.77.0.1');
    await waitForDad(ns.router);
  });

  afterAll(async () => {
    // destroy() also kills what runs in the namespaces (the proxy)
    await topo.destroy();
    await new Promise((resolve) => forwarder.close(resolve));
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('adds the metadata addresses and starts the proxy inside the router namespace', async () => {
    expect(await reconcile([intent()])).toEqual([
      `ip -n ${ns.router} addr add 169.254.169.254/32 dev lo`,
      `ip -n ${ns.router} addr add fe80::a9fe:a9fe/64 dev ${QR} nodad preferred_lft 0`,
      `ip netns exec ${ns.router} ${process.execPath} ${PROXY} --config=${proxyDir}/config.json --pid-file=${proxyDir}/pid --socket=${forwardSocket} --log-file=${proxyDir}/proxy.log --daemon`,
    ]);
    const pid = pidOf();
    expect(processAlive(pid)).toBe(true);
    // what lets TestStack.stop() and Topology.destroy() kill it with the namespace
    expect((await runArgv(['ip', 'netns', 'pids', ns.router])).split('\n')).toContain(String(pid));
  });

  it('answers the workload over IPv4 with its own identity, whatever identity it claims', async () => {
    received.length = 0;
    const answer = await curl(
      '-H',
      'X-Instance-ID: i-other',
      '-H',
      'X-Instance-ID-Signature: forged',
      '-H',
      'X-Tenant-ID: p-other',
      '-H',
      'X-Forwarded-For: 192.0.2.1',
      'http://169.254.169.254/openstack/latest/meta_data.json',
    );
    expect(answer.status).toBe(200);
    const echo = echoed(answer.body);
    expect(echo).toMatchObject({ method: 'GET', url: '/openstack/latest/meta_data.json' });
    expect(echo.headers).toMatchObject({
      'x-instance-id': 'i-workload',
      'x-tenant-id': 'p-seventy-seven',
      'x-ncp-port-id': endpoint.portId,
      'x-forwarded-for': '192.0.2.1',
      host: '169.254.169.254',
    });
    expect(echo.headers['x-instance-id-signature']).toBeUndefined();

    const token = await curl(
      '-X',
      'PUT',
      '-H',
      'X-aws-ec2-metadata-token-ttl-seconds: 21600',
      '--data-binary',
      'a body',
      'http://169.254.169.254/latest/api/token',
    );
    expect(echoed(token.body)).toMatchObject({
      method: 'PUT',
      url: '/latest/api/token',
      body: 'a body',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '21600', 'x-instance-id': 'i-workload' },
    });
    expect(received).toHaveLength(2);
  });

  it('answers over IPv6 link-local, finding the workload by the MAC in the neighbour table', async () => {
    const answer = await curl('-g', '-H', 'X-Instance-ID: i-other', 'http://[fe80::a9fe:a9fe%25eth0]/latest/meta-data/instance-id');
    expect(answer.status).toBe(200);
    expect(echoed(answer.body).headers).toMatchObject({ 'x-instance-id': 'i-workload', 'x-ncp-port-id': endpoint.portId });
  });

  it("refuses a source no port has (404) and closes connections to the router's other addresses", async () => {
    received.length = 0;
    expect(await curl('--interface', '10.77.0.99', 'http://169.254.169.254/latest/meta-data/')).toEqual({ status: 404, body: 'not found' });
    await expect(curl('http://10.77.0.1/latest/meta-data/')).rejects.toThrow(/Empty reply|reset|Recv failure/);
    expect(received).toEqual([]);
    expect(readFileSync(path.join(proxyDir, 'proxy.log'), 'utf8')).toContain('refused GET /latest/meta-data/ from 10.77.0.99: no port has address 10.77.0.99');
  });

  it('a changed endpoint list reaches the running proxy without a restart or a mutating command', async () => {
    const pid = pidOf();
    expect(await reconcile([intent([other, { ...endpoint, instanceId: 'i-renamed' }])])).toEqual([]);
    expect(pidOf()).toBe(pid);
    const answer = await curl('http://169.254.169.254/latest/meta-data/instance-id');
    expect(echoed(answer.body).headers['x-instance-id']).toBe('i-renamed');
  });

  it("never sends from the metadata address: the router's own link-local address is its source towards the workload", async () => {
    // RFC 6724 would otherwise prefer fe80::a9fe:a9fe towards fe80::beef:1 (the longer common prefix)
    const route = await runArgv(['ip', '-n', ns.router, '-6', 'route', 'get', 'fe80::beef:1', 'oif', QR]);
    expect(route).toMatch(/ src fe80::/);
    expect(route).not.toContain('src fe80::a9fe:a9fe');
  });

  it('the sweep stops the proxy, removes its state and the metadata addresses; the metadata address then does not answer', async () => {
    const pid = pidOf();
    expect(await reconcile([])).toEqual([`ip -n ${ns.router} addr del 169.254.169.254/32 dev lo`, `ip -n ${ns.router} addr del fe80::a9fe:a9fe/64 dev ${QR}`]);
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(proxyDir)).toBe(false);
    expect(await runArgv(['ip', '-n', ns.router, 'addr', 'show'])).not.toMatch(/169\.254\.169\.254|fe80::a9fe:a9fe/);
    await expect(curl('--connect-timeout', '2', 'http://169.254.169.254/')).rejects.toThrow(/Connection refused|Failed to connect|timed out|No route/);
  });
});
