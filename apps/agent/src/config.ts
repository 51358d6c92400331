import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { agentNameSchema, agentRole } from '@ncp/contracts';
import { baseConfigSchema } from '@ncp/nest-common';

/**
 * The agent's identity and host mapping come as flags (they differ per host); the
 * connection settings as the same environment variables every service reads.
 */
export const agentConfigSchema = z.object({
  row: agentNameSchema,
  host: agentNameSchema,
  roles: z.array(agentRole).min(1),
  tunnelIp: z.string().min(1),
  physnets: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/)),
  hostNetns: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .nullable(),
  /** put before the names of router and DHCP namespaces on this host (several agents on one machine); '' on a real host */
  netnsPrefix: z.string().regex(/^([A-Za-z0-9_][A-Za-z0-9_.-]{0,23})?$/, 'must be empty or 1-24 of A-Z a-z 0-9 _ . - (not starting with . or -)'),
  heartbeatSeconds: z.number().int().min(1).max(60),
  resyncSeconds: z.number().int().min(5),
  /** How often BGP sessions are read back between full passes (they change on their own). */
  bgpStatusSeconds: z.number().int().min(1),
  haStatusSeconds: z.number().int().min(1),
  /** Where DHCP/RA daemons keep their files (config, pid, leases); absolute. */
  stateDir: z.string().regex(/^\/[^\0\n]*$/, 'must be an absolute path'),
  /** Where the metadata proxies' requests go (the metadata service), signed with the secret. */
  metadataUrl: z.url({ protocol: /^https?$/ }),
  /** The secret shared with the metadata service (never logged); null: no metadata proxies on this host. */
  metadataSecret: z.string().min(1).nullable(),
  natsUrl: z.string(),
  natsPrefix: z.string(),
  /** the cluster's JetStream domain, when the agent connects through its row's leaf node; null: none */
  natsDomain: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'must be a JetStream domain name (letters, digits, - and _)')
    .nullable(),
  /** its NATS user (infra/nats/auth.conf: one per host) and password; null: no authorization */
  natsUser: baseConfigSchema.shape.NATS_USER.unwrap().nullable(),
  natsPassword: z.string().nullable(),
  logLevel: baseConfigSchema.shape.LOG_LEVEL,
});
export type AgentConfig = z.infer<typeof agentConfigSchema>;

function physnet(value: string, previous: Record<string, string>): Record<string, string> {
  const [name, iface, ...rest] = value.split(':');
  if (!name || !iface || rest.length > 0) throw new Error(`--physnet expects <physical network>:<interface>, got ${value}`);
  return { ...previous, [name]: iface };
}

/**
 * The metadata secret: from --metadata-secret-file (a flag that names a file, so the secret
 * never shows in the process list), else from METADATA_PROXY_SHARED_SECRET; one trailing
 * newline is not part of it. Empty: none.
 */
function metadataSecret(file: string | undefined, env: NodeJS.ProcessEnv): string | null {
  let secret: string;
  if (file !== undefined) {
    try {
      secret = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new Error(`--metadata-secret-file ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (secret === '') throw new Error(`--metadata-secret-file ${file} is empty`);
    return secret;
  }
  secret = env.METADATA_PROXY_SHARED_SECRET ?? '';
  return secret === '' ? null : secret;
}

export function parseAgentConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const program = new Command('ncp-agent')
    .description("Applies this host's desired network state to the kernel and reports what it did")
    .requiredOption('--row <row>', 'datacenter row of this host')
    .requiredOption('--host <host>', 'host name (what ports give as binding:host_id)')
    .option('--roles <roles>', 'comma-separated roles: compute, network, bgp', 'compute')
    .requiredOption('--tunnel-ip <ip>', 'underlay address for VXLAN')
    .option('--physnet <physnet:iface>', 'map a physical network to an interface (repeatable)', physnet, {})
    .option('--host-netns <name>', 'network namespace that stands for this host (default: the root namespace)')
    .option('--netns-prefix <prefix>', 'put before router and DHCP namespace names (for several agents on one machine, as test scenarios run them)', '')
    .option('--heartbeat-seconds <n>', 'seconds between heartbeats', '5')
    .option('--resync-seconds <n>', 'seconds between full resyncs with the kernel', '60')
    .option('--bgp-status-seconds <n>', 'seconds between reads of the BGP sessions (birdc) between full passes', '5')
    .option('--ha-status-seconds <n>', "seconds between reads of the HA routers' VRRP state (keepalived) between full passes", '5')
    .option('--state-dir <dir>', 'where the DHCP, RA, BGP and keepalived daemons keep their files', '/var/lib/ncp-agent')
    .addOption(new Option('--metadata-url <url>', 'the metadata service the metadata proxies forward to').env('METADATA_URL').default('http://127.0.0.1:9705'))
    .option('--metadata-secret-file <path>', 'file with the secret shared with the metadata service (default: env METADATA_PROXY_SHARED_SECRET)')
    .addOption(new Option('--nats-url <url>').env('NATS_URL').default('nats://127.0.0.1:4222'))
    .addOption(new Option('--nats-prefix <prefix>').env('NATS_PREFIX').default(''))
    .addOption(
      new Option('--nats-domain <domain>', "the cluster's JetStream domain, when NATS_URL is the row's leaf node (infra/nats/cluster.conf: ncp)").env(
        'NATS_JS_DOMAIN',
      ),
    )
    .addOption(new Option('--nats-user <user>', 'NATS user (infra/nats/auth.conf: agent-<row>-<host>); its password from env NATS_PASSWORD').env('NATS_USER'))
    .addOption(new Option('--log-level <level>').env('LOG_LEVEL').default('info'))
    .exitOverride()
    // Errors surface as exceptions with the message; main prints them once.
    .configureOutput({ writeErr: () => undefined });
  program.parse([...argv], { from: 'user' });
  const o = program.opts<{
    row: string;
    host: string;
    roles: string;
    tunnelIp: string;
    physnet: Record<string, string>;
    hostNetns?: string;
    netnsPrefix: string;
    heartbeatSeconds: string;
    resyncSeconds: string;
    bgpStatusSeconds: string;
    haStatusSeconds: string;
    stateDir: string;
    metadataUrl: string;
    metadataSecretFile?: string;
    natsUrl: string;
    natsPrefix: string;
    natsDomain?: string;
    natsUser?: string;
    logLevel: string;
  }>();
  return agentConfigSchema.parse({
    row: o.row,
    host: o.host,
    roles: o.roles
      .split(',')
      .map((r) => r.trim())
      .filter((r) => r !== ''),
    tunnelIp: o.tunnelIp,
    physnets: o.physnet,
    hostNetns: o.hostNetns ?? null,
    netnsPrefix: o.netnsPrefix,
    heartbeatSeconds: Number(o.heartbeatSeconds),
    resyncSeconds: Number(o.resyncSeconds),
    bgpStatusSeconds: Number(o.bgpStatusSeconds),
    haStatusSeconds: Number(o.haStatusSeconds),
    stateDir: o.stateDir,
    metadataUrl: o.metadataUrl,
    metadataSecret: metadataSecret(o.metadataSecretFile, env),
    natsUrl: o.natsUrl,
    natsPrefix: o.natsPrefix,
    natsDomain: o.natsDomain || null,
    // empty is unset, as compose passes an unset variable
    natsUser: o.natsUser || null,
    natsPassword: env.NATS_PASSWORD || null,
    logLevel: o.logLevel,
  });
}
