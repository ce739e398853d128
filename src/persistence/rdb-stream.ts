// An RDB payload parsed as its bytes arrive (Redis's rdbLoadRio over a connection, as a
// replica's diskless load reads it): push() the bytes as they come, next() returns the
// records one at a time, "more" when the next one is not complete yet, "done" after the
// checksum. The CRC64 is computed over the bytes as they are consumed, so nothing of the
// payload is kept once its records are out.
//
// A record cut by the end of the bytes so far is parsed again from its start when more have
// arrived. The reader's short read says how far it wanted to go, so a big string is retried
// only once all of it is here; a record made of many small parts (a big set) is retried
// after the buffered bytes grew by half (past 16 KB), so the re-parsing stays linear in the
// payload.
import { RdbReader, RdbShortRead, RdbFormatError } from "./rdb-format.js";
import { Crc64 } from "./crc64.js";
import {
  readRdbHeader, readRdbRecord, checkRdbChecksum, newRecordState, type RdbRecord, type RdbRecordState,
} from "./rdb-file.js";

export class RdbStreamParser {
  /** Bytes not consumed yet, from a record boundary on (joined lazily from `tail`). */
  private buf: Buffer = Buffer.alloc(0);
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private readonly crc = new Crc64();
  private version = 0;
  private st: RdbRecordState = newRecordState();
  private phase: "header" | "records" | "checksum" | "done" = "header";
  /** Bytes of the payload consumed (records parsed); RdbRecord.pos counts from the payload's start. */
  consumed = 0;
  /** After a short read: the next attempt waits for this many buffered bytes (unless forced). */
  private wantBytes = 0;

  constructor(private readonly opts: { checksum: boolean; databases: number }) {}

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.tail.push(b);
    this.tailBytes += b.length;
  }

  /** Bytes pushed but not consumed. */
  get pending(): number { return this.buf.length + this.tailBytes; }

  /** Whether the parser is waiting for bytes it does not have (a short read it cannot retry yet). */
  get starved(): boolean { return this.phase !== "done" && this.pending < this.wantBytes; }

  /**
   * The next record, "more" when it is not all here, "done" once the checksum was read (and
   * checked). `force`: try even below the short-read threshold (the caller believes the
   * payload may be complete). Throws RdbFormatError for a corrupt payload.
   */
  next(force = false): RdbRecord | "more" | "done" {
    if (this.phase === "done") return "done";
    if (!force && this.pending < this.wantBytes) return "more";
    if (this.tailBytes) {
      this.buf = this.buf.length ? Buffer.concat([this.buf, ...this.tail]) : this.tail.length === 1 ? this.tail[0] : Buffer.concat(this.tail);
      this.tail = [];
      this.tailBytes = 0;
    }
    this.wantBytes = 0;
    for (;;) {
      if (this.phase === "header") {
        if (this.buf.length < 9) return this.short(9);
        this.version = readRdbHeader(this.buf);
        this.consume(9);
        this.phase = "records";
        continue;
      }
      if (this.phase === "checksum") {
        if (this.buf.length < 8) return this.short(8);
        if (this.opts.checksum) checkRdbChecksum(Buffer.from(this.buf.subarray(0, 8)), this.crc);
        this.buf = this.buf.subarray(8);
        this.consumed += 8;
        this.phase = "done";
        return "done";
      }
      const r = new RdbReader(this.buf);
      const before = { ...this.st };
      let rec: RdbRecord | null;
      try {
        rec = readRdbRecord(r, this.st, this.opts);
      } catch (e) {
        if (!(e instanceof RdbShortRead) || e.reader !== r) throw e;
        this.st = before;
        // Many small parts: wait until the bytes grew by half, not for each next read. From
        // 16 KB on: an LZF-compressed record (rdbcompression) costs a decompression of every
        // part at each retry, so a 100 KB set re-parsed at each small read never caught up.
        return this.short(Math.max(e.needed, this.buf.length > 16 << 10 ? Math.floor(this.buf.length * 1.5) : 0));
      }
      this.consume(r.pos);
      if (rec === null) {
        this.phase = this.version >= 5 ? "checksum" : "done";
        if (this.phase === "done") return "done";
        continue;
      }
      rec.pos = this.consumed;
      return rec;
    }
  }

  /** Once done: the bytes that followed the payload (an end mark, the stream). */
  takeRest(): Buffer {
    if (this.phase !== "done") throw new RdbFormatError("the payload is not complete");
    const rest = this.tailBytes ? Buffer.concat([this.buf, ...this.tail]) : this.buf;
    this.buf = Buffer.alloc(0);
    this.tail = [];
    this.tailBytes = 0;
    return rest;
  }

  private short(need: number): "more" {
    this.wantBytes = need;
    return "more";
  }

  private consume(n: number): void {
    this.crc.update(this.buf, 0, n);
    this.buf = this.buf.subarray(n);
    this.consumed += n;
  }
}
