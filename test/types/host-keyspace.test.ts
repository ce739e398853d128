// The host type layer over real shard kernels: typed lookups, WRONGTYPE, create/delete, and
// that every way the kernel drops a key (DEL, overwrite, expiry, FLUSHALL) frees the host
// value, while COPY duplicates it and RENAME/MOVE keep it.
import { describe, it, expect, beforeEach } from "vitest";
import { Shard } from "../../src/server/shard.js";
import { CommandTable } from "../../src/commands/table.js";
import { keySlot, slotRange } from "../../src/server/router.js";
import { HostKeyspace } from "../../src/types/keyspace.js";
import { EffectBus } from "../../src/server/effects.js";
import { SetValue } from "../../src/types/set.js";
import { OBJ_SET, WrongTypeError } from "../../src/types/value.js";

/** A host-held value for these tests (lists live in the kernel; sets are still the host's). */
function setOf(members: string[]): SetValue {
  const v = new SetValue();
  for (const m of members) v.add(m);
  return v;
}

const table = new CommandTable();
const b = (s: string) => Buffer.from(s, "latin1");

function setup(n: number) {
  let now = 1_000_000;
  const shards: Shard[] = [];
  for (let i = 0; i < n; i++) {
    const [lo, hi] = slotRange(i, n);
    const s = new Shard(i, 16, lo, hi, n);
    s.bindCommands(table);
    shards.push(s);
  }
  const shardOf = (key: Uint8Array) => shards.find((s) => keySlot(key) >= s.slotLow && keySlot(key) <= s.slotHigh)!;
  const bus = new EffectBus(shards);
  const ks = new HostKeyspace(shards, shardOf, () => now, bus);
  const run = (...argv: string[]) => {
    const key = argv[0] === "OBJECT" ? argv[2] : argv[1];
    return Buffer.from(shardOf(b(key)).call(argv.map(b), 0, now)).toString("latin1");
  };
  return { ks, run, shards, bus, advance: (ms: number) => (now += ms) };
}

for (const n of [1, 4]) {
  describe(`host keyspace (${n} shard${n > 1 ? "s" : ""})`, () => {
    let t: ReturnType<typeof setup>;
    beforeEach(() => { t = setup(n); });

    it("stores a value under a key the kernel reports as a set", () => {
      t.ks.add(0, b("l"), setOf(["a", "b"]));
      expect(t.run("TYPE", "l")).toBe("+set\r\n");
      expect(t.run("EXISTS", "l")).toBe(":1\r\n");
      expect(t.ks.lookupRead<SetValue>(0, b("l"), OBJ_SET)!.values()).toEqual(["a", "b"]);
      expect(t.ks.lookupWrite(0, b("missing"), OBJ_SET)).toBeNull();
    });

    it("looks keys up at the running command's time (commandNow) while one is set, else at the server clock", () => {
      t.ks.add(0, b("l"), setOf(["a"]));
      t.run("PEXPIRE", "l", "10");
      t.advance(20); // expired by the server clock
      t.ks.commandNow = 1_000_005; // a command that started before the expiry still sees it
      expect(t.ks.lookupRead(0, b("l"), OBJ_SET)).not.toBeNull();
      t.ks.commandNow = -1;
      expect(t.ks.lookupRead(0, b("l"), OBJ_SET)).toBeNull();
    });

    it("counts every propagated write and builds a lazily made argv only for a listening consumer", () => {
      let built = 0;
      const seen: string[] = [];
      const build = () => { built++; return [b("SREM"), b("s"), b("m")]; };
      t.ks.propagateBuilt(0, build);
      expect(built).toBe(0);
      expect(t.ks.dirty).toBe(1);
      const sub = t.bus.subscribe({ onEffect: (e) => { if (e.argv) seen.push(e.argv.map((x) => x.toString()).join(" ")); } });
      t.ks.propagateBuilt(0, build);
      t.ks.propagate(0, [b("LPUSH"), b("l"), b("x")]);
      expect(built).toBe(1);
      expect(seen).toEqual(["SREM s m", "LPUSH l x"]);
      sub.setActive(false);
      t.ks.propagate(0, [b("LPUSH"), b("l"), b("y")]);
      expect(seen.length).toBe(2);
      expect(t.ks.dirty).toBe(4);
    });

    it("throws WrongTypeError for a key of another type", () => {
      t.run("SET", "s", "x");
      expect(() => t.ks.lookupRead(0, b("s"), OBJ_SET)).toThrow(WrongTypeError);
    });

    it("frees the value on DEL, overwrite by SET, FLUSHALL and expiry: no live handle is left", () => {
      for (const k of ["a", "b", "c", "d", "e"]) t.ks.add(0, b(k), setOf(["x"]));
      expect(t.ks.liveValues).toBe(5);
      t.run("DEL", "a");
      expect(t.ks.liveValues).toBe(4);
      t.run("SET", "b", "str");
      expect(t.ks.liveValues).toBe(3);
      t.run("PEXPIRE", "c", "10");
      t.advance(20);
      expect(t.ks.lookupRead(0, b("c"), OBJ_SET)).toBeNull();
      expect(t.ks.liveValues).toBe(2);
      t.ks.add(0, b("d"), setOf(["replaced"]));
      expect(t.ks.liveValues).toBe(2);
      for (const s of t.shards) { s.call([b("FLUSHALL")], 0, 0); }
      expect(t.ks.liveValues).toBe(0);
    });

    it("deleteIfEmpty removes a key whose value became empty", () => {
      const l = setOf(["x"]);
      t.ks.add(0, b("l"), l);
      l.remove("x");
      expect(t.ks.deleteIfEmpty(0, b("l"), l)).toBe(true);
      expect(t.run("EXISTS", "l")).toBe(":0\r\n");
      expect(t.ks.liveValues).toBe(0);
    });

    it("COPY makes an independent value; RENAME and MOVE keep the same one", () => {
      t.ks.add(0, b("{k}src"), setOf(["a"]));
      expect(t.run("COPY", "{k}src", "{k}dst")).toBe(":1\r\n");
      expect(t.ks.liveValues).toBe(2);
      t.ks.lookupWrite<SetValue>(0, b("{k}dst"), OBJ_SET)!.add("b");
      expect(t.ks.lookupRead<SetValue>(0, b("{k}src"), OBJ_SET)!.values()).toEqual(["a"]);
      expect(t.run("RENAME", "{k}src", "{k}moved")).toBe("+OK\r\n");
      expect(t.run("MOVE", "{k}moved", "3")).toBe(":1\r\n");
      expect(t.ks.liveValues).toBe(2);
    });

    it("OBJECT ENCODING of a list (a kernel value) is quicklist, as in Redis 7.0", () => {
      t.run("RPUSH", "l", "a");
      expect(t.run("OBJECT", "ENCODING", "l")).toBe("$9\r\nquicklist\r\n");
    });

    it("peekSet reads a set the kernel holds without taking it: SSCAN leaves a small set in the kernel", () => {
      t.run("SADD", "s", "a", "b", "c");
      t.run("SADD", "i", "1", "2");
      const s = t.ks.peekSet(0, b("s"))!;
      expect([...s.values()].sort()).toEqual(["a", "b", "c"]);
      expect(s.scan(0, 10).members.sort()).toEqual(["a", "b", "c"]);
      expect(t.ks.peekSet(0, b("i"))!.values()).toEqual(["1", "2"]);
      expect(t.ks.peekSet(0, b("none"))).toBeNull();
      t.run("SET", "str", "x");
      expect(() => t.ks.peekSet(0, b("str"))).toThrow(WrongTypeError);
      expect(t.ks.liveValues).toBe(0);
      // Still the kernel's: it answers SISMEMBER itself (Shard.call throws on a command it hands back).
      expect(t.run("SISMEMBER", "s", "b")).toBe(":1\r\n");
      // A set the host holds comes back as itself.
      t.ks.add(0, b("h"), setOf(["x"]));
      expect(t.ks.peekSet(0, b("h"))).toBe(t.ks.lookupRead(0, b("h"), OBJ_SET));
    });
  });
}
