#!/usr/bin/env node
// @ts-check
// Runs the whole control plane natively on this machine, against the Postgres and NATS
// named by DATABASE_URL and NATS_URL (defaults: the local ones):
//
//   npm run stack                     build (turbo, incremental), migrate, start, wait
//   npm run stack -- --no-build       use the dist/ folders as they are
//   npm run stack -- --port-base 19696 --nats-prefix dev2
//                                     a second stack beside a running one
//   npm run stack -- --help
//
// A service that exits on its own once it has been healthy is restarted, alone, after a
// backoff (RestartPolicy of @ncp/supervisor); the stack gives up and stops only after
// --max-restarts restarts in a row that did not stay healthy. A service that never becomes
// healthy at start fails the stack at once.
//
// Plain Node ESM; its children are supervised by @ncp/supervisor (packages/supervisor, built
// to dist), which starts each with spawn and an argument array, never a shell. To add a service (l3, dhcp, bgp, metadata, secgroups, agents), add
// an entry to SERVICES below: the order of the list is the start order (each waits for
// the previous ones to be healthy) and the reverse of the stop order.

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_RESTART_POLICY, LinePrefixer, Supervisor, httpHealth } from '@ncp/supervisor';
import { authStrategy } from './stack-auth.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The port of the public API; other services' default ports are offsets from it. */
const API_PORT = 9696;

/**
 * @typedef {object} Ctx
 * @property {(name: string) => number} port
 * @property {(name: string) => string} url
 *
 * @typedef {ReturnType<typeof parseOptions>} Options
 *
 * @typedef {object} Service
 * @property {string} name
 * @property {string} script
 * @property {number} defaultPort
 * @property {string[]} [migrate]
 * @property {(ctx: Ctx) => Record<string, string>} [env]
 * @property {string | null} health
 * @property {boolean} docs
 * @property {number} [settleMs]
 * @property {(o: Options) => boolean} [enabled]
 */

/**
 * The services of the stack, in start order.
 *
 * - name:        log prefix, and `<NAME>_PORT` overrides its port (e.g. IPAM_PORT)
 * - script:      the built entry point, relative to the repository root
 * - defaultPort: its port when nothing overrides it; with --port-base B it becomes
 *                B + (defaultPort - 9696), so a whole stack moves together
 * - migrate:     npm arguments of a one-shot step run before anything starts (optional)
 * - env(ctx):    extra environment; ctx.url(name) is another service's base URL,
 *                ctx.port(name) its port (optional)
 * - health:      the path polled until it answers 2xx, or null for a service without
 *                HTTP (then it only has to stay up for `settleMs`)
 * - docs:        whether it serves OpenAPI at /docs
 * - enabled(o):  whether to run it with these options (optional; e.g. agents need root)
 *
 * @type {Service[]}
 */
const SERVICES = [
  {
    name: 'ipam',
    script: 'apps/ipam/dist/main.js',
    defaultPort: 9701,
    migrate: ['run', 'migrate', '-w', '@ncp/ipam'],
    health: '/healthz',
    docs: true,
  },
  {
    name: 'l3',
    script: 'apps/l3/dist/main.js',
    defaultPort: 9702,
    migrate: ['run', 'migrate', '-w', '@ncp/l3'],
    health: '/healthz',
    docs: true,
  },
  {
    name: 'dhcp',
    script: 'apps/dhcp/dist/main.js',
    defaultPort: 9703,
    migrate: ['run', 'migrate', '-w', '@ncp/dhcp'],
    health: '/healthz',
    docs: true,
  },
  {
    name: 'bgp',
    script: 'apps/bgp/dist/main.js',
    defaultPort: 9704,
    migrate: ['run', 'migrate', '-w', '@ncp/bgp'],
    health: '/healthz',
    docs: true,
  },
  {
    name: 'metadata',
    script: 'apps/metadata/dist/main.js',
    defaultPort: 9705,
    migrate: ['run', 'migrate', '-w', '@ncp/metadata'],
    health: '/healthz',
    docs: true,
  },
  {
    name: 'secgroups',
    script: 'apps/secgroups/dist/main.js',
    defaultPort: 9706,
    migrate: ['run', 'migrate', '-w', '@ncp/secgroups'],
    health: '/healthz',
    docs: true,
  },
  // Later services go here, before the gateway. Agents are not started here: in the root
  // namespace they would reconfigure this machine's network. agentHelp() prints how to run
  // them by hand, each in a namespace of its own (docker compose runs them in containers).
  {
    name: 'gateway',
    script: 'apps/gateway/dist/main.js',
    defaultPort: API_PORT,
    env: (ctx) => ({
      IPAM_URL: ctx.url('ipam'),
      L3_URL: ctx.url('l3'),
      DHCP_URL: ctx.url('dhcp'),
      BGP_URL: ctx.url('bgp'),
      METADATA_URL: ctx.url('metadata'),
      SECGROUPS_URL: ctx.url('secgroups'),
    }),
    health: '/healthz',
    docs: true,
  },
];

const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/ncp';
const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
const HEALTH_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

const USAGE = `Usage: npm run stack -- [options]

Builds (incrementally), migrates and starts the services natively, waits until they are
healthy and prints where they are. A service that exits on its own is restarted after
a backoff (0.5 s, doubling to 30 s). Ctrl-C stops them all.

Options:
  --no-build            Do not run \`npx turbo run build\` first (dist/ must exist)
  --no-migrate          Do not run the migrate steps
  --port-base <port>    Port of the API (default ${API_PORT}, or STACK_PORT_BASE); every
                        service keeps its offset from it (ipam: +5)
  --host <addr>         Address the services bind to (default 127.0.0.1)
  --nats-prefix <p>     NATS_PREFIX for every service (namespaces stream and subjects)
  --database-url <url>  DATABASE_URL for every service and migration
  --nats-url <url>      NATS_URL for every service
  --max-restarts <n>    Restarts in a row of one service, none of which stayed healthy,
                        before the stack gives up and stops (default ${DEFAULT_RESTART_POLICY.maxRestarts}; 0: stop
                        the stack when a service exits, never restart)
  --stable-seconds <s>  How long a restarted service must stay healthy for its count of
                        restarts in a row, and its backoff, to be reset (default ${DEFAULT_RESTART_POLICY.stableMs / 1000})
  -h, --help            This help

Host agents are not started (in this namespace they would reconfigure this machine's
network); run them by hand as root, each in a namespace of its own, as printed once the
stack is up (README, "Host agents"). \`docker compose up\` runs the stack with two agents.

Environment (the options win): DATABASE_URL (default ${DEFAULT_DATABASE_URL}),
NATS_URL (default ${DEFAULT_NATS_URL}), NATS_PREFIX, LOG_LEVEL, and any other
service setting (DEFAULT_PROJECT_ID, MAC_PREFIX, ...), which is passed through.

<NAME>_PORT sets one service's port: ${SERVICES.map((s) => `${envName(s.name)}_PORT`).join(', ')}.
NATS_<NAME>_PASSWORD (where NATS has users, infra/nats/auth.conf): the service connects as
user <name> with it; each service gets its own only.

Authentication: none by default (AUTH_STRATEGY=noauth is passed to the services: the API
is open, any caller acts as the project and roles it names). To validate Keystone tokens
set KEYSTONE_URL (e.g. http://127.0.0.1:5000/v3), KEYSTONE_USERNAME, KEYSTONE_PASSWORD and,
if not service / Default / Default, KEYSTONE_PROJECT_NAME, KEYSTONE_USER_DOMAIN_NAME,
KEYSTONE_PROJECT_DOMAIN_NAME (or AUTH_STRATEGY=keystone); README, "Authentication".
`;

/** @param {string} name */
function envName(name) {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/**
 * A service's NATS user where NATS has users (infra/nats/auth.conf): user <name>, password
 * from NATS_<NAME>_PASSWORD; not set: none (a NATS without authorization, the local default).
 *
 * @param {string} name
 * @returns {Record<string, string>}
 */
function natsCredentials(name) {
  const password = process.env[`NATS_${envName(name)}_PASSWORD`];
  return password ? { NATS_USER: name, NATS_PASSWORD: password } : {};
}

/**
 * The environment without any NATS user's password: a service gets its own (natsCredentials),
 * never another's.
 *
 * @returns {Record<string, string | undefined>}
 */
function environmentWithoutNatsPasswords() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^NATS_(USER|PASSWORD|.+_PASSWORD)$/.test(k)));
}

// ---------------------------------------------------------------------------------------
// Output: every line of every child, prefixed with its name.

const NAMES = ['stack', 'build', ...SERVICES.flatMap((s) => (s.migrate ? [s.name, `${s.name}:migrate`] : [s.name]))];
const WIDTH = Math.max(...NAMES.map((n) => n.length));
const lines = new LinePrefixer(NAMES, { color: Boolean(process.stdout.isTTY && !process.env.NO_COLOR), self: 'stack' });

/** @param {string} message */
function log(message, name = 'stack') {
  lines.write(process.stdout, name, message);
}

/**
 * Where a child's lines go: its stdout to ours, its stderr to ours, prefixed with `name`.
 * @param {string} name
 * @returns {(line: string, stream: 'stdout' | 'stderr') => void}
 */
const prefixed = (name) => (line, stream) => lines.write(stream === 'stdout' ? process.stdout : process.stderr, name, line);

// ---------------------------------------------------------------------------------------
// Children.

const supervisor = new Supervisor({
  log,
  healthTimeoutMs: HEALTH_TIMEOUT_MS,
  stopGraceMs: STOP_TIMEOUT_MS,
  onGiveUp: (reason) => void shutdown(1, reason),
});

/**
 * Stops everything, the last started first, and exits with `code`.
 * @param {number} code
 * @param {string} [reason]
 */
async function shutdown(code, reason) {
  if (supervisor.stopping) return;
  if (reason) log(reason);
  await supervisor.stop();
  log(code === 0 ? 'stopped' : `stopped (exit code ${code})`);
  process.exit(code);
}

// If we die some other way (an uncaught error), do not leave services behind.
process.on('exit', () => supervisor.killAll());

let interrupts = 0;
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(signal, () => {
    interrupts += 1;
    if (interrupts > 1) {
      log(`${signal} again: killing everything now`);
      supervisor.killAll();
      process.exit(130);
    }
    void shutdown(0, `${signal} received, stopping (again to kill)`);
  });
}

// ---------------------------------------------------------------------------------------
// Ports.

/**
 * @param {string} host
 * @param {number} port
 * @returns {Promise<boolean>}
 */
function portIsFree(host, port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------------------------------

function parseOptions() {
  const { values } = parseArgs({
    options: {
      'no-build': { type: 'boolean', default: false },
      'no-migrate': { type: 'boolean', default: false },
      'port-base': { type: 'string' },
      host: { type: 'string' },
      'nats-prefix': { type: 'string' },
      'database-url': { type: 'string' },
      'nats-url': { type: 'string' },
      'max-restarts': { type: 'string' },
      'stable-seconds': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const portBase = values['port-base'] ?? process.env.STACK_PORT_BASE;
  if (portBase !== undefined && !/^\d+$/.test(portBase)) throw new Error(`--port-base: not a port: ${portBase}`);
  /**
   * @param {'max-restarts' | 'stable-seconds'} option
   * @param {number} fallback
   * @param {number} min
   */
  const count = (option, fallback, min) => {
    const value = values[option];
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min) throw new Error(`--${option}: not a whole number from ${min}: ${value}`);
    return Number(value);
  };
  return {
    build: !values['no-build'],
    migrate: !values['no-migrate'],
    portBase: portBase === undefined ? API_PORT : Number(portBase),
    host: values.host ?? '127.0.0.1',
    natsPrefix: values['nats-prefix'] ?? process.env.NATS_PREFIX ?? '',
    databaseUrl: values['database-url'] ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    natsUrl: values['nats-url'] ?? process.env.NATS_URL ?? DEFAULT_NATS_URL,
    restartPolicy: {
      ...DEFAULT_RESTART_POLICY,
      maxRestarts: count('max-restarts', DEFAULT_RESTART_POLICY.maxRestarts, 0),
      stableMs: count('stable-seconds', DEFAULT_RESTART_POLICY.stableMs / 1000, 1) * 1000,
    },
  };
}

/**
 * How to run host agents by hand against this stack: as root, each in a network namespace
 * that stands for its host (--host-netns), with an underlay between them (a veth pair), the
 * same two agents as docker-compose.yml's agent-net and agent-cmp. Never in the root
 * namespace of a machine whose network matters.
 *
 * @param {Ctx} ctx
 * @param {Options} opts
 * @param {boolean} secretGenerated
 */
function agentHelp(ctx, opts, secretGenerated) {
  const secret = secretGenerated ? '<the secret printed above>' : '"$METADATA_PROXY_SHARED_SECRET"';
  const env = [
    `NATS_URL=${opts.natsUrl}`,
    ...(opts.natsPrefix ? [`NATS_PREFIX=${opts.natsPrefix}`] : []),
    `METADATA_URL=${ctx.url('metadata')}`,
    `METADATA_PROXY_SHARED_SECRET=${secret}`,
  ].join(' ');
  /** @type {(row: string, host: string, roles: string, ip: string) => string} */
  const agent = (row, host, roles, ip) =>
    `    sudo env ${env}${agentNatsUser(row, host)} node apps/agent/dist/main.js --row ${row} --host ${host} --roles ${roles} --tunnel-ip ${ip} --host-netns ncp-${host} --state-dir /var/lib/ncp-agent/${host} &`;
  return [
    '  host agents: none started here (in this namespace they would reconfigure this machine).',
    '  Two by hand, as root, each in its own namespace (the same pair as docker compose):',
    '    sudo ip netns add ncp-net-a1 && sudo ip netns add ncp-cmp-b1',
    '    sudo ip link add ul0 netns ncp-net-a1 type veth peer name ul0 netns ncp-cmp-b1',
    '    sudo ip -n ncp-net-a1 addr add 10.253.0.11/24 dev ul0 && sudo ip -n ncp-cmp-b1 addr add 10.253.0.12/24 dev ul0',
    '    for ns in ncp-net-a1 ncp-cmp-b1; do sudo ip -n $ns link set lo up && sudo ip -n $ns link set ul0 up; done',
    agent('row-a', 'net-a1', 'network,bgp', '10.253.0.11'),
    agent('row-b', 'cmp-b1', 'compute', '10.253.0.12'),
  ];
}

/**
 * An agent's NATS user (infra/nats/auth.conf: agent-<row>-<host>) where its password is set.
 *
 * @param {string} row
 * @param {string} host
 */
function agentNatsUser(row, host) {
  const user = `agent-${row}-${host}`;
  const variable = `NATS_${envName(user)}_PASSWORD`;
  return process.env[variable] ? ` NATS_USER=${user} NATS_PASSWORD="$${variable}"` : '';
}

/** @param {string} url */
function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

async function main() {
  const opts = parseOptions();
  const services = SERVICES.filter((s) => !s.enabled || s.enabled(opts));

  /** @type {Map<string, number>} */
  const ports = new Map();
  for (const s of services) {
    const override = process.env[`${envName(s.name)}_PORT`];
    const port = override !== undefined ? Number(override) : opts.portBase + (s.defaultPort - API_PORT);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port for ${s.name}: ${override ?? port}`);
    ports.set(s.name, port);
  }
  const reachHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  /** @type {Ctx} */
  const ctx = {
    port: (name) => {
      const port = ports.get(name);
      if (port === undefined) throw new Error(`no service named ${name} in the stack`);
      return port;
    },
    url: (name) => `http://${reachHost.includes(':') ? `[${reachHost}]` : reachHost}:${ctx.port(name)}`,
  };

  // Fail early and clearly if a port is taken (another engineer's stack, say).
  for (const s of services) {
    if (!(await portIsFree(opts.host, ctx.port(s.name)))) {
      throw new Error(
        `port ${ctx.port(s.name)} (${s.name}) on ${opts.host} is already in use; ` +
          `run beside it with --port-base <port> (and --nats-prefix, --database-url) or ${envName(s.name)}_PORT`,
      );
    }
  }

  // The metadata service refuses to start without the secret its agents' proxies sign with.
  const metadataSecret = process.env.METADATA_PROXY_SHARED_SECRET ?? randomBytes(24).toString('hex');
  const auth = authStrategy(process.env);
  const common = {
    ...environmentWithoutNatsPasswords(),
    ...auth.env,
    DATABASE_URL: opts.databaseUrl,
    NATS_URL: opts.natsUrl,
    NATS_PREFIX: opts.natsPrefix,
    HOST: opts.host,
    METADATA_PROXY_SHARED_SECRET: metadataSecret,
  };
  if (process.env.METADATA_PROXY_SHARED_SECRET === undefined) {
    log(`metadata proxies' shared secret (METADATA_PROXY_SHARED_SECRET, give it to the agents): ${metadataSecret}`);
  }

  log(`database ${redact(opts.databaseUrl)}, NATS ${opts.natsUrl}${opts.natsPrefix ? ` (prefix ${opts.natsPrefix})` : ''}`);
  if (auth.strategy === 'noauth') {
    log('AUTH_STRATEGY=noauth: the API is open (no authentication): set KEYSTONE_URL to validate Keystone tokens');
  } else {
    log(`AUTH_STRATEGY=${auth.strategy}: Keystone ${process.env.KEYSTONE_URL ?? '(KEYSTONE_URL unset)'}, user ${process.env.KEYSTONE_USERNAME ?? '(unset)'}`);
  }

  if (opts.build) {
    log('building (npx turbo run build)');
    await supervisor.run({
      name: 'build',
      command: 'npx',
      args: ['--no', 'turbo', 'run', 'build', '--output-logs=errors-only'],
      cwd: ROOT,
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
      onLine: prefixed('build'),
    });
  }
  for (const s of services) {
    const script = path.join(ROOT, s.script);
    if (!existsSync(script)) throw new Error(`${s.script} does not exist; build first (npm run build) or drop --no-build`);
  }

  if (opts.migrate) {
    for (const { name, migrate } of services) {
      if (!migrate) continue;
      log(`migrating ${name} (npm ${migrate.join(' ')})`);
      await supervisor.run({ name: `${name}:migrate`, command: 'npm', args: migrate, cwd: ROOT, env: common, onLine: prefixed(`${name}:migrate`) });
    }
  }

  for (const s of services) {
    if (supervisor.stopping) return;
    const port = ctx.port(s.name);
    const env = { ...common, PORT: String(port), ...natsCredentials(s.name), ...(s.env ? s.env(ctx) : {}) };
    log(`starting ${s.name} on ${opts.host}:${port}`);
    const healthUrl = s.health ? `${ctx.url(s.name)}${s.health}` : null;
    const started = await supervisor.start({
      name: s.name,
      command: process.execPath,
      args: [path.join(ROOT, s.script)],
      cwd: ROOT,
      env,
      // its own process group: a Ctrl-C in the terminal reaches only us, and we stop the
      // services in order instead of all at once
      detached: true,
      onLine: prefixed(s.name),
      health: healthUrl === null ? null : httpHealth(healthUrl),
      healthAt: healthUrl ?? undefined,
      settleMs: s.settleMs,
      restart: opts.restartPolicy,
    });
    // A service that exits before it was ever healthy fails the stack (a broken build or
    // configuration would only fail again); from its first health on, it is restarted.
    if (!started.ready) {
      if (!supervisor.stopping) void shutdown(1, `${s.name} exited (${started.exit}) before it was healthy; stopping everything`);
      return;
    }
    log(`${s.name} is healthy`);
  }

  const api = ctx.url('gateway');
  const docs = services.filter((s) => s.docs).map((s) => `    ${s.name.padEnd(WIDTH)}  ${ctx.url(s.name)}/docs`);
  log(
    [
      '',
      'the stack is up',
      `  Neutron API   ${api}/v2.0   (e.g. curl -s ${api}/v2.0/networks)`,
      '  OpenAPI docs',
      ...docs,
      `  database      ${redact(opts.databaseUrl)}`,
      `  NATS          ${opts.natsUrl}${opts.natsPrefix ? ` (stream EVENTS_${opts.natsPrefix})` : ' (stream EVENTS)'}`,
      '',
      ...(auth.strategy === 'noauth'
        ? [
            '  the API is open (AUTH_STRATEGY=noauth): a request acts as X-Project-Id / X-Roles, or',
            "  DEFAULT_PROJECT_ID with DEFAULT_ROLES. openstack CLI: this cloud (the repository root's",
            '  clouds.yaml has it for port 9696) in ~/.config/openstack/clouds.yaml or OS_CLIENT_CONFIG_FILE:',
            '    clouds:',
            '      ncp:',
            '        auth_type: none',
            '        auth:',
            `          endpoint: ${api}`,
            '  then: OS_CLOUD=ncp openstack network create demo && OS_CLOUD=ncp openstack network list',
          ]
        : [
            `  authentication: Keystone tokens (AUTH_STRATEGY=${auth.strategy}, ${process.env.KEYSTONE_URL ?? 'KEYSTONE_URL unset'});`,
            `  openstack CLI: authenticate there, with a catalog whose network endpoint is ${api}`,
          ]),
      '',
      ...agentHelp(ctx, opts, process.env.METADATA_PROXY_SHARED_SECRET === undefined),
      '',
      'Ctrl-C stops everything',
    ].join('\n'),
  );
}

main().catch((e) => {
  void shutdown(1, `error: ${e instanceof Error ? e.message : String(e)}`);
});
