import { type OpenAPIObject } from '@nestjs/swagger';
import { z } from 'zod';
import { REQUEST_SCHEMAS } from './bodies';
import { IPAM_EXTENSIONS } from './extensions';

type SchemaObject = NonNullable<NonNullable<OpenAPIObject['components']>['schemas']>[string];

const COLLECTIONS: Record<string, keyof typeof REQUEST_SCHEMAS> = {
  networks: 'network',
  subnets: 'subnet',
  ports: 'port',
  subnetpools: 'subnetpool',
  'address-scopes': 'address_scope',
};

const NEUTRON_ERROR = {
  description: 'Neutron error',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: {
          NeutronError: {
            type: 'object',
            properties: { type: { type: 'string' }, message: { type: 'string' }, detail: { type: 'string' } },
          },
        },
      },
    },
  },
};

/**
 * Adds what the controllers cannot say by themselves: the request bodies (from the same
 * zod schemas that validate them), the error body, and the extensions beyond Neutron.
 */
export function enrichOpenApi(doc: OpenAPIObject): OpenAPIObject {
  for (const [path, item] of Object.entries(doc.paths)) {
    const collection = /^\/v2\.0\/([^/]+)/.exec(path)?.[1];
    const singular = collection ? COLLECTIONS[collection] : undefined;
    if (!singular) continue;
    // JSON Schema 2020-12 and OpenAPI 3 schemas agree on everything zod emits here.
    const body = z.toJSONSchema(REQUEST_SCHEMAS[singular], { io: 'input', unrepresentable: 'any' }) as SchemaObject;
    for (const method of ['post', 'put'] as const) {
      const op = item[method];
      if (!op || path.endsWith('_prefixes')) continue;
      op.requestBody = {
        required: true,
        content: { 'application/json': { schema: { type: 'object', properties: { [singular]: body }, required: [singular] } } },
      };
    }
    for (const op of [item.get, item.post, item.put, item.delete]) {
      if (op) op.responses = { ...op.responses, '400': NEUTRON_ERROR, '404': NEUTRON_ERROR, '409': NEUTRON_ERROR };
    }
    if (item.put) item.put.parameters = [...(item.put.parameters ?? []), { name: 'If-Match', in: 'header', required: false, description: 'revision_number=N: 412 if the resource has moved on', schema: { type: 'string' } }];
  }
  const beyond = IPAM_EXTENSIONS.filter((e) => e.name.includes('(ncp)'))
    .map((e) => `- **${e.alias}**: ${e.description}`)
    .join('\n');
  doc.info.description = `${doc.info.description}\n\nExtensions beyond Neutron:\n${beyond}\n\nAll Neutron extensions served are listed at GET /v2.0/extensions.`;
  return doc;
}
