// Pub/Sub (SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE, PUBLISH/SPUBLISH, PUBSUB) as Redis 7.0.15: the
// RESP2 and RESP3 message shapes byte for byte on raw sockets, and two ioredis clients.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import Redis from "ioredis";
import { startServer, type RunningServer } from "../helpers/server.js";
import { RawConn, resp } from "../helpers/raw-conn.js";

let srv: RunningServer;
let r: Redis;

beforeAll(async () => {
  srv = await startServer();
  r = new Redis({ port: srv.port, host: "127.0.0.1" });
});
afterAll(async () => {
  r?.disconnect();
  await srv?.stop();
});

const { bulk, int, arr, push } = resp;
const conf = (kind: string, name: string | null, n: number, p = arr) =>
  p(3) + bulk(kind) + (name === null ? (p === push ? "_\r\n" : "$-1\r\n") : bulk(name)) + int(n);

describe("pub/sub, RESP2", () => {
  it("confirms each channel with the subscription count and delivers messages as arrays", async () => {
    const c = await RawConn.open(srv.port);
    c.send("SUBSCRIBE", "chan1", "chan2", "chan1");
    await c.expect(conf("subscribe", "chan1", 1) + conf("subscribe", "chan2", 2) + conf("subscribe", "chan1", 2));
    expect(await r.publish("chan1", "hello")).toBe(1);
    await c.expect(arr(3) + bulk("message") + bulk("chan1") + bulk("hello"));
    c.send("UNSUBSCRIBE");
    await c.expect(conf("unsubscribe", "chan1", 1) + conf("unsubscribe", "chan2", 0));
    c.send("UNSUBSCRIBE");
    await c.expect(conf("unsubscribe", null, 0));
    expect(await r.publish("chan1", "hello")).toBe(0);
    c.close();
  });

  it("refuses other commands while subscribed with Redis's error, and PING answers [pong, msg]", async () => {
    const c = await RawConn.open(srv.port);
    c.send("SUBSCRIBE", "a");
    await c.expect(conf("subscribe", "a", 1));
    c.send("GET", "x");
    await c.expect("-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n");
    c.send("CLIENT", "INFO");
    await c.expect("-ERR Can't execute 'client|info': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n");
    c.send("PING");
    await c.expect(arr(2) + bulk("pong") + bulk(""));
    c.send("PING", "x");
    await c.expect(arr(2) + bulk("pong") + bulk("x"));
    c.send("RESET");
    await c.expect("+RESET\r\n");
    c.send("PING");
    await c.expect("+PONG\r\n");
    expect(await r.publish("a", "m")).toBe(0);
    c.close();
  });

  it("delivers pattern messages as pmessage with the pattern, and counts every matching pattern", async () => {
    const c = await RawConn.open(srv.port);
    c.send("SUBSCRIBE", "foo.bar");
    c.send("PSUBSCRIBE", "foo.*", "f?o.b[a]r");
    await c.expect(conf("subscribe", "foo.bar", 1) + conf("psubscribe", "foo.*", 2) + conf("psubscribe", "f?o.b[a]r", 3));
    expect(await r.pubsub("NUMPAT")).toBe(2);
    expect(await r.publish("foo.bar", "hi")).toBe(3);
    await c.expect(arr(3) + bulk("message") + bulk("foo.bar") + bulk("hi") +
      arr(4) + bulk("pmessage") + bulk("foo.*") + bulk("foo.bar") + bulk("hi") +
      arr(4) + bulk("pmessage") + bulk("f?o.b[a]r") + bulk("foo.bar") + bulk("hi"));
    expect(await r.publish("foo1", "x")).toBe(0);
    c.send("PUNSUBSCRIBE", "foo.*");
    await c.expect(conf("punsubscribe", "foo.*", 2));
    c.close();
  });

  it("keeps shard channels apart: SSUBSCRIBE counts only shard channels, SPUBLISH reaches only them", async () => {
    const c = await RawConn.open(srv.port);
    c.send("SUBSCRIBE", "ch");
    c.send("SSUBSCRIBE", "ch", "s2");
    await c.expect(conf("subscribe", "ch", 1) + conf("ssubscribe", "ch", 1) + conf("ssubscribe", "s2", 2));
    expect(await r.spublish("ch", "m")).toBe(1);
    await c.expect(arr(3) + bulk("smessage") + bulk("ch") + bulk("m"));
    expect(await r.publish("ch", "p")).toBe(1);
    await c.expect(arr(3) + bulk("message") + bulk("ch") + bulk("p"));
    expect(await r.pubsub("SHARDNUMSUB", "ch", "s2", "zz")).toEqual(["ch", 1, "s2", 1, "zz", 0]);
    expect((await r.pubsub("SHARDCHANNELS")) as string[]).toEqual(expect.arrayContaining(["ch", "s2"]));
    expect(await r.pubsub("SHARDCHANNELS", "s*")).toEqual(["s2"]);
    c.send("SUNSUBSCRIBE", "s2");
    await c.expect(conf("sunsubscribe", "s2", 1));
    c.close();
  });

  it("delivers confirmations and messages under CLIENT REPLY OFF", async () => {
    const c = await RawConn.open(srv.port);
    c.send("CLIENT", "REPLY", "OFF");
    c.send("SUBSCRIBE", "quiet");
    await c.expect(conf("subscribe", "quiet", 1));
    await r.publish("quiet", "still");
    await c.expect(arr(3) + bulk("message") + bulk("quiet") + bulk("still"));
    c.close();
  });

  it("forgets a client's subscriptions when it disconnects", async () => {
    const c = await RawConn.open(srv.port);
    c.send("SUBSCRIBE", "gone");
    c.send("PSUBSCRIBE", "gone*");
    await c.expect(conf("subscribe", "gone", 1) + conf("psubscribe", "gone*", 2));
    c.close();
    for (let i = 0; i < 50 && (await r.pubsub("NUMSUB", "gone"))[1] !== 0; i++) await new Promise((x) => setTimeout(x, 20));
    expect(await r.pubsub("NUMSUB", "gone")).toEqual(["gone", 0]);
    expect(await r.publish("gone", "x")).toBe(0);
  });
});

describe("pub/sub, RESP3", () => {
  it("sends pushes, lets other commands run, and puts a self-published message before PUBLISH's reply", async () => {
    const c = await RawConn.open(srv.port);
    c.send("HELLO", "3");
    await c.skipPast("$7\r\nmodules\r\n*0\r\n");
    c.send("SUBSCRIBE", "a");
    await c.expect(conf("subscribe", "a", 1, push));
    c.send("GET", "nokey");
    await c.expect("_\r\n");
    c.send("PUBLISH", "a", "hi");
    await c.expect(push(3) + bulk("message") + bulk("a") + bulk("hi") + int(1));
    c.send("UNSUBSCRIBE");
    await c.expect(conf("unsubscribe", "a", 0, push));
    c.close();
  });
});

describe("pub/sub with two ioredis clients", () => {
  it("subscriber receives message and pmessage events; PUBSUB CHANNELS/NUMSUB see it", async () => {
    const sub = new Redis({ port: srv.port, host: "127.0.0.1" });
    const got: string[] = [];
    sub.on("message", (ch, m) => got.push(`message ${ch} ${m}`));
    sub.on("pmessage", (p, ch, m) => got.push(`pmessage ${p} ${ch} ${m}`));
    await sub.subscribe("news.tech");
    await sub.psubscribe("news.*");
    expect(await r.pubsub("CHANNELS", "news.*")).toEqual(["news.tech"]);
    expect(await r.pubsub("NUMSUB", "news.tech", "other")).toEqual(["news.tech", 1, "other", 0]);
    expect(await r.publish("news.tech", "v1")).toBe(2);
    for (let i = 0; i < 50 && got.length < 2; i++) await new Promise((x) => setTimeout(x, 10));
    expect(got).toEqual(["message news.tech v1", "pmessage news.* news.tech v1"]);
    sub.disconnect();
  });

  it("CLIENT LIST shows the subscriber's counts, flag P, and TYPE pubsub selects it", async () => {
    const sub = new Redis({ port: srv.port, host: "127.0.0.1" });
    await sub.client("SETNAME", "subscriber");
    await sub.subscribe("x1", "x2");
    await sub.psubscribe("y*");
    const list = (await r.client("LIST", "TYPE", "pubsub")) as string;
    const line = list.split("\n").find((l) => l.includes("name=subscriber"))!;
    expect(line).toMatch(/ flags=P /);
    expect(line).toMatch(/ sub=2 psub=1 ssub=0 /);
    sub.disconnect();
  });
});

describe("slow subscribers", () => {
  it("a subscriber that does not read is disconnected past client-output-buffer-limit pubsub's hard limit", async () => {
    const net = await import("node:net");
    const sock = net.connect(srv.port, "127.0.0.1");
    await new Promise((res) => sock.once("connect", res));
    sock.write("*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nslow\r\n");
    await new Promise((res) => sock.once("data", res));
    sock.pause(); // reads nothing more: the server's unsent output grows
    const closed = new Promise<void>((res) => sock.once("close", () => res()));
    await r.config("SET", "client-output-buffer-limit", "pubsub 1mb 0 0");
    try {
      const payload = "x".repeat(100_000);
      let receivers = 1;
      // Kernel socket buffers take some megabytes first; then the limit is crossed.
      for (let i = 0; i < 1000 && receivers > 0; i++) receivers = await r.publish("slow", payload);
      expect(receivers).toBe(0);
      sock.on("error", () => {});
      sock.resume(); // read what was sent before the server closed it, then see the close
      await closed;
      expect(await r.pubsub("NUMSUB", "slow")).toEqual(["slow", 0]);
    } finally {
      await r.config("SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60");
      sock.destroy();
    }
  });
});
