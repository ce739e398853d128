// Keyspace notifications (notify-keyspace-events) as Redis 7.0.15 raises them: event names
// per command family, keyspace and keyevent channels, masks, the "del" a command adds when it
// empties a key, expiry by lookup and by the active cycle, and writes inside MULTI and Lua.
import { describe, it, expect, beforeAll, afterAll, beforeEach } from "vitest";
import Redis from "ioredis";
import { startServer, type RunningServer } from "../helpers/server.js";
import { until } from "../helpers/wait.js";

let srv: RunningServer;
let r: Redis;
let sub: Redis;
let got: string[] = [];

beforeAll(async () => {
  srv = await startServer();
  r = new Redis({ port: srv.port, host: "127.0.0.1" });
  sub = new Redis({ port: srv.port, host: "127.0.0.1" });
  sub.on("pmessage", (_p, ch, m) => got.push(`${ch} ${m}`));
  await sub.psubscribe("__key*__:*");
});
afterAll(async () => {
  r?.disconnect();
  sub?.disconnect();
  await srv?.stop();
});
beforeEach(async () => {
  await r.config("SET", "notify-keyspace-events", "");
  await r.flushall();
  got = [];
});

/** Runs the writes, then a PUBLISH as a marker, and returns the events that came before it. */
let markers = 0;

async function eventsOf(flags: string, writes: () => Promise<unknown>): Promise<string[]> {
  await r.config("SET", "notify-keyspace-events", flags);
  await writes();
  await r.config("SET", "notify-keyspace-events", "KEA");
  // A marker of this call's own, raising two events (keyspace and keyevent channel): the
  // events before its first are the writes'. The second may come after a caller's `got = []`,
  // so a marker's event is never one of the writes' (with one marker name for every call, an
  // earlier call's second event became this call's marker, and this call saw no events).
  const marker = `__marker__:${++markers}`;
  await r.set(marker, "1");
  // (the subscriber's messages come on another connection: wait with a deadline)
  await until("the marker's event reached the subscriber", async () => got.some((g) => g.includes(marker)), 20_000, 10);
  const i = got.findIndex((g) => g.includes(marker));
  return got.slice(0, i).filter((g) => !g.includes("__marker__"));
}

describe("keyspace notifications", () => {
  it("SET raises set on both channels with K and E; nothing when disabled", async () => {
    expect(await eventsOf("KEA", () => r.set("foo", "bar"))).toEqual(["__keyspace@0__:foo set", "__keyevent@0__:set foo"]);
    got = [];
    expect(await eventsOf("", () => r.set("foo", "bar"))).toEqual([]);
  });

  it("masks by class: only list events under KEl", async () => {
    expect(await eventsOf("KEl", async () => { await r.set("s", "1"); await r.lpush("mylist", "a"); }))
      .toEqual(["__keyspace@0__:mylist lpush", "__keyevent@0__:lpush mylist"]);
  });

  it("generic events: expire, del (only for keys that existed), rename_from/rename_to, persist", async () => {
    const ev = await eventsOf("Eg", async () => {
      await r.set("a", "1");
      await r.expire("a", 100);
      await r.persist("a");
      await r.rename("a", "b");
      await r.del("b", "missing");
      await r.del("missing");
    });
    expect(ev).toEqual(["__keyevent@0__:expire a", "__keyevent@0__:persist a", "__keyevent@0__:rename_from a",
      "__keyevent@0__:rename_to b", "__keyevent@0__:del b"]);
  });

  it("string events: SET EX raises set then expire; INCR raises incrby; APPEND, SETRANGE", async () => {
    const ev = await eventsOf("E$g", async () => {
      await r.set("k", "1", "EX", 100);
      await r.incr("n");
      await r.append("k", "x");
      await r.setrange("k", 0, "y");
      await r.mset("m1", "1", "m2", "2");
    });
    expect(ev).toEqual(["__keyevent@0__:set k", "__keyevent@0__:expire k", "__keyevent@0__:incrby n",
      "__keyevent@0__:append k", "__keyevent@0__:setrange k", "__keyevent@0__:set m1", "__keyevent@0__:set m2"]);
  });

  it("a list emptied by RPOP raises rpop then del", async () => {
    const ev = await eventsOf("Elg", async () => {
      await r.rpush("l", "a");
      await r.rpop("l");
    });
    expect(ev).toEqual(["__keyevent@0__:rpush l", "__keyevent@0__:rpop l", "__keyevent@0__:del l"]);
  });

  it("in a pipeline, a pop's del follows what the pop left, not what later commands did", async () => {
    // One read, one kernel call: its effects are read after MOVE took the list away (an
    // extra del), or after RPUSH made it again (a missing del), unless each says itself.
    const ev = await eventsOf("Elg", async () => {
      await r.rpush("l", "a", "b", "c");
      await r.pipeline().rpop("l").move("l", 2).exec();
      await r.rpush("m", "a");
      await r.pipeline().rpop("m").rpush("m", "b").exec();
      await r.rpush("h", "a");
      await r.pipeline().lpop("h").set("h", "x").del("h").exec();
    });
    expect(ev).toEqual([
      "__keyevent@0__:rpush l", "__keyevent@0__:rpop l", "__keyevent@0__:move_from l", "__keyevent@2__:move_to l",
      "__keyevent@0__:rpush m", "__keyevent@0__:rpop m", "__keyevent@0__:del m", "__keyevent@0__:rpush m",
      "__keyevent@0__:rpush h", "__keyevent@0__:lpop h", "__keyevent@0__:del h", "__keyevent@0__:del h",
    ]);
  });

  it("hash, set and zset events (HDEL of the last field adds del)", async () => {
    const ev = await eventsOf("Ehszg", async () => {
      await r.hset("h", "f", "1");
      await r.hincrby("h", "f", 2);
      await r.hdel("h", "f");
      await r.sadd("s", "a", "b");
      await r.srem("s", "x");
      await r.srem("s", "a");
      await r.zadd("z", 1, "a");
      await r.zincrby("z", 1, "a");
      await r.zrem("z", "a");
    });
    expect(ev).toEqual(["__keyevent@0__:hset h", "__keyevent@0__:hincrby h", "__keyevent@0__:hdel h", "__keyevent@0__:del h",
      "__keyevent@0__:sadd s", "__keyevent@0__:srem s", "__keyevent@0__:zadd z", "__keyevent@0__:zincr z",
      "__keyevent@0__:zrem z", "__keyevent@0__:del z"]);
  });

  it("SPOP raises spop once (not the srem it propagates as), then del when the set is gone: kernel and host sets", async () => {
    const ev = await eventsOf("Es", async () => {
      await r.sadd("small", "a", "b", "c", "d"); // a set the kernel holds
      await r.spop("small");
      await r.spop("small", 2);
      await r.spop("small", 5); // the rest: propagated as DEL
      await r.sadd("big", ...Array.from({ length: 200 }, (_, i) => `m${i}`)); // a host set
      await r.spop("big");
      await r.spop("big", 3);
    });
    expect(ev).toEqual(["sadd small", "spop small", "spop small", "spop small", "sadd big", "spop big", "spop big"]
      .map((x) => `__keyevent@0__:${x.split(" ")[0]} ${x.split(" ")[1]}`));
    got = [];
    const gone = await eventsOf("Eg", async () => { await r.sadd("one", "x"); await r.spop("one"); });
    expect(gone).toEqual(["__keyevent@0__:del one"]);
  });

  it("writes inside MULTI and Lua notify too, in another db", async () => {
    const ev = await eventsOf("Kg$", async () => {
      await r.select(3);
      await r.multi().set("t", "1").expire("t", 50).exec();
      await r.eval("redis.call('set', KEYS[1], 'v')", 1, "lua");
      await r.select(0);
    });
    expect(ev).toEqual(["__keyspace@3__:t set", "__keyspace@3__:t expire", "__keyspace@3__:lua set"]);
  });

  it("expired is raised by the active expire cycle without any access", async () => {
    await r.config("SET", "notify-keyspace-events", "Ex");
    await r.psetex("gone", 50, "1");
    for (let i = 0; i < 200 && !got.includes("__keyevent@0__:expired gone"); i++) await new Promise((x) => setTimeout(x, 10));
    expect(got).toContain("__keyevent@0__:expired gone");
  });

  it("new: once per key created, by kernel and host commands alike, never for an overwrite", async () => {
    const ev = await eventsOf("En", async () => {
      await r.set("foo", "bar");
      await r.set("foo", "baz");
      await r.set("bar", "bar");
      await r.rpush("list", "a");
      await r.rpush("list", "b");
      await r.hset("h", "f", "v");
      await r.sadd("s1", "a");
      await r.sunionstore("s1", "s1");
      await r.copy("foo", "copied");
    });
    expect(ev).toEqual(["foo", "bar", "list", "h", "s1", "copied"].map((k) => `__keyevent@0__:new ${k}`));
  });

  it("XREADGROUP and XCLAIM raise xgroup-createconsumer for the consumer they create", async () => {
    const ev = await eventsOf("Kt", async () => {
      await r.xgroup("CREATE", "mystream", "mygroup", "$", "MKSTREAM");
      await r.xgroup("CREATECONSUMER", "mystream", "mygroup", "Bob");
      const id = await r.xadd("mystream", "1", "field1", "A");
      await r.xreadgroup("GROUP", "mygroup", "Alice", "STREAMS", "mystream", ">");
      await r.xclaim("mystream", "mygroup", "Mike", 0, id!, "FORCE");
      await r.xgroup("DELCONSUMER", "mystream", "mygroup", "Lee");
      await r.xautoclaim("mystream", "mygroup", "Bob", 0, id!);
      await r.xgroup("DELCONSUMER", "mystream", "mygroup", "Bob");
    });
    expect(ev).toEqual(["xgroup-create", "xgroup-createconsumer", "xadd", "xgroup-createconsumer", "xgroup-createconsumer",
      "xgroup-delconsumer"].map((e) => `__keyspace@0__:mystream ${e}`));
  });
});
