/** While a resync's slices are left, every this many change passes in a row one takes a slice. */
export const SLICE_EVERY_CHANGE_PASSES = 4;

/**
 * The namespaces a resync has yet to read again, read a slice per pass, in the order they were
 * queued: a driver that read them all in the resync's pass held every change that came
 * meanwhile (a bind, a floating IP) for as long as that took, at thousands of namespaces for
 * seconds. A periodic pass takes a slice; a change pass takes one only when
 * SLICE_EVERY_CHANGE_PASSES came in a row without one, as a stream of changes keeps the
 * periodic passes from coming.
 */
export class ResyncSlices {
  private readonly waiting = new Set<string>();
  private changePassesWithoutSlice = 0;

  constructor(private readonly size: number) {}

  /** Whether some are left: the driver's next passes read them. */
  get left(): boolean {
    return this.waiting.size > 0;
  }

  /** Queues names behind those still waiting; one still waiting keeps its place (each is read again however often resyncs come). */
  add(names: Iterable<string>): void {
    for (const name of names) this.waiting.add(name);
  }

  /** Takes a name out (it is read anyway, or no longer held). */
  delete(name: string): void {
    this.waiting.delete(name);
  }

  clear(): void {
    this.waiting.clear();
  }

  /** Keeps only the names the driver still holds a read-back of. */
  retain(held: (name: string) => boolean): void {
    for (const name of this.waiting) if (!held(name)) this.waiting.delete(name);
  }

  /** The names this pass reads again (out of the queue): see the class. */
  take(periodic: boolean): string[] {
    if (this.waiting.size === 0) return [];
    if (!periodic && ++this.changePassesWithoutSlice < SLICE_EVERY_CHANGE_PASSES) return [];
    this.changePassesWithoutSlice = 0;
    const slice = [...this.waiting].slice(0, this.size);
    for (const name of slice) this.waiting.delete(name);
    return slice;
  }
}
