import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
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
