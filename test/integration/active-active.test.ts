// Active-active replication between real server processes on loopback: writes on different
// nodes converge, INCR on both sides of a partition counts both, SADD wins over a
// concurrent SREM, and a DEL does not remove a concurrent write. A partition is made by
// dropping the peer links on both sides (CRDT.PEER DEL) and healed by adding them back.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import { rmSync } from "node:fs";
import net from "node:net";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { until } from "../helpers/wait.js";

describe("active-active replication (3 processes)", () => {
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];
  const bus: number[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) bus.push(await freePort());
    for (let i = 0; i < 3; i++) {
      const peers = bus.filter((_, j) => j !== i).flatMap((p) => ["--peer", `127.0.0.1:${p}`]);
      servers.push(await startServer(["--crdt-node-id", `n${i}`, "--crdt-bus-port", String(bus[i]), ...peers]));
    }
    for (const s of servers) clients.push(await connectClient(s.port));
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const s of servers) await s.stop();
  });

  const [a, b, c] = [0, 1, 2];
  const everywhere = async (what: string, check: (r: Redis) => Promise<boolean>) =>
    until(what, async () => (await Promise.all(clients.map(check))).every(Boolean));

  /** Cuts every link between the nodes (both directions), then restores them. */
  async function partition(fn: () => Promise<void>): Promise<void> {
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j) await clients[i].call("crdt.peer", "del", "127.0.0.1", String(bus[j]));
    await fn();
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j) await clients[i].call("crdt.peer", "add", "127.0.0.1", String(bus[j]));
  }

  it("a write on one node reaches the others, with its TTL", async () => {
    await clients[a].set("greeting", "hello", "EX", 1000);
    await everywhere("greeting", async (r) => (await r.get("greeting")) === "hello");
    expect(await clients[c].ttl("greeting")).toBeGreaterThan(990);
  });

  it("INCR on A and on B during a partition gives 2 on every node after it heals", async () => {
    await partition(async () => {
      await clients[a].incr("hits");
      await clients[b].incr("hits");
      expect(await clients[a].get("hits")).toBe("1");
      expect(await clients[b].get("hits")).toBe("1");
    });
    await everywhere("hits = 2", async (r) => (await r.get("hits")) === "2");
  });

  it("pipelined INCRs of the same keys on two nodes at once all count (each INCR is read back alone, not after the pipeline)", async () => {
    // A pipeline runs several INCRs of one key in one read; read back after the last of
    // them, the first looked like a SET and reset the counter (20 of 40 survived).
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) writes.push(clients[b].incr(`piped:${i % 10}`));
    for (let i = 0; i < 200; i++) writes.push(clients[a].incr(`piped:${i % 10}`));
    await Promise.all(writes);
    for (let i = 0; i < 10; i++) await everywhere(`piped:${i} = 40`, async (r) => (await r.get(`piped:${i}`)) === "40");
  });

  // Writes recorded from their effect record (SET, INCR, HSET, DEL...) run in the pipeline's one
  // kernel call; writes whose key replication reads back (HINCRBY, APPEND...) run alone, so
  // the read sees their own effect, not a later command's: a late read of an HINCRBY looks
  // like an HSET, which resets the field's counter and loses the other node's increments.
  it("pipelined HINCRBYs of the same fields on two nodes at once all count", async () => {
    const writes: Promise<unknown>[] = [];
    for (const n of [a, b]) {
      const p = clients[n].pipeline();
      for (let i = 0; i < 100; i++) p.hincrby("piped:h", `f${i % 5}`, 1).set(`piped:s${i % 7}`, "x");
      writes.push(p.exec());
    }
    await Promise.all(writes);
    for (let i = 0; i < 5; i++) await everywhere(`piped:h f${i} = 40`, async (r) => (await r.hget("piped:h", `f${i}`)) === "40");
  });

  it("a pipeline mixing writes recorded from their effect and writes read back replicates each as it ran", async () => {
    const p = clients[a].pipeline();
    p.set("mix:s", "1").append("mix:s", "x").incr("mix:c").incr("mix:c").incrby("mix:c", 5).set("mix:c2", "10").incr("mix:c2");
    p.hset("mix:h", "f", "1").hincrby("mix:h", "f", 2).hset("mix:h", "g", "x").sadd("mix:set", "a", "b").srem("mix:set", "a");
    p.set("mix:t", "v", "EX", "1000").set("mix:t", "w", "KEEPTTL").rpush("mix:l", "a").set("mix:l2", "x").del("mix:l2");
    p.zadd("mix:z", "1", "m", "2", "n").zadd("mix:z", "XX", "5", "m").zrem("mix:z", "n");
    await p.exec();
    await everywhere("the mixed pipeline's result", async (r) =>
      (await r.get("mix:s")) === "1x" && (await r.get("mix:c")) === "7" && (await r.get("mix:c2")) === "11" &&
      JSON.stringify(await r.hgetall("mix:h")) === JSON.stringify({ f: "3", g: "x" }) &&
      JSON.stringify(await r.smembers("mix:set")) === '["b"]' && (await r.get("mix:t")) === "w" && (await r.pttl("mix:t")) > 0 &&
      JSON.stringify(await r.lrange("mix:l", 0, -1)) === '["a"]' && (await r.exists("mix:l2")) === 0 &&
      JSON.stringify(await r.zrange("mix:z", 0, -1, "WITHSCORES")) === '["m","5"]');
  });

  it("a peer's write waits for a Lua script paused past busy-reply-threshold: the script sees one value throughout", async () => {
    await clients[a].config("set", "busy-reply-threshold", "100");
    try {
      await clients[a].set("script:k", "before");
      await everywhere("script:k", async (r) => (await r.get("script:k")) === "before");
      // Reads the key, spins ~1.5 s (paused past the threshold: later ticks), reads it again.
      const script = clients[a].eval(`
        local first = redis.call('get', KEYS[1])
        local t = redis.call('time')
        local start = t[1] * 1000000 + t[2]
        repeat local n = redis.call('time') until n[1] * 1000000 + n[2] - start > 1500000
        return {first, redis.call('get', KEYS[1])}`, 1, "script:k");
      await new Promise((r) => setTimeout(r, 300));
      await clients[b].set("script:k", "from-b");
      expect(await script).toEqual(["before", "before"]);
      await everywhere("script:k from b", async (r) => (await r.get("script:k")) === "from-b");
    } finally {
      await clients[a].config("set", "busy-reply-threshold", "5000");
    }
  });

  it("INCRBYFLOAT and HINCRBYFLOAT on two nodes during a partition count both, the same text everywhere", async () => {
    await partition(async () => {
      expect(await clients[a].incrbyfloat("price", "0.1")).toBe("0.1");
      expect(await clients[b].incrbyfloat("price", "0.2")).toBe("0.2");
      await clients[a].hincrbyfloat("stock", "apples", "1.5");
      await clients[c].hincrbyfloat("stock", "apples", "-0.25");
    });
    await everywhere("price = 0.3, apples = 1.25", async (r) =>
      (await r.get("price")) === "0.3" && (await r.hget("stock", "apples")) === "1.25");
  });

  it("SADD concurrent with SREM of the same member: the add wins", async () => {
    await clients[a].sadd("tags", "x", "y");
    await everywhere("tags", async (r) => (await r.scard("tags")) === 2);
    await partition(async () => {
      await clients[a].srem("tags", "x");
      await clients[b].srem("tags", "x");
      await clients[b].sadd("tags", "x");
    });
    await everywhere("x present", async (r) => (await r.smembers("tags")).sort().join() === "x,y");
  });

  it("DEL concurrent with a write: the write survives, what the DEL saw does not", async () => {
    await clients[a].hset("profile", "name", "ann");
    await everywhere("profile", async (r) => (await r.hget("profile", "name")) === "ann");
    await partition(async () => {
      await clients[a].del("profile");
      await clients[c].hset("profile", "city", "oslo");
    });
    await everywhere("profile = {city}", async (r) => JSON.stringify(await r.hgetall("profile")) === JSON.stringify({ city: "oslo" }));
  });

  it("lists: pushes, inserts and pops on three nodes during a partition converge to one list; popped elements stay popped", async () => {
    await clients[a].rpush("jobs", "j1", "j2", "j3", "j4");
    await everywhere("jobs", async (r) => (await r.llen("jobs")) === 4);
    const popped: string[] = [];
    await partition(async () => {
      popped.push((await clients[a].lpop("jobs"))!);        // j1
      popped.push((await clients[b].lpop("jobs"))!);        // j1 again: concurrent pops of one element
      popped.push((await clients[c].rpop("jobs"))!);        // j4
      await clients[a].rpush("jobs", "a1", "a2");
      await clients[b].rpush("jobs", "b1");
      await clients[c].lpush("jobs", "c0");
      await clients[b].linsert("jobs", "AFTER", "j2", "b-mid");
    });
    expect(popped).toEqual(["j1", "j1", "j4"]);
    let want = "";
    await everywhere("one list", async (r) => {
      const lists = await Promise.all(clients.map((x) => x.lrange("jobs", 0, -1)));
      want = lists[0].join(",");
      return lists.every((l) => l.join(",") === want) && lists[0].length === 7 && r === r;
    });
    const list = want.split(",");
    expect(list[0]).toBe("c0");
    expect(list.slice(1, 4)).toEqual(["j2", "b-mid", "j3"]);
    expect(list.slice(4).sort()).toEqual(["a1", "a2", "b1"]);
    expect(list.indexOf("a1")).toBeLessThan(list.indexOf("a2"));
  });

  it("BLPOP on one node is served by a push on another, and its pop replicates", async () => {
    const blocked = await connectClient(servers[b].port);
    try {
      const got = blocked.blpop("waitq", 10);
      await new Promise((r) => setTimeout(r, 100));
      await clients[a].rpush("waitq", "task");
      expect(await got).toEqual(["waitq", "task"]);
      await everywhere("waitq popped everywhere", async (r) => (await r.exists("waitq")) === 0);
    } finally {
      blocked.disconnect();
    }
  });

  it("a node killed with SIGKILL and restarted empty gets everything back by anti-entropy", async () => {
    await clients[a].set("before-crash", "1");
    await everywhere("before-crash", async (r) => (await r.get("before-crash")) === "1");
    const args = ["--crdt-node-id", "n2", "--crdt-bus-port", String(bus[c]), ...bus.filter((_, j) => j !== c).flatMap((p) => ["--peer", `127.0.0.1:${p}`])];
    clients[c].disconnect();
    const exited = new Promise((r) => servers[c].proc.once("exit", r));
    servers[c].proc.kill("SIGKILL");
    await exited;
    rmSync(servers[c].dir, { recursive: true, force: true }); // stop() would signal the dead pid
    await clients[b].incr("hits");
    servers[c] = await startServer(args);
    clients[c] = await connectClient(servers[c].port);
    await everywhere("restarted node caught up", async (r) =>
      (await r.get("before-crash")) === "1" && (await r.get("hits")) === "3" && (await r.scard("tags")) === 2);
  });

  it("garbage on the replication bus closes that connection and harms nothing else", async () => {
    const { mulberry32 } = await import("../types/prng.js");
    const rand = mulberry32(42);
    const junk = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
    const frame = (p: Buffer) => { const h = Buffer.alloc(4); h.writeUInt32LE(p.length); return Buffer.concat([h, p]); };
    const hello = Buffer.concat([Buffer.from([0, 4]), Buffer.from("evil")]);
    const payloads = [
      junk(64),                                                   // no HELLO, no framing
      Buffer.concat([frame(hello), frame(junk(200))]),            // HELLO, then a junk message
      Buffer.concat([frame(hello), frame(Buffer.from([1, ...junk(40)]))]), // a truncated DELTA
      Buffer.concat([frame(hello), frame(Buffer.from([4, 1, 0xff, 0xff, ...junk(30)]))]), // RANGES claiming 65535 ranges
      Buffer.from([0xff, 0xff, 0xff, 0x7f]),                      // a 2 GB frame length
    ];
    for (const p of payloads) {
      await new Promise<void>((resolve) => {
        const sock = net.connect(bus[a], "127.0.0.1", () => sock.end(p));
        sock.on("close", () => resolve());
        sock.on("error", () => resolve());
        setTimeout(() => { sock.destroy(); resolve(); }, 1000);
      });
    }
    expect(await clients[a].ping()).toBe("PONG");
    await clients[a].set("after-garbage", "ok");
    await everywhere("after-garbage", async (r) => (await r.get("after-garbage")) === "ok");
  });

  it("CRDT.PEERS and INFO crdt show the links", async () => {
    const peers = (await clients[a].call("crdt.peers")) as unknown[];
    expect(peers).toHaveLength(2);
    const info = await clients[a].info("crdt");
    expect(info).toMatch(/crdt_node_id:n0~/);
    expect(info).toMatch(/peer0:addr=127\.0\.0\.1:\d+,id=n[12]~\w+,link=up/);
  });
});
