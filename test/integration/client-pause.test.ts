// CLIENT PAUSE / UNPAUSE (Redis 7.0): WRITE postpones writes, may-replicate commands and
// scripts that may write, lets reads through, keeps expired keys in place; ALL postpones
// everything; postponed clients resume in the order they were paused.
import { describe, it, expect, afterEach } from "vitest";
import type Redis from "ioredis";
import { useServer, connectClient, startServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; });

const opened: Redis[] = [];
async function client(): Promise<Redis> {
  const c = await connectClient(srv.port);
  opened.push(c);
  return c;
}
afterEach(async () => {
  await r.call("CLIENT", "UNPAUSE");
  for (const c of opened.splice(0)) c.disconnect();
});

async function blockedClients(): Promise<number> {
  const info = (await r.info("clients")) as string;
  return Number(/blocked_clients:(\d+)/.exec(info)![1]);
}

async function waitBlocked(n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await blockedClients()) === n) return;
    await new Promise((x) => setTimeout(x, 10));
  }
  expect(await blockedClients()).toBe(n);
}

describe("CLIENT PAUSE WRITE", () => {
  it("lets reads through and postpones writes until UNPAUSE, which they then run", async () => {
    await r.set("pause:k", "old");
    expect(await r.call("CLIENT", "PAUSE", "100000", "WRITE")).toBe("OK");
    const c = await client();
    const id = await c.client("ID");
    expect(await c.get("pause:k")).toBe("old");
    const write = c.set("pause:k", "new");
    await waitBlocked(1);
    expect(await r.call("CLIENT", "LIST")).toMatch(new RegExp(`id=${id} .* flags=b `));
    expect(await r.get("pause:k")).toBe("old");
    await r.call("CLIENT", "UNPAUSE");
    expect(await write).toBe("OK");
    expect(await r.get("pause:k")).toBe("new");
    expect(await blockedClients()).toBe(0);
  });

  // Redis 7.0.15 panics on CLIENT UNBLOCK <paused id> TIMEOUT ("Unknown btype in
  // replyToBlockedClientTimedOut") and with ERROR sends the client -UNBLOCKED and later the
  // postponed command's own reply too (two replies to one command). Later versions refuse it
  // (valkey #2117: a pause is ended by CLIENT UNPAUSE), which is what we do.
  it("CLIENT UNBLOCK of a paused client answers 0 and leaves it paused (TIMEOUT and ERROR)", async () => {
    expect(await r.call("CLIENT", "PAUSE", "100000", "WRITE")).toBe("OK");
    const c = await client();
    const id = String(await c.client("ID"));
    const replies: unknown[] = [];
    const write = c.set("pause:u", "v").then((x) => replies.push(x), (e: Error) => replies.push(e.message));
    await waitBlocked(1);
    expect(await r.call("CLIENT", "UNBLOCK", id)).toBe(0);
    expect(await r.call("CLIENT", "UNBLOCK", id, "TIMEOUT")).toBe(0);
    expect(await r.call("CLIENT", "UNBLOCK", id, "ERROR")).toBe(0);
    expect(await blockedClients()).toBe(1);
    expect(replies).toEqual([]);
    await r.call("CLIENT", "UNPAUSE");
    await write;
    expect(replies).toEqual(["OK"]);
    expect(await c.get("pause:u")).toBe("v");
  });

  it("postpones PUBLISH, PFCOUNT, EXEC of a write and EVAL of a script that may write, not no-writes scripts", async () => {
    await r.pfadd("pause:hll", "a");
    await r.call("CLIENT", "PAUSE", "100000", "WRITE");
    const c1 = await client();
    const c2 = await client();
    const c3 = await client();
    const c4 = await client();
    const pub = c1.publish("pause:ch", "x");
    const pf = c2.pfcount("pause:hll");
    const ev = c3.eval("return 1", 0);
    expect(await c4.call("MULTI")).toBe("OK");
    // Checked before MULTI queues it, as Redis: a write sent inside MULTI waits too.
    const queued = c4.call("SET", "pause:m", "1");
    await waitBlocked(4);
    const ro = await client();
    expect(await ro.eval("#!lua flags=no-writes\nreturn 'ro'", 0)).toBe("ro");
    expect(await ro.call("EVAL_RO", "return redis.call('get', KEYS[1])", 1, "pause:none")).toBe(null);
    await r.call("CLIENT", "UNPAUSE");
    expect(await pub).toBe(0);
    expect(await pf).toBe(1);
    expect(await ev).toBe(1);
    expect(await queued).toBe("QUEUED");
    expect(await c4.call("EXEC")).toEqual(["OK"]);
  });

  it("resumes postponed clients in the order they were paused", async () => {
    await r.call("CLIENT", "PAUSE", "100000", "WRITE");
    const cs = [await client(), await client(), await client()];
    const done: Promise<number>[] = [];
    for (const [i, c] of cs.entries()) {
      done.push(c.rpush("pause:order", String(i)));
      await waitBlocked(i + 1); // each arrives after the one before
    }
    await r.call("CLIENT", "UNPAUSE");
    expect(await Promise.all(done)).toEqual([1, 2, 3]);
    expect(await r.lrange("pause:order", 0, -1)).toEqual(["0", "1", "2"]);
  });

  it("keeps keys past their TTL in place (no expired_keys) until the pause ends", async () => {
    const expired = async () => Number(/expired_keys:(\d+)/.exec((await r.info("stats")) as string)![1]);
    const before = await expired();
    // In one transaction, so that nothing expires it between the SET and the pause.
    await r.multi().set("pause:ttl", "v", "PX", 5).call("CLIENT", "PAUSE", "100000", "WRITE").exec();
    await new Promise((x) => setTimeout(x, 150));
    expect(await r.get("pause:ttl")).toBe(null);
    expect(await expired()).toBe(before);
    await r.call("CLIENT", "UNPAUSE");
    expect(await r.get("pause:ttl")).toBe(null);
    expect(await expired()).toBe(before + 1);
  });

  it("answers a syntax error at once, and ends by itself after its timeout", async () => {
    await r.call("CLIENT", "PAUSE", "300", "WRITE");
    await expect(r.call("SET", "pause:x")).rejects.toThrow("ERR wrong number of arguments for 'set' command");
    const c = await client();
    expect(await c.set("pause:x", "1")).toBe("OK"); // waits until the pause ends
  });
});

describe("CLIENT PAUSE ALL", () => {
  it("postpones reads too (and UNPAUSE itself) until its timeout", async () => {
    await r.set("pause:all", "v");
    const c = await client();
    await r.call("CLIENT", "PAUSE", "400", "ALL");
    let answered = false;
    const got = c.get("pause:all").then((v) => { answered = true; return v; });
    const unpause = r.call("CLIENT", "UNPAUSE");
    await new Promise((x) => setTimeout(x, 100));
    expect(answered).toBe(false);
    expect(await got).toBe("v");
    expect(await unpause).toBe("OK");
  });

  it("rejects a bad mode and a bad timeout with Redis's errors", async () => {
    await expect(r.call("CLIENT", "PAUSE", "10", "READ")).rejects.toThrow("ERR CLIENT PAUSE mode must be WRITE or ALL");
    await expect(r.call("CLIENT", "PAUSE", "x")).rejects.toThrow("ERR timeout is not an integer or out of range");
    await expect(r.call("CLIENT", "PAUSE", "-1")).rejects.toThrow("ERR timeout is negative");
  });
});

describe("CLIENT PAUSE on a replica", () => {
  it("holds its master's stream: read (slave_read_repl_offset) but not applied until UNPAUSE", async () => {
    const primary = await startServer();
    const replica = await startServer();
    const p = await connectClient(primary.port);
    const rep = await connectClient(replica.port);
    const field = async (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec((await rep.info("replication")) as string)?.[1] ?? -1);
    const until = async (what: () => Promise<boolean>) => {
      for (let i = 0; i < 300 && !(await what()); i++) await new Promise((x) => setTimeout(x, 20));
      expect(await what()).toBe(true);
    };
    try {
      await rep.call("REPLICAOF", "127.0.0.1", String(primary.port));
      await until(async () => /master_link_status:up/.test((await rep.info("replication")) as string));
      await p.set("rp:foo", "bar");
      await until(async () => (await rep.get("rp:foo")) === "bar");
      const applied = await field("slave_repl_offset");
      await rep.call("CLIENT", "PAUSE", "100000", "WRITE");
      await p.set("rp:foo2", "bar2");
      await until(async () => (await field("slave_read_repl_offset")) > applied);
      expect(await field("slave_repl_offset")).toBe(applied);
      expect(await rep.get("rp:foo2")).toBe(null);
      await rep.call("CLIENT", "UNPAUSE");
      await until(async () => (await rep.get("rp:foo2")) === "bar2");
      expect(await field("slave_repl_offset")).toBe(await field("slave_read_repl_offset"));
    } finally {
      p.disconnect();
      rep.disconnect();
      await replica.stop();
      await primary.stop();
    }
  });
});
