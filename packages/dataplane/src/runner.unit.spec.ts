import { describe, expect, it } from 'vitest';
import { ExecFileRunner, RecordingRunner, isReadOnlyCommand } from './runner.js';

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

  it('with allowFailure, resolves a non-zero exit with what it printed; a killed command still rejects', async () => {
    const runner = new ExecFileRunner({ timeoutMs: 30_000 });
    const printsAndFails = [node, '-e', 'process.stdout.write("[{}]\\n"); console.error("Device \\"x\\" does not exist."); process.exit(1)'];
    expect(await runner.run(printsAndFails, { allowFailure: true })).toEqual({ stdout: '[{}]\n', failure: { stderr: 'Device "x" does not exist.\n' } });
    expect(await runner.run([node, '-e', 'process.stdout.write("ok")'], { allowFailure: true })).toEqual({ stdout: 'ok' });
    await expect(runner.run(printsAndFails)).rejects.toThrow(/does not exist/);
    await expect(new ExecFileRunner({ timeoutMs: 300 }).run(['sleep', '60'], { allowFailure: true })).rejects.toThrow(/killed after 300 ms/);
    await expect(runner.run(['/nonexistent/tool'], { allowFailure: true })).rejects.toThrow(/ENOENT/);
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

  it('writes an input to stdin, through a recorder too', async () => {
    const recorder = new RecordingRunner(new ExecFileRunner({ timeoutMs: 30_000 }));
    const echo = [node, '-e', 'process.stdin.pipe(process.stdout)'];
    expect((await recorder.run(echo, { input: 'table inet x {}\n' })).stdout).toBe('table inet x {}\n');
    // a command that does not read its input still reports its own exit status
    await expect(recorder.run([node, '-e', 'process.exit(3)'], { input: 'x'.repeat(1 << 20) })).rejects.toThrow(/failed/);
  });
});

describe('isReadOnlyCommand inside a namespace', () => {
  it('counts the L3 observer reads as reads, and nothing else run with ip netns exec', () => {
    const exec = ['ip', 'netns', 'exec', 'qrouter-1'];
    expect(isReadOnlyCommand([...exec, 'sysctl', '-n', 'net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding'])).toBe(true);
    expect(isReadOnlyCommand([...exec, 'nft', '-j', 'list', 'tables'])).toBe(true);
    expect(isReadOnlyCommand([...exec, 'nft', 'list', 'table', 'inet', 'ncp_router'])).toBe(true);
    expect(isReadOnlyCommand(['ip', '-n', 'qrouter-1', '-N', '-6', '-j', 'route', 'show', 'table', 'main'])).toBe(true);
    expect(isReadOnlyCommand([...exec, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])).toBe(false);
    expect(isReadOnlyCommand([...exec, 'sysctl', '-n', 'net.ipv4.ip_forward=1'])).toBe(false);
    expect(isReadOnlyCommand([...exec, 'nft', '-f', '-'])).toBe(false);
    expect(isReadOnlyCommand([...exec, 'nft', 'delete', 'table', 'inet', 'ncp_router'])).toBe(false);
    expect(isReadOnlyCommand([...exec, 'nft', '-f', 'list'])).toBe(false);
    expect(isReadOnlyCommand([...exec, 'conntrack', '-D', '-d', '10.0.0.1'])).toBe(false);
    expect(isReadOnlyCommand([...exec, 'arping', '-U', '-c', '1', '-I', 'qg-1', '10.0.0.1'])).toBe(false);
    expect(isReadOnlyCommand([...exec, 'ip', 'link', 'show'])).toBe(false);
  });
});
