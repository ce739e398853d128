import { describe, it, expect, beforeEach, afterEach } from "vitest";
import Redis from "ioredis";
import net from "node:net";
import { useServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;
let opened: Redis[] = [];

const connect = async (): Promise<Redis> => {
  const c = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0 });
  await c.connect();
  opened.push(c);
  return c;
};

/** Waits until INFO reports n blocked clients (as the Tcl suite's wait_for_blocked_clients_count). */
async function blockedClients(n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const info = await r.info("clients");
    if (Number(/blocked_clients:(\d+)/.exec(info)![1]) === n) return;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`blocked_clients never reached ${n}`);
}

useServer((s, c) => { srv = s; r = c; });
beforeEach(async () => { await r.flushall(); });
afterEach(() => {
  for (const c of opened) c.disconnect();
  opened = [];
});

describe("blocking list commands with two clients", () => {
  it("BLPOP returns at once when a list has elements, else waits for a push", async () => {
    const c = await connect();
    await r.rpush("ready", "x");
    expect(await c.blpop("nothing", "ready", 0)).toEqual(["ready", "x"]);
    const waiting = c.blpop("k1", "k2", 0);
    await blockedClients(1);
    expect(await r.rpush("k2", "a", "b")).toBe(2);
    expect(await waiting).toEqual(["k2", "a"]);
    expect(await r.lrange("k2", 0, -1)).toEqual(["b"]);
    await blockedClients(0);
  });

  it("serves blocked clients first come, first served", async () => {
    const cs = [await connect(), await connect(), await connect()];
    const got: Promise<unknown>[] = [];
    for (const c of cs) {
      got.push(c.brpop("q", 0));
      await blockedClients(got.length);
    }
    await r.rpush("q", "1", "2", "3");
    expect(await Promise.all(got)).toEqual([["q", "3"], ["q", "2"], ["q", "1"]]);
  });

  it("BLMOVE wakes on a push, and its push wakes a client blocked on the target", async () => {
    const mover = await connect();
    const popper = await connect();
    const moved = mover.blmove("src", "dst", "RIGHT", "LEFT", 0);
    await blockedClients(1);
    const popped = popper.blpop("dst", 0);
    await blockedClients(2);
    await r.rpush("src", "v");
    expect(await moved).toBe("v");
    expect(await popped).toEqual(["dst", "v"]);
    expect(await r.exists("src", "dst")).toBe(0);
  });

  it("a decimal timeout expires with a null reply", async () => {
    const c = await connect();
    const t0 = Date.now();
    expect(await c.blpop("none", 0.2)).toBeNull();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(await c.call("brpoplpush", "none", "dst", "0.05")).toBeNull();
    expect(await c.call("blmpop", "0.05", "1", "none", "LEFT")).toBeNull();
  });

  it("CLIENT UNBLOCK answers a blocked client as a timeout or with UNBLOCKED", async () => {
    const c = await connect();
    const id = await c.client("ID");
    const p1 = c.blpop("none", 0);
    await blockedClients(1);
    expect(await r.client("UNBLOCK", id, "TIMEOUT")).toBe(1);
    expect(await p1).toBeNull();
    const p2 = c.blpop("none", 0).catch((e: Error) => e.message);
    await blockedClients(1);
    expect(await r.client("UNBLOCK", id, "ERROR")).toBe(1);
    expect(await p2).toBe("UNBLOCKED client unblocked via CLIENT UNBLOCK");
    expect(await r.client("UNBLOCK", id)).toBe(0);
    await expect(r.call("client", "unblock", id, "later")).rejects.toThrow("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
  });

  it("commands pipelined after a blocked command wait until it is served", async () => {
    const replies: string[] = [];
    const sock = net.connect(srv.port, "127.0.0.1");
    sock.on("data", (d) => replies.push(d.toString("latin1")));
    await new Promise((res) => sock.once("connect", res));
    sock.write("*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n*2\r\n$4\r\nLLEN\r\n$1\r\nq\r\n*1\r\n$4\r\nPING\r\n");
    await blockedClients(1);
    expect(replies.join("")).toBe("");
    await r.rpush("q", "a", "b");
    for (let i = 0; i < 100 && !replies.join("").includes("PONG"); i++) await new Promise((res) => setTimeout(res, 10));
    expect(replies.join("")).toBe("*2\r\n$1\r\nq\r\n$1\r\na\r\n:1\r\n+PONG\r\n");
    sock.destroy();
  });

  it("a client that disconnects while blocked is forgotten and not served", async () => {
    const c = await connect();
    c.blpop("gone", 0).catch(() => {});
    await blockedClients(1);
    c.disconnect();
    await blockedClients(0);
    await r.rpush("gone", "kept");
    expect(await r.lrange("gone", 0, -1)).toEqual(["kept"]);
  });

  it("wakes when a kernel command (RENAME) moves a list into place", async () => {
    const c = await connect();
    const p = c.blpop("target", 0);
    await blockedClients(1);
    await r.rpush("staging", "a", "b");
    await r.rename("staging", "target");
    expect(await p).toEqual(["target", "a"]);
  });

  it("wakes when a host command creates the key (SORT ... STORE)", async () => {
    const c = await connect();
    const p = c.blpop("{s}sorted", 0);
    await blockedClients(1);
    await r.rpush("{s}input", "b", "c", "a");
    expect(await r.sort("{s}input", "ALPHA", "STORE", "{s}sorted")).toBe(3);
    expect(await p).toEqual(["{s}sorted", "a"]);
  });

  it("stays blocked when the key becomes another type, and the destination's WRONGTYPE leaves the source", async () => {
    const c = await connect();
    const p = c.blpop("k", 0);
    await blockedClients(1);
    await r.set("k", "string");
    await r.del("k");
    await r.rpush("k", "x");
    expect(await p).toEqual(["k", "x"]);
    await r.set("dst", "string");
    const m = c.brpoplpush("src", "dst", 0).catch((e: Error) => e.message);
    await blockedClients(1);
    await r.rpush("src", "v");
    expect(await m).toMatch(/^WRONGTYPE/);
    expect(await r.lrange("src", 0, -1)).toEqual(["v"]);
  });

  it("BLMPOP waiting on keys in different slots is served from whichever gets elements", async () => {
    const c = await connect();
    const p = c.call("blmpop", "0", "3", "a", "b", "c", "RIGHT", "COUNT", "2");
    await blockedClients(1);
    await r.rpush("c", "1", "2", "3");
    expect(await p).toEqual(["c", ["3", "2"]]);
  });
});
