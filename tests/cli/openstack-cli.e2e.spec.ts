import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestKeystone, TestStack, requireKeystone } from '@ncp/testing';
import { OpenstackCli } from '../support/openstack-cli';

/**
 * The real `openstack` CLI (Debian python3-openstackclient) against the stack, through
 * the reference scenario, checking the values it prints. It logs in to a real Keystone with a
 * password and finds the API in the catalog, as an operator's CLI does; the stack validates
 * its tokens.
 */
const run = requireKeystone();
let keystone: TestKeystone;
let stack: TestStack;
let cli: OpenstackCli;
const openstack = (...args: string[]) => cli.run(...args);
const json = (...args: string[]) => cli.json(...args);

beforeAll(async () => {
  if (!run) return;
  keystone = await TestKeystone.start();
  stack = await TestStack.start(keystone.stackOptions());
  await keystone.registerService('network', 'neutron', stack.url);
  cli = await OpenstackCli.withPassword(keystone.url, keystone.admin);
});
afterAll(async () => {
  await stack?.stop();
  await keystone?.stop();
  await cli?.remove();
});

// Each command is a Python process (2 to 3 s of CPU here alone); a test runs 10 to 25 of them,
// several times slower while other tiers share the cores.
describe.runIf(run)('openstack CLI', { timeout: 360_000 }, () => {
  it('runs the reference scenario and prints the expected values', async () => {
    const scope = await json('address', 'scope', 'create', '--share', '--ip-version', '4', 'test-no-nat');
    expect([scope.name, scope.ip_version, scope.shared]).toEqual(['test-no-nat', 4, true]);

    const pool = await json(
      'subnet',
      'pool',
      'create',
      '--pool-prefix',
      '192.168.81.0/24',
      '--default-prefix-length',
      '26',
      '--address-scope',
      'test-no-nat',
      'nonat-pool-ip4',
    );
    expect([pool.prefixes, pool.default_prefixlen, pool.address_scope_id]).toEqual([['192.168.81.0/24'], 26, scope.id]);

    const pub = await json('network', 'create', '--share', '--external', '--provider-network-type', 'vxlan', 'Public-Net');
    expect([pub['router:external'], pub.shared, pub['provider:network_type']]).toEqual([true, true, 'vxlan']);

    const pubSubnet = await json(
      'subnet',
      'create',
      '--network',
      'Public-Net',
      '--subnet-pool',
      'nonat-pool-ip4',
      '--dns-nameserver',
      '8.8.8.8',
      'Public-Subnet',
    );
    expect([pubSubnet.cidr, pubSubnet.gateway_ip, pubSubnet.allocation_pools, pubSubnet.dns_nameservers]).toEqual([
      '192.168.81.0/26',
      '192.168.81.1',
      [{ start: '192.168.81.2', end: '192.168.81.62' }],
      ['8.8.8.8'],
    ]);

    await json('network', 'create', 'nonat-net-1');
    const tenant = await json('subnet', 'create', '--network', 'nonat-net-1', '--subnet-pool', 'nonat-pool-ip4', 'nonat-subnet-1');
    expect([tenant.cidr, tenant.gateway_ip, tenant.allocation_pools]).toEqual([
      '192.168.81.64/26',
      '192.168.81.65',
      [{ start: '192.168.81.66', end: '192.168.81.126' }],
    ]);

    const third = await json(
      'subnet',
      'create',
      '--network',
      'nonat-net-1',
      '--subnet-pool',
      'nonat-pool-ip4',
      '--prefix-length',
      '26',
      '--gateway',
      '192.168.81.129',
      '--allocation-pool',
      'start=192.168.81.140,end=192.168.81.150',
      'third-subnet',
    );
    expect([third.cidr, third.gateway_ip, third.allocation_pools]).toEqual([
      '192.168.81.128/26',
      '192.168.81.129',
      [{ start: '192.168.81.140', end: '192.168.81.150' }],
    ]);

    await json('network', 'create', 'v6net');
    const v6 = await json(
      'subnet',
      'create',
      '--network',
      'v6net',
      '--ip-version',
      '6',
      '--subnet-range',
      '2001:db8:0:1::/64',
      '--ipv6-ra-mode',
      'slaac',
      '--ipv6-address-mode',
      'slaac',
      'v6subnet',
    );
    expect([v6.ipv6_ra_mode, v6.ipv6_address_mode]).toEqual(['slaac', 'slaac']);
    const port = await json('port', 'create', '--network', 'v6net', '--mac-address', 'fa:16:3e:11:11:11', 'v6port');
    expect(port.fixed_ips).toEqual([{ subnet_id: v6.id, ip_address: '2001:db8:0:1:f816:3eff:fe11:1111' }]);

    // Reads, updates and deletes the way operators type them.
    expect((await openstack('subnet', 'pool', 'show', 'nonat-pool-ip4', '-f', 'value', '-c', 'prefixes')).trim()).toBe("['192.168.81.0/24']");
    const listed = JSON.parse(await openstack('port', 'list', '--network', 'v6net', '-f', 'json')) as { Name: string }[];
    expect(listed.map((p) => p.Name)).toEqual(['v6port']);
    await openstack('network', 'set', '--name', 'renamed', 'Public-Net');
    expect((await json('network', 'show', 'renamed')).revision_number).toBe(2);
    await openstack('subnet', 'pool', 'set', '--pool-prefix', '192.168.82.0/24', 'nonat-pool-ip4');
    expect((await json('subnet', 'pool', 'show', 'nonat-pool-ip4')).prefixes).toEqual(['192.168.81.0/24', '192.168.82.0/24']);
    const p2 = await json('port', 'create', '--network', 'nonat-net-1', '--fixed-ip', 'subnet=nonat-subnet-1,ip-address=192.168.81.70', 'p2');
    expect(p2.fixed_ips).toEqual([{ subnet_id: tenant.id, ip_address: '192.168.81.70' }]);
    const found = JSON.parse(await openstack('port', 'list', '--fixed-ip', 'ip-address=192.168.81.70', '-f', 'json')) as { ID: string }[];
    expect(found.map((p) => p.ID)).toEqual([p2.id]);
    await expect(openstack('subnet', 'delete', 'nonat-subnet-1')).rejects.toThrow(/One or more ports have an IP allocation from this subnet/);
    await openstack('port', 'delete', 'v6port');
    await openstack('network', 'delete', 'v6net');
    const networks = JSON.parse(await openstack('network', 'list', '-f', 'json')) as { Name: string }[];
    expect(networks.map((n) => n.Name).sort()).toEqual(['nonat-net-1', 'renamed']);
  });

  it('shares a network with one project, and lists its quotas, the way operators type them', async () => {
    const demo = await keystone.createProject('cli-demo');
    const net = await json('network', 'create', 'cli-private');
    const entry = await json('network', 'rbac', 'create', '--type', 'network', '--action', 'access_as_shared', '--target-project', demo, 'cli-private');
    expect([entry.object_type, entry.object_id, entry.action, entry.target_project_id]).toEqual(['network', net.id, 'access_as_shared', demo]);
    const listed = JSON.parse(await openstack('network', 'rbac', 'list', '-f', 'json')) as { ID: string; 'Object ID': string }[];
    expect(listed.find((e) => e.ID === entry.id)?.['Object ID']).toBe(net.id);
    await openstack('network', 'rbac', 'set', '--target-project', 'admin', entry.id);
    expect((await json('network', 'rbac', 'show', entry.id)).target_project_id).not.toBe(demo);
    await openstack('network', 'rbac', 'delete', entry.id);
    await expect(openstack('network', 'rbac', 'show', entry.id)).rejects.toThrow(/not found/i);

    // Debian 12's client (6.0) sets and shows quotas only with a compute endpoint in the catalog
    // (it makes a Nova client first): the limits are set through the API, and listed with the
    // network-only command it has
    const token = await keystone.token(keystone.admin);
    const set = await fetch(`${stack.url}/v2.0/quotas/${demo}`, {
      method: 'PUT',
      headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ quota: { port: 7, router: 3 } }),
    });
    expect(set.status).toBe(200);
    const detail = JSON.parse(await openstack('quota', 'list', '--network', '--detail', '--project', demo, '-f', 'json')) as {
      Resource: string;
      'In Use': number;
      Limit: number;
    }[];
    // the client names them as openstacksdk's quota attributes
    expect(
      detail.find((r) => r.Resource === 'routers'),
      JSON.stringify(detail),
    ).toMatchObject({ 'In Use': 0, Limit: 3 });
    expect(
      detail.find((r) => r.Resource === 'ports'),
      JSON.stringify(detail),
    ).toMatchObject({ 'In Use': 0, Limit: 7 });
  });

  it('creates, lists, shows and deletes security groups and their rules', async () => {
    const web = await json('security', 'group', 'create', '--description', 'front end', 'web');
    expect([web.name, web.description, web.stateful]).toEqual(['web', 'front end', true]);
    const groups = JSON.parse(await openstack('security', 'group', 'list', '-f', 'json')) as { Name: string }[];
    // the project's default group was made on its first use
    expect(groups.map((g) => g.Name).sort()).toEqual(['default', 'web']);
    const ssh = await json('security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', '--remote-ip', '192.0.2.0/24', 'web');
    // the CLI prints the ethertype as ether_type
    expect([ssh.direction, ssh.ether_type, ssh.protocol, ssh.port_range_min, ssh.port_range_max, ssh.remote_ip_prefix]).toEqual([
      'ingress',
      'IPv4',
      'tcp',
      22,
      22,
      '192.0.2.0/24',
    ]);
    await expect(
      openstack('security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', '--remote-ip', '192.0.2.0/24', 'web'),
    ).rejects.toThrow(/Security group rule already exists/);
    const rules = JSON.parse(await openstack('security', 'group', 'rule', 'list', 'web', '-f', 'json')) as { ID: string }[];
    expect(rules.map((r) => r.ID)).toContain(ssh.id);
    expect((await json('security', 'group', 'show', 'web')).id).toBe(web.id);
    await openstack('security', 'group', 'rule', 'delete', ssh.id);
    await openstack('security', 'group', 'delete', 'web');
    const left = JSON.parse(await openstack('security', 'group', 'list', '-f', 'json')) as { Name: string }[];
    expect(left.map((g) => g.Name)).toEqual(['default']);
  });

  it("sets ports' security groups, allowed address pairs and port security the way operators type them", async () => {
    await json('network', 'create', 'sg-cli-net');
    await json('subnet', 'create', '--network', 'sg-cli-net', '--subnet-range', '10.65.0.0/24', 'sg-cli-subnet');
    const app = await json('security', 'group', 'create', 'app');
    const dflt = await json('security', 'group', 'show', 'default');
    const groupsOf = async (port: string) => ((await json('port', 'show', port)).security_group_ids as string[]).sort();

    const plain = await json('port', 'create', '--network', 'sg-cli-net', 'p-plain');
    expect([plain.port_security_enabled, plain.security_group_ids]).toEqual([true, [dflt.id]]);
    const port = await json('port', 'create', '--network', 'sg-cli-net', '--security-group', 'app', 'p-app');
    expect(port.security_group_ids).toEqual([app.id]);
    // `port set --security-group` adds to the port's groups, `--no-security-group` clears them
    await openstack('port', 'set', '--security-group', 'default', 'p-app');
    expect(await groupsOf('p-app')).toEqual([app.id, dflt.id].sort());
    await openstack('port', 'unset', '--security-group', 'default', 'p-app');
    expect(await groupsOf('p-app')).toEqual([app.id]);

    await openstack(
      'port',
      'set',
      '--allowed-address',
      'ip-address=10.65.0.200,mac-address=fa:16:3e:aa:bb:cc',
      '--allowed-address',
      'ip-address=10.65.1.0/24',
      'p-app',
    );
    expect((await json('port', 'show', 'p-app')).allowed_address_pairs).toEqual([
      { ip_address: '10.65.0.200', mac_address: 'fa:16:3e:aa:bb:cc' },
      { ip_address: '10.65.1.0/24', mac_address: port.mac_address },
    ]);
    // port security goes off only with the pairs and groups gone in the same request
    await expect(openstack('port', 'set', '--disable-port-security', 'p-app')).rejects.toThrow(
      /Port Security must be enabled in order to have allowed address pairs/,
    );
    await openstack('port', 'unset', '--allowed-address', 'ip-address=10.65.0.200,mac-address=fa:16:3e:aa:bb:cc', 'p-app');
    await openstack('port', 'set', '--no-allowed-address', 'p-app');
    await expect(openstack('port', 'set', '--disable-port-security', 'p-app')).rejects.toThrow(/Port has security group associated/);
    await openstack('port', 'set', '--disable-port-security', '--no-security-group', 'p-app');
    const open = await json('port', 'show', 'p-app');
    expect([open.port_security_enabled, open.security_group_ids, open.allowed_address_pairs]).toEqual([false, [], []]);
    await expect(openstack('port', 'set', '--security-group', 'app', 'p-app')).rejects.toThrow(
      /Port security must be enabled and port must have an IP address/,
    );
    await openstack('port', 'set', '--enable-port-security', '--security-group', 'app', 'p-app');
    expect([(await json('port', 'show', 'p-app')).port_security_enabled, await groupsOf('p-app')]).toEqual([true, [app.id]]);

    const unfiltered = await json('port', 'create', '--network', 'sg-cli-net', '--disable-port-security', 'p-open');
    expect([unfiltered.port_security_enabled, unfiltered.security_group_ids]).toEqual([false, []]);
    const none = await json('port', 'create', '--network', 'sg-cli-net', '--no-security-group', 'p-none');
    expect([none.port_security_enabled, none.security_group_ids]).toEqual([true, []]);
    for (const p of ['p-plain', 'p-app', 'p-open', 'p-none']) await openstack('port', 'delete', p);
    await openstack('security', 'group', 'delete', 'app');
  });
});
