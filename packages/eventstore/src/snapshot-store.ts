/** A saved aggregate state at a stream sequence; only ever an optimisation. */
export interface Snapshot {
  readonly sequence: number;
  readonly version: number;
  readonly state: unknown;
}

export interface SnapshotStore {
  load(subject: string): Promise<Snapshot | null>;
  save(subject: string, snapshot: Snapshot): Promise<void>;
}

export class InMemorySnapshotStore implements SnapshotStore {
  readonly saved = new Map<string, Snapshot>();
  async load(subject: string): Promise<Snapshot | null> {
    return this.saved.get(subject) ?? null;
  }
  async save(subject: string, snapshot: Snapshot): Promise<void> {
    this.saved.set(subject, structuredClone(snapshot));
  }
}
