import { type z } from 'zod';
import { ValidationError } from './errors';

/**
 * One version of one event type. Older versions keep their schema and an upcaster to
 * the next version, so events written years ago stay readable.
 */
export interface EventVersion {
  readonly version: number;
  readonly schema: z.ZodType;
  /** Turns data of this version into data of version + 1. Absent on the latest version. */
  readonly upcast?: (data: unknown) => unknown;
}

export interface EventDefinition {
  readonly type: string;
  readonly versions: readonly EventVersion[];
}

export function defineEvent<TType extends string, TSchema extends z.ZodType>(
  type: TType,
  schema: TSchema,
  olderVersions: readonly EventVersion[] = [],
): EventDefinition & { readonly type: TType; readonly schema: TSchema; readonly latestVersion: number } {
  const latestVersion = olderVersions.length + 1;
  olderVersions.forEach((v, i) => {
    if (v.version !== i + 1 || !v.upcast) {
      throw new Error(`event ${type}: version ${i + 1} must come with an upcaster`);
    }
  });
  return { type, schema, latestVersion, versions: [...olderVersions, { version: latestVersion, schema }] };
}

/** The event a definition declares: its type, with data of its latest schema. */
type EventOfDefinition<D> = D extends { type: infer T; schema: infer S extends z.ZodType } ? { readonly type: T; readonly data: z.infer<S> } : never;
/** The events a context's list of definitions declares, as one union discriminated on `type`. */
export type EventsOf<Defs extends readonly unknown[]> = EventOfDefinition<Defs[number]>;

/** Validates and upcasts event data by type and version. */
export class EventRegistry {
  private readonly definitions = new Map<string, EventDefinition>();

  constructor(definitions: Iterable<EventDefinition>) {
    for (const d of definitions) {
      if (this.definitions.has(d.type)) throw new Error(`event type ${d.type} defined twice`);
      this.definitions.set(d.type, d);
    }
  }

  has(type: string): boolean {
    return this.definitions.has(type);
  }

  latestVersion(type: string): number {
    return this.definition(type).versions.length;
  }

  /** Data of any known version, returned as valid data of the latest version. */
  readLatest(type: string, version: number, data: unknown): unknown {
    const def = this.definition(type);
    if (!Number.isInteger(version) || version < 1 || version > def.versions.length) {
      throw new ValidationError('EVENT.UNKNOWN_VERSION', `event ${type} has no version ${version}`);
    }
    let current = data;
    for (let v = version; v <= def.versions.length; v++) {
      const ver = def.versions[v - 1];
      if (!ver) break;
      const parsed = ver.schema.safeParse(current);
      if (!parsed.success) {
        throw new ValidationError('EVENT.INVALID', `event ${type} v${v} is invalid: ${parsed.error.message}`);
      }
      current = ver.upcast ? ver.upcast(parsed.data) : parsed.data;
    }
    return current;
  }

  /** Validates data about to be written at the latest version. */
  validateLatest(type: string, data: unknown): unknown {
    const def = this.definition(type);
    const latest = def.versions[def.versions.length - 1];
    if (!latest) throw new Error(`event ${type} has no versions`);
    const parsed = latest.schema.safeParse(data);
    if (!parsed.success) {
      throw new ValidationError('EVENT.INVALID', `event ${type} is invalid: ${parsed.error.message}`);
    }
    return parsed.data;
  }

  private definition(type: string): EventDefinition {
    const def = this.definitions.get(type);
    if (!def) throw new ValidationError('EVENT.UNKNOWN_TYPE', `unknown event type ${type}`);
    return def;
  }
}
