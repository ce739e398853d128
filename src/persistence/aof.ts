// The append-only file, in Redis 7's multi-part layout (aof.c):
//
//   <dir>/<appenddirname>/<appendfilename>.manifest      which files make up the AOF:
//       file appendonly.aof.1.base.rdb seq 1 type b      the base: an RDB snapshot
//       file appendonly.aof.1.incr.aof seq 1 type i      writes since, as RESP commands
//
// Writes come from the effect bus (src/server/effects.ts), never from re-deriving what a
// command did: each effect is appended as the command to replay, with a SELECT when the db
// changes; a key the kernel expired or evicted becomes DEL; an EXEC or a script (an effect
// group) is wrapped in MULTI ... EXEC so it replays atomically.
//
// Every effect is written as the command runs (effects are published synchronously), so
// before its reply can leave. appendfsync always: fsynced too, so kill -9 loses no
// acknowledged write; everysec: fsynced once a second; no: never fsynced by us.
//
// BGREWRITEAOF: one synchronous snapshot (the RDB of the dataset) becomes the new base;
// from that instant effects go to a new incr file, which the manifest lists at once (with
// the old files), and once the base is on disk the manifest drops the old files.
import { slowDisk } from "../server/faults.js";
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync, fdatasync } from "node:fs";
import { open } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Socket } from "node:net";
import type { Server } from "../server/server.js";
import { Client } from "../server/client.js";
import { EFFECT_COMMAND, type Effect, type Subscription } from "../server/effects.js";
import { log } from "../server/log.js";
import { snapshotRdb, parseRdb, snapshotKeys } from "./rdb-file.js";
import { createDumpPayload } from "./dump.js";
import type { Persistence } from "./persistence.js";
import { writeSnapshotFile, type BackgroundSnapshot } from "./bgsave.js";

interface ManifestFile { name: string; seq: number; type: "b" | "i" | "h" }

/** A manifest Redis would refuse (aofLoadManifestFromFile): start-up logs it and exits. */
export class ManifestError extends Error {
  constructor(message: string, readonly line: string | null, readonly lineNumber: number) { super(message); }

  /** Redis's log lines for it, in order. */
  logLines(): string[] {
    const out = ["\n*** FATAL AOF MANIFEST FILE ERROR ***\n"];
    if (this.line !== null) out.push(`Reading the manifest file, at line ${this.lineNumber}\n`, `>>> '${this.line}'\n`);
    out.push(`${this.message}\n`);
    return out;
  }
}

const MANIFEST_MAX_LINE = 1024;

/** Reads a manifest with Redis's checks and error messages (aof.c aofLoadManifestFromFile). */
export function parseManifest(text: string): ManifestFile[] {
  const files: ManifestFile[] = [];
  if (text.length === 0) throw new ManifestError("Found an empty AOF manifest", null, 0);
  const lines = text.split(/(?<=\n)/);
  let maxSeq = 0;
  let hasBase = false;
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n];
    if (raw.startsWith("#")) continue;
    if (!raw.endsWith("\n") || raw.length > MANIFEST_MAX_LINE) throw new ManifestError("The AOF manifest file contains too long line", null, n + 1);
    const line = raw.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
    const bad = (msg: string) => new ManifestError(msg, line, n + 1);
    if (!line) throw bad("Invalid AOF manifest file format");
    const argv = splitArgs(line);
    if (!argv || argv.length < 6 || argv.length % 2) throw bad("Invalid AOF manifest file format");
    let name = "", seq = 0, type = "";
    for (let i = 0; i < argv.length; i += 2) {
      const k = argv[i].toLowerCase();
      if (k === "file") {
        name = argv[i + 1];
        if (name.includes("/")) throw bad("File can't be a path, just a filename");
      } else if (k === "seq") seq = parseInt(argv[i + 1], 10) || 0;
      else if (k === "type") type = argv[i + 1][0] ?? "";
    }
    if (!name || !seq || !type) throw bad("Invalid AOF manifest file format");
    if (type === "b") {
      if (hasBase) throw bad("Found duplicate base file information");
      hasBase = true;
    } else if (type === "i") {
      if (seq <= maxSeq) throw bad("Found a non-monotonic sequence number");
      maxSeq = seq;
    } else if (type !== "h") throw bad("Unknown AOF file type");
    files.push({ name, seq, type: type as ManifestFile["type"] });
  }
  return files;
}

/** Redis's sdssplitargs: words, "double quoted" with escapes, or 'single quoted'; null when unbalanced. */
function splitArgs(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (true) {
    while (i < line.length && /\s/.test(line[i])) i++;
    if (i >= line.length) return out;
    let cur = "";
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return null;
        const c = line[i];
        if (c === "\\" && i + 1 < line.length) {
          const e = line[i + 1];
          if (e === "x" && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) { cur += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16)); i += 4; continue; }
          cur += e === "n" ? "\n" : e === "r" ? "\r" : e === "t" ? "\t" : e === "b" ? "\b" : e === "a" ? "\x07" : e;
          i += 2;
        } else if (c === '"') {
          i++;
          if (i < line.length && !/\s/.test(line[i])) return null;
          break;
        } else { cur += c; i++; }
      }
    } else if (line[i] === "'") {
      i++;
      for (;;) {
        if (i >= line.length) return null;
        if (line[i] === "\\" && line[i + 1] === "'") { cur += "'"; i += 2; continue; }
        if (line[i] === "'") {
          i++;
          if (i < line.length && !/\s/.test(line[i])) return null;
          break;
        }
        cur += line[i++];
      }
    } else {
      while (i < line.length && !/\s/.test(line[i])) cur += line[i++];
    }
    out.push(cur);
  }
}

/** sdscatrepr for a file name that needs it (spaces, quotes, non-printables), as aofInfoFormat. */
function reprName(name: string): string {
  if (!/[\s"'\\]|[^\x21-\x7e]/.test(name)) return name;
  let s = '"';
  for (const ch of name) {
    const c = ch.charCodeAt(0);
    if (ch === "\\" || ch === '"') s += "\\" + ch;
    else if (ch === "\n") s += "\\n";
    else if (ch === "\r") s += "\\r";
    else if (ch === "\t") s += "\\t";
    else if (c < 0x20 || c > 0x7e) s += "\\x" + c.toString(16).padStart(2, "0");
    else s += ch;
  }
  return s + '"';
}

function formatManifest(files: ManifestFile[]): string {
  return files.map((f) => `file ${reprName(f.name)} seq ${f.seq} type ${f.type}\n`).join("");
}

/** RESP encoding of one command. */
export function encodeCommand(argv: Uint8Array[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${argv.length}\r\n`)];
  for (const a of argv) parts.push(Buffer.from(`$${a.length}\r\n`), Buffer.from(a.buffer, a.byteOffset, a.length), CRLF);
  return Buffer.concat(parts);
}
const CRLF = Buffer.from("\r\n");

export class AofFormatError extends Error {}

/**
 * Splits an AOF (incr file, or a base written as commands) into commands. Stops at a
 * truncated tail: `validLen` is where the last complete command ends (before an unclosed
 * MULTI, whose commands must not be half-applied).
 */
export function parseAofCommands(buf: Buffer, start = 0): { commands: Buffer[][]; validLen: number; truncated: boolean } {
  const commands: Buffer[][] = [];
  let pos = start;
  let validLen = start;
  let multiStart = -1;
  let multiCount = 0;
  const line = (): string | null => {
    const nl = buf.indexOf(13, pos);
    if (nl < 0 || nl + 1 >= buf.length) return null;
    if (buf[nl + 1] !== 10) throw new AofFormatError("Bad file format reading the append only file");
    const s = buf.toString("latin1", pos, nl);
    pos = nl + 2;
    return s;
  };
  while (pos < buf.length) {
    const cmdStart = pos;
    if (buf[pos] === 0x23) {
      // An annotation ("#TS:<unix time>", aof-timestamp-enabled): skipped, as Redis does.
      if (line() === null) { pos = cmdStart; break; }
      if (multiStart < 0) validLen = pos;
      continue;
    }
    if (buf[pos] !== 0x2a) throw new AofFormatError(`Bad file format reading the append only file at offset ${pos}`);
    pos++;
    const head = line();
    if (head === null) break;
    const argc = Number(head);
    if (!Number.isInteger(argc) || argc < 1) throw new AofFormatError("Bad file format reading the append only file");
    const argv: Buffer[] = [];
    let complete = true;
    for (let i = 0; i < argc; i++) {
      if (pos >= buf.length) { complete = false; break; }
      if (buf[pos] !== 0x24) throw new AofFormatError("Bad file format reading the append only file");
      pos++;
      const l = line();
      if (l === null) { complete = false; break; }
      const n = Number(l);
      if (!Number.isInteger(n) || n < 0) throw new AofFormatError("Bad file format reading the append only file");
      if (pos + n + 2 > buf.length) { complete = false; break; }
      argv.push(buf.subarray(pos, pos + n));
      pos += n + 2;
    }
    if (!complete) { pos = cmdStart; break; }
    const name = argv[0].toString("latin1").toLowerCase();
    if (name === "multi") { multiStart = cmdStart; multiCount = commands.length; }
    else if (name === "exec") multiStart = -1;
    commands.push(argv);
    if (multiStart < 0) validLen = pos;
  }
  const truncated = pos < buf.length || multiStart >= 0;
  if (multiStart >= 0) commands.length = multiCount;
  return { commands, validLen, truncated };
}

export class Aof {
  private fd = -1;
  private incrName = "";
  private lastDb = -1;
  private sub?: Subscription;
  /** Effects of an open group (EXEC, script): written as MULTI ... EXEC when it ends. */
  private group: Buffer[] | null = null;
  private pending: Buffer[] = [];
  private fsyncTimer?: NodeJS.Timeout;
  rewriteInProgress = false;
  rewrites = 0;
  lastRewriteOk = true;
  lastWriteOk = true;
  /** strerror() of the last failed write (the -MISCONF error says it). */
  lastWriteError = "";
  private files: ManifestFile[] = [];

  constructor(private readonly server: Server, private readonly p: Persistence) {}

  get enabled(): boolean { return this.fd >= 0; }

  private dir(): string { return resolve(this.server.config.getString("appenddirname")); }
  private baseFileName(): string { return this.server.config.getString("appendfilename"); }
  private manifestPath(): string { return join(this.dir(), `${this.baseFileName()}.manifest`); }

  private writeManifest(files: ManifestFile[]): void {
    const tmp = join(this.dir(), `temp-${this.baseFileName()}.manifest`);
    const fd = openSync(tmp, "w");
    try { writeSync(fd, formatManifest(files)); fsyncSync(fd); } finally { closeSync(fd); }
    renameSync(tmp, this.manifestPath());
    this.files = files;
  }

  /** Loads the AOF if there is one (DEBUG LOADAOF). False when there is none. */
  load(): boolean {
    const it = this.loadSteps();
    for (let r = it.next(); ; r = it.next()) if (r.done) return r.value;
  }

  /**
   * Redis's aofUpgradePrepare: an appendfilename file in dir (an AOF from before Redis 7)
   * with no AOF directory, no manifest, or a manifest naming only it as base while the
   * directory lacks it, becomes the base of a new manifest and moves into the directory.
   */
  upgradeIfNeeded(): void {
    const name = this.baseFileName();
    if (!existsSync(resolve(name))) return;
    let files: ManifestFile[] = [];
    if (existsSync(this.dir()) && existsSync(this.manifestPath())) files = parseManifest(readFileSync(this.manifestPath(), "latin1"));
    const base = files.find((f) => f.type === "b");
    const incrs = files.filter((f) => f.type === "i");
    const upgrade = !existsSync(this.dir()) || files.length === 0 ||
      (base && incrs.length === 0 && base.name === name && !existsSync(join(this.dir(), name)));
    if (!upgrade) return;
    mkdirSync(this.dir(), { recursive: true });
    this.writeManifest([{ name, seq: 1, type: "b" }, ...files.filter((f) => f.type === "h")]);
    renameSync(resolve(name), join(this.dir(), name));
    log("notice", `Successfully migrated an old-style AOF file (${name}) into the AOF directory (${this.server.config.getString("appenddirname")}).`);
  }

  /** The AOF's files in replay order, and their total size (INFO loading_total_bytes). */
  manifestFiles(): { files: ManifestFile[]; bytes: number } | null {
    const mp = this.manifestPath();
    if (!existsSync(mp)) return null;
    const files = parseManifest(readFileSync(mp, "latin1"));
    let bytes = 0;
    for (const f of files) { try { bytes += statSync(join(this.dir(), f.name)).size; } catch { /* reported when read */ } }
    return { files, bytes };
  }

  /**
   * Loading the AOF one key or command at a time (start-up loads between event-loop turns,
   * serving -LOADING meanwhile); yields the bytes read so far. False when there is no AOF.
   */
  *loadSteps(): Generator<number, boolean> {
    const m = this.manifestFiles();
    if (!m) return false;
    const files = m.files;
    const base = files.find((f) => f.type === "b");
    const incrs = files.filter((f) => f.type === "i").sort((a, b) => a.seq - b.seq);
    let loaded = 0;
    let done = 0;
    if (base) {
      const buf = readAofFile(join(this.dir(), base.name));
      if (buf.toString("latin1", 0, 5) === "REDIS") {
        // An RDB preamble; an old-style AOF (upgraded into the dir) may go on with commands.
        const it = this.p.rdbLoadSteps(buf);
        let r = it.next();
        for (; !r.done; r = it.next()) yield done + r.value;
        if (r.value < buf.length) {
          for (const pos of this.replayFile(join(this.dir(), base.name), incrs.length === 0, buf, r.value)) { loaded++; yield done + pos; }
        }
      } else {
        for (const pos of this.replayFile(join(this.dir(), base.name), false)) { loaded++; yield done + pos; }
      }
      done += buf.length;
    }
    for (let i = 0; i < incrs.length; i++) {
      let size = 0;
      for (const pos of this.replayFile(join(this.dir(), incrs[i].name), i === incrs.length - 1)) { loaded++; size = pos; yield done + pos; }
      done += size;
    }
    this.files = files;
    log("notice", `DB loaded from append only file: ${loaded} commands`);
    return true;
  }

  /**
   * Replays one file's commands, yielding the offset after each; a truncated tail is cut
   * off (last file, aof-load-truncated) or fatal.
   */
  private *replayFile(path: string, last: boolean, file?: Buffer, from = 0): Generator<number, void> {
    const buf = file ?? readAofFile(path);
    const parsed = parseAofCommands(from > 0 ? buf.subarray(from) : buf);
    const { commands, truncated } = parsed;
    const validLen = from + parsed.validLen;
    if (truncated) {
      if (!last || !this.server.config.getBool("aof-load-truncated")) {
        throw new AofFormatError(`Unexpected end of file reading the append only file ${path}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.`);
      }
      log("warning", `!!! Warning: short read while loading the AOF file ${path}!!!`);
      log("warning", `!!! Truncating the AOF ${path} at offset ${validLen} !!!`);
      const fd = openSync(path, "r+");
      try { ftruncateSync(fd, validLen); fsyncSync(fd); } finally { closeSync(fd); }
      log("warning", "AOF loaded anyway because aof-load-truncated is enabled");
    }
    const client = new Client(this.server, {} as Socket);
    client.name = "aof-loader";
    // While loading, no key counts as expired (Redis's expireIfNeeded during loading): the
    // replay runs at time 0, so a PEXPIREAT in the past still leaves the key for the
    // commands after it, and it expires once the server runs at the real time. Only around
    // each command: between steps, the rest of the server has the real clock.
    for (let i = 0; i < commands.length; i++) {
      const argv = commands[i];
      const name = argv[0].toString("latin1").toLowerCase();
      if (name === "multi" || name === "exec") continue;
      if (name === "select") { client.db = Number(argv[1].toString("latin1")); continue; }
      if (!this.server.table.lookup(name)) {
        throw new AofFormatError(`Unknown command '${argv[0].toString("latin1")}' reading the append only file ${path.split("/").pop()}`);
      }
      const realNow = this.server.now;
      this.server.now = () => 0;
      try {
        this.server.execCommand(client, argv);
      } finally {
        this.server.now = realNow;
      }
      client.reply.take();
      yield Math.floor((validLen * (i + 1)) / commands.length);
    }
  }

  /** Turns writing on: a fresh base (the dataset now) unless loaded files exist, then a new incr file. */
  start(): void {
    mkdirSync(this.dir(), { recursive: true });
    if (this.files.length === 0) {
      // No AOF yet (first start with appendonly yes, or CONFIG SET appendonly yes): the
      // current dataset becomes the base, as Redis's startAppendOnly rewrite does.
      const snap = snapshotBase(this.server);
      const base: ManifestFile = { name: `${this.baseFileName()}.1.base.${snap.ext}`, seq: 1, type: "b" };
      writeFileDurable(join(this.dir(), base.name), snap.data);
      this.openIncr({ name: `${this.baseFileName()}.1.incr.aof`, seq: 1, type: "i" }, [base]);
      log("notice", `Creating AOF base file ${base.name} on server start`);
    } else {
      const incrs = this.files.filter((f) => f.type === "i");
      const last = incrs[incrs.length - 1];
      if (last) this.openExisting(last);
      else this.openIncr({ name: `${this.baseFileName()}.1.incr.aof`, seq: 1, type: "i" }, this.files);
    }
    this.sub = this.server.effects.subscribe({ onEffect: (e) => this.onEffect(e), onGroup: (b) => this.onGroup(b) });
    this.startFsyncTimer();
    this.measureSize();
    this.baseSize = this.currentSize;
  }

  private openExisting(f: ManifestFile): void {
    this.fd = openSync(join(this.dir(), f.name), "a");
    this.incrName = f.name;
    this.lastDb = -1;
    this.lastTs = -1;
  }

  /** Opens a new incr file and records it in the manifest after `keep`. */
  private openIncr(f: ManifestFile, keep: ManifestFile[]): void {
    const fd = openSync(join(this.dir(), f.name), "a");
    this.writeManifest([...keep, f]);
    if (this.fd >= 0) { this.flush(true); closeSync(this.fd); }
    this.fd = fd;
    this.incrName = f.name;
    this.lastDb = -1;
    this.lastTs = -1;
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    if (this.fd >= 0) { this.flush(true); closeSync(this.fd); this.fd = -1; }
    if (this.fsyncTimer) clearInterval(this.fsyncTimer);
    this.fsyncTimer = undefined;
    this.files = [];
  }

  private startFsyncTimer(): void {
    if (this.fsyncTimer) return;
    this.fsyncTimer = setInterval(() => {
      if (this.fd >= 0 && this.server.config.getString("appendfsync") === "everysec") {
        const fd = this.fd;
        fdatasync(fd, () => {});
      }
    }, 1000);
    this.fsyncTimer.unref();
  }

  /** Second of the last "#TS:" annotation written to the current incr file (-1: none yet). */
  private lastTs = -1;

  private encode(e: Effect): Buffer[] {
    const out: Buffer[] = [];
    if (this.server.config.getBool("aof-timestamp-enabled")) {
      const ts = Math.floor(Date.now() / 1000);
      if (ts !== this.lastTs) { out.push(Buffer.from(`#TS:${ts}\r\n`)); this.lastTs = ts; }
    }
    if (e.db !== this.lastDb) {
      out.push(encodeCommand([Buffer.from("SELECT"), Buffer.from(String(e.db))]));
      this.lastDb = e.db;
    }
    out.push(encodeCommand(e.kind === EFFECT_COMMAND ? e.argv : [Buffer.from("DEL"), e.argv[0]]));
    return out;
  }

  private onEffect(e: Effect): void {
    if (this.fd < 0 || this.p.reloading) return;
    const bytes = this.encode(e);
    if (this.group) {
      if (this.group.length === 0) this.groupHead = bytes.length - 1;
      this.group.push(...bytes);
      return;
    }
    this.append(bytes);
  }

  /** How many buffers of the open group come before its first command (#TS, SELECT). */
  private groupHead = 0;

  private onGroup(begin: boolean): void {
    if (this.fd < 0) return;
    if (begin) { this.group = []; return; }
    const g = this.group;
    this.group = null;
    if (!g || g.length === 0) return;
    // MULTI is written in the first command's database, after its SELECT (as Redis writes a
    // transaction); later SELECTs stay inside.
    const head = g.slice(0, this.groupHead);
    this.append([...head, encodeCommand([Buffer.from("MULTI")]), ...g.slice(this.groupHead), encodeCommand([Buffer.from("EXEC")])]);
  }

  /**
   * Writes at once (Redis writes the AOF buffer before any reply of the event-loop turn
   * leaves), fsyncing too under appendfsync always; everysec fsyncs from a timer.
   */
  private append(bytes: Buffer[]): void {
    this.pending.push(...bytes);
    this.flush(this.server.config.getString("appendfsync") === "always");
  }

  /** Writes what is pending (and fsyncs with sync). */
  flush(sync: boolean): void {
    if (this.fd < 0) { this.pending = []; return; }
    if (this.pending.length) {
      const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
      this.pending = [];
      try {
        slowDisk();
        writeSync(this.fd, data);
        this.currentSize += data.length;
        if (!this.lastWriteOk) {
          this.lastWriteOk = true;
          log("warning", "AOF write error looks solved, Redis can write again.");
          this.p.refreshWriteGate();
        }
      } catch (e) {
        // Kept to be retried (the persistence cron) rather than lost: the AOF must hold every
        // acknowledged write; clients' writes are refused (-MISCONF) until it succeeds.
        this.pending.unshift(data);
        this.lastWriteOk = false;
        this.lastWriteError = strerror(e);
        this.p.refreshWriteGate();
        log("warning", `Error writing to the AOF file: ${(e as Error).message}`);
      }
    }
    if (sync) { try { fsyncSync(this.fd); } catch { /* reported by the next write */ } }
  }

  /** The running rewrite's background snapshot (an RDB base), and its number. */
  private rewriteSnap: BackgroundSnapshot | null = null;
  private rewriteGen = 0;
  private rewriteStartedAt = 0;
  private lastRewriteSecs = -1;
  /** BGREWRITEAOF while another background job ran: started by the cron when it ends. */
  rewriteScheduled = false;
  consecutiveFailures = 0;
  /** Size of the AOF (base + incr files) after the last rewrite or load: auto-aof-rewrite's base. */
  baseSize = 0;
  /** Bytes in the AOF now (aof_current_size). */
  currentSize = 0;

  /**
   * BGREWRITEAOF: the dataset now becomes a new base (written in the background, the image
   * of this instant) and writes from now on go to a new incr file; once the base is durable
   * the manifest drops the old files. Null when started, else the error to answer.
   */
  rewrite(): string | null {
    if (this.rewriteInProgress) return "Background append only file rewriting already in progress";
    if (this.fd < 0) {
      // Redis rewrites even with AOF off (a one-off base); we only rewrite a live AOF.
      return null;
    }
    this.rewriteScheduled = false;
    this.flush(true);
    // Base and incr files are numbered apart (Redis's curr_base_file_seq, curr_incr_file_seq).
    const seqOf = (t: string) => Math.max(0, ...this.files.filter((f) => f.type === t).map((f) => f.seq)) + 1;
    const baseSeq = seqOf("b");
    const seq = seqOf("i");
    const preamble = this.server.config.getBool("aof-use-rdb-preamble");
    const base: ManifestFile = { name: `${this.baseFileName()}.${baseSeq}.base.${preamble ? "rdb" : "aof"}`, seq: baseSeq, type: "b" };
    const incr: ManifestFile = { name: `${this.baseFileName()}.${seq}.incr.aof`, seq, type: "i" };
    const old = this.files;
    // From now on writes go to the new incr file, listed after the old files until the new
    // base is durable. The snapshot starts in this same turn: the base holds exactly what
    // the new incr file does not.
    this.openIncr(incr, old);
    this.rewriteInProgress = true;
    this.rewriteStartedAt = Date.now();
    const gen = ++this.rewriteGen;
    const basePath = join(this.dir(), base.name);
    const tmp = join(this.dir(), `temp-rewriteaof-bg-${process.pid}.aof`);
    let done: Promise<boolean>;
    if (preamble) {
      const job = writeSnapshotFile(this.server, tmp, basePath, () => gen === this.rewriteGen);
      this.rewriteSnap = job.snap;
      done = job.ok;
    } else {
      const data = snapshotAofCommands(this.server);
      done = (async () => {
        const fh = await open(basePath, "w");
        try { await fh.writeFile(data); await fh.datasync(); } finally { await fh.close(); }
        return true;
      })().catch((e) => { log("warning", `Background AOF rewrite failed: ${(e as Error).message}`); return false; });
    }
    log("notice", `Background append only file rewriting started by pid ${process.pid}`);
    void done.then((ok) => {
      if (gen !== this.rewriteGen) return;
      this.rewriteSnap = null;
      this.rewriteInProgress = false;
      this.lastRewriteSecs = Math.round((Date.now() - this.rewriteStartedAt) / 1000);
      if (ok && this.fd >= 0 && this.incrName === incr.name) {
        try {
          this.writeManifest([base, ...this.files.filter((f) => f.type === "i" && f.seq >= seq)]);
          for (const f of old) { try { unlinkSync(join(this.dir(), f.name)); } catch { /* gone */ } }
        } catch (e) {
          ok = false;
          log("warning", `Background AOF rewrite failed: ${(e as Error).message}`);
        }
      }
      if (ok) {
        this.rewrites++;
        this.lastRewriteOk = true;
        this.consecutiveFailures = 0;
        this.measureSize();
        this.baseSize = this.currentSize;
        log("notice", "Background AOF rewrite finished successfully");
      } else {
        this.lastRewriteOk = false;
        this.consecutiveFailures++;
        log("warning", "Background AOF rewrite terminated with error");
      }
    });
    return null;
  }

  /** Abandons a running rewrite (FLUSHALL does not; shutdown and CONFIG SET appendonly no do). */
  abortRewrite(): void {
    if (!this.rewriteInProgress) return;
    this.rewriteGen++;
    this.rewriteSnap?.abort();
    this.rewriteSnap = null;
    this.rewriteInProgress = false;
  }

  /**
   * Redis's serverCron check: the AOF has grown auto-aof-rewrite-percentage % over its size
   * after the last rewrite and is over auto-aof-rewrite-min-size. Starts the rewrite.
   */
  autoRewriteDue(): boolean {
    if (this.fd < 0) return false;
    const perc = this.server.config.getNumber("auto-aof-rewrite-percentage");
    if (perc <= 0 || this.currentSize <= this.server.config.getNumber("auto-aof-rewrite-min-size")) return false;
    const base = this.baseSize > 0 ? this.baseSize : 1;
    const growth = Math.floor((this.currentSize * 100) / base) - 100;
    if (growth < perc) return false;
    log("notice", `Starting automatic rewriting of AOF on ${growth}% growth`);
    this.rewrite();
    return true;
  }

  /** aof_current_size: the files the manifest lists. */
  measureSize(): void {
    let n = 0;
    for (const f of this.files) { try { n += statSync(join(this.dir(), f.name)).size; } catch { /* gone */ } }
    this.currentSize = n;
  }

  /** The fields INFO persistence shows while the AOF is on. */
  sizeFields(): [string, string | number][] {
    if (this.fd < 0) return [];
    return [
      ["aof_current_size", this.currentSize],
      ["aof_base_size", this.baseSize],
      ["aof_pending_rewrite", this.rewriteScheduled ? 1 : 0],
      ["aof_buffer_length", 0],
      ["aof_pending_bio_fsync", 0],
      ["aof_delayed_fsync", 0],
    ];
  }

  infoFields(): [string, string | number][] {
    return [
      ["aof_enabled", this.enabled ? 1 : 0],
      ["aof_rewrite_in_progress", this.rewriteInProgress ? 1 : 0],
      ["aof_rewrite_scheduled", this.rewriteScheduled ? 1 : 0],
      ["aof_last_rewrite_time_sec", this.lastRewriteSecs],
      ["aof_current_rewrite_time_sec", this.rewriteInProgress ? Math.round((Date.now() - this.rewriteStartedAt) / 1000) : -1],
      ["aof_last_bgrewrite_status", this.lastRewriteOk ? "ok" : "err"],
      ["aof_rewrites", this.rewrites],
      ["aof_rewrites_consecutive_failures", this.consecutiveFailures],
      ["aof_last_write_status", this.lastWriteOk ? "ok" : "err"],
      ["aof_last_cow_size", 0],
    ];
  }
}

/**
 * A base file for aof-use-rdb-preamble no: the dataset as commands. Each key is one
 * RESTORE of its DUMP payload (with ABSTTL), which replays exactly for every type.
 */
function snapshotAofCommands(server: Server): Buffer {
  const parts: Buffer[] = [];
  if (server.config.getBool("aof-timestamp-enabled")) parts.push(Buffer.from(`#TS:${Math.floor(Date.now() / 1000)}\r\n`));
  const databases = server.config.getNumber("databases");
  for (let db = 0; db < databases; db++) {
    let selected = false;
    for (const { key, stored } of snapshotKeys(server, db)) {
      if (!selected) { parts.push(encodeCommand([Buffer.from("SELECT"), Buffer.from(String(db))])); selected = true; }
      const argv = [Buffer.from("RESTORE"), key, Buffer.from(String(Math.max(0, stored.expireAt))), createDumpPayload(stored.value)];
      if (stored.expireAt >= 0) argv.push(Buffer.from("ABSTTL"));
      parts.push(encodeCommand(argv));
    }
  }
  return Buffer.concat(parts);
}

/** The base of a new AOF: an RDB (aof-use-rdb-preamble yes, the default) or commands. */
function snapshotBase(server: Server): { data: Buffer; ext: string } {
  return server.config.getBool("aof-use-rdb-preamble") ? { data: snapshotRdb(server).data, ext: "rdb" } : { data: snapshotAofCommands(server), ext: "aof" };
}

function writeFileDurable(path: string, data: Buffer): void {
  const fd = openSync(path, "w");
  try { writeSync(fd, data); fsyncSync(fd); } finally { closeSync(fd); }
}

/** C's strerror() text for a Node fs error (Redis's messages quote it). */
function strerror(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case "ENOSPC": return "No space left on device";
    case "EBADF": return "Bad file descriptor";
    case "EIO": return "Input/output error";
    case "EACCES": return "Permission denied";
    case "EROFS": return "Read-only file system";
    case "EDQUOT": return "Disk quota exceeded";
  }
  return err.message;
}

/** A file the manifest lists; one missing or unreadable stops the load with Redis's log line. */
function readAofFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const name = path.split("/").pop();
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new AofFormatError(`The append log file ${name} doesn't exist: No such file or directory`);
    throw new AofFormatError(`Fatal error: can't open the append log file ${name} for reading: ${strerror(e)}`);
  }
}
