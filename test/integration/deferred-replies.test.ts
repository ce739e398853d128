// A pipelined read whose commands spread over several shards: the parsing shard leaves the
// commands of other shards to them and the host puts every reply back in order
// (src/server/deferred-runs.ts). Runs in both vitest projects; with one shard nothing is
// deferred and the same replies are expected.
import { describe, it, expect, beforeEach } from "vitest";
import Redis from "ioredis";
import { useServer, rawExchange, connectClient, connectSocket, type RunningServer } from "../helpers/server.js";
import { spreadKeys } from "../helpers/spread-keys.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; });

beforeEach(async () => { await r.flushall(); });

const bulk = (v: string) => `$${v.length}\r\n${v}\r\n`;
const int = (n: number) => `:${n}\r\n`;
const cmd = (...argv: string[]) => `*${argv.length}\r\n${argv.map(bulk).join("")}`;

describe("deferred commands of other shards", () => {
  it("a command its shard hands back (a zset the host holds) is answered in its place in the pipeline", async () => {
    // zsets of 200 members are the host's: the kernel of their shard declines ZADD/ZCARD/ZSCORE
    // and the host runs them, between the replies of kernel commands in every shard.
    const big = spreadKeys("zbig", 2);
    const counters = spreadKeys("ctr", 2);
    for (const z of big) {
      const args: string[] = [];
      for (let m = 0; m < 200; m++) args.push(String(m), `m${m}`);
      await r.zadd(z, ...args);
    }
    let req = "";
    let want = "";
    const card = new Map(big.map((z) => [z, 200]));
    const count = new Map<string, number>();
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < big.length; i++) {
        const z = big[(i + round) % big.length];
        const c = counters[(i * 3 + round) % counters.length];
        req += cmd("ZADD", z, "7", `n${round}`) + cmd("INCR", c) + cmd("ZCARD", z) + cmd("GET", c) + cmd("ZSCORE", z, `n${round}`);
        card.set(z, card.get(z)! + 1);
        count.set(c, (count.get(c) ?? 0) + 1);
        want += int(1) + int(count.get(c)!) + int(card.get(z)!) + bulk(String(count.get(c))) + bulk("7");
      }
    }
    const { text } = await rawExchange(srv.port, req, { until: (t) => t.length >= want.length });
    expect(text).toBe(want);
  });

  it("replies big enough to make a shard yield come back whole and in order", async () => {
    // Each GET reply is 600 kB: a shard's list run stops past 1 MB of output and runs again.
    const keys = spreadKeys("huge", 1);
    const values = keys.map((_, i) => String.fromCharCode(97 + i).repeat(600_000));
    for (let i = 0; i < keys.length; i++) await r.set(keys[i], values[i]);
    let req = "";
    let want = "";
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < keys.length; i++) {
        req += cmd("GET", keys[(i + round) % keys.length]) + cmd("STRLEN", keys[i]);
        want += bulk(values[(i + round) % keys.length]) + int(600_000);
      }
    }
    const { text } = await rawExchange(srv.port, req, { until: (t) => t.length >= want.length, timeoutMs: 10_000 });
    expect(text.length).toBe(want.length);
    expect(text === want).toBe(true);
  });

  it("short and long replies of every shard, a reply skipped among them, come back in command order", async () => {
    // The join copies a range of up to 64 bytes by hand and a longer one with set(): values
    // of 1 to 300 bytes, read in an order that switches shard at almost every command.
    const keys = spreadKeys("mixed", 6);
    const value = (i: number) => String.fromCharCode(97 + (i % 26)).repeat(1 + ((i * 37) % 300));
    for (let i = 0; i < keys.length; i++) await r.set(keys[i], value(i));
    let req = "";
    let want = "";
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < keys.length; i++) {
        const j = (i * 5 + round) % keys.length;
        req += cmd("GET", keys[j]);
        want += bulk(value(j));
      }
    }
    // CLIENT REPLY SKIP in the middle of such a read drops exactly the next command's reply.
    const split = keys.length * 2;
    let skipped = "";
    let skippedWant = "";
    for (let i = 0; i < split; i++) {
      const j = (i * 7) % keys.length;
      skipped += cmd("GET", keys[j]);
      if (i !== split / 2) skippedWant += bulk(value(j));
      if (i === split / 2 - 1) skipped += cmd("CLIENT", "REPLY", "SKIP");
    }
    const { text } = await rawExchange(srv.port, req, { until: (t) => t.length >= want.length, timeoutMs: 10_000 });
    expect(text === want).toBe(true);
    const second = await rawExchange(srv.port, skipped, { until: (t) => t.length >= skippedWant.length, timeoutMs: 10_000 });
    expect(second.text === skippedWant).toBe(true);
  });

  it("a read with more commands for other shards than the kernel records runs them all in order", async () => {
    // 3000 INCRs over 40 keys: past the kernel's 1024 records the parsing moves, then defers again.
    const keys = spreadKeys("many", 10);
    let req = "";
    let want = "";
    const n = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const k = keys[(i * 7) % keys.length];
      n.set(k, (n.get(k) ?? 0) + 1);
      req += cmd("INCR", k);
      want += int(n.get(k)!);
    }
    const { text } = await rawExchange(srv.port, req, { until: (t) => t.length >= want.length, timeoutMs: 10_000 });
    expect(text).toBe(want);
    for (const [k, v] of n) expect(await r.get(k)).toBe(String(v));
  });

  it("inline commands and a command over 64 kB among other shards' commands keep their arguments and order", async () => {
    // An inline command's arguments are unescaped outside its bytes: the hand-off block carries
    // them (assembly/cluster/deferred.ts). A command over 64 kB is not handed off: the parsing
    // moves to its shard there, and commands after it are deferred again.
    const keys = spreadKeys("inl", 2);
    const big = "b".repeat(70_000);
    let req = "";
    let want = "";
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      req += `SET ${k} "v ${i}"\r\n` + cmd("GET", k) + `APPEND ${k} "\\x41"\r\n`;
      want += "+OK\r\n" + bulk(`v ${i}`) + int(`v ${i}`.length + 1);
      if (i === 3) {
        req += cmd("SET", `${k}:big`, big) + cmd("STRLEN", `${k}:big`);
        want += "+OK\r\n" + int(big.length);
      }
    }
    req += keys.map((k) => `GET ${k}\r\n`).join("");
    want += keys.map((k, i) => bulk(`v ${i}A`)).join("");
    const { text } = await rawExchange(srv.port, req, { until: (t) => t.length >= want.length, timeoutMs: 10_000 });
    expect(text).toBe(want);
  });

  it("the slow log names a deferred command's arguments", async () => {
    const keys = spreadKeys("slow", 1);
    await r.config("SET", "slowlog-log-slower-than", "0");
    try {
      await r.slowlog("RESET");
      const req = keys.map((k, i) => cmd("SET", k, `val${i}`)).join("");
      await rawExchange(srv.port, req, { until: (t) => t.length >= keys.length * 5 });
      const entries = (await r.slowlog("GET", "128")) as unknown[][];
      const argv = entries.map((e) => (e[3] as string[]).join(" "));
      for (let i = 0; i < keys.length; i++) expect(argv).toContain(`SET ${keys[i]} val${i}`);
    } finally {
      await r.config("SET", "slowlog-log-slower-than", "10000");
    }
  });

  it("CLIENT LIST cmd= names the read's last command when another shard ran it", async () => {
    const keys = spreadKeys("last", 1);
    const sock = await connectSocket(srv.port);
    try {
      let got = "";
      sock.on("data", (d) => { got += d.toString(); });
      const until = async (done: () => boolean) => { for (let i = 0; i < 250 && !done(); i++) await new Promise((res) => setTimeout(res, 20)); };
      sock.write(cmd("CLIENT", "ID"));
      await until(() => got.endsWith("\r\n"));
      const id = got.slice(1, -2);
      // One client (one parsing shard): INCRs in every shard, then a GET of a key in each shard in turn.
      for (let last = 0; last < keys.length; last++) {
        got = "";
        sock.write(keys.map((k) => cmd("INCR", k)).join("") + cmd("GET", keys[last]));
        await until(() => got.endsWith(bulk(String(last + 1))));
        const list = (await r.client("LIST", "ID", id)) as string;
        expect(list).toMatch(/ cmd=get /);
      }
    } finally {
      sock.destroy();
    }
  });

  it("a client in MULTI queues commands of every shard and EXEC answers them in order", async () => {
    const keys = spreadKeys("tx", 2);
    const req = cmd("MULTI") + keys.map((k) => cmd("INCR", k)).join("") + cmd("EXEC");
    const want = "+OK\r\n" + "+QUEUED\r\n".repeat(keys.length) + `*${keys.length}\r\n` + int(1).repeat(keys.length);
    const { text } = await rawExchange(srv.port, req, { until: (t) => t.length >= want.length });
    expect(text).toBe(want);
  });

  it("keyspace events of a pipeline spread over shards come in command order", async () => {
    const sub = await connectClient(srv.port);
    try {
      await r.config("SET", "notify-keyspace-events", "KEA");
      const keys = spreadKeys("ev", 2);
      const events: string[] = [];
      await sub.psubscribe("__keyevent@0__:*");
      sub.on("pmessage", (_p, ch, key) => events.push(`${ch.split(":").pop()} ${key}`));
      let req = "";
      const want: string[] = [];
      keys.forEach((k, i) => {
        req += cmd("SET", k, "1") + cmd("INCR", k) + (i % 2 ? cmd("DEL", k) : "");
        want.push(`set ${k}`, `incrby ${k}`, ...(i % 2 ? [`del ${k}`] : []));
      });
      await rawExchange(srv.port, req, { until: (t) => t.split("\r\n").length > keys.length * 2 });
      for (let i = 0; i < 50 && events.length < want.length; i++) await new Promise((res) => setTimeout(res, 20));
      expect(events).toEqual(want);
    } finally {
      await r.config("SET", "notify-keyspace-events", "");
      sub.disconnect();
    }
  });
});
