import { type OpenAPIObject } from '@nestjs/swagger';
import { z } from 'zod';
import { type NeutronExtension } from './neutron/extensions';

type SchemaObject = NonNullable<NonNullable<OpenAPIObject['components']>['schemas']>[string];

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
 * Adds what controllers cannot say by themselves: request bodies (from the same zod
 * schemas that validate them), Neutron's error body, If-Match, and the extensions beyond
 * Neutron (those named "(ncp)").
 *
 * @param bodies  collection path -> [singular key, body schema], e.g. networks -> ['network', schema]
 */
export function neutronOpenApi(bodies: Readonly<Record<string, readonly [string, z.ZodType]>>, extensions: readonly NeutronExtension[]) {
  return (doc: OpenAPIObject): OpenAPIObject => {
    for (const [path, item] of Object.entries(doc.paths)) {
      const collection = /^\/v2\.0\/([^/]+)/.exec(path)?.[1];
      const body = collection ? bodies[collection] : undefined;
      if (!body) continue;
      const [singular, schema] = body;
      // JSON Schema 2020-12 and OpenAPI 3 schemas agree on everything zod emits here.
      const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as SchemaObject;
      const isAction = /\/(add|remove)_[a-z_]+$/.test(path);
      for (const method of ['post', 'put'] as const) {
        const op = item[method];
        if (!op || isAction) continue;
        op.requestBody = {
          required: true,
          content: { 'application/json': { schema: { type: 'object', properties: { [singular]: json }, required: [singular] } } },
        };
      }
      for (const op of [item.get, item.post, item.put, item.delete]) {
        if (op) op.responses = { ...op.responses, '400': NEUTRON_ERROR, '404': NEUTRON_ERROR, '409': NEUTRON_ERROR };
      }
      if (item.put && !isAction) {
        item.put.parameters = [
          ...(item.put.parameters ?? []),
          { name: 'If-Match', in: 'header', required: false, description: 'revision_number=N: 412 if the resource has moved on', schema: { type: 'string' } },
        ];
      }
    }
    const beyond = extensions
      .filter((e) => e.name.includes('(ncp)'))
      .map((e) => `- **${e.alias}**: ${e.description}`)
      .join('\n');
    doc.info.description = `${doc.info.description}\n\nExtensions beyond Neutron:\n${beyond}\n\nAll Neutron extensions served are listed at GET /v2.0/extensions.`;
    return doc;
  };
}
