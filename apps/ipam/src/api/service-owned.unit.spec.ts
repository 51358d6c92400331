import { type CommandMetadata } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { serviceOwnedBody } from './service-owned';

const meta = (isAdmin: boolean): CommandMetadata => ({
  now: new Date(0).toISOString(),
  correlationId: 'c',
  causationId: null,
  projectId: 'p1',
  actor: 'l3',
  isAdmin,
});

describe('a service-owned create body', () => {
  it('takes out an empty project id for a caller acting as admin', () => {
    expect(serviceOwnedBody({ name: 'HA network tenant p1', project_id: '' }, meta(true))).toEqual({ body: { name: 'HA network tenant p1' }, noProject: true });
    expect(serviceOwnedBody({ name: 'x', tenant_id: '', project_id: '' }, meta(true))).toEqual({ body: { name: 'x' }, noProject: true });
  });

  it('leaves any other body to the API parser', () => {
    const body = { name: 'x', project_id: 'p2' };
    expect(serviceOwnedBody(body, meta(false))).toEqual({ body, noProject: false });
  });

  it('refuses no project to a caller that is not admin, and disagreeing ids', () => {
    expect(() => serviceOwnedBody({ project_id: '' }, meta(false))).toThrow(/for a service/);
    expect(() => serviceOwnedBody({ project_id: '', tenant_id: 'p2' }, meta(true))).toThrow(/do not match/);
    expect(() => serviceOwnedBody([], meta(true))).toThrow(/object/);
  });
});
