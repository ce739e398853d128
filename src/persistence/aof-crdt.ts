// Active-active replication's part of the AOF (wired by src/replication/active-active.ts; what
// the state is: src/replication/saved-state.ts).
//
// An AOF's commands say what a node's keys hold, not what the node knew: restarted from AOFs
// alone, a group converged on the union of its files, so a key one node deleted came back
// from the file of a node that had not seen the delete. So a replicating node's AOF carries
// its CRDT state too:
// - the RDB preamble of a rewrite holds the state of its snapshot as `lkv-crdt` aux fields,
//   as a SAVE's file does (a command base, aof-use-rdb-preamble no, ends with annotation
//   lines of the same);
// - after the commands of each write (a read's worth of commands, or one MULTI/EXEC or
//   script, or one peer message applied) comes the CRDT batch they made: the deltas this
//   node recorded and the peers' states that changed its keys, the bytes the bus sends, as
//   annotation lines. Written with the commands, in the same write(2) (the read's or the
//   task's: src/server/reply-fence.ts), so appendfsync covers them alike and a kill cannot
//   leave the commands without their record.
//
// Annotations, because Redis's AOF loader skips every line starting with '#' (redis-server
// loads a replicating node's AOF as a plain one). It reads a line into a 1,024-byte buffer
// (a longer annotation is read on as a command and fails the load), so a record is base64
// in lines of at most LINE_B64 characters: `#CRDT:<all>` for one line, else `#CRDT<<first>`,
// `#CRDT+<more>`..., `#CRDT><last>`. A record whose lines are not all there (a tail cut off
// by aof-load-truncated, after which the file goes on with new records) is left out.
import type { Server } from "../server/server.js";

/**
 * Wired by active-active.ts. take: the pieces (the RDB aux value's form) of the CRDT writes
 * the AOF has not written yet; empty when none, or while a MULTI/EXEC or script is still
 * open (its commands go into the AOF at its end). load: one piece read by the start-up load.
 */
export const aofCrdtHook: {
  take: (server: Server) => Buffer[];
  load: (server: Server, piece: Buffer) => void;
} = { take: () => [], load: () => {} };

/** Base64 characters per line: "#CRDT+" + LINE_B64 + CRLF stays under Redis's 1,024. */
const LINE_B64 = 960;
const TAG = "#CRDT";

/** A piece as annotation lines. */
export function crdtLines(piece: Buffer): Buffer {
  const b64 = piece.toString("base64");
  if (b64.length <= LINE_B64) return Buffer.from(`${TAG}:${b64}\r\n`, "latin1");
  let out = "";
  for (let i = 0; i < b64.length; i += LINE_B64) {
    const mark = i === 0 ? "<" : i + LINE_B64 >= b64.length ? ">" : "+";
    out += `${TAG}${mark}${b64.slice(i, i + LINE_B64)}\r\n`;
  }
  return Buffer.from(out, "latin1");
}

/** The start-up load's reader of one file's annotation lines. */
export class CrdtLineReader {
  /** The base64 of the record being read, or null outside one. */
  private acc: string[] | null = null;

  constructor(private readonly server: Server) {}

  /** The annotation line buf[from, to) (without its CRLF); anything but ours is ignored. */
  line(buf: Buffer, from: number, to: number): void {
    if (to - from < 6 || buf.toString("latin1", from, from + 5) !== TAG) return;
    const mark = buf[from + 5];
    const b64 = buf.toString("latin1", from + 6, to);
    if (mark === 0x3a) { this.acc = null; this.deliver(b64); }          // ':' a whole record
    else if (mark === 0x3c) this.acc = [b64];                            // '<' the first line
    else if (mark === 0x2b) this.acc?.push(b64);                          // '+'
    else if (mark === 0x3e && this.acc) { this.acc.push(b64); const all = this.acc.join(""); this.acc = null; this.deliver(all); } // '>'
  }

  private deliver(b64: string): void {
    aofCrdtHook.load(this.server, Buffer.from(b64, "base64"));
  }
}
