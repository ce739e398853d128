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
// write (appended, not fsynced: a killed process keeps them, a crashed host may not).
import { appendFileSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dbKey, splitDbKey } from "./store.js";

/** The file's name, in the server's `dir` (the working directory, as the RDB's). */
export const LOCAL_KEYS_FILE = "crdt-local-keys";

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

  /** Keeps the marks in `file` from now on, after reading the ones already there. */
  persistIn(file: string): void {
    this.file = file;
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
      writeFileSync(tmp, [...this.keys].map((k) => line("+", k)).join(""), "latin1");
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
      try { appendFileSync(this.file!, text, "latin1"); } catch { /* as in loadWalked */ }
    });
  }
}

function line(op: string, k: string): string {
  const { db, key } = splitDbKey(k);
  return `${op} ${db} ${key.toString("base64")}\n`;
}
