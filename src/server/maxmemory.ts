// maxmemory: while used memory is over the limit, commands that may grow memory (Redis's
// denyoom flag) are refused with -OOM, as Redis does under maxmemory-policy noeviction.
//
// Used memory is INFO's used_memory (the host's JS heap plus the shards' linear memories).
// Redis checks it before every command; here it is checked when maxmemory changes and on
// every serverCron tick (hz times a second), and the result — Redis's pre_command_oom_state
// — is pushed into each kernel, which then hands denyoom commands back for the host to
// refuse. Evicting keys (the other maxmemory-policy values) is not implemented: under any
// policy an over-limit server answers -OOM instead of evicting (README says so).
// perf_config.toml's [kernel] max_memory caps each shard's linear memory the same way: a
// shard that reached it puts the server in this OOM state.
import type { Server } from "./server.js";
import { usedMemory } from "../commands/info.js";
import { perfConfig } from "../config/perf-config.js";

export const OOM_ERR = "OOM command not allowed when used memory > 'maxmemory'.";

export class MaxMemory {
  /** Over maxmemory at the last check (Redis's server.pre_command_oom_state). */
  oom = false;

  constructor(private readonly server: Server) {
    server.config.onApply("maxmemory", () => this.check());
  }

  get limit(): number { return this.server.config.getNumber("maxmemory"); }

  check(): void {
    const limit = this.limit;
    const shardCap = perfConfig().kernel.maxMemory;
    const oom = (limit > 0 && usedMemory(this.server) > limit) ||
      (shardCap > 0 && this.server.shards.some((s) => s.kernel.x.memory.buffer.byteLength >= shardCap));
    if (oom === this.oom) return;
    this.oom = oom;
    for (const s of this.server.shards) s.useOom(oom);
  }
}
