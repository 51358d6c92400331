import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Child, HealthHistory, httpHealth, LinePrefixer, OutputTail, Supervisor, type ServiceSpec } from './index';

/** A node child running `code`; its lines go to `tail`. */
const node = (name: string, code: string, tail = new OutputTail()) => ({ name, command: process.execPath, args: ['-e', code], onLine: tail.add });

/** Prints "ready" and then ignores SIGTERM, so only a SIGKILL ends it. */
const STUBBORN = `process.on('SIGTERM', () => console.log('SIGTERM ignored')); console.log('ready'); setInterval(() => {}, 1000);`;

/** Resolves once `tail` holds a line with `text` (the child's own signal that it got there). */
async function lineSeen(tail: OutputTail, text: string, child: Child): Promise<void> {
  while (!tail.text().includes(text)) {
    if (child.exited) throw new Error(`exited before printing ${text}: ${tail.text()}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

describe('Child', () => {
  it('runs an argument array without a shell and hands each output line over', async () => {
    const tail = new OutputTail();
    const child = new Child(node('echo', `console.log(process.argv[1]); console.error('to stderr')`, tail));
    // an argument a shell would expand stays as it is
    const withArg = new Child({ ...node('arg', 'console.log(process.argv[1])', tail), args: ['-e', 'console.log(process.argv[1])', '$HOME; echo no'] });
    expect(await child.exit).toEqual({ code: 0, signal: null });
    expect(await withArg.exit).toEqual({ code: 0, signal: null });
    expect(tail.text()).toContain('to stderr\n');
    expect(tail.text()).toContain('$HOME; echo no\n');
  });

  it('stops with SIGTERM, and with SIGKILL after the grace when SIGTERM is ignored', async () => {
    const tail = new OutputTail();
    const polite = new Child(node('polite', `console.log('ready'); setInterval(() => {}, 1000);`, tail));
    await lineSeen(tail, 'ready', polite);
    expect(await polite.stop({ graceMs: 10_000 })).toEqual({ code: null, signal: 'SIGTERM' });

    const stubbornTail = new OutputTail();
    const stubborn = new Child(node('stubborn', STUBBORN, stubbornTail));
    await lineSeen(stubbornTail, 'ready', stubborn);
    const kills: string[] = [];
    expect(await stubborn.stop({ graceMs: 300, onKill: () => kills.push('killing') })).toEqual({ code: null, signal: 'SIGKILL' });
    expect(kills).toEqual(['killing']);
    expect(stubbornTail.text()).toContain('SIGTERM ignored');
  });

  it('reports a command that cannot start as its exit, not as a throw', async () => {
    const child = new Child({ name: 'missing', command: '/nonexistent/command', args: [] });
    const status = await child.exit;
    expect(status.error?.message).toMatch(/ENOENT/);
    expect(child.exited).toBe(true);
  });
});

describe('health', () => {
  let server: Server | undefined;
  cleanup.push(() => void server?.close());

  /** An HTTP server answering /healthz with `pid`. */
  async function healthz(pid: () => number | undefined): Promise<string> {
    server = createServer((_req, res) => res.end(JSON.stringify({ pid: pid() })));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return `http://127.0.0.1:${address.port}/healthz`;
  }

  it('counts only an answer from the child itself', async () => {
    const tail = new OutputTail();
    const child = new Child(node('svc', `console.log('ready'); setInterval(() => {}, 1000);`, tail));
    cleanup.push(() => child.stop());
    let answer: number | undefined = 1;
    const url = await healthz(() => answer);
    expect(await httpHealth(url)(child)).toBe(`answered by process 1, not ${child.pid}`);
    expect(await httpHealth(url, { anyPid: true })(child)).toBeNull();
    answer = child.pid;
    expect(await httpHealth(url)(child)).toBeNull();
    expect(await child.waitHealthy(httpHealth(url), { timeoutMs: 5_000 })).toBe(true);
  });

  it('is false for a child that exits before it is healthy, and throws at the timeout', async () => {
    const url = await healthz(() => 1);
    const dies = new Child(node('dies', 'process.exit(3)'));
    expect(await dies.waitHealthy(httpHealth(url), { timeoutMs: 30_000 })).toBe(false);
    const lives = new Child(node('lives', 'setInterval(() => {}, 1000)'));
    cleanup.push(() => lives.stop());
    await expect(lives.waitHealthy(httpHealth(url), { timeoutMs: 300, pollMs: 50, at: url })).rejects.toThrow(
      new RegExp(
        `^lives was not healthy at ${url} within 0.3 s \\(answered by process 1, not ${lives.pid}; every answer: answered by process 1, not ${lives.pid} ×\\d+ at [\\d.]+(-[\\d.]+)? s\\)$`,
      ),
    );
  });

  it('says, when it gives up, every answer it had, how often and when, the last one first', () => {
    const history = new HealthHistory(10_000);
    expect(history.describe()).toBe('no answer yet');
    history.add('ECONNREFUSED', 10_100);
    expect(history.describe()).toBe('ECONNREFUSED; every answer: ECONNREFUSED ×1 at 0.1 s');
    history.add('ECONNREFUSED', 12_000);
    history.add('HTTP 503: {"status":"unhealthy"}', 12_500);
    history.add('The operation was aborted due to timeout', 30_000);
    history.add('The operation was aborted due to timeout', 99_900);
    expect(history.describe()).toBe(
      'The operation was aborted due to timeout; every answer: ECONNREFUSED ×2 at 0.1-2.0 s, HTTP 503: {"status":"unhealthy"} ×1 at 2.5 s, ' +
        'The operation was aborted due to timeout ×2 at 20.0-89.9 s',
    );
    // answers that differ every time (a count in a body) cannot make the message grow without end
    for (let i = 0; i < HealthHistory.KEPT + 5; i++) history.add(`HTTP 503: pending ${i}`, 100_000);
    const described = history.describe();
    expect(described.split(' ×')).toHaveLength(HealthHistory.KEPT + 1);
    expect(described).toMatch(/^HTTP 503: pending 12; every answer: .*, 8 other answers$/);
  });
});

describe('Supervisor', () => {
  function supervisor() {
    const messages: string[] = [];
    const gaveUp: string[] = [];
    const s = new Supervisor({ log: (m) => messages.push(m), healthTimeoutMs: 5_000, stopGraceMs: 300, onGiveUp: (r) => gaveUp.push(r) });
    cleanup.push(() => s.stop());
    return { s, messages, gaveUp };
  }

  const waitFor = async (what: () => boolean) => {
    while (!what()) await new Promise((resolve) => setTimeout(resolve, 10));
  };

  it('restarts a service that exits on its own after the backoff, and gives up after maxRestarts in a row', async () => {
    const { s, messages, gaveUp } = supervisor();
    const spec: ServiceSpec = {
      ...node('flaky', `setTimeout(() => process.exit(7), 50)`),
      health: null,
      settleMs: 10,
      restart: { initialDelayMs: 20, maxDelayMs: 40, maxRestarts: 2, stableMs: 60_000 },
    };
    expect(await s.start(spec)).toEqual({ ready: true });
    await waitFor(() => gaveUp.length > 0);
    expect(messages.filter((m) => m.startsWith('flaky exited on its own')).map((m) => m.replace(/pid \d+/, 'pid N'))).toEqual([
      'flaky exited on its own (exit code 7, pid N); restarting it in 0.02 s (restart 1 in a row, at most 2)',
      'flaky exited on its own (exit code 7, pid N); restarting it in 0.04 s (restart 2 in a row, at most 2)',
    ]);
    expect(gaveUp[0]).toMatch(/^flaky exited on its own \(exit code 7, pid \d+\); giving up after 2 restarts in a row, none healthy for 60 s/);
  });

  it('does not restart a service without a restart policy, nor one that exits before it is ready', async () => {
    const { s, messages } = supervisor();
    expect(
      await s.start({
        ...node('early', 'process.exit(2)'),
        health: null,
        settleMs: 5_000,
        restart: { initialDelayMs: 1, maxDelayMs: 1, maxRestarts: 5, stableMs: 1 },
      }),
    ).toEqual({ ready: false, exit: 'exit code 2' });
    const tail = new OutputTail();
    expect(await s.start({ ...node('once', `setTimeout(() => console.log('bye'), 50)`, tail), health: null, settleMs: 10 })).toEqual({ ready: true });
    await waitFor(() => tail.text().includes('bye'));
    // the early one would have been restarted after 1 ms by now, had it been supervised
    await s.stop();
    expect(messages.filter((m) => /exited|restart/.test(m))).toEqual([]);
  });

  it('stops services in reverse start order, SIGKILLing one that ignores SIGTERM after the grace', async () => {
    const { s, messages } = supervisor();
    const tails = { first: new OutputTail(), second: new OutputTail() };
    await s.start({ ...node('first', `console.log('ready'); setInterval(() => {}, 1000)`, tails.first), health: null, settleMs: 10 });
    await s.start({ ...node('second', STUBBORN, tails.second), health: null, settleMs: 10 });
    await waitFor(() => tails.first.text().includes('ready') && tails.second.text().includes('ready'));
    await s.stop();
    expect(messages).toEqual(['stopping second', 'second did not stop within 0.3 s; killing it', 'stopping first']);
  });

  it('prefixes each line with the padded name of its process', () => {
    const out: string[] = [];
    const prefixer = new LinePrefixer(['stack', 'ipam:migrate'], { color: false, self: 'stack' });
    prefixer.write({ write: (s: string) => out.push(s) } as unknown as NodeJS.WritableStream, 'stack', 'one\ntwo');
    expect(out).toEqual(['stack        | one\n', 'stack        | two\n']);
  });
});
