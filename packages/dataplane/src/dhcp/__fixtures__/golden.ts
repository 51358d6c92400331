import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';

/** Compares with src/dhcp/__golden__/<name>; UPDATE_GOLDEN=1 rewrites the file instead (as in L2). */
export function expectGolden(name: string, actual: string): void {
  const file = path.join(__dirname, '..', '__golden__', name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
    if (process.env.CI === 'true') throw new Error(`golden file ${file} is missing (run with UPDATE_GOLDEN=1 and commit it)`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}
