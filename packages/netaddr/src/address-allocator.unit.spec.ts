import { describe, expect, it } from 'vitest';
import { AddressAllocator, NetaddrError, defaultAllocationPools, formatIp, formatRange, parseCidr, parseIp, parseRange, type IpRange } from './index.js';

const v4 = (text: string): bigint => {
  const ip = parseIp(text);
  expect(ip.version).toBe(4);
  return ip.value;
};
const show = (value: bigint | null): string | null => (value === null ? null : formatIp(4, value));

describe('AddressAllocator', () => {
  it('allocates lowest first until the pool is exhausted, then reuses the lowest released', () => {
    const allocator = AddressAllocator.create(4, [parseRange('10.0.0.2', '10.0.0.5')]);
    const got = [1, 2, 3, 4, 5].map(() => show(allocator.allocateNext()));
    expect(got).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', null]);
    expect(allocator.findFree()).toBeNull();
    allocator.release(v4('10.0.0.4'));
    allocator.release(v4('10.0.0.3'));
    expect(allocator.isAllocated(v4('10.0.0.3'))).toBe(false);
    expect(show(allocator.findFree())).toBe('10.0.0.3');
    expect(show(allocator.findFree())).toBe('10.0.0.3'); // findFree does not allocate
    expect(show(allocator.allocateNext())).toBe('10.0.0.3');
    expect(show(allocator.allocateNext())).toBe('10.0.0.4');
    expect(allocator.allocateNext()).toBeNull();
    expect(allocator.allocatedRanges().map(formatRange)).toEqual(['10.0.0.2-10.0.0.5']);
  });

  it('walks the pools in address order, whatever order they were given in', () => {
    const allocator = AddressAllocator.create(4, [parseRange('10.0.0.101', '10.0.0.102'), parseRange('10.0.0.2', '10.0.0.3')]);
    expect([1, 2, 3, 4, 5].map(() => show(allocator.allocateNext()))).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.101', '10.0.0.102', null]);
    expect(allocator.getPools().map(formatRange)).toEqual(['10.0.0.2-10.0.0.3', '10.0.0.101-10.0.0.102']);
  });

  it('tracks specific addresses inside and outside the pools', () => {
    const allocator = AddressAllocator.create(4, [parseRange('10.0.0.10', '10.0.0.20')]);
    allocator.allocate(v4('10.0.0.10'));
    allocator.allocate(v4('10.0.0.12'));
    allocator.allocate(v4('10.0.0.5')); // outside the pool, e.g. a user-chosen fixed IP
    expect(allocator.isAllocated(v4('10.0.0.5'))).toBe(true);
    expect(show(allocator.allocateNext())).toBe('10.0.0.11');
    expect(show(allocator.allocateNext())).toBe('10.0.0.13');
    expect(allocator.allocatedRanges().map(formatRange)).toEqual(['10.0.0.5-10.0.0.5', '10.0.0.10-10.0.0.13']);
    expect(allocator.allocatedCount()).toBe(5n);
    expect(allocator.freeCount()).toBe(7n);
    allocator.release(v4('10.0.0.11')); // splits a run
    expect(allocator.allocatedRanges().map(formatRange)).toEqual(['10.0.0.5-10.0.0.5', '10.0.0.10-10.0.0.10', '10.0.0.12-10.0.0.13']);
    expect(allocator.freeCount()).toBe(8n);
  });

  it('refuses double allocation, releasing a free address and foreign values', () => {
    const allocator = AddressAllocator.create(4, [parseRange('10.0.0.10', '10.0.0.20')]);
    allocator.allocate(v4('10.0.0.15'));
    expect(() => allocator.allocate(v4('10.0.0.15'))).toThrow('10.0.0.15 is already allocated');
    expect(() => allocator.release(v4('10.0.0.16'))).toThrow('10.0.0.16 is not allocated');
    expect(() => allocator.allocate(1n << 32n)).toThrow(NetaddrError);
    expect(() => AddressAllocator.create(4, [parseRange('::1', '::2')])).toThrow(/IPv6 pool in an IPv4 allocator/);
  });

  it('keeps allocations when the pools change', () => {
    const allocator = AddressAllocator.create(4, [parseRange('10.0.0.10', '10.0.0.11')]);
    allocator.allocateNext();
    allocator.allocateNext();
    allocator.setPools([parseRange('10.0.0.5', '10.0.0.6'), parseRange('10.0.0.10', '10.0.0.12')]);
    expect([1, 2, 3, 4].map(() => show(allocator.allocateNext()))).toEqual(['10.0.0.5', '10.0.0.6', '10.0.0.12', null]);
    expect(allocator.isAllocated(v4('10.0.0.10'))).toBe(true);
  });

  it('round-trips through JSON and continues identically', () => {
    const a = AddressAllocator.create(6, defaultAllocationPools(parseCidr('2001:db8::/64'), parseIp('2001:db8::1')));
    for (let i = 0; i < 10; i++) a.allocateNext();
    a.release(parseIp('2001:db8::5').value);
    a.allocate(parseIp('2001:db8::ffff:ffff:ffff:ffff').value);
    const json = JSON.stringify(a);
    expect(JSON.parse(json)).toEqual({
      version: 6,
      pools: [['42540766411282592856903984951653826562', '42540766411282592875350729025363378175']],
      allocated: [
        ['42540766411282592856903984951653826562', '42540766411282592856903984951653826564'],
        ['42540766411282592856903984951653826566', '42540766411282592856903984951653826571'],
        ['42540766411282592875350729025363378175', '42540766411282592875350729025363378175'],
      ],
    });
    const b = AddressAllocator.fromJSON(JSON.parse(json));
    expect(b.allocatedCount()).toBe(a.allocatedCount());
    expect(b.freeCount()).toBe((1n << 64n) - 2n - 10n);
    for (let i = 0; i < 3; i++) expect(b.allocateNext()).toBe(a.allocateNext());
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it.each([
    [null, /not an object/],
    [{ version: 5, pools: [], allocated: [] }, /version must be 4 or 6/],
    [{ version: 4, pools: {}, allocated: [] }, /pools must be an array/],
    [{ version: 4, pools: [['1']], allocated: [] }, /pools\[0\] must be a \[first, last\] pair/],
    [{ version: 4, pools: [[1, 2]], allocated: [] }, /decimal strings/],
    [{ version: 4, pools: [['01', '2']], allocated: [] }, /decimal strings/],
    [{ version: 4, pools: [], allocated: [['5', '4']] }, /allocated\[0\] starts after its end/],
    [{ version: 4, pools: [], allocated: [['4294967296', '4294967296']] }, /beyond the IPv4 space/],
    [
      {
        version: 4,
        pools: [],
        allocated: [
          ['5', '9'],
          ['1', '2'],
        ],
      },
      /allocated\[1\] is not sorted/,
    ],
    [
      {
        version: 4,
        pools: [],
        allocated: [
          ['5', '9'],
          ['9', '12'],
        ],
      },
      /allocated\[1\]/,
    ],
    [
      {
        version: 4,
        pools: [],
        allocated: [
          ['5', '9'],
          ['10', '12'],
        ],
      },
      /allocated\[1\]/,
    ], // adjacent runs must be merged
  ])('rejects the corrupt snapshot %j', (json, message) => {
    expect(() => AddressAllocator.fromJSON(json)).toThrow(message);
  });

  it('clones independently', () => {
    const a = AddressAllocator.create(4, [parseRange('10.0.0.1', '10.0.0.9')]);
    a.allocateNext();
    const b = a.clone();
    b.allocateNext();
    expect(a.allocatedCount()).toBe(1n);
    expect(b.allocatedCount()).toBe(2n);
    expect(show(a.findFree())).toBe('10.0.0.2');
  });

  it('agrees with a naive model over a long random history (deterministic seed)', () => {
    const pools: IpRange[] = [parseRange('10.0.0.10', '10.0.0.79'), parseRange('10.0.0.150', '10.0.0.199')];
    const allocator = AddressAllocator.create(4, pools);
    const model = new Set<bigint>();
    const inPools = (v: bigint): boolean => pools.some((p) => v >= p.first && v <= p.last);
    const modelLowest = (): bigint | null => {
      for (const p of pools) for (let v = p.first; v <= p.last; v++) if (!model.has(v)) return v;
      return null;
    };
    let seed = 12345;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let step = 0; step < 20_000; step++) {
      const op = random(10);
      if (op < 5) {
        const expected = modelLowest();
        expect(allocator.allocateNext()).toBe(expected);
        if (expected !== null) model.add(expected);
      } else if (op < 8) {
        const value = v4('10.0.0.0') + BigInt(random(256));
        expect(allocator.isAllocated(value)).toBe(model.has(value));
        if (model.has(value)) {
          allocator.release(value);
          model.delete(value);
        } else {
          allocator.allocate(value);
          model.add(value);
        }
      } else {
        const value = v4('10.0.0.0') + BigInt(random(256));
        expect(allocator.isAllocated(value)).toBe(model.has(value));
      }
      if (step % 500 === 0) {
        expect(allocator.allocatedCount()).toBe(BigInt(model.size));
        expect(allocator.freeCount()).toBe(120n - BigInt([...model].filter(inPools).length));
        const runs = allocator.allocatedRanges();
        for (let i = 1; i < runs.length; i++) {
          const prev = runs[i - 1];
          const run = runs[i];
          expect(prev && run && run.first > prev.last + 1n).toBe(true);
        }
      }
    }
  });

  it('allocates 60,000 addresses of an IPv4 /16 in order and stays one run', () => {
    const cidr = parseCidr('10.1.0.0/16');
    const allocator = AddressAllocator.create(4, defaultAllocationPools(cidr, parseIp('10.1.0.1')));
    const first = v4('10.1.0.2');
    for (let i = 0; i < 60_000; i++) {
      const value = allocator.allocateNext();
      if (value !== first + BigInt(i)) expect(show(value)).toBe(show(first + BigInt(i)));
    }
    expect(allocator.allocatedRanges().map(formatRange)).toEqual(['10.1.0.2-10.1.234.97']);
    expect(allocator.freeCount()).toBe(65_533n - 60_000n);
    expect(JSON.stringify(allocator).length).toBeLessThan(200);

    // release every 7th address, then allocation refills exactly those, lowest first
    const released: bigint[] = [];
    for (let i = 0; i < 60_000; i += 7) {
      allocator.release(first + BigInt(i));
      released.push(first + BigInt(i));
    }
    expect(allocator.allocatedRanges().length).toBe(released.length);
    for (const value of released) if (allocator.allocateNext() !== value) expect.unreachable(show(value) ?? '');

    // then the rest of the pool, then exhaustion
    let rest = 0;
    while (allocator.allocateNext() !== null) rest++;
    expect(rest).toBe(5_533);
    expect(allocator.allocatedRanges().map(formatRange)).toEqual(['10.1.0.2-10.1.255.254']);
    expect(allocator.isAllocated(v4('10.1.0.1'))).toBe(false); // the gateway was never in the pool
  });

  it('allocates in an IPv6 /64 without enumerating it', () => {
    const cidr = parseCidr('2001:db8:0:1::/64');
    const allocator = AddressAllocator.create(6, defaultAllocationPools(cidr, parseIp('2001:db8:0:1::1')));
    for (let i = 0; i < 10_000; i++) allocator.allocateNext();
    allocator.allocate(parseIp('2001:db8:0:1:ffff:ffff:ffff:fffe').value);
    allocator.release(parseIp('2001:db8:0:1::100').value);
    expect(formatIp(6, allocator.allocateNext() ?? 0n)).toBe('2001:db8:0:1::100');
    expect(formatIp(6, allocator.allocateNext() ?? 0n)).toBe('2001:db8:0:1::2712');
    expect(allocator.freeCount()).toBe((1n << 64n) - 2n - 10_002n);
  });
});

describe('AddressAllocator when fragmented', () => {
  it('handles a checkerboard /16 (30,000 runs) and refills it lowest first', () => {
    const cidr = parseCidr('10.2.0.0/16');
    const allocator = AddressAllocator.create(4, defaultAllocationPools(cidr, null));
    const base = cidr.network;
    // even offsets, highest first, so every insert lands at the front of the run list
    for (let i = 60_000; i >= 2; i -= 2) allocator.allocate(base + BigInt(i));
    expect(allocator.allocatedRanges().length).toBe(30_000);
    expect(allocator.isAllocated(base + 30_000n)).toBe(true);
    expect(allocator.isAllocated(base + 30_001n)).toBe(false);
    for (let i = 1; i <= 60_001; i += 2) {
      const value = allocator.allocateNext();
      if (value !== base + BigInt(i)) expect(show(value)).toBe(show(base + BigInt(i)));
    }
    expect(allocator.allocatedRanges().map(formatRange)).toEqual(['10.2.0.1-10.2.234.97']);
    // punch holes from the top down, then check membership and the refill order
    for (let i = 59_999; i >= 1; i -= 3) allocator.release(base + BigInt(i));
    for (let i = 1; i <= 60_001; i++) {
      const expected = (59_999 - i) % 3 !== 0 || i > 59_999;
      if (allocator.isAllocated(base + BigInt(i)) !== expected) expect.unreachable(`offset ${i}`);
    }
    expect(allocator.allocatedCount()).toBe(60_001n - 20_000n);
    expect(show(allocator.allocateNext())).toBe(formatIp(4, base + 2n));
    const copy = AddressAllocator.fromJSON(JSON.parse(JSON.stringify(allocator)));
    expect(copy.allocatedRanges()).toEqual(allocator.allocatedRanges());
    expect(show(copy.allocateNext())).toBe(formatIp(4, base + 5n));
  });
});
