import { type ProjectionStore, type Snapshot, type SnapshotStore } from '@ncp/eventstore';
import { type IpamPrisma, type IpamTx } from './prisma';

/**
 * Checkpoints live in the projection's own schema, so they commit with its rows. Plain
 * SQL here: these run once per batch on the hot path, one statement each.
 */
export class PrismaProjectionStore implements ProjectionStore<IpamTx> {
  constructor(private readonly prisma: IpamPrisma) {}

  transaction<T>(fn: (tx: IpamTx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(fn, { timeout: 60_000, maxWait: 10_000 });
  }

  async readCheckpoint(name: string, tx?: IpamTx): Promise<number> {
    if (!tx) {
      // Outside a batch: make sure the row exists, so batches only ever lock it.
      await this.prisma.$executeRaw`INSERT INTO projection_checkpoints (name, sequence, updated_at) VALUES (${name}, 0, now()) ON CONFLICT (name) DO NOTHING`;
      const rows = await this.prisma.$queryRaw<{ sequence: bigint }[]>`SELECT sequence FROM projection_checkpoints WHERE name = ${name}`;
      return Number(rows[0]?.sequence ?? 0n);
    }
    // The row lock serialises writers of one projection across processes.
    const rows = await tx.$queryRaw<{ sequence: bigint }[]>`SELECT sequence FROM projection_checkpoints WHERE name = ${name} FOR UPDATE`;
    const row = rows[0];
    if (!row) throw new Error(`checkpoint ${name} missing: readCheckpoint(name) must run before the first batch`);
    return Number(row.sequence);
  }

  async writeCheckpoint(tx: IpamTx, name: string, sequence: number): Promise<void> {
    await tx.$executeRaw`UPDATE projection_checkpoints SET sequence = ${BigInt(sequence)}, updated_at = now() WHERE name = ${name}`;
  }
}

export class PrismaSnapshotStore implements SnapshotStore {
  constructor(private readonly prisma: IpamPrisma) {}

  async load(subject: string): Promise<Snapshot | null> {
    const rows = await this.prisma.$queryRaw<{ sequence: bigint; version: number; state: string }[]>`
      SELECT sequence, version, state::text AS state FROM aggregate_snapshots WHERE subject = ${subject}`;
    const row = rows[0];
    return row ? { sequence: Number(row.sequence), version: row.version, state: JSON.parse(row.state) as unknown } : null;
  }

  /**
   * The state goes over as one JSON string: handing Prisma the object would make it walk
   * every port of a large network on the event loop.
   */
  async save(subject: string, snapshot: Snapshot): Promise<void> {
    const state = JSON.stringify(snapshot.state);
    // Never moves a snapshot backwards (two writers racing).
    await this.prisma.$executeRaw`
      INSERT INTO aggregate_snapshots (subject, sequence, version, state, saved_at)
      VALUES (${subject}, ${BigInt(snapshot.sequence)}, ${snapshot.version}, ${state}::jsonb, now())
      ON CONFLICT (subject) DO UPDATE SET sequence = EXCLUDED.sequence, version = EXCLUDED.version, state = EXCLUDED.state, saved_at = now()
      WHERE aggregate_snapshots.sequence < EXCLUDED.sequence`;
  }
}
