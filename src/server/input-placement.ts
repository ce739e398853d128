// Where one socket read of a client lies in the memories of the shards that parse it.
//
// With several shards a read is first copied into the client's parsing shard. When that
// kernel meets a command whose keys all live in another shard, the client does not send the
// command there on its own (one kernel call, an argv copy and a reply copy per command):
// it carries on parsing the rest of the read in that shard, from that command on, so a run
// of commands on one shard's keys is again one kernel call (src/server/client.ts). Each
// shard gets the read copied at most once, from the first byte it needs to the end, so a
// read whose commands alternate between shards costs one copy per shard, not one per switch.
import type { Shard } from "./shard.js";

const EMPTY = new Uint8Array(0);

//
// A client keeps one InputPlacement and resets it for each read that moves (an object and
// three arrays per such read were garbage on every pipelined read of random keys).
export class InputPlacement {
  private input: Uint8Array = EMPTY;
  // The shards holding the read are the first `n` entries of these (kept, not truncated: a
  // length change of an array is a runtime call, once per read of random keys).
  private n = 0;
  private readonly shards: Shard[] = [];
  /** Per entry of `shards`: the address that byte 0 of the read would have in its memory. */
  private readonly origins: number[] = [];
  /** Per entry of `shards`: the first byte of the read that was copied there. */
  private readonly from: number[] = [];

  /** Starts a read: `input` is the read; `home` already holds all of it with byte 0 at `origin`. */
  reset(input: Uint8Array, home: Shard, origin: number): this {
    this.input = input;
    this.n = 0;
    this.put(home, origin, 0);
    return this;
  }

  /** Drops the read (a view of a shared read buffer) once it has run. */
  clear(): void {
    this.input = EMPTY;
    this.n = 0;
  }

  /**
   * The address of byte 0 of the read in `shard`'s memory, copying the read there from
   * byte `offset` on unless it already holds that part. Only valid until the shard's input
   * region is loaded again (the next read of any client).
   */
  originIn(shard: Shard, offset: number): number {
    let i = 0;
    while (i < this.n && this.shards[i] !== shard) i++;
    if (i < this.n && this.from[i] <= offset) return this.origins[i];
    const origin = shard.load(this.input.subarray(offset)) - offset;
    if (i < this.n) {
      this.origins[i] = origin;
      this.from[i] = offset;
    } else this.put(shard, origin, offset);
    return origin;
  }

  private put(shard: Shard, origin: number, offset: number): void {
    const i = this.n++;
    if (i < this.shards.length) {
      this.shards[i] = shard;
      this.origins[i] = origin;
      this.from[i] = offset;
    } else {
      this.shards.push(shard);
      this.origins.push(origin);
      this.from.push(offset);
    }
  }
}
