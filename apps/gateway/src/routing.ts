import { SERVICE_OF_COLLECTION, SERVICE_OF_SUBRESOURCE, SINGULAR_OF_COLLECTION, type ApiService } from '@ncp/contracts';

/** Pure routing decisions of the gateway. */

export type Collection = keyof typeof SERVICE_OF_COLLECTION;

/**
 * The paths the gateway hands on to a service (`/v2.0/<collection>...`). The service behind
 * validates the token of such a request itself, so the gateway does not ask Keystone a second time.
 */
export const RESOURCE_PATH = new RegExp(`^/v2\\.0/(${Object.keys(SERVICE_OF_COLLECTION).join('|')})(?=[/?.]|$)`);

/** `/v2.0/networks/abc.json?x=1` -> `networks`, or null for paths that are not resources. */
export function collectionOf(path: string): Collection | null {
  const m = /^\/v2\.0\/([^/?.]+)/.exec(path);
  const name = m?.[1];
  return name !== undefined && name in SERVICE_OF_COLLECTION ? (name as Collection) : null;
}

export function serviceOf(collection: Collection): ApiService {
  return SERVICE_OF_COLLECTION[collection];
}

/**
 * The service that answers a path: the owner of a sub-resource
 * (`/v2.0/networks/<id>/dhcp-agents`) where one is registered, else the collection's owner.
 */
export function serviceOfPath(path: string): ApiService | null {
  const collection = collectionOf(path);
  if (collection === null) return null;
  const sub = /^\/v2\.0\/[^/?.]+\/[^/?]+\/([^/?.]+)/.exec(path)?.[1];
  const key = `${collection}/${sub ?? ''}`;
  return key in SERVICE_OF_SUBRESOURCE ? SERVICE_OF_SUBRESOURCE[key as keyof typeof SERVICE_OF_SUBRESOURCE] : serviceOf(collection);
}

/** Old clients append `.json` to resource paths; Neutron accepts it. */
export function stripJsonSuffix(path: string): string {
  const [p = '', query] = path.split('?', 2);
  const stripped = p.endsWith('.json') ? p.slice(0, -'.json'.length) : p;
  return query === undefined ? stripped : `${stripped}?${query}`;
}

export function versionsDocument(baseUrl: string) {
  return { versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ href: `${baseUrl}/v2.0/`, rel: 'self' }] }] };
}

export function resourcesDocument(baseUrl: string) {
  return {
    resources: (Object.keys(SINGULAR_OF_COLLECTION) as Collection[]).map((collection) => ({
      name: SINGULAR_OF_COLLECTION[collection],
      collection,
      links: [{ href: `${baseUrl}/v2.0/${collection}`, rel: 'self' }],
    })),
  };
}
