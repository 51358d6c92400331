import { ValidationError, type CommandMetadata } from '@ncp/contracts';
import { type ApiSupport, type ResourceReader } from '@ncp/nest-common';
import { type Written } from '../application/write-model';
import { MAX_BULK_ITEMS } from '../domain/bulk-create.decider';

/**
 * Neutron's bulk create body, `{"<collection>": [item, ...]}`, where each item is the
 * resource's attributes or (as Neutron also accepts) `{"<singular>": {...}}`. Returns one
 * single-create body per item, for the same parse function a single create uses, or null
 * when the body is not a bulk body. Every item is parsed before anything is written.
 */
export function bulkBodies(body: unknown, collection: string, singular: string): unknown[] | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !(collection in body)) return null;
  const items = (body as Record<string, unknown>)[collection];
  if (!Array.isArray(items)) throw new ValidationError('API.HTTPBadRequest', `Invalid input: '${collection}' must be a list of ${collection}`);
  if (items.length === 0) throw new ValidationError('API.HTTPBadRequest', 'Resources required');
  if (items.length > MAX_BULK_ITEMS) {
    throw new ValidationError('API.HTTPBadRequest', `Bulk create of ${items.length} ${collection} refused: at most ${MAX_BULK_ITEMS} per request`);
  }
  return items.map((item: unknown) => (typeof item === 'object' && item !== null && !Array.isArray(item) && singular in item ? item : { [singular]: item }));
}

/** The bulk answer: every item as a GET shows it, in request order. */
export async function showAll<Row, Db>(
  api: ApiSupport<Db>,
  reader: ResourceReader<Row, Db>,
  written: readonly Written[],
  meta: CommandMetadata,
): Promise<Record<string, Record<string, unknown>[]>> {
  const shown: Record<string, unknown>[] = [];
  for (const w of written) {
    const one = (await api.show(reader, w, meta))[reader.spec.singular];
    if (one) shown.push(one);
  }
  return { [reader.spec.collection]: shown };
}
