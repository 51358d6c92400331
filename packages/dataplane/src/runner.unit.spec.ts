import { describe, expect, it } from 'vitest';
import { ExecFileRunner, RecordingRunner } from './runner.js';

// Runs node itself (always present) rather than network tools: no root needed.
describe('ExecFileRunner', () => {
  const node = process.execPath;

  it('passes arguments without a shell', async () => {
    const runner = new ExecFileRunner();
    const { stdout } = await runner.run([node, '-e', 'process.stdout.write(process.argv.slice(1).join("|"))', 'a b', '$(x)', ';']);
    expect(stdout).toBe('a b|$(x)|;');
  });

  it('rejects with stderr on failure', async () => {
    // A generous timeout: node's start-up on a busy CI machine must not look like a hang.
    const runner = new ExecFileRunner({ timeoutMs: 30_000 });
    await expect(runner.run([node, '-e', 'console.error("RTNETLINK answers: File exists"); process.exit(2)'])).rejects.toThrow(
      /failed: RTNETLINK answers: File exists/,
    );
    await expect(runner.run([])).rejects.toThrow(/empty command/);
  });

  it('kills a command that outlives its timeout', async () => {
    // `sleep` never finishes within the timeout, however busy the machine is.
    const runner = new ExecFileRunner({ timeoutMs: 300 });
    await expect(runner.run(['sleep', '60'])).rejects.toThrow(/killed after 300 ms/);
  });

  it('records what it runs', async () => {
    const recorder = new RecordingRunner(new ExecFileRunner());
    await recorder.run([node, '-e', '']);
    expect(recorder.calls).toEqual([[node, '-e', '']]);
    expect(recorder.mutatingCalls()).toEqual([[node, '-e', '']]);
  });
});
