import { AGENT_AGGREGATE, AGENT_CONTEXT, AGENT_HEARTBEAT_BUCKET, DESIRED_STATE_BUCKET, Naming, agentIdOf, assertToken } from '@ncp/contracts';
import { leaseBucket } from './buckets';
import { commandRepliesBucket } from './command-replies';

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

/**
 * The JetStream domain of the clustered deployment (cluster.conf): a row's leaf node has no
 * JetStream, so its agents address the hub's as `$JS.ncp.API` (NATS_JS_DOMAIN).
 */
export const NATS_JS_DOMAIN = 'ncp';

/** The JetStream API prefix a client uses: `$JS.API`, or `$JS.<domain>.API` through a leaf node. */
const jsApi = (domain?: string): string => (domain ? `$JS.${assertToken('domain', domain)}.API` : JS);

/** A subject of Naming's with placeholder tokens turned into `*` (Naming takes no wildcards). */
const ANY = '__any__';
const wildcard = (subject: string): string =>
  subject
    .split('.')
    .map((t) => (t === ANY ? '*' : t))
    .join('.');

/** What every user needs to talk to JetStream at all: the API probe and its own inbox. */
function base(user: string, api = JS): { publish: string[]; subscribe: string[] } {
  return { publish: [`${api}.INFO`], subscribe: [`${natsInboxPrefix(user)}.>`] };
}

export function serviceNatsPermissions(service: NatsServiceAccess, naming: Naming): NatsPermissions {
  const events = naming.eventStream;
  const desired = `KV_${naming.bucket(DESIRED_STATE_BUCKET)}`;
  const agents = `KV_${naming.bucket(AGENT_HEARTBEAT_BUCKET)}`;
  const leases = leaseBucket(naming, service.context);
  const replies = commandRepliesBucket(naming, service.context);
  const streams = [events, desired, agents, `KV_${leases}`, `KV_${replies}`];
  const { publish, subscribe } = base(service.user);
  publish.push(
    naming.eventsOfContext(service.context),
    ...service.requests.map((context) => naming.commandsOfContext(context)),
    ...(service.agentControl ? [wildcard(naming.agentControlSubject(ANY, ANY, 'resync'))] : []),
    ...(service.desiredState ? [`$KV.${naming.bucket(DESIRED_STATE_BUCKET)}.>`] : []),
    // its replicas' leader lease, and the replies to its commands kept for their retries
    `$KV.${leases}.${service.context}`,
    `$KV.${replies}.>`,
    // the event stream and the KV buckets, created or brought to the stack's replicas (ensureStream, ensureBucket)
    ...streams.flatMap((s) => [`${JS}.STREAM.INFO.${s}`, `${JS}.STREAM.CREATE.${s}`, `${JS}.STREAM.UPDATE.${s}`]),
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

/**
 * `domain`: the agent talks to JetStream through its row's leaf node, in the cluster's domain
 * (its API subjects, and its KV writes, carry `$JS.<domain>.API`).
 */
export function agentNatsPermissions(agent: NatsAgentIdentity, naming: Naming, domain?: string): NatsPermissions {
  const { row, host } = agent;
  const api = jsApi(domain);
  // a KV write through a domain is an API subject too: `$JS.<domain>.API.$KV.<bucket>.<key>`
  const kvWrite = domain ? `${api}.$KV` : '$KV';
  const user = agentNatsUser(row, host);
  const events = naming.eventStream;
  const own = naming.eventSubject(AGENT_CONTEXT, AGENT_AGGREGATE, agentIdOf(row, host));
  const desiredBucket = naming.bucket(DESIRED_STATE_BUCKET);
  const heartbeatBucket = naming.bucket(AGENT_HEARTBEAT_BUCKET);
  const desired = `KV_${desiredBucket}`;
  const heartbeats = `KV_${heartbeatBucket}`;
  const ownKeys = `$KV.${desiredBucket}.${row}.${host}.>`;
  const { publish, subscribe } = base(user, api);
  publish.push(
    // its registration and status reports, on its own aggregate only; what it reads of the
    // stream is that subject's last message (appendUnread), nothing else
    own,
    `${api}.DIRECT.GET.${events}.${own}`,
    // its heartbeat (the bucket must exist: the services create it)
    `${kvWrite}.${heartbeatBucket}.${row}.${host}`,
    `${api}.STREAM.INFO.${heartbeats}`,
    // its host's desired state: keys and a watch filtered on them, direct gets of them
    `${api}.STREAM.INFO.${desired}`,
    `${api}.CONSUMER.CREATE.${desired}.*.${ownKeys}`,
    `${api}.CONSUMER.INFO.${desired}.*`,
    `${api}.DIRECT.GET.${desired}.${ownKeys}`,
    `$JS.FC.${desired}.>`,
  );
  subscribe.push(wildcard(naming.agentControlSubject(row, host, ANY)));
  return { publish, subscribe, allowResponses: false };
}

/** The user a row's leaf node connects to the cluster as: `leaf-row-a`. */
export function leafNatsUser(row: string): string {
  return `leaf-${assertToken('row', row)}`;
}

/**
 * What a row's leaf node may carry between its agents and the cluster: what the row's agents
 * may do, in the cluster's domain, and nothing of another row's. For a leaf connection the
 * cluster reads `publish` as what the leaf may send in and `subscribe` as what it lets out to
 * the leaf; a leaf server that lets anyone in (or a stolen leaf password) gets no further.
 */
export function leafNatsPermissions(row: string, agents: readonly NatsAgentIdentity[], naming: Naming, domain = NATS_JS_DOMAIN): NatsPermissions {
  const own = agents.filter((a) => a.row === row).map((a) => agentNatsPermissions(a, naming, domain));
  if (own.length === 0) throw new Error(`row ${row} has no agents`);
  const union = (key: 'publish' | 'subscribe') => [...new Set(own.flatMap((p) => p[key]))];
  return { publish: union('publish'), subscribe: union('subscribe'), allowResponses: false };
}

export interface NatsAuthorizationOptions {
  /** NATS_PREFIX of the stack these users serve ('' in compose) */
  readonly prefix?: string;
  /** the host agents, one user each */
  readonly agents: readonly NatsAgentIdentity[];
}

/** The rows of the agents, each once, in order. */
const rowsOf = (agents: readonly NatsAgentIdentity[]): string[] => [...new Set(agents.map((a) => a.row))];

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
    // each row's leaf node (the clustered deployment: its agents connect to their row's leaf)
    ...rowsOf(opts.agents).map((row) => {
      const user = leafNatsUser(row);
      return { user, passwordEnv: natsPasswordEnv(user), permissions: leafNatsPermissions(row, opts.agents, naming) };
    }),
  ];
}

/** The users of a row's leaf node: the row's agents, talking to the cluster's JetStream through its domain. */
export function leafNodeUsers(opts: NatsAuthorizationOptions, row: string, domain = NATS_JS_DOMAIN): NatsUser[] {
  const naming = new Naming({ prefix: opts.prefix });
  return opts.agents
    .filter((a) => a.row === row)
    .map((a) => {
      const user = agentNatsUser(a.row, a.host);
      return { user, passwordEnv: natsPasswordEnv(user), permissions: agentNatsPermissions(a, naming, domain) };
    });
}

const quote = (s: string) => JSON.stringify(s);

/** The nats-server `authorization` block (its config syntax), passwords read from the environment. */
export function renderNatsAuthorization(opts: NatsAuthorizationOptions): string {
  return renderUsers(opts, natsUsers(opts), []);
}

/** A row's leaf node's `authorization` block: its agents' users (infra/nats/leaf-<row>.auth.conf). */
export function renderLeafNodeAuthorization(opts: NatsAuthorizationOptions, row: string): string {
  return renderUsers(opts, leafNodeUsers(opts, row), [
    `# The users of row ${row}'s leaf node: its agents, with JetStream in domain ${quote(NATS_JS_DOMAIN)} (NATS_JS_DOMAIN).`,
  ]);
}

function renderUsers(opts: NatsAuthorizationOptions, users: readonly NatsUser[], preamble: readonly string[]): string {
  const lines = [
    '# Generated from packages/eventstore/src/nats-permissions.ts by scripts/render-nats-auth.mjs:',
    '# edit that, not this (infra/nats/README.md says how to render it and reload nats-server).',
    `# NATS_PREFIX: ${quote(opts.prefix ?? '')}; agents: ${opts.agents.map((a) => `${a.row}/${a.host}`).join(', ') || 'none'}.`,
    ...preamble,
    '# Every password comes from the environment of nats-server (NATS_<USER>_PASSWORD).',
    'authorization {',
    '  users = [',
  ];
  for (const u of users) {
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
