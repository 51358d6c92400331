import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The CLI's `-f json` output; tests name the fields they read. */
export type Shown = Record<string, unknown> & { id: string };

/** The real `openstack` CLI (Debian python3-openstackclient), pointed at a stack's gateway. */
export class OpenstackCli {
  private constructor(private readonly dir: string) {}

  /** Without authentication: the stack runs with AUTH_STRATEGY=noauth. */
  static async create(endpoint: string): Promise<OpenstackCli> {
    return OpenstackCli.withCloud(`    auth_type: none\n    auth:\n      endpoint: ${endpoint}\n`);
  }

  /** As a Keystone user with a password, finding the API in Keystone's catalog as any client does. */
  static async withPassword(authUrl: string, who: { user: string; password: string; project: string }): Promise<OpenstackCli> {
    return OpenstackCli.withCloud(
      [
        '    auth_type: password',
        '    region_name: RegionOne',
        '    auth:',
        `      auth_url: ${authUrl}`,
        `      username: ${JSON.stringify(who.user)}`,
        `      password: ${JSON.stringify(who.password)}`,
        `      project_name: ${JSON.stringify(who.project)}`,
        '      user_domain_name: Default',
        '      project_domain_name: Default',
        '',
      ].join('\n'),
    );
  }

  private static async withCloud(cloud: string): Promise<OpenstackCli> {
    const dir = await mkdtemp(path.join(tmpdir(), 'ncp-cli-'));
    await writeFile(path.join(dir, 'clouds.yaml'), `clouds:\n  ncp:\n${cloud}`);
    return new OpenstackCli(dir);
  }

  async run(...args: string[]): Promise<string> {
    try {
      const { stdout } = await run('openstack', args, {
        env: { ...process.env, OS_CLIENT_CONFIG_FILE: path.join(this.dir, 'clouds.yaml'), OS_CLOUD: 'ncp' },
        timeout: 60_000,
      });
      return stdout;
    } catch (e) {
      const err = e as { code?: string; stderr?: string; message: string };
      if (err.code === 'ENOENT') throw new Error('the openstack CLI is not installed (apt-get install python3-openstackclient; .ci/run does it)');
      // the CLI's own account of the HTTP exchange, to tell a refused connection from a bad answer
      const debug = await run('openstack', ['--debug', ...args], {
        env: { ...process.env, OS_CLIENT_CONFIG_FILE: path.join(this.dir, 'clouds.yaml'), OS_CLOUD: 'ncp' },
        timeout: 60_000,
      }).then(
        () => 'the same command with --debug then succeeded',
        (d: { stderr?: string }) => (d.stderr ?? '').slice(-4000),
      );
      throw new Error(`openstack ${args.join(' ')} failed: ${err.stderr ?? err.message}\n--debug:\n${debug}`);
    }
  }

  async json(...args: string[]): Promise<Shown> {
    return JSON.parse(await this.run(...args, '-f', 'json')) as Shown;
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
