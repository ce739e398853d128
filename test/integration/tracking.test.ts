// Client-side caching (CLIENT TRACKING): invalidation messages byte for byte as Redis 7.0.15
// sends them (checked against redis-server), over raw sockets; and a real client (ioredis)
// receiving redirected invalidations on __redis__:invalidate.
import { describe, it, expect } from "vitest";
import net from "node:net";
import type Redis from "ioredis";
import { useServer, connectClient, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; });

/** A raw connection: send commands, then take exactly the bytes expected (or time out). */
class Raw {
  private buf = "";
  private waiters: (() => void)[] = [];
  constructor(readonly sock: net.Socket) {
    sock.on("data", (d) => {
      this.buf += d.toString("latin1");
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static async open(port: number): Promise<Raw> {
    const sock = net.connect(port, "127.0.0.1");
    await new Promise((res) => sock.once("connect", res));
    return new Raw(sock);
  }
  send(...args: string[]): void {
    this.sock.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(""));
  }
  /** The next n bytes, or whatever arrived by the deadline. */
  async take(n: number, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n && Date.now() < deadline) {
      await new Promise<void>((res) => {
        const t = setTimeout(res, deadline - Date.now());
        this.waiters.push(() => { clearTimeout(t); res(); });
      });
    }
    const out = this.buf.slice(0, n);
    this.buf = this.buf.slice(out.length);
    return out;
  }
  /** Sends a command and returns exactly `expected.length` bytes of what follows. */
  async call(expected: string, ...args: string[]): Promise<string> {
    this.send(...args);
    return this.take(expected.length);
  }
  /** Bytes that arrive within ms (nothing expected: "" when quiet). */
  async quiet(ms = 150): Promise<string> {
    await new Promise((res) => setTimeout(res, ms));
    const out = this.buf;
    this.buf = "";
    return out;
  }
  close(): void { this.sock.destroy(); }
}

const push = (...keys: string[]) => `>2\r\n$10\r\ninvalidate\r\n*${keys.length}\r\n` + keys.map((k) => `$${k.length}\r\n${k}\r\n`).join("");
const message = (...keys: string[]) => `*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*${keys.length}\r\n` + keys.map((k) => `$${k.length}\r\n${k}\r\n`).join("");
const HELLO3_PREFIX = "%7\r\n";

async function resp3(): Promise<Raw> {
  const c = await Raw.open(srv.port);
  c.send("HELLO", "3");
  expect(await c.take(HELLO3_PREFIX.length)).toBe(HELLO3_PREFIX);
  await c.quiet(50);
  return c;
}

async function clientId(c: Raw): Promise<string> {
  c.send("CLIENT", "ID");
  const line = await c.take(3);
  return (line + (await c.quiet(50))).trim().slice(1);
}

describe("CLIENT TRACKING default mode", () => {
  it("a RESP3 client gets an invalidate push when another client changes a key it read, once", async () => {
    const c = await resp3();
    try {
      expect(await c.call("+OK\r\n", "CLIENT", "TRACKING", "on")).toBe("+OK\r\n");
      await r.set("t:k1", "1");
      expect(await c.call("$1\r\n1\r\n", "GET", "t:k1")).toBe("$1\r\n1\r\n");
      await r.set("t:k1", "2");
      expect(await c.take(push("t:k1").length)).toBe(push("t:k1"));
      // Not read again: the key left the table, so the next change sends nothing.
      await r.set("t:k1", "3");
      expect(await c.quiet()).toBe("");
    } finally { c.close(); }
  });

  it("a client's own write is invalidated after its reply, and after EXEC's whole reply", async () => {
    const c = await resp3();
    try {
      await c.call("+OK\r\n", "CLIENT", "TRACKING", "on");
      await c.call(":1\r\n", "HSET", "t:h", "f", "1");
      await c.call("$1\r\n1\r\n", "HGET", "t:h", "f");
      expect(await c.call(":1\r\n" + push("t:h"), "HDEL", "t:h", "f")).toBe(":1\r\n" + push("t:h"));
      await c.call("+OK\r\n", "MSET", "t:a", "1", "t:b", "2");
      await c.call("$1\r\n1\r\n", "GET", "t:a");
      await c.call("+OK\r\n", "MULTI");
      await c.call("+QUEUED\r\n", "INCR", "t:a");
      await c.call("+QUEUED\r\n", "GET", "t:b");
      const want = "*2\r\n:2\r\n$1\r\n2\r\n" + push("t:a");
      expect(await c.call(want, "EXEC")).toBe(want);
    } finally { c.close(); }
  });

  it("host-type writes (lists), deletes and expiry invalidate too", async () => {
    const c = await resp3();
    try {
      await c.call("+OK\r\n", "CLIENT", "TRACKING", "on");
      await c.call("*0\r\n", "LRANGE", "t:list", "0", "-1");
      await r.rpush("t:list", "a");
      expect(await c.take(push("t:list").length)).toBe(push("t:list"));
      await r.set("t:gone", "x", "PX", 400);
      expect(await c.call("$1\r\nx\r\n", "GET", "t:gone")).toBe("$1\r\nx\r\n");
      // Active expiry removes it; the kernel's expired effect invalidates.
      expect(await c.take(push("t:gone").length, 8000)).toBe(push("t:gone"));
    } finally { c.close(); }
  });

  it("a script that reads tracks the script's declared keys", async () => {
    const c = await resp3();
    try {
      await c.call("+OK\r\n", "CLIENT", "TRACKING", "on");
      await c.call("_\r\n", "EVAL", "return redis.call('get', KEYS[2] .. 'x')", "2", "t:s1", "t:s2");
      await r.set("t:s2", "1");
      expect(await c.take(push("t:s2").length)).toBe(push("t:s2"));
    } finally { c.close(); }
  });

  it("FLUSHALL sends one null invalidation (to every tracking client)", async () => {
    const c = await resp3();
    try {
      await c.call("+OK\r\n", "CLIENT", "TRACKING", "on");
      await c.call("_\r\n", "GET", "t:f");
      await r.flushall();
      expect(await c.take(">2\r\n$10\r\ninvalidate\r\n_\r\n".length)).toBe(">2\r\n$10\r\ninvalidate\r\n_\r\n");
      expect(await c.quiet()).toBe("");
    } finally { c.close(); }
  });

  it("OPTIN tracks only after CLIENT CACHING yes; OPTOUT skips after CLIENT CACHING no", async () => {
    const c = await resp3();
    try {
      await c.call("+OK\r\n", "CLIENT", "TRACKING", "on", "OPTIN");
      await c.call("_\r\n", "GET", "t:o1");
      await c.call("+OK\r\n", "CLIENT", "CACHING", "yes");
      await c.call("_\r\n", "GET", "t:o2");
      await r.mset("t:o1", "1", "t:o2", "2");
      expect(await c.take(push("t:o2").length)).toBe(push("t:o2"));
      expect(await c.quiet()).toBe("");
      await c.call("+OK\r\n", "CLIENT", "TRACKING", "off");
      await c.call("+OK\r\n", "CLIENT", "TRACKING", "on", "OPTOUT");
      await c.call("+OK\r\n", "CLIENT", "CACHING", "no");
      await c.call("$1\r\n1\r\n", "GET", "t:o1");
      await c.call("$1\r\n2\r\n", "GET", "t:o2");
      await r.mset("t:o1", "3", "t:o2", "4");
      expect(await c.take(push("t:o2").length)).toBe(push("t:o2"));
      expect(await c.quiet()).toBe("");
    } finally { c.close(); }
  });

  it("under CLIENT REPLY OFF and SKIP a client's own invalidation is still sent (pushes are not replies)", async () => {
    // Bytes as redis-server 7.0.15 sends them for the same exchange.
    const c = await resp3();
    try {
      await c.call("+OK\r\n", "CLIENT", "TRACKING", "on");
      await c.call("+OK\r\n", "SET", "t:ro", "1");
      await c.call("$1\r\n1\r\n", "GET", "t:ro");
      c.send("CLIENT", "REPLY", "OFF");
      expect(await c.call(push("t:ro"), "SET", "t:ro", "2")).toBe(push("t:ro"));
      // Read again under REPLY OFF (tracked, no reply), then SKIP is ignored while OFF.
      c.send("GET", "t:ro");
      c.send("CLIENT", "REPLY", "SKIP");
      c.send("SET", "t:ro", "3");
      c.send("CLIENT", "REPLY", "ON");
      expect(await c.take(push("t:ro").length + 5)).toBe(push("t:ro") + "+OK\r\n");
      await c.call("$1\r\n3\r\n", "GET", "t:ro");
      c.send("CLIENT", "REPLY", "SKIP");
      expect(await c.call(push("t:ro"), "SET", "t:ro", "4")).toBe(push("t:ro"));
      expect(await c.call("$1\r\n4\r\n", "GET", "t:ro")).toBe("$1\r\n4\r\n");
      expect(await c.quiet()).toBe("");
    } finally { c.close(); }
  });

  it("tracking-table-max-keys drops keys picked at random, not the oldest ones", async () => {
    const c = await resp3();
    try {
      await c.call("+OK\r\n", "CLIENT", "TRACKING", "on");
      const keys = Array.from({ length: 400 }, (_, i) => `t:rnd${i}`);
      c.send("MGET", ...keys);
      await c.take(`*400\r\n`.length + 400 * 3);
      await r.config("SET", "tracking-table-max-keys", "200");
      // About 200 invalidations (keys other tests left in the table count too); oldest first
      // would be exactly the first keys read.
      const dropped = new Set<string>();
      const deadline = Date.now() + 8000;
      while (dropped.size < 190 && Date.now() < deadline) {
        for (const m of (await c.quiet(100)).matchAll(/t:rnd\d+/g)) dropped.add(m[0]);
      }
      expect(dropped.size).toBeGreaterThanOrEqual(190);
      const fromSecondHalf = [...dropped].filter((k) => Number(k.slice(5)) >= 200).length;
      // Uniform picks: about half from each half (P(< 50 of 200) is astronomically small).
      expect(fromSecondHalf).toBeGreaterThan(50);
    } finally {
      await r.config("SET", "tracking-table-max-keys", "1000000");
      c.close();
    }
  });

  it("tracking-table-max-keys evicts keys from the table with an invalidation", async () => {
    const c = await resp3();
    try {
      await c.call("+OK\r\n", "CLIENT", "TRACKING", "on");
      await c.call("*2\r\n_\r\n_\r\n", "MGET", "t:m1", "t:m2");
      await r.config("SET", "tracking-table-max-keys", "1");
      const got = await c.take(push("t:m1").length, 8000);
      expect([push("t:m1"), push("t:m2")]).toContain(got);
      // Keys are dropped at random: the other one may go too (when keys other clients read
      // are left in the table), but nothing else reaches this client.
      const other = got === push("t:m1") ? push("t:m2") : push("t:m1");
      expect(["", other]).toContain(await c.quiet());
    } finally {
      await r.config("SET", "tracking-table-max-keys", "1000000");
      c.close();
    }
  });
});

describe("CLIENT TRACKING REDIRECT", () => {
  it("sends Pub/Sub messages on __redis__:invalidate to a RESP2 subscriber; a flush as a null", async () => {
    const sub = await Raw.open(srv.port);
    const c = await Raw.open(srv.port);
    try {
      const id = await clientId(sub);
      const subReply = "*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n";
      expect(await sub.call(subReply, "SUBSCRIBE", "__redis__:invalidate")).toBe(subReply);
      await c.call("+OK\r\n", "CLIENT", "TRACKING", "on", "REDIRECT", id);
      await c.call("$-1\r\n", "GET", "t:q");
      await r.set("t:q", "1");
      expect(await sub.take(message("t:q").length)).toBe(message("t:q"));
      await c.call("$1\r\n1\r\n", "GET", "t:q");
      await r.flushdb();
      const flushMsg = "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n";
      expect(await sub.take(flushMsg.length)).toBe(flushMsg);
      expect(await c.call(":" + id + "\r\n", "CLIENT", "GETREDIR")).toBe(":" + id + "\r\n");
    } finally { sub.close(); c.close(); }
  });

  it("tells a RESP3 client its redirect client is gone (tracking-redir-broken, flag R)", async () => {
    const gone = await Raw.open(srv.port);
    const c = await resp3();
    try {
      const id = await clientId(gone);
      await c.call("+OK\r\n", "CLIENT", "TRACKING", "on", "REDIRECT", id);
      await c.call("_\r\n", "GET", "t:rb");
      gone.close();
      await new Promise((res) => setTimeout(res, 100));
      await r.set("t:rb", "1");
      const broken = `>2\r\n$21\r\ntracking-redir-broken\r\n:${id}\r\n`;
      expect(await c.take(broken.length)).toBe(broken);
      const info = `%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$15\r\nbroken_redirect\r\n$8\r\nredirect\r\n:${id}\r\n$8\r\nprefixes\r\n*0\r\n`;
      expect(await c.call(info, "CLIENT", "TRACKINGINFO")).toBe(info);
      c.send("CLIENT", "INFO");
      expect(await c.quiet(200)).toMatch(new RegExp(` flags=tR .* redir=${id} resp=3`));
    } finally { c.close(); }
  });

  it("a real client (ioredis) subscribed to __redis__:invalidate receives the invalidated keys", async () => {
    // RESP2: Redis sends the invalidations as Pub/Sub messages (in RESP3 they are pushes).
    const sub = await connectClient(srv.port, { protocol: 2 });
    const tracker = await connectClient(srv.port);
    try {
      const id = await sub.client("ID");
      const got = new Promise<unknown>((res) => sub.on("message", (ch, msg) => { if (ch === "__redis__:invalidate") res(msg); }));
      await sub.subscribe("__redis__:invalidate");
      await tracker.client("TRACKING", "ON", "REDIRECT", String(id));
      await tracker.get("t:io");
      await r.set("t:io", "v");
      const msg = await got;
      expect(String(msg)).toBe("t:io");
    } finally { sub.disconnect(); tracker.disconnect(); }
  });
});

describe("CLIENT TRACKING BCAST", () => {
  it("sends one message per prefix with the changed keys, and NOLOOP leaves out the client's own", async () => {
    const c = await resp3();
    try {
      await c.call("+OK\r\n", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "b:", "PREFIX", "c:", "NOLOOP");
      await r.mset("b:2", "1", "b:1", "1", "c:1", "1", "d:1", "1");
      const want = push("b:1", "b:2") + push("c:1");
      expect(await c.take(want.length)).toBe(want);
      await c.call("+OK\r\n", "SET", "b:mine", "1");
      expect(await c.quiet()).toBe("");
      const info = "%3\r\n$5\r\nflags\r\n~3\r\n$2\r\non\r\n$5\r\nbcast\r\n$6\r\nnoloop\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*2\r\n$2\r\nb:\r\n$2\r\nc:\r\n";
      expect(await c.call(info, "CLIENT", "TRACKINGINFO")).toBe(info);
    } finally { c.close(); }
  });

  it("refuses overlapping prefixes with Redis's errors", async () => {
    const c = await Raw.open(srv.port);
    try {
      let e = "-ERR Prefix 'FOOBAR' overlaps with another provided prefix 'FOO'. Prefixes for a single client must not overlap.\r\n";
      expect(await c.call(e, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOOBAR", "PREFIX", "FOO")).toBe(e);
      await c.call("+OK\r\n", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOO");
      e = "-ERR Prefix 'FO' overlaps with an existing prefix 'FOO'. Prefixes for a single client must not overlap.\r\n";
      expect(await c.call(e, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FO")).toBe(e);
      e = "-ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.\r\n";
      expect(await c.call(e, "CLIENT", "TRACKING", "on")).toBe(e);
      e = "-ERR PREFIX option requires BCAST mode to be enabled\r\n";
      expect(await c.call(e, "CLIENT", "TRACKING", "on", "PREFIX", "x")).toBe(e);
    } finally { c.close(); }
  });
});

describe("tracking in INFO and CLIENT LIST", () => {
  /** Waits until INFO shows `count` tracking clients (closed connections are noticed asynchronously). */
  async function untilTrackingClients(count: number): Promise<string> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const info = await r.info();
      if (info.includes(`\r\ntracking_clients:${count}\r\n`) || Date.now() > deadline) return info;
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  it("counts tracking clients, keys, items and prefixes", async () => {
    await untilTrackingClients(0); // earlier tests' connections are gone
    await r.flushall();
    const a = await resp3();
    const b = await resp3();
    try {
      await a.call("+OK\r\n", "CLIENT", "TRACKING", "on");
      await a.call("*2\r\n_\r\n_\r\n", "MGET", "t:i1", "t:i2");
      await b.call("+OK\r\n", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "p:");
      const info = await untilTrackingClients(2);
      expect(info).toMatch(/\r\ntracking_clients:2\r\n/);
      expect(info).toMatch(/\r\ntracking_total_keys:2\r\n/);
      expect(info).toMatch(/\r\ntracking_total_items:2\r\n/);
      expect(info).toMatch(/\r\ntracking_total_prefixes:1\r\n/);
      const list = String(await r.client("LIST"));
      expect(list).toMatch(/ flags=tB .* redir=0 resp=3/);
      expect(list).toMatch(/ flags=t .* redir=0 resp=3/);
    } finally { a.close(); b.close(); }
    expect(await untilTrackingClients(0)).toMatch(/\r\ntracking_clients:0\r\n/);
  });
});

describe("tracking and a served blocking command", () => {
  it("an unblocked BLMOVE gets its reply before the invalidation of the destination it tracks", async () => {
    await r.del("tl1{t}", "tl2{t}");
    await r.rpush("tl2{t}", "a");
    const rd = await Raw.open(srv.port);
    try {
      await rd.call("", "HELLO", "3");
      await rd.quiet(100);
      expect(await rd.call("+OK\r\n", "CLIENT", "TRACKING", "on")).toBe("+OK\r\n");
      expect(await rd.call("*1\r\n$1\r\na\r\n", "LRANGE", "tl2{t}", "0", "-1")).toBe("*1\r\n$1\r\na\r\n");
      rd.send("BLMOVE", "tl1{t}", "tl2{t}", "LEFT", "LEFT", "0");
      for (let i = 0; i < 100 && !(await r.info("clients")).includes("blocked_clients:1"); i++) await new Promise((res) => setTimeout(res, 20));
      await r.rpush("tl1{t}", "foo");
      const expected = "$3\r\nfoo\r\n" + push("tl2{t}");
      expect(await rd.take(expected.length)).toBe(expected);
    } finally {
      rd.close();
    }
  });
});
