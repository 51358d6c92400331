/** What a callback has been given so far, and a wait until it is given something in particular. */
export class Arrivals<T> {
  readonly items: T[] = [];
  private waiters: { test: (item: T) => boolean; resolve: () => void }[] = [];

  /** The callback: records the item and wakes whoever waits for one like it. */
  readonly add = (item: T): void => {
    this.items.push(item);
    for (const w of this.waiters.filter((x) => x.test(item))) w.resolve();
    this.waiters = this.waiters.filter((x) => !x.test(item));
  };

  /** Resolves once an item passing `test` has arrived (at once if one has). */
  until(test: (item: T) => boolean): Promise<void> {
    if (this.items.some(test)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }
}
