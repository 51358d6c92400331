import { NotFoundException } from '@nestjs/common';

/** One entry of `GET /v2.0/extensions`. */
export interface NeutronExtension {
  readonly alias: string;
  readonly name: string;
  readonly description: string;
  readonly updated: string;
  readonly links: readonly unknown[];
}

export function extension(alias: string, name: string, description: string, updated = '2026-01-01T00:00:00-00:00'): NeutronExtension {
  return { alias, name, description, updated, links: [] };
}

/** `GET /v2.0/extensions/<alias>`: the extension, or Neutron's 404. */
export function findExtension(extensions: readonly NeutronExtension[], alias: string): { extension: NeutronExtension } {
  const found = extensions.find((e) => e.alias === alias);
  if (!found) {
    throw new NotFoundException({ NeutronError: { type: 'HTTPNotFound', message: `Extension with alias ${alias} does not exist`, detail: '' } });
  }
  return { extension: found };
}
