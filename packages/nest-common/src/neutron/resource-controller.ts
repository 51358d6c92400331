import { Body, Delete, Get, HttpCode, Inject, Param, Post, Put, Req, type InjectionToken } from '@nestjs/common';
import { ForbiddenError, type CommandMetadata } from '@ncp/contracts';
import { ApiSupport, type HttpRequestLike, type ResourceReader, type Written } from './resource';

/**
 * The HTTP side of a Neutron resource, declared once: a service states its resource's reader
 * and what creating, updating and deleting one calls, and gets Neutron's GET (list and
 * show), POST, PUT and DELETE handlers with their wire answers. A controller class extends
 * what these functions return, under its own `@Controller` path, and adds its actions.
 *
 * Members are public: the classes are exported from the services (declaration emit).
 */

/** The controller's collaborators besides ApiSupport, by name, each with its Nest injection token. */
export type InjectionTokens<Deps> = { readonly [K in keyof Deps]: InjectionToken };

/** Neutron's policy for admin-only calls: a 403 naming the rule, as `rule:<action> is disallowed by policy`. */
export function requireAdmin(meta: CommandMetadata, service: string, action: string): void {
  if (!meta.isAdmin) throw new ForbiddenError(`${service}.PolicyNotAuthorized`, `rule:${action} is disallowed by policy`);
}

/**
 * A controller base class with ApiSupport as `api` and the collaborators named in `inject`
 * as `deps`: what the constructor of every service's controller would otherwise spell out.
 */
export function neutronController<Db, Deps extends object>(inject: InjectionTokens<Deps>) {
  class NeutronController {
    readonly deps: Deps;
    constructor(
      readonly api: ApiSupport<Db>,
      ...deps: unknown[]
    ) {
      this.deps = Object.fromEntries(Object.keys(inject).map((name, i) => [name, deps[i]])) as Deps;
    }
  }
  // What `@Inject(token)` on each constructor parameter would record.
  Inject(ApiSupport)(NeutronController, undefined, 0);
  Object.values<InjectionToken>(inject).forEach((token, i) => Inject(token)(NeutronController, undefined, i + 1));
  return NeutronController;
}

type Verb = 'get' | 'create' | 'update' | 'delete';

export interface NeutronReaderOptions<Db, Deps> {
  readonly inject: InjectionTokens<Deps>;
  /** The resource's reader, or how to make it from the collaborators (when it needs one of them). */
  readonly reader: ResourceReader<unknown, Db> | ((deps: Deps) => ResourceReader<unknown, Db>);
  /**
   * Every call is for admins only (Neutron's policy for BGP): the service's error code prefix.
   * The rule named is `<get|create|update|delete>_<singular>`.
   */
  readonly adminOnly?: string;
  /** Awaited before every read, e.g. to let the projection catch up first. */
  beforeRead?(deps: Deps): Promise<void>;
}

/** `GET /<resources>` and `GET /<resources>/<id>`. */
export function neutronReader<Db, Deps extends object>(options: NeutronReaderOptions<Db, Deps>) {
  class NeutronReader extends neutronController<Db, Deps>(options.inject) {
    readonly reader: ResourceReader<unknown, Db> = typeof options.reader === 'function' ? options.reader(this.deps) : options.reader;

    /** The caller's metadata, once the policy has allowed the call. */
    allowed(req: HttpRequestLike, verb: Verb): CommandMetadata {
      const meta = this.api.meta(req);
      if (options.adminOnly !== undefined) requireAdmin(meta, options.adminOnly, `${verb}_${this.reader.spec.singular}`);
      return meta;
    }

    @Get()
    async list(@Req() req: HttpRequestLike) {
      this.allowed(req, 'get');
      await options.beforeRead?.(this.deps);
      return this.api.list(this.reader, req);
    }

    @Get(':id')
    async get(@Param('id') id: string, @Req() req: HttpRequestLike) {
      this.allowed(req, 'get');
      await options.beforeRead?.(this.deps);
      return this.api.get(this.reader, id, req);
    }
  }
  return NeutronReader;
}

/** What a write handler is given besides the id and the body. */
export interface WriteCall<Deps> {
  readonly deps: Deps;
  readonly meta: CommandMetadata;
  /** The `If-Match` revision, for the resources that honour it (read when asked: a bad header is refused then). */
  revision(): number | undefined;
}

export interface NeutronResourceOptions<Db, Deps> extends NeutronReaderOptions<Db, Deps> {
  /** One resource, or (a bulk create) several, answered in request order. */
  create(body: unknown, call: WriteCall<Deps>): Promise<Written | readonly Written[]>;
  update(id: string, body: unknown, call: WriteCall<Deps>): Promise<Written>;
  delete(id: string, call: WriteCall<Deps>): Promise<Written>;
  /** Only a resource the caller may see may be updated or deleted: a 404 first otherwise, as Neutron. */
  readonly writeVisibleOnly?: boolean;
}

/** Neutron's five calls on a resource: list, show, create, update, delete. */
export function neutronResource<Db, Deps extends object>(options: NeutronResourceOptions<Db, Deps>) {
  class NeutronResource extends neutronReader<Db, Deps>(options) {
    call(req: HttpRequestLike, verb: Verb): WriteCall<Deps> {
      return { deps: this.deps, meta: this.allowed(req, verb), revision: () => this.api.expectedRevision(req) };
    }

    @Post()
    async create(@Body() body: unknown, @Req() req: HttpRequestLike) {
      const call = this.call(req, 'create');
      const written = await options.create(body, call);
      return isWritten(written) ? this.api.show(this.reader, written, call.meta) : showAll(this.api, this.reader, written, call.meta);
    }

    @Put(':id')
    async update(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
      const call = this.call(req, 'update');
      if (options.writeVisibleOnly) await this.api.get(this.reader, id, req);
      return this.api.show(this.reader, await options.update(id, body, call), call.meta);
    }

    @Delete(':id')
    @HttpCode(204)
    async delete(@Param('id') id: string, @Req() req: HttpRequestLike) {
      const call = this.call(req, 'delete');
      if (options.writeVisibleOnly) await this.api.get(this.reader, id, req);
      await this.api.settled(await options.delete(id, call));
    }
  }
  return NeutronResource;
}

const isWritten = (w: Written | readonly Written[]): w is Written => !Array.isArray(w);

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
