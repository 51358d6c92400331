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
