import { NetaddrError } from './errors.js';

/** @internal Position of a run: chunk index and run index inside the chunk. */
export interface RunPosition {
  readonly chunk: number;
  readonly index: number;
}

/** Most runs per chunk by default. Splicing a chunk this size costs about a microsecond. */
const DEFAULT_MAX_RUNS = 512;

function upperBound(sorted: readonly bigint[], value: bigint, stride: number, count: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid * stride] ?? value) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * @internal
 * A sorted list of disjoint [first, last] runs, split into chunks of at most `maxRuns` runs.
 * One flat sorted array would need an O(runs) splice for every insert or delete: measured at
 * ~180 microseconds per operation with 30k runs (a checkerboard /16). Chunking (the layout of
 * Python's sortedcontainers) bounds every splice by the chunk size, and lookups stay two binary
 * searches: O(log runs) plus an O(maxRuns + runs / maxRuns) memmove. The chunk layout depends
 * on history but never shows: iteration order and every answer depend only on the runs.
 */
export class RunList {
  /** Chunk capacity in runs; tests use tiny chunks to exercise splitting and merging. */
  constructor(private readonly maxRuns: number = DEFAULT_MAX_RUNS) {}

  // Each chunk stores its runs interleaved, [first0, last0, first1, last1, ...].
  private chunks: bigint[][] = [];
  // heads[c] = first address of chunk c, for the outer binary search.
  private heads: bigint[] = [];

  private chunkAt(c: number): bigint[] {
    const chunk = this.chunks[c];
    if (chunk === undefined) throw new NetaddrError('invalid_state', `no chunk ${c}`);
    return chunk;
  }

  private at(chunk: readonly bigint[], i: number): bigint {
    const value = chunk[i];
    if (value === undefined) throw new NetaddrError('invalid_state', `no run at ${i / 2}`);
    return value;
  }

  /** The last run starting at or before `value`, or null when every run starts after it. */
  floor(value: bigint): RunPosition | null {
    const chunk = upperBound(this.heads, value, 1, this.heads.length) - 1;
    if (chunk < 0) return null;
    const runs = this.chunkAt(chunk);
    return { chunk, index: upperBound(runs, value, 2, runs.length / 2) - 1 };
  }

  /** The run after `position`, or the first run when `position` is null. */
  next(position: RunPosition | null): RunPosition | null {
    if (position === null) return this.chunks.length > 0 ? { chunk: 0, index: 0 } : null;
    if ((position.index + 1) * 2 < this.chunkAt(position.chunk).length) {
      return { chunk: position.chunk, index: position.index + 1 };
    }
    return position.chunk + 1 < this.chunks.length ? { chunk: position.chunk + 1, index: 0 } : null;
  }

  first(position: RunPosition): bigint {
    return this.at(this.chunkAt(position.chunk), position.index * 2);
  }

  last(position: RunPosition): bigint {
    return this.at(this.chunkAt(position.chunk), position.index * 2 + 1);
  }

  /** Callers keep runs sorted, disjoint and apart. */
  setFirst(position: RunPosition, value: bigint): void {
    this.chunkAt(position.chunk)[position.index * 2] = value;
    if (position.index === 0) this.heads[position.chunk] = value;
  }

  setLast(position: RunPosition, value: bigint): void {
    this.chunkAt(position.chunk)[position.index * 2 + 1] = value;
  }

  /** Inserts a run right after `position` (at the very start when null). */
  insertAfter(position: RunPosition | null, first: bigint, last: bigint): void {
    if (this.chunks.length === 0) {
      this.chunks.push([first, last]);
      this.heads.push(first);
      return;
    }
    const c = position === null ? 0 : position.chunk;
    const index = position === null ? 0 : position.index + 1;
    const chunk = this.chunkAt(c);
    chunk.splice(index * 2, 0, first, last);
    if (index === 0) this.heads[c] = first;
    if (chunk.length > this.maxRuns * 2) {
      // halves, cut at a run boundary
      const tail = chunk.splice(2 * Math.floor(chunk.length / 4));
      this.chunks.splice(c + 1, 0, tail);
      this.heads.splice(c + 1, 0, this.at(tail, 0));
    }
  }

  remove(position: RunPosition): void {
    const c = position.chunk;
    const chunk = this.chunkAt(c);
    chunk.splice(position.index * 2, 2);
    if (chunk.length === 0) {
      this.chunks.splice(c, 1);
      this.heads.splice(c, 1);
      return;
    }
    if (position.index === 0) this.heads[c] = this.at(chunk, 0);
    // A chunk that got small joins a neighbour when they fit together, so no two neighbours are
    // both small and the number of chunks stays proportional to the number of runs however many
    // removals happen.
    if (chunk.length * 2 >= this.maxRuns) return; // at least a quarter full
    const previous = this.chunks[c - 1];
    const next = this.chunks[c + 1];
    if (previous !== undefined && previous.length + chunk.length <= this.maxRuns * 2) {
      for (const value of chunk) previous.push(value);
      this.chunks.splice(c, 1);
      this.heads.splice(c, 1);
    } else if (next !== undefined && chunk.length + next.length <= this.maxRuns * 2) {
      for (const value of next) chunk.push(value);
      this.chunks.splice(c + 1, 1);
      this.heads.splice(c + 1, 1);
    }
  }

  /** All runs in address order. */
  *entries(): IterableIterator<[bigint, bigint]> {
    for (const chunk of this.chunks) {
      for (let i = 0; i < chunk.length; i += 2) yield [this.at(chunk, i), this.at(chunk, i + 1)];
    }
  }

  clone(): RunList {
    const copy = new RunList(this.maxRuns);
    copy.chunks = this.chunks.map((chunk) => chunk.slice());
    copy.heads = this.heads.slice();
    return copy;
  }
}
