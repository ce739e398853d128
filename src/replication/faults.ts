// Replication fault points (src/util/buggify.ts; issue #14). Inert unless buggify is enabled
// (LATTICEKV_BUGGIFY=<seed>[:<point>[=<p>],...], or enableBuggify() in the simulator); then
// every gossip message a node sends may be
//   crdt-drop-message   lost (as on a network that drops packets, or a link that died)
//   crdt-dup-message    sent twice
//   crdt-delay-message  held back 10-300 ms, so later messages overtake it
//   crdt-link-reset     sent, then the peer link is reset (the transport reconnects)
// and, only when given a probability (its default is 0: a test's LATTICEKV_BUGGIFY=<seed>:crdt-walk-stall=1),
//   crdt-walk-stall     a keyspace walk's next slice (replicator.ts walkStep) is held back 5 s,
//                       as by an event loop busy elsewhere: a FLUSHALL's recorded deletes stop
//                       after its first slice, so a test can kill the node mid-walk
//   crdt-join-stall     a large answer's join on a node holding more keys (gossip.ts joinOpen)
//                       holds its second slice back 5 s, so a test acts mid-join whatever
//                       the machine's speed
// Each is something the network (or a loaded host) can do anyway; gossip.ts must converge regardless (resends,
// duplicate suppression, anti-entropy). Delays are kept well below the tombstone-GC grace
// period (gossip.ts gcGraceMs), whose safety assumes no message is older than that.
import { buggify, buggifyEnabled, buggifyInt, definePoint } from "../util/buggify.js";

definePoint("crdt-drop-message", "a replication message is lost", 0.05);
definePoint("crdt-dup-message", "a replication message is sent twice", 0.03);
definePoint("crdt-delay-message", "a replication message is held back 10-300 ms (later ones overtake it)", 0.05);
definePoint("crdt-link-reset", "a peer link is reset after a message (it reconnects)", 0.005);
definePoint("crdt-walk-stall", "a keyspace walk's next slice is held back 5 s", 0);
/** How long crdt-walk-stall holds a walk's next slice (ms). */
export const WALK_STALL_MS = 5000;
definePoint("crdt-join-stall", "a large answer's open join holds its second slice back 5 s", 0);
/** How long crdt-join-stall holds a join's second slice (ms). */
export const JOIN_STALL_MS = 5000;

export interface Delayed { due: number; send: (m: Buffer) => void; msg: Buffer }

/**
 * Sends msg through the fault points. `hold` queues a delayed message (flushed by the
 * caller's clock, so the simulator stays deterministic); `reset` resets the link, if the
 * transport can.
 */
export function faultySend(send: (m: Buffer) => void, msg: Buffer, now: number, hold: (d: Delayed) => void,
  reset?: () => void): void {
  if (!buggifyEnabled()) { send(msg); return; }
  if (buggify("crdt-drop-message")) return;
  if (buggify("crdt-delay-message")) hold({ due: now + buggifyInt(10, 300), send, msg });
  else send(msg);
  if (buggify("crdt-dup-message")) send(msg);
  if (reset && buggify("crdt-link-reset")) reset();
}
