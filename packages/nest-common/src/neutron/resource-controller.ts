import { Body, Delete, Get, HttpCode, Inject, Param, Post, Put, Req, type InjectionToken } from '@nestjs/common';
import {
  CREATE_DEFAULTS,
  attributesSet,
  enforce,
  enforceAttributes,
  isPolicyAction,
  policyNotAuthorized,
  type CommandMetadata,
  type PolicyAction,
  type PolicyTarget,
} from '@ncp/contracts';
import { ApiSupport, targetOf, type HttpRequestLike, type ResourceReader, type Written } from './resource';

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

/**
 * Neutron's policy for a call (`rule:<action> is disallowed by policy`, 403) by its rule name;
 * an action without a rule of its own is for admins only. `service` prefixes the error code.
 */
export function enforcePolicy(meta: CommandMetadata, service: string, action: string, target: PolicyTarget = {}): void {
  if (isPolicyAction(action)) enforce(service, action, meta, target);
  else if (!meta.isAdmin) throw policyNotAuthorized(service, action);
}

/** An admin-only call (`enforcePolicy` of a rule that only admins pass). */
export const requireAdmin = enforcePolicy;

/** The error code prefix of the shared controller's refusals (the wire type is `PolicyNotAuthorized`). */
const POLICY_SERVICE = 'API';

/**
 * The target of a create, for the checks made before the service knows more: the caller's own
 * project, network and security group. The rules are monotone in these, so what fails here
 * fails on every real target (a reader's create, an admin-only attribute); the service then
 * checks the real one (the network's owner, whether it is shared).
 */
const ownTarget = (meta: CommandMetadata): PolicyTarget => ({
  projectId: meta.projectId,
  networkProjectId: meta.projectId,
  securityGroupProjectId: meta.projectId,
});

/** The items of a create body: `{"<singular>": {...}}` or, in bulk, `{"<collection>": [...]}`. */
function bodyItems(body: unknown, key: string): Record<string, unknown>[] {
  const value = body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[key] : undefined;
  const items = Array.isArray(value) ? value : [value];
  return items.filter((i): i is Record<string, unknown> => i !== null && typeof i === 'object' && !Array.isArray(i));
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
   * Every call is refused outright (403) unless the caller passes its rule (admins only, as
   * Neutron's BGP policy): the service's error code prefix. The rule named is
   * `<get|create|update|delete>_<singular>`. Without it, a read shows only the rows the get rule
   * allows and a refused write is a 404 when the caller cannot see the resource.
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
      if (options.adminOnly !== undefined) enforcePolicy(meta, options.adminOnly, `${verb}_${this.reader.spec.singular}`);
      return meta;
    }

    /** The rule of `<verb>_<singular>`, when Neutron has one. */
    rule(verb: Verb): PolicyAction | undefined {
      const action = `${verb}_${this.reader.spec.singular}`;
      return isPolicyAction(action) ? action : undefined;
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
}

/** Neutron's five calls on a resource: list, show, create, update, delete. */
export function neutronResource<Db, Deps extends object>(options: NeutronResourceOptions<Db, Deps>) {
  class NeutronResource extends neutronReader<Db, Deps>(options) {
    call(req: HttpRequestLike, verb: Verb): WriteCall<Deps> {
      return { deps: this.deps, meta: this.allowed(req, verb), revision: () => this.api.expectedRevision(req) };
    }

    /**
     * Neutron's order for a change: a resource the caller may not see is not found (404, never
     * a 403 that tells it exists); one it sees but may not change, or an attribute it may not
     * set, is a 403 naming the rule.
     */
    async mayChange(id: string, verb: 'update' | 'delete', body: unknown, call: WriteCall<Deps>): Promise<void> {
      const row = await this.api.readModel.row(this.reader, id, call.meta);
      const action = this.rule(verb);
      if (action === undefined) return;
      const changes = verb === 'update' ? bodyItems(body, this.reader.spec.singular) : [];
      // Neutron's target of an update is the resource as the update would leave it.
      const deviceOwner = changes.find((c) => typeof c.device_owner === 'string')?.device_owner as string | undefined;
      const target = { ...targetOf(this.reader, row, call.meta), ...(deviceOwner !== undefined ? { deviceOwner } : {}) };
      enforceAttributes(
        POLICY_SERVICE,
        action,
        call.meta,
        target,
        changes.flatMap((c) => attributesSet(c)),
      );
    }

    @Post()
    async create(@Body() body: unknown, @Req() req: HttpRequestLike) {
      const call = this.call(req, 'create');
      const action = this.rule('create');
      if (action !== undefined) {
        const items = [...bodyItems(body, this.reader.spec.singular), ...bodyItems(body, this.reader.spec.collection)];
        const defaults = (CREATE_DEFAULTS as Record<string, Record<string, unknown>>)[this.reader.spec.singular];
        const attributes = items.flatMap((item) => attributesSet(item, defaults));
        enforceAttributes(POLICY_SERVICE, action, call.meta, ownTarget(call.meta), attributes);
      }
      const written = await options.create(body, call);
      return isWritten(written) ? this.api.show(this.reader, written, call.meta) : showAll(this.api, this.reader, written, call.meta);
    }

    @Put(':id')
    async update(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
      const call = this.call(req, 'update');
      await this.mayChange(id, 'update', body, call);
      return this.api.show(this.reader, await options.update(id, body, call), call.meta);
    }

    @Delete(':id')
    @HttpCode(204)
    async delete(@Param('id') id: string, @Req() req: HttpRequestLike) {
      const call = this.call(req, 'delete');
      await this.mayChange(id, 'delete', undefined, call);
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
