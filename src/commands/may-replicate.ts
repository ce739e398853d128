// Redis's CMD_MAY_REPLICATE: commands that are not writes but may add to the replication
// stream (PUBLISH, PFCOUNT's cache update, scripts that may write). COMMAND INFO hides the
// flag on purpose, so the table generated from it does not carry it: this is the list from
// Redis 7.0.15's src/commands/*.json.
import type { CommandSpec } from "./table.js";

const MAY_REPLICATE = new Set(["publish", "spublish", "pfcount", "eval", "evalsha", "fcall"]);

export function mayReplicate(spec: CommandSpec): boolean {
  return MAY_REPLICATE.has(spec.name);
}
