// Redis 7.0's shared replication buffer: the stream is held once for the backlog and every
// replica, so a replica whose RDB is still on the way makes the backlog grow past
// repl-backlog-size (and can later continue partially from it), two lagging replicas do not
// double it, and it shrinks back once no replica needs the old bytes.
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { serverGroup, freePort } from "../helpers/server.js";
import { until } from "../helpers/wait.js";
import { connect, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import IORedis from "ioredis";
import { hasRealRedis, startRealRedis } from "../helpers/real-redis.js";
import { Backlog, commandSize } from "../../src/repl/backlog.js";
import { encodeCommand } from "../../src/server/shard.js";
import { mulberry32 } from "../../src/verify/prng.js";

const num = async (r: Redis, section: string, name: string) =>
  Number((await r.info(section)).match(new RegExp(`^${name}:(.*)$`, "m"))?.[1]);

/** Runs f against a real redis-server started with args (the yardstick), stopped after it. */
async function onRealRedis<T>(args: string[], f: (port: number, r: Redis) => Promise<T>): Promise<T> {
  const real = await startRealRedis(args);
  const r = new IORedis(real.port, "127.0.0.1");
  try {
    return await f(real.port, r);
  } finally {
    r.disconnect();
    await real.stop(true);
  }
}

describe("Backlog.appendCommand", () => {
  it("holds what append() of the encoded command holds: the same bytes, blocks and memory, also for commands that do not fit the last block", () => {
    // A master's writes are encoded straight into the last block; those that do not fit there
    // go through append(). Arguments from empty to past a block (16 kB), with header lengths
    // of every digit count, in both backlogs, compared after each command.
    const rnd = mulberry32(16);
    const viaEncode = new Backlog(64 * 1024, 100);
    const direct = new Backlog(64 * 1024, 100);
    const sizes = [0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 20000];
    for (let i = 0; i < 3000; i++) {
      const argc = 1 + Math.floor(rnd() * 4);
      const argv: Buffer[] = [];
      for (let a = 0; a < argc; a++) {
        const big = rnd() < 0.02;
        const n = big ? sizes[Math.floor(rnd() * sizes.length)] : Math.floor(rnd() * 40);
        argv.push(Buffer.alloc(n, 97 + ((i + a) % 26)));
      }
      const encoded = Buffer.from(encodeCommand(argv));
      expect(commandSize(argv)).toBe(encoded.length);
      viaEncode.append(encoded);
      direct.appendCommand(argv, encoded.length);
      expect([direct.offset, direct.histlen, direct.allocated, direct.firstByteOffset])
        .toEqual([viaEncode.offset, viaEncode.histlen, viaEncode.allocated, viaEncode.firstByteOffset]);
      expect(direct.from(direct.offset + 1 - encoded.length).equals(encoded)).toBe(true);
    }
    expect(direct.from(direct.firstByteOffset).equals(viaEncode.from(viaEncode.firstByteOffset))).toBe(true);
  });

  it("fills the last block to its last byte and no further", () => {
    // The last block's room is the command's size plus d: it fits for d >= 0, goes through
    // append() (its rest in a new block) for d < 0.
    const argv = [Buffer.from("SET"), Buffer.from("key:000000123456"), Buffer.from("xxx")];
    const size = commandSize(argv);
    for (const d of [-2, -1, 0, 1, 2]) {
      const viaEncode = new Backlog(1024 * 1024, 0);
      const direct = new Backlog(1024 * 1024, 0);
      // The first block's bytes: what it allocated less the block header (40) and list node (24).
      viaEncode.append(Buffer.from(encodeCommand([Buffer.from("x")])));
      const block = viaEncode.allocated - 64;
      const viaEncode2 = new Backlog(1024 * 1024, 0);
      // A one-argument filler of L bytes encodes to L + 14 for a 5-digit L ("*1\r\n$L\r\n", CRLF).
      const filler = Buffer.from(encodeCommand([Buffer.alloc(block - size - d - 14, 120)]));
      expect(block - filler.length).toBe(size + d);
      viaEncode2.append(filler);
      direct.append(filler);
      viaEncode2.append(Buffer.from(encodeCommand(argv)));
      direct.appendCommand(argv, size);
      expect([direct.offset, direct.histlen, direct.allocated]).toEqual([viaEncode2.offset, viaEncode2.histlen, viaEncode2.allocated]);
      expect(direct.from(1).equals(viaEncode2.from(1))).toBe(true);
    }
  });
});

describe("shared replication buffer", { timeout: 90_000 }, () => {
  const servers = serverGroup(["--enable-debug-command", "yes"]);
  afterAll(() => servers.stopAll());
  const server = (args: string[] = []) => servers.start(args);

  it("grows past repl-backlog-size while a replica's RDB is on the way, counted once for two such replicas, and shrinks when they leave", async () => {
    const { srv: primary, r: m } = await server(["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0", "--repl-backlog-size", "16384"]);
    await m.config("SET", "client-output-buffer-limit", "replica 0 0 0");
    await m.call("debug", "populate", "20", "k");
    await m.config("SET", "rdb-key-save-delay", "1000000"); // each key a second: the RDB never ends here
    await m.config("SET", "repl-diskless-sync-max-replicas", "2");
    await m.config("SET", "repl-diskless-sync-delay", "5");
    const { srv: s1srv, r: s1 } = await server();
    const { srv: s2srv, r: s2 } = await server();
    await s1.replicaof("127.0.0.1", String(primary.port));
    await s2.replicaof("127.0.0.1", String(primary.port));
    await until("both wait for their RDB", async () => (await num(m, "persistence", "rdb_bgsave_in_progress")) === 1 &&
      (await s1.role())[3] === "sync" && (await s2.role())[3] === "sync");
    const value = "x".repeat(1024);
    const p = m.pipeline();
    for (let i = 0; i < 1024; i++) p.set(`big:${i}`, value);
    await p.exec();
    const histlen = await num(m, "replication", "repl_backlog_histlen");
    const total = await num(m, "memory", "mem_total_replication_buffers");
    expect(histlen).toBeGreaterThan(1024 * 1024);
    expect(total).toBeGreaterThanOrEqual(histlen);
    expect(total).toBeLessThan(2 * histlen); // one copy for both replicas
    expect(await num(m, "memory", "mem_clients_slaves")).toBe(total - 16384);
    s1.disconnect();
    await s1srv.stop();
    await until("one replica left", async () => (await num(m, "replication", "connected_slaves")) === 1);
    expect(await num(m, "memory", "mem_total_replication_buffers")).toBe(total); // the other still needs it
    s2.disconnect();
    await s2srv.stop();
    await until("no replica left", async () => (await num(m, "replication", "connected_slaves")) === 0);
    expect(await num(m, "replication", "repl_backlog_histlen")).toBeLessThan(16384 + 16 * 1024);
    expect(await num(m, "memory", "mem_total_replication_buffers")).toBeLessThan(64 * 1024);
  });

  /**
   * A bare replica (PSYNC, then reads, never a REPLCONF ACK) stops reading while 20 MB of
   * stream is written (more than loopback's socket buffers take), then reads it all: with no
   * write and no ACK after that, only its drained socket can let the shared buffer shrink.
   */
  async function drainedReplicaTrims(port: number, m: Redis): Promise<void> {
    await m.config("SET", "client-output-buffer-limit", "replica 0 0 0");
    const sock: Socket = connect(port, "127.0.0.1");
    let got = 0;
    let text = "";
    sock.on("data", (d) => { got += d.length; if (text.length < 4096) text += d.toString("latin1"); });
    sock.on("error", () => {});
    await new Promise((r) => sock.once("connect", r));
    try {
      sock.write("*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n");
      await until("the RDB payload", () => /\$\d+\r\nREDIS/.test(text));
      await until("online", async () => /slave0:.*state=online/.test(await m.info("replication")));
      sock.pause();
      const before = got;
      const p = m.pipeline();
      for (let i = 0; i < 1000; i++) p.set(`big${i}`, "x".repeat(20_000));
      await p.exec();
      await until("the buffer holds the unsent stream", async () => (await num(m, "memory", "mem_total_replication_buffers")) > 1_000_000);
      sock.resume();
      await until("the replica read it all", () => got - before >= 1000 * 20_000);
      await until("trimmed to about repl-backlog-size", async () => (await num(m, "memory", "mem_total_replication_buffers")) < 100_000, 3_000);
    } finally {
      sock.destroy();
    }
  }

  /**
   * INFO replication's state for a replica whose disk-target payload (repl-diskless-sync no)
   * is still going out: send_bulk (Redis's SLAVE_STATE_SEND_BULK), then online once it has
   * read it all. The payload is ~8 MB of incompressible values, more than loopback's socket
   * buffers take from a replica that does not read.
   */
  async function sendBulkThenOnline(port: number, m: Redis): Promise<void> {
    const p = m.pipeline();
    for (let i = 0; i < 400; i++) p.set(`bulk${i}`, randomBytes(20_000));
    await p.exec();
    const sock: Socket = connect(port, "127.0.0.1");
    let got = 0;
    sock.on("error", () => {});
    await new Promise((r) => sock.once("connect", r));
    try {
      sock.pause();
      sock.on("data", (d) => { got += d.length; });
      sock.pause();
      sock.write("*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n");
      await until("send_bulk", async () => /slave0:.*state=send_bulk,.*lag=0/.test(await m.info("replication")), 20_000);
      sock.resume();
      await until("the replica read the payload", () => got >= 400 * 20_000);
      await until("online", async () => /slave0:.*state=online/.test(await m.info("replication")), 20_000);
    } finally {
      sock.destroy();
    }
  }

  it("shows a replica taking a disk-target payload as send_bulk, then online", async () => {
    const { srv, r: m } = await server(["--repl-diskless-sync", "no"]);
    await sendBulkThenOnline(srv.port, m);
  });

  it.skipIf(!hasRealRedis)("real Redis 7.0 shows send_bulk the same way (the yardstick)", async () => {
    await onRealRedis(["--repl-diskless-sync", "no"], sendBulkThenOnline);
  });

  it("trims back to repl-backlog-size once a lagging replica's socket has drained, with no further write or ACK", async () => {
    const { srv, r: m } = await server(["--repl-diskless-sync", "no", "--repl-backlog-size", "16384"]);
    await drainedReplicaTrims(srv.port, m);
  });

  it.skipIf(!hasRealRedis)("real Redis 7.0 trims the same way (the yardstick)", async () => {
    await onRealRedis(["--repl-diskless-sync", "no", "--repl-backlog-size", "16384"], drainedReplicaTrims);
  });

  /**
   * The backlog's figures after three kinds of stream, read once the replica has everything: a
   * transaction of small commands with one 200 kB value, a pipeline of 20 kB values, and the
   * swapdb test's transaction (repl-backlog-size 16384 set inside it, then ten 16 kB values).
   * They follow from how the stream is cut into blocks (feedReplicationBuffer: a transaction
   * fed a command at a time, a new block sized for the piece being fed, at most
   * repl-backlog-size/16, jemalloc's rounding) and from the trim, so ours must give
   * redis-server's exact numbers.
   */
  async function backlogFigures(port: number, m: Redis): Promise<number[][]> {
    await m.config("SET", "repl-ping-replica-period", "3600"); // no PING in the stream
    const { r: s } = await server();
    await s.replicaof("127.0.0.1", String(port));
    await until("link up", async () => /master_link_status:up/.test(await s.info("replication")));
    const figures = async () => {
      const offset = await num(m, "replication", "master_repl_offset");
      await until("the replica acknowledged the stream", async () =>
        new RegExp(`^slave0:.*,offset=${offset},`, "m").test(await m.info("replication")));
      return [offset, await num(m, "replication", "repl_backlog_first_byte_offset"),
        await num(m, "replication", "repl_backlog_histlen"), await num(m, "memory", "mem_total_replication_buffers")];
    };
    const seen: number[][] = [];
    const tx = m.multi();
    for (let i = 0; i < 200; i++) tx.set(`k${i}`, `v${i}`);
    tx.set("big", "B".repeat(200_000));
    for (let i = 0; i < 300; i++) tx.incr("n");
    await tx.exec();
    seen.push(await figures());
    const p = m.pipeline();
    for (let i = 0; i < 100; i++) p.set(`p${i}`, "P".repeat(20_000));
    await p.exec();
    seen.push(await figures());
    const tx2 = m.multi();
    tx2.config("SET", "repl-backlog-size", "16384");
    for (let i = 0; i < 10; i++) tx2.set(`big${i}`, "A".repeat(16384));
    await tx2.exec();
    seen.push(await figures());
    s.disconnect();
    return seen;
  }

  it.skipIf(!hasRealRedis)("cuts the stream into redis-server's blocks: the same offsets, histlen and buffer memory after a transaction, a pipeline and a transaction that shrinks the backlog", async () => {
    const expected = await onRealRedis([], backlogFigures);
    const { srv, r: m } = await server();
    const ours = await backlogFigures(srv.port, m);
    expect(ours).toEqual(expected);
  });

  it("a value bigger than the replica's output limit goes out to a replica that reads it: the limit counts what its socket could not take", async () => {
    // replication-buffer.tcl's "limited to backlog_limit/16": Redis keeps the replica. With
    // the stream's writes gathered for a turn, checking the limit before they reached the
    // socket cut the replica off and it came back with a partial resync.
    const { srv: primary, r: m } = await server(["--repl-backlog-size", "16384"]);
    await m.config("SET", "client-output-buffer-limit", "replica 32768 32768 60");
    const { r: s } = await server();
    await s.replicaof("127.0.0.1", String(primary.port));
    await until("the link is up", async () => /master_link_status:up/.test(await s.info("replication")));
    await m.set("key", "v".repeat(256 * 1024));
    await m.set("key1", "1");
    const offset = await num(m, "replication", "master_repl_offset");
    await until("the replica has it all", async () => (await num(s, "replication", "slave_repl_offset")) === offset);
    expect(await s.strlen("key")).toBe(256 * 1024);
    expect(await num(m, "replication", "connected_slaves")).toBe(1);
    expect(await num(m, "stats", "sync_partial_ok")).toBe(0);
    expect(await num(m, "stats", "sync_full")).toBe(1);
    expect(primary.output()).not.toMatch(/overcoming of output buffer limits/);
  });

  it("a replica that switched masters and came back continues partially in the database the stream was in", async () => {
    const { srv: primary, r: m } = await server(["--repl-diskless-sync-delay", "0"]);
    const { r: s } = await server();
    await s.replicaof("127.0.0.1", String(primary.port));
    await until("link up", async () => /master_link_status:up/.test(await s.info("replication")));
    await m.select(9);
    await m.set("a", "1");
    await until("a arrives", async () => { await s.select(9); return (await s.get("a")) === "1"; });
    await s.replicaof("127.0.0.1", String(await freePort())); // nobody there
    await m.set("b", "2"); // same db: the stream sends no SELECT
    await s.replicaof("127.0.0.1", String(primary.port));
    await until("caught up", async () => (await num(s, "replication", "master_repl_offset")) === (await num(m, "replication", "master_repl_offset")));
    expect(await num(m, "stats", "sync_partial_ok")).toBe(1);
    // Stream and RDB bytes count as replication traffic on both sides.
    const offset = await num(m, "replication", "master_repl_offset");
    expect(await num(m, "stats", "total_net_repl_output_bytes")).toBeGreaterThanOrEqual(offset);
    expect(await num(s, "stats", "total_net_repl_input_bytes")).toBeGreaterThanOrEqual(offset);
    await s.select(9);
    expect(await s.get("b")).toBe("2");
    await s.select(0);
    expect(await s.dbsize()).toBe(0);
  });
});
