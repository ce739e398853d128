// RESP3 (HELLO 3) forms of the introspection replies, as redis-server 7.0.15 sends them
// (scripts/resp3-compare.mjs compares ~170 commands' replies against a live redis-server):
// MEMORY STATS' map with Redis's field names in Redis's order, LATENCY/SLOWLOG arrays,
// verbatim strings for the DOCTOR reports, and the help text.
import { describe, it, expect } from "vitest";
import net from "node:net";
import { useServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
useServer((s) => { srv = s; }, { args: ["--enable-debug-command", "yes"] });

/** One RESP3 connection; call() returns one whole reply's bytes. */
async function resp3(port: number) {
  const sock = net.connect(port, "127.0.0.1");
  await new Promise((res) => sock.once("connect", res));
  let buf = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  sock.on("data", (d) => { buf = Buffer.concat([buf, d]); wake?.(); });
  const end = (p: number): number => {
    const nl = buf.indexOf("\r\n", p);
    if (nl < 0) return -1;
    const t = String.fromCharCode(buf[p]);
    const n = Number(buf.toString("latin1", p + 1, nl));
    let q = nl + 2;
    if ("$=!".includes(t)) return n < 0 ? q : buf.length >= q + n + 2 ? q + n + 2 : -1;
    if ("*~>%|".includes(t)) {
      for (let i = 0; i < ("%|".includes(t) ? 2 * n : Math.max(n, 0)); i++) if ((q = end(q)) < 0) return -1;
    }
    return q;
  };
  const call = async (...args: string[]): Promise<string> => {
    sock.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(""));
    for (;;) {
      const e = buf.length ? end(0) : -1;
      if (e > 0) {
        const out = buf.toString("latin1", 0, e);
        buf = buf.subarray(e);
        return out;
      }
      await new Promise<void>((res) => { wake = res; setTimeout(res, 50); });
    }
  };
  await call("HELLO", "3");
  return { call, close: () => sock.destroy() };
}

/** The keys of a top-level RESP3 map whose values are integers, doubles or maps. */
function mapKeys(reply: string): string[] {
  return [...reply.matchAll(/\$\d+\r\n([a-z0-9.\-]+)\r\n/g)].map((m) => m[1]);
}

describe("RESP3 introspection replies", () => {
  it("MEMORY STATS is a map with Redis's fields in Redis's order", async () => {
    const c = await resp3(srv.port);
    try {
      await c.call("SET", "r3:k", "v");
      const reply = await c.call("MEMORY", "STATS");
      expect(reply.startsWith("%")).toBe(true);
      const keys = mapKeys(reply).filter((k) => !k.startsWith("db.") || k === "db.0");
      expect(keys).toEqual([
        "peak.allocated", "total.allocated", "startup.allocated", "replication.backlog", "clients.slaves",
        "clients.normal", "cluster.links", "aof.buffer", "lua.caches", "functions.caches",
        "db.0", "overhead.hashtable.main", "overhead.hashtable.expires", "overhead.hashtable.slot-to-keys",
        "overhead.total", "keys.count", "keys.bytes-per-key", "dataset.bytes", "dataset.percentage",
        "peak.percentage", "allocator.allocated", "allocator.active", "allocator.resident",
        "allocator-fragmentation.ratio", "allocator-fragmentation.bytes", "allocator-rss.ratio",
        "allocator-rss.bytes", "rss-overhead.ratio", "rss-overhead.bytes", "fragmentation", "fragmentation.bytes",
      ]);
      expect(reply).toMatch(/\$18\r\ndataset.percentage\r\n,[0-9.e+-]+\r\n/);
    } finally { c.close(); }
  });

  it("SLOWLOG GET and LATENCY LATEST/HISTORY are arrays; the DOCTOR reports are verbatim text", async () => {
    const c = await resp3(srv.port);
    try {
      await c.call("CONFIG", "SET", "slowlog-log-slower-than", "0");
      await c.call("SLOWLOG", "RESET");
      await c.call("CLIENT", "SETNAME", "r3");
      await c.call("PING");
      expect(await c.call("SLOWLOG", "GET", "1")).toMatch(
        /^\*1\r\n\*6\r\n:\d+\r\n:\d+\r\n:\d+\r\n\*1\r\n\$4\r\nPING\r\n\$\d+\r\n127\.0\.0\.1:\d+\r\n\$2\r\nr3\r\n$/);
      await c.call("CONFIG", "SET", "slowlog-log-slower-than", "10000");
      await c.call("LATENCY", "RESET");
      expect(await c.call("LATENCY", "LATEST")).toBe("*0\r\n");
      expect(await c.call("LATENCY", "DOCTOR")).toMatch(/^=292\r\ntxt:I'm sorry, Dave, I can't do that\. Latency monitoring is disabled/);
      await c.call("CONFIG", "SET", "latency-monitor-threshold", "1");
      await c.call("DEBUG", "SLEEP", "0.01");
      expect(await c.call("LATENCY", "LATEST")).toMatch(/^\*1\r\n\*4\r\n\$7\r\ncommand\r\n:\d+\r\n:\d+\r\n:\d+\r\n$/);
      expect(await c.call("LATENCY", "HISTORY", "command")).toMatch(/^\*1\r\n\*2\r\n:\d+\r\n:\d+\r\n$/);
      expect(await c.call("LATENCY", "DOCTOR")).toMatch(/^=\d+\r\ntxt:Dave, I have observed latency spikes in this Redis instance/);
      expect(await c.call("MEMORY", "DOCTOR")).toMatch(/^=272\r\ntxt:Hi Sam, this instance is empty/);
      await c.call("CONFIG", "SET", "latency-monitor-threshold", "0");
    } finally { c.close(); }
  });

  it("OBJECT HELP ends with Redis's 'Prints this help.'", async () => {
    const c = await resp3(srv.port);
    try {
      expect(await c.call("OBJECT", "HELP")).toMatch(/\+HELP\r\n\+    Prints this help\.\r\n$/);
    } finally { c.close(); }
  });
});
