// Which keys this kernel instance owns. One instance is one shard and owns the slots
// [slotLow, slotHigh]. With a single shard (the default) the instance owns every slot and
// routing is off, so the hot path pays one branch. With several shards, process() hands a
// command back to the host (src/server/router.ts) when any of its keys lies outside the
// range, or when the command is keyspace-wide (CMD_ROUTE_HOST): the host splits and joins
// those across shards.
//
// Cluster mode (cluster-enabled yes): the node serves only some slots, and Redis's rules
// (MOVED, ASK, CROSSSLOT, CLUSTERDOWN) are the host's (src/cluster/redirect.ts). The kernel
// runs a command itself only when all its keys hash to one slot that the host marked
// "served" (owned by this node, not migrating or importing); anything else is handed back.

import { KernelCommand, CMD_ROUTE_HOST, CMD_ANY_SHARD } from "../commands/table";
import { argPtr, argLen } from "../resp/parser";
import { keyHashSlot, CLUSTER_SLOTS } from "./slot";
import { enableSlotIndex } from "./slot-index";

export let slotLow: i32 = 0;
export let slotHigh: i32 = CLUSTER_SLOTS - 1;
/** Whether process() checks key ownership (several shards, and not a call the host routed). */
export let routing = false;
/** Kernel instances (shards) of this process, each owning an equal slot range. */
export let shardCount: i32 = 1;
let clusterMode = false;
/** Cluster mode: one bit per slot, set where the kernel may run the slot's commands itself. */
const servedSlots = new StaticArray<u8>(CLUSTER_SLOTS >> 3);

export function setSlotRange(low: i32, high: i32, shards: i32): void {
  slotLow = low;
  slotHigh = high;
  shardCount = shards;
  routing = shards > 1 || clusterMode;
}

/** Off while the host runs a command it has already routed here (Shard.call). */
export function setRouting(on: bool): void {
  routing = on && (shardCount > 1 || clusterMode);
}

/** Puts back a value of `routing` read before a setRouting(false) (a nested call's end). */
export function restoreRouting(was: bool): void {
  routing = was;
}

export function setClusterMode(on: bool): void {
  clusterMode = on;
  if (on) enableSlotIndex();
  routing = shardCount > 1 || on;
}

export function inClusterMode(): bool { return clusterMode; }

/** Marks slots [low, high] served here (or not) in cluster mode. */
export function setSlotsServed(low: i32, high: i32, on: bool): void {
  for (let s = low; s <= high; s++) {
    const i = s >> 3;
    const bit = <u8>(1 << <u8>(s & 7));
    const b = unchecked(servedSlots[i]);
    unchecked(servedSlots[i] = on ? <u8>(b | bit) : <u8>(b & ~bit));
  }
}

function served(slot: i32): bool {
  return ((<i32>unchecked(servedSlots[slot >> 3]) >> (slot & 7)) & 1) != 0;
}

/**
 * After ownsCommand said no: the one shard that owns every key of the command, or -1 (keys in
 * several shards, a keyspace-wide command, cluster mode). The host then carries on parsing the
 * client's input in that shard (src/server/client.ts) instead of placing the command alone.
 */
let routedShard: i32 = -1;
export function handedShard(): i32 { return routedShard; }

/**
 * The shard of a slot when N shards split the 16384 as the host does (src/server/router.ts
 * slotRange: shard i owns [floor(i*16384/N), floor((i+1)*16384/N) - 1]).
 */
export function shardOfSlot(slot: i32): i32 {
  return (slot * shardCount + shardCount - 1) / CLUSTER_SLOTS;
}

/** Does this shard own every key of the parsed command (argc arguments)? */
export function ownsCommand(cmd: KernelCommand, argc: i32): bool {
  routedShard = -1;
  if ((cmd.flags & CMD_ANY_SHARD) != 0) return true;
  if ((cmd.flags & CMD_ROUTE_HOST) != 0) {
    if (shardCount > 1) return false;
    // One shard in cluster mode: a keyless command runs here; movable keys are the host's to check.
    return cmd.firstKey <= 0;
  }
  const first = cmd.firstKey;
  if (first <= 0) return true;
  const last = cmd.lastKey < 0 ? argc + cmd.lastKey : cmd.lastKey;
  const step = cmd.keyStep > 0 ? cmd.keyStep : 1;
  if (clusterMode) {
    let firstSlot = -1;
    for (let i = first; i <= last && i < argc; i += step) {
      const slot = keyHashSlot(argPtr(i), argLen(i));
      if (slot < slotLow || slot > slotHigh) return false;
      if (firstSlot < 0) {
        if (!served(slot)) return false;
        firstSlot = slot;
      } else if (slot != firstSlot) return false;
    }
    return true;
  }
  // Several shards: note the one shard owning every key, if there is one.
  let owned = true;
  let target: i32 = -1; // -2: keys in several shards
  for (let i = first; i <= last && i < argc; i += step) {
    const slot = keyHashSlot(argPtr(i), argLen(i));
    if (slot < slotLow || slot > slotHigh) owned = false;
    const s = shardOfSlot(slot);
    if (target == -1) target = s;
    else if (target != s) {
      target = -2;
      if (!owned) break;
    }
  }
  if (owned) return true;
  routedShard = target >= 0 ? target : -1;
  return false;
}
