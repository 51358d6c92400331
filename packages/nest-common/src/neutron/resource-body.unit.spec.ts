import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '@ncp/contracts';
import { neutronString } from './body';
import { defined, ownerAttributes, parseUpdateBody, projectOf } from './resource-body';

const meta = (projectId: string, isAdmin: boolean) => ({ now: '', correlationId: 'c', causationId: null, projectId, actor: 'a', isAdmin });

describe('projectOf', () => {
  it("is the caller's project unless another is named", () => {
    expect(projectOf({}, meta('p1', false))).toBe('p1');
    expect(projectOf({ tenant_id: 'p1' }, meta('p1', false))).toBe('p1');
    expect(projectOf({ project_id: 'p2', tenant_id: 'p3' }, meta('p1', true))).toBe('p2');
    expect(projectOf({ tenant_id: 'p3' }, meta('p1', true))).toBe('p3');
  });

  it('refuses another project to all but admins', () => {
    expect(() => projectOf({ project_id: 'p2' }, meta('p1', false))).toThrow(ValidationError);
    expect(() => projectOf({ tenant_id: 'p2' }, meta('p1', false))).toThrow(/requires admin privileges/);
  });
});

describe('update bodies', () => {
  const schema = z.strictObject({ ...ownerAttributes(), name: neutronString().optional(), size: z.number().optional() });

  it('takes what may be updated, and says which attribute may not', () => {
    expect(parseUpdateBody({ widget: { name: 'w' } }, 'widget', schema, ['name'])).toEqual({ name: 'w' });
    expect(() => parseUpdateBody({ widget: { size: 3 } }, 'widget', schema, ['name'])).toThrow('Cannot update read-only attribute size');
    // validation comes first
    expect(() => parseUpdateBody({ widget: { size: 'x' } }, 'widget', schema, ['name'])).toThrow(/Invalid input for size/);
    expect(() => parseUpdateBody({ gadget: {} }, 'widget', schema, ['name'])).toThrow("Resource body required with key 'widget'");
  });

  it('keeps the attributes that are set, nulls included', () => {
    expect(defined({ name: 'n', size: undefined, password: null })).toEqual({ name: 'n', password: null });
  });
});
