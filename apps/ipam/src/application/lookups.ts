import { isIdToken } from '@ncp/contracts';
import { notFound } from '../domain/rules';
import { type IpamPrisma } from '../infrastructure/prisma';

/**
 * Which aggregate a subnet or port belongs to. Read from the projection: the link never
 * changes after creation, and every write waits for the projection before returning.
 */
export class AggregateLookups {
  constructor(private readonly prisma: IpamPrisma) {}

  async networkOfSubnet(subnetId: string): Promise<string> {
    // an id outside the id alphabet names nothing (and may be text Postgres refuses)
    const row = isIdToken(subnetId) && (await this.prisma.subnet.findUnique({ where: { id: subnetId }, select: { networkId: true } }));
    if (!row) throw notFound('SubnetNotFound', `Subnet ${subnetId} could not be found.`);
    return row.networkId;
  }

  async networkOfPort(portId: string): Promise<string> {
    const row = isIdToken(portId) && (await this.prisma.port.findUnique({ where: { id: portId }, select: { networkId: true } }));
    if (!row) throw notFound('PortNotFound', `Port ${portId} could not be found.`);
    return row.networkId;
  }
}
