// The effect bus: kernel writes, kernel expiries and host writes reach every active
// subscriber in the order they happened, EXEC brackets its effects as one group, and the
// kernel records only while someone listens.
import { describe, it, expect, beforeEach } from "vitest";
import type { Socket } from "node:net";
import { Config } from "../../src/config/config.js";
import { Server } from "../../src/server/server.js";
import { Client } from "../../src/server/client.js";
import { EFFECT_COMMAND, EFFECT_EXPIRED, type Effect, type KernelRecord } from "../../src/server/effects.js";
import { encodeCommand } from "../../src/server/shard.js";

describe("EffectBus", () => {
  let server: Server;
  let client: Client;
  let seen: string[];
  const run = (...args: string[]) => {
    server.execCommand(client, args.map((a) => Buffer.from(a)));
    return client.reply.take().toString("latin1");
  };
  const show = (e: Effect) =>
    (e.kind === EFFECT_COMMAND ? "" : e.kind === EFFECT_EXPIRED ? "expired:" : `kind${e.kind}:`) +
    e.argv.map((a) => a.toString("latin1")).join(" ");

  beforeEach(() => {
    server = new Server(new Config());
    client = new Client(server, {} as Socket);
    seen = [];
  });

  it("delivers kernel and host writes in order, and nothing for reads", () => {
    server.effects.subscribe({ onEffect: (e) => seen.push(show(e)) });
    run("set", "k", "v");
    run("get", "k");
    run("rpush", "l", "a", "b");
    run("hset", "h", "f", "1");
    expect(seen[0]).toBe("set k v");
    expect(seen[1].startsWith("rpush l a b") || seen[1].startsWith("RPUSH l a b")).toBe(true);
    expect(seen[2].toLowerCase()).toBe("hset h f 1");
    expect(seen).toHaveLength(3);
  });

  it("reports a key the kernel expired by itself", () => {
    server.effects.subscribe({ onEffect: (e) => seen.push(show(e)) });
    run("set", "k", "v", "px", "1");
    const until = Date.now() + 20;
    while (Date.now() < until) { /* let the key's TTL pass */ }
    run("get", "k");
    expect(seen).toContain("expired:k");
  });

  it("a consumer's own kernel call in the middle of a log leaves the rest of that log delivered", () => {
    // The CRDT replicator reads keys back while it takes an effect; a read that finds a key
    // expired drains and publishes a log of its own in the middle of the outer one. One shared
    // record reader was reset by it, so the outer log's later records were lost, or read at
    // the inner log's offsets ("Offset is outside the bounds of the DataView").
    const other = new Client(server, {} as Socket);
    let nested = false;
    server.effects.subscribe({
      onEffect: (e) => {
        seen.push(show(e));
        if (!nested && show(e) === "expired:k") {
          nested = true;
          server.execCommand(other, [Buffer.from("set"), Buffer.from("inner"), Buffer.from("1")]);
          other.reply.take();
        }
      },
    });
    run("set", "k", "5", "px", "1");
    const until = Date.now() + 20;
    while (Date.now() < until) { /* let the key's TTL pass */ }
    expect(run("incr", "k")).toBe(":1\r\n"); // the expired key's record, then INCR's own
    expect(seen[0].toLowerCase()).toMatch(/^set k 5 px/);
    expect(seen.slice(1, 3)).toEqual(["expired:k", "set inner 1"]);
    expect(seen).toHaveLength(4);
    expect(seen[3].toLowerCase()).toMatch(/^(incr k|set k 1)/);
  });

  it("records nothing while no subscription is active, and resumes when one is", () => {
    const sub = server.effects.subscribe({ onEffect: (e) => seen.push(show(e)) }, false);
    run("set", "a", "1");
    sub.setActive(true);
    run("set", "b", "2");
    sub.unsubscribe();
    run("set", "c", "3");
    expect(seen).toEqual(["set b 2"]);
    expect(server.effects.listening).toBe(false);
  });

  it("brackets a script's effects as one group", () => {
    server.effects.subscribe({ onEffect: (e) => seen.push(show(e)), onGroup: (begin) => seen.push(begin ? "BEGIN" : "END") });
    run("eval", "redis.call('set', 'a', '1'); return redis.call('incr', 'n')", "0");
    expect(seen).toEqual(["BEGIN", "set a 1", "incr n", "END"]);
  });

  it("hands a consumer with onKernelRecord each kernel write in place, in step with the other consumers, and the rest as Effects", () => {
    // Replication encodes kernel writes from the record itself (src/repl/replication.ts): it must
    // see what an Effect consumer sees, in the same order, and its RESP must be encodeCommand's.
    const plain: string[] = [];
    const both: string[] = [];
    let raw = 0;
    server.effects.subscribe({ onEffect: (e) => { plain.push(show(e)); both.push(`fx ${show(e)}`); } });
    server.effects.subscribe({
      onEffect: (e) => both.push(`raw ${show(e)}`),
      onKernelRecord: (r: KernelRecord) => {
        raw++;
        const e = r.toEffect();
        expect([r.kind, r.db, r.targets, r.fanOutPart]).toEqual([e.kind, e.db, e.targets, e.fanOutPart === true]);
        const want = Buffer.from(encodeCommand(e.argv));
        const out = Buffer.alloc(want.length + 4, 0x7e);
        expect(r.respSize()).toBe(want.length);
        expect(r.putResp(out, 2)).toBe(2 + want.length);
        expect(out.subarray(2, 2 + want.length).equals(want)).toBe(true);
        expect(out[1] === 0x7e && out[2 + want.length] === 0x7e).toBe(true);
        both.push(`raw ${show(e)}`);
      },
    });
    // Arguments around the byte-by-byte copy's limit (32) and past 4-digit lengths, an
    // integer result (INCR's record carries it), a write that changes nothing, host writes.
    for (const n of [0, 1, 32, 33, 999, 10000]) run("set", `k${n}`, "v".repeat(n));
    run("mset", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5");
    run("incr", "n");
    run("set", "t", "1", "ex", "100");
    run("rpush", "l", "a", "b");
    run("ltrim", "l", "0", "-1");
    run("sadd", "s", "x");
    run("eval", "redis.call('set', 'a', '2'); return redis.call('incr', 'n')", "0");
    run("del", "k0", "k1");
    expect(raw).toBeGreaterThan(10);
    expect(plain.length).toBeGreaterThan(raw - 1);
    // Each write reached both consumers, first the one subscribed first.
    expect(both).toEqual(plain.flatMap((p) => [`fx ${p}`, `raw ${p}`]));
  });

  it("gives a consumer alone with onKernelRecord the same records read in kernel memory as next to an Effect consumer (a copy)", () => {
    // With only onKernelRecord consumers the drained log is not copied (EffectBus.inPlace).
    const stream = (withPlain: boolean) => {
      const s = new Server(new Config());
      const k = new Client(s, {} as Socket);
      const out: string[] = [];
      if (withPlain) s.effects.subscribe({ onEffect: () => {} });
      s.effects.subscribe({
        onEffect: (e) => out.push(`fx ${show(e)}`),
        onKernelRecord: (r: KernelRecord) => {
          const b = Buffer.alloc(r.respSize());
          r.putResp(b, 0);
          out.push(b.toString("latin1"));
        },
      });
      const exec = (...args: string[]) => { s.execCommand(k, args.map((a) => Buffer.from(a))); k.reply.take(); };
      for (let i = 0; i < 50; i++) exec("set", `k${i}`, "v".repeat(i * 7), ...(i % 3 === 0 ? ["pxat", "4000000000000"] : []));
      exec("multi"); exec("incr", "n"); exec("hset", "h", "f", "1"); exec("exec");
      exec("eval", "redis.call('set', 'a', '2'); return redis.call('incr', 'n')", "0");
      exec("rpush", "l", "a", "b");
      exec("del", "k1", "k2", "l");
      return out;
    };
    const alone = stream(false);
    expect(alone.length).toBeGreaterThan(50);
    expect(alone).toEqual(stream(true));
  });
});
