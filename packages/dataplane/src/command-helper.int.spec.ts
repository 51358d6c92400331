import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { HelperRunner } from './command-helper';
import { DataplaneError } from './errors';

/** The built helper and runner (the agent runs those): `npx turbo run build` first. */
const DIST = path.resolve(__dirname, '..', 'dist');
const SCRIPT = path.join(DIST, 'command-helper-main.js');

const runners: HelperRunner[] = [];
const helperRunner = (timeoutMs?: number) => {
  const runner = new HelperRunner(timeoutMs === undefined ? {} : { timeoutMs }, SCRIPT);
  runners.push(runner);
  return runner;
};

afterEach(() => {
  runners.splice(0).forEach((r) => r.close());
});

/** The promise's rejection, or a failure if it resolved. */
async function rejection(promise: Promise<unknown>): Promise<DataplaneError> {
  const outcome = await promise.then(
    () => new Error('resolved'),
    (error: unknown) => error,
  );
  if (!(outcome instanceof DataplaneError)) throw new Error(`expected a DataplaneError, got ${String(outcome)}`);
  return outcome;
}

describe('the command helper (commands run from a small process of their own)', () => {
  it("gives a command's output, its input on stdin, and a failure as ExecFileRunner does", async () => {
    const runner = helperRunner();
    expect(await runner.run(['printf', '%s-%s', 'a', 'b'])).toEqual({ stdout: 'a-b' });
    expect(await runner.run(['cat'], { input: 'table inet t {}\n' })).toEqual({ stdout: 'table inet t {}\n' });
    const failed = await rejection(runner.run(['ls', '/nonexistent-ncp-dir']));
    expect(failed.code).toBe('DATAPLANE.COMMAND_FAILED');
    expect(failed.message).toMatch(/^`ls \/nonexistent-ncp-dir` failed: .*No such file or directory/);
    expect(failed.output).toMatch(/No such file or directory/);
    expect(await runner.run(['ls', '/nonexistent-ncp-dir'], { allowFailure: true })).toEqual({
      stdout: '',
      failure: { stderr: expect.stringMatching(/No such file or directory/) as unknown },
    });
    expect((await rejection(runner.run(['/nonexistent-ncp-program']))).message).toMatch(/ENOENT/);
  });

  it('answers commands run at once each to its own caller, in the order they end', async () => {
    const runner = helperRunner();
    const ended: string[] = [];
    const slow = runner.run(['sleep', '0.3']).then(() => ended.push('slow'));
    const fast = runner.run(['echo', 'fast']).then((r) => ended.push(r.stdout.trim()));
    await Promise.all([slow, fast]);
    expect(ended).toEqual(['fast', 'slow']);
  });

  it('fails what a helper that died had not answered, and forks another for the next command', async () => {
    const runner = helperRunner();
    await runner.run(['true']);
    const first = runner.helperPid;
    const running = runner.run(['sleep', '30']);
    process.kill(first ?? 0, 'SIGKILL');
    expect((await rejection(running)).message).toMatch(/^`sleep 30` failed: the command helper stopped \(it exited \(SIGKILL\)\) before it answered$/);
    expect(await runner.run(['echo', 'again'])).toEqual({ stdout: 'again\n' });
    expect(runner.helperPid).not.toBe(first);
  });

  it('kills a command that runs past its timeout', async () => {
    const runner = helperRunner(200);
    expect((await rejection(runner.run(['sleep', '30']))).message).toMatch(/killed after 200 ms/);
    expect(await runner.run(['echo', 'next'])).toEqual({ stdout: 'next\n' });
  });

  it('keeps no process alive once its commands are answered, and its helper ends with it', async () => {
    const script = [
      `const { HelperRunner } = require(${JSON.stringify(path.join(DIST, 'command-helper.js'))});`,
      'const runner = new HelperRunner();',
      "runner.run(['true']).then(() => console.log(runner.helperPid));",
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { timeout: 20_000 });
    const helper = Number(stdout.trim());
    expect(helper).toBeGreaterThan(0);
    // the helper sees its parent go and exits
    const alive = () => {
      try {
        process.kill(helper, 0);
        return true;
      } catch {
        return false;
      }
    };
    await expect.poll(alive, { timeout: 10_000 }).toBe(false);
  });
});
