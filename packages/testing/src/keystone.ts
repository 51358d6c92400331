import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Child, OutputTail, describeExit, httpHealth } from '@ncp/supervisor';
import { REPO_ROOT, freePort } from './stack';
import { requireCommands } from './netns';
import { createTestDatabase, testInfra, type TestDatabase } from './infra';

const KEYSTONE_SERVER = path.join(REPO_ROOT, 'packages', 'testing', 'keystone_server.py');

const execFileAsync = promisify(execFile);

/** Whether Debian's Keystone (python3-keystone) runs here; with CI=true its absence is an error. */
export const requireKeystone = (env: NodeJS.ProcessEnv = process.env): boolean =>
  requireCommands(
    [
      ['keystone-manage', '--version'],
      ['test', '-x', '/usr/bin/keystone-wsgi-public'],
    ],
    env,
  );

export interface Credentials {
  readonly user: string;
  readonly password: string;
  readonly project: string;
}

/** The settings a service validates tokens with (the env of a stack with AUTH_STRATEGY=keystone). */
export interface KeystoneServiceEnv extends Record<string, string> {
  AUTH_STRATEGY: 'keystone';
  KEYSTONE_URL: string;
  KEYSTONE_USERNAME: string;
  KEYSTONE_PASSWORD: string;
  KEYSTONE_PROJECT_NAME: string;
}

/**
 * A real Keystone (Debian's python3-keystone: a database of its own on the tests' Postgres,
 * fernet tokens, loopback only; sqlite fails writes with "database is locked") for the
 * tests that authenticate: bootstrapped with an admin, a `service` project whose `neutron`
 * user (role `service`) validates tokens, and projects and users made on demand.
 */
export class TestKeystone {
  private adminToken: string | undefined;

  private constructor(
    readonly url: string,
    private readonly dir: string,
    private readonly database: TestDatabase,
    private readonly child: Child,
    private readonly output: OutputTail,
    readonly admin: Credentials,
    readonly service: Credentials,
  ) {}

  /** `tokenSeconds`: how long its tokens live (Keystone's default is an hour). */
  static async start(opts: { tokenSeconds?: number } = {}): Promise<TestKeystone> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ncp-keystone-'));
    for (const sub of ['fernet-keys', 'fernet-receipts', 'credential-keys']) await mkdir(path.join(dir, sub));
    const database = await createTestDatabase((await testInfra()).databaseUrl, 'ncp_keystone_');
    const conf = path.join(dir, 'keystone.conf');
    await writeFile(
      conf,
      [
        '[DEFAULT]',
        'use_stderr = true',
        '[database]',
        `connection = ${database.url}`,
        '[token]',
        'provider = fernet',
        ...(opts.tokenSeconds === undefined ? [] : [`expiration = ${opts.tokenSeconds}`]),
        // a throwaway identity service: the fewest bcrypt rounds, so tests wait on tokens, not hashing
        '[identity]',
        'password_hash_rounds = 4',
        '[fernet_tokens]',
        `key_repository = ${dir}/fernet-keys`,
        '[fernet_receipts]',
        `key_repository = ${dir}/fernet-receipts`,
        '[credential]',
        `key_repository = ${dir}/credential-keys`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/v3`;
    const admin = { user: 'admin', password: `admin-${process.pid}-${port}`, project: 'admin' };
    const manage = (...args: string[]) => execFileAsync('keystone-manage', ['--config-file', conf, ...args], { maxBuffer: 16 * 1024 * 1024 });
    const uid = String(os.userInfo().username);
    await manage('db_sync');
    await manage('fernet_setup', '--keystone-user', uid, '--keystone-group', uid === 'root' ? 'root' : uid);
    await manage('credential_setup', '--keystone-user', uid, '--keystone-group', uid === 'root' ? 'root' : uid);
    await manage('bootstrap', '--bootstrap-password', admin.password, '--bootstrap-region-id', 'RegionOne', '--bootstrap-public-url', url);
    const output = new OutputTail(200);
    const child = new Child({
      name: 'keystone',
      // Debian's keystone-wsgi-public serves one request at a time; this serves Keystone's
      // own WSGI application threaded, as uwsgi or mod_wsgi do in production
      command: '/usr/bin/python3',
      args: [KEYSTONE_SERVER, '127.0.0.1', String(port)],
      env: { ...process.env, OS_KEYSTONE_CONFIG_FILES: conf },
      onLine: output.add,
    });
    const healthy = await child.waitHealthy(httpHealth(url, { anyPid: true }), { timeoutMs: 60_000, pollMs: 200 });
    if (!healthy) throw new Error(`keystone exited (${describeExit(await child.exit)}) before it answered:\n${output.text()}`);
    const service = { user: 'neutron', password: `neutron-${port}`, project: 'service' };
    const keystone = new TestKeystone(url, dir, database, child, output, admin, service);
    await keystone.createProject('service');
    await keystone.createRole('service');
    await keystone.createUser(service, 'service');
    return keystone;
  }

  /** What a stack's services need to validate tokens against this Keystone. */
  serviceEnv(): KeystoneServiceEnv {
    return {
      AUTH_STRATEGY: 'keystone',
      KEYSTONE_URL: this.url,
      KEYSTONE_USERNAME: this.service.user,
      KEYSTONE_PASSWORD: this.service.password,
      KEYSTONE_PROJECT_NAME: this.service.project,
    };
  }

  /** A stack validating tokens here, its own API calls made as the admin. */
  stackOptions(env: Record<string, string> = {}): { env: Record<string, string>; adminToken: () => Promise<string> } {
    return { env: { ...env, ...this.serviceEnv() }, adminToken: () => this.token(this.admin) };
  }

  /** A project-scoped token for the user. */
  async token(who: Credentials): Promise<string> {
    const res = await fetch(`${this.url}/auth/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: { name: who.user, domain: { id: 'default' }, password: who.password } } },
          scope: { project: { name: who.project, domain: { id: 'default' } } },
        },
      }),
    });
    const token = res.headers.get('x-subject-token');
    if (res.status !== 201 || !token) throw new Error(`keystone refused a token for ${who.user}@${who.project}: ${res.status} ${await res.text()}`);
    return token;
  }

  /** Puts a service in the catalog (`network` -> the gateway), where clients look the API up. */
  async registerService(type: string, name: string, url: string): Promise<void> {
    const service = (await this.call<{ service: { id: string } }>('POST', '/services', { service: { type, name } })).service;
    await this.call('POST', '/endpoints', { endpoint: { service_id: service.id, interface: 'public', region_id: 'RegionOne', url } });
  }

  /** Revokes a token, as `openstack token revoke` does. */
  async revoke(token: string): Promise<void> {
    await this.call('DELETE', '/auth/tokens', undefined, { 'X-Subject-Token': token });
  }

  /** The project's id (created when missing). */
  async createProject(name: string): Promise<string> {
    const found = await this.call<{ projects: { id: string }[] }>('GET', `/projects?name=${encodeURIComponent(name)}`);
    const existing = found.projects[0];
    if (existing) return existing.id;
    return (await this.call<{ project: { id: string } }>('POST', '/projects', { project: { name, domain_id: 'default' } })).project.id;
  }

  async createRole(name: string): Promise<string> {
    const found = await this.call<{ roles: { id: string }[] }>('GET', `/roles?name=${encodeURIComponent(name)}`);
    const existing = found.roles[0];
    if (existing) return existing.id;
    return (await this.call<{ role: { id: string } }>('POST', '/roles', { role: { name } })).role.id;
  }

  /** A user with `role` on its project (created when missing); returns the user's id. */
  async createUser(who: Credentials, role: string): Promise<string> {
    const projectId = await this.createProject(who.project);
    const roleId = await this.createRole(role);
    const userId = (await this.call<{ user: { id: string } }>('POST', '/users', { user: { name: who.user, password: who.password, domain_id: 'default' } }))
      .user.id;
    await this.call('PUT', `/projects/${projectId}/users/${userId}/roles/${roleId}`);
    return userId;
  }

  async stop(): Promise<void> {
    await this.child.stop({ signal: 'SIGTERM', graceMs: 5_000 });
    await rm(this.dir, { recursive: true, force: true });
    await this.database.drop();
  }

  logs(): string {
    return this.output.text();
  }

  private async call<T = unknown>(method: string, pathAndQuery: string, body?: unknown, headers: Record<string, string> = {}, retried = false): Promise<T> {
    this.adminToken ??= await this.token(this.admin);
    const res = await fetch(`${this.url}${pathAndQuery}`, {
      method,
      headers: { 'X-Auth-Token': this.adminToken, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (res.status === 401 && !retried) {
      // our admin token expired (tokens may live seconds here)
      this.adminToken = undefined;
      return this.call(method, pathAndQuery, body, headers, true);
    }
    if (!res.ok) throw new Error(`keystone ${method} ${pathAndQuery}: ${res.status} ${await res.text()}`);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }
}
