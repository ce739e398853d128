// Client memory limits: subscribers' output buffers under maxmemory-clients (evicted before
// any key), the pubsub soft output limit enforced on cron when no more messages arrive, the
// query buffer's modelled allocation in CLIENT LIST (qbuf-free, resized on cron), and a
// client that pipelines several MB of replies without reading is still served (Redis never
// stops reading a client; our backpressure mark is above what such pipelines owe).
import { describe, it, expect } from "vitest";
import net from "node:net";
import type Redis from "ioredis";
import { useServer, connectClient, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; }, { client: { protocol: 2 } as never });

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

function info(text: string, field: string): number {
  const m = new RegExp(`^${field}:(\\d+)`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

async function clientField(name: string, field: string): Promise<number | null> {
  const list = (await r.call("CLIENT", "LIST")) as string;
  const line = list.split("\n").find((l) => l.includes(` name=${name} `));
  if (!line) return null;
  return Number(new RegExp(` ${field}=(\\d+)`).exec(line)![1]);
}

/** A raw socket that sends commands and never reads its replies. */
function deafClient(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(srv.port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
    s.pause();
  });
}

describe("client memory", () => {
  it("evicts subscribers whose output buffers pass maxmemory-clients, before any key", async () => {
    await r.flushall();
    await r.config("SET", "maxmemory", String(11 * 1024 * 1024));
    await r.config("SET", "maxmemory-policy", "allkeys-lru");
    await r.config("SET", "maxmemory-clients", String(3 * 1024 * 1024));
    await r.call("CLIENT", "NO-EVICT", "on");
    await r.config("RESETSTAT");
    try {
      for (let j = 0; j < 50; j++) await r.setrange(String(j), 100000, "x");
      const subs: net.Socket[] = [];
      for (let j = 0; j < 20; j++) {
        const s = await deafClient();
        s.on("error", () => {});
        s.write("SUBSCRIBE bla\r\n");
        subs.push(s);
      }
      await sleep(100);
      const big = "x".repeat(100000);
      const deadline = Date.now() + 10000;
      let evictedClients = 0;
      while (Date.now() < deadline) {
        await r.publish("bla", big);
        evictedClients = info(await r.info("stats"), "evicted_clients");
        if (evictedClients > 0) break;
      }
      const stats = await r.info("stats");
      expect(evictedClients).toBeGreaterThan(0);
      expect(info(stats, "evicted_keys")).toBe(0);
      expect(await r.dbsize()).toBe(50);
      for (const s of subs) s.destroy();
    } finally {
      await r.config("SET", "maxmemory-clients", "0");
      await r.config("SET", "maxmemory", "0");
      await r.call("CLIENT", "NO-EVICT", "off");
    }
  });

  it("closes a subscriber over the pubsub soft limit once its seconds pass, with no further message", async () => {
    await r.config("SET", "client-output-buffer-limit", "pubsub 0 100000 1");
    try {
      const s = await deafClient();
      s.on("error", () => {});
      s.write("CLIENT SETNAME softsub\r\nSUBSCRIBE foo\r\n");
      await sleep(100);
      // Publish until its unsent output is over the soft limit, then stop.
      const msg = "x".repeat(1000);
      for (let i = 0; i < 5000; i++) {
        await r.publish("foo", msg);
        const omem = await clientField("softsub", "omem");
        if (omem !== null && omem > 100000) break;
      }
      expect(await clientField("softsub", "omem")).toBeGreaterThan(100000);
      // No more messages: serverCron alone must notice the soft limit's time is up.
      const deadline = Date.now() + 4000;
      while (Date.now() < deadline && (await clientField("softsub", "omem")) !== null) await sleep(50);
      expect(await clientField("softsub", "omem")).toBeNull();
      s.destroy();
    } finally {
      await r.config("SET", "client-output-buffer-limit", "pubsub 33554432 8388608 60");
    }
  });

  it("reports the query buffer's 16 KB read allocation in qbuf-free and frees it after 2 idle seconds", async () => {
    const c = await connectClient(srv.port);
    try {
      await c.call("CLIENT", "SETNAME", "qbclient");
      const free = (await clientField("qbclient", "qbuf-free"))!;
      const used = (await clientField("qbclient", "qbuf"))!;
      expect(used + free).toBeGreaterThanOrEqual(16384);
      expect(used + free).toBeLessThan(32768);
      const deadline = Date.now() + 6000;
      while (Date.now() < deadline && (await clientField("qbclient", "qbuf-free")) !== 0) await sleep(100);
      expect(await clientField("qbclient", "qbuf-free")).toBe(0);
    } finally {
      c.disconnect();
    }
  });

  it("shrinks a big argument's query buffer to the recent peak on cron while the client stays busy", async () => {
    const c = await connectClient(srv.port);
    try {
      await c.call("CLIENT", "SETNAME", "qbbig");
      await c.set("x", "A".repeat(400000));
      const big = (await clientField("qbbig", "qbuf"))! + (await clientField("qbbig", "qbuf-free"))!;
      expect(big).toBeGreaterThan(32768);
      let now = big;
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline && now >= big) {
        await c.set("x", "A".repeat(100));
        now = (await clientField("qbbig", "qbuf"))! + (await clientField("qbbig", "qbuf-free"))!;
        await sleep(10);
      }
      expect(now).toBeGreaterThan(0);
      expect(now).toBeLessThan(big);
    } finally {
      c.disconnect();
    }
  });

  it("counts in qbuf only the received bytes of an incomplete big argument, not the header before it", async () => {
    const s = await deafClient();
    s.on("error", () => {});
    s.write("CLIENT SETNAME bigarg\r\n");
    const n = 300000;
    s.write(`*1\r\n$${n + 100}\r\n` + "v".repeat(n)); // 100 bytes short of complete
    const deadline = Date.now() + 5000;
    let qbuf: number | null = null;
    while (Date.now() < deadline && (qbuf = await clientField("bigarg", "qbuf")) !== n) await sleep(20);
    expect(qbuf).toBe(n);
    s.destroy();
  });

  it("counts an incomplete big argument whole in tot-mem down to its last bytes, as Redis preallocates it", async () => {
    const s = await deafClient();
    s.on("error", () => {});
    s.write("CLIENT SETNAME bigtail\r\n");
    const n = 300000;
    // 10 KB short of complete: less than the 32 KB that makes an argument big, still to come.
    s.write(`*1\r\n$${n + 10000}\r\n` + "v".repeat(n));
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (await clientField("bigtail", "qbuf")) !== n) await sleep(20);
    const idle = await deafClient();
    idle.write("CLIENT SETNAME idle\r\n");
    while (Date.now() < deadline && (await clientField("idle", "tot-mem")) === null) await sleep(20);
    // tot-mem also counts each client's reply buffer (rbs), which the cron shrinks from 16 KB to
    // 1 KB on its own schedule (the older client's may be shrunk, the newer's not yet): left out.
    const bare = (await clientField("idle", "tot-mem"))! - (await clientField("idle", "rbs"))!;
    const totMem = (await clientField("bigtail", "tot-mem"))! - (await clientField("bigtail", "rbs"))!;
    expect(totMem - bare).toBeGreaterThanOrEqual(n + 10000);
    s.destroy();
    idle.destroy();
  });

  it("counts an incomplete big argument whole in used_memory once its length arrived, as Redis's preallocated query buffer", async () => {
    const before = info(await r.info("memory"), "used_memory");
    const s = await deafClient();
    s.on("error", () => {});
    s.write("CLIENT SETNAME bigused\r\n");
    s.write(`*2\r\n$3\r\nSET\r\n$5000000\r\n` + "v".repeat(100000));
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (await clientField("bigused", "qbuf")) !== 100000) await sleep(20);
    const during = info(await r.info("memory"), "used_memory");
    expect(during - before).toBeGreaterThan(4_000_000); // received: 100 KB; other clients come and go
    s.destroy();
  });

  it("answers CLIENT LIST in its place in a pipeline (it runs after the reads of the same turn)", async () => {
    const c = await connectClient(srv.port, { protocol: 2 } as never);
    try {
      const p = c.pipeline();
      p.set("order:a", "1");
      p.call("CLIENT", "LIST");
      p.client("SETNAME", "after-list");
      p.call("CLIENT", "LIST");
      p.get("order:a");
      p.call("CLIENT", "INFO");
      const out = (await p.exec())!.map(([err, v]) => (err ? String(err) : v));
      expect(out[0]).toBe("OK");
      expect(String(out[1])).not.toContain("name=after-list");
      expect(out[2]).toBe("OK");
      expect(String(out[3])).toContain("name=after-list");
      expect(out[4]).toBe("1");
      expect(String(out[5])).toContain("name=after-list");
      const m = c.multi();
      m.call("CLIENT", "LIST");
      m.ping();
      const res = (await m.exec())!;
      expect(String(res[0][1])).toContain("name=after-list");
      expect(res[1][1]).toBe("PONG");
    } finally {
      c.disconnect();
    }
  });

  it("runs every command of a client that pipelines 5 MB of replies before reading any", async () => {
    // A blocking writer that reads only after writing everything (Redis's own test clients
    // do this) deadlocks against a server that stops reading it: the server must buffer.
    await r.del("ctr");
    const n = 500_000;
    const s = await deafClient();
    s.on("error", () => {});
    s.write("INCR ctr\r\n".repeat(n)); // ":1\r\n" .. ":500000\r\n": about 5 MB of replies
    const deadline = Date.now() + 20000;
    let ctr = 0;
    while (Date.now() < deadline && ctr < n) {
      ctr = Number(await r.get("ctr"));
      if (ctr < n) await sleep(50);
    }
    expect(ctr).toBe(n);
    s.destroy();
  });

  it("stops HRANDFIELD with a huge negative count at the normal hard limit and closes the client, as Redis's CLOSE_ASAP", async () => {
    await r.config("SET", "client-output-buffer-limit", "normal 1000000 0 0");
    try {
      await r.del("obufhash");
      await r.hset("obufhash", "a", "b");
      const s = await new Promise<net.Socket>((resolve, reject) => {
        const c = net.connect(srv.port, "127.0.0.1", () => resolve(c));
        c.once("error", reject);
      });
      s.on("error", () => {});
      let got = 0;
      s.on("data", (d) => (got += d.length));
      const closed = new Promise<void>((res) => s.once("close", () => res()));
      s.write("HRANDFIELD obufhash -999999999\r\n");
      await closed;
      // Closed without the cut reply (Redis frees a CLOSE_ASAP client without writing more).
      expect(got).toBe(0);
      // The same when the host runs it for the client (tracking hands every command back; in
      // EXEC), with 4 shards routed to the shard owning the key: closed, not the error.
      for (const input of ["CLIENT TRACKING on\r\nHRANDFIELD obufhash -999999999\r\n",
        "MULTI\r\nHRANDFIELD obufhash -999999999\r\nEXEC\r\n"]) {
        const c = await new Promise<net.Socket>((resolve, reject) => {
          const c = net.connect(srv.port, "127.0.0.1", () => resolve(c));
          c.once("error", reject);
        });
        c.on("error", () => {});
        let text = "";
        c.on("data", (d) => (text += d.toString("latin1")));
        const done = new Promise<void>((res) => c.once("close", () => res()));
        c.write(input);
        await done;
        expect(text).not.toContain("reply would exceed");
      }
      // Inside a script the reply is collected for the script, not cut: the whole-reply check answers.
      await expect(r.eval("return #redis.call('hrandfield', KEYS[1], -999999999)", 1, "obufhash")).rejects.toThrow(/reply would exceed/);
      expect(await r.eval("return #redis.call('hrandfield', KEYS[1], -50000)", 1, "obufhash")).toBe(50000);
    } finally {
      await r.config("SET", "client-output-buffer-limit", "normal 0 0 0");
    }
  });
});
