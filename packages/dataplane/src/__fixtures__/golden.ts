import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';

/**
 * A comparer against the golden files of one driver (`src/<driver>/__golden__/<name>`);
 * UPDATE_GOLDEN=1 rewrites the file instead. Under CI=true a missing file is a failure.
 */
export function goldenFiles(driver: 'l2' | 'l3' | 'dhcp' | 'bgp' | 'keepalived'): (name: string, actual: string) => void {
  return (name, actual) => {
    const file = path.join(__dirname, '..', driver, '__golden__', name);
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
      if (process.env.CI === 'true') throw new Error(`golden file ${file} is missing (run with UPDATE_GOLDEN=1 and commit it)`);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, actual);
    }
    expect(actual).toBe(readFileSync(file, 'utf8'));
  };
}
