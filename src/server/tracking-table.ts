// The tracking table's key index (Redis's TrackingTable rax): key -> the ids of the clients
// that may have it cached, with a uniformly random key in O(1) for tracking-table-max-keys
// (trackingLimitUsedSlots drops keys found by raxRandomWalk, not the oldest ones).
// Keys sit in a dense array too; a deleted key's slot is filled by the last one.
export class TrackingTable {
  private readonly index = new Map<string, { ids: Set<number>; slot: number }>();
  private readonly keys: string[] = [];

  get size(): number { return this.keys.length; }

  get(key: string): Set<number> | undefined { return this.index.get(key)?.ids; }

  /** The ids for key, created empty when absent. */
  getOrAdd(key: string): Set<number> {
    let e = this.index.get(key);
    if (!e) {
      e = { ids: new Set(), slot: this.keys.length };
      this.index.set(key, e);
      this.keys.push(key);
    }
    return e.ids;
  }

  delete(key: string): boolean {
    const e = this.index.get(key);
    if (!e) return false;
    this.index.delete(key);
    const last = this.keys.pop()!;
    if (last !== key) {
      this.keys[e.slot] = last;
      this.index.get(last)!.slot = e.slot;
    }
    return true;
  }

  clear(): void {
    this.index.clear();
    this.keys.length = 0;
  }

  /** A key picked uniformly at random, or undefined when empty. */
  randomKey(rand: () => number = Math.random): string | undefined {
    return this.keys.length ? this.keys[Math.floor(rand() * this.keys.length)] : undefined;
  }
}
