// ReplyWriter: RESP replies of host-side commands, named by reply type like Redis's
// addReply* family. Handlers never format RESP themselves; when RESP3 lands, the encoding
// choice is made here, not in handlers.

const CRLF = "\r\n";

export class ReplyWriter {
  private parts: (Buffer | string)[] = [];
  private size = 0;
  /** Number of error replies written (INFO errorstats, failed_calls). */
  errors = 0;
  /** The last error's code word (ERR, WRONGTYPE...), for errorstats. */
  lastErrorCode = "";

  private push(p: Buffer | string): void {
    this.parts.push(p);
    this.size += typeof p === "string" ? p.length : p.length;
  }

  get pending(): number { return this.size; }

  /** Takes everything written so far as one Buffer. */
  take(): Buffer {
    const parts = this.parts;
    this.parts = [];
    this.size = 0;
    if (parts.length === 1 && typeof parts[0] !== "string") return parts[0] as Buffer;
    return Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : p)));
  }

  ok(): void { this.push("+OK\r\n"); }
  status(s: string): void { this.push("+" + s + CRLF); }
  integer(n: number | bigint): void { this.push(":" + n + CRLF); }
  nullBulk(): void { this.push("$-1\r\n"); }
  nullArray(): void { this.push("*-1\r\n"); }
  arrayLen(n: number): void { this.push("*" + n + CRLF); }
  /** RESP2 has no map type: a map is an array of 2n alternating keys and values. */
  mapLen(n: number): void { this.push("*" + 2 * n + CRLF); }
  /** RESP2 has no set type: a set is an array. */
  setLen(n: number): void { this.push("*" + n + CRLF); }

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

  /** Verbatim text (INFO, CLIENT LIST): a bulk string in RESP2. */
  verbatim(text: string): void { this.bulk(text); }

  /** Doubles are bulk strings in RESP2. */
  double(d: number): void { this.bulk(formatDouble(d)); }

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
    this.errors++;
    this.push("-" + full.replace(/[\r\n]/g, " ") + CRLF);
  }

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

/** Redis's "%.17g" of a double for replies (inf and -inf spelled as Redis spells them). */
export function formatDouble(d: number): string {
  if (d === Infinity) return "inf";
  if (d === -Infinity) return "-inf";
  if (Number.isInteger(d) && Math.abs(d) < 1e17) return d.toFixed(0);
  let s = d.toPrecision(17);
  if (s.includes("e")) {
    const [m, e] = s.split("e");
    const mt = m.includes(".") ? m.replace(/0+$/, "").replace(/\.$/, "") : m;
    const en = Number(e);
    return mt + "e" + (en < 0 ? "-" : "+") + String(Math.abs(en)).padStart(2, "0");
  }
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s;
}
