// Which keys this kernel instance owns. One instance is one shard and owns the slots
// [slotLow, slotHigh]. With a single shard (the default) the instance owns every slot and
// routing is off, so the hot path pays one branch. With several shards, process() hands a
// command back to the host (src/server/router.ts) when any of its keys lies outside the
// range, or when the command is keyspace-wide (CMD_ROUTE_HOST): the host splits and joins
// those across shards.

import { KernelCommand, CMD_ROUTE_HOST } from "../commands/table";
import { argPtr, argLen } from "../resp/parser";
import { keyHashSlot, CLUSTER_SLOTS } from "./slot";

export let slotLow: i32 = 0;
export let slotHigh: i32 = CLUSTER_SLOTS - 1;
/** Whether process() checks key ownership (several shards, and not a call the host routed). */
export let routing = false;
let shardCount: i32 = 1;

export function setSlotRange(low: i32, high: i32, shards: i32): void {
  slotLow = low;
  slotHigh = high;
  shardCount = shards;
  routing = shards > 1;
}

/** Off while the host runs a command it has already routed here (Shard.call). */
export function setRouting(on: bool): void {
  routing = on && shardCount > 1;
}

/** Does this shard own every key of the parsed command (argc arguments)? */
export function ownsCommand(cmd: KernelCommand, argc: i32): bool {
  if ((cmd.flags & CMD_ROUTE_HOST) != 0) return false;
  const first = cmd.firstKey;
  if (first <= 0) return true;
  const last = cmd.lastKey < 0 ? argc + cmd.lastKey : cmd.lastKey;
  const step = cmd.keyStep > 0 ? cmd.keyStep : 1;
  for (let i = first; i <= last && i < argc; i += step) {
    const slot = keyHashSlot(argPtr(i), argLen(i));
    if (slot < slotLow || slot > slotHigh) return false;
  }
  return true;
}
