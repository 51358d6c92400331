import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eui64Address, formatIp, parseCidr } from '@ncp/netaddr';
import { TEST_METADATA_SECRET, type TestStack, requireCommands, runDhclient, waitForDad, type AgentProcess } from '@ncp/testing';
import { type NeutronClient, type PortResource, type Resource } from '../api/client';
import { waitUntil } from '../support/eventually';
import { pingOnce } from '../support/probes';
import { ipv6Subnet } from '../support/resources';
import { routedRowsTopology, startNetAndComputeAgents, tearDownScenario, wireVeths } from '../support/stack';

const run = promisify(execFile);

/**
 * Instance metadata end to end on the real kernel: the metadata service decides, the network
 * agent (net-a1, row A) runs a proxy in each router namespace and in the DHCP namespace of a
 * network without a router, and workloads on cmp-b1 (row B, across VXLAN) ask with curl, and
 * with cloud-init's own OpenStack data source code. Tokens are required for EC2 reads
 * (METADATA_REQUIRE_TOKEN=true), so every EC2 read here goes through IMDSv2.
 */
// Debian's cloud-init is a module of Debian's python3 (not necessarily the first python3 on PATH).
const SYSTEM_PYTHON = '/usr/bin/python3';
const canRun = requireCommands([
  ['curl', '--version'],
  [SYSTEM_PYTHON, '-c', 'import cloudinit.sources.helpers.openstack'],
  ['rdisc6', '-V'],
  ['ndisc6', '-V'],
  ['arping', '-V'],
]);

describe.skipIf(!canRun)('instance metadata through the proxies', () => {
  let stack: TestStack;
  let api: NeutronClient;
  let netAgent: AgentProcess;
  const { topo, ns, create } = routedRowsTopology(['spine', 'net', 'cmp', 'up'], ['wa', 'wb', 'w6', 'wi', 'wd'], {
    spine: 'spine',
    hostA: 'net',
    hostB: 'cmp',
  });

  beforeAll(async () => {
    await create();
    // an upstream router on a flat external network (extnet0) of the network agent, with an
    // address of its own beyond it (2001:db8:ff::1, on lo)
    await wireVeths(topo, [[ns.net, 'ext0', ns.up, 'ext']]);
    await topo.addAddress(ns.up, 'ext', '2001:db8:e0::1/64');
    await topo.exec(ns.up, ['ip', 'addr', 'add', '2001:db8:ff::1/128', 'dev', 'lo']);
    ({ stack, api, netAgent } = await startNetAndComputeAgents(
      { METADATA_REQUIRE_TOKEN: 'true' },
      { hostNetns: ns.net, physnets: { extnet0: 'ext0' } },
      { hostNetns: ns.cmp },
    ));
  }, 180_000);

  // the stack removes the metadata proxies with the router and DHCP namespaces they run in
  afterAll(() => tearDownScenario(stack, topo));

  /** Polls `read` until `ok`; the failure shows the last value and the logs that explain it. */
  const waitFor = <T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 40_000): Promise<T> =>
    waitUntil(what, read, ok, {
      timeoutMs,
      intervalMs: 300,
      context: () => `agent net-a1:\n${netAgent.logs().slice(-4000)}\nmetadata:\n${stack.logs('metadata').slice(-3000)}`,
    });

  /** curl inside a workload: status and body. */
  async function curl(netns: string, url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string }> {
    const args = ['netns', 'exec', netns, 'curl', '-sS', '-g', '--max-time', '5', '-X', method, '-w', '\n%{http_code}'];
    for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
    const { stdout } = await run('ip', [...args, url], { timeout: 15_000 });
    const cut = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
  }

  const instance = (name: string, extra: Record<string, unknown> = {}) =>
    api.create<Resource & { hostname: string }>('instances', 'instance', {
      name,
      public_keys: [{ name: `${name}-key`, data: `ssh-ed25519 AAAAC3Nz${name} ${name}@example` }],
      ...extra,
    });

  /** A workload port of the instance on cmp-b1, in its own namespace, once ACTIVE. */
  async function workload(netns: string, networkId: string, instanceId: string, fixedIps?: unknown): Promise<PortResource> {
    const port = await api.create<PortResource>('ports', 'port', {
      network_id: networkId,
      device_id: instanceId,
      device_owner: 'compute:nova',
      'binding:host_id': 'cmp-b1',
      'binding:profile': { netns },
      ...(fixedIps === undefined ? {} : { fixed_ips: fixedIps }),
    });
    await waitFor(
      `port ${port.id} ACTIVE`,
      async () => (await api.get<{ port: { status: string } }>(`/v2.0/ports/${port.id}`)).body.port.status,
      (s) => s === 'ACTIVE',
    );
    return port;
  }

  const metaData = async (netns: string, base = 'http://169.254.169.254') =>
    JSON.parse((await curl(netns, `${base}/openstack/latest/meta_data.json`)).body) as Record<string, unknown>;
  /** The uuid of the first meta_data.json `read` gets that has one. */
  const servedUuid = async (what: string, read: () => Promise<Record<string, unknown>>, timeoutMs?: number): Promise<unknown> =>
    (await waitFor(what, read, (m) => m.uuid !== undefined, timeoutMs)).uuid;

  describe('a routed IPv4 network', () => {
    let a: Resource & { hostname: string };
    let b: Resource & { hostname: string };
    let portA: PortResource;
    let portB: PortResource;

    beforeAll(async () => {
      const net = await api.create('networks', 'network', { name: 'meta4', 'provider:network_type': 'vxlan' });
      const subnet = await api.create('subnets', 'subnet', { network_id: net.id, ip_version: 4, cidr: '10.80.0.0/24', enable_dhcp: false });
      const router = await api.create('routers', 'router', { name: 'r-meta' });
      expect((await api.put(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id })).status).toBe(200);
      a = await instance('alpha', { user_data: Buffer.from('#cloud-config\nhostname: alpha\n').toString('base64'), metadata: { role: 'db' } });
      b = await instance('beta');
      portA = await workload(ns.wa, net.id, a.id, [{ ip_address: '10.80.0.10' }]);
      portB = await workload(ns.wb, net.id, b.id, [{ ip_address: '10.80.0.11' }]);
      for (const [w, ip] of [
        [ns.wa, '10.80.0.10'],
        [ns.wb, '10.80.0.11'],
      ] as const) {
        await topo.exec(w, ['ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
        await topo.exec(w, ['ip', 'route', 'add', 'default', 'via', '10.80.0.1']);
      }
    }, 120_000);

    it('answers a workload with its own meta_data.json over IPv4', async () => {
      const meta = await waitFor(
        "meta_data.json from the router's proxy",
        () => metaData(ns.wa),
        (m) => m.uuid === a.id,
      );
      expect(meta).toMatchObject({
        uuid: a.id,
        hostname: 'alpha',
        name: 'alpha',
        meta: { role: 'db' },
        public_keys: { 'alpha-key': 'ssh-ed25519 AAAAC3Nzalpha alpha@example' },
      });
      const versions = await curl(ns.wa, 'http://169.254.169.254/openstack');
      expect([versions.status, versions.body.split('\n').at(-1)]).toEqual([200, 'latest']);
    });

    it('answers the second workload with its own data, also when it forges identity headers', async () => {
      expect(await servedUuid("beta's meta_data.json", () => metaData(ns.wb))).toBe(b.id);
      const forged = await curl(ns.wb, 'http://169.254.169.254/openstack/latest/meta_data.json', {
        'X-Instance-ID': a.id,
        'X-Instance-ID-Signature': 'forged',
        'X-Tenant-ID': 'someone',
        'X-Forwarded-For': '10.80.0.10',
      });
      expect((JSON.parse(forged.body) as { uuid: string }).uuid).toBe(b.id);
      expect(portB.fixed_ips[0]?.ip_address).toBe('10.80.0.11');
    });

    it('IMDSv2 with tokens required: no token 401, a token of the caller works until its TTL', async () => {
      expect((await curl(ns.wa, 'http://169.254.169.254/latest/meta-data/instance-id')).status).toBe(401);
      const token = await curl(ns.wa, 'http://169.254.169.254/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '2' }, 'PUT');
      expect(token.status).toBe(200);
      const withToken = { 'X-aws-ec2-metadata-token': token.body };
      expect(await curl(ns.wa, 'http://169.254.169.254/latest/meta-data/local-ipv4', withToken)).toEqual({ status: 200, body: portA.fixed_ips[0]?.ip_address });
      expect((await curl(ns.wa, 'http://169.254.169.254/latest/meta-data/instance-id', withToken)).body).toBe(a.id);
      // alpha's token is no good for beta
      expect((await curl(ns.wb, 'http://169.254.169.254/latest/meta-data/instance-id', withToken)).status).toBe(401);
      // through a forwarding proxy inside the instance: refused
      expect(
        (await curl(ns.wa, 'http://169.254.169.254/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '60', 'X-Forwarded-For': '10.80.0.10' }, 'PUT'))
          .status,
      ).toBe(403);
      // refused once its 2 s are over (well within the 10 s this waits)
      const expired = await waitFor(
        'the 2 s token refused',
        () => curl(ns.wa, 'http://169.254.169.254/latest/meta-data/instance-id', withToken),
        (r) => r.status !== 200,
        10_000,
      );
      expect(expired.status).toBe(401);
    });

    it('refuses a request straight to the metadata service that no proxy signed', async () => {
      const unsigned = await fetch(`${stack.metadataUrl}/openstack/latest/meta_data.json`, { headers: { 'X-Instance-ID': a.id } });
      expect(unsigned.status).toBe(403);
      const misSigned = await fetch(`${stack.metadataUrl}/openstack/latest/meta_data.json`, {
        headers: { 'X-Instance-ID': a.id, 'X-Instance-ID-Signature': 'ab'.repeat(32) },
      });
      expect(misSigned.status).toBe(403);
      expect(TEST_METADATA_SECRET).not.toBe('');
    });

    it("cloud-init's OpenStack data source reads and parses meta_data.json, network_data.json and user_data", async () => {
      // cloud-init's own reader and network_data.json converter, as its OpenStack data source runs them
      const script = [
        'import json',
        'from cloudinit.sources.helpers import openstack',
        "reader = openstack.MetadataReader('http://169.254.169.254', timeout=5, retries=2)",
        'results = reader.read_v2()',
        `net = openstack.convert_net_json(results['networkdata'], known_macs={'${portA.mac_address}': 'eth0'})`,
        "ud = results.get('userdata')",
        "print(json.dumps({'uuid': results['metadata']['uuid'], 'hostname': results['metadata'].get('hostname'), 'keys': results['metadata'].get('public_keys'), 'userdata': ud.decode() if isinstance(ud, bytes) else ud, 'network': net}))",
      ].join('\n');
      const { stdout } = await run('ip', ['netns', 'exec', ns.wa, SYSTEM_PYTHON, '-c', script], { timeout: 60_000 });
      const parsed = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
        uuid: string;
        hostname: string;
        keys: Record<string, string>;
        userdata: string;
        network: { version: number; config: { type: string; name?: string; mac_address?: string; subnets?: { type: string; address?: string }[] }[] };
      };
      expect(parsed.uuid).toBe(a.id);
      expect(parsed.hostname).toBe('alpha');
      expect(parsed.keys).toEqual({ 'alpha-key': 'ssh-ed25519 AAAAC3Nzalpha alpha@example' });
      expect(parsed.userdata).toBe('#cloud-config\nhostname: alpha\n');
      const eth0 = parsed.network.config.find((c) => c.type === 'physical');
      expect(eth0).toMatchObject({ name: 'eth0', mac_address: portA.mac_address });
      expect(eth0?.subnets?.[0]).toMatchObject({ type: 'static', address: '10.80.0.10' });
    }, 90_000);
  });

  it('answers an IPv6-only workload on fe80::a9fe:a9fe, found by its MAC in the neighbour table', async () => {
    const net = await api.create('networks', 'network', { name: 'meta6', 'provider:network_type': 'vxlan' });
    const subnet = await ipv6Subnet(api, net.id, '2001:db8:80::/64', 'slaac');
    const router = await api.create('routers', 'router', { name: 'r-meta6' });
    expect((await api.put(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id })).status).toBe(200);
    const c = await instance('gamma');
    await workload(ns.w6, net.id, c.id);
    await waitForDad(ns.w6);
    const meta = await waitFor(
      'meta_data.json over IPv6 link-local',
      () => metaData(ns.w6, 'http://[fe80::a9fe:a9fe%eth0]'),
      (m) => m.uuid !== undefined,
      60_000,
    );
    expect(meta.uuid).toBe(c.id);
    expect(meta.hostname).toBe('gamma');
    // no IPv4 on the workload at all
    const { stdout } = await run('ip', ['-n', ns.w6, '-4', '-j', 'addr', 'show', 'dev', 'eth0']);
    expect((JSON.parse(stdout) as { addr_info: unknown[] }[]).flatMap((l) => l.addr_info)).toEqual([]);
  }, 120_000);

  it("answers on a network without a router from the DHCP namespace, reached by the lease's route", async () => {
    const net = await api.create('networks', 'network', { name: 'isolated', 'provider:network_type': 'vxlan' });
    await api.create('subnets', 'subnet', { network_id: net.id, ip_version: 4, cidr: '10.81.0.0/24' });
    const d = await instance('delta');
    await workload(ns.wi, net.id, d.id);
    await waitFor(
      'a DHCP server',
      async () => (await api.get<{ agents: { dhcp_server: { status: string } }[] }>(`/v2.0/networks/${net.id}/dhcp-agents`)).body.agents[0]?.dhcp_server.status,
      (s) => s === 'ACTIVE',
    );
    const { lease, log } = await runDhclient(ns.wi, 'eth0', 'v4');
    // RFC 3442: 32 169.254.169.254 via the DHCP port, then the default route
    const routes = lease?.new_rfc3442_classless_static_routes ?? '';
    const viaDhcp = /^32 169 254 169 254 (\d+ \d+ \d+ \d+)/.exec(routes)?.[1]?.replace(/ /g, '.');
    expect(viaDhcp, log).toMatch(/^10\.81\.0\.\d+$/);
    await topo.exec(ns.wi, ['ip', 'addr', 'add', `${lease?.new_ip_address ?? ''}/24`, 'dev', 'eth0']);
    await topo.exec(ns.wi, ['ip', 'route', 'add', '169.254.169.254/32', 'via', viaDhcp ?? '']);
    expect(await servedUuid('meta_data.json from the DHCP namespace', () => metaData(ns.wi))).toBe(d.id);
  }, 120_000);

  /**
   * Issue 14: the metadata address was on the router's qr- and on the DHCP port of the same
   * network, and radvd advertised from it, so the workloads' default router resolved to either
   * at random. Here the network starts isolated (metadata from the DHCP namespace), gets a
   * router (metadata moves to the router), and loses it again (back to the DHCP namespace).
   */
  describe('a dual-stack network with a router, a DHCP server and the metadata proxy', () => {
    let net: Resource;
    let v4: Resource;
    let v6: Resource;
    let router: Resource;
    let port: PortResource;
    let dhcpMac: string;
    let inst: Resource & { hostname: string };

    const macs = (text: string): string[] =>
      [...new Set([...text.matchAll(/([0-9a-f]{2}(?::[0-9a-f]{2}){5})/gi)].map((m) => (m[1] ?? '').toLowerCase()))].sort();
    /** The MACs of every neighbour that answers a solicitation for fe80::a9fe:a9fe (ndisc6 waits for all). */
    const metadataNeighbours = async (): Promise<string[]> =>
      macs(
        (
          await run('ip', ['netns', 'exec', ns.wd, 'ndisc6', '-m', '-n', '-r', '2', '-w', '1500', 'fe80::a9fe:a9fe', 'eth0'], { timeout: 15_000 }).catch(
            (e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }),
          )
        ).stdout,
      );
    /** The MACs of every ARP reply for 169.254.169.254 (three requests, each answered by all who would). */
    const metadataArpers = async (): Promise<string[]> =>
      macs(
        (
          await run('ip', ['netns', 'exec', ns.wd, 'arping', '-c', '3', '-w', '4', '-I', 'eth0', '169.254.169.254'], { timeout: 15_000 }).catch(
            (e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }),
          )
        ).stdout,
      );
    const routerPorts = async (): Promise<PortResource[]> =>
      (await api.get<{ ports: PortResource[] }>(`/v2.0/ports?device_id=${router.id}&device_owner=network:router_interface`)).body.ports;
    const metaOverV6 = () => metaData(ns.wd, 'http://[fe80::a9fe:a9fe%eth0]');

    beforeAll(async () => {
      net = await api.create('networks', 'network', { name: 'dual-meta', 'provider:network_type': 'vxlan' });
      v4 = await api.create('subnets', 'subnet', { network_id: net.id, ip_version: 4, cidr: '10.82.0.0/24' });
      v6 = await ipv6Subnet(api, net.id, '2001:db8:82::/64', 'slaac');
      inst = await instance('epsilon');
      port = await workload(ns.wd, net.id, inst.id);
      await waitFor(
        'a DHCP server',
        async () =>
          (await api.get<{ agents: { dhcp_server: { status: string } }[] }>(`/v2.0/networks/${net.id}/dhcp-agents`)).body.agents[0]?.dhcp_server.status,
        (s) => s === 'ACTIVE',
      );
      dhcpMac =
        (await api.get<{ ports: PortResource[] }>(`/v2.0/ports?network_id=${net.id}&device_owner=network:dhcp`)).body.ports[0]?.mac_address.toLowerCase() ?? '';
      expect(dhcpMac).not.toBe('');
      await topo.exec(ns.wd, ['ip', 'addr', 'add', `${port.fixed_ips.find((f) => f.subnet_id === v4.id)?.ip_address ?? ''}/24`, 'dev', 'eth0']);
      await waitForDad(ns.wd);
    }, 120_000);

    it('while isolated, serves IPv6 metadata from the DHCP namespace, the DHCP port the only neighbour for fe80::a9fe:a9fe', async () => {
      expect(await servedUuid('meta_data.json over IPv6 from the DHCP namespace', metaOverV6, 60_000)).toBe(inst.id);
      expect(await metadataNeighbours()).toEqual([dhcpMac]);
      expect(await metadataArpers()).toEqual([dhcpMac]);
    }, 90_000);

    it("once routed: RAs from the router port's own link-local address, one neighbour for the metadata address, metadata and a loss-free default route", async () => {
      const ext = await api.create('networks', 'network', {
        name: 'ext6',
        'router:external': true,
        'provider:network_type': 'flat',
        'provider:physical_network': 'extnet0',
      });
      await api.create('subnets', 'subnet', { network_id: ext.id, ip_version: 6, cidr: '2001:db8:e0::/64', gateway_ip: '2001:db8:e0::1', enable_dhcp: false });
      const created = await api.create<Resource & { external_gateway_info: { external_fixed_ips: { ip_address: string }[] } }>('routers', 'router', {
        name: 'r-dual',
        external_gateway_info: { network_id: ext.id },
      });
      router = created;
      const gatewayIp = created.external_gateway_info.external_fixed_ips[0]?.ip_address ?? '';
      await topo.exec(ns.up, ['ip', '-6', 'route', 'add', '2001:db8:82::/64', 'via', gatewayIp]);
      for (const s of [v4, v6]) expect((await api.put(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: s.id })).status).toBe(200);
      await waitFor(
        'router ACTIVE',
        async () => (await api.get<{ router: { status: string } }>(`/v2.0/routers/${router.id}`)).body.router.status,
        (s) => s === 'ACTIVE',
      );
      const ports = await routerPorts();
      expect(ports).toHaveLength(2); // one port for the IPv4 subnet, one for the IPv6 one (as Neutron)
      const v6Port = ports.find((p) => p.fixed_ips.some((f) => f.subnet_id === v6.id));
      const routerLinkLocal = formatIp(6, eui64Address(parseCidr('fe80::/64'), v6Port?.mac_address ?? ''));
      const routerMacs = ports.map((p) => p.mac_address.toLowerCase());

      // the RA's source, and so the workload's default router, is the port's EUI-64 link-local address
      const from = async () =>
        /^\s*from\s+(\S+)/m.exec((await run('ip', ['netns', 'exec', ns.wd, 'rdisc6', '-1', '-r', '5', '-w', '2000', 'eth0'], { timeout: 30_000 })).stdout)?.[1];
      expect(await waitFor('an RA', from, (f) => f !== undefined)).toBe(routerLinkLocal);
      for (let i = 0; i < 3; i++) expect(await from()).toBe(routerLinkLocal);
      const defaultRoute = await waitFor(
        'the default route from the RA',
        () => topo.exec(ns.wd, ['ip', '-6', 'route', 'show', 'default']),
        (r) => r.includes('via'),
      );
      expect(defaultRoute).toContain(`via ${routerLinkLocal} dev eth0`);
      expect(defaultRoute).not.toContain('a9fe');

      // the metadata address moved from the DHCP port to one of the router's ports, and only there
      const [holder] = await waitFor(
        'one neighbour for fe80::a9fe:a9fe, a router port',
        metadataNeighbours,
        (m) => m.length === 1 && routerMacs.includes(m[0] ?? ''),
        60_000,
      );
      for (let i = 0; i < 3; i++) expect(await metadataNeighbours()).toEqual([holder]);
      expect(await servedUuid('meta_data.json over IPv6 from the router', metaOverV6)).toBe(inst.id);
      // IPv4: 169.254.169.254 is reached through the gateway; nobody on the segment answers
      // ARP for it any more (the DHCP port did while isolated, and the router never does)
      expect(await waitFor('no ARP answer for 169.254.169.254', metadataArpers, (m) => m.length === 0)).toEqual([]);
      await topo.exec(ns.wd, ['ip', 'route', 'add', 'default', 'via', '10.82.0.1']);
      expect(await servedUuid('meta_data.json over IPv4 through the router', () => metaData(ns.wd))).toBe(inst.id);

      // the default route: through the router to the upstream's own address, nothing lost
      const slaac = port.fixed_ips.find((f) => f.subnet_id === v6.id)?.ip_address ?? '';
      await waitFor(
        'the SLAAC address',
        () => topo.exec(ns.wd, ['ip', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'global']),
        (a) => a.includes(slaac) && !a.includes('tentative'),
      );
      await waitFor(
        'a first reply from upstream',
        () => pingOnce(topo, ns.wd, '2001:db8:ff::1'),
        (r) => r === 'answers',
      );
      const { stdout } = await run('ip', ['netns', 'exec', ns.wd, 'ping', '-6', '-n', '-c', '50', '-i', '0.05', '-W', '1', '2001:db8:ff::1'], {
        timeout: 60_000,
      });
      expect(/(\d+) packets transmitted, (\d+) received/.exec(stdout)?.slice(1)).toEqual(['50', '50']);
      // the default router resolves to the router's IPv6 port, the one that advertises
      expect(macs(await topo.exec(ns.wd, ['ip', '-6', 'neigh', 'show', routerLinkLocal, 'dev', 'eth0']))).toEqual([v6Port?.mac_address.toLowerCase()]);
    }, 180_000);

    it('once isolated again, the metadata address is back on the DHCP port alone and answers', async () => {
      for (const s of [v4, v6]) expect((await api.put(`/v2.0/routers/${router.id}/remove_router_interface`, { subnet_id: s.id })).status).toBe(200);
      await waitFor('one neighbour for fe80::a9fe:a9fe, the DHCP port', metadataNeighbours, (m) => m.length === 1 && m[0] === dhcpMac, 60_000);
      expect(await servedUuid('meta_data.json over IPv6 from the DHCP namespace again', metaOverV6)).toBe(inst.id);
      expect(await waitFor('the DHCP port answering ARP for 169.254.169.254 again', metadataArpers, (m) => m.length > 0)).toEqual([dhcpMac]);
    }, 120_000);
  });
});
