import { type ProjectionStore, type Snapshot, type SnapshotStore } from '@ncp/eventstore';
import { type Prisma } from '../generated/prisma/client';
import { type IpamPrisma, type IpamTx } from './prisma';

/** Checkpoints live in the projection's own schema, so they commit with its rows. */
export class PrismaProjectionStore implements ProjectionStore<IpamTx> {
  constructor(private readonly prisma: IpamPrisma) {}

  transaction<T>(fn: (tx: IpamTx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(fn, { timeout: 60_000, maxWait: 10_000 });
  }

  async readCheckpoint(name: string, tx?: IpamTx): Promise<number> {
    if (!tx) {
      const row = await this.prisma.projectionCheckpoint.findUnique({ where: { name } });
      return row ? Number(row.sequence) : 0;
    }
    await tx.$executeRaw`INSERT INTO projection_checkpoints (name, sequence, updated_at) VALUES (${name}, 0, now()) ON CONFLICT (name) DO NOTHING`;
    // The row lock serialises writers of one projection across processes.
    const rows = await tx.$queryRaw<{ sequence: bigint }[]>`SELECT sequence FROM projection_checkpoints WHERE name = ${name} FOR UPDATE`;
    return Number(rows[0]?.sequence ?? 0n);
  }

  async writeCheckpoint(tx: IpamTx, name: string, sequence: number): Promise<void> {
    await tx.projectionCheckpoint.update({ where: { name }, data: { sequence: BigInt(sequence) } });
  }
}

export class PrismaSnapshotStore implements SnapshotStore {
  constructor(private readonly prisma: IpamPrisma) {}

  async load(subject: string): Promise<Snapshot | null> {
    const row = await this.prisma.aggregateSnapshot.findUnique({ where: { subject } });
    return row ? { sequence: Number(row.sequence), version: row.version, state: row.state } : null;
  }

  async save(subject: string, snapshot: Snapshot): Promise<void> {
    const state = snapshot.state as Prisma.InputJsonValue;
    const data = { sequence: BigInt(snapshot.sequence), version: snapshot.version, state };
    // Never move a snapshot backwards (two writers racing).
    await this.prisma.$transaction(async (tx) => {
      const current = await tx.aggregateSnapshot.findUnique({ where: { subject }, select: { sequence: true } });
      if (current && current.sequence >= data.sequence) return;
      await tx.aggregateSnapshot.upsert({ where: { subject }, create: { subject, ...data }, update: data });
    });
  }
}
