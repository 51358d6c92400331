// @ts-check
// The command line of the benchmarks that take several options.
import { parseArgs } from 'node:util';
import { errorText } from './stack-bench.mjs';

/**
 * Parses `argv` strictly against `options` plus -h/--help. A bad option prints the error and
 * `usage` and exits 2; --help prints `usage` and exits 0. `int(name, min, max)` reads an
 * integer option, exiting 2 (with `usage`) when it is not one in [min, max].
 * @template {NonNullable<import('node:util').ParseArgsConfig['options']>} O
 * @param {string[]} argv
 * @param {O} options
 * @param {string} usage
 */
export function parseBenchArgs(argv, options, usage) {
  const config = { args: argv, options: { ...options, help: { type: 'boolean', short: 'h', default: false } }, strict: true };
  /** @type {ReturnType<typeof parseArgs<{ args: string[], options: O, strict: true }>>['values'] & { help?: boolean }} */
  let values;
  try {
    values = /** @type {typeof values} */ (parseArgs(/** @type {import('node:util').ParseArgsConfig} */ (config)).values);
  } catch (e) {
    console.error(`${errorText(e)}\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  /**
   * @param {keyof O & string} name
   * @param {number} min
   */
  const int = (name, min, max = Number.MAX_SAFE_INTEGER) => {
    const raw = values[/** @type {keyof typeof values} */ (name)];
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
      console.error(`--${name} must be an integer ${range}, got ${String(raw)}\n${usage}`);
      process.exit(2);
    }
    return n;
  };
  return { values, int };
}
