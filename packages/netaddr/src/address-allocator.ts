import { NetaddrError } from './errors.js';
import { assertAddressValue, formatIp, isIpVersion, maxAddress, type IpVersion } from './ip.js';
import { mergeRanges, type IpRange } from './range.js';
import { RunList, type RunPosition } from './runs.js';

/**
 * JSON-safe snapshot of an {@link AddressAllocator}: address values as decimal strings,
 * `allocated` as sorted, disjoint, non-adjacent [first, last] runs.
 */
export interface AddressAllocatorJson {
  readonly version: IpVersion;
  readonly pools: readonly (readonly [string, string])[];
  readonly allocated: readonly (readonly [string, string])[];
}

/*
 * Why runs of allocated addresses (rather than a sorted array of addresses or a list of free
 * intervals):
 * - Ports are mostly allocated lowest-first, so the allocated set is a handful of runs however
 *   many addresses it holds: 60k sequential allocations in a /16 is one run. State and snapshots
 *   stay tiny, where a sorted address array would hold 60k entries.
 * - Lowest free address in the pools: for each pool, one lookup of the run covering the pool
 *   start; because runs are kept maximal (never adjacent), the address after that run is free.
 *   O(pools x log runs), and no cursor to keep in sync.
 * - allocate/release/isAllocated: O(log runs) lookups plus bounded splices (see RunList), so a
 *   fragmented subnet (a checkerboard /16 is 30k runs) stays fast too.
 * - Unlike a free-interval list, the state does not depend on the pools: addresses outside the
 *   pools (fixed IPs that Neutron allows anywhere in the subnet) are tracked too, and pools can be
 *   changed (subnet update) without rebuilding anything.
 * Everything is integer arithmetic on the history of calls, so the same history always gives the
 * same answers.
 */

/**
 * The allocated addresses of one subnet plus its allocation pools. Methods mutate; use
 * {@link AddressAllocator.clone} to keep an earlier state (e.g. in an evolve function), and
 * {@link AddressAllocator.findFree} / {@link AddressAllocator.isAllocated}, which never mutate,
 * in decide functions.
 */
export class AddressAllocator {
  private pools: IpRange[];
  private runs = new RunList();
  private count = 0n;

  private constructor(
    readonly version: IpVersion,
    pools: readonly IpRange[],
  ) {
    this.pools = AddressAllocator.checkPools(version, pools);
  }

  /** An allocator with nothing allocated. Pools may overlap or touch; they are merged. */
  static create(version: IpVersion, pools: readonly IpRange[]): AddressAllocator {
    if (!isIpVersion(version)) {
      throw new NetaddrError('invalid_argument', `IP version must be 4 or 6, got ${String(version)}`);
    }
    return new AddressAllocator(version, pools);
  }

  private static checkPools(version: IpVersion, pools: readonly IpRange[]): IpRange[] {
    for (const pool of pools) {
      if (pool.version !== version) {
        throw new NetaddrError('version_mismatch', `IPv${pool.version} pool in an IPv${version} allocator`);
      }
      assertAddressValue(version, pool.first, 'pool first');
      assertAddressValue(version, pool.last, 'pool last');
      if (pool.first > pool.last) throw new NetaddrError('invalid_range', 'pool starts after its end');
    }
    return mergeRanges(pools);
  }

  /** The pools, merged and sorted. */
  getPools(): IpRange[] {
    return this.pools.map((p) => ({ ...p }));
  }

  /** Replaces the pools (Neutron subnet update). Allocated addresses are kept wherever they are. */
  setPools(pools: readonly IpRange[]): void {
    this.pools = AddressAllocator.checkPools(this.version, pools);
  }

  /** The run containing `value`, or null. */
  private runOf(value: bigint): RunPosition | null {
    const position = this.runs.floor(value);
    return position !== null && this.runs.last(position) >= value ? position : null;
  }

  isAllocated(value: bigint): boolean {
    assertAddressValue(this.version, value);
    return this.runOf(value) !== null;
  }

  /** The lowest free address inside the pools, or null when they are exhausted. Does not mutate. */
  findFree(): bigint | null {
    for (const pool of this.pools) {
      const covering = this.runOf(pool.first);
      const candidate = covering === null ? pool.first : this.runs.last(covering) + 1n;
      if (candidate <= pool.last) return candidate;
    }
    return null;
  }

  /** Allocates and returns {@link findFree}'s address, or null when the pools are exhausted. */
  allocateNext(): bigint | null {
    const value = this.findFree();
    if (value !== null) this.allocate(value);
    return value;
  }

  /**
   * Marks one address allocated; it may lie outside the pools (a fixed IP requested by the user;
   * check it with validateFixedIp first).
   * @throws NetaddrError `already_allocated`
   */
  allocate(value: bigint): void {
    if (this.isAllocated(value)) {
      throw new NetaddrError('already_allocated', `${formatIp(this.version, value)} is already allocated`);
    }
    const before = this.runs.floor(value);
    const after = this.runs.next(before);
    const joinsBefore = before !== null && this.runs.last(before) + 1n === value;
    const joinsAfter = after !== null && this.runs.first(after) - 1n === value;
    if (before !== null && after !== null && joinsBefore && joinsAfter) {
      this.runs.setLast(before, this.runs.last(after));
      this.runs.remove(after);
    } else if (before !== null && joinsBefore) {
      this.runs.setLast(before, value);
    } else if (after !== null && joinsAfter) {
      this.runs.setFirst(after, value);
    } else {
      this.runs.insertAfter(before, value, value);
    }
    this.count += 1n;
  }

  /** @throws NetaddrError `not_allocated` */
  release(value: bigint): void {
    assertAddressValue(this.version, value);
    const run = this.runOf(value);
    if (run === null) {
      throw new NetaddrError('not_allocated', `${formatIp(this.version, value)} is not allocated`);
    }
    const first = this.runs.first(run);
    const last = this.runs.last(run);
    if (first === last) {
      this.runs.remove(run);
    } else if (value === first) {
      this.runs.setFirst(run, value + 1n);
    } else if (value === last) {
      this.runs.setLast(run, value - 1n);
    } else {
      this.runs.setLast(run, value - 1n);
      this.runs.insertAfter(run, value + 1n, last);
    }
    this.count -= 1n;
  }

  /** Number of allocated addresses, inside the pools or not. */
  allocatedCount(): bigint {
    return this.count;
  }

  /** Number of free addresses inside the pools. O(runs + pools). */
  freeCount(): bigint {
    let free = 0n;
    for (const pool of this.pools) free += pool.last - pool.first + 1n;
    // Runs and pools are both sorted and disjoint: walk them together.
    let p = 0;
    for (const [first, last] of this.runs.entries()) {
      while ((this.pools[p]?.last ?? last) < first) p++;
      for (let q = p; q < this.pools.length; q++) {
        const pool = this.pools[q];
        if (pool === undefined || pool.first > last) break;
        const from = first > pool.first ? first : pool.first;
        const to = last < pool.last ? last : pool.last;
        free -= to - from + 1n;
      }
    }
    return free;
  }

  /** The allocated addresses as sorted, disjoint, non-adjacent ranges. */
  allocatedRanges(): IpRange[] {
    return [...this.runs.entries()].map(([first, last]) => ({ version: this.version, first, last }));
  }

  clone(): AddressAllocator {
    const copy = new AddressAllocator(this.version, this.pools);
    copy.runs = this.runs.clone();
    copy.count = this.count;
    return copy;
  }

  toJSON(): AddressAllocatorJson {
    return {
      version: this.version,
      pools: this.pools.map((p) => [p.first.toString(), p.last.toString()] as const),
      allocated: [...this.runs.entries()].map(([first, last]) => [first.toString(), last.toString()] as const),
    };
  }

  /**
   * Rebuilds an allocator from {@link toJSON} output, checking it thoroughly since snapshots come
   * from storage.
   * @throws NetaddrError `invalid_state`
   */
  static fromJSON(json: unknown): AddressAllocator {
    const fail = (reason: string): NetaddrError => new NetaddrError('invalid_state', `invalid address allocator snapshot: ${reason}`);
    if (typeof json !== 'object' || json === null) throw fail('not an object');
    const { version, pools, allocated } = json as Record<string, unknown>;
    if (!isIpVersion(version)) throw fail('version must be 4 or 6');
    const max = maxAddress(version);
    const pairs = (value: unknown, what: string): [bigint, bigint][] => {
      if (!Array.isArray(value)) throw fail(`${what} must be an array`);
      return value.map((pair: unknown, index) => {
        if (!Array.isArray(pair) || pair.length !== 2) throw fail(`${what}[${index}] must be a [first, last] pair`);
        const [first, last] = pair.map((text: unknown) => {
          if (typeof text !== 'string' || !/^(0|[1-9]\d*)$/.test(text)) {
            throw fail(`${what}[${index}] values must be decimal strings`);
          }
          const n = BigInt(text);
          if (n > max) throw fail(`${what}[${index}] is beyond the IPv${version} space`);
          return n;
        }) as [bigint, bigint];
        if (first > last) throw fail(`${what}[${index}] starts after its end`);
        return [first, last];
      });
    };
    const allocator = new AddressAllocator(
      version,
      pairs(pools, 'pools').map(([first, last]) => ({ version, first, last })),
    );
    let previous: RunPosition | null = null;
    for (const [index, [first, last]] of pairs(allocated, 'allocated').entries()) {
      if (previous !== null && first <= allocator.runs.last(previous) + 1n) {
        throw fail(`allocated[${index}] is not sorted, disjoint and apart from the previous run`);
      }
      allocator.runs.insertAfter(previous, first, last);
      // positions do not survive inserts (a chunk may split), so look the new run up again
      previous = allocator.runs.floor(first);
      allocator.count += last - first + 1n;
    }
    return allocator;
  }
}
