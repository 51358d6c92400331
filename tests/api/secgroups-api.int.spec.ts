import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type TestStack } from '@ncp/testing';
import { type NeutronClient, type Resource } from './client';
import { startStack } from '../support/stack';

/**
 * Security groups and their rules through the gateway, as Neutron serves them: a project's
 * `default` group made once on its first use (even by concurrent first requests), the rules'
 * checks and canonical values, duplicates, bulk creates, and what another project may not touch.
 */
let stack: TestStack;
let api: NeutronClient;

beforeAll(async () => ({ stack, api } = await startStack()));
afterAll(() => stack?.stop());

type Rule = Resource & {
  security_group_id: string;
  direction: string;
  ethertype: string;
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
};
type Group = Resource & { name: string; stateful: boolean; security_group_rules: Rule[]; revision_number: number };

const errorOf = (body: Record<string, unknown>) => body.NeutronError as { type: string; message: string };
const member = (project: string) => api.as({ 'X-Project-Id': project, 'X-Roles': 'member' });
const groupsOf = async (client: NeutronClient) => (await client.get<{ security_groups: Group[] }>('/v2.0/security-groups')).body.security_groups;
const ruleShape = (r: Rule) => [r.direction, r.ethertype, r.protocol, r.port_range_min, r.port_range_max, r.remote_ip_prefix, r.remote_group_id];

describe("a project's default group", () => {
  it('is created once on the first use, however many first requests come at once', async () => {
    const client = member('p-first');
    const lists = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? groupsOf(client) : client.get<{ security_group_rules: Rule[] }>('/v2.0/security-group-rules'))),
    );
    const groups = await groupsOf(client);
    expect(groups.map((g) => [g.name, g.project_id, g.tenant_id, g.description])).toEqual([['default', 'p-first', 'p-first', 'Default security group']]);
    const [dflt] = groups as [Group];
    // every first request saw the same one group
    for (const l of lists) {
      if (Array.isArray(l)) expect(l.map((g) => g.id)).toEqual([dflt.id]);
      else expect(new Set(l.body.security_group_rules.map((r) => r.security_group_id))).toEqual(new Set([dflt.id]));
    }
    expect(dflt.security_group_rules.map(ruleShape).sort()).toEqual(
      [
        ['egress', 'IPv4', null, null, null, null, null],
        ['egress', 'IPv6', null, null, null, null, null],
        ['ingress', 'IPv4', null, null, null, null, dflt.id],
        ['ingress', 'IPv6', null, null, null, null, dflt.id],
      ].sort(),
    );
    expect(dflt).toMatchObject({ stateful: true, revision_number: 1 });
    expect(dflt.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('is finished by the next use after a crash between its claim and its creation', async () => {
    // what a service that died right after the claim leaves: the claim, no group
    const groupId = randomUUID();
    const claim = {
      id: randomUUID(),
      type: 'DefaultSecurityGroupClaimed',
      schemaVersion: 1,
      aggregate: 'project',
      aggregateId: 'p-crashed',
      occurredAt: new Date().toISOString(),
      correlationId: 'crash-test',
      causationId: null,
      projectId: 'p-crashed',
      actor: 'crash-test',
      data: { groupId },
    };
    const nc = await connect({ servers: stack.natsUrl.replace(/^nats:\/\//, '') });
    try {
      await jetstream(nc).publish(`${stack.prefix}.ev.sg.project.p-crashed`, JSON.stringify(claim));
    } finally {
      await nc.close();
    }
    const groups = await groupsOf(member('p-crashed'));
    expect(groups.map((g) => [g.id, g.name])).toEqual([[groupId, 'default']]);
    expect((await groupsOf(member('p-crashed'))).map((g) => g.id)).toEqual([groupId]);
  });

  it('may be deleted by an admin only (409 for a member), and comes back on the next use', async () => {
    const client = member('p-del');
    const [dflt] = (await groupsOf(client)) as [Group];
    const refused = await client.delete(`/v2.0/security-groups/${dflt.id}`);
    expect([refused.status, errorOf(refused.body).type]).toEqual([409, 'SecurityGroupCannotRemoveDefault']);
    const renamed = await client.put(`/v2.0/security-groups/${dflt.id}`, { security_group: { name: 'other' } });
    expect([renamed.status, errorOf(renamed.body).type]).toEqual([409, 'SecurityGroupCannotUpdateDefault']);
    expect((await api.delete(`/v2.0/security-groups/${dflt.id}`)).status).toBe(204);
    const again = await groupsOf(client);
    expect(again.map((g) => g.name)).toEqual(['default']);
    expect(again[0]?.id).not.toBe(dflt.id);
  });
});

describe('security groups', () => {
  it('creates, shows, lists with filters and fields, updates and deletes a group', async () => {
    const client = member('p-crud');
    const web = await client.create<Group>('security-groups', 'security_group', { name: 'web', description: 'front' });
    expect(web).toMatchObject({ name: 'web', description: 'front', project_id: 'p-crud', stateful: true, revision_number: 1 });
    expect(web.security_group_rules.map(ruleShape).sort()).toEqual([
      ['egress', 'IPv4', null, null, null, null, null],
      ['egress', 'IPv6', null, null, null, null, null],
    ]);
    // the project's default group was made before its first own group
    expect((await groupsOf(client)).map((g) => g.name).sort()).toEqual(['default', 'web']);
    const filtered = await client.get<{ security_groups: Record<string, unknown>[] }>('/v2.0/security-groups?name=web&fields=id&fields=name');
    expect(filtered.body.security_groups).toEqual([{ id: web.id, name: 'web' }]);
    const paged = await client.get<{ security_groups: Group[]; security_groups_links?: unknown[] }>('/v2.0/security-groups?limit=1');
    expect(paged.body.security_groups).toHaveLength(1);
    expect(paged.body.security_groups_links).toBeDefined();
    const updated = await client.put<{ security_group: Group }>(`/v2.0/security-groups/${web.id}`, { security_group: { name: 'www', stateful: false } });
    expect(updated.status).toBe(200);
    expect(updated.body.security_group).toMatchObject({ name: 'www', stateful: false, revision_number: 2 });
    const named = await client.post('/v2.0/security-groups', { security_group: { name: 'default' } });
    expect([named.status, errorOf(named.body).type]).toEqual([409, 'SecurityGroupDefaultAlreadyExists']);
    const unknown = await client.post('/v2.0/security-groups', { security_group: { name: 'x', colour: 'red' } });
    expect([unknown.status, errorOf(unknown.body).message]).toEqual([400, expect.stringMatching(/Unrecognized attribute/)]);
    // another project sees nothing of it
    const other = member('p-crud-other');
    expect((await other.get(`/v2.0/security-groups/${web.id}`)).status).toBe(404);
    expect((await other.delete(`/v2.0/security-groups/${web.id}`)).status).toBe(404);
    expect((await client.delete(`/v2.0/security-groups/${web.id}`)).status).toBe(204);
    const gone = await client.get(`/v2.0/security-groups/${web.id}`);
    expect([gone.status, errorOf(gone.body).type]).toEqual([404, 'SecurityGroupNotFound']);
  });
});

describe('security group rules', () => {
  it('creates, shows, lists and deletes a rule, with canonical values, and refuses a duplicate', async () => {
    const client = member('p-rules');
    const g = await client.create<Group>('security-groups', 'security_group', { name: 'ssh' });
    const ssh = await client.create<Rule>('security-group-rules', 'security_group_rule', {
      security_group_id: g.id,
      direction: 'ingress',
      ethertype: 'ipv4',
      protocol: 'TCP',
      port_range_min: 22,
      port_range_max: '22',
      remote_ip_prefix: '192.0.2.7/24',
      description: 'ssh',
    });
    expect(ssh).toMatchObject({
      security_group_id: g.id,
      direction: 'ingress',
      ethertype: 'IPv4',
      protocol: 'tcp',
      port_range_min: 22,
      port_range_max: 22,
      remote_ip_prefix: '192.0.2.0/24',
      remote_group_id: null,
      description: 'ssh',
      project_id: 'p-rules',
      tenant_id: 'p-rules',
      revision_number: 1,
    });
    const shown = await client.get<{ security_group_rule: Rule }>(`/v2.0/security-group-rules/${ssh.id}`);
    expect(shown.body.security_group_rule).toEqual(ssh);
    const group = (await client.get<{ security_group: Group }>(`/v2.0/security-groups/${g.id}`)).body.security_group;
    expect(group.security_group_rules.map((r) => r.id)).toContain(ssh.id);
    expect(group.revision_number).toBe(2);
    const listed = await client.get<{ security_group_rules: Rule[] }>(`/v2.0/security-group-rules?security_group_id=${g.id}&direction=ingress`);
    expect(listed.body.security_group_rules.map((r) => r.id)).toEqual([ssh.id]);
    // the same rule by protocol number and without the description is a duplicate
    const dup = await client.post('/v2.0/security-group-rules', {
      security_group_rule: {
        security_group_id: g.id,
        direction: 'ingress',
        protocol: '6',
        port_range_min: 22,
        port_range_max: 22,
        remote_ip_prefix: '192.0.2.0/24',
      },
    });
    expect([dup.status, errorOf(dup.body).type, errorOf(dup.body).message]).toEqual([
      409,
      'SecurityGroupRuleExists',
      `Security group rule already exists. Rule id is ${ssh.id}.`,
    ]);
    const put = await client.put(`/v2.0/security-group-rules/${ssh.id}`, { security_group_rule: { description: 'x' } });
    expect(put.status).toBe(400);
    expect((await client.delete(`/v2.0/security-group-rules/${ssh.id}`)).status).toBe(204);
    const gone = await client.get(`/v2.0/security-group-rules/${ssh.id}`);
    expect([gone.status, errorOf(gone.body).type]).toEqual([404, 'SecurityGroupRuleNotFound']);
  });

  it('creates rules in bulk, all or none', async () => {
    const client = member('p-bulk');
    const g = await client.create<Group>('security-groups', 'security_group', { name: 'bulk' });
    const rule = (port: number) => ({ security_group_id: g.id, direction: 'ingress', protocol: 'tcp', port_range_min: port, port_range_max: port });
    const created = await client.post<{ security_group_rules: Rule[] }>('/v2.0/security-group-rules', { security_group_rules: [rule(80), rule(443)] });
    expect(created.status).toBe(201);
    expect(created.body.security_group_rules.map((r) => r.port_range_min)).toEqual([80, 443]);
    const twice = await client.post('/v2.0/security-group-rules', { security_group_rules: [rule(8080), rule(8080)] });
    expect([twice.status, errorOf(twice.body).type]).toEqual([409, 'DuplicateSecurityGroupRuleInPost']);
    const oneBad = await client.post('/v2.0/security-group-rules', { security_group_rules: [rule(8081), rule(80)] });
    expect([oneBad.status, errorOf(oneBad.body).type]).toEqual([409, 'SecurityGroupRuleExists']);
    const rules = await client.get<{ security_group_rules: Rule[] }>(`/v2.0/security-group-rules?security_group_id=${g.id}&protocol=tcp`);
    expect(rules.body.security_group_rules.map((r) => r.port_range_min).sort()).toEqual([443, 80]);
  });

  it("refuses rules Neutron refuses, with Neutron's error types", async () => {
    const client = member('p-bad');
    const g = await client.create<Group>('security-groups', 'security_group', { name: 'bad' });
    for (const [attributes, type] of [
      [{ protocol: 'tcp', port_range_min: 90, port_range_max: 80 }, 'SecurityGroupInvalidPortRange'],
      [{ protocol: 'tcp', port_range_min: -16, port_range_max: 80 }, 'SecurityGroupInvalidPortValue'],
      [{ ethertype: 'IPv6', remote_ip_prefix: '10.0.0.0/8' }, 'SecurityGroupRuleParameterConflict'],
      [{ protocol: 'bogus' }, 'SecurityGroupRuleInvalidProtocol'],
      [{ port_range_min: 22, port_range_max: 22 }, 'SecurityGroupProtocolRequiredWithPorts'],
      [{ direction: 'sideways' }, 'HTTPBadRequest'],
      [{ remote_group_id: g.id, remote_ip_prefix: '10.0.0.0/8' }, 'SecurityGroupRemoteGroupAndRemoteIpPrefix'],
      [{ port_range_min: 'x', protocol: 'tcp' }, 'HTTPBadRequest'],
      [{ colour: 'red' }, 'HTTPBadRequest'],
    ] as const) {
      const r = await client.post('/v2.0/security-group-rules', { security_group_rule: { security_group_id: g.id, direction: 'ingress', ...attributes } });
      expect([JSON.stringify(attributes), r.status, errorOf(r.body).type]).toEqual([JSON.stringify(attributes), 400, type]);
    }
  });

  it("answers 404 for another project's group, as the rule's group or its remote group", async () => {
    const mine = member('p-own');
    const theirs = member('p-theirs');
    const g = await mine.create<Group>('security-groups', 'security_group', { name: 'mine' });
    const t = await theirs.create<Group>('security-groups', 'security_group', { name: 'theirs' });
    const into = await mine.post('/v2.0/security-group-rules', { security_group_rule: { security_group_id: t.id, direction: 'ingress' } });
    expect([into.status, errorOf(into.body).type]).toEqual([404, 'SecurityGroupNotFound']);
    const remote = await mine.post('/v2.0/security-group-rules', {
      security_group_rule: { security_group_id: g.id, direction: 'ingress', remote_group_id: t.id },
    });
    expect([remote.status, errorOf(remote.body).type]).toEqual([404, 'SecurityGroupNotFound']);
    const missing = await mine.post('/v2.0/security-group-rules', {
      security_group_rule: { security_group_id: g.id, direction: 'ingress', remote_group_id: crypto.randomUUID() },
    });
    expect([missing.status, errorOf(missing.body).type]).toEqual([404, 'SecurityGroupNotFound']);
    // a remote group of the project is fine; deleting that group removes the rules naming it
    const peer = await mine.create<Group>('security-groups', 'security_group', { name: 'peer' });
    const fromPeer = await mine.create<Rule>('security-group-rules', 'security_group_rule', {
      security_group_id: g.id,
      direction: 'ingress',
      remote_group_id: peer.id,
    });
    expect(fromPeer.remote_group_id).toBe(peer.id);
    expect((await mine.delete(`/v2.0/security-groups/${peer.id}`)).status).toBe(204);
    expect((await mine.get(`/v2.0/security-group-rules/${fromPeer.id}`)).status).toBe(404);
    // their rules are not listed to me
    const listed = await mine.get<{ security_group_rules: Rule[] }>('/v2.0/security-group-rules');
    expect(listed.body.security_group_rules.every((r) => r.project_id === 'p-own')).toBe(true);
  });
});

describe("ports' security groups, port security and address pairs (IPAM, asking the security groups service)", () => {
  type Port = Resource & {
    security_groups: string[];
    port_security_enabled: boolean;
    allowed_address_pairs: { ip_address: string; mac_address: string }[];
    fixed_ips: { ip_address: string }[];
    mac_address: string;
    revision_number: number;
  };
  let client: NeutronClient;
  let network: Resource;
  let dflt: Group;
  let web: Group;
  let db: Group;
  const createPort = (attributes: Record<string, unknown>, as?: NeutronClient) =>
    (as ?? client).post<{ port: Port }>('/v2.0/ports', { port: { network_id: network.id, device_owner: 'compute:nova', ...attributes } });
  const created = async (attributes: Record<string, unknown>, as?: NeutronClient) => {
    const r = await createPort(attributes, as);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.port;
  };
  const updatePort = (id: string, attributes: Record<string, unknown>) => client.put<{ port: Port }>(`/v2.0/ports/${id}`, { port: attributes });
  const showPort = async (id: string) => (await client.get<{ port: Port }>(`/v2.0/ports/${id}`)).body.port;
  const refusal = (r: { status: number; body: Record<string, unknown> }) => [r.status, errorOf(r.body).type];

  let nc: NatsConnection;
  let jsm: JetStreamManager;
  /** The stream sequence of the network's last event: its ports are in its aggregate. */
  const networkSequence = async (id: string) => {
    const m = await jsm.streams.getMessage(`EVENTS_${stack.prefix}`, { last_by_subj: `${stack.prefix}.ev.ipam.network.${id}` });
    if (!m) throw new Error(`no event of network ${id}`);
    return m.seq;
  };

  beforeAll(async () => {
    nc = await connect({ servers: stack.natsUrl.replace(/^nats:\/\//, '') });
    jsm = await jetstreamManager(nc);
    client = member('p-ports');
    network = await client.create('networks', 'network', { name: 'sg-ports' });
    await client.create('subnets', 'subnet', { network_id: network.id, ip_version: 4, cidr: '10.62.0.0/24' });
    web = await client.create<Group>('security-groups', 'security_group', { name: 'web' });
    db = await client.create<Group>('security-groups', 'security_group', { name: 'db' });
    dflt = (await groupsOf(client)).find((g) => g.name === 'default') as Group;
  });
  afterAll(() => nc?.close());

  it("gives a port naming no groups its project's default group; an admin's port for another project, that project's", async () => {
    const port = await created({});
    expect([port.port_security_enabled, port.security_groups]).toEqual([true, [dflt.id]]);
    const forOther = await created({ project_id: 'p-ports-other' }, api);
    const [otherDefault] = (await groupsOf(member('p-ports-other'))).filter((g) => g.name === 'default');
    expect(forOther.security_groups).toEqual([otherDefault?.id]);
    expect(otherDefault?.id).not.toBe(dflt.id);
    // [] and null both mean no group, not the default one
    expect((await created({ security_groups: [] })).security_groups).toEqual([]);
    expect((await created({ security_groups: null })).security_groups).toEqual([]);
  });

  it("takes the groups named, replaces and clears them; another project's or an unknown group is 404 and changes nothing", async () => {
    const port = await created({ security_groups: [web.id, web.id] });
    expect(port.security_groups).toEqual([web.id]);
    const both = await updatePort(port.id, { security_groups: [web.id, db.id] });
    expect(both.body.port.security_groups.sort()).toEqual([web.id, db.id].sort());

    const theirs = await member('p-ports-theirs').create<Group>('security-groups', 'security_group', { name: 'theirs' });
    const before = await networkSequence(network.id);
    for (const group of [randomUUID(), theirs.id]) {
      const onCreate = await createPort({ name: 'refused', security_groups: [web.id, group] });
      expect(refusal(onCreate)).toEqual([404, 'SecurityGroupNotFound']);
      expect(errorOf(onCreate.body).message).toContain(group);
      expect(refusal(await updatePort(port.id, { security_groups: [group] }))).toEqual([404, 'SecurityGroupNotFound']);
    }
    expect(await networkSequence(network.id), 'no event').toBe(before);
    const listed = await client.get<{ ports: Port[] }>(`/v2.0/ports?network_id=${network.id}&name=refused`);
    expect(listed.body.ports).toEqual([]);
    const unchanged = await showPort(port.id);
    expect([unchanged.security_groups.sort(), unchanged.revision_number]).toEqual([[web.id, db.id].sort(), both.body.port.revision_number]);

    expect((await updatePort(port.id, { security_groups: null })).body.port.security_groups).toEqual([]);
    expect((await updatePort(port.id, { security_groups: [db.id] })).body.port.security_groups).toEqual([db.id]);
    expect((await updatePort(port.id, { security_groups: [] })).body.port.security_groups).toEqual([]);
  });

  it('refuses groups on a port without port security or without an address, and port security off while groups stay', async () => {
    const off = await createPort({ port_security_enabled: false, security_groups: [web.id] });
    expect(refusal(off)).toEqual([400, 'PortSecurityAndIPRequiredForSecurityGroups']);
    expect(errorOf(off.body).message).toBe('Port security must be enabled and port must have an IP address in order to use security groups.');
    expect(refusal(await createPort({ fixed_ips: [], security_groups: [web.id] }))).toEqual([400, 'PortSecurityAndIPRequiredForSecurityGroups']);
    // no address, no default group
    expect((await created({ fixed_ips: [] })).security_groups).toEqual([]);

    const port = await created({});
    const kept = await updatePort(port.id, { port_security_enabled: false });
    expect(refusal(kept)).toEqual([409, 'PortSecurityPortHasSecurityGroup']);
    expect(errorOf(kept.body).message).toBe('Port has security group associated. Cannot disable port security or IP address until security group is removed.');
    expect(refusal(await updatePort(port.id, { fixed_ips: [] }))).toEqual([409, 'PortSecurityPortHasSecurityGroup']);
    expect((await showPort(port.id)).port_security_enabled).toBe(true);
    const cleared = await updatePort(port.id, { port_security_enabled: false, security_groups: [] });
    expect([cleared.status, cleared.body.port.port_security_enabled, cleared.body.port.security_groups]).toEqual([200, false, []]);
    expect(refusal(await updatePort(port.id, { security_groups: [web.id] }))).toEqual([400, 'PortSecurityAndIPRequiredForSecurityGroups']);
    const back = await updatePort(port.id, { port_security_enabled: true, security_groups: [web.id] });
    expect([back.body.port.port_security_enabled, back.body.port.security_groups]).toEqual([true, [web.id]]);
  });

  it('takes address pairs (an address, a CIDR, with a MAC), refuses duplicates and more than ten (400), and needs port security (409)', async () => {
    const port = await created({
      allowed_address_pairs: [{ ip_address: '10.62.0.200' }, { ip_address: '192.0.2.9/24' }, { ip_address: '2001:db8::7', mac_address: 'FA:16:3E:AA:BB:CC' }],
    });
    expect(port.allowed_address_pairs).toEqual([
      { ip_address: '10.62.0.200', mac_address: port.mac_address },
      { ip_address: '192.0.2.0/24', mac_address: port.mac_address },
      { ip_address: '2001:db8::7', mac_address: 'fa:16:3e:aa:bb:cc' },
    ]);
    const dup = await createPort({ allowed_address_pairs: [{ ip_address: '10.62.0.201' }, { ip_address: '10.62.0.201' }] });
    expect(refusal(dup)).toEqual([400, 'DuplicateAddressPairInRequest']);
    const eleven = Array.from({ length: 11 }, (_, i) => ({ ip_address: `10.62.1.${i + 1}` }));
    const tooMany = await updatePort(port.id, { allowed_address_pairs: eleven });
    expect([...refusal(tooMany), errorOf(tooMany.body).message]).toEqual([
      400,
      'AllowedAddressPairExhausted',
      'The number of allowed address pair exceeds the maximum 10.',
    ]);
    expect((await updatePort(port.id, { allowed_address_pairs: eleven.slice(0, 10) })).body.port.allowed_address_pairs).toHaveLength(10);

    const pairsOff = await createPort({ port_security_enabled: false, allowed_address_pairs: [{ ip_address: '10.62.0.202' }] });
    expect([...refusal(pairsOff), errorOf(pairsOff.body).message]).toEqual([
      409,
      'AddressPairAndPortSecurityRequired',
      'Port Security must be enabled in order to have allowed address pairs on a port.',
    ]);
    expect(refusal(await updatePort(port.id, { port_security_enabled: false, security_groups: [] }))).toEqual([409, 'AddressPairAndPortSecurityRequired']);
    const open = await updatePort(port.id, { port_security_enabled: false, security_groups: [], allowed_address_pairs: [] });
    expect([open.status, open.body.port.allowed_address_pairs]).toEqual([200, []]);
  });

  it("gives a port on a network without port security the network's setting: no groups, none allowed, no pairs", async () => {
    const open = await client.create('networks', 'network', { name: 'sg-open', port_security_enabled: false });
    expect(open.port_security_enabled).toBe(false);
    await client.create('subnets', 'subnet', { network_id: open.id, ip_version: 4, cidr: '10.63.0.0/24' });
    const port = await created({ network_id: open.id });
    expect([port.port_security_enabled, port.security_groups]).toEqual([false, []]);
    expect(refusal(await createPort({ network_id: open.id, security_groups: [web.id] }))).toEqual([400, 'PortSecurityAndIPRequiredForSecurityGroups']);
    expect(refusal(await createPort({ network_id: open.id, allowed_address_pairs: [{ ip_address: '10.63.0.9' }] }))).toEqual([
      409,
      'AddressPairAndPortSecurityRequired',
    ]);
    // its own port security over the network's
    const filtered = await created({ network_id: open.id, port_security_enabled: true });
    expect([filtered.port_security_enabled, filtered.security_groups]).toEqual([true, [dflt.id]]);
  });

  it('makes service ports (network:*) without port security or groups, as Neutron trusts them', async () => {
    const dhcp = await created({ device_owner: 'network:dhcp' }, api);
    expect([dhcp.port_security_enabled, dhcp.security_groups]).toEqual([false, []]);
    const router = await client.create('routers', 'router', { name: 'sg-r' });
    const subnet = await client.create('subnets', 'subnet', { network_id: network.id, ip_version: 4, cidr: '10.64.0.0/24' });
    const added = await client.put<{ port_id: string }>(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
    expect(added.status).toBe(200);
    const rif = await showPort(added.body.port_id);
    expect([rif.device_owner, rif.port_security_enabled, rif.security_groups]).toEqual(['network:router_interface', false, []]);
  });

  it('creates ports in bulk on the same path: all or none', async () => {
    const bulk = await client.post<{ ports: Port[] }>('/v2.0/ports', {
      ports: [
        { network_id: network.id, name: 'bulk-a' },
        { network_id: network.id, name: 'bulk-b', security_groups: [web.id] },
      ],
    });
    expect(bulk.status).toBe(201);
    expect(bulk.body.ports.map((p) => p.security_groups)).toEqual([[dflt.id], [web.id]]);
    const refused = await client.post('/v2.0/ports', {
      ports: [
        { network_id: network.id, name: 'bulk-c' },
        { network_id: network.id, name: 'bulk-c', security_groups: [randomUUID()] },
      ],
    });
    expect(refusal(refused)).toEqual([404, 'SecurityGroupNotFound']);
    expect((await client.get<{ ports: Port[] }>(`/v2.0/ports?name=bulk-c`)).body.ports).toEqual([]);
  });
});
