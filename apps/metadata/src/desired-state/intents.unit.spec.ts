import { Naming, type RecordedEvent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { proxiesMayChange } from './intents';

describe('whether a batch may change a metadata proxy', () => {
  const naming = new Naming({ prefix: 't1' });
  const event = (context: string, aggregate: string, type: string, data: object = {}) =>
    ({ subject: naming.eventSubject(context, aggregate, 'x1'), sequence: 1, envelope: { type, data } }) as unknown as RecordedEvent;
  const port = (type: string, data: object) => event('ipam', 'network', type, data);

  it('not for floating IPs, statuses, and ports without a device or changed in what no proxy shows', () => {
    expect(
      proxiesMayChange(naming, [
        event('l3', 'floatingip', 'FloatingIpAssociated'),
        port('PortCreated', { portId: 'p1', deviceId: '' }),
        port('PortUpdated', { portId: 'p1', changes: { bindingHostId: 'h1', name: 'web' } }),
        port('PortStatusChanged', { portId: 'p1', status: 'ACTIVE' }),
      ]),
    ).toBe(false);
    expect(proxiesMayChange(naming, [])).toBe(false);
  });

  it("for a port of a device (an instance's, maybe), its device, addresses or MAC changed, a port deleted, and anything else", () => {
    expect(proxiesMayChange(naming, [port('PortCreated', { portId: 'p1', deviceId: 'vm1' })])).toBe(true);
    expect(proxiesMayChange(naming, [port('PortUpdated', { portId: 'p1', changes: { deviceId: 'vm1' } })])).toBe(true);
    expect(proxiesMayChange(naming, [port('PortUpdated', { portId: 'p1', changes: { fixedIps: [] } })])).toBe(true);
    expect(proxiesMayChange(naming, [port('PortUpdated', { portId: 'p1', changes: { macAddress: 'fa:16:3e:00:00:01' } })])).toBe(true);
    expect(proxiesMayChange(naming, [port('PortDeleted', { portId: 'p1' })])).toBe(true);
    expect(proxiesMayChange(naming, [event('l3', 'router', 'RouterInterfaceAdded')])).toBe(true);
    expect(proxiesMayChange(naming, [event('meta', 'instance', 'InstanceRegistered')])).toBe(true);
    expect(proxiesMayChange(naming, [event('dhcp', 'server', 'DhcpServerScheduled')])).toBe(true);
  });
});
