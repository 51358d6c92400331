import { type CommandMetadata, type NetworkEvent, type RecordedEvent } from '@ncp/contracts';
import { type Reaction } from '@ncp/eventstore';
import { type FloatingIpCommands } from './floating-ip.commands';

/**
 * IPAM deleted a port (or a network with its ports): the floating IPs on it are disassociated
 * and their fixed address claims released, as Neutron does on port delete, so that the next
 * port given that fixed address (maybe another project's) is not reached through them.
 * Each step is decided by its aggregate on its current state, so a redelivery after a crash
 * does nothing twice.
 */
export class DisassociateFloatingIpsWhenPortDeleted implements Reaction {
  readonly name = 'l3_fip_port_deleted';

  constructor(
    /** IPAM's network aggregates, which own the ports */
    readonly filter: string,
    private readonly floatingIps: Pick<FloatingIpCommands, 'forgetPort'>,
  ) {}

  async handle(recorded: RecordedEvent): Promise<void> {
    const e = recorded.envelope;
    const event = { type: e.type, data: e.data } as NetworkEvent;
    const portIds = event.type === 'PortDeleted' ? [event.data.portId] : event.type === 'NetworkDeleted' ? event.data.portIds : [];
    const meta: CommandMetadata = {
      now: e.occurredAt,
      correlationId: e.correlationId,
      causationId: e.id,
      projectId: '',
      actor: 'l3:port-deleted',
      isAdmin: true,
    };
    for (const portId of portIds) await this.floatingIps.forgetPort(portId, meta);
  }
}
