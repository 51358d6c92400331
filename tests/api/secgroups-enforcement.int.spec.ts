import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SgGroupIntent, type SgMembersIntent, type SgPortIntent } from '@ncp/contracts';
import { type TestStack } from '@ncp/testing';
import { type NeutronClient, type Resource } from './client';
import { FakeAgent } from './fake-agent';
import { eventually } from '../support/eventually';
import { startStack } from '../support/stack';

/**
 * What the security groups service makes of the ports that name groups: a group in use cannot
 * be deleted (409 SecurityGroupInUse), and each host's agent is given its filtered ports, their
 * groups' rules and the members of the groups those rules name.
 */
let stack: TestStack;
let api: NeutronClient;
let agent: FakeAgent;

beforeAll(async () => {
  ({ stack, api } = await startStack());
  agent = await FakeAgent.start(stack.natsUrl, stack.prefix, { row: 'row-s', host: 'cmp-s1', roles: ['compute'], physnets: {} });
});
afterAll(async () => {
  await agent?.stop();
  await stack?.stop();
});

type Port = Resource & { fixed_ips: { ip_address: string }[]; mac_address: string };
const errorOf = (body: Record<string, unknown>) => (body.NeutronError as { type: string }).type;
const desiredOf = (kind: string, id: string) => `${agent.row}.${agent.host}.${kind}.${id}`;
const desired = (kind: string, id: string) => async () => (await agent.desired()).get(desiredOf(kind, id));

describe('security groups on ports', () => {
  let network: Resource;
  let web: Resource;
  let db: Resource;
  const port = (groups: string[], host: string, extra: Record<string, unknown> = {}) =>
    api.create<Port>('ports', 'port', { network_id: network.id, security_groups: groups, 'binding:host_id': host, device_owner: 'compute:nova', ...extra });

  beforeAll(async () => {
    network = await api.create('networks', 'network', { name: 'sg-enforced' });
    await api.create('subnets', 'subnet', { network_id: network.id, ip_version: 4, cidr: '10.61.0.0/24' });
    web = await api.create('security-groups', 'security_group', { name: 'web' });
    db = await api.create('security-groups', 'security_group', { name: 'db' });
    for (const rule of [
      { protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '192.0.2.0/24' },
      { protocol: 'tcp', port_range_min: 5432, port_range_max: 5432, remote_group_id: db.id },
    ]) {
      await api.create('security-group-rules', 'security_group_rule', { security_group_id: web.id, direction: 'ingress', ethertype: 'IPv4', ...rule });
    }
  });

  it("gives the host its filtered port, its group's rules and the remote group's members from anywhere; a member joining is a members change", async () => {
    const front = await port([web.id], agent.host);
    const back = await port([db.id], 'cmp-elsewhere');
    const entry = (await eventually('the port filtered on its host', desired('sgport', front.id), (v) => v !== undefined)) as SgPortIntent;
    expect(entry).toMatchObject({ networkId: network.id, mac: front.mac_address, fixedIps: [front.fixed_ips[0]?.ip_address], securityGroupIds: [web.id] });
    const group = (await eventually('the group on the host', desired('sggroup', web.id), (v) => v !== undefined)) as SgGroupIntent;
    expect(group.rules).toContainEqual(expect.objectContaining({ direction: 'ingress', protocol: 6, portRangeMin: 22, remoteIpPrefix: '192.0.2.0/24' }));
    expect(group.rules).toContainEqual(expect.objectContaining({ protocol: 6, portRangeMin: 5432, remoteGroupId: db.id }));
    // a pass that ran between the two ports' folds publishes the group without members first
    const members = (await eventually('the remote group on the host, with its member', desired('sgmem', db.id), (v) =>
      Boolean((v as SgMembersIntent | undefined)?.addresses.length),
    )) as SgMembersIntent;
    expect(members.addresses).toEqual([back.fixed_ips[0]?.ip_address]);
    // the port of another host is not this host's; db itself filters no port here
    expect(await desired('sgport', back.id)()).toBeUndefined();
    expect(await desired('sggroup', db.id)()).toBeUndefined();

    const joining = await port([db.id], 'cmp-elsewhere');
    await eventually('the new member on the host', desired('sgmem', db.id), (v) => (v as SgMembersIntent | undefined)?.addresses.length === 2);
    // a port bound nowhere is a member all the same
    const unbound = await api.create<Port>('ports', 'port', { network_id: network.id, security_groups: [db.id] });
    await eventually('the unbound member on the host', desired('sgmem', db.id), (v) =>
      Boolean((v as SgMembersIntent | undefined)?.addresses.includes(unbound.fixed_ips[0]?.ip_address ?? '-')),
    );
    // a rule added reaches the host
    await api.create('security-group-rules', 'security_group_rule', {
      security_group_id: web.id,
      direction: 'ingress',
      ethertype: 'IPv6',
      protocol: 'ipv6-icmp',
    });
    await eventually('the new rule on the host', desired('sggroup', web.id), (v) => (v as SgGroupIntent).rules.some((r) => r.protocol === 58));
    for (const p of [front, back, joining, unbound]) expect((await api.delete(`/v2.0/ports/${p.id}`)).status).toBe(204);
    await eventually('the port gone from the host', desired('sgport', front.id), (v) => v === undefined);
  });

  it('refuses to delete a group a port uses (409 SecurityGroupInUse), and deletes it once the port is gone', async () => {
    const used = await api.create('security-groups', 'security_group', { name: 'used' });
    const p = await port([used.id], 'cmp-elsewhere');
    const refused = await api.delete(`/v2.0/security-groups/${used.id}`);
    expect([refused.status, errorOf(refused.body)]).toEqual([409, 'SecurityGroupInUse']);
    expect((await api.get(`/v2.0/security-groups/${used.id}`)).status).toBe(200);
    expect((await api.delete(`/v2.0/ports/${p.id}`)).status).toBe(204);
    expect((await api.delete(`/v2.0/security-groups/${used.id}`)).status).toBe(204);
  });

  it('gives the host nothing for a port without port security', async () => {
    const open = await api.create<Port>('ports', 'port', {
      network_id: network.id,
      port_security_enabled: false,
      security_groups: [],
      'binding:host_id': agent.host,
      device_owner: 'compute:nova',
    });
    const marker = await port([web.id], agent.host);
    await eventually('a later port filtered on the host', desired('sgport', marker.id), (v) => v !== undefined);
    expect(await desired('sgport', open.id)()).toBeUndefined();
  });
});
