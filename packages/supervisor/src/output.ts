import { type Readable } from 'node:stream';
import { createInterface } from 'node:readline';

/** Calls `onLine` with each line of `stream` as it arrives. */
export function eachLine(stream: Readable | null, onLine: (line: string) => void): void {
  if (!stream) return;
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
}

/** The last lines of a process' output, for failure messages. */
export class OutputTail {
  private readonly lines: string[] = [];

  constructor(private readonly limit = 200) {}

  readonly add = (line: string): void => {
    this.lines.push(line);
    if (this.lines.length > this.limit) this.lines.shift();
  };

  clear(): void {
    this.lines.length = 0;
  }

  text(): string {
    return this.lines.map((l) => `${l}\n`).join('');
  }
}

const COLORS = [36, 35, 33, 32, 34, 91, 92, 93, 94, 95, 96];

/**
 * Lines of several processes on one terminal, each prefixed with its name (padded to the
 * longest of `names`, in a colour of its own when `color`); `self` is the supervisor's own.
 */
export class LinePrefixer {
  private readonly width: number;

  constructor(
    private readonly names: readonly string[],
    private readonly options: { readonly color: boolean; readonly self: string },
  ) {
    this.width = Math.max(...names.map((n) => n.length));
  }

  prefix(name: string): string {
    const label = name.padEnd(this.width);
    if (!this.options.color) return `${label} | `;
    const color = name === this.options.self ? 1 : COLORS[Math.max(0, this.names.indexOf(name)) % COLORS.length];
    return `\x1b[${color}m${label}\x1b[0m | `;
  }

  /** Writes each line of `message` to `out` with `name`'s prefix. */
  write(out: NodeJS.WritableStream, name: string, message: string): void {
    for (const line of message.split('\n')) out.write(`${this.prefix(name)}${line}\n`);
  }
}
