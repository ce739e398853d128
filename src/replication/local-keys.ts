// LocalKeys: the keys whose content this node keeps from its peers, remembered across restarts.
//
// Two kinds of write stay on the node that made them (README "Not replicated"): a script's
// write after redis.set_repl(REPL_NONE / REPL_AOF), and the keys a restarted node kept to
// itself because they may be keys its peers deleted and collected since its file was written
// (loaded-keys.ts). Neither has CRDT state, so after the next restart they looked like any
// key only the file holds — a write that never left the node — and were sent to the peers:
// the set_repl write reached them after all, and a key kept local because it may have been
// deleted came back everywhere once the node had written a newer file.
//
// So the node keeps the set of such keys and, on a server, a small file beside its RDB/AOF
// (FILE, in `dir`): one line per change, "+" when a key becomes local, "-" when a replicated
// write of it records CRDT state (Replicator.emit: the key is then the peers' business). At
// start-up the file is read back (the marks of earlier incarnations), the keys it marks that
// are loaded without CRDT state stay local again (loaded-keys.ts), and the file is rewritten
// with the keys still marked. The lines are written at the end of the event-loop turn of the
// write, and fsynced under the data files' policy (FsyncPolicy, from appendonly/appendfsync):
// a mark that a crashed host loses sends its key to the peers after the restart, as a key
// the node's file holds and nobody else does. The start-up rewrite is fsynced before its rename.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dbKey, splitDbKey } from "./store.js";

/** The file's name, in the server's `dir` (the working directory, as the RDB's). */
export const LOCAL_KEYS_FILE = "crdt-local-keys";

/**
 * When the appended marks are fsynced: "always" in the turn they are written (appendonly yes
 * with appendfsync always), "everysec" within a second (appendfsync everysec, and a node
 * without an AOF: its RDB is fsynced at each save, and a mark outliving a save by up to a
 * second is the window of an AOF's everysec), "no" never by us (appendfsync no).
 */
export type FsyncPolicy = "always" | "everysec" | "no";

/** How often the marks written under "everysec" are fsynced. */
const FSYNC_EVERY_MS = 1000;

export class LocalKeys {
  /** dbKey(db, key) of every key marked local. */
  readonly keys = new Set<string>();
  /** The marks earlier incarnations left in the file (until the load has been walked). */
  private previous = new Set<string>();
  private lines: string[] = [];
  private writeQueued = false;
  /** Where the marks are kept; unset (the simulator), they are not. */
  private file?: string;
  /** The file was there at start-up (loadWalked rewrites it; without it and marks, none is made). */
  private existed = false;
  private fsyncPolicy: () => FsyncPolicy = () => "no";
  /** Marks appended and not fsynced yet ("everysec"), and the timer that will. */
  private unsynced = false;
  private fsyncTimer?: NodeJS.Timeout;

  /** Keeps the marks in `file` from now on, after reading the ones already there; fsynced under `policy` (read at each write). */
  persistIn(file: string, policy?: () => FsyncPolicy): void {
    this.file = file;
    if (policy) this.fsyncPolicy = policy;
    let text = "";
    try { text = readFileSync(file, "latin1"); } catch { return; } // (none yet)
    this.existed = true;
    for (const line of text.split("\n")) {
      const sp = line.indexOf(" ", 2);
      if (sp < 0) continue; // (a line cut short by a crash)
      const db = Number(line.slice(2, sp));
      if (!Number.isInteger(db)) continue;
      const k = dbKey(db, Buffer.from(line.slice(sp + 1), "base64"));
      if (line[0] === "+") this.previous.add(k);
      else if (line[0] === "-") this.previous.delete(k);
    }
  }

  /** Whether an earlier incarnation kept the key local (loaded-keys.ts). */
  wasLocal(k: string): boolean {
    return this.previous.has(k);
  }

  /** The load has been walked: the earlier marks are replaced by the ones kept now (the file is rewritten with them). */
  loadWalked(): void {
    this.previous = new Set();
    if (!this.file || (!this.existed && this.keys.size === 0 && this.lines.length === 0)) return;
    this.lines = [];
    const tmp = `${this.file}.tmp`;
    try {
      writeMarks(tmp, "w", [...this.keys].map((k) => line("+", k)).join(""), true);
      renameSync(tmp, this.file);
    } catch { /* an unwritable dir: the marks are lost with this process, as an RDB that cannot be saved */ }
  }

  add(k: string): void {
    if (this.keys.has(k)) return;
    this.keys.add(k);
    this.note("+", k);
  }

  delete(k: string): void {
    if (this.keys.delete(k)) this.note("-", k);
  }

  private note(op: string, k: string): void {
    if (!this.file) return;
    this.lines.push(line(op, k));
    if (this.writeQueued) return;
    this.writeQueued = true;
    queueMicrotask(() => {
      this.writeQueued = false;
      const text = this.lines.join("");
      this.lines = [];
      const policy = this.fsyncPolicy();
      try { writeMarks(this.file!, "a", text, policy === "always"); } catch { /* as in loadWalked */ return; }
      if (policy === "everysec") this.syncSoon();
    });
  }

  /** "everysec": the marks appended since the last fsync are fsynced within FSYNC_EVERY_MS. */
  private syncSoon(): void {
    this.unsynced = true;
    if (this.fsyncTimer) return;
    this.fsyncTimer = setTimeout(() => {
      this.fsyncTimer = undefined;
      if (!this.unsynced) return;
      this.unsynced = false;
      try { writeMarks(this.file!, "a", "", true); } catch { /* as in loadWalked */ }
    }, FSYNC_EVERY_MS);
    this.fsyncTimer.unref();
  }
}

/** Writes (flag "w") or appends ("a") text to the file, fsynced with sync. */
function writeMarks(file: string, flag: "w" | "a", text: string, sync: boolean): void {
  const fd = openSync(file, flag);
  try {
    if (text) writeSync(fd, text, null, "latin1");
    if (sync) fsyncSync(fd);
  } finally { closeSync(fd); }
}

function line(op: string, k: string): string {
  const { db, key } = splitDbKey(k);
  return `${op} ${db} ${key.toString("base64")}\n`;
}
