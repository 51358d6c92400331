import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { NodeDaemonHost } from './host.js';

/** The real process table: when a stopped daemon counts as gone. */
describe('NodeDaemonHost.processExited', () => {
  const host = new NodeDaemonHost();

  it('a running process has not exited; once gone, it has', async () => {
    const child = spawn('sleep', ['30']);
    const pid = child.pid ?? 0;
    expect(await host.processExited(pid)).toBe(false);
    expect(await host.processArgv(pid)).toEqual(['sleep', '30']);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(await host.processExited(pid)).toBe(true);
  });

  it('a zombie has exited (its files are closed) though nobody reaped it', async () => {
    // a parent that never reaps: its child stays a zombie once killed
    const parent = spawn('python3', [
      '-c',
      'import os, sys, time\npid = os.fork()\nif pid == 0:\n    time.sleep(30)\n    os._exit(0)\nprint(pid, flush=True)\ntime.sleep(30)\n',
    ]);
    try {
      const [line] = (await once(parent.stdout, 'data')) as [Buffer];
      const pid = Number(line.toString().trim());
      expect(await host.processExited(pid)).toBe(false);
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && !(await host.processExited(pid)); i++) await host.sleep(20);
      expect(await host.processExited(pid)).toBe(true);
      expect(await host.processArgv(pid)).toBeNull();
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
