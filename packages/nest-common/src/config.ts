import os from 'node:os';
import { z } from 'zod';
import { authConfigShape } from './auth/config';

/** `<host name>-<pid>`, in the characters consumer names allow. */
export function defaultInstanceId(): string {
  return `${os.hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}`;
}

/**
 * The settings every service shares. Each app extends this schema in its own
 * `config.ts`, the only place that reads `process.env`.
 */
export const baseConfigSchema = z.object({
  DATABASE_URL: z.string().default('postgresql://postgres@127.0.0.1:5432/ncp'),
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  /** Namespaces stream, subjects and consumers, so several stacks can share one NATS. */
  NATS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/)
    .default(''),
  /**
   * This process's NATS user and password (infra/nats/auth.conf: one user per service, each
   * limited to its subjects). Unset or empty: connect without (a NATS with no authorization).
   */
  NATS_USER: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/)
    .optional(),
  NATS_PASSWORD: z.string().optional(),
  HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * Distinguishes the replicas of one service (their projections' durable consumers, the leader
   * lease's holder): two live processes of a service must never share one. The default is the
   * host name and the process id, unique on its own.
   */
  INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default(() => defaultInstanceId()),
  ...authConfigShape,
  /** With AUTH_STRATEGY=noauth: the project a request without X-Project-Id acts for. */
  DEFAULT_PROJECT_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,255}$/, 'a project id: 1 to 255 letters, digits, - or _')
    .default('00000000000000000000000000000001'),
  /** With AUTH_STRATEGY=noauth: roles of such a request; `admin` lets the default project do what Neutron reserves to admins. */
  DEFAULT_ROLES: z.string().default('admin,member'),
});
export type BaseConfig = z.infer<typeof baseConfigSchema>;

export class ConfigError extends Error {}

/** Parses the environment against a schema, naming every bad variable at once. */
export function loadConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined> = process.env): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}

/** A Postgres URL with the service's schema selected, as Prisma and its adapter expect. */
export function withSchema(databaseUrl: string, schema: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set('schema', schema);
  return url.toString();
}
