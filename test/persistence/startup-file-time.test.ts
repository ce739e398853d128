// startupFileTime (src/persistence/persistence.ts): the moment whose state the file loaded at
// start-up holds. Active-active replication sends a restarted node's file-only keys to its
// peers only when that moment is later than every removal they collected
// (src/replication/loaded-keys.ts), so a reading too late could bring back a deleted key. A
// file's mtime is too late for a snapshot: BGSAVE writes it after its state was taken, and an
// AOF's base is written after its rewrite's snapshot began (the incr file holds what came
// after). Each case here gives the file an mtime far after its content and checks the reading.
import { describe, it, expect, afterEach } from "vitest";
import type { Socket } from "node:net";
import { mkdtempSync, mkdirSync, writeFileSync, copyFileSync, utimesSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const { Config } = await import("../../src/config/config.js");
const { Server } = await import("../../src/server/server.js");
const { Client } = await import("../../src/server/client.js");
const { persistenceOf, startupFileTime } = await import("../../src/persistence/persistence.js");

type ServerT = InstanceType<typeof Server>;

const HOUR = 3_600_000;
const dirs: string[] = [];

function serverIn(dir: string, appendonly = false): ServerT {
  const config = new Config();
  config.set("dir", [dir], true);
  if (appendonly) config.set("appendonly", ["yes"], true);
  return new Server(config);
}

/** SAVEs one key from a fresh server in `dir` (dump.rdb); returns the time just before the SAVE. */
function saveOneKey(dir: string): number {
  const s = serverIn(dir);
  const c = new Client(s, {} as Socket);
  s.execCommand(c, [Buffer.from("SET"), Buffer.from("k"), Buffer.from("v")]);
  const before = Date.now();
  s.execCommand(c, [Buffer.from("SAVE")]);
  expect(c.reply.take().toString()).toBe("+OK\r\n+OK\r\n");
  return before;
}

async function startedFrom(dir: string, appendonly: boolean): Promise<ServerT> {
  const s = serverIn(dir, appendonly);
  await persistenceOf(s).loadOnStartup();
  const c = new Client(s, {} as Socket);
  s.execCommand(c, [Buffer.from("GET"), Buffer.from("k")]);
  expect(c.reply.take().toString()).toBe("$1\r\nv\r\n"); // (the file was loaded)
  return s;
}

function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), "lkv-file-time-"));
  dirs.push(d);
  return d;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("startupFileTime: the loaded file's content time, not its mtime", () => {
  it("an RDB: its snapshot's start (the ctime aux field, whole seconds)", async () => {
    const dir = scratch();
    const before = saveOneKey(dir);
    const late = new Date(Date.now() + HOUR); // a long BGSAVE: written well after its snapshot
    utimesSync(join(dir, "dump.rdb"), late, late);
    const s = await startedFrom(dir, false);
    expect(startupFileTime(s)).toBe(Math.floor(before / 1000) * 1000);
    expect(startupFileTime(s)).toBeLessThan(late.getTime());
  });

  it("an AOF with incr files: the newest incr file's last write, however late the base was written", async () => {
    const dir = scratch();
    saveOneKey(dir);
    const aofDir = join(dir, "appendonlydir");
    mkdirSync(aofDir);
    copyFileSync(join(dir, "dump.rdb"), join(aofDir, "appendonly.aof.1.base.rdb"));
    writeFileSync(join(aofDir, "appendonly.aof.1.incr.aof"), "");
    writeFileSync(join(aofDir, "appendonly.aof.2.incr.aof"), "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\n1\r\n");
    writeFileSync(join(aofDir, "appendonly.aof.manifest"),
      "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n");
    const sec = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
    const t1 = sec(Date.now() - 2 * HOUR), t2 = sec(Date.now() - HOUR), late = new Date(Date.now() + HOUR);
    utimesSync(join(aofDir, "appendonly.aof.1.incr.aof"), t1, t1);
    utimesSync(join(aofDir, "appendonly.aof.2.incr.aof"), t2, t2);
    utimesSync(join(aofDir, "appendonly.aof.1.base.rdb"), late, late);
    const s = await startedFrom(dir, true);
    expect(startupFileTime(s)).toBe(t2.getTime());
    persistenceOf(s).aof.stop();
  });

  it("an AOF of a base alone: its RDB preamble's snapshot start", async () => {
    const dir = scratch();
    const before = saveOneKey(dir);
    const aofDir = join(dir, "appendonlydir");
    mkdirSync(aofDir);
    copyFileSync(join(dir, "dump.rdb"), join(aofDir, "appendonly.aof.1.base.rdb"));
    writeFileSync(join(aofDir, "appendonly.aof.manifest"), "file appendonly.aof.1.base.rdb seq 1 type b\n");
    const late = new Date(Date.now() + HOUR);
    utimesSync(join(aofDir, "appendonly.aof.1.base.rdb"), late, late);
    const s = await startedFrom(dir, true);
    expect(startupFileTime(s)).toBe(Math.floor(before / 1000) * 1000);
    persistenceOf(s).aof.stop();
  });
});
