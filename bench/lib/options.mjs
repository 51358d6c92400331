// @ts-check
// The command line of the benchmarks: each option is declared once, with its default, range and
// help, and the usage text is written from the declarations.
import { parseArgs } from 'node:util';
import { errorText } from './stack-bench.mjs';

/**
 * @typedef {{ kind: 'int', default: number, min: number, max: number, help: string }} IntOption
 * @typedef {{ kind: 'flag', help: string }} FlagOption
 * @typedef {{ kind: 'text', arg: string, default: string | undefined, help: string }} TextOption
 * @typedef {{ kind: 'ints', default: string, min: number, help: string }} IntListOption
 * @typedef {IntOption | FlagOption | TextOption | IntListOption} BenchOption
 */

/**
 * An integer in [min, max], `--name N`.
 * @param {string} help
 * @param {number} defaultValue
 * @param {number} min
 * @returns {IntOption}
 */
export const intOption = (help, defaultValue, min, max = Number.MAX_SAFE_INTEGER) => ({ kind: 'int', default: defaultValue, min, max, help });

/**
 * A switch, off unless given.
 * @param {string} help
 * @returns {FlagOption}
 */
export const flagOption = (help) => ({ kind: 'flag', help });

/**
 * A text, `--name ARG`.
 * @template {string | undefined} D
 * @param {string} arg
 * @param {string} help
 * @param {D} defaultValue
 * @returns {TextOption & { default: D }}
 */
export const textOption = (arg, help, defaultValue) => ({ kind: 'text', arg, default: defaultValue, help });

/**
 * Integers >= min separated by commas, `--name N,N,...` (sizes to run one after the other).
 * @param {string} help
 * @param {string} defaultValue
 * @param {number} min
 * @returns {IntListOption}
 */
export const intListOption = (help, defaultValue, min) => ({ kind: 'ints', default: defaultValue, min, help });

/**
 * What parseBenchOptions returns for the declarations S: a number, a list of numbers, a boolean or a text per option.
 * @template {Record<string, BenchOption>} S
 * @typedef {{ [K in keyof S]: S[K] extends IntOption ? number : S[K] extends IntListOption ? number[] : S[K] extends FlagOption ? boolean : S[K] extends { default: infer D } ? string | D : never }} BenchValues
 */

/**
 * `usage: <command> [options]`, then a line per option (help lines after the first indented
 * under it) with its default, and -h, --help.
 * @param {string} command
 * @param {Record<string, BenchOption>} options
 */
export function benchUsage(command, options) {
  /** @type {[string, string][]} */
  const rows = Object.entries(options).map(([name, o]) => {
    const arg = o.kind === 'int' ? ' N' : o.kind === 'ints' ? ' N,N,...' : o.kind === 'text' ? ` ${o.arg}` : '';
    const range = o.kind === 'int' && o.max !== Number.MAX_SAFE_INTEGER ? `, max ${o.max}` : '';
    const shown = o.kind === 'flag' || o.default === undefined ? '' : ` (default ${o.default}${range})`;
    return [`--${name}${arg}`, `${o.help}${shown}`];
  });
  rows.push(['-h, --help', 'this text']);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  const lines = rows.map(([left, help]) => `  ${left.padEnd(width)}${help.split('\n').join(`\n  ${' '.repeat(width)}`)}`);
  return [`usage: ${command} [options]`, ...lines].join('\n');
}

/**
 * Parses `argv` strictly against the declared `options` plus -h/--help. A bad option, or an
 * integer that is not one in its range, prints the error and the usage and exits 2; --help
 * prints the usage and exits 0.
 * @template {Record<string, BenchOption>} S
 * @param {string[]} argv
 * @param {string} command how the usage names the benchmark, `node bench/<name>/run.mjs`
 * @param {S} options
 * @returns {BenchValues<S>}
 */
export function parseBenchOptions(argv, command, options) {
  const usage = benchUsage(command, options);
  /** @type {NonNullable<import('node:util').ParseArgsConfig['options']>} */
  const config = { help: { type: 'boolean', short: 'h', default: false } };
  for (const [name, o] of Object.entries(options)) config[name] = o.kind === 'flag' ? { type: 'boolean', default: false } : { type: 'string' };
  /** @type {Record<string, string | boolean | undefined>} */
  let values;
  try {
    values = /** @type {typeof values} */ (parseArgs({ args: argv, options: config, strict: true }).values);
  } catch (e) {
    console.error(`${errorText(e)}\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  /** @type {Record<string, number | number[] | boolean | string | undefined>} */
  const parsed = {};
  for (const [name, o] of Object.entries(options)) {
    const raw = values[name];
    if (o.kind === 'flag') {
      parsed[name] = raw === true;
      continue;
    }
    if (o.kind === 'text') {
      parsed[name] = raw ?? o.default;
      continue;
    }
    if (o.kind === 'ints') {
      const text = typeof raw === 'string' ? raw : o.default;
      const list = text.split(',').map((n) => Number(n));
      if (list.some((n) => !Number.isInteger(n) || n < o.min)) {
        console.error(`--${name} must be integers >= ${o.min} separated by commas, got ${text}\n${usage}`);
        process.exit(2);
      }
      parsed[name] = list;
      continue;
    }
    const n = raw === undefined ? o.default : Number(raw);
    if (!Number.isInteger(n) || n < o.min || n > o.max) {
      const range = o.max === Number.MAX_SAFE_INTEGER ? `>= ${o.min}` : `in [${o.min}, ${o.max}]`;
      console.error(`--${name} must be an integer ${range}, got ${String(raw)}\n${usage}`);
      process.exit(2);
    }
    parsed[name] = n;
  }
  return /** @type {BenchValues<S>} */ (parsed);
}
