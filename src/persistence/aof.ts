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
// BGREWRITEAOF (Redis 7.0's life cycle, aof.c): from this instant effects go to a new incr
// file, listed in the manifest at once; a background snapshot of the same instant is
// written by a child process (bgsave.ts, child-writer.ts) and, when it succeeds, becomes
// the new base; the old base and the incr files it covers become history, removed unless
// aof-disable-auto-gc. A failed rewrite leaves its incr file listed.
//
// An active-active node's AOF also carries its CRDT state: in the base, and as `#CRDT`
// annotation lines after the commands of each write (aof-crdt.ts).
import { catRepr } from "../util/repr.js";
import { slowDisk } from "../server/faults.js";
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync, fdatasync } from "node:fs";
import { writeFileDurable } from "../util/write-durable.js";
import { open } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Server } from "../server/server.js";
import { EFFECT_COMMAND, PROPAGATE_AOF, type Effect, type KernelRecord, type Subscription } from "../server/effects.js";
import { log } from "../server/log.js";
import { snapshotRdb, snapshotKeys, functionsHook, crdtStateHook } from "./rdb-file.js";
import { aofCrdtHook, crdtLines, CrdtLineReader } from "./aof-crdt.js";
import { rewriteKeyCommands } from "./aof-rewrite.js";
import { encodeCommand as encodeArgv } from "../server/shard.js";
import { deletionArgv } from "../server/propagate-deletion.js";
import type { Persistence } from "./persistence.js";
import { startBackgroundWrite, type BackgroundJob, type BackgroundSnapshot, type JobResult, type KeyPieces } from "./bgsave.js";
import { SIGUSR1 } from "./child-writer.js";
import { AofFormatError, AofReplay, scanAof } from "./aof-replay.js";

interface ManifestFile { name: string; seq: number; type: "b" | "i" | "h" }

/**
 * One step of loading: the bytes read so far, or a promise to wait for before the next
 * step (a script replayed from the AOF that pauses for the event loop).
 */
export type LoadStep = number | Promise<void>;

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
  return /[\s"'\\]|[^\x21-\x7e]/.test(name) ? catRepr(name) : name;
}

function formatManifest(files: ManifestFile[]): string {
  return files.map((f) => `file ${reprName(f.name)} seq ${f.seq} type ${f.type}\n`).join("");
}

/** RESP encoding of one command (the shards' encoder: one pooled Buffer, no per-part Buffers). */
function encodeCommand(argv: Uint8Array[]): Buffer {
  return encodeArgv(argv) as Buffer;
}

export { AofFormatError };

/** Redis's aof_state: on, off, or waiting for the first rewrite after CONFIG SET appendonly yes. */
export type AofState = "off" | "on" | "wait_rewrite";

/**
 * Redis's aofManifest: the base, the history (files a rewrite replaced, kept until the
 * history is removed: aof-disable-auto-gc), the incr files, and the last sequence numbers
 * given to a base and to an incr file. It lives in memory whether the AOF is on or off,
 * so numbering goes on across CONFIG SET appendonly no / yes.
 */
interface Manifest {
  base: ManifestFile | null;
  history: ManifestFile[];
  incrs: ManifestFile[];
  baseSeq: number;
  incrSeq: number;
}

function emptyManifest(): Manifest { return { base: null, history: [], incrs: [], baseSeq: 0, incrSeq: 0 }; }

function manifestOf(files: ManifestFile[]): Manifest {
  const m = emptyManifest();
  for (const f of files) {
    if (f.type === "b") { m.base = f; m.baseSeq = f.seq; }
    else if (f.type === "i") { m.incrs.push(f); m.incrSeq = f.seq; }
    else m.history.push(f);
  }
  return m;
}

/** The manifest's lines in Redis's order: base, history, incr files. */
function manifestLines(m: Manifest): ManifestFile[] {
  return [...(m.base ? [m.base] : []), ...m.history, ...m.incrs];
}

function dupManifest(m: Manifest): Manifest {
  return { base: m.base, history: [...m.history], incrs: [...m.incrs], baseSeq: m.baseSeq, incrSeq: m.incrSeq };
}

/** Consecutive failed rewrites after which automatic ones back off (aofRewriteLimited). */
const AOF_REWRITE_LIMIT_THRESHOLD = 3;
const AOF_REWRITE_LIMIT_MAX_MINUTES = 60;

export class Aof {
  /** Redis's aof_state. */
  state: AofState = "off";
  /** The incr file written to (or the temp incr file while waiting for the first rewrite). */
  private fd = -1;
  private lastDb = -1;
  private sub?: Subscription;
  /** Effects of an open group (EXEC, script): written as MULTI ... EXEC when it ends. */
  private group: Buffer[] | null = null;
  private pending: Buffer[] = [];
  private fsyncTimer?: NodeJS.Timeout;
  rewrites = 0;
  lastRewriteOk = true;
  lastWriteOk = true;
  /** strerror() of the last failed write (the -MISCONF error says it). */
  lastWriteError = "";
  private manifest: Manifest = emptyManifest();

  constructor(private readonly server: Server, private readonly p: Persistence) {}

  /** appendonly is on (INFO aof_enabled): writing, or waiting for the first rewrite. */
  get enabled(): boolean { return this.state !== "off"; }

  get rewriteInProgress(): boolean { return this.job !== null; }

  private dir(): string { return resolve(this.server.config.getString("appenddirname")); }
  private baseFileName(): string { return this.server.config.getString("appendfilename"); }
  private manifestPath(): string { return join(this.dir(), `${this.baseFileName()}.manifest`); }
  /** Redis's getTempIncrAofName: where writes go until the first rewrite after appendonly yes. */
  private tempIncrName(): string { return `temp-${this.baseFileName()}.incr`; }

  /** persistAofManifest: written to a temp file, fsynced, renamed over the manifest. */
  private persistManifest(m: Manifest): void {
    mkdirSync(this.dir(), { recursive: true });
    const tmp = join(this.dir(), `temp-${this.baseFileName()}.manifest`);
    writeFileDurable(tmp, formatManifest(manifestLines(m)));
    renameSync(tmp, this.manifestPath());
    this.manifest = m;
  }

  /** getNewBaseFileNameAndMarkPreAsHistory. */
  private newBase(m: Manifest): ManifestFile {
    if (m.base) m.history.unshift({ ...m.base, type: "h" });
    const ext = this.server.config.getBool("aof-use-rdb-preamble") ? "rdb" : "aof";
    m.baseSeq++;
    m.base = { name: `${this.baseFileName()}.${m.baseSeq}.base.${ext}`, seq: m.baseSeq, type: "b" };
    return m.base;
  }

  /** getNewIncrAofName. */
  private newIncr(m: Manifest): ManifestFile {
    m.incrSeq++;
    const f: ManifestFile = { name: `${this.baseFileName()}.${m.incrSeq}.incr.aof`, seq: m.incrSeq, type: "i" };
    m.incrs.push(f);
    return f;
  }

  /**
   * markRewrittenIncrAofAsHistory: after a rewrite, the incr files it covers become history
   * (all of them with the AOF off; all but the one being written with it on).
   */
  private markIncrsAsHistory(m: Manifest): void {
    const keep = this.fd >= 0 && this.state === "on" ? m.incrs.slice(-1) : [];
    const gone = this.fd >= 0 && this.state === "on" ? m.incrs.slice(0, -1) : m.incrs;
    for (let i = gone.length - 1; i >= 0; i--) m.history.unshift({ ...gone[i], type: "h" });
    m.incrs = keep;
  }

  /**
   * aofDelHistoryFiles: removes the history files and drops them from the manifest, unless
   * aof-disable-auto-gc is set.
   */
  delHistoryFiles(): void {
    if (this.server.config.getBool("aof-disable-auto-gc") || this.manifest.history.length === 0) return;
    for (const f of this.manifest.history) {
      log("notice", `Removing the history file ${f.name} in the background`);
      try { unlinkSync(join(this.dir(), f.name)); } catch { /* gone */ }
    }
    const m = dupManifest(this.manifest);
    m.history = [];
    try { this.persistManifest(m); } catch (e) { log("warning", `Can't persist the AOF manifest: ${(e as Error).message}`); }
  }

  /**
   * aofLoadManifestFromDisk (start-up, DEBUG LOADAOF): the manifest on disk becomes the one
   * in memory, or an empty one when there is none.
   */
  loadManifestFromDisk(): void {
    const mp = this.manifestPath();
    this.manifest = existsSync(mp) ? manifestOf(parseManifest(readFileSync(mp, "latin1"))) : emptyManifest();
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
    this.persistManifest(manifestOf([{ name, seq: 1, type: "b" }, ...files.filter((f) => f.type === "h")]));
    renameSync(resolve(name), join(this.dir(), name));
    log("notice", `Successfully migrated an old-style AOF file (${name}) into the AOF directory (${this.server.config.getString("appenddirname")}).`);
  }

  /** When one of the AOF's files was last written (ms since the epoch; 0 if it cannot be read). */
  fileTime(name: string): number {
    try { return statSync(join(this.dir(), name)).mtimeMs; } catch { return 0; }
  }

  /** The base's RDB preamble's snapshot time (its ctime, ms) when the base is that alone; else 0 (loadSteps). */
  private baseSnapshotMs = 0;

  /**
   * The moment whose state the AOF's files (as loaded: manifestFiles) hold, in ms
   * (persistence.ts startupFileTime). Every write is appended in order, so the files hold
   * everything up to their last write: the newest incr file's mtime. The base is older than
   * the incr files (a rewrite opens the new incr file in the turn its snapshot starts:
   * rewrite), and written after its snapshot began, so its mtime is too late: with no incr
   * file, an RDB preamble's ctime says when its state was current.
   */
  contentTime(files: ManifestFile[]): number {
    const incrs = files.filter((f) => f.type === "i");
    if (incrs.length > 0) return Math.max(0, ...incrs.map((f) => this.fileTime(f.name)));
    const base = files.find((f) => f.type === "b");
    if (!base) return 0;
    const mtime = this.fileTime(base.name);
    return this.baseSnapshotMs > 0 ? Math.min(this.baseSnapshotMs, mtime) : mtime;
  }

  /** The AOF's files in replay order (from the manifest in memory), and their total size. */
  manifestFiles(): { files: ManifestFile[]; bytes: number } | null {
    const m = this.manifest;
    if (!m.base && m.incrs.length === 0) return null;
    const files = [...(m.base ? [m.base] : []), ...m.incrs];
    let bytes = 0;
    for (const f of files) { try { bytes += statSync(join(this.dir(), f.name)).size; } catch { /* reported when read */ } }
    return { files, bytes };
  }

  /**
   * Loading the AOF one key or command at a time (start-up loads between event-loop turns,
   * serving -LOADING meanwhile); yields the bytes read so far. False when there is no AOF.
   * `boot`: the start-up load, which also reads active-active's state (aof-crdt.ts).
   */
  *loadSteps(boot = false): Generator<LoadStep, boolean> {
    const m = this.manifestFiles();
    if (!m) return false;
    const files = m.files;
    const base = files.find((f) => f.type === "b");
    const incrs = files.filter((f) => f.type === "i");
    this.replayed = 0;
    let done = 0;
    this.baseSnapshotMs = 0;
    if (base) {
      const buf = readAofFile(join(this.dir(), base.name));
      if (buf.toString("latin1", 0, 5) === "REDIS") {
        // An RDB preamble; an old-style AOF (upgraded into the dir) may go on with commands.
        const it = this.p.rdbLoadSteps(buf, { aofPreamble: true, crdtState: boot });
        let r = it.next();
        for (; !r.done; r = it.next()) yield done + r.value;
        if (r.value >= buf.length) this.baseSnapshotMs = this.p.snapshotCtimeMs;
        if (r.value < buf.length) {
          for (const pos of this.replayFile(join(this.dir(), base.name), incrs.length === 0, boot, buf, r.value)) {
            yield typeof pos === "number" ? done + pos : pos;
          }
        }
      } else {
        for (const pos of this.replayFile(join(this.dir(), base.name), false, boot, buf)) {
          yield typeof pos === "number" ? done + pos : pos;
        }
      }
      done += buf.length;
    }
    for (let i = 0; i < incrs.length; i++) {
      let size = 0;
      for (const pos of this.replayFile(join(this.dir(), incrs[i].name), i === incrs.length - 1, boot)) {
        if (typeof pos !== "number") { yield pos; continue; }
        size = pos; yield done + pos;
      }
      done += size;
    }
    log("notice", `DB loaded from append only file: ${this.replayed} commands`);
    return true;
  }

  /**
   * Replays one file's commands (aof-replay.ts), yielding the offset reached as it goes; a
   * truncated tail is cut off (last file, aof-load-truncated) or fatal.
   */
  private *replayFile(path: string, last: boolean, boot: boolean, file?: Buffer, from = 0): Generator<LoadStep, void> {
    const buf = file ?? readAofFile(path);
    const { validLen, truncated } = scanAof(buf, from);
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
    const replay = new AofReplay(this.server, path.split("/").pop()!, boot ? new CrdtLineReader(this.server) : undefined);
    try {
      yield* replay.run(buf, from, validLen);
    } finally {
      this.replayed += replay.commands;
    }
  }

  /** Commands replayed by this load so far (loadSteps' log line). */
  private replayed = 0;

  /**
   * Start-up with appendonly yes (aofOpenIfNeededOnServerStart), after loading: an empty
   * AOF gets a base of the dataset now (written synchronously, as Redis does), then the last
   * incr file is opened for appending, or a new one created, and the manifest persisted.
   */
  startOnBoot(): void {
    mkdirSync(this.dir(), { recursive: true });
    const m = dupManifest(this.manifest);
    if (!m.base && m.incrs.length === 0) {
      const base = this.newBase(m);
      const snap = snapshotBase(this.server);
      writeFileDurable(join(this.dir(), base.name), snap.data);
      log("notice", `Creating AOF base file ${base.name} on server start`);
    }
    const opening = m.incrs.length > 0;
    const incr = opening ? m.incrs[m.incrs.length - 1] : this.newIncr(m);
    this.fd = openSync(join(this.dir(), incr.name), "a");
    this.persistManifest(m);
    log("notice", `${opening ? "Opening" : "Creating"} AOF incr file ${incr.name} on server start`);
    this.state = "on";
    this.lastDb = -1;
    this.lastTs = -1;
    this.subscribe();
    this.measureSize();
    this.baseSize = this.currentSize;
  }

  private subscribe(): void {
    if (!this.sub) this.sub = this.server.effects.subscribe({ onEffect: (e) => this.onEffect(e), onKernelRecord: (r) => this.onKernelRecord(r), onGroup: (b) => this.onGroup(b) });
    this.startFsyncTimer();
  }

  /**
   * CONFIG SET appendonly yes (startAppendOnly): the AOF waits for a rewrite, which starts
   * now unless another background job runs or a transaction is executing (then scheduled).
   * Until it succeeds, writes go to a temp incr file that the manifest does not list.
   */
  enable(): void {
    if (this.state !== "off") return;
    this.state = "wait_rewrite";
    this.subscribe();
    if (this.p.bgsaveInProgress) {
      this.rewriteScheduled = true;
      log("warning", "AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
    } else if (this.server.effects.inGroup) {
      this.rewriteScheduled = true;
      log("warning", "AOF was enabled during a transaction. An AOF background was scheduled to start when possible.");
    } else {
      if (this.job) {
        log("warning", "AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.");
        this.killChild();
      }
      if (this.rewrite() !== null) {
        this.state = "off";
        this.unsubscribe();
        log("warning", "Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
      }
    }
  }

  /** CONFIG SET appendonly no (stopAppendOnly): the files stay, the manifest in memory too. */
  disable(): void {
    if (this.state === "off") return;
    if (this.fd >= 0) {
      this.flush(true);
      closeSync(this.fd);
      this.fd = -1;
    }
    this.lastDb = -1;
    this.state = "off";
    this.rewriteScheduled = false;
    this.killChild();
    this.unsubscribe();
  }

  private unsubscribe(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    if (this.fsyncTimer) clearInterval(this.fsyncTimer);
    this.fsyncTimer = undefined;
    this.pending = [];
    this.group = null;
  }

  /** Shutdown: what is pending is written and fsynced, a running rewrite is abandoned. */
  stop(): void {
    if (this.fd >= 0) { this.flush(true); closeSync(this.fd); this.fd = -1; }
    this.killChild();
    this.unsubscribe();
    this.state = "off";
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

  /** What goes before a command of database db: a "#TS:" annotation when due, a SELECT when db changes. */
  private head(db: number): Buffer[] {
    const out: Buffer[] = [];
    if (this.server.config.getBool("aof-timestamp-enabled")) {
      const ts = Math.floor(Date.now() / 1000);
      if (ts !== this.lastTs) { out.push(Buffer.from(`#TS:${ts}\r\n`)); this.lastTs = ts; }
    }
    if (db !== this.lastDb) {
      out.push(encodeCommand([Buffer.from("SELECT"), Buffer.from(String(db))]));
      this.lastDb = db;
    }
    return out;
  }

  /**
   * feedAppendOnlyFile: written while the AOF is on, or while it waits for its first
   * rewrite and that rewrite runs (into the temp incr file); otherwise dropped.
   */
  private onEffect(e: Effect): void {
    if (!this.takes(e)) return;
    const bytes = this.head(e.db);
    bytes.push(encodeCommand(e.kind === EFFECT_COMMAND ? e.argv : deletionArgv(this.server.config, e)));
    this.feed(bytes);
  }

  /**
   * onEffect() of a kernel write, encoded from its record in the kernel's log with no Effect
   * or argv Buffers made for it; while every consumer reads records so, the bus reads the log
   * in place rather than copying it after each kernel call. Anything else goes to onEffect.
   */
  private onKernelRecord(r: KernelRecord): void {
    if (r.kind !== EFFECT_COMMAND) return this.onEffect(r.toEffect());
    if (!this.takes(r)) return;
    const bytes = this.head(r.db);
    const cmd = Buffer.allocUnsafe(r.respSize());
    r.putResp(cmd, 0);
    bytes.push(cmd);
    this.feed(bytes);
  }

  /** Whether the AOF takes writes now (active-active keeps its CRDT writes for it only then: aof-crdt.ts). */
  get takesWrites(): boolean { return this.fd >= 0 && !this.p.reloading; }

  /** Active-active has CRDT writes for the file (aof-crdt.ts): the next write takes them. */
  private crdtDue = false;

  /**
   * Active-active recorded CRDT writes: they are written after the commands pending, as
   * those are (before the read's first reply, or now outside a read).
   */
  crdtChanged(): void {
    if (!this.takesWrites) return;
    this.crdtDue = true;
    this.writeSoon();
  }

  /** Whether a write (an Effect, or a kernel record as one) goes into the AOF now. */
  private takes(w: { fanOutPart?: boolean; targets?: number }): boolean {
    if (!this.takesWrites) return false;
    // A keyspace-wide command is written once, with its last shard's run.
    if (w.fanOutPart) return false;
    // redis.set_repl(redis.REPL_NONE / REPL_REPLICA) kept it out of the AOF.
    return w.targets === undefined || (w.targets & PROPAGATE_AOF) !== 0;
  }

  /** A command's bytes (after its head) into the open group, or to be written. */
  private feed(bytes: Buffer[]): void {
    if (this.group) {
      if (this.group.length === 0) this.groupHead = bytes.length - 1;
      this.group.push(...bytes);
      this.groupCommands++;
      return;
    }
    this.append(bytes);
  }

  /** How many buffers of the open group come before its first command (#TS, SELECT). */
  private groupHead = 0;
  /** How many commands the open group holds. */
  private groupCommands = 0;

  private onGroup(begin: boolean): void {
    if (this.fd < 0) { this.group = null; return; }
    if (begin) { this.group = []; this.groupCommands = 0; return; }
    const g = this.group;
    this.group = null;
    if (!g || g.length === 0) return;
    // One command needs no MULTI: Redis 7.0 wraps what one call propagates only when it is
    // more than one command (propagatePendingCommands), an EXEC or a script's too.
    if (this.groupCommands === 1) { this.append(g); return; }
    // MULTI is written in the first command's database, after its SELECT (as Redis writes a
    // transaction); later SELECTs stay inside.
    const head = g.slice(0, this.groupHead);
    this.append([...head, encodeCommand([Buffer.from("MULTI")]), ...g.slice(this.groupHead), encodeCommand([Buffer.from("EXEC")])]);
  }

  /**
   * Writes before any reply of the read that made it leaves (Redis writes the AOF buffer
   * once per event-loop turn, before any reply: src/server/reply-fence.ts), or at the end
   * of the task outside a read; fsyncing too under appendfsync always; everysec fsyncs from a timer.
   */
  private append(bytes: Buffer[]): void {
    this.pending.push(...bytes);
    this.writeSoon();
  }

  /** What is pending goes out before the read's first reply, or at the end of the task outside a read. */
  private writeSoon(): void {
    this.server.replyFence.defer(this.writePending);
  }

  private readonly writePending = (): void => {
    this.flush(this.server.config.getString("appendfsync") === "always");
  };

  /** Writes what is pending (and fsyncs with sync). */
  flush(sync: boolean): void {
    if (this.fd < 0) { this.pending = []; return; }
    if (this.crdtDue) {
      this.crdtDue = false;
      for (const piece of aofCrdtHook.take(this.server)) this.pending.push(crdtLines(piece));
    }
    if (this.pending.length) {
      const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
      this.pending = [];
      try {
        const writeStart = performance.now();
        slowDisk();
        writeSync(this.fd, data);
        // flushAppendOnlyFile's latency events (no fsync runs in the background here).
        const latency = this.server.latency;
        latency.sampleSince(this.p.bgsaveInProgress || this.rewriteInProgress ? "aof-write-active-child" : "aof-write-alone", writeStart, 0);
        latency.sampleSince("aof-write", writeStart, 0);
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
    if (sync) {
      const fsyncStart = performance.now();
      try { fsyncSync(this.fd); } catch { /* reported by the next write */ }
      if (this.server.config.getString("appendfsync") === "always") this.server.latency.sampleSince("aof-fsync-always", fsyncStart, 0);
    }
  }

  /** The running rewrite: its child writer and snapshot. */
  private job: BackgroundJob | null = null;
  private rewriteStartedAt = 0;
  private lastRewriteSecs = -1;
  /** BGREWRITEAOF while another background job ran: started by the cron when it ends. */
  rewriteScheduled = false;
  consecutiveFailures = 0;
  /** Size of the AOF (base + incr files) after the last rewrite or load: auto-aof-rewrite's base. */
  baseSize = 0;
  /** Bytes in the AOF now (aof_current_size). */
  currentSize = 0;
  /** aofRewriteLimited's backoff: minutes of the last delay, and when the next try may run. */
  private limitDelayMinutes = 0;
  private limitNextTry = 0;

  /** The rewrite child's pid, or -1. */
  childPid(): number { return this.job?.pid ?? -1; }

  /** The running rewrite's snapshot (INFO's progress fields), if any. */
  get snapshot(): BackgroundSnapshot | null { return this.job?.snap ?? null; }

  /**
   * openNewIncrAofForAppend: with the AOF on, writes from now on go to a new incr file,
   * listed in the manifest at once; while waiting for the first rewrite, to the temp incr
   * file; with the AOF off, nowhere.
   */
  private openNewIncrForAppend(): void {
    if (this.state === "off") return;
    let name: string;
    let m: Manifest | null = null;
    if (this.state === "wait_rewrite") name = this.tempIncrName();
    else { m = dupManifest(this.manifest); name = this.newIncr(m).name; }
    const fd = openSync(join(this.dir(), name), "w");
    if (m) {
      try { this.persistManifest(m); } catch (e) { closeSync(fd); throw e; }
    }
    log("notice", `Creating AOF incr file ${name} on background rewrite`);
    if (this.fd >= 0) { this.flush(true); closeSync(this.fd); }
    this.fd = fd;
    this.lastDb = -1;
    this.lastTs = -1;
  }

  /**
   * BGREWRITEAOF (rewriteAppendOnlyFileBackground): a child writes the dataset as of now as
   * a new base while writes go to a new incr file; when it succeeds, the base replaces the
   * old one and the incr files it covers become history. Null when started, else the error.
   */
  rewrite(): string | null {
    if (this.job) return "Background append only file rewriting already in progress";
    try {
      mkdirSync(this.dir(), { recursive: true });
    } catch (e) {
      log("warning", `Can't open or create append-only dir ${this.server.config.getString("appenddirname")}: ${strerror(e)}`);
      this.lastRewriteOk = false;
      return "ERR";
    }
    this.lastDb = -1;
    this.flush(true);
    try {
      this.openNewIncrForAppend();
    } catch (e) {
      log("warning", `Can't open new incr AOF: ${(e as Error).message}`);
      this.lastRewriteOk = false;
      return "ERR";
    }
    this.rewrites++;
    // The snapshot starts in this same turn as the new incr file: the base holds exactly
    // what the incr file does not.
    const tmp = resolve(`temp-rewriteaof-bg-${process.pid}.aof`);
    const preamble = this.server.config.getBool("aof-use-rdb-preamble");
    const t0 = performance.now();
    // (with active-active's state of the same instant: aof-crdt.ts)
    const job = startBackgroundWrite(this.server, tmp, null, preamble ? "snapshot" : snapshotAofCommands(this.server), undefined, true);
    this.p.forked(t0);
    this.job = job;
    this.rewriteScheduled = false;
    this.rewriteStartedAt = Date.now();
    log("notice", `Background append only file rewriting started by pid ${job.pid}`);
    void job.result.then((res) => { if (this.job === job) this.rewriteDone(job, tmp, res); });
    return null;
  }

  /**
   * A rewrite now, or once the running child ends (as BGREWRITEAOF schedules one); none with
   * the AOF off. Active-active asks for one when its file's states were dropped (aof-crdt.ts).
   */
  rewriteSoon(): void {
    if (this.state === "off") return;
    if (this.rewriteInProgress || this.p.bgsaveInProgress || this.server.effects.inGroup || this.rewrite() !== null) this.rewriteScheduled = true;
  }

  /** backgroundRewriteDoneHandler. */
  private rewriteDone(job: BackgroundJob, tmp: string, res: JobResult): void {
    this.job = null;
    this.p.childDone();
    if (res.ok) {
      log("notice", "Background AOF rewrite terminated with success");
      this.installRewrite(tmp);
    } else if (res.signal === null) {
      log("warning", res.error);
      this.rewriteFailed();
      log("warning", "Background AOF rewrite terminated with error");
    } else {
      if (res.signal !== SIGUSR1) this.rewriteFailed();
      log("warning", `Background AOF rewrite terminated by signal ${res.signal}`);
    }
    try { unlinkSync(tmp); } catch { /* renamed or never written */ }
    if (this.state === "wait_rewrite") {
      // Failed: the temp incr file's writes are in no base; the next rewrite starts over.
      if (this.fd >= 0) { closeSync(this.fd); this.fd = -1; }
      this.pending = [];
      this.delTempIncr();
      this.rewriteScheduled = true;
    }
    this.lastRewriteSecs = Math.round((Date.now() - this.rewriteStartedAt) / 1000);
    void job;
  }

  private rewriteFailed(): void {
    this.lastRewriteOk = false;
    this.consecutiveFailures++;
  }

  private delTempIncr(): void {
    log("notice", `Removing the temp incr aof file ${this.tempIncrName()} in the background`);
    try { unlinkSync(join(this.dir(), this.tempIncrName())); } catch { /* gone */ }
  }

  /** The successful half of backgroundRewriteDoneHandler: the new base goes in. */
  private installRewrite(tmp: string): void {
    const m = dupManifest(this.manifest);
    const base = this.newBase(m);
    const basePath = join(this.dir(), base.name);
    try {
      renameSync(tmp, basePath);
    } catch (e) {
      log("warning", `Error trying to rename the temporary AOF file ${tmp.split("/").pop()} into ${base.name}: ${strerror(e)}`);
      this.rewriteFailed();
      return;
    }
    let incrPath: string | null = null;
    if (this.state === "wait_rewrite") {
      const incr = this.newIncr(m);
      incrPath = join(this.dir(), incr.name);
      try {
        renameSync(join(this.dir(), this.tempIncrName()), incrPath);
      } catch (e) {
        log("warning", `Error trying to rename the temporary incr AOF file ${this.tempIncrName()} into ${incr.name}: ${strerror(e)}`);
        try { unlinkSync(basePath); } catch { /* gone */ }
        this.rewriteFailed();
        return;
      }
    }
    const wasWaiting = this.state === "wait_rewrite";
    if (wasWaiting) this.state = "on";
    this.markIncrsAsHistory(m);
    try {
      this.persistManifest(m);
    } catch (e) {
      log("warning", `Can't persist the AOF manifest: ${(e as Error).message}`);
      try { unlinkSync(basePath); } catch { /* gone */ }
      if (incrPath) { try { unlinkSync(incrPath); } catch { /* gone */ } }
      if (wasWaiting) this.state = "wait_rewrite";
      this.rewriteFailed();
      return;
    }
    if (this.fd >= 0) {
      this.lastDb = -1;
      this.measureSize();
      this.baseSize = this.currentSize;
    }
    this.delHistoryFiles();
    this.lastRewriteOk = true;
    this.consecutiveFailures = 0;
    log("notice", "Background AOF rewrite finished successfully");
  }

  /** Stops a running rewrite (killAppendOnlyChild): its child gets SIGUSR1, no error. */
  killChild(): void {
    const job = this.job;
    if (!job) return;
    log("notice", `Killing running AOF rewrite child: ${job.pid}`);
    this.job = null;
    this.p.childDone();
    job.kill();
    try { unlinkSync(resolve(`temp-rewriteaof-bg-${process.pid}.aof`)); } catch { /* gone */ }
    if (this.state === "wait_rewrite" && this.fd >= 0) { closeSync(this.fd); this.fd = -1; this.delTempIncr(); }
  }

  /** Abandons a running rewrite (shutdown, CONFIG SET appendonly no). */
  abortRewrite(): void { this.killChild(); }

  /**
   * aofRewriteLimited: after AOF_REWRITE_LIMIT_THRESHOLD consecutive failures, automatic and
   * scheduled rewrites wait 1, 2, 4 ... up to 60 minutes between tries.
   */
  rewriteLimited(): boolean {
    if (this.consecutiveFailures < AOF_REWRITE_LIMIT_THRESHOLD) {
      this.limitDelayMinutes = 0;
      this.limitNextTry = 0;
      return false;
    }
    const now = Date.now();
    if (this.limitNextTry !== 0) {
      if (now < this.limitNextTry) return true;
      this.limitNextTry = 0;
      return false;
    }
    this.limitDelayMinutes = this.limitDelayMinutes === 0 ? 1 : Math.min(this.limitDelayMinutes * 2, AOF_REWRITE_LIMIT_MAX_MINUTES);
    this.limitNextTry = now + this.limitDelayMinutes * 60_000;
    log("warning", `Background AOF rewrite has repeatedly failed and triggered the limit, will retry in ${this.limitDelayMinutes} minutes`);
    return true;
  }

  /**
   * Redis's serverCron check: the AOF has grown auto-aof-rewrite-percentage % over its size
   * after the last rewrite and is over auto-aof-rewrite-min-size. Starts the rewrite.
   */
  autoRewriteDue(): boolean {
    if (this.state !== "on") return false;
    const perc = this.server.config.getNumber("auto-aof-rewrite-percentage");
    if (perc <= 0 || this.currentSize <= this.server.config.getNumber("auto-aof-rewrite-min-size")) return false;
    const base = this.baseSize > 0 ? this.baseSize : 1;
    const growth = Math.floor((this.currentSize * 100) / base) - 100;
    if (growth < perc || this.rewriteLimited()) return false;
    log("notice", `Starting automatic rewriting of AOF on ${growth}% growth`);
    this.rewrite();
    return true;
  }

  /** aof_current_size: the base and incr files the manifest lists. */
  measureSize(): void {
    let n = 0;
    for (const f of [...(this.manifest.base ? [this.manifest.base] : []), ...this.manifest.incrs]) {
      try { n += statSync(join(this.dir(), f.name)).size; } catch { /* gone */ }
    }
    this.currentSize = n;
  }

  /** The fields INFO persistence shows while the AOF is on. */
  sizeFields(): [string, string | number][] {
    if (this.state === "off") return [];
    return [
      ["aof_current_size", this.currentSize],
      ["aof_base_size", this.baseSize],
      ["aof_pending_rewrite", this.rewriteScheduled ? 1 : 0],
      // Redis's aof_buf: what this turn's commands appended and flushAppendOnlyFile has not
      // written yet. Here, what a read's commands wait to write before its first reply.
      ["aof_buffer_length", this.pending.reduce((n, b) => n + b.length, 0)],
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
 * A base file for aof-use-rdb-preamble no: the dataset as commands. The function libraries
 * come first, one FUNCTION LOAD each (Redis's rewriteFunctions); then each db's keys as the
 * commands that build them (aof-rewrite.ts), expired keys too, as Redis writes them (their
 * PEXPIREAT is in the past, so they are gone again once loaded). As pieces: what comes before
 * the keys, then each key's commands (bgsave.ts startBackgroundWrite paces them by
 * rdb-key-save-delay, as Redis's rewriteAppendOnlyFileRio waits per key); on a replicating
 * node, its CRDT state of the same moment after them (aof-crdt.ts).
 */
function snapshotAofCommands(server: Server): KeyPieces {
  const prelude: Buffer[] = [];
  if (server.config.getBool("aof-timestamp-enabled")) prelude.push(Buffer.from(`#TS:${Math.floor(Date.now() / 1000)}\r\n`));
  for (const code of functionsHook.save(server)) prelude.push(encodeCommand([Buffer.from("FUNCTION"), Buffer.from("LOAD"), code]));
  const keys: Buffer[] = [];
  const databases = server.config.getNumber("databases");
  for (let db = 0; db < databases; db++) {
    let selected = false;
    for (const { key, stored } of snapshotKeys(server, db, true)) {
      const cmds: Buffer[] = [];
      if (!selected) { cmds.push(encodeCommand([Buffer.from("SELECT"), Buffer.from(String(db))])); selected = true; }
      for (const argv of rewriteKeyCommands(key, stored)) cmds.push(encodeCommand(argv));
      keys.push(Buffer.concat(cmds));
    }
  }
  for (const piece of crdtStateHook.save(server)) keys.push(crdtLines(piece));
  return { prelude: Buffer.concat(prelude), keys };
}

/** The base of a new AOF: an RDB (aof-use-rdb-preamble yes, the default) or commands. */
function snapshotBase(server: Server): { data: Buffer; ext: string } {
  if (server.config.getBool("aof-use-rdb-preamble")) return { data: snapshotRdb(server, true).data, ext: "rdb" };
  const { prelude, keys } = snapshotAofCommands(server);
  return { data: Buffer.concat([prelude, ...keys]), ext: "aof" };
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
