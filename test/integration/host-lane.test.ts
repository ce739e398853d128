// The host lane (src/server/host-lane.ts): list/set/zset commands skip dispatch's checks
// while nothing needs them. These pin that a command in the same read as one that changes
// that (MULTI, MONITOR, CLIENT TRACKING) is treated as Redis treats it, and that lane
// commands keep the statistics Server.run keeps.
import { describe, it, expect } from "vitest";
import net from "node:net";
import type Redis from "ioredis";
import { useServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; });

/** Sends `input` in one write on a fresh connection; resolves with the first `n` bytes received. */
function oneRead(input: string, n: number, keepOpen?: (s: net.Socket) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(srv.port, "127.0.0.1", () => s.write(input));
    let got = "";
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`timed out with ${JSON.stringify(got)}`)); }, 5000);
    s.on("data", (d) => {
      got += d.toString("latin1");
      if (got.length >= n) {
        clearTimeout(timer);
        if (keepOpen) keepOpen(s); else s.destroy();
        resolve(got.slice(0, n));
      }
    });
    s.once("error", reject);
  });
}

describe("host lane", () => {
  it("queues a list command that follows MULTI in the same read", async () => {
    await r.del("lane:m");
    const want = "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:1\r\n";
    const got = await oneRead("MULTI\r\nLPUSH lane:m a\r\nSADD lane:ms x\r\nEXEC\r\n", want.length);
    expect(got).toBe(want);
  });

  it("shows MONITOR a set command sent by another client right after MONITOR started", async () => {
    let monitor: net.Socket | undefined;
    await oneRead("MONITOR\r\n", 5, (s) => { monitor = s; });
    try {
      let seen = "";
      monitor!.on("data", (d) => { seen += d.toString("latin1"); });
      const other = await oneRead("SADD lane:mon member1\r\nZADD lane:monz 1 m\r\n", 8);
      expect(other).toBe(":1\r\n:1\r\n");
      for (let i = 0; i < 100 && !seen.includes('"ZADD"'); i++) await new Promise((res) => setTimeout(res, 20));
      expect(seen).toContain('"SADD" "lane:mon" "member1"');
      expect(seen).toContain('"ZADD" "lane:monz" "1" "m"');
    } finally {
      monitor?.destroy();
    }
  });

  it("tracks a key read by a list command after CLIENT TRACKING ON in the same read", async () => {
    await r.del("lane:t");
    await r.rpush("lane:t", "a");
    let tracker: net.Socket | undefined;
    const hello = "HELLO 3\r\n";
    // HELLO's map reply is long; wait for the LRANGE reply that ends the read's replies.
    const lrange = "*1\r\n$1\r\na\r\n";
    const got = await new Promise<string>((resolve, reject) => {
      const s = net.connect(srv.port, "127.0.0.1", () => s.write(hello + "CLIENT TRACKING ON\r\nLRANGE lane:t 0 -1\r\n"));
      tracker = s;
      let all = "";
      s.on("data", (d) => { all += d.toString("latin1"); if (all.endsWith(lrange)) resolve(all); });
      s.once("error", reject);
      setTimeout(() => reject(new Error(`timed out with ${JSON.stringify(all)}`)), 5000);
    });
    try {
      expect(got.endsWith("+OK\r\n" + lrange)).toBe(true);
      let pushed = "";
      tracker!.on("data", (d) => { pushed += d.toString("latin1"); });
      await r.rpush("lane:t", "b");
      for (let i = 0; i < 100 && !pushed.includes("lane:t"); i++) await new Promise((res) => setTimeout(res, 20));
      expect(pushed).toBe(">2\r\n$10\r\ninvalidate\r\n*1\r\n$6\r\nlane:t\r\n");
    } finally {
      tracker?.destroy();
    }
  });

  it("counts calls, failed calls and errors of lane commands in INFO", async () => {
    await r.config("RESETSTAT");
    await r.set("lane:str", "x");
    const p = r.pipeline();
    for (let i = 0; i < 5; i++) p.rpush("lane:cs", String(i));
    p.rpush("lane:str", "y"); // WRONGTYPE
    await p.exec();
    const stats = await r.info("commandstats");
    expect(stats).toMatch(/cmdstat_rpush:calls=6,usec=\d+,usec_per_call=[\d.]+,rejected_calls=0,failed_calls=1/);
    expect(await r.info("errorstats")).toContain("errorstat_WRONGTYPE:count=1");
    expect(await r.info("latencystats")).toMatch(/latency_percentiles_usec_rpush:p50=/);
  });

  it("answers a wrong arity and an unknown command in the middle of lane commands as dispatch does", async () => {
    await r.del("lane:a");
    const want = ":1\r\n-ERR wrong number of arguments for 'lpush' command\r\n:2\r\n";
    expect(await oneRead("LPUSH lane:a x\r\nLPUSH lane:a\r\nLPUSH lane:a y\r\n", want.length)).toBe(want);
  });
});
