import 'reflect-metadata';
import { HttpStatus, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, SELF_DECLARED_DEPS_METADATA, HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { ForbiddenError, NotFoundError } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { ApiSupport, ReadModel, stringAttr, type HttpRequestLike, type ResourceReader, type Written } from './resource';
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

const api = new ApiSupport(new ReadModel(null, undefined), { waitFor: async () => undefined }, { defaultProjectId: 'p1', defaultRoles: [] });
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

  it('with writeVisibleOnly, answers 404 for what the caller cannot see before anything is written', async () => {
    rows.clear();
    rows.set('theirs', { id: 'theirs', projectId: 'p2' });
    const Visible = neutronResource<null, { commands: WidgetCommands }>({
      inject: { commands: WIDGET_COMMANDS },
      reader: widgets,
      writeVisibleOnly: true,
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
