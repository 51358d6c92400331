import { ValidationError, type CommandMetadata } from '@ncp/contracts';
import { type ResourceReader } from '@ncp/nest-common';
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

/** The items of a bulk create of `reader`'s resource, each parsed as a single create's body; null for a single create. */
export function parsedBulk<Input>(
  body: unknown,
  reader: ResourceReader<unknown, unknown>,
  parse: (body: unknown, meta: CommandMetadata) => Input,
  meta: CommandMetadata,
): Input[] | null {
  return bulkBodies(body, reader.spec.collection, reader.spec.singular)?.map((item) => parse(item, meta)) ?? null;
}
