import 'reflect-metadata';
import { HttpStatus, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, SELF_DECLARED_DEPS_METADATA, HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { ForbiddenError, NotFoundError } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { ApiSupport, ReadModel, booleanAttr, policyWhere, stringAttr, type HttpRequestLike, type ResourceReader, type Written } from './resource';
import { neutronController, neutronReader, neutronResource } from './resource-controller';

/** A projection of widgets held in memory, always caught up. */
const rows = new Map<string, { id: string; projectId: string }>();
const widgets: ResourceReader<{ id: string; projectId: string }, null> = {
  spec: { singular: 'widget', collection: 'widgets', attributes: { id: stringAttr('id'), project_id: stringAttr('projectId') } },
  path: 'widgets',
  notFound: (id) => ({ type: 'WidgetNotFound', message: `Widget ${id} could not be found.` }),
  defaultSort: [{ attribute: 'id', column: 'id', direction: 'asc' }],
  visibleTo: (meta) => (meta.isAdmin ? {} : { projectId: meta.projectId }),
  findMany: async (_db, { where }) => {
    const wanted = JSON.stringify(where);
    return [...rows.values()]
      .filter((r) => !wanted.includes('"id"') || wanted.includes(`"id":"${r.id}"`))
      .filter((r) => !wanted.includes('projectId') || wanted.includes(r.projectId));
  },
  toWire: (r) => ({ id: r.id, project_id: r.projectId }),
};

const api = new ApiSupport(new ReadModel(null, undefined), { waitFor: async () => undefined }, { defaultProjectId: 'p1', defaultRoles: ['member'] });
const req = (headers: Record<string, string> = {}): HttpRequestLike => ({ headers, query: {}, protocol: 'http' });
const admin = req({ 'x-roles': 'admin' });

class WidgetCommands {
  readonly calls: string[] = [];
  write(what: string, id: string): Written {
    this.calls.push(what);
    rows.set(id, { id, projectId: 'p1' });
    return { id, sequence: 1 };
  }
}
const WIDGET_COMMANDS = Symbol('WIDGET_COMMANDS');

const Widgets = neutronResource<null, { commands: WidgetCommands; zone: string }>({
  inject: { commands: WIDGET_COMMANDS, zone: 'ZONE' },
  reader: widgets,
  create: async (body, { deps }) => {
    const ids = (body as { ids: string[] }).ids;
    return ids.length === 1 ? deps.commands.write(`create in ${deps.zone}`, ids[0] ?? '') : ids.map((id) => deps.commands.write('bulk', id));
  },
  update: async (id, _body, { deps, revision }) => deps.commands.write(`update at ${revision()}`, id),
  delete: async (id, { deps }) => deps.commands.write('delete', id),
});

describe('neutronController', () => {
  it('injects ApiSupport and then each collaborator by its token, reached by name', () => {
    const Base = neutronController<null, { a: string; b: number }>({ a: 'A', b: 'B' });
    expect(Reflect.getMetadata(SELF_DECLARED_DEPS_METADATA, Base)).toEqual(
      expect.arrayContaining([
        { index: 0, param: ApiSupport },
        { index: 1, param: 'A' },
        { index: 2, param: 'B' },
      ]),
    );
    const controller = new Base(api, 'a value', 2);
    expect(controller.deps).toEqual({ a: 'a value', b: 2 });
    expect(controller.api).toBe(api);
  });
});

describe('neutronResource', () => {
  it("declares Neutron's five routes, and a reader only the two GETs", () => {
    const route = (cls: { prototype: object }, name: string) => {
      const handler = (cls.prototype as Record<string, unknown>)[name] as object;
      return [Reflect.getMetadata(METHOD_METADATA, handler) as number, Reflect.getMetadata(PATH_METADATA, handler) as string];
    };
    expect(['list', 'get', 'create', 'update', 'delete'].map((name) => route(Widgets, name))).toEqual([
      [RequestMethod.GET, '/'],
      [RequestMethod.GET, ':id'],
      [RequestMethod.POST, '/'],
      [RequestMethod.PUT, ':id'],
      [RequestMethod.DELETE, ':id'],
    ]);
    expect(Reflect.getMetadata(HTTP_CODE_METADATA, Widgets.prototype.delete)).toBe(HttpStatus.NO_CONTENT);
    const Reader = neutronReader<null, object>({ inject: {}, reader: widgets });
    expect('create' in Reader.prototype).toBe(false);
  });

  it('answers a create with the resource as a GET shows it, a bulk create with all of them in order', async () => {
    rows.clear();
    const commands = new WidgetCommands();
    const controller = new Widgets(api, commands, 'z1');
    expect(await controller.create({ ids: ['w1'] }, req())).toEqual({ widget: { id: 'w1', project_id: 'p1' } });
    expect(await controller.create({ ids: ['w3', 'w2'] }, req())).toEqual({
      widgets: [
        { id: 'w3', project_id: 'p1' },
        { id: 'w2', project_id: 'p1' },
      ],
    });
    expect(commands.calls).toEqual(['create in z1', 'bulk', 'bulk']);
  });

  it('reads If-Match only when the update asks for it, and refuses a bad one then', async () => {
    const commands = new WidgetCommands();
    const controller = new Widgets(api, commands, 'z1');
    await controller.update('w1', {}, req({ 'if-match': 'revision_number=4' }));
    expect(commands.calls).toEqual(['update at 4']);
    await expect(controller.update('w1', {}, req({ 'if-match': 'nonsense' }))).rejects.toThrow(/Invalid If-Match header/);
    await expect(controller.delete('w1', req({ 'if-match': 'nonsense' }))).resolves.toBeUndefined();
  });

  it('answers 404 for what the caller cannot see before anything is written', async () => {
    rows.clear();
    rows.set('theirs', { id: 'theirs', projectId: 'p2' });
    const Visible = neutronResource<null, { commands: WidgetCommands }>({
      inject: { commands: WIDGET_COMMANDS },
      reader: widgets,
      create: async () => ({ id: 'x', sequence: 1 }),
      update: async (id, _body, { deps }) => deps.commands.write('update', id),
      delete: async (id, { deps }) => deps.commands.write('delete', id),
    });
    const commands = new WidgetCommands();
    const controller = new Visible(api, commands);
    await expect(controller.update('theirs', {}, req())).rejects.toThrow(NotFoundError);
    await expect(controller.delete('theirs', req())).rejects.toThrow('Widget theirs could not be found.');
    expect(commands.calls).toEqual([]);
    await controller.delete('theirs', admin);
    expect(commands.calls).toEqual(['delete']);
  });

  it('with adminOnly, refuses every call of others with the rule it names', async () => {
    const Guarded = neutronResource<null, { commands: WidgetCommands }>({
      inject: { commands: WIDGET_COMMANDS },
      reader: () => widgets,
      adminOnly: 'WIDGETS',
      create: async () => ({ id: 'x', sequence: 1 }),
      update: async (id) => ({ id, sequence: 1 }),
      delete: async (id) => ({ id, sequence: 1 }),
    });
    const controller = new Guarded(api, new WidgetCommands());
    const refused = async (call: Promise<unknown>) =>
      call.then(
        () => 'allowed',
        (e: unknown) => (e instanceof ForbiddenError ? `${e.code}: ${e.message}` : e),
      );
    expect(await refused(controller.list(req()))).toBe('WIDGETS.PolicyNotAuthorized: rule:get_widget is disallowed by policy');
    expect(await refused(controller.create({}, req()))).toBe('WIDGETS.PolicyNotAuthorized: rule:create_widget is disallowed by policy');
    expect(await refused(controller.update('x', {}, req()))).toBe('WIDGETS.PolicyNotAuthorized: rule:update_widget is disallowed by policy');
    expect(await refused(controller.delete('x', req()))).toBe('WIDGETS.PolicyNotAuthorized: rule:delete_widget is disallowed by policy');
    expect(await refused(controller.list(admin))).toBe('allowed');
  });

  it('awaits beforeRead before every read', async () => {
    const order: string[] = [];
    const Reader = neutronReader<null, object>({
      inject: {},
      reader: widgets,
      beforeRead: async () => {
        order.push('caught up');
      },
    });
    await new Reader(api).list(req());
    expect(order).toEqual(['caught up']);
  });
});

/** Routers in memory, filtered the way Prisma would filter them by `policyWhere`. */
type RouterRow = { id: string; projectId: string; distributed: boolean };
const routerRows = new Map<string, RouterRow>();
const matches = (row: Record<string, unknown>, where: Record<string, unknown>): boolean =>
  Object.entries(where).every(([k, v]) => {
    if (k === 'AND') return (v as Record<string, unknown>[]).every((w) => matches(row, w));
    if (k === 'OR') return (v as Record<string, unknown>[]).some((w) => matches(row, w));
    if (v !== null && typeof v === 'object' && 'in' in v) return (v as { in: unknown[] }).in.includes(row[k]);
    return row[k] === v;
  });
const routers: ResourceReader<RouterRow, null> = {
  spec: {
    singular: 'router',
    collection: 'routers',
    attributes: { id: stringAttr('id'), project_id: stringAttr('projectId'), distributed: booleanAttr('distributed') },
  },
  path: 'routers',
  notFound: (id) => ({ type: 'RouterNotFound', message: `Router ${id} could not be found.` }),
  defaultSort: [{ attribute: 'id', column: 'id', direction: 'asc' }],
  visibleTo: (meta) => policyWhere('get_router', meta),
  findMany: async (_db, { where }) => [...routerRows.values()].filter((r) => matches(r, where)),
  toWire: (r) => ({ id: r.id, project_id: r.projectId, distributed: r.distributed }),
};
const Routers = neutronResource<null, { commands: WidgetCommands }>({
  inject: { commands: WIDGET_COMMANDS },
  reader: routers,
  create: async (_body, { deps, meta }) => {
    routerRows.set('r-new', { id: 'r-new', projectId: meta.projectId, distributed: true });
    return deps.commands.write('create', 'r-new');
  },
  update: async (id, _body, { deps }) => deps.commands.write('update', id),
  delete: async (id, { deps }) => deps.commands.write('delete', id),
});

describe("neutronResource under Neutron's policy", () => {
  const as = (project: string, roles: string) => req({ 'x-project-id': project, 'x-roles': roles });
  const outcome = (call: Promise<unknown>) =>
    call.then(
      () => 'ok',
      (e: unknown) => (e instanceof ForbiddenError || e instanceof NotFoundError ? `${e.kind}: ${e.message}` : String(e)),
    );
  const setUp = () => {
    routerRows.clear();
    routerRows.set('ra', { id: 'ra', projectId: 'pa', distributed: false });
    routerRows.set('rb', { id: 'rb', projectId: 'pb', distributed: true });
    const commands = new WidgetCommands();
    return { commands, controller: new Routers(api, commands) };
  };

  it('shows each caller what the get rule allows, without the attributes it may not read', async () => {
    const { controller } = setUp();
    expect(await controller.list(as('pa', 'reader'))).toEqual({ routers: [{ id: 'ra', project_id: 'pa' }] });
    expect(await controller.list(as('pa', 'observer'))).toEqual({ routers: [] });
    expect(await controller.list(as('pa', 'admin'))).toEqual({
      routers: [
        { id: 'ra', project_id: 'pa', distributed: false },
        { id: 'rb', project_id: 'pb', distributed: true },
      ],
    });
    expect(await outcome(controller.get('rb', as('pa', 'member')))).toBe('not_found: Router rb could not be found.');
  });

  it("refuses a reader's writes with 403, another project's with 404, and writes nothing", async () => {
    const { controller, commands } = setUp();
    const reader = as('pa', 'reader');
    expect(await outcome(controller.create({ router: { name: 'x' } }, reader))).toBe('forbidden: rule:create_router is disallowed by policy');
    expect(await outcome(controller.update('ra', { router: { name: 'x' } }, reader))).toBe('forbidden: rule:update_router is disallowed by policy');
    expect(await outcome(controller.delete('ra', reader))).toBe('forbidden: rule:delete_router is disallowed by policy');
    const stranger = as('pb', 'member');
    expect(await outcome(controller.update('ra', { router: { name: 'x' } }, stranger))).toBe('not_found: Router ra could not be found.');
    expect(await outcome(controller.delete('ra', stranger))).toBe('not_found: Router ra could not be found.');
    expect(commands.calls).toEqual([]);
  });

  it('refuses an attribute only admins may set, on a create and on an update', async () => {
    const { controller, commands } = setUp();
    const member = as('pa', 'member');
    expect(await outcome(controller.create({ router: { name: 'x', distributed: true } }, member))).toBe(
      'forbidden: rule:create_router:distributed is disallowed by policy',
    );
    expect(await outcome(controller.update('ra', { router: { ha: false } }, member))).toBe('forbidden: rule:update_router:ha is disallowed by policy');
    expect(commands.calls).toEqual([]);
    expect(await outcome(controller.update('ra', { router: { name: 'x' } }, member))).toBe('ok');
    expect(await outcome(controller.create({ router: { name: 'x', distributed: true } }, as('pa', 'admin')))).toBe('ok');
    expect(commands.calls).toEqual(['update', 'create']);
  });
});
