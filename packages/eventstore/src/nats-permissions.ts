import { AGENT_AGGREGATE, AGENT_CONTEXT, AGENT_HEARTBEAT_BUCKET, DESIRED_STATE_BUCKET, Naming, agentIdOf, assertToken } from '@ncp/contracts';

/**
 * Who may do what on NATS: one user per service and one per host agent, each allowed the
 * subjects its process uses and nothing else (DESIGN.md, Identity: "services and agents
 * authenticate to NATS with their own users, limited to their subjects"). Pure: the rendered
 * nats-server `authorization` block is checked in as infra/nats/auth.conf and a unit test
 * keeps the two equal, so a change here (or in the subjects of @ncp/contracts) shows up there.
 *
 * What the subjects allow and what they do not:
 * - A service may append only to its own context's events (`ev.<context>.>`); the agent of
 *   (row, host) only to its own aggregate `ev.agent.agent.<agentIdOf(row, host)>`.
 * - An agent reads and writes only its host's keys: desired state `<row>.<host>.>` (the
 *   consumer-create subject carries the filter, which the server checks against the config),
 *   its heartbeat `<row>.<host>`, its control subject `agentctl.<row>.<host>.*`.
 * - Of the event stream an agent reads only its own aggregate's last message (a direct get
 *   that names the subject; JetStreamEventStore.appendUnread): no consumer of the stream, no
 *   `STREAM.MSG.GET` (which names its subject in the body, where permissions cannot look).
 * - An agent sees the info of other consumers of the desired-state bucket (`CONSUMER.INFO`
 *   names no filter): their names and filters, i.e. which hosts watch, not what they get.
 * - Services trust each other for reads: each may consume the whole stream.
 */

/** A service's NATS identity: its user (the app's name) and what it touches besides its own events. */
export interface NatsServiceAccess {
  /** the NATS user and the app (`NATS_<USER>_PASSWORD` holds its password) */
  readonly user: string;
  /** the event context it owns: `ev.<context>.>`, `cmd.<context>.*`, `admin.<context>.*` */
  readonly context: string;
  /** contexts whose commands it sends (`cmd.<context>.<verb>` requests) */
  readonly requests: readonly string[];
  /** it puts desired state into the KV bucket the agents watch */
  readonly desiredState: boolean;
  /** it asks agents to resync (`agentctl.<row>.<host>.resync`) */
  readonly agentControl: boolean;
}

/** Every service, as its context.ts wires it (CommandClient / IpamClient targets, publishers). */
export const NATS_SERVICES: readonly NatsServiceAccess[] = [
  { user: 'ipam', context: 'ipam', requests: ['l3', 'sg'], desiredState: true, agentControl: true },
  { user: 'l3', context: 'l3', requests: ['ipam'], desiredState: true, agentControl: false },
  { user: 'dhcp', context: 'dhcp', requests: ['ipam'], desiredState: true, agentControl: false },
  { user: 'bgp', context: 'bgp', requests: [], desiredState: true, agentControl: false },
  { user: 'metadata', context: 'meta', requests: [], desiredState: true, agentControl: false },
  { user: 'secgroups', context: 'sg', requests: [], desiredState: true, agentControl: false },
];

/** The user with every right: `netctl` and operators (stream admin, replays, any admin request). */
export const NATS_ADMIN_USER = 'admin';

export interface NatsAgentIdentity {
  readonly row: string;
  readonly host: string;
}

export interface NatsPermissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
  /** may answer requests it received (publish to their reply subject, once) */
  readonly allowResponses: boolean;
}

export interface NatsUser {
  readonly user: string;
  /** the environment variable nats-server reads the password from */
  readonly passwordEnv: string;
  /** null: no restriction (the admin user) */
  readonly permissions: NatsPermissions | null;
}

/** The user an agent connects as: one per host, e.g. `agent-row-a-net-a1`. */
export function agentNatsUser(row: string, host: string): string {
  return `agent-${assertToken('row', row)}-${assertToken('host', host)}`;
}

/** `NATS_IPAM_PASSWORD`, `NATS_AGENT_ROW_A_NET_A1_PASSWORD`. */
export function natsPasswordEnv(user: string): string {
  return `NATS_${user.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PASSWORD`;
}

/**
 * Where a user's replies arrive (connectNats sets it from NATS_USER): a user of its own, so
 * nobody subscribes to another's replies (an agent's KV deliveries, a service's answers).
 */
export function natsInboxPrefix(user: string): string {
  return `_INBOX_${assertToken('user', user)}`;
}

const JS = '$JS.API';

/** A subject of Naming's with placeholder tokens turned into `*` (Naming takes no wildcards). */
const ANY = '__any__';
const wildcard = (subject: string): string =>
  subject
    .split('.')
    .map((t) => (t === ANY ? '*' : t))
    .join('.');

/** What every user needs to talk to JetStream at all: the API probe and its own inbox. */
function base(user: string): { publish: string[]; subscribe: string[] } {
  return { publish: [`${JS}.INFO`], subscribe: [`${natsInboxPrefix(user)}.>`] };
}

export function serviceNatsPermissions(service: NatsServiceAccess, naming: Naming): NatsPermissions {
  const events = naming.eventStream;
  const desired = `KV_${naming.bucket(DESIRED_STATE_BUCKET)}`;
  const agents = `KV_${naming.bucket(AGENT_HEARTBEAT_BUCKET)}`;
  const streams = [events, desired, agents];
  const { publish, subscribe } = base(service.user);
  publish.push(
    naming.eventsOfContext(service.context),
    ...service.requests.map((context) => naming.commandsOfContext(context)),
    ...(service.agentControl ? [wildcard(naming.agentControlSubject(ANY, ANY, 'resync'))] : []),
    ...(service.desiredState ? [`$KV.${naming.bucket(DESIRED_STATE_BUCKET)}.>`] : []),
    // the event stream (ensureStream updates it), the KV buckets (Kvm.create)
    ...streams.flatMap((s) => [`${JS}.STREAM.INFO.${s}`, `${JS}.STREAM.CREATE.${s}`]),
    `${JS}.STREAM.UPDATE.${events}`,
    // reads: last sequence of a subject, a message by sequence, KV gets
    ...streams.flatMap((s) => [`${JS}.STREAM.MSG.GET.${s}`, `${JS}.DIRECT.GET.${s}`, `${JS}.DIRECT.GET.${s}.>`]),
    // durable projections and reactions, ordered reads, KV watches
    ...streams.flatMap((s) => [
      `${JS}.CONSUMER.CREATE.${s}`,
      `${JS}.CONSUMER.CREATE.${s}.>`,
      `${JS}.CONSUMER.DURABLE.CREATE.${s}.*`,
      `${JS}.CONSUMER.INFO.${s}.*`,
      `${JS}.CONSUMER.DELETE.${s}.*`,
      `${JS}.CONSUMER.MSG.NEXT.${s}.*`,
      // acknowledgements and the flow control of push consumers (KV watches)
      `$JS.ACK.${s}.>`,
      `$JS.FC.${s}.>`,
    ]),
  );
  subscribe.push(naming.commandsOfContext(service.context), wildcard(naming.adminSubject(service.context, ANY)));
  return { publish, subscribe, allowResponses: true };
}

export function agentNatsPermissions(agent: NatsAgentIdentity, naming: Naming): NatsPermissions {
  const { row, host } = agent;
  const user = agentNatsUser(row, host);
  const events = naming.eventStream;
  const own = naming.eventSubject(AGENT_CONTEXT, AGENT_AGGREGATE, agentIdOf(row, host));
  const desiredBucket = naming.bucket(DESIRED_STATE_BUCKET);
  const heartbeatBucket = naming.bucket(AGENT_HEARTBEAT_BUCKET);
  const desired = `KV_${desiredBucket}`;
  const heartbeats = `KV_${heartbeatBucket}`;
  const ownKeys = `$KV.${desiredBucket}.${row}.${host}.>`;
  const { publish, subscribe } = base(user);
  publish.push(
    // its registration and status reports, on its own aggregate only; what it reads of the
    // stream is that subject's last message (appendUnread), nothing else
    own,
    `${JS}.DIRECT.GET.${events}.${own}`,
    // its heartbeat (the bucket must exist: the services create it)
    `$KV.${heartbeatBucket}.${row}.${host}`,
    `${JS}.STREAM.INFO.${heartbeats}`,
    // its host's desired state: keys and a watch filtered on them, direct gets of them
    `${JS}.STREAM.INFO.${desired}`,
    `${JS}.CONSUMER.CREATE.${desired}.*.${ownKeys}`,
    `${JS}.CONSUMER.INFO.${desired}.*`,
    `${JS}.DIRECT.GET.${desired}.${ownKeys}`,
    `$JS.FC.${desired}.>`,
  );
  subscribe.push(wildcard(naming.agentControlSubject(row, host, ANY)));
  return { publish, subscribe, allowResponses: false };
}

export interface NatsAuthorizationOptions {
  /** NATS_PREFIX of the stack these users serve ('' in compose) */
  readonly prefix?: string;
  /** the host agents, one user each */
  readonly agents: readonly NatsAgentIdentity[];
}

/** What infra/nats/auth.conf is rendered for: docker-compose.yml's prefix ('') and its two agents. */
export const COMPOSE_NATS_AUTHORIZATION: NatsAuthorizationOptions = {
  prefix: '',
  agents: [
    { row: 'row-a', host: 'net-a1' },
    { row: 'row-b', host: 'cmp-b1' },
  ],
};

export function natsUsers(opts: NatsAuthorizationOptions): NatsUser[] {
  const naming = new Naming({ prefix: opts.prefix });
  return [
    { user: NATS_ADMIN_USER, passwordEnv: natsPasswordEnv(NATS_ADMIN_USER), permissions: null },
    ...NATS_SERVICES.map((s) => ({ user: s.user, passwordEnv: natsPasswordEnv(s.user), permissions: serviceNatsPermissions(s, naming) })),
    ...opts.agents.map((a) => {
      const user = agentNatsUser(a.row, a.host);
      return { user, passwordEnv: natsPasswordEnv(user), permissions: agentNatsPermissions(a, naming) };
    }),
  ];
}

const quote = (s: string) => JSON.stringify(s);

/** The nats-server `authorization` block (its config syntax), passwords read from the environment. */
export function renderNatsAuthorization(opts: NatsAuthorizationOptions): string {
  const lines = [
    '# Generated from packages/eventstore/src/nats-permissions.ts by scripts/render-nats-auth.mjs:',
    '# edit that, not this (infra/nats/README.md says how to render it and reload nats-server).',
    `# NATS_PREFIX: ${quote(opts.prefix ?? '')}; agents: ${opts.agents.map((a) => `${a.row}/${a.host}`).join(', ') || 'none'}.`,
    '# Every password comes from the environment of nats-server (NATS_<USER>_PASSWORD).',
    'authorization {',
    '  users = [',
  ];
  for (const u of natsUsers(opts)) {
    lines.push('    {', `      user: ${quote(u.user)}`, `      password: $${u.passwordEnv}`);
    if (u.permissions) {
      const list = (subjects: readonly string[]) => subjects.map((s) => `          ${quote(s)}`);
      lines.push(
        '      permissions: {',
        '        publish: { allow: [',
        ...list(u.permissions.publish),
        '        ] }',
        '        subscribe: { allow: [',
        ...list(u.permissions.subscribe),
        '        ] }',
      );
      if (u.permissions.allowResponses) lines.push('        allow_responses: true');
      lines.push('      }');
    }
    lines.push('    }');
  }
  lines.push('  ]', '}', '');
  return lines.join('\n');
}

/** Whether a NATS subject matches a pattern (`*` one token, `>` one or more at the end). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/** Whether `permissions` let a user publish (or subscribe to) `subject`. */
export function natsAllows(permissions: NatsPermissions | null, action: 'publish' | 'subscribe', subject: string): boolean {
  return permissions === null || permissions[action].some((pattern) => subjectMatches(pattern, subject));
}
