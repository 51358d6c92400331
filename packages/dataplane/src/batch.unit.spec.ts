import { describe, expect, it } from 'vitest';
import { MAX_BATCH_LINES, batchLineOf, commandsOfBatch, runInBatches } from './batch.js';
import { DataplaneError } from './errors.js';
import { type CommandRunner, type RunOptions } from './runner.js';

/** A runner that records each process and fails the commands named, as iproute2's batch mode reports them. */
class BatchKernel implements CommandRunner {
  readonly processes: string[] = [];
  readonly ran: string[] = [];
  readonly failOn = new Map<string, string>();
  /** a batch that dies without naming a line (killed, say) */
  dieOnBatch = false;

  async run(argv: readonly string[], options?: RunOptions): Promise<{ stdout: string }> {
    this.processes.push(argv.join(' '));
    const commands = commandsOfBatch(argv, options?.input);
    if (commands === null) {
      this.exec(argv.join(' '), (reason) => new DataplaneError('DATAPLANE.COMMAND_FAILED', `\`${argv.join(' ')}\` failed: ${reason}`, reason));
      return { stdout: '' };
    }
    if (this.dieOnBatch) throw new DataplaneError('DATAPLANE.COMMAND_FAILED', `\`${argv.join(' ')}\` failed (killed after 15000 ms): `, '');
    commands.forEach((c, i) => {
      this.exec(c.join(' '), (reason) => {
        const stderr = `${reason}\nCommand failed -:${i + 1}\n`;
        return new DataplaneError('DATAPLANE.COMMAND_FAILED', `\`${argv.join(' ')}\` failed: ${stderr.trim()}`, stderr);
      });
    });
    return { stdout: '' };
  }

  private exec(command: string, error: (reason: string) => Error): void {
    const reason = this.failOn.get(command);
    if (reason !== undefined) throw error(reason);
    this.ran.push(command);
  }
}

const step = (item: string, command: string) => ({ item, argv: command.split(' ') });

describe('batchLineOf', () => {
  it('puts ip and bridge commands in their namespace’s process', () => {
    expect(batchLineOf(['ip', '-n', 'h1', 'link', 'set', 'dev', 'tap1', 'up'])).toEqual({ process: ['ip', '-n', 'h1'], line: 'link set dev tap1 up' });
    expect(batchLineOf(['ip', 'link', 'del', 'dev', 'br-1'])).toEqual({ process: ['ip'], line: 'link del dev br-1' });
    expect(batchLineOf(['bridge', '-n', 'h1', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx-1', 'dst', 'fd00::2'])).toEqual({
      process: ['bridge', '-n', 'h1'],
      line: 'fdb append 00:00:00:00:00:00 dev vx-1 dst fd00::2',
    });
  });

  it('leaves alone what a batch would run differently', () => {
    expect(batchLineOf(['ip', 'netns', 'add', 'wl-1'])).toBeNull();
    expect(batchLineOf(['ip', '-n', 'h1', 'netns', 'exec', 'x', 'sysctl', '-w', 'a=1'])).toBeNull();
    expect(batchLineOf(['ip', '-j', 'link', 'show'])).toBeNull();
    expect(batchLineOf(['nft', '-f', '-'])).toBeNull();
    expect(batchLineOf(['ip', 'link', 'set', 'dev', 'x', 'alias', 'two words'])).toBeNull();
    expect(batchLineOf(['ip', 'link', 'set', 'dev', 'x', 'alias', 'a#b'])).toBeNull();
    expect(batchLineOf(['ip', 'link', 'set', 'dev', 'x', 'alias', '"q"'])).toBeNull();
    expect(batchLineOf(['ip', '-n', 'h1'])).toBeNull();
  });
});

describe('runInBatches', () => {
  it('sends consecutive commands of one tool and namespace to one process, in order', async () => {
    const kernel = new BatchKernel();
    const steps = [
      step('a', 'ip -n h1 link add br-1 type bridge'),
      step('b', 'ip -n h1 link add br-2 type bridge'),
      step('a', 'bridge -n h1 fdb append 00:00:00:00:00:00 dev vx-1 dst 10.0.0.2'),
      step('a', 'ip -n w1 link set dev eth0 up'),
      step('b', 'ip -n w2 link set dev eth0 up'),
      step('b', 'ip -n w2 link set dev lo up'),
    ];
    expect(await runInBatches(steps, kernel)).toEqual(steps.map(() => ({ ok: true })));
    expect(kernel.processes).toEqual([
      'ip -n h1 -batch -',
      'bridge -n h1 fdb append 00:00:00:00:00:00 dev vx-1 dst 10.0.0.2',
      'ip -n w1 link set dev eth0 up',
      'ip -n w2 -batch -',
    ]);
    expect(kernel.ran).toEqual(steps.map((s) => s.argv.join(' ')));
  });

  it('stops an item at its failed line and sends the rest of the batch again without it', async () => {
    const kernel = new BatchKernel();
    kernel.failOn.set('ip -n h1 link add tap-b type veth', 'RTNETLINK answers: File exists');
    const steps = [
      step('a', 'ip -n h1 link add tap-a type veth'),
      step('b', 'ip -n h1 link add tap-b type veth'),
      step('c', 'ip -n h1 link add tap-c type veth'),
      step('b', 'ip -n h1 link set dev tap-b up'),
      step('a', 'ip -n h1 link set dev tap-a up'),
      step('c', 'ip -n h1 link set dev tap-c up'),
    ];
    expect(await runInBatches(steps, kernel)).toEqual([
      { ok: true },
      { ok: false, error: '`ip -n h1 link add tap-b type veth` failed: RTNETLINK answers: File exists' },
      { ok: true },
      null,
      { ok: true },
      { ok: true },
    ]);
    expect(kernel.processes).toEqual(['ip -n h1 -batch -', 'ip -n h1 -batch -']);
    expect(kernel.ran).toEqual([
      'ip -n h1 link add tap-a type veth',
      'ip -n h1 link add tap-c type veth',
      'ip -n h1 link set dev tap-a up',
      'ip -n h1 link set dev tap-c up',
    ]);
  });

  it('skips the later steps of an item that failed in an earlier batch or alone', async () => {
    const kernel = new BatchKernel();
    kernel.failOn.set('ip netns add w1', 'Cannot create namespace file "/run/netns/w1": File exists');
    const steps = [step('a', 'ip netns add w1'), step('a', 'ip -n h1 link add tap-a type veth'), step('b', 'ip -n h1 link add tap-b type veth')];
    expect(await runInBatches(steps, kernel)).toEqual([
      { ok: false, error: '`ip netns add w1` failed: Cannot create namespace file "/run/netns/w1": File exists' },
      null,
      { ok: true },
    ]);
    // the one step left of the batch runs as itself
    expect(kernel.processes).toEqual(['ip netns add w1', 'ip -n h1 link add tap-b type veth']);
  });

  it('fails every step of a batch that died without naming a line', async () => {
    const kernel = new BatchKernel();
    kernel.dieOnBatch = true;
    const steps = [step('a', 'ip -n h1 link set dev x up'), step('b', 'ip -n h1 link set dev y up'), step('a', 'ip -n w1 link set dev lo up')];
    const outcomes = await runInBatches(steps, kernel);
    expect(outcomes.slice(0, 2)).toEqual([
      { ok: false, error: expect.stringMatching(/ip -n h1 -batch -` failed \(killed/) },
      { ok: false, error: expect.stringMatching(/killed/) },
    ]);
    expect(outcomes[2]).toBeNull();
  });

  it(`starts another process after ${MAX_BATCH_LINES} lines`, async () => {
    const kernel = new BatchKernel();
    const steps = Array.from({ length: MAX_BATCH_LINES + 2 }, (_, i) => step(`p${i}`, `ip -n h1 link set dev tap${i} up`));
    expect((await runInBatches(steps, kernel)).every((o) => o?.ok === true)).toBe(true);
    expect(kernel.processes).toEqual(['ip -n h1 -batch -', 'ip -n h1 -batch -']);
    expect(kernel.ran).toHaveLength(MAX_BATCH_LINES + 2);
  });

  it('hands steps that cannot join a batch to runAlone', async () => {
    const kernel = new BatchKernel();
    const alone: string[] = [];
    const steps = [step('a', 'nft -f -'), step('a', 'ip -n h1 link set dev x up'), step('a', 'ip -n h1 link set dev y up')];
    const outcomes = await runInBatches(steps, kernel, async (s) => {
      alone.push(s.argv.join(' '));
      return { ok: true };
    });
    expect(outcomes).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(alone).toEqual(['nft -f -']);
    expect(kernel.processes).toEqual(['ip -n h1 -batch -']);
  });
});
