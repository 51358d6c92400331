import { type z } from 'zod';
import { DataplaneError } from './errors.js';

function parseJson(text: string, what: string): unknown {
  // `ip -j` prints nothing at all for some empty lists (older versions); treat as [].
  if (text.trim() === '') return [];
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DataplaneError('DATAPLANE.BAD_OUTPUT', `${what}: not JSON (${String(error)})`);
  }
}

/** A tool's JSON output (`ip -j`, `bridge -j`, `nft -j`), checked against what we expect of it. */
export function parseToolJson<T>(schema: z.ZodType<T>, text: string, what: string): T {
  const result = schema.safeParse(parseJson(text, what));
  if (!result.success) {
    throw new DataplaneError('DATAPLANE.BAD_OUTPUT', `${what}: unexpected JSON (${result.error.message})`);
  }
  return result.data;
}
