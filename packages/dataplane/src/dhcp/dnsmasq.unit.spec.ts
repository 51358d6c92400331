import { type DhcpServerIntent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { expectGolden } from './__fixtures__/golden.js';
import { P1, P2, P3, STATE, isolated, server1 } from './__fixtures__/intent.js';
import { dnsmasqArgv, hostsReloadSafe, leasesBackedByHosts, renderDhcpHosts, renderDhcpOpts } from './dnsmasq.js';
import { dhcpServerDir } from './paths.js';

const dir = dhcpServerDir(STATE, server1.networkId);

describe('dnsmasqArgv', () => {
  it('renders the command line of a dual-stack server', () => {
    expectGolden('server1.argv', `${dnsmasqArgv(server1, dir).join('\n')}\n`);
  });

  it('renders an IPv4-only server with a small lease max', () => {
    const argv = dnsmasqArgv(isolated, dhcpServerDir(STATE, isolated.networkId));
    expect(argv.slice(0, 5)).toEqual(['ip', 'netns', 'exec', 'qdhcp-5e7a0002', 'dnsmasq']);
    expect(argv).toContain('--dhcp-lease-max=16');
    expect(argv.at(-1)).toBe('--dhcp-range=set:subnet-c0000005-0000-4000-8000-000000000005,172.16.0.0,static,255.255.255.240,600s');
  });

  it('refuses what must not reach dnsmasq', () => {
    expect(() => dnsmasqArgv({ ...server1, ifname: '--conf-file=/x' }, dir)).toThrow(/ifname/);
    expect(() => dnsmasqArgv({ ...server1, domain: 'a,b' }, dir)).toThrow(/domain/);
    const [v4] = server1.subnets;
    if (v4 === undefined) throw new Error('fixture');
    expect(() => dnsmasqArgv({ ...server1, subnets: [{ ...v4, cidr: '10.0.0.1/24' }] }, dir)).toThrow(/host bits/);
    expect(() => dnsmasqArgv({ ...server1, subnets: [{ ...v4, mode: 'dhcpv6-stateful' }] }, dir)).toThrow(/needs an IPv6 CIDR/);
    expect(() => dnsmasqArgv({ ...server1, subnets: [{ ...v4, gatewayIp: '2001:db8::1' }] }, dir)).toThrow(/not an IPv4 address/);
  });
});

/** A rendering of a valid intent: no port errors, and the text its golden file holds. */
function expectCleanGolden(name: string, rendered: { text: string; portErrors: readonly unknown[] }): void {
  expect(rendered.portErrors).toEqual([]);
  expectGolden(name, rendered.text);
}

describe('renderDhcpHosts', () => {
  it('writes one static lease per address on an addressed subnet, ports sorted', () => {
    expectCleanGolden('server1.host', renderDhcpHosts(server1));
  });

  it('skips a bad port with an error and keeps the others', () => {
    const bad: DhcpServerIntent = {
      ...server1,
      hosts: [
        ...server1.hosts,
        { portId: P3, macAddress: 'FA:16:3E:00:00:03', hostname: 'vm-3', ipAddresses: ['10.0.0.13'], extraOptions: [] },
        { portId: 'b0000004-0000-4000-8000-000000000004', macAddress: 'fa:16:3e:00:00:04', hostname: 'vm-4', ipAddresses: ['10.0.0.256'], extraOptions: [] },
        { portId: 'b0000005-0000-4000-8000-000000000005', macAddress: 'fa:16:3e:00:00:02', hostname: 'vm-5', ipAddresses: ['10.0.0.15'], extraOptions: [] },
      ],
    };
    const hosts = renderDhcpHosts(bad);
    expect(hosts.text).toBe(renderDhcpHosts(server1).text);
    expect(hosts.portErrors).toEqual([
      { portId: P3, error: 'macAddress: must be a lower-case MAC address' },
      { portId: 'b0000004-0000-4000-8000-000000000004', error: 'ipAddresses.0: must be an IP address' },
      { portId: 'b0000005-0000-4000-8000-000000000005', error: `MAC fa:16:3e:00:00:02 is also the MAC of port ${P2}` },
    ]);
  });

  it('tags only the ports with extra options (dnsmasq 2.90 crashes reloading tagged leases)', () => {
    const text = renderDhcpHosts(server1).text;
    expect(text).toContain(`fa:16:3e:00:00:01,vm-1.openstacklocal,10.0.0.11,set:port-${P1}\n`);
    expect(text).toContain('fa:16:3e:00:00:02,vm-2.openstacklocal,10.0.0.12\n');
    expect(hostsReloadSafe(null, renderDhcpHosts(isolated).text)).toBe(true);
    expect(hostsReloadSafe(renderDhcpHosts(isolated).text, text)).toBe(false);
  });
});

describe('renderDhcpOpts', () => {
  it('renders subnet and port options', () => {
    expectCleanGolden('server1.opts', renderDhcpOpts(server1));
  });

  it('sends an empty router option without a gateway, and no DNS servers without any', () => {
    expectGolden('isolated.opts', renderDhcpOpts(isolated).text);
    expect(renderDhcpOpts(isolated).text).not.toContain('dns-server');
  });

  it('keeps a default host route instead of adding one', () => {
    const [v4] = server1.subnets;
    if (v4 === undefined) throw new Error('fixture');
    const own = renderDhcpOpts({ ...server1, subnets: [{ ...v4, hostRoutes: [{ destination: '0.0.0.0/0', nexthop: '10.0.0.254' }] }], hosts: [] });
    expect(own.text).toContain('option:classless-static-route,0.0.0.0/0,10.0.0.254\n');
    const none = renderDhcpOpts({ ...server1, subnets: [{ ...v4, hostRoutes: [] }], hosts: [] });
    expect(none.text).not.toContain('classless');
  });
});

describe('leasesBackedByHosts', () => {
  const hosts = 'fa:16:3e:00:00:01,host-10-0-0-5.openstacklocal,10.0.0.5\nfa:16:3e:00:00:01,host-10-0-0-5.openstacklocal,[2001:db8::5]\n';
  const leases = [
    '1795420006 fa:16:3e:00:00:01 10.0.0.5 host-10-0-0-5 01:fa:16:3e:00:00:01',
    '1795420006 fa:16:3e:00:00:02 10.0.0.6 host-10-0-0-6 *',
    '1795420006 fa:16:3e:00:00:01 10.0.0.7 * *',
    'duid 00:01:00:01:30:c5:71:0b:fa:16:3e:00:00:02',
    '1795420006 2337 2001:db8::5 host-10-0-0-5 00:01:00:01:30:c5:71:0b:fa:16:3e:00:00:01',
    '1795420006 2338 2001:db8::6 * 00:01:00:01:30:c5:71:0b:fa:16:3e:00:00:03',
    '',
  ].join('\n');

  it('keeps the leases of static hosts (and the duid line), drops the others', () => {
    expect(leasesBackedByHosts(leases, hosts).split('\n')).toEqual([
      '1795420006 fa:16:3e:00:00:01 10.0.0.5 host-10-0-0-5 01:fa:16:3e:00:00:01',
      'duid 00:01:00:01:30:c5:71:0b:fa:16:3e:00:00:02',
      '1795420006 2337 2001:db8::5 host-10-0-0-5 00:01:00:01:30:c5:71:0b:fa:16:3e:00:00:01',
      '',
    ]);
  });

  it('leaves a file without stale leases unchanged', () => {
    const clean = leasesBackedByHosts(leases, hosts);
    expect(leasesBackedByHosts(clean, hosts)).toBe(clean);
    expect(leasesBackedByHosts('', hosts)).toBe('');
  });
});
