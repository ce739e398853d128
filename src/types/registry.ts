// HandleRegistry: handle -> value object for every host-held value of the server.
//
// One registry serves all shards: a key's entry (with its handle) moves between shards
// when the router gathers a multi-key command (src/server/router.ts), so a handle must
// mean the same value whichever kernel holds it. Handles are positive i32 (0 = none in the
// kernel entry); the kernel reports a handle freed when its key is deleted, expires, is
// overwritten or flushed, and Shard.afterCall hands those to free().
import type { HostValue } from "./value.js";

const MAX_HANDLE = 0x7fffffff;

export class HandleRegistry {
  private readonly values = new Map<number, HostValue>();
  private next = 1;

  /** Registers a value and returns its new handle. */
  add(v: HostValue): number {
    let h = this.next;
    // Wrap after 2^31 handles, skipping any still alive.
    while (this.values.has(h)) h = h >= MAX_HANDLE ? 1 : h + 1;
    this.next = h >= MAX_HANDLE ? 1 : h + 1;
    this.values.set(h, v);
    return h;
  }

  get(h: number): HostValue | undefined { return this.values.get(h); }

  free(handles: number[]): void {
    for (const h of handles) this.values.delete(h);
  }

  /** Live values (tests check that deleted keys leave none behind). */
  get size(): number { return this.values.size; }
}
