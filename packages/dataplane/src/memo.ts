/*
 * What the drivers make once and keep: their intents are frozen objects, handed out again from
 * pass to pass while they do not change, so what is derived from one is made once.
 */

/** `make` of an object, made once per object while it lives. The object must not change. */
export function perObject<K extends object, V>(make: (key: K) => V): (key: K) => V {
  const made = new WeakMap<K, V>();
  return (key) => {
    if (made.has(key)) return made.get(key) as V;
    const value = make(key);
    made.set(key, value);
    return value;
  };
}

/**
 * perObject for frozen objects, which cannot change; any other is made again on every call, as
 * nothing says it is the same as when it was last seen.
 */
export function perFrozenObject<K extends object, V>(make: (key: K) => V): (key: K) => V {
  const memo = perObject(make);
  return (key) => (Object.isFrozen(key) ? memo(key) : make(key));
}

/**
 * Values one build asked for, kept for the next: what a build did not ask for is forgotten
 * after it, unless it asked for nothing at all (then the build before it still counts).
 */
export class KeptFromLastBuild<K, V> {
  private last = new Map<K, V>();
  private now = new Map<K, V>();

  /** Starts a build. */
  begin(): void {
    if (this.now.size === 0) return;
    this.last = this.now;
    this.now = new Map();
  }

  get(key: K, make: (key: K) => V): V {
    const value = this.now.get(key) ?? this.last.get(key) ?? make(key);
    this.now.set(key, value);
    return value;
  }
}
