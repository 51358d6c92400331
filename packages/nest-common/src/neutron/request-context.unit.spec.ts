import { describe, expect, it } from 'vitest';
import { ValidationError } from '@ncp/contracts';
import { commandMetadata } from './request-context';

const defaults = { defaultProjectId: 'p-default', defaultRoles: ['admin', 'member'] };

describe('identity headers', () => {
  it('acts as the default project with the default roles when no identity header is sent', () => {
    expect(commandMetadata({}, defaults)).toMatchObject({ projectId: 'p-default', isAdmin: true, actor: 'project:p-default' });
  });

  it('acts as the project, user and roles sent', () => {
    const meta = commandMetadata({ 'x-project-id': 'p1', 'x-roles': 'Member, reader', 'x-user-id': 'u-1' }, defaults);
    expect(meta).toMatchObject({ projectId: 'p1', isAdmin: false, actor: 'u-1' });
    expect(meta.roles).toEqual(['member', 'reader']);
    expect(commandMetadata({ 'x-tenant-id': 'p2', 'x-user-name': 'Jane Doe' }, defaults)).toMatchObject({ projectId: 'p2', actor: 'Jane Doe' });
  });

  it("expands Keystone's implied roles: admin is a member and a reader, a member a reader", () => {
    expect(commandMetadata({ 'x-roles': 'admin' }, defaults).roles).toEqual(['admin', 'member', 'reader']);
    expect(commandMetadata({ 'x-roles': 'member' }, defaults)).toMatchObject({ isAdmin: false, roles: ['member', 'reader'] });
    expect(commandMetadata({ 'x-roles': 'reader' }, defaults)).toMatchObject({ isAdmin: false, roles: ['reader'] });
    expect(commandMetadata({ 'x-roles': 'observer' }, defaults).roles).toEqual(['observer']);
  });

  it.each([
    ['an empty X-Project-Id', { 'x-project-id': '' }, /Invalid X-Project-Id header ''/],
    ['an empty X-Tenant-Id', { 'x-tenant-id': '' }, /Invalid X-Tenant-Id header/],
    ['a project id with a dot', { 'x-project-id': 'a.b' }, /X-Project-Id/],
    ['a project id with a space', { 'x-project-id': 'a b' }, /X-Project-Id/],
    ['a project id of 256 characters', { 'x-project-id': 'p'.repeat(256) }, /X-Project-Id/],
    ['a project id with a NUL', { 'x-project-id': 'p\u0000' }, /X-Project-Id/],
    ['an empty X-User-Id', { 'x-user-id': '' }, /X-User-Id/],
    ['a user id with a wildcard', { 'x-user-id': 'u*' }, /X-User-Id/],
    ['an empty X-Roles', { 'x-roles': '' }, /X-Roles/],
    ['an empty role among others', { 'x-roles': 'member,,admin' }, /X-Roles/],
    ['a role with a space inside', { 'x-roles': 'mem ber' }, /X-Roles/],
    ['an empty X-User-Name', { 'x-user-name': '' }, /X-User-Name/],
    ['a user name with a control character', { 'x-user-name': 'a\u0001' }, /X-User-Name/],
  ])('refuses %s with a 400, never acting as an empty project', (_what, headers, message) => {
    expect(() => commandMetadata(headers, defaults)).toThrow(ValidationError);
    expect(() => commandMetadata(headers, defaults)).toThrow(message);
  });
});
