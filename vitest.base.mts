import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript sources under the "source" condition,
// so tests run against sources without building dependencies first.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    environment: 'node',
    // turbo runs one task per CPU (scripts/test.sh), several of them vitest: each takes at
    // most half the CPUs for its workers, so a loaded machine still starts every worker within
    // vitest's fixed 60 s (VITEST_MAX_WORKERS overrides it).
    pool: 'forks',
    maxWorkers: Math.max(1, Math.floor(availableParallelism() / 2)),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
