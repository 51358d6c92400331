import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AGENT_AGGREGATE,
  AGENT_CONTEXT,
  AGENT_HEARTBEAT_BUCKET,
  BGP_AGGREGATES,
  DESIRED_KINDS,
  DESIRED_STATE_BUCKET,
  DHCP_AGGREGATES,
  IPAM_AGGREGATES,
  L3_AGGREGATES,
  META_AGGREGATES,
  Naming,
  SG_AGGREGATES,
  SG_PORT_GROUPS,
  agentIdOf,
  desiredKey,
} from '@ncp/contracts';
import {
  COMPOSE_NATS_AUTHORIZATION,
  NATS_SERVICES,
  NATS_JS_DOMAIN,
  agentNatsUser,
  leafNatsPermissions,
  leafNatsUser,
  natsAllows,
  natsInboxPrefix,
  natsPasswordEnv,
  natsUsers,
  renderLeafNodeAuthorization,
  renderNatsAuthorization,
  subjectMatches,
  type NatsUser,
} from './nats-permissions';

/** infra/nats/auth.conf is this module's rendering; UPDATE_NATS_AUTH=1 rewrites it. */
const AUTH_CONF = path.resolve(__dirname, '../../../infra/nats/auth.conf');

/** Every context's aggregates as @ncp/contracts declares them: a new one must get its owner. */
const AGGREGATES: Record<string, readonly string[]> = {
  ipam: Object.values(IPAM_AGGREGATES),
  l3: Object.values(L3_AGGREGATES),
  dhcp: Object.values(DHCP_AGGREGATES),
  bgp: Object.values(BGP_AGGREGATES),
  meta: Object.values(META_AGGREGATES),
  sg: Object.values(SG_AGGREGATES),
};

describe('subject matching', () => {
  it.each([
    ['ev.ipam.>', 'ev.ipam.network.n1', true],
    ['ev.ipam.>', 'ev.ipam', false],
    ['ev.*.network.*', 'ev.ipam.network.n1', true],
    ['ev.*.network.*', 'ev.ipam.network.n1.x', false],
    ['cmd.ipam.*', 'cmd.ipam', false],
    ['$KV.b.row-a.h.>', '$KV.b.row-a.h.router.r1', true],
    ['$KV.b.row-a.h.>', '$KV.b.row-b.h.router.r1', false],
  ])('%s matches %s: %s', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});

describe.each(['', 'dev2'])('NATS permissions (prefix %j)', (prefix) => {
  const naming = new Naming({ prefix });
  const users = natsUsers({ prefix, agents: COMPOSE_NATS_AUTHORIZATION.agents });
  const user = (name: string): NatsUser => {
    const u = users.find((x) => x.user === name);
    if (!u) throw new Error(`no user ${name}`);
    return u;
  };
  const publishers = (subject: string) => users.filter((u) => u.permissions !== null && natsAllows(u.permissions, 'publish', subject)).map((u) => u.user);
  const subscribers = (subject: string) => users.filter((u) => u.permissions !== null && natsAllows(u.permissions, 'subscribe', subject)).map((u) => u.user);

  it('covers every context of the contracts with exactly one service', () => {
    expect(NATS_SERVICES.map((s) => s.context).sort()).toEqual(Object.keys(AGGREGATES).sort());
  });

  it.each(Object.entries(AGGREGATES))("lets only the owner of %s append its aggregates' events", (context, aggregates) => {
    const owner = NATS_SERVICES.find((s) => s.context === context)?.user;
    for (const aggregate of aggregates) expect(publishers(naming.eventSubject(context, aggregate, 'x1'))).toEqual([owner]);
  });

  it("lets each agent append to its own aggregate only, beat on its own key, read its own host's keys", () => {
    for (const { row, host } of COMPOSE_NATS_AUTHORIZATION.agents) {
      const me = agentNatsUser(row, host);
      // and its row's leaf node, which carries the agent's traffic in the clustered deployment
      const leaf = leafNatsUser(row);
      expect(publishers(naming.eventSubject(AGENT_CONTEXT, AGENT_AGGREGATE, agentIdOf(row, host)))).toEqual([me, leaf]);
      expect(publishers(`$KV.${naming.bucket(AGENT_HEARTBEAT_BUCKET)}.${row}.${host}`)).toEqual([me]);
      expect(subscribers(naming.agentControlSubject(row, host, 'resync'))).toEqual([me, leaf]);
      const bucket = naming.bucket(DESIRED_STATE_BUCKET);
      const key = desiredKey(row, host, DESIRED_KINDS.router, 'r1');
      // a watch (consumer) filtered on its keys and a direct get of one: its own host only
      const agentsReading = users.filter((u) => u.user.startsWith('agent-'));
      const watchers = agentsReading.filter((u) =>
        natsAllows(u.permissions, 'publish', `$JS.API.CONSUMER.CREATE.KV_${bucket}.w1.$KV.${bucket}.${row}.${host}.>`),
      );
      expect(watchers.map((u) => u.user)).toEqual([me]);
      const getters = agentsReading.filter((u) => natsAllows(u.permissions, 'publish', `$JS.API.DIRECT.GET.KV_${bucket}.$KV.${bucket}.${key}`));
      expect(getters.map((u) => u.user)).toEqual([me]);
      // no agent watches the whole bucket, nor writes desired state
      expect(agentsReading.some((u) => natsAllows(u.permissions, 'publish', `$JS.API.CONSUMER.CREATE.KV_${bucket}.w1.$KV.${bucket}.>`))).toBe(false);
      expect(publishers(`$KV.${bucket}.${key}`)).not.toContain(me);
      expect(subscribers(`${natsInboxPrefix(me)}.x`)).toEqual([me, leaf]);
    }
  });

  it("lets a row's leaf node carry its agents' traffic, in the cluster's JetStream domain, and nothing of another row", () => {
    const api = `$JS.${NATS_JS_DOMAIN}.API`;
    const desired = naming.bucket(DESIRED_STATE_BUCKET);
    const heartbeats = naming.bucket(AGENT_HEARTBEAT_BUCKET);
    const leaves = users.filter((u) => u.user.startsWith('leaf-'));
    expect(leaves.map((u) => u.user)).toEqual(['leaf-row-a', 'leaf-row-b']);
    for (const { row, host } of COMPOSE_NATS_AUTHORIZATION.agents) {
      const carriers = (action: 'publish' | 'subscribe', subject: string) =>
        leaves.filter((u) => natsAllows(u.permissions, action, subject)).map((u) => u.user);
      const own = [leafNatsUser(row)];
      expect(carriers('publish', `${api}.$KV.${heartbeats}.${row}.${host}`)).toEqual(own);
      expect(carriers('publish', `${api}.CONSUMER.CREATE.KV_${desired}.w1.$KV.${desired}.${row}.${host}.>`)).toEqual(own);
      expect(carriers('publish', `${api}.DIRECT.GET.KV_${desired}.$KV.${desired}.${row}.${host}.router.r1`)).toEqual(own);
      expect(carriers('subscribe', `${natsInboxPrefix(agentNatsUser(row, host))}.x`)).toEqual(own);
      // not in the cluster's own API (a leaf's requests there would reach no JetStream), not the whole bucket
      expect(carriers('publish', `$JS.API.CONSUMER.CREATE.KV_${desired}.w1.$KV.${desired}.${row}.${host}.>`)).toEqual([]);
      expect(carriers('publish', `${api}.CONSUMER.CREATE.KV_${desired}.w1.$KV.${desired}.>`)).toEqual([]);
      expect(carriers('publish', `${api}.$KV.${desired}.${row}.${host}.router.r1`)).toEqual([]);
    }
    for (const leaf of leaves) {
      expect(leaf.permissions?.allowResponses).toBe(false);
      for (const s of NATS_SERVICES) {
        expect(natsAllows(leaf.permissions, 'publish', naming.eventSubject(s.context, 'x', 'y'))).toBe(false);
        expect(natsAllows(leaf.permissions, 'publish', naming.commandSubject(s.context, 'verb'))).toBe(false);
        expect(natsAllows(leaf.permissions, 'subscribe', naming.commandSubject(s.context, 'verb'))).toBe(false);
      }
    }
    expect(() => leafNatsPermissions('row-z', COMPOSE_NATS_AUTHORIZATION.agents, naming)).toThrow(/no agents/);
  });

  it('lets every desired-state owner publish into the bucket and nobody else', () => {
    const key = `$KV.${naming.bucket(DESIRED_STATE_BUCKET)}.${desiredKey('row-a', 'net-a1', DESIRED_KINDS.l2Port, 'p1')}`;
    expect(publishers(key).sort()).toEqual(
      NATS_SERVICES.filter((s) => s.desiredState)
        .map((s) => s.user)
        .sort(),
    );
  });

  it('routes commands: each service serves its own, the callers send them, no agent does either', () => {
    for (const s of NATS_SERVICES) {
      expect(subscribers(naming.commandSubject(s.context, 'verb'))).toEqual([s.user]);
      expect(subscribers(naming.adminSubject(s.context, 'status'))).toEqual([s.user]);
      expect(user(s.user).permissions?.allowResponses).toBe(true);
    }
    expect(publishers(naming.commandSubject('sg', SG_PORT_GROUPS))).toEqual(['ipam']);
    expect(publishers(naming.commandSubject('ipam', 'create_port')).sort()).toEqual(['dhcp', 'l3']);
    expect(publishers(naming.commandSubject('l3', 'delete_unassociated_floatingips'))).toEqual(['ipam']);
    expect(publishers(naming.agentControlSubject('row-a', 'net-a1', 'resync'))).toEqual(['ipam']);
  });

  it('gives nobody but the admin the stream administration or a wildcard', () => {
    for (const u of users) {
      if (u.permissions === null) {
        expect(u.user).toBe('admin');
        continue;
      }
      expect(natsAllows(u.permissions, 'publish', `$JS.API.STREAM.DELETE.${naming.eventStream}`)).toBe(false);
      expect(natsAllows(u.permissions, 'publish', `$JS.API.STREAM.PURGE.${naming.eventStream}`)).toBe(false);
      expect(natsAllows(u.permissions, 'publish', `$JS.API.STREAM.MSG.DELETE.${naming.eventStream}`)).toBe(false);
      expect(natsAllows(u.permissions, 'subscribe', '_INBOX.x')).toBe(false);
      for (const s of [...u.permissions.publish, ...u.permissions.subscribe]) expect(s.startsWith('>') || s.startsWith('*')).toBe(false);
    }
  });

  it('keeps stacks with different prefixes apart', () => {
    const other = new Naming({ prefix: prefix === '' ? 'other' : '' });
    for (const u of users.filter((x) => x.user !== 'admin')) {
      for (const s of NATS_SERVICES) expect(natsAllows(u.permissions, 'publish', other.eventSubject(s.context, 'x', 'y'))).toBe(false);
      expect(natsAllows(u.permissions, 'publish', `$JS.API.CONSUMER.MSG.NEXT.${other.eventStream}.c1`)).toBe(false);
    }
  });
});

describe('infra/nats/auth.conf', () => {
  it('is the rendering for the compose stack', () => {
    const rendered = renderNatsAuthorization(COMPOSE_NATS_AUTHORIZATION);
    if (process.env.UPDATE_NATS_AUTH === '1' || (!existsSync(AUTH_CONF) && process.env.CI !== 'true')) writeFileSync(AUTH_CONF, rendered);
    expect(readFileSync(AUTH_CONF, 'utf8')).toBe(rendered);
  });

  for (const row of ['row-a', 'row-b'])
    it(`has the rendering of ${row}'s leaf node beside it (leaf-${row}.auth.conf)`, () => {
      const file = path.resolve(__dirname, `../../../infra/nats/leaf-${row}.auth.conf`);
      const rendered = renderLeafNodeAuthorization(COMPOSE_NATS_AUTHORIZATION, row);
      if (process.env.UPDATE_NATS_AUTH === '1' || (!existsSync(file) && process.env.CI !== 'true')) writeFileSync(file, rendered);
      expect(readFileSync(file, 'utf8')).toBe(rendered);
    });

  it('names one password variable per user', () => {
    const users = natsUsers(COMPOSE_NATS_AUTHORIZATION);
    expect(users.map((u) => u.passwordEnv)).toEqual([
      'NATS_ADMIN_PASSWORD',
      'NATS_IPAM_PASSWORD',
      'NATS_L3_PASSWORD',
      'NATS_DHCP_PASSWORD',
      'NATS_BGP_PASSWORD',
      'NATS_METADATA_PASSWORD',
      'NATS_SECGROUPS_PASSWORD',
      'NATS_AGENT_ROW_A_NET_A1_PASSWORD',
      'NATS_AGENT_ROW_B_CMP_B1_PASSWORD',
      'NATS_LEAF_ROW_A_PASSWORD',
      'NATS_LEAF_ROW_B_PASSWORD',
    ]);
    expect(natsPasswordEnv('agent-row-a-net-a1')).toBe('NATS_AGENT_ROW_A_NET_A1_PASSWORD');
  });
});
