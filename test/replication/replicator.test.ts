// Replicator: local writes captured from the effect bus become deltas; a peer's deltas merge
// into the keyspace. Two in-process servers whose batches are handed over by hand.
import { describe, it, expect, beforeEach } from "vitest";
import type { Socket } from "node:net";
import { Config } from "../../src/config/config.js";
import { Server } from "../../src/server/server.js";
import { Client } from "../../src/server/client.js";
import { Replicator } from "../../src/replication/replicator.js";
import { FileStates } from "../../src/replication/file-states.js";
import { parseReply } from "../../src/replication/resp-value.js";
import { dbKey } from "../../src/replication/store.js";

class Node {
  server = new Server(new Config());
  client = new Client(this.server, {} as Socket);
  rep: Replicator;
  outbox: Buffer[] = [];
  constructor(id: string) {
    this.rep = new Replicator(this.server, id);
    this.rep.onBatch = (b) => this.outbox.push(b);
  }
  run(...args: string[]) {
    this.server.execCommand(this.client, args.map((a) => Buffer.from(a)));
    return parseReply(this.client.reply.take());
  }
  str(...args: string[]) {
    const v = this.run(...args);
    return Buffer.isBuffer(v) ? v.toString() : Array.isArray(v) ? v.map(String).sort() : v;
  }
  deliverTo(other: Node) { for (const b of this.outbox.splice(0)) other.rep.receive(b); }
}

describe("Replicator", () => {
  let a: Node, b: Node;
  const sync = () => { a.deliverTo(b); b.deliverTo(a); };
  beforeEach(() => { a = new Node("A"); b = new Node("B"); });

  it("replicates a SET and its TTL", () => {
    a.run("set", "k", "v", "px", "100000");
    sync();
    expect(b.str("get", "k")).toBe("v");
    expect(b.run("pexpiretime", "k")).toBe(a.run("pexpiretime", "k"));
  });

  it("INCR on both nodes before they exchange counts both", () => {
    a.run("incr", "n");
    b.run("incr", "n");
    sync();
    expect(a.str("get", "n")).toBe("2");
    expect(b.str("get", "n")).toBe("2");
  });

  it("HINCRBY on both nodes before they exchange counts both", () => {
    a.run("hset", "h", "other", "x");
    sync();
    a.run("hincrby", "h", "n", "2");
    b.run("hincrby", "h", "n", "5");
    sync();
    expect(a.str("hget", "h", "n")).toBe("7");
    expect(b.str("hget", "h", "n")).toBe("7");
  });

  it("SADD concurrent with SREM of the same member: the add wins", () => {
    a.run("sadd", "s", "x", "y");
    b.run("sadd", "s", "x");
    a.run("srem", "s", "x"); // removes only the x it has seen
    sync();
    expect(a.str("smembers", "s")).toEqual(["x", "y"]);
    expect(b.str("smembers", "s")).toEqual(["x", "y"]);
  });

  it("DEL concurrent with a write: the write survives, the deleted content does not", () => {
    a.run("hset", "h", "f1", "1");
    sync();
    a.run("del", "h");
    b.run("hset", "h", "f2", "2");
    sync();
    expect(a.run("hgetall", "h")).toEqual([Buffer.from("f2"), Buffer.from("2")]);
    expect(b.run("hgetall", "h")).toEqual([Buffer.from("f2"), Buffer.from("2")]);
  });

  // README "TTLs": a SET without KEEPTTL removes the TTL its node saw (an observed remove, as
  // DEL's), and writes none; an EXPIRE another node made concurrently was not seen, so it
  // applies to the SET's value on both nodes (src/verify/merge-check.ts ttlSpec: "a SET drops
  // the TTLs it saw"). A PERSIST made concurrently does win over it.
  it("SET without KEEPTTL concurrent with a PEXPIRE on another node: the PEXPIRE applies to the SET's value; PERSIST wins over it", () => {
    a.run("set", "had", "v", "px", "100000");
    a.run("set", "none", "v");
    a.run("set", "kept", "v", "px", "100000");
    sync();
    b.run("pexpire", "had", "500000");
    b.run("pexpire", "none", "500000");
    b.run("pexpire", "kept", "500000");
    a.run("set", "had", "a");
    a.run("set", "none", "a");
    a.run("persist", "kept");
    sync();
    for (const n of [a, b]) {
      for (const k of ["had", "none"]) {
        expect(n.str("get", k)).toBe("a");
        expect(n.run("pexpiretime", k)).toBe(b.run("pexpiretime", k));
        expect(n.run("pttl", k)).toBeGreaterThan(100000);
      }
      expect([n.str("get", "kept"), n.run("pttl", "kept")]).toEqual(["v", -1]);
    }
  });

  it("a remote write is not sent back out", () => {
    a.run("set", "k", "v");
    a.deliverTo(b);
    expect(b.outbox).toHaveLength(0);
  });

  /** Runs a command as a client's input does (Server.dispatch: queued under MULTI). */
  const dispatch = (n: Node, ...args: string[]) => {
    n.server.dispatch(n.client, args.map((x) => Buffer.from(x)));
    return n.client.reply.take().toString("latin1");
  };

  it("MULTI/EXEC's writes leave as one batch, at EXEC", () => {
    a.outbox.length = 0;
    expect(dispatch(a, "multi")).toBe("+OK\r\n");
    dispatch(a, "set", "x", "1");
    dispatch(a, "sadd", "s", "m");
    dispatch(a, "incr", "n");
    expect(a.outbox).toHaveLength(0); // (queued: nothing ran yet)
    expect(dispatch(a, "exec")).toBe("*3\r\n+OK\r\n:1\r\n:1\r\n");
    expect(a.outbox).toHaveLength(1);
    a.deliverTo(b);
    expect([b.str("get", "x"), b.str("smembers", "s"), b.str("get", "n")]).toEqual(["1", ["m"], "1"]);
  });

  it("a script's writes leave as one batch", () => {
    a.outbox.length = 0;
    dispatch(a, "eval", "redis.call('set', KEYS[1], '1'); redis.call('sadd', KEYS[2], 'm'); return redis.call('hincrby', KEYS[3], 'f', 2)", "3", "x", "s", "h");
    expect(a.outbox).toHaveLength(1);
    a.deliverTo(b);
    expect([b.str("get", "x"), b.str("smembers", "s"), b.str("hget", "h", "f")]).toEqual(["1", ["m"], "2"]);
  });

  it("writes outside MULTI/EXEC or a script leave one batch each", () => {
    a.outbox.length = 0;
    dispatch(a, "set", "x", "1");
    dispatch(a, "sadd", "s", "m");
    expect(a.outbox).toHaveLength(2);
  });

  it("zsets, lists and expiry replicate", () => {
    a.run("zadd", "z", "1", "a", "2.5", "b");
    a.run("zincrby", "z", "2", "a");
    a.run("rpush", "l", "1", "2", "3");
    a.run("lpop", "l");
    a.run("set", "t", "v");
    a.run("expire", "t", "1000");
    sync();
    expect(b.run("zrange", "z", "0", "-1", "withscores")).toEqual(["b", "2.5", "a", "3"].map((x) => Buffer.from(x)));
    expect(b.str("lrange", "l", "0", "-1")).toEqual(["2", "3"]);
    expect(b.run("pexpiretime", "t")).toBe(a.run("pexpiretime", "t"));
    a.run("persist", "t");
    sync();
    expect(b.run("ttl", "t")).toBe(-1);
  });

  it("FLUSHALL deletes every key on the peer too", () => {
    a.run("set", "k", "v");
    a.run("sadd", "s", "m");
    sync();
    a.run("flushall");
    sync();
    expect(b.run("dbsize")).toBe(0);
  });

  it("FLUSHALL records its deletes a slice per turn, and a key written before the slices reach it keeps that write", () => {
    const turns: (() => void)[] = [];
    a.rep.pacing = { later: (fn) => { turns.push(fn); }, slice: () => () => true }; // (a slice: 256 keys)
    for (let i = 0; i < 1000; i++) a.run("set", `k${i}`, "old");
    a.run("sadd", "s", "m");
    a.run("select", "1");
    a.run("set", "other-db", "1");
    sync();
    expect(b.run("dbsize")).toBe(1001);
    a.run("select", "0");
    expect(a.run("flushdb")).toEqual({ status: "OK" });
    expect(a.rep.walking).toBe(true); // (the first slice ran in FLUSHDB's turn: k0..k255)
    a.run("set", "k999", "new");
    a.run("sadd", "s", "m2"); // (records m2 only: the walk's sync of s removes m)
    a.run("set", "after", "1");
    expect(turns.length).toBe(1);
    while (turns.length) turns.shift()!();
    expect(a.rep.walking).toBe(false);
    sync();
    for (const n of [a, b]) {
      expect(n.run("dbsize")).toBe(3);
      expect(n.str("get", "k999")).toBe("new");
      expect(n.str("get", "k998")).toBe(null);
      expect(n.str("smembers", "s")).toEqual(["m2"]);
      expect(n.str("get", "after")).toBe("1");
      n.run("select", "1");
      expect(n.str("get", "other-db")).toBe("1");
      n.run("select", "0");
    }
  });

  it("FLUSHALL deletes a restarted node's waiting file states a slice per turn, and their join waits for the walk", () => {
    // C stands for A restarted from its RDB: A's states wait to be joined (loaded-keys.ts)
    for (let i = 0; i < 1000; i++) a.run("set", `k${i}`, "old");
    sync();
    const c = new Node("A~2");
    const waiting = new FileStates();
    for (let i = 0; i < 1000; i++) { const k = dbKey(0, Buffer.from(`k${i}`)); waiting.add(k, a.rep.store.get(k)!); }
    c.rep.holdSaved(waiting);
    const turns: (() => void)[] = [];
    c.rep.pacing = { later: (fn) => { turns.push(fn); }, slice: () => () => true }; // (a slice: 256 keys)
    c.run("flushall");
    expect(waiting.size).toBe(1000 - 256); // (the first slice ran in FLUSHALL's turn)
    expect(c.rep.keyspaceBusy()).toBe(true); // (so a join of the rest waits: loaded-keys.ts tryRecord)
    c.run("set", "k999", "new"); // (written after the flush: its waiting state goes, the write stays)
    while (turns.length) turns.shift()!();
    expect(waiting.size).toBe(0);
    expect(c.rep.keyspaceBusy()).toBe(false);
    c.deliverTo(b);
    expect(b.run("dbsize")).toBe(1);
    expect(b.str("get", "k999")).toBe("new");
  });

  it("SADD/HSET on a big collection read back only the members they name, and apply member by member", () => {
    const members = Array.from({ length: 500 }, (_, i) => `m${i}`);
    a.run("sadd", "big", ...members);
    a.run("hset", "bigh", ...members.flatMap((m) => [m, "1"]));
    sync();
    const calls = (s: Node, name: string) => s.server.table.lookup(name)!.calls;
    const before = [calls(a, "smembers"), calls(a, "hgetall"), calls(b, "del")];
    a.run("sadd", "big", "new");
    a.run("srem", "big", "m1");
    a.run("hset", "bigh", "m5", "2");
    a.run("expire", "big", "1000");
    sync();
    expect([calls(a, "smembers"), calls(a, "hgetall"), calls(b, "del")]).toEqual(before);
    expect(b.run("scard", "big")).toBe(500);
    expect(b.run("sismember", "big", "new")).toBe(1);
    expect(b.run("sismember", "big", "m1")).toBe(0);
    expect(b.str("hget", "bigh", "m5")).toBe("2");
    expect(b.run("pexpiretime", "big")).toBe(a.run("pexpiretime", "big"));
  });

  // The load-end check (loaded-keys.ts) looks at every client command for as long as it goes
  // on, minutes after a large load, through an input gate; a load's or a busy script's gate
  // stops serverCron (as Redis runs only whileBlockedCron then), this one must not: keys whose
  // TTL passed meanwhile were never actively expired, nor clients timed out, until it ended.
  it("the gate that looks at client commands during the load-end check holds no server cron back", async () => {
    const cron = () => (a.server as unknown as { serverCron(): void }).serverCron();
    a.run("set", "k", "v", "px", "1");
    await new Promise((r) => setTimeout(r, 5));
    const blocking = () => false; // (a load's or a busy script's gate: the cron waits)
    a.server.inputGate = blocking;
    cron();
    expect(a.run("dbsize")).toBe(1);
    a.server.inputGate = null;
    const release = a.rep.beforeCommands(() => {});
    expect(a.server.inputGate).not.toBe(null);
    cron();
    expect(a.run("dbsize")).toBe(0);
    release();
    // over a blocking gate it stands for that gate
    a.run("set", "k2", "v", "px", "1");
    await new Promise((r) => setTimeout(r, 5));
    a.server.inputGate = blocking;
    const release2 = a.rep.beforeCommands(() => {});
    cron();
    expect(a.run("dbsize")).toBe(1);
    release2();
  });
});
