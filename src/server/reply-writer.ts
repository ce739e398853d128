// ReplyWriter: RESP replies of host-side commands, named by reply type like Redis's
// addReply* family. Handlers never format RESP themselves: they ask for a map, a set, a
// double, a null, and the writer encodes it for the connection's protocol (`resp`, set by
// HELLO): RESP3's own types, or their RESP2 stand-ins, as Redis's networking.c does.

// The global `Buffer` is a getter (node's lazy bootstrap): a module binding is a plain load.
import { Buffer } from "node:buffer";
import { bulkBegin, bulkFits, bulkAdd, bulkUsed, bulkTake } from "./bulk-encoder.js";
import { formatDouble } from "../kernel/format-double.js";

const CRLF = "\r\n";

export class ReplyWriter {
  private parts: (Buffer | string)[] = [];
  private size = 0;
  /** Number of error replies written (INFO errorstats, failed_calls). */
  errors = 0;
  /** The last error's code word (ERR, WRONGTYPE...), for errorstats. */
  lastErrorCode = "";
  /** The last error's whole text (code included), for errors counted once (Server.run). */
  lastErrorMessage = "";
  /** Protocol of the connection: 2, or 3 after HELLO 3. */
  resp = 2;

  private push(p: Buffer | string): void {
    const parts = this.parts;
    const last = parts.length - 1;
    // Adjacent strings are joined as they come (V8 keeps the join as a rope, flattened once
    // when written): an LRANGE of 600 elements leaves as one part, not ~600 copies into the
    // reply batch (src/server/reply-batch.ts), each a call into C++.
    if (typeof p === "string" && last >= 0 && typeof parts[last] === "string") parts[last] = (parts[last] as string) + p;
    else parts.push(p);
    this.size += p.length;
  }

  get pending(): number { return this.size; }

  /** The last piece written (a kernel command's reply after raw()), if any is still held. */
  lastPart(): Buffer | string | undefined { return this.parts[this.parts.length - 1]; }

  /** Takes everything written so far as one Buffer. */
  take(): Buffer {
    const parts = this.parts;
    this.parts = [];
    this.size = 0;
    if (parts.length === 1 && typeof parts[0] !== "string") return parts[0] as Buffer;
    // Adjacent string parts become one latin1 conversion (an LRANGE of 600 elements is
    // ~1800 parts): far fewer small Buffers than one per part.
    const out: Buffer[] = [];
    let run = "";
    for (const p of parts) {
      if (typeof p === "string") {
        run += p;
      } else {
        if (run) { out.push(Buffer.from(run, "latin1")); run = ""; }
        out.push(p);
      }
    }
    if (run) out.push(Buffer.from(run, "latin1"));
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  /**
   * Hands everything written so far to `sink` part by part (strings are latin1) and
   * empties the writer: the client's reply batch copies the parts in without a Buffer each.
   */
  drain(sink: (part: Buffer | string) => void): void {
    // The parts array is kept (emptied), not replaced: one array less per host command.
    const parts = this.parts;
    this.size = 0;
    for (let i = 0; i < parts.length; i++) sink(parts[i]);
    parts.length = 0;
  }

  ok(): void { this.push("+OK\r\n"); }
  status(s: string): void { this.push("+" + s + CRLF); }
  integer(n: number | bigint): void { this.push(":" + n + CRLF); }
  /** RESP3 has one null; RESP2 has a null bulk string and a null array. */
  nullBulk(): void { this.push(this.resp >= 3 ? "_\r\n" : "$-1\r\n"); }
  nullArray(): void { this.push(this.resp >= 3 ? "_\r\n" : "*-1\r\n"); }
  arrayLen(n: number): void { this.push("*" + n + CRLF); }
  /** RESP2 has no map type: a map is an array of 2n alternating keys and values. */
  mapLen(n: number): void { this.push(this.resp >= 3 ? "%" + n + CRLF : "*" + 2 * n + CRLF); }
  /** RESP2 has no set type: a set is an array. */
  setLen(n: number): void { this.push((this.resp >= 3 ? "~" : "*") + n + CRLF); }
  /** Out-of-band data (pub/sub messages, invalidations): a push in RESP3, an array in RESP2. */
  pushLen(n: number): void { this.push((this.resp >= 3 ? ">" : "*") + n + CRLF); }
  /** RESP3 attribute; RESP2 has none, so the caller must not write its pairs there. */
  attributeLen(n: number): void { if (this.resp >= 3) this.push("|" + n + CRLF); }
  /** RESP3 boolean; RESP2 integer 1 or 0. */
  bool(b: boolean): void { this.push(this.resp >= 3 ? (b ? "#t\r\n" : "#f\r\n") : b ? ":1\r\n" : ":0\r\n"); }
  /** RESP3 big number; a bulk string in RESP2. */
  bigNumber(digits: string): void {
    if (this.resp >= 3) this.push("(" + digits + CRLF);
    else this.bulk(digits);
  }

  bulk(v: string | Buffer | Uint8Array): void {
    if (typeof v === "string") {
      const b = Buffer.from(v, "utf8");
      this.push("$" + b.length + CRLF);
      this.push(b);
    } else {
      this.push("$" + v.length + CRLF);
      this.push(Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.length));
    }
    this.push(CRLF);
  }

  /** Verbatim text (INFO, CLIENT LIST): "=len\r\ntxt:..." in RESP3, a bulk string in RESP2. */
  verbatim(text: string, format = "txt"): void {
    if (this.resp < 3) return this.bulk(text);
    const b = Buffer.from(text, "utf8");
    this.push("=" + (b.length + 4) + CRLF + format + ":");
    this.push(b);
    this.push(CRLF);
  }

  /** RESP3 double (",3.14"); a bulk string in RESP2. */
  double(d: number): void {
    if (this.resp < 3) return this.bulk(formatDouble(d));
    this.push("," + (Number.isNaN(d) ? "nan" : formatDouble(d)) + CRLF);
  }

  bulkArray(items: (string | Buffer | Uint8Array)[]): void {
    this.arrayLen(items.length);
    for (const it of items) this.bulk(it);
  }

  /**
   * Error reply; like Redis's addReplyError, "ERR " is added unless the message starts with
   * one of Redis's error codes (or with "-", Redis's own way to say "the code is given").
   * A plain uppercase first word is not a code: "CONFIG SET failed ..." is sent as ERR.
   */
  error(msg: string): void {
    const code = /^[A-Z]+(?= |$)/.exec(msg)?.[0];
    const full = msg.startsWith("-") ? msg.slice(1) : code && ERROR_CODES.has(code) ? msg : "ERR " + msg;
    this.lastErrorCode = full.split(" ", 1)[0];
    this.lastErrorMessage = full;
    this.errors++;
    this.push("-" + full.replace(/[\r\n]/g, " ") + CRLF);
  }

  /** A bulk string whose bytes are held as a latin1 JS string (values of src/types/). */
  bulkBinary(s: string): void { this.push("$" + s.length + CRLF + s + CRLF); }

  /**
   * Many bulkBinary replies in a row (an LRANGE's elements), encoded as bytes rather than
   * joined as a string (src/server/bulk-encoder.ts): bulkBinariesBegin(), bulkBinariesAdd()
   * per element, bulkBinariesEnd(); nothing else may be written in between.
   */
  bulkBinariesBegin(): void { bulkBegin(); }
  bulkBinariesAdd(s: string): void {
    if (bulkFits(s)) return bulkAdd(s);
    if (bulkUsed() > 0) this.push(bulkTake());
    if (bulkFits(s)) return bulkAdd(s);
    this.bulkBinary(s); // longer than the encoder's buffer
  }
  bulkBinariesEnd(): void { if (bulkUsed() > 0) this.push(bulkTake()); }

  /** Pre-encoded RESP bytes (kernel output, nested replies). */
  raw(b: Buffer | Uint8Array | string): void {
    this.push(typeof b === "string" ? b : Buffer.isBuffer(b) ? b : Buffer.from(b));
  }
}

/** The error codes Redis replies with (the first word of an error reply). */
const ERROR_CODES = new Set([
  "ERR", "WRONGTYPE", "NOSCRIPT", "NOAUTH", "NOPROTO", "BUSY", "BUSYKEY", "LOADING", "EXECABORT",
  "MOVED", "ASK", "CROSSSLOT", "CLUSTERDOWN", "TRYAGAIN", "NOPERM", "OOM", "READONLY", "MASTERDOWN",
  "MISCONF", "UNBLOCKED", "NOREPLICAS", "NOMASTERLINK", "NOTBUSY", "WRONGPASS", "BUSYGROUP", "NOGROUP",
  "UNKILLABLE", "NOTREADONLY",
]);

// Redis's "%.17g" of a double lives with the kernel (it formats zset scores through it too).
export { formatDouble };
