import { describe, expect, it } from 'vitest';
import { type FloatingIpEvent } from '@ncp/contracts';
import { deciderSpec } from '@ncp/testing';
import { floatingIpDecider, type FloatingIpCommand } from './floating-ip.decider';

const F = 'f1';
const R = 'r1';
const admin = { isAdmin: true };
const otherProject = { projectId: 'project-b' };

describe('floating IP decider', () => {
  const spec = deciderSpec(floatingIpDecider);
  const create: FloatingIpCommand = {
    type: 'CreateFloatingIp',
    id: F,
    projectId: 'project-a',
    description: '',
    floatingNetworkId: 'ext',
    floatingPortId: 'fp',
    subnetId: 'es',
    floatingIpAddress: '203.0.113.9',
  };
  const created: FloatingIpEvent = {
    type: 'FloatingIpCreated',
    data: { projectId: 'project-a', description: '', floatingNetworkId: 'ext', floatingPortId: 'fp', subnetId: 'es', floatingIpAddress: '203.0.113.9' },
  };
  const associated: FloatingIpEvent = { type: 'FloatingIpAssociated', data: { portId: 'vm1', fixedIpAddress: '10.0.0.5', routerId: R } };
  const disassociated: FloatingIpEvent = { type: 'FloatingIpDisassociated', data: {} };
  const deleted: FloatingIpEvent = { type: 'FloatingIpDeleted', data: {} };
  const associate = { type: 'Associate' as const, id: F, portId: 'vm1', fixedIpAddress: '10.0.0.5', routerId: R };

  it('is created once: never again, not even after its deletion', () => {
    spec.given([]).when(create).then([created]);
    spec
      .given([created])
      .when(create)
      .thenThrows('L3.FloatingIPExists', /Floating IP f1 already exists/);
    spec.given([created, deleted]).when(create).thenThrows('L3.FloatingIPExists');
  });

  it('knows no floating IP that does not exist, was deleted, or belongs to another project (unless admin)', () => {
    const commands: FloatingIpCommand[] = [
      associate,
      { type: 'Disassociate', id: F },
      { type: 'UpdateDescription', id: F, description: 'd' },
      { type: 'SetStatus', id: F, status: 'ACTIVE', reason: 'r' },
      { type: 'DeleteFloatingIp', id: F },
    ];
    for (const command of commands) {
      spec
        .given([])
        .when(command)
        .thenThrows('L3.FloatingIPNotFound', /Floating IP f1 could not be found/);
      spec.given([created, deleted]).when(command).thenThrows('L3.FloatingIPNotFound');
      spec.given([created]).when(command, otherProject).thenThrows('L3.FloatingIPNotFound');
    }
    spec
      .given([created])
      .when({ type: 'UpdateDescription', id: F, description: 'd' }, { ...otherProject, ...admin })
      .then([{ type: 'FloatingIpUpdated', data: { changes: { description: 'd' } } }]);
  });

  it('associates with a port through the router that recorded it, once', () => {
    spec.given([created]).when(associate).then([associated]);
    spec.given([created, associated]).when(associate).then([]);
    // another fixed address, port or router is a new association
    spec
      .given([created, associated])
      .when({ ...associate, routerId: 'r2' })
      .then([{ type: 'FloatingIpAssociated', data: { portId: 'vm1', fixedIpAddress: '10.0.0.5', routerId: 'r2' } }]);
    spec
      .given([created, associated])
      .when({ ...associate, fixedIpAddress: '10.0.0.6' })
      .then([{ type: 'FloatingIpAssociated', data: { portId: 'vm1', fixedIpAddress: '10.0.0.6', routerId: R } }]);
  });

  it('moves to another router with the association', () => {
    const state = spec
      .given([created, associated, { type: 'FloatingIpAssociated', data: { portId: 'vm2', fixedIpAddress: '10.1.0.5', routerId: 'r2' } }])
      .state();
    expect([state.portId, state.routerId]).toEqual(['vm2', 'r2']);
  });

  it('disassociates only what is associated, and goes DOWN', () => {
    spec.given([created, associated]).when({ type: 'Disassociate', id: F }).then([disassociated]);
    spec.given([created]).when({ type: 'Disassociate', id: F }).then([]);
    spec.given([created, associated, disassociated]).when({ type: 'Disassociate', id: F }).then([]);
    const state = spec.given([created, associated, { type: 'FloatingIpStatusChanged', data: { status: 'ACTIVE', reason: 'up' } }, disassociated]).state();
    expect([state.portId, state.fixedIpAddress, state.routerId, state.status]).toEqual([null, null, null, 'DOWN']);
  });

  it('refuses an edit against a stale revision_number (created: 1, each change + 1)', () => {
    for (const command of [associate, { type: 'Disassociate' as const, id: F }, { type: 'UpdateDescription' as const, id: F, description: 'd' }]) {
      spec
        .given([created, associated])
        .when({ ...command, expectedRevision: 1 })
        .thenThrows('L3.RevisionNumberConstraintFailed', /revision_number=1 failed/);
    }
    spec
      .given([created, associated])
      .when({ ...associate, portId: 'vm2', expectedRevision: 2 })
      .then([{ type: 'FloatingIpAssociated', data: { portId: 'vm2', fixedIpAddress: '10.0.0.5', routerId: R } }]);
    spec.given([created, associated]).when({ type: 'Disassociate', id: F, expectedRevision: 2 }).then([disassociated]);
    spec
      .given([created])
      .when({ type: 'UpdateDescription', id: F, description: 'd', expectedRevision: 1 })
      .then([{ type: 'FloatingIpUpdated', data: { changes: { description: 'd' } } }]);
    // a status change is no edit: the revision stays
    expect(spec.given([created, { type: 'FloatingIpStatusChanged', data: { status: 'ACTIVE', reason: 'up' } }]).state().revision).toBe(1);
  });

  it('records a status only when it changes', () => {
    spec.given([created]).when({ type: 'SetStatus', id: F, status: 'DOWN', reason: 'initial' }).then([]);
    spec
      .given([created])
      .when({ type: 'SetStatus', id: F, status: 'ACTIVE', reason: 'router up' })
      .then([{ type: 'FloatingIpStatusChanged', data: { status: 'ACTIVE', reason: 'router up' } }]);
  });

  it('lets go of a deleted port, and only of that port', () => {
    spec.given([created, associated]).when({ type: 'ForgetPort', id: F, portId: 'vm1' }).then([disassociated]);
    spec.given([created, associated]).when({ type: 'ForgetPort', id: F, portId: 'vm2' }).then([]);
    spec.given([created, associated, disassociated]).when({ type: 'ForgetPort', id: F, portId: 'vm1' }).then([]);
    spec.given([]).when({ type: 'ForgetPort', id: F, portId: 'vm1' }).then([]);
    // a reaction to a fact, whoever's floating IP it is
    spec.given([created, associated]).when({ type: 'ForgetPort', id: F, portId: 'vm1' }, otherProject).then([disassociated]);
  });

  it("goes with its external network only while no port is associated (Neutron's network delete)", () => {
    spec.given([created]).when({ type: 'DeleteFloatingIp', id: F, onlyIfUnassociated: true }, admin).then([deleted]);
    spec.given([created, associated]).when({ type: 'DeleteFloatingIp', id: F, onlyIfUnassociated: true }, admin).then([]);
    spec.given([created, associated, disassociated]).when({ type: 'DeleteFloatingIp', id: F, onlyIfUnassociated: true }, admin).then([deleted]);
    // a user's own delete takes it associated or not
    spec.given([created, associated]).when({ type: 'DeleteFloatingIp', id: F }).then([deleted]);
  });
});
