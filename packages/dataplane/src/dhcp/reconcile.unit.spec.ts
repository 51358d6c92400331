import { type DhcpServerIntent } from '@ncp/contracts';
import { normalizeIp } from '@ncp/netaddr';
import { describe, expect, it } from 'vitest';
import { RecordingRunner } from '../runner.js';
import { FakeDhcpMachine } from './__fixtures__/fake-host.js';
import { IF, NET, NET2, NS, NS2, P1, QR1, QR2, RNS, ROUTER, STATE, isolated, ra1, server1 } from './__fixtures__/intent.js';
import { forgetSettledIn, type SettledDaemons } from '../daemon/settled.js';
import { type DhcpOptions, reconcileDhcp } from './reconcile.js';

const DIR = `${STATE}/dhcp/${NET}`;
const RA_DIR = `${STATE}/ra/${ROUTER}`;
const allOk = [
  { item: `dhcp:${NET}`, ok: true },
  { item: `ra:${ROUTER}`, ok: true },
  { item: 'sweep', ok: true },
];

/** A host where the L2 driver plugged the DHCP port and the L3 driver set up the router. */
function plugged(): { machine: FakeDhcpMachine; options: DhcpOptions } {
  const machine = new FakeDhcpMachine();
  machine.addNamespace(NS, IF);
  machine.addNamespace(RNS);
  // the kernel formed each qr-'s link-local address from its MAC: the RA's source
  for (const iface of ra1.interfaces) machine.plug(RNS, iface.ifname, normalizeIp(iface.sourceAddress));
  return { machine, options: { stateDir: STATE, host: machine } };
}

const pid = (machine: FakeDhcpMachine, file: string): number => Number(machine.files.get(file));

describe('reconcileDhcp against an in-memory machine', () => {
  it('configures the port, writes the files, starts the daemons; then does nothing', async () => {
    const { machine, options } = plugged();
    machine.link(NS, IF).addrs.push({ family: 'inet', local: '10.9.9.9', prefixlen: 24, scope: 'global' });
    const first = new RecordingRunner(machine);
    expect(await reconcileDhcp([server1], [ra1], first, options)).toEqual(allOk);
    const daemon = (c: string[]): boolean => c[4] === 'dnsmasq' || c[4] === 'radvd';
    expect(first.mutatingCalls().map((c) => (daemon(c) ? c.slice(0, c[4] === 'radvd' ? 7 : 6) : c).join(' '))).toEqual([
      `ip -n ${NS} link set dev lo up`,
      `ip netns exec ${NS} sysctl -q -w net/ipv6/conf/${IF}/accept_ra=0`,
      `ip -n ${NS} addr del 10.9.9.9/24 dev ${IF}`,
      `ip -n ${NS} addr add 10.0.0.2/24 dev ${IF}`,
      `ip -n ${NS} addr add 2001:db8:0:1::2/64 dev ${IF} nodad`,
      `ip -n ${NS} addr add 2001:db8:0:2::2/64 dev ${IF} nodad`,
      `ip netns exec ${NS} dnsmasq --conf-file=/dev/null`,
      `ip netns exec ${RNS} radvd -C ${RA_DIR}/radvd.conf`,
    ]);
    expect(machine.link(NS, IF).addrs.map((a) => `${a.local}/${a.prefixlen}`)).toEqual([
      'fe80::1/64',
      '10.0.0.2/24',
      '2001:db8:0:1::2/64',
      '2001:db8:0:2::2/64',
    ]);
    expect(machine.files.get(`${DIR}/namespace`)).toBe(`${NS}\n`);
    expect(machine.files.get(`${DIR}/host`)).toContain(`fa:16:3e:00:00:01,vm-1.openstacklocal,10.0.0.11,set:port-${P1}`);
    expect(JSON.parse(machine.files.get(`${DIR}/cmdline.json`) ?? '[]')).toContain(`--pid-file=${DIR}/pid`);
    expect(machine.files.get(`${RA_DIR}/radvd.conf`)).toContain(`interface ${QR2}`);

    // a restarted agent: same intent, nothing remembered but the state directory
    const second = new RecordingRunner(machine);
    const pids = [pid(machine, `${DIR}/pid`), pid(machine, `${RA_DIR}/radvd.pid`)];
    expect(await reconcileDhcp([server1], [ra1], second, options)).toEqual(allOk);
    expect(second.mutatingCalls()).toEqual([]);
    expect(second.calls.length).toBeGreaterThan(0);
    expect(machine.signals).toEqual([]);
    expect([pid(machine, `${DIR}/pid`), pid(machine, `${RA_DIR}/radvd.pid`)]).toEqual(pids);
  });

  it('reloads dnsmasq for an untagged hosts change and restarts it for a tagged one', async () => {
    const { machine, options } = plugged();
    await reconcileDhcp([isolated], [], machine, options);
    const first = pid(machine, `${STATE}/dhcp/${NET2}/pid`);
    machine.addNamespace(NS2, isolated.ifname);
    expect(await reconcileDhcp([isolated], [], machine, options)).toEqual([
      { item: `dhcp:${NET2}`, ok: true },
      { item: 'sweep', ok: true },
    ]);
    const started = pid(machine, `${STATE}/dhcp/${NET2}/pid`);
    expect(first).toBeNaN(); // the namespace was missing: nothing started
    const moved: DhcpServerIntent = { ...isolated, hosts: isolated.hosts.map((h) => ({ ...h, ipAddresses: ['172.16.0.6'] })) };
    const reload = new RecordingRunner(machine);
    await reconcileDhcp([moved], [], reload, options);
    expect(reload.mutatingCalls()).toEqual([]);
    expect(machine.signals).toEqual([`SIGHUP ${started} dnsmasq`]);

    const tagged: DhcpServerIntent = {
      ...moved,
      hosts: moved.hosts.map((h) => ({ ...h, extraOptions: [{ name: 'ntp-server', value: '172.16.0.1', ipVersion: 4 }] })),
    };
    const restart = new RecordingRunner(machine);
    await reconcileDhcp([tagged], [], restart, options);
    expect(restart.mutatingCalls().map((c) => c.slice(4, 5).join(' '))).toEqual(['dnsmasq']);
    expect(machine.signals.at(-1)).toBe(`SIGTERM ${started} dnsmasq`);
    expect(pid(machine, `${STATE}/dhcp/${NET2}/pid`)).not.toBe(started);
  });

  it('restarts dnsmasq when its command line changes, radvd reloads on a config change', async () => {
    const { machine, options } = plugged();
    await reconcileDhcp([server1], [ra1], machine, options);
    const [dnsmasqPid, radvdPid] = [pid(machine, `${DIR}/pid`), pid(machine, `${RA_DIR}/radvd.pid`)];
    const recorder = new RecordingRunner(machine);
    expect(await reconcileDhcp([{ ...server1, leaseSeconds: 3600 }], [{ ...ra1, routerLifetime: 900 }], recorder, options)).toEqual(allOk);
    expect(recorder.mutatingCalls().map((c) => c[4])).toEqual(['dnsmasq']);
    expect(machine.signals).toEqual([`SIGTERM ${dnsmasqPid} dnsmasq`, `SIGHUP ${radvdPid} radvd`]);
  });

  it('never signals a process that reuses a stale pid: it starts a new daemon instead', async () => {
    const { machine, options } = plugged();
    await reconcileDhcp([server1], [ra1], machine, options);
    const old = pid(machine, `${DIR}/pid`);
    machine.processes.delete(old); // dnsmasq died (or the machine rebooted) ...
    const stranger = machine.spawnForeign(['sshd', '-D']);
    machine.files.set(`${DIR}/pid`, `${stranger}\n`); // ... and its pid went to another program
    const recorder = new RecordingRunner(machine);
    expect(await reconcileDhcp([{ ...server1, leaseSeconds: 3600 }], [ra1], recorder, options)).toEqual(allOk);
    expect(machine.signals).toEqual([]);
    expect(machine.processes.get(stranger)).toEqual(['sshd', '-D']);
    expect(recorder.mutatingCalls().map((c) => c[4])).toEqual(['dnsmasq']);
  });

  it('fails an item whose interface or namespace is missing, and keeps it from the sweep', async () => {
    const { machine, options } = plugged();
    await reconcileDhcp([server1], [ra1], machine, options);
    machine.namespaces.get(RNS)?.delete(QR2);
    const results = await reconcileDhcp([server1, { ...isolated }], [ra1], machine, options);
    expect(results).toEqual([
      { item: `dhcp:${NET}`, ok: true },
      { item: `dhcp:${NET2}`, ok: false, error: `namespace ${NS2} does not exist yet (the L2 driver creates it with the DHCP port)` },
      { item: `ra:${ROUTER}`, ok: false, error: `interface ${QR2} is not in namespace ${RNS} yet` },
      { item: 'sweep', ok: true },
    ]);
    expect(machine.dirs.has(RA_DIR)).toBe(true);
    machine.addNamespace(NS2);
    const noPort = await reconcileDhcp([isolated], [], machine, options);
    expect(noPort[0]).toEqual({
      item: `dhcp:${NET2}`,
      ok: false,
      error: `interface ${isolated.ifname} is not in namespace ${NS2} yet (the L2 driver plugs the DHCP port)`,
    });
  });

  it('reports a daemon that does not come up', async () => {
    const { machine, options } = plugged();
    machine.daemonsFail = true;
    const [server] = await reconcileDhcp([server1], [], machine, { ...options, timings: { startWaitMs: 100, pollMs: 50 } });
    expect(server).toEqual({ item: `dhcp:${NET}`, ok: false, error: `dnsmasq did not start (no live process for ${DIR}/pid; see ${DIR}/dnsmasq.log)` });
  });

  it('reports bad ports as warnings and a bad server as its own error', async () => {
    const { machine, options } = plugged();
    const withBadPort: DhcpServerIntent = {
      ...server1,
      hosts: [...server1.hosts, { portId: 'b0000009-0000-4000-8000-000000000009', macAddress: 'nope', hostname: 'x', ipAddresses: [], extraOptions: [] }],
    };
    const [ok, bad] = await reconcileDhcp([withBadPort, { ...isolated, domain: 'bad domain' }], [], machine, options);
    expect(ok).toEqual({
      item: `dhcp:${NET}`,
      ok: true,
      warnings: ['port b0000009-0000-4000-8000-000000000009 left out: macAddress: must be a lower-case MAC address'],
    });
    expect(bad).toMatchObject({ item: `dhcp:${NET2}`, ok: false, error: expect.stringContaining('domain') as unknown });
  });

  it("sends RAs only from each qr-'s own link-local address, added where the kernel did not form it or DAD failed it", async () => {
    const { machine, options } = plugged();
    const [qr1, qr2] = ra1.interfaces;
    if (qr1 === undefined || qr2 === undefined) throw new Error('fixture');
    // another addr_gen_mode (or a MAC changed while up) formed another link-local address on
    // QR1; on QR2 the metadata driver added fe80::a9fe:a9fe after the kernel's, and the
    // kernel's failed DAD
    machine.link(RNS, QR1).addrs = [{ family: 'inet6', local: 'fe80::5054:ff:fe00:1', prefixlen: 64, scope: 'link' }];
    machine.link(RNS, QR2).addrs = [
      { family: 'inet6', local: 'fe80::a9fe:a9fe', prefixlen: 64, scope: 'link', deprecated: true },
      { family: 'inet6', local: 'fe80::f816:3eff:fe22:2222', prefixlen: 64, scope: 'link', dadfailed: true },
    ];
    const recorder = new RecordingRunner(machine);
    expect(await reconcileDhcp([], [ra1], recorder, options)).toEqual([
      { item: `ra:${ROUTER}`, ok: true },
      { item: 'sweep', ok: true },
    ]);
    expect(recorder.mutatingCalls().map((c) => c.slice(0, 9).join(' '))).toEqual([
      `ip -n ${RNS} addr add ${qr1.sourceAddress}/64 dev ${QR1} nodad`,
      `ip -n ${RNS} addr del fe80::f816:3eff:fe22:2222/64 dev ${QR2}`,
      `ip -n ${RNS} addr add fe80::f816:3eff:fe22:2222/64 dev ${QR2} nodad`,
      `ip netns exec ${RNS} radvd -C ${RA_DIR}/radvd.conf -p ${RA_DIR}/radvd.pid`,
    ]);
    expect(machine.files.get(`${RA_DIR}/radvd.conf`)).toContain(`\tAdvRASrcAddress\n\t{\n\t\t${qr1.sourceAddress};\n\t};\n`);
    expect(machine.files.get(`${RA_DIR}/radvd.conf`)).toContain('\t\tfe80::f816:3eff:fe22:2222;\n');
    // the other link-local addresses stay: the kernel's and the metadata driver's
    expect(machine.link(RNS, QR1).addrs.map((a) => a.local)).toEqual([qr1.sourceAddress, 'fe80::5054:ff:fe00:1']);
    expect(machine.link(RNS, QR2).addrs.map((a) => a.local)).toEqual(['fe80::f816:3eff:fe22:2222', 'fe80::a9fe:a9fe']);
    expect((await reconcileDhcp([], [ra1], new RecordingRunner(machine), options)).every((r) => r.ok)).toBe(true);
    const again = new RecordingRunner(machine);
    await reconcileDhcp([], [ra1], again, options);
    expect(again.mutatingCalls()).toEqual([]);
  });

  it('adds no source address for an HA router: keepalived gives it to the master alone', async () => {
    const { machine, options } = plugged();
    // the backup: addrgenmode none, keepalived holds nothing here
    for (const iface of ra1.interfaces) machine.link(RNS, iface.ifname).addrs = [];
    const recorder = new RecordingRunner(machine);
    expect(await reconcileDhcp([], [ra1], recorder, { ...options, haRouterIds: [ROUTER.toUpperCase()] })).toEqual([
      { item: `ra:${ROUTER}`, ok: true },
      { item: 'sweep', ok: true },
    ]);
    expect(recorder.mutatingCalls().map((c) => c.slice(0, 5).join(' '))).toEqual([`ip netns exec ${RNS} radvd`]);
    for (const iface of ra1.interfaces) expect(machine.link(RNS, iface.ifname).addrs).toEqual([]);
  });

  it('fails the RA of a router whose qr- is not plugged yet, and starts no radvd', async () => {
    const { machine, options } = plugged();
    machine.namespaces.get(RNS)?.delete(QR2);
    expect(await reconcileDhcp([], [ra1], machine, options)).toEqual([
      { item: `ra:${ROUTER}`, ok: false, error: `interface ${QR2} is not in namespace ${RNS} yet` },
      { item: 'sweep', ok: true },
    ]);
    expect(machine.processes.size).toBe(0);
  });

  it('a router without interfaces runs no radvd', async () => {
    const { machine, options } = plugged();
    await reconcileDhcp([], [ra1], machine, options);
    const radvdPid = pid(machine, `${RA_DIR}/radvd.pid`);
    expect(await reconcileDhcp([], [{ ...ra1, interfaces: [] }], machine, options)).toEqual([
      { item: `ra:${ROUTER}`, ok: true },
      { item: 'sweep', ok: true },
    ]);
    expect(machine.signals).toEqual([`SIGTERM ${radvdPid} radvd`]);
    expect(machine.dirs.has(RA_DIR)).toBe(false);
  });

  it('sweeps what no intent names: daemons, state, and only the DHCP namespaces it recorded', async () => {
    const { machine, options } = plugged();
    await reconcileDhcp([server1], [ra1], machine, options);
    const [dnsmasqPid, radvdPid] = [pid(machine, `${DIR}/pid`), pid(machine, `${RA_DIR}/radvd.pid`)];
    machine.addNamespace('qdhcp-99999999'); // another agent's network on the same machine
    await machine.makeDir(`${STATE}/dhcp/not-an-id`);
    const recorder = new RecordingRunner(machine);
    expect(await reconcileDhcp([], [], recorder, options)).toEqual([{ item: 'sweep', ok: true }]);
    expect(recorder.mutatingCalls()).toEqual([['ip', 'netns', 'del', NS]]);
    expect(machine.signals).toEqual([`SIGTERM ${dnsmasqPid} dnsmasq`, `SIGTERM ${radvdPid} radvd`]);
    expect([...machine.namespaces.keys()].sort()).toEqual(['qdhcp-99999999', RNS]);
    expect(machine.dirs.has(DIR)).toBe(false);
    expect(machine.dirs.has(RA_DIR)).toBe(false);
    expect(machine.dirs.has(`${STATE}/dhcp/not-an-id`)).toBe(true);
  });

  it('says which namespaces a pass changed: link commands, failed items, a deleted namespace; not a daemon started', async () => {
    const { machine, options } = plugged();
    const changed = async (servers: readonly DhcpServerIntent[], ras: Parameters<typeof reconcileDhcp>[1]) => {
      const changedNamespaces = new Set<string>();
      await reconcileDhcp(servers, ras, machine, { ...options, changedNamespaces });
      return [...changedNamespaces].sort();
    };
    // the DHCP port addressed; radvd started in the router's namespace, whose links it left alone
    expect(await changed([server1], [ra1])).toEqual([NS]);
    expect(await changed([server1], [ra1])).toEqual([]);
    // the RA's interface is gone: failed, its namespace counted
    machine.namespaces.get(RNS)?.delete(QR2);
    expect(await changed([server1], [ra1])).toEqual([RNS]);
    // the server goes: its namespace is deleted
    expect(await changed([], [])).toEqual([NS]);
  });

  it('with `settled`, reads a server or RA in place no more until its intent, its daemon or its namespace (someone else changed it) does', async () => {
    const { machine, options } = plugged();
    const settled: SettledDaemons = new Map();
    const pass = async (servers: readonly DhcpServerIntent[], haRouterIds: readonly string[] = []) => {
      const recorder = new RecordingRunner(machine);
      expect((await reconcileDhcp(servers, [ra1], recorder, { ...options, settled, haRouterIds })).every((r) => r.ok)).toBe(true);
      const read = [NS, RNS].filter((ns) => recorder.calls.some((c) => c.includes(ns) && (c.includes('addr') || c.includes('sysctl'))));
      return { read, mutations: recorder.mutatingCalls().map((c) => c.slice(0, 6).join(' ')) };
    };
    await pass([server1]);
    expect((await pass([server1])).read).toEqual([NS, RNS]);
    expect([...settled.keys()].sort()).toEqual([`dhcp:${NET}`, `ra:${ROUTER}`]);
    expect(await pass([server1])).toEqual({ read: [], mutations: [] });

    // the server's intent changes (a port's hosts line): only its namespace is read
    const moreHosts = { ...server1, hosts: server1.hosts.slice(0, 1) };
    expect((await pass([moreHosts])).read).toEqual([NS]);
    // the router becomes an HA router: its RA is read again
    await pass([moreHosts]);
    expect((await pass([moreHosts], [ROUTER])).read).toEqual([RNS]);

    // someone else changed the DHCP namespace: an address removed by hand is put back
    await pass([moreHosts], [ROUTER]);
    machine.link(NS, IF).addrs = machine.link(NS, IF).addrs.filter((a) => a.local !== '10.0.0.2');
    expect((await pass([moreHosts], [ROUTER])).mutations).toEqual([]);
    forgetSettledIn(settled, new Set([NS]));
    expect((await pass([moreHosts], [ROUTER])).mutations).toEqual([`ip -n ${NS} addr add 10.0.0.2/24`]);
    // what a pass changed, the next one reads once more
    expect((await pass([moreHosts], [ROUTER])).read).toEqual([NS]);

    // dnsmasq died: started again
    machine.processes.delete(pid(machine, `${DIR}/pid`));
    expect((await pass([moreHosts], [ROUTER])).mutations).toEqual([`ip netns exec ${NS} dnsmasq --conf-file=/dev/null`]);
    // the server is gone: forgotten
    const recorder = new RecordingRunner(machine);
    await reconcileDhcp([], [ra1], recorder, { ...options, settled, haRouterIds: [ROUTER] });
    expect([...settled.keys()]).toEqual([`ra:${ROUTER}`]);
  });

  it('refuses an unusable state directory and reports a failing namespace list on every item', async () => {
    const { machine } = plugged();
    await expect(reconcileDhcp([], [], machine, { stateDir: 'relative', host: machine })).rejects.toThrow(/stateDir/);
    await expect(reconcileDhcp([], [], machine, { stateDir: '/a/../b', host: machine })).rejects.toThrow(/stateDir/);
    const broken = { run: () => Promise.reject(new Error('ip: not found')) };
    expect(await reconcileDhcp([server1], [], broken, { stateDir: STATE, host: machine })).toEqual([
      { item: `dhcp:${NET}`, ok: false, error: 'reading the namespaces failed: ip: not found' },
      { item: 'sweep', ok: false, error: 'reading the namespaces failed: ip: not found' },
    ]);
  });
});
