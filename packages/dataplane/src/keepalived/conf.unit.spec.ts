import { type RouterIntent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { goldenFiles } from '../__fixtures__/golden.js';
import { QG, QR, router1 } from '../l3/__fixtures__/intent.js';
import { haStateOf, keepalivedArgv, keepalivedRouter, parseLinkDetails, planHaLinks, planLegacyLinks, renderKeepalivedConf } from './conf.js';
import { keepalivedDir, keepalivedFiles } from './paths.js';

const expectGolden = goldenFiles('keepalived');
const HA = 'ha-c3000000000';
const haRouter: RouterIntent = {
  ...router1,
  routes: [...router1.routes, { destination: '10.60.0.0/16', nexthop: '172.16.100.253' }, { destination: '10.60.0.0/16', nexthop: '172.16.100.252' }],
  ha: { vrid: 7, priority: 50, interface: { portId: 'c3000000-0000-4000-8000-000000000003', ifname: HA, address: '169.254.192.5/18' } },
};
const MACS = new Map([
  [QR, 'fa:16:3e:00:00:01'],
  [QG, 'fa:16:3e:00:00:02'],
]);

describe('keepalived.conf', () => {
  it('renders an HA router: primary VIP on ha-, the router addresses, link-local gateways, floating IPs and routes excluded', () => {
    expectGolden('router1.keepalived.conf', renderKeepalivedConf(keepalivedRouter(haRouter, MACS)));
  });

  it('gives an interface not plugged yet its link-local address once its MAC is known', () => {
    const conf = renderKeepalivedConf(keepalivedRouter(haRouter, new Map([[QR, 'fa:16:3e:00:00:01']])));
    expect(conf).toContain(`fe80::f816:3eff:fe00:1/64 dev ${QR}\n`);
    expect(conf).not.toContain('fe80::f816:3eff:fe00:2');
  });

  it('adverts every half second unless the intent gives the interval; the schema takes only hundredths from 0.05 s', () => {
    expect(renderKeepalivedConf(keepalivedRouter(haRouter, MACS))).toContain('    advert_int 0.5\n');
    const ha = haRouter.ha ?? null;
    if (ha === null) throw new Error('fixture without HA');
    expect(renderKeepalivedConf(keepalivedRouter({ ...haRouter, ha: { ...ha, advertSeconds: 0.1 } }, MACS))).toContain('    advert_int 0.1\n');
    for (const bad of [0.01, 0.125, 41]) expect(() => keepalivedRouter({ ...haRouter, ha: { ...ha, advertSeconds: bad } }, MACS)).toThrow(/invalid intent/);
  });

  it('refuses an intent without HA settings, and a route with a nexthop on none of its subnets', () => {
    expect(() => keepalivedRouter(router1, MACS)).toThrow(/no HA settings/);
    expect(() => keepalivedRouter({ ...haRouter, routes: [{ destination: '10.70.0.0/16', nexthop: '192.0.2.1' }] }, MACS)).toThrow(/on no interface/);
  });

  it('runs keepalived in the router namespace with its own pid files', () => {
    const files = keepalivedFiles(keepalivedDir('/var/lib/ncp-agent', haRouter.id.toUpperCase()));
    expect(keepalivedArgv(haRouter.namespace, files)).toEqual([
      'ip',
      'netns',
      'exec',
      haRouter.namespace,
      'keepalived',
      '--vrrp',
      '-f',
      `/var/lib/ncp-agent/keepalived/${haRouter.id}/keepalived.conf`,
      '-p',
      `/var/lib/ncp-agent/keepalived/${haRouter.id}/keepalived.pid`,
      '-r',
      `/var/lib/ncp-agent/keepalived/${haRouter.id}/vrrp.pid`,
    ]);
  });
});

describe('HA interfaces and state', () => {
  const details = parseLinkDetails(
    JSON.stringify([
      { ifindex: 1, ifname: 'lo', address: '00:00:00:00:00:00', inet6_addr_gen_mode: 'eui64' },
      { ifindex: 2, ifname: QR, address: 'FA:16:3E:00:00:01', inet6_addr_gen_mode: 'eui64' },
      { ifindex: 3, ifname: QG, address: 'fa:16:3e:00:00:02', inet6_addr_gen_mode: 'none' },
      { ifindex: 4, ifname: HA, address: 'fa:16:3e:00:00:03', inet6_addr_gen_mode: 'eui64' },
    ]),
  );

  it('parses MACs and address generation modes', () => {
    expect(details[1]).toEqual({ name: QR, mac: 'fa:16:3e:00:00:01', addrGenMode: 'eui64' });
  });

  it('stops the kernel link-local addresses of the router interfaces only, once', () => {
    const router = keepalivedRouter(haRouter, MACS);
    expect(planHaLinks(router, details).map((s) => s.argv.join(' '))).toEqual([
      `ip -n ${haRouter.namespace} link set dev ${QR} addrgenmode none`,
      `ip -n ${haRouter.namespace} -6 addr flush dev ${QR} scope link`,
    ]);
    expect(
      planHaLinks(
        router,
        details.map((d) => ({ ...d, addrGenMode: 'none' })),
      ),
    ).toEqual([]);
  });

  it('gives a router no longer HA its link-local addresses back, on the interfaces still without one, once', () => {
    const ns = haRouter.namespace;
    expect(planLegacyLinks(ns, [QR, QG], details).map((s) => s.argv.join(' '))).toEqual([
      `ip -n ${ns} -6 addr replace fe80::f816:3eff:fe00:2/64 dev ${QG}`,
      `ip -n ${ns} link set dev ${QG} addrgenmode eui64`,
    ]);
    // the HA port is not the router's to give back; done once the mode is eui64
    expect(planLegacyLinks(ns, [QR], details)).toEqual([]);
    expect(
      planLegacyLinks(
        ns,
        [QR, QG],
        details.map((d) => ({ ...d, addrGenMode: 'eui64' })),
      ),
    ).toEqual([]);
  });

  it('is active exactly when the primary VIP is on the ha- interface', () => {
    const link = (name: string, cidrs: string[]) => ({
      name,
      up: true,
      addresses: cidrs.map((cidr) => ({ family: 4 as const, cidr, scope: 'global', dadFailed: false, deprecated: false })),
    });
    expect(haStateOf([link(HA, ['169.254.192.5/18', '169.254.0.7/24'])], HA, '169.254.0.7/24')).toBe('active');
    expect(haStateOf([link(HA, ['169.254.192.5/18']), link(QR, ['169.254.0.7/24'])], HA, '169.254.0.7/24')).toBe('standby');
    expect(haStateOf([], HA, '169.254.0.7/24')).toBe('standby');
  });
});
