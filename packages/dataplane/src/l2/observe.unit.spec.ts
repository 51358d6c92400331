import { describe, expect, it } from 'vitest';
import { type CommandResult, type CommandRunner, type RunOptions } from '../runner.js';
import { FakeKernel } from './__fixtures__/fake-kernel.js';
import { config, fixtureIntent } from './__fixtures__/intent.js';
import { observeL2 } from './observe.js';
import { reconcileL2 } from './reconcile.js';

/** Holds the host namespace's read until a workload namespace's read has begun. */
class HostWaitsForWorkloads implements CommandRunner {
  readonly order: string[] = [];
  private workloadBegun: () => void = () => undefined;
  private readonly begun = new Promise<void>((resolve) => (this.workloadBegun = resolve));
  constructor(private readonly kernel: FakeKernel) {}

  async run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    const ns = argv[2];
    const read = argv.includes('show');
    if (read && ns === config.netns) {
      this.order.push('host read begins');
      await this.begun;
    } else if (read && ns?.startsWith('wl-')) {
      this.order.push(`${ns} read begins`);
      this.workloadBegun();
    }
    return this.kernel.run(argv, options);
  }
}

describe('observeL2', () => {
  it('reads the host namespace and the workload namespaces side by side', async () => {
    const kernel = new FakeKernel('host-a', ['eth1', 'eth2']);
    await reconcileL2(fixtureIntent, config, kernel);
    const runner = new HostWaitsForWorkloads(kernel);
    // read one after the other, the host's read would wait for ever
    const observed = await observeL2(fixtureIntent, config, runner);
    expect(runner.order.slice(0, 2)).toEqual(['host read begins', 'wl-vm1 read begins']);
    expect(Object.keys(observed.workloadLinks).sort()).toEqual(['wl-vm1', 'wl-vm2']);
    expect(observed.hostLinks.map((l) => l.name)).toContain('eth1');
  });

  it('fails with the first failure once both reads have ended', async () => {
    const kernel = new FakeKernel('host-a', ['eth1', 'eth2']);
    await reconcileL2(fixtureIntent, config, kernel);
    let workloadReads = 0;
    const failing: CommandRunner = {
      run: async (argv, options) => {
        if (argv[2] === config.netns) throw new Error('host read failed');
        if (!argv[2]?.startsWith('wl-')) return kernel.run(argv, options);
        // a workload read ends a turn of the event loop later than the host's failure
        await new Promise((resolve) => setImmediate(resolve));
        const result = await kernel.run(argv, options);
        workloadReads++;
        return result;
      },
    };
    await expect(observeL2(fixtureIntent, config, failing)).rejects.toThrow('host read failed');
    // the workload reads had finished when it failed: none is left running behind it
    expect(workloadReads).toBe(2);
  });
});
