import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';
import type { MigrationAdapterFactory } from './adapter';

type EngineModule = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');

// lib "dom" is not in this project's TypeScript libs, so declare the one WebAssembly call used.
declare const WebAssembly: {
  instantiate(bytes: Uint8Array, imports: Record<string, object>): Promise<{ instance: { exports: object } }>;
};

let engineModule: Promise<EngineModule> | undefined;

/**
 * Loads `@prisma/schema-engine-wasm` once per process.
 *
 * The package entry (`schema_engine.js`) does `import * as wasm from "./schema_engine_bg.wasm"`,
 * which Node 20 only accepts with `--experimental-wasm-modules`. Instead we import its JS glue
 * (`schema_engine_bg.js`, an ES module: dynamic import() works from CommonJS) and instantiate the
 * .wasm ourselves, exactly as the entry would: the glue is the module's only import namespace.
 */
export function loadEngineModule(): Promise<EngineModule> {
  engineModule ??= (async () => {
    const glue = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const wasmPath = path.join(path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg')), 'schema_engine_bg.wasm');
    // The engine's Rust panic hook reports through this global before the wasm traps.
    const g = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: { set_message(message: string): void } };
    g.PRISMA_WASM_PANIC_REGISTRY ??= {
      set_message: (message) => process.stderr.write(`schema engine panic: ${message}\n`),
    };
    const { instance } = await WebAssembly.instantiate(await readFile(wasmPath), { './schema_engine_bg.js': glue });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start(): void }).__wbindgen_start();
    return glue;
  })();
  return engineModule;
}

export interface EngineSchema {
  /** Path of schema.prisma (only used in messages). */
  readonly path: string;
  readonly content: string;
}

/**
 * Starts a schema engine on the given adapter factory, runs `fn`, then frees the engine and
 * closes every connection. Engine errors that came from JavaScript (e.g. a failed connection)
 * carry only an id; they are replaced by the original error.
 */
export async function withEngine<T>(
  schema: EngineSchema,
  factory: MigrationAdapterFactory,
  fn: (engine: SchemaEngine) => Promise<T>,
  log?: (line: string) => void,
): Promise<T> {
  const { SchemaEngine } = await loadEngineModule();
  const bound = bindMigrationAwareSqlAdapterFactory(factory);
  let engine: SchemaEngine | undefined;
  try {
    engine = await SchemaEngine.new({ datamodels: [[schema.path, schema.content]] }, (line: string) => log?.(line), bound);
    return await fn(engine);
  } catch (error) {
    throw originalError(error, bound.errorRegistry);
  } finally {
    engine?.free();
    await factory.close();
  }
}

function originalError(error: unknown, registry: { consumeError(id: number): { error: unknown } | undefined }): unknown {
  const message = error instanceof Error ? error.message : String(error);
  const id = /External error id#(\d+)/.exec(message)?.[1];
  const original = id === undefined ? undefined : registry.consumeError(Number(id));
  return original ? original.error : error;
}
