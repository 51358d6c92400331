import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestStack, runArgv, runDhclient, waitForDad, type AgentProcess } from '@ncp/testing';
import { waitUntil } from '../support/eventually';
import { OpenstackCli } from '../support/openstack-cli';
import { ipv6Subnet } from '../support/resources';
import { type NeutronClient, type PortResource, type Resource } from '../api/client';
import { routedRowsTopology, startNetAndComputeAgents, tearDownScenario } from '../support/stack';

/**
 * DHCPv4, SLAAC, DHCPv6 stateless and stateful end to end: the services decide, the agents
 * run dnsmasq (in qdhcp-<net8>, on the network agent net-a1) and radvd (in the router's
 * namespace), and real clients (dhclient, rdisc6, the kernel's SLAAC) in workload namespaces
 * on the compute agent cmp-b1 (another row, across VXLAN) get what the API says.
 */
let stack: TestStack;
let api: NeutronClient;
let netAgent: AgentProcess;
let cli: OpenstackCli;
let stateDir: string;
const { topo, ns, create } = routedRowsTopology(['spine', 'net', 'cmp'], ['wa', 'wb', 'wc', 'ws', 'wl'], { spine: 'spine', hostA: 'net', hostB: 'cmp' });

beforeAll(async () => {
  await create();

  stateDir = await mkdtemp(path.join(tmpdir(), 'ncp-dhcp-state-'));
  ({ stack, api, netAgent } = await startNetAndComputeAgents({}, { hostNetns: ns.net, stateDir }, { hostNetns: ns.cmp }));
  cli = await OpenstackCli.create(stack.url);
}, 180_000);

afterAll(async () => {
  await tearDownScenario(stack, topo, cli);
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

/** Polls `read` until `ok`; the failure shows the last value and the logs that explain it. */
const waitFor = <T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 40_000): Promise<T> =>
  waitUntil(what, read, ok, { timeoutMs, context: () => `agent net-a1:\n${netAgent.logs().slice(-4000)}\ndhcp:\n${stack.logs('dhcp').slice(-3000)}` });

const openstack = (...args: string[]) => cli.run(...args);

type DhcpAgent = { host: string; alive: boolean; agent_type: string; dhcp_server: { status: string } };
const dhcpAgents = async (networkId: string) => (await api.get<{ agents: DhcpAgent[] }>(`/v2.0/networks/${networkId}/dhcp-agents`)).body.agents;

async function network(name: string): Promise<Resource> {
  return api.create('networks', 'network', { name, 'provider:network_type': 'vxlan' });
}

/**
 * A workload port on cmp-b1, plugged into its own namespace, its addresses left to DHCP/SLAAC;
 * returned once ACTIVE, which on a network with a DHCP server includes that server's word.
 */
async function workload(netns: string, networkId: string, extra: Record<string, unknown> = {}): Promise<PortResource> {
  const port = await api.create<PortResource>('ports', 'port', { network_id: networkId, 'binding:host_id': 'cmp-b1', 'binding:profile': { netns }, ...extra });
  await waitFor(
    `port ${port.id} ACTIVE`,
    async () => (await api.get<{ port: { status: string } }>(`/v2.0/ports/${port.id}`)).body.port.status,
    (s) => s === 'ACTIVE',
  );
  await waitForDad(netns);
  return port;
}

/** rdisc6's answer as key -> values (a key repeats for several prefixes or servers). */
async function rdisc6(netns: string): Promise<Map<string, string[]>> {
  const stdout = await runArgv(['ip', 'netns', 'exec', netns, 'rdisc6', '-1', '-r', '5', '-w', '2000', 'eth0'], 30_000);
  const fields = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const m = /^\s*([^:]+?)\s*:\s*(.+?)\s*$/.exec(line);
    if (!m?.[1] || m[2] === undefined) continue;
    fields.set(m[1], [...(fields.get(m[1]) ?? []), m[2]]);
  }
  return fields;
}

/** The first RA a workload gets that carries a prefix, as rdisc6 shows it. */
const advertisement = (what: string, netns: string): Promise<Map<string, string[]>> =>
  waitFor(
    `an RA on the ${what} network`,
    () => rdisc6(netns),
    (f) => f.has('Prefix'),
  );

const addressesOf = async (netns: string) =>
  (
    JSON.parse(await runArgv(['ip', '-n', netns, '-j', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'])) as { addr_info: { local: string }[] }[]
  ).flatMap((l) => l.addr_info.map((a) => a.local));

/** Waits until the workload's kernel has formed the (EUI-64) address the API gave its port on a SLAAC subnet. */
async function slaacFormed(netns: string, port: PortResource, subnetId: string): Promise<void> {
  const address = port.fixed_ips.find((f) => f.subnet_id === subnetId)?.ip_address ?? '?';
  await waitFor(
    `the SLAAC address ${address} on the workload`,
    () => addressesOf(netns),
    (a) => a.includes(address),
    30_000,
  );
}

describe('DHCPv4 and stateful DHCPv6 on one network (dual stack)', () => {
  let net: Resource;
  let v4: Resource;
  let v6: Resource;
  let router: Resource;
  let wa: PortResource;

  beforeAll(async () => {
    net = await network('dual');
    v4 = await api.create('subnets', 'subnet', {
      network_id: net.id,
      ip_version: 4,
      cidr: '10.50.0.0/24',
      gateway_ip: '10.50.0.1',
      dns_nameservers: ['10.50.0.53', '10.50.0.54'],
      host_routes: [{ destination: '192.168.200.0/24', nexthop: '10.50.0.254' }],
    });
    v6 = await ipv6Subnet(api, net.id, '2001:db8:cafe:1::/64', 'dhcpv6-stateful', {
      allocation_pools: [{ start: '2001:db8:cafe:1::2', end: '2001:db8:cafe:1::ff' }],
    });
    router = await api.create('routers', 'router', { name: 'r-dual' });
    for (const s of [v4, v6]) expect((await api.put(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: s.id })).status).toBe(200);
  }, 60_000);

  it('places one DHCP server on the network agent and shows it (API and openstack CLI)', async () => {
    const agents = await waitFor(
      'DHCP server ACTIVE',
      () => dhcpAgents(net.id),
      (a) => a[0]?.dhcp_server.status === 'ACTIVE',
    );
    expect(agents).toHaveLength(1);
    expect(agents[0]).toMatchObject({ host: 'net-a1', alive: true, agent_type: 'DHCP agent' });
    const listed = JSON.parse(await openstack('network', 'agent', 'list', '--network', net.id, '-f', 'json')) as { Host: string }[];
    expect(listed.map((a) => a.Host)).toEqual(['net-a1']);
    const dhcpPorts = (await api.get<{ ports: PortResource[] }>(`/v2.0/ports?network_id=${net.id}&device_owner=network:dhcp`)).body.ports;
    expect(dhcpPorts).toHaveLength(1);
    expect(dhcpPorts[0]?.fixed_ips.map((f) => f.subnet_id).sort()).toEqual([v4.id, v6.id].sort());
  }, 60_000);

  it("hands dhclient exactly its port's address, the gateway, DNS servers, MTU and host routes", async () => {
    wa = await workload(ns.wa, net.id, { extra_dhcp_opts: [{ opt_name: 'ntp-server', opt_value: '10.50.0.123' }] });
    const ip = wa.fixed_ips.find((f) => f.subnet_id === v4.id)?.ip_address;
    const { lease, log } = await runDhclient(ns.wa, 'eth0', 'v4');
    expect(lease, log).not.toBeNull();
    // The port turned ACTIVE only once dnsmasq had it (the DHCP provisioning block): the very
    // first DISCOVER is answered.
    expect(log.match(/DHCPDISCOVER/g), log).toHaveLength(1);
    expect(lease).toMatchObject({
      new_ip_address: ip,
      new_subnet_mask: '255.255.255.0',
      new_routers: '10.50.0.1',
      new_domain_name_servers: '10.50.0.53 10.50.0.54',
      new_interface_mtu: '1450',
      new_domain_name: 'openstacklocal',
      new_ntp_servers: '10.50.0.123',
    });
    // RFC 3442 clients ignore the router option when option 121 is present: the default route
    // must be in it too (24.192.168.200.10.50.0.254 and 0.10.50.0.1, as dhclient spells them).
    expect(lease?.new_rfc3442_classless_static_routes).toBe('24 192 168 200 10 50 0 254 0 10 50 0 1');
  }, 60_000);

  it("hands dhclient -6 exactly its port's address from the pool, and RAs carry the M flag", async () => {
    const ip6 = wa.fixed_ips.find((f) => f.subnet_id === v6.id)?.ip_address;
    expect(ip6).toMatch(/^2001:db8:cafe:1::[0-9a-f]+$/);
    const { lease, log } = await runDhclient(ns.wa, 'eth0', 'v6');
    expect(lease?.new_ip6_address, log).toBe(ip6);
    const ra = await advertisement('dual-stack', ns.wa);
    expect(ra.get('Stateful address conf.')).toEqual(['Yes']);
    expect(ra.get('Stateful other conf.')).toEqual(['Yes']);
    expect(ra.get('Prefix')).toEqual(['2001:db8:cafe:1::/64']);
    expect(ra.get('Autonomous address conf.')).toEqual(['No']);
  }, 90_000);

  it("gives a second port its own lease, none to a deleted port's MAC, and its address to the next port", async () => {
    const doomed = await workload(ns.wb, net.id);
    expect((await runDhclient(ns.wb, 'eth0', 'v4')).lease?.new_ip_address).toBe(doomed.fixed_ips.find((f) => f.subnet_id === v4.id)?.ip_address);
    // the other workload sends from a MAC that is not its port's: its port has no port security
    const other = await workload(ns.wc, net.id, { port_security_enabled: false });
    expect((await api.delete(`/v2.0/ports/${doomed.id}`)).status).toBe(204);
    // The deleted port's MAC, sent from another workload's plug through a macvlan of its own
    // (the agent keeps eth0's MAC the port's): dnsmasq must no longer answer it once the port is gone.
    await runArgv(['ip', '-n', ns.wc, 'link', 'add', 'link', 'eth0', 'name', 'spoof0', 'type', 'macvlan', 'mode', 'bridge']);
    await runArgv(['ip', '-n', ns.wc, 'link', 'set', 'spoof0', 'address', doomed.mac_address, 'up']);
    // The deletion reaches dnsmasq through IPAM, DHCP's projection, KV and the agent: retry until it has.
    const gone = await waitFor(
      'no lease for the deleted port',
      () => runDhclient(ns.wc, 'spoof0', 'v4', 5),
      (r) => r.lease === null,
      60_000,
    );
    expect(gone.log).toMatch(new RegExp(`Listening on LPF/spoof0/${doomed.mac_address}`));
    await runArgv(['ip', '-n', ns.wc, 'link', 'del', 'spoof0']);
    // A new port given the deleted port's address gets it (dnsmasq forgot the old lease).
    const doomedIp = doomed.fixed_ips.find((f) => f.subnet_id === v4.id)?.ip_address;
    await workload(ns.wb, net.id, { fixed_ips: [{ subnet_id: v4.id, ip_address: doomedIp }] });
    const reused = await runDhclient(ns.wb, 'eth0', 'v4');
    expect(reused.lease?.new_ip_address, reused.log).toBe(doomedIp);
    expect((await runDhclient(ns.wc, 'eth0', 'v4')).lease?.new_ip_address).toBe(other.fixed_ips.find((f) => f.subnet_id === v4.id)?.ip_address);
  }, 120_000);

  it('keeps serving while its agent is killed, and the restarted agent adopts dnsmasq and radvd without restarting them', async () => {
    const pidOf = async (file: string) => Number((await readFile(path.join(stateDir, file), 'utf8')).trim());
    const dnsmasqPid = await pidOf(`dhcp/${net.id}/pid`);
    const radvdPid = await pidOf(`ra/${router.id}/radvd.pid`);
    const starts = netAgent.logs().split('agent started').length;
    await netAgent.kill('SIGKILL');
    const ip = wa.fixed_ips.find((f) => f.subnet_id === v4.id)?.ip_address;
    expect((await runDhclient(ns.wa, 'eth0', 'v4')).lease?.new_ip_address).toBe(ip);
    netAgent.start();
    await stack.waitForAgent('net-a1', true);
    // The new process's own first reconcile, not the old one's last.
    await waitFor(
      "the restarted agent's first pass",
      async () => netAgent.logs().split('agent started'),
      (parts) => parts.length > starts && parts.at(-1)?.includes('"dhcpServers":1') === true,
    );
    expect(await pidOf(`dhcp/${net.id}/pid`)).toBe(dnsmasqPid);
    expect(await pidOf(`ra/${router.id}/radvd.pid`)).toBe(radvdPid);
    expect(() => process.kill(dnsmasqPid, 0)).not.toThrow();
    expect((await runDhclient(ns.wa, 'eth0', 'v4')).lease?.new_ip_address).toBe(ip);
    expect((await dhcpAgents(net.id))[0]?.dhcp_server.status).toBe('ACTIVE');
  }, 90_000);
});

describe('router advertisements for SLAAC and DHCPv6 stateless', () => {
  let router: Resource;

  beforeAll(async () => {
    router = await api.create('routers', 'router', { name: 'r-v6' });
  });

  it('SLAAC: rdisc6 shows the prefix autonomous, and the kernel forms the EUI-64 address the API shows', async () => {
    const net = await network('slaac');
    const subnet = await ipv6Subnet(api, net.id, '2001:db8:0:1::/64', 'slaac');
    expect((await api.put(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id })).status).toBe(200);
    const port = await workload(ns.ws, net.id);
    const ra = await advertisement('SLAAC', ns.ws);
    expect(ra.get('Stateful address conf.')).toEqual(['No']);
    expect(ra.get('Stateful other conf.')).toEqual(['No']);
    expect(ra.get('Router lifetime')?.[0]).toMatch(/^30 \(/);
    expect(ra.get('Prefix')).toEqual(['2001:db8:0:1::/64']);
    expect(ra.get('On-link')).toEqual(['Yes']);
    expect(ra.get('Autonomous address conf.')).toEqual(['Yes']);
    expect(ra.get('Valid time')?.[0]).toMatch(/^86400 \(/);
    expect(ra.get('Pref. time')?.[0]).toMatch(/^14400 \(/);
    expect(ra.get('MTU')?.[0]).toMatch(/^1450 bytes/);
    await slaacFormed(ns.ws, port, subnet.id);
  }, 120_000);

  it('DHCPv6 stateless: A and O flags, RDNSS, and dhclient -6 -S gets the DNS server; the address comes from SLAAC', async () => {
    const net = await network('stateless');
    const subnet = await ipv6Subnet(api, net.id, '2001:db8:cafe:a::/64', 'dhcpv6-stateless', { dns_nameservers: ['2001:db8:cafe:a::e'] });
    expect((await api.put(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id })).status).toBe(200);
    await waitFor(
      'DHCP server ACTIVE',
      () => dhcpAgents(net.id),
      (a) => a[0]?.dhcp_server.status === 'ACTIVE',
    );
    const port = await workload(ns.wl, net.id);
    const ra = await advertisement('stateless', ns.wl);
    expect(ra.get('Stateful address conf.')).toEqual(['No']);
    expect(ra.get('Stateful other conf.')).toEqual(['Yes']);
    expect(ra.get('Autonomous address conf.')).toEqual(['Yes']);
    expect(ra.get('Recursive DNS server')).toEqual(['2001:db8:cafe:a::e']);
    const { lease, log } = await runDhclient(ns.wl, 'eth0', 'v6-stateless');
    expect(lease?.new_dhcp6_name_servers, log).toBe('2001:db8:cafe:a::e');
    expect(lease?.new_ip6_address).toBeUndefined();
    await slaacFormed(ns.wl, port, subnet.id);
  }, 120_000);

  it('refuses an invalid ipv6_ra_mode / ipv6_address_mode pair with a clear error', async () => {
    const net = await api.create('networks', 'network', { name: 'bad-modes' });
    const r = await api.post<{ NeutronError: { type: string; message: string } }>('/v2.0/subnets', {
      subnet: { network_id: net.id, ip_version: 6, cidr: '2001:db8:bad::/64', ipv6_ra_mode: 'slaac', ipv6_address_mode: 'dhcpv6-stateful' },
    });
    expect(r.status).toBe(400);
    expect(r.body.NeutronError.message).toMatch(/ipv6_ra_mode/);
  });
});
