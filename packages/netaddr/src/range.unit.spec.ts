import { describe, expect, it } from 'vitest';
import {
  NetaddrError,
  formatRange,
  makeRange,
  mergeRanges,
  parseIp,
  parseRange,
  rangeContains,
  rangeContainsRange,
  rangeSize,
  rangeToPool,
  rangesOverlap,
  subtractRanges,
  type IpRange,
} from './index.js';

const r = (start: string, end: string): IpRange => parseRange(start, end);
const texts = (ranges: IpRange[]): string[] => ranges.map(formatRange);

describe('ranges', () => {
  it('parses and formats', () => {
    const range = r('10.0.0.2', '10.0.0.254');
    expect(range).toEqual({ version: 4, first: 0x0a000002n, last: 0x0a0000fen });
    expect(formatRange(range)).toBe('10.0.0.2-10.0.0.254');
    expect(rangeToPool(r('2001:DB8::2', '2001:db8::ff'))).toEqual({ start: '2001:db8::2', end: '2001:db8::ff' });
    expect(rangeSize(range)).toBe(253n);
    expect(rangeSize(r('::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'))).toBe(1n << 128n);
  });

  it('refuses reversed and mixed-version ranges', () => {
    expect(() => r('10.0.0.9', '10.0.0.1')).toThrow('range start 10.0.0.9 is after its end 10.0.0.1');
    expect(() => r('10.0.0.1', '::1')).toThrow(/mixes IPv4 and IPv6/);
    expect(() => r('10.0.0.1', 'x')).toThrow(NetaddrError);
    expect(() => makeRange(4, 0n, 1n << 32n)).toThrow(NetaddrError);
  });

  it('tests containment and overlap', () => {
    const range = r('10.0.0.10', '10.0.0.20');
    expect(rangeContains(range, parseIp('10.0.0.10'))).toBe(true);
    expect(rangeContains(range, parseIp('10.0.0.20'))).toBe(true);
    expect(rangeContains(range, parseIp('10.0.0.21'))).toBe(false);
    expect(rangeContains(range, parseIp('::ffff:10.0.0.15'))).toBe(false);
    expect(rangeContainsRange(range, r('10.0.0.11', '10.0.0.20'))).toBe(true);
    expect(rangeContainsRange(range, r('10.0.0.11', '10.0.0.21'))).toBe(false);
    expect(rangesOverlap(range, r('10.0.0.20', '10.0.0.30'))).toBe(true);
    expect(rangesOverlap(range, r('10.0.0.21', '10.0.0.30'))).toBe(false);
    expect(rangesOverlap(range, r('10.0.0.1', '10.0.0.9'))).toBe(false);
  });

  it('merges overlapping and touching ranges and sorts them', () => {
    const merged = mergeRanges([
      r('10.0.0.50', '10.0.0.60'),
      r('10.0.0.1', '10.0.0.10'),
      r('10.0.0.11', '10.0.0.20'),
      r('10.0.0.15', '10.0.0.16'),
      r('10.0.0.55', '10.0.0.70'),
    ]);
    expect(texts(merged)).toEqual(['10.0.0.1-10.0.0.20', '10.0.0.50-10.0.0.70']);
    expect(mergeRanges([])).toEqual([]);
    expect(() => mergeRanges([r('10.0.0.1', '10.0.0.2'), r('::1', '::2')])).toThrow(NetaddrError);
  });

  it('subtracts ranges', () => {
    const base = [r('10.0.0.1', '10.0.0.254')];
    expect(texts(subtractRanges(base, [r('10.0.0.100', '10.0.0.100')]))).toEqual(['10.0.0.1-10.0.0.99', '10.0.0.101-10.0.0.254']);
    expect(texts(subtractRanges(base, [r('10.0.0.1', '10.0.0.1'), r('10.0.0.254', '10.0.0.254')]))).toEqual(['10.0.0.2-10.0.0.253']);
    expect(subtractRanges(base, [r('10.0.0.0', '10.0.0.255')])).toEqual([]);
    expect(texts(subtractRanges(base, [r('10.0.1.0', '10.0.1.5')]))).toEqual(['10.0.0.1-10.0.0.254']);
    // one hole spanning two base ranges, one hole before everything
    expect(texts(subtractRanges([r('10.0.0.1', '10.0.0.10'), r('10.0.0.20', '10.0.0.30')], [r('10.0.0.5', '10.0.0.25'), r('9.0.0.0', '9.0.0.1')]))).toEqual([
      '10.0.0.1-10.0.0.4',
      '10.0.0.26-10.0.0.30',
    ]);
    expect(texts(subtractRanges([r('::', '::ff')], [r('::10', '::1f'), r('::30', '::3f')]))).toEqual(['::-::f', '::20-::2f', '::40-::ff']);
    expect(subtractRanges([], [r('::1', '::2')])).toEqual([]);
    expect(() => subtractRanges(base, [r('::1', '::2')])).toThrow(/cannot mix IPv4 and IPv6/);
  });
});
