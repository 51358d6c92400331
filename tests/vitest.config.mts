import { defineConfig, mergeConfig } from 'vitest/config';
import base from '../vitest.base.mts';

// Scenarios start real processes and share one Postgres and NATS: run files one at a time.
export default mergeConfig(base, defineConfig({ test: { fileParallelism: false, testTimeout: 120_000, hookTimeout: 120_000 } }));
