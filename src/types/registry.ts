// HandleRegistry: handle -> value object for every host-held value of the server.
//
// One registry serves all shards: a key's entry (with its handle) moves between shards
// when the router gathers a multi-key command (src/server/router.ts), so a handle must
// mean the same value whichever kernel holds it. Handles are positive i32 (0 = none in the
// kernel entry); the kernel reports a handle freed when its key is deleted, expires, is
// overwritten or flushed, and Shard.afterCall hands those to free().
import type { HostValue } from "./value.js";
import { hostValueBytes } from "./value-size.js";

const MAX_HANDLE = 0x7fffffff;

/**
 * A background snapshot's view of the registry (src/persistence/bgsave.ts): it sees every
 * value before a command can change or drop it, and every value created after it started.
 */
export interface RegistryWatcher {
  before(handle: number, v: HostValue): void;
  added(handle: number): void;
}

export class HandleRegistry {
  private readonly values = new Map<number, HostValue>();
  private next = 1;
  /**
   * Memory accounting (INFO used_memory, maxmemory): each value's bytes when last measured,
   * their sum, and the handles written since (re-measured by settle()), as the kernel's
   * assembly/keyspace/memory.ts does for its entries.
   */
  private readonly sizes = new Map<number, number>();
  private readonly pending = new Set<number>();
  private total = 0;
  watcher: RegistryWatcher | null = null;
  /** Set while free() must release each dropped value itself (src/server/active-expire.ts). */
  onRelease: ((v: HostValue) => void) | null = null;

  /** Registers a value and returns its new handle. */
  add(v: HostValue): number {
    let h = this.next;
    // Wrap after 2^31 handles, skipping any still alive.
    while (this.values.has(h)) h = h >= MAX_HANDLE ? 1 : h + 1;
    this.next = h >= MAX_HANDLE ? 1 : h + 1;
    this.values.set(h, v);
    this.pending.add(h);
    this.watcher?.added(h);
    return h;
  }

  /** The value under h may have changed size (a write command looked it up). */
  noteWrite(h: number): void {
    // A pipeline of writes to one key notes one handle again and again: one Set.add for it.
    if (h === this.lastNoted) return;
    this.lastNoted = h;
    this.pending.add(h);
  }

  // The last handle noted (in pending until bytes() or free() takes it out), and the last
  // value got: a pipeline on one key finds both without a hash lookup per command.
  private lastNoted = 0;
  private lastH = 0;
  private lastV: HostValue | undefined = undefined;

  /** Bytes held by all live values, every pending one re-measured. */
  bytes(): number {
    if (this.pending.size) {
      for (const h of this.pending) {
        const v = this.values.get(h);
        if (!v) continue;
        const b = hostValueBytes(v);
        this.total += b - (this.sizes.get(h) ?? 0);
        this.sizes.set(h, b);
      }
      this.pending.clear();
      this.lastNoted = 0;
    }
    return this.total;
  }

  /** The value, for a command that may change it. */
  get(h: number): HostValue | undefined {
    let v: HostValue | undefined;
    if (h === this.lastH) {
      v = this.lastV;
    } else {
      v = this.values.get(h);
      if (v !== undefined) { this.lastH = h; this.lastV = v; }
    }
    if (v && this.watcher) this.watcher.before(h, v);
    return v;
  }

  /** The value, for a reader that will not change it and is not a command (a snapshot). */
  peek(h: number): HostValue | undefined { return this.values.get(h); }

  free(handles: number[]): void {
    for (const h of handles) {
      const v = this.values.get(h);
      if (v && this.watcher) this.watcher.before(h, v);
      this.values.delete(h);
      if (h === this.lastH) { this.lastH = 0; this.lastV = undefined; }
      if (h === this.lastNoted) this.lastNoted = 0;
      if (v && this.onRelease) this.onRelease(v);
      this.pending.delete(h);
      const b = this.sizes.get(h);
      if (b !== undefined) {
        this.total -= b;
        this.sizes.delete(h);
      }
    }
  }

  /** Live values (tests check that deleted keys leave none behind). */
  get size(): number { return this.values.size; }
}
