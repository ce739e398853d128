// How a key the server removed by itself replays (Redis's propagateDeletion): DEL, or UNLINK
// when the lazyfree switch for that removal frees it in the background (lazyfree-lazy-expire
// for an expired key, lazyfree-lazy-eviction for an evicted one), as the AOF and the
// replication stream of Redis 7.0 spell it.
import type { Config } from "../config/config.js";
import { EFFECT_EVICTED, type Effect } from "./effects.js";

const DEL = Buffer.from("DEL");
const UNLINK = Buffer.from("UNLINK");

/** The argv of an EFFECT_EXPIRED / EFFECT_EVICTED effect (argv = [key]) as it replays. */
export function deletionArgv(config: Config, e: Effect): Buffer[] {
  const lazy = config.getBool(e.kind === EFFECT_EVICTED ? "lazyfree-lazy-eviction" : "lazyfree-lazy-expire");
  return [lazy ? UNLINK : DEL, e.argv[0]];
}
