// Waiting for active-active nodes (src/replication/) to reach a condition, bounded by the
// replication's own progress instead of a wall-clock window. On a loaded machine everything
// (delta resends, anti-entropy rounds, GC grace) runs slower, so a fixed 20 s or 60 s window
// fails runs that were converging; a window measured in anti-entropy rounds stretches with
// the load. The wait gives up when every node has completed `stallRounds` anti-entropy rounds
// (INFO crdt: crdt_anti_entropy_rounds) since the last sign of progress — any change in what
// the nodes received, repaired, hold back or collected, or in what `snapshot` reads — so a
// run that stops converging still fails, with what it saw last.
import type Redis from "ioredis";

/** INFO crdt counters whose change is progress towards convergence or collection. */
const PROGRESS_FIELDS = [
  "crdt_deltas_received", "crdt_keys_repaired", "crdt_deltas_waiting", "crdt_tombstones",
  "crdt_gc_keys_dropped", "crdt_gc_keys_compacted", "crdt_keys",
];

/** The fields of INFO crdt's peerN line for the peer at bus port `bus` on loopback ({} when none). */
export function peerLine(info: string, bus: number): Record<string, string> {
  const line = info.split("\r\n").find((l) => /^peer\d+:/.test(l) && l.includes(`addr=127.0.0.1:${bus},`));
  if (!line) return {};
  return Object.fromEntries(line.slice(line.indexOf(":") + 1).split(",").map((f) => f.split("=") as [string, string]));
}

export function infoNumber(info: string, name: string): number {
  const m = new RegExp(`^${name}:(-?\\d+)`, "m").exec(info);
  return m ? Number(m[1]) : NaN;
}

/** Calls of a command in INFO commandstats (0 when it has none). */
export function commandCalls(info: string, cmd: string): number {
  return Number(new RegExp(`^cmdstat_${cmd}:calls=(\\d+),`, "m").exec(info)?.[1] ?? 0);
}

/**
 * Polls until `done()` holds. `snapshot()` (optional) reads what the test compares; its
 * change counts as progress too. Throws once every node completed `stallRounds` anti-entropy
 * rounds with no progress.
 */
export async function untilReplicated(what: string, clients: Redis[], done: () => Promise<boolean>,
  opts: { stallRounds?: number; snapshot?: () => Promise<string> } = {}): Promise<void> {
  const stallRounds = opts.stallRounds ?? 20;
  let last = "";
  let since: number[] = [];
  for (;;) {
    if (await done()) return;
    const infos = await Promise.all(clients.map((r) => r.info("crdt")));
    const rounds = infos.map((s) => infoNumber(s, "crdt_anti_entropy_rounds"));
    const seen = JSON.stringify([infos.map((s) => PROGRESS_FIELDS.map((f) => infoNumber(s, f))), opts.snapshot ? await opts.snapshot() : ""]);
    if (seen !== last) {
      last = seen;
      since = rounds;
    } else if (rounds.every((n, i) => n - since[i] >= stallRounds)) {
      throw new Error(`no progress towards ${what} in ${stallRounds} anti-entropy rounds of every node; last seen: ${seen}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
