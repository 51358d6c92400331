import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { eventually } from './eventually';

/**
 * A continuous ping (every 0.2 s, or `intervalSeconds`) from a namespace, its replies counted as they come: what a
 * scenario waits on while something happens around the path (an agent killed and restarted),
 * instead of sleeping, and what it judges afterwards (every packet answered).
 */
export class Pinger {
  private output = '';
  /** when each reply was read (ms) */
  private readonly arrivals: number[] = [];

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (c: Buffer) => {
      const text = c.toString();
      this.output += text;
      const now = Date.now();
      for (let n = text.split(' bytes from ').length - 1; n > 0; n--) this.arrivals.push(now);
    });
  }

  static start(ns: string, target: string, intervalSeconds = 0.2): Pinger {
    // line-buffered: into a pipe, ping's lines could come in 4 KiB blocks (and arrive late)
    return new Pinger(spawn('stdbuf', ['-oL', 'ip', 'netns', 'exec', ns, 'ping', '-i', String(intervalSeconds), '-W', '1', target]));
  }

  /** The longest time between two replies, in ms (their arrival here). */
  longestSilenceMs(): number {
    let longest = 0;
    for (let i = 1; i < this.arrivals.length; i++) longest = Math.max(longest, (this.arrivals[i] ?? 0) - (this.arrivals[i - 1] ?? 0));
    return longest;
  }

  /** Replies so far. */
  get replies(): number {
    return this.output.match(/ bytes from /g)?.length ?? 0;
  }

  /** Waits for `count` more replies than there are now (the path forwarded them meanwhile). */
  async moreReplies(count: number, timeoutMs = 30_000): Promise<void> {
    const wanted = this.replies + count;
    await eventually(
      `${count} more ping replies`,
      async () => this.replies,
      (n) => n >= wanted,
      { timeoutMs, intervalMs: 100, context: () => this.output.slice(-1000) },
    );
  }

  /**
   * Stops it right after a reply (ping counts a request still in flight as lost): packets sent
   * and answered, from ping's summary (null without one), and its output.
   */
  async stop(): Promise<{ sent: number | null; received: number | null; output: string }> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    const replied = new Promise<void>((resolve) => {
      const onData = (c: Buffer) => {
        if (!c.toString().includes(' bytes from ')) return;
        this.child.stdout.off('data', onData);
        resolve();
      };
      this.child.stdout.on('data', onData);
    });
    // without replies (the path is down) it stops anyway: the summary shows the loss
    await Promise.race([replied, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    this.child.kill('SIGINT');
    await exited;
    const [, sent, received] = /(\d+) packets transmitted, (\d+) received/.exec(this.output) ?? [];
    return { sent: sent === undefined ? null : Number(sent), received: received === undefined ? null : Number(received), output: this.output };
  }
}
