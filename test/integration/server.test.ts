import { describe, it, expect, beforeAll, afterAll } from "vitest";
import Redis from "ioredis";
import { startServer, rawExchange, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;

beforeAll(async () => {
  srv = await startServer(["--enable-debug-command", "yes"]);
  r = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false });
  await r.connect();
});
afterAll(async () => {
  r?.disconnect();
  await srv?.stop();
});

const sections = (info: string) => [...info.matchAll(/^# (\w+)/gm)].map((m) => m[1]);

describe("INFO", () => {
  it("default sections are Redis 7.0's, in its order", async () => {
    expect(sections(await r.info())).toEqual(["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules", "Errorstats", "Cluster", "Keyspace"]);
  });

  it("all adds commandstats and latencystats; everything is all", async () => {
    const all = sections(await r.info("all"));
    expect(all).toContain("Commandstats");
    expect(all).toContain("Latencystats");
    expect(sections(await r.info("everything"))).toEqual(all);
  });

  it("section names are case-insensitive and each appears once", async () => {
    expect(sections(await r.call("info", "CPU", "cpu", "commandSTATS") as string)).toEqual(["CPU", "Commandstats"]);
  });

  it("reports the server fields Redis clients parse", async () => {
    const info = await r.info("server");
    expect(info).toMatch(/\r\nredis_version:7\.0\.15\r\n/);
    expect(info).toContain("redis_mode:standalone");
    expect(info).toContain(`tcp_port:${srv.port}`);
    expect(info).toMatch(/process_id:\d+/);
  });

  it("keyspace and commandstats follow the commands run", async () => {
    await r.select(3);
    await r.set("k1", "v");
    await r.set("k2", "v", "EX", 100);
    await r.get("k1");
    const ks = await r.info("keyspace");
    expect(ks).toMatch(/db3:keys=2,expires=1,avg_ttl=\d+/);
    const cs = await r.info("commandstats");
    expect(cs).toMatch(/cmdstat_set:calls=2,usec=\d+,usec_per_call=[\d.]+,rejected_calls=0,failed_calls=0/);
    expect(cs).toMatch(/cmdstat_select:calls=1,/);
    await r.select(0);
  });

  it("keyspace avg_ttl is the active expire cycle's estimate of the remaining TTL", async () => {
    await r.select(4);
    for (let i = 0; i < 20; i++) await r.set(`t${i}`, "v", "EX", 100);
    // serverCron runs the active expire cycle at hz 10; it samples the keys with a TTL.
    let ttl = 0;
    for (let tries = 0; tries < 50 && ttl === 0; tries++) {
      await new Promise((res) => setTimeout(res, 100));
      ttl = Number(/db4:keys=20,expires=20,avg_ttl=(\d+)/.exec(await r.info("keyspace"))?.[1] ?? 0);
    }
    expect(ttl).toBeGreaterThan(90_000);
    expect(ttl).toBeLessThanOrEqual(100_000);
    await r.flushdb();
    await r.select(0);
  });

  it("total_commands_processed is the sum of commandstats' calls, as in Redis", async () => {
    // Kernel commands (SET, GET, DBSIZE), ones the host answers too (PING, ECHO), a
    // subcommand (OBJECT ENCODING, CONFIG GET), host types (SADD, LPUSH) and one run on
    // every shard (FLUSHDB) each count once.
    await r.select(5);
    await r.set("k", "1");
    await r.get("k");
    await r.ping();
    await r.echo("x");
    await r.object("ENCODING", "k");
    await r.config("GET", "hz");
    await r.sadd("s", "a");
    await r.lpush("l", "a");
    await r.dbsize();
    await r.flushdb();
    await r.select(0);
    const info = await r.info("all");
    const total = Number(/total_commands_processed:(\d+)/.exec(info)![1]);
    const sum = [...info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(total).toBeGreaterThanOrEqual(12);
    expect(total).toBe(sum);
  });

  it("CONFIG RESETSTAT zeroes the command statistics and counters", async () => {
    await r.get("nokey");
    await r.config("RESETSTAT");
    const cs = await r.info("commandstats");
    expect(cs).not.toContain("cmdstat_get:");
    expect(await r.info("stats")).toMatch(/keyspace_misses:0\r\n/);
  });

  it("kernel errors count by code, and a wrong arity is a rejected call, as in Redis", async () => {
    await r.config("RESETSTAT");
    await expect(r.call("set", "k")).rejects.toThrow("ERR wrong number of arguments for 'set' command");
    await r.set("k1", "v");
    await expect(r.call("hset", "k1", "a", "b")).rejects.toThrow("WRONGTYPE");
    await expect(r.call("nosuchcmd")).rejects.toThrow("ERR unknown command");
    const es = await r.info("errorstats");
    expect(es).toContain("errorstat_ERR:count=2\r\n");
    expect(es).toContain("errorstat_WRONGTYPE:count=1\r\n");
    const cs = await r.info("commandstats");
    expect(cs).toMatch(/cmdstat_set:calls=1,usec=\d+,usec_per_call=[\d.]+,rejected_calls=1,failed_calls=0/);
    expect(cs).toMatch(/cmdstat_hset:calls=1,.*rejected_calls=0,failed_calls=1/);
    expect(await r.info("stats")).toContain("total_error_replies:3\r\n");
    await r.config("RESETSTAT");
    expect(await r.info("errorstats")).not.toContain("errorstat_");
  });

  it("latencystats lists percentiles per command run since RESETSTAT; kernel commands get measured time", async () => {
    await r.config("RESETSTAT");
    await r.set("lat", "1");
    await r.get("lat");
    await r.call("client", "id");
    const ls = await r.info("latencystats");
    expect(ls).toMatch(/\r\nlatency_percentiles_usec_set:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}\r\n/);
    expect(ls).toMatch(/\r\nlatency_percentiles_usec_client\|id:p50=/);
    expect(ls).not.toContain("latency_percentiles_usec_hset");
    await r.config("SET", "latency-tracking-info-percentiles", "0 50 100");
    expect(await r.info("latencystats")).toMatch(/latency_percentiles_usec_get:p0=[\d.]+,p50=[\d.]+,p100=[\d.]+\r\n/);
    await r.config("SET", "latency-tracking-info-percentiles", "50 99 99.9");
    expect(await r.info("commandstats")).toMatch(/cmdstat_get:calls=1,usec=\d+,usec_per_call=(?!0\.00)[\d.]+,/);
    await r.config("SET", "latency-tracking", "no");
    await r.config("RESETSTAT");
    await r.get("lat");
    expect(await r.info("latencystats")).not.toContain("latency_percentiles_usec_get");
    await r.config("SET", "latency-tracking", "yes");
  });

  it("errorstats counts error replies by code", async () => {
    await r.config("RESETSTAT");
    await expect(r.call("config", "set", "hz", "x")).rejects.toThrow();
    expect(await r.info("errorstats")).toContain("errorstat_ERR:count=1");
  });
});

describe("CONFIG", () => {
  it("GET takes several patterns and aliases, SET round-trips values we only store", async () => {
    expect(await r.config("SET", "hash-max-ziplist-entries", "64")).toBe("OK");
    const got = await r.call("config", "get", "hash-max-listpack-entries", "hash-max-ziplist-entries") as string[];
    expect(got).toEqual(["hash-max-listpack-entries", "64", "hash-max-ziplist-entries", "64"]);
    await r.config("SET", "hash-max-listpack-entries", "512");
  });

  it("GET with a glob lists every matching directive", async () => {
    const got = await r.call("config", "get", "maxmemory*") as string[];
    const names = got.filter((_, i) => i % 2 === 0).sort();
    expect(names).toEqual(["maxmemory", "maxmemory-clients", "maxmemory-eviction-tenacity", "maxmemory-policy", "maxmemory-samples"]);
  });

  it("REWRITE without a config file answers Redis's error", async () => {
    await expect(r.config("REWRITE")).rejects.toThrow("ERR The server is running without a config file");
  });

  it("proto-max-bulk-len reaches the kernel parser", async () => {
    await r.config("SET", "proto-max-bulk-len", "1mb");
    await expect(r.set("big", "x".repeat(1024 * 1024 + 1))).rejects.toThrow(/Protocol error|invalid bulk length/);
    const r2 = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false });
    await r2.connect();
    await r2.config("SET", "proto-max-bulk-len", "512mb");
    r2.disconnect();
  });
});

describe("COMMAND", () => {
  it("COUNT matches the number of rows COMMAND lists, and only supported commands appear", async () => {
    const all = await r.command() as unknown[][];
    expect(await r.call("command", "count")).toBe(all.length);
    const names = all.map((row) => row[0]);
    expect(names).toContain("get");
    expect(names).not.toContain("module");
  });

  it("INFO replies Redis's row and nil for unknown commands", async () => {
    const rows = await r.call("command", "info", "get", "nosuchcmd") as unknown[][];
    expect(rows[0].slice(0, 6)).toEqual(["get", 2, ["readonly", "fast"], 1, 1, 1]);
    expect(rows[1]).toBeNull();
  });

  it("GETKEYS follows key specs", async () => {
    expect(await r.call("command", "getkeys", "mset", "a", "1", "b", "2")).toEqual(["a", "b"]);
    await expect(r.call("command", "getkeys", "ping", "x")).rejects.toThrow("ERR The command has no key arguments");
    await expect(r.call("command", "getkeys", "nosuch", "x")).rejects.toThrow("ERR Invalid command specified");
    // MIGRATE's KEYS spec is incomplete: Redis's migrateGetKeys decides (AUTH's value may read "keys").
    expect(await r.call("command", "getkeys", "migrate", "h", "1", "", "0", "5", "auth", "keys", "keys", "a", "b")).toEqual(["a", "b"]);
    expect(await r.call("command", "getkeysandflags", "migrate", "h", "1", "k", "0", "5")).toEqual([["k", ["RW", "access", "delete"]]]);
    await expect(r.call("command", "getkeys", "migrate", "h", "1", "k", "0", "5", "keys", "a")).rejects.toThrow("ERR Invalid arguments specified for command");
  });

  it("GETKEYSANDFLAGS resolves variable flags like Redis (SET with and without GET)", async () => {
    expect(await r.call("command", "getkeysandflags", "set", "k1", "v1")).toEqual([["k1", ["OW", "update"]]]);
    expect(await r.call("command", "getkeysandflags", "set", "k1", "v1", "get")).toEqual([["k1", ["RW", "access", "update"]]]);
    expect(await r.call("command", "getkeysandflags", "lcs", "a", "b")).toEqual([["a", ["RO", "access"]], ["b", ["RO", "access"]]]);
  });

  it("OBJECT's subcommands are listed though the kernel runs them as one command", async () => {
    const [row] = await r.call("command", "info", "object") as unknown[][];
    expect((row[9] as unknown[][]).map((s) => s[0]).sort()).toEqual(["object|encoding", "object|freq", "object|help", "object|idletime", "object|refcount"]);
  });

  it("an unknown subcommand gets Redis's hint", async () => {
    await expect(r.call("command", "nosuch")).rejects.toThrow("ERR unknown subcommand 'nosuch'. Try COMMAND HELP.");
  });
});

describe("DEBUG", () => {
  it("SLEEP 0 and SET-ACTIVE-EXPIRE answer OK", async () => {
    expect(await r.call("debug", "sleep", "0")).toBe("OK");
    expect(await r.call("debug", "set-active-expire", "0")).toBe("OK");
    expect(await r.call("debug", "set-active-expire", "1")).toBe("OK");
  });

  it("POPULATE creates key:N = value:N (sized with zero bytes), leaving existing keys alone", async () => {
    await r.select(5);
    await r.flushdb();
    await r.set("key:1", "mine");
    expect(await r.call("debug", "populate", "3")).toBe("OK");
    expect(await r.mget("key:0", "key:1", "key:2")).toEqual(["value:0", "mine", "value:2"]);
    await r.call("debug", "populate", "2", "p", "10");
    expect(await r.getBuffer("p:1")).toEqual(Buffer.from("value:1\0\0\0"));
    await expect(r.call("debug", "populate", "-1")).rejects.toThrow("ERR value is out of range, must be positive");
    await r.flushdb();
    await r.select(0);
  });

  it("OBJECT describes a key with a stable address, and errors on a missing one", async () => {
    await r.set("dbg", "20000");
    const a = await r.call("debug", "object", "dbg") as string;
    expect(a).toMatch(/^Value at:0x[0-9a-f]+ refcount:\d+ encoding:\w+ serializedlength:\d+ lru:\d+ lru_seconds_idle:\d+/);
    await r.incr("dbg");
    expect((await r.call("debug", "object", "dbg") as string).split(" ")[1]).toBe(a.split(" ")[1]);
    await expect(r.call("debug", "object", "nokey")).rejects.toThrow("ERR no such key");
  });
});

describe("CLIENT", () => {
  it("LIST and INFO use Redis's field layout", async () => {
    const info = await r.call("client", "info") as string;
    expect(info).toMatch(/^id=\d+ addr=127\.0\.0\.1:\d+ laddr=127\.0\.0\.1:\d+ fd=-?\d+ name= age=\d+ idle=\d+ flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=\d+ argv-mem=10 multi-mem=0 rbs=\d+ rbp=\d+ obl=0 oll=0 omem=0 tot-mem=\d+ events=r cmd=client\|info user=default redir=-1 resp=[23]\n$/);
    const id = await r.call("client", "id");
    expect(await r.call("client", "list", "id", String(id))).toMatch(new RegExp(`^id=${id} .* cmd=client\\|list `));
    // CLIENT LIST runs a turn later (client-list-turn.ts) and still counts its own bytes in
    // qbuf, as introspection.tcl's "CLIENT LIST" expects (26 = *2 $6 client $4 list).
    const own = (await rawExchange(srv.port, "*2\r\n$6\r\nclient\r\n$4\r\nlist\r\n", { until: (t) => t.endsWith("\r\n") && /cmd=client\|list/.test(t) })).text;
    expect(own).toMatch(/ qbuf=26 .*cmd=client\|list /);
  });

  it("LIST's cmd= is the client's last command, a kernel one (GET, SET in a pipeline) too", async () => {
    const other = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false });
    await other.connect();
    try {
      const id = String(await other.call("client", "id"));
      const cmdOf = async () => /cmd=(\S+)/.exec(await r.call("client", "list", "id", id) as string)![1];
      expect(await cmdOf()).toBe("client|id");
      await other.get("lastcmd:k");
      expect(await cmdOf()).toBe("get");
      await other.pipeline().get("lastcmd:k").set("lastcmd:k", "v").exec();
      expect(await cmdOf()).toBe("set");
    } finally {
      other.disconnect();
    }
  });

  it("SETNAME validates like Redis and GETNAME returns it", async () => {
    await expect(r.call("client", "setname", "a b")).rejects.toThrow("ERR Client names cannot contain spaces, newlines or special characters.");
    expect(await r.call("client", "setname", "me")).toBe("OK");
    expect(await r.call("client", "getname")).toBe("me");
    expect(await r.call("client", "setname", "")).toBe("OK");
    expect(await r.call("client", "getname")).toBeNull();
  });

  it("KILL by ID closes that connection and counts it; the old form errors when none match", async () => {
    const other = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null });
    await other.connect();
    const id = await other.call("client", "id");
    const closed = new Promise((res) => other.once("end", res));
    expect(await r.call("client", "kill", "id", String(id))).toBe(1);
    await closed;
    await expect(r.call("client", "kill", "1.2.3.4:5")).rejects.toThrow("ERR No such client");
    await expect(r.call("client", "kill", "id", "0")).rejects.toThrow("ERR client-id should be greater than 0");
    await expect(r.call("client", "kill", "type", "nope")).rejects.toThrow("ERR Unknown client type 'nope'");
  });

  it("REPLY OFF silences replies until ON; SKIP drops only the next one", async () => {
    const { rawExchange } = await import("../helpers/server.js");
    const off = await rawExchange(srv.port, "CLIENT REPLY OFF\r\nPING a\r\nSET x 1\r\nCLIENT REPLY ON\r\nPING b\r\n", { until: (s) => s.includes("b\r\n") });
    expect(off.text).toBe("+OK\r\n$1\r\nb\r\n");
    const skip = await rawExchange(srv.port, "CLIENT REPLY SKIP\r\nGET x\r\nPING c\r\n", { until: (s) => s.includes("c\r\n") });
    expect(skip.text).toBe("$1\r\nc\r\n");
  });
});

describe("HELLO, RESET, TIME", () => {
  it("HELLO 2 replies the server map, with AUTH and SETNAME", async () => {
    const h = await r.call("hello", "2", "auth", "default", "any", "setname", "hi") as unknown[];
    expect(h.slice(0, 6)).toEqual(["server", "redis", "version", "7.0.15", "proto", 2]);
    expect(h.slice(8)).toEqual(["mode", "standalone", "role", "master", "modules", []]);
    expect(await r.call("client", "getname")).toBe("hi");
  });

  it("HELLO errors are Redis's", async () => {
    await expect(r.call("hello", "4")).rejects.toThrow("NOPROTO unsupported protocol version");
    await expect(r.call("hello", "x")).rejects.toThrow("ERR Protocol version is not an integer or out of range");
    await expect(r.call("hello", "2", "bogus")).rejects.toThrow("ERR Syntax error in HELLO option 'bogus'");
  });

  it("HELLO 3 switches host and kernel replies to RESP3, HELLO 2 back", async () => {
    const { rawExchange } = await import("../helpers/server.js");
    const { text } = await rawExchange(srv.port,
      "HELLO 3\r\nDEL h3\r\nHSET h3 a 1\r\nHGETALL h3\r\nGET nokey\r\nCONFIG GET hz\r\nDEBUG PROTOCOL double\r\nHELLO 2\r\nGET nokey\r\nPING\r\n",
      { until: (s) => s.endsWith("+PONG\r\n") });
    expect(text.startsWith("%7\r\n$6\r\nserver\r\n")).toBe(true);
    expect(text).toContain(":1\r\n%1\r\n$1\r\na\r\n$1\r\n1\r\n_\r\n%1\r\n$2\r\nhz\r\n$2\r\n10\r\n,3.141\r\n*14\r\n");
    expect(text.endsWith("$-1\r\n+PONG\r\n")).toBe(true);
  });

  it("RESET returns to db 0 without a name", async () => {
    await r.select(2);
    await r.call("client", "setname", "x");
    expect(await r.call("reset")).toBe("RESET");
    expect(await r.call("client", "getname")).toBeNull();
    expect(await r.call("client", "info")).toMatch(/ db=0 /);
  });

  it("RESET makes the client the default user again and ends MONITOR without echoing itself", async () => {
    await r.call("acl", "setuser", "resetuser", "on", ">pw", "+@all", "~*");
    const c = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false });
    await c.connect();
    try {
      await c.call("auth", "resetuser", "pw");
      expect(await c.call("acl", "whoami")).toBe("resetuser");
      expect(await c.call("reset")).toBe("RESET");
      expect(await c.call("acl", "whoami")).toBe("default");
      // A monitor's own RESET is not fed to it: its next reply is RESET's.
      const raw = await import("node:net");
      const sock = raw.connect(srv.port, "127.0.0.1");
      let got = "";
      sock.on("data", (d) => (got += d.toString("latin1")));
      sock.write("MONITOR\r\n");
      for (let i = 0; i < 200 && !got.includes("+OK\r\n"); i++) await new Promise((res) => setTimeout(res, 10));
      sock.write("RESET\r\nPING\r\n");
      for (let i = 0; i < 200 && !got.includes("+PONG\r\n"); i++) await new Promise((res) => setTimeout(res, 10));
      sock.destroy();
      expect(got).toBe("+OK\r\n+RESET\r\n+PONG\r\n");
    } finally {
      c.disconnect();
      await r.call("acl", "deluser", "resetuser");
    }
  });

  it("TIME is seconds and microseconds", async () => {
    const [s, us] = await r.call("time") as string[];
    expect(Math.abs(Number(s) - Date.now() / 1000)).toBeLessThan(5);
    expect(Number(us)).toBeGreaterThanOrEqual(0);
    expect(Number(us)).toBeLessThan(1e6);
  });
});

describe("CONFIG REWRITE with a config file", () => {
  it("rewrites values in place, drops extra lines, appends changed defaults under Redis's signature", async () => {
    const { mkdtempSync, writeFileSync, readFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "lkv-rewrite-"));
    const file = join(dir, "redis.conf");
    writeFileSync(file, "# my config\nsave 900 1\nsave 300 10\nhash-max-ziplist-entries 100\nmaxmemory 100mb\nloglevel notice\n");
    // A server started from the file (its --port/--dir flags come after it, as with redis-server).
    const { spawn } = await import("node:child_process");
    const { fileURLToPath } = await import("node:url");
    const { freePort } = await import("../helpers/server.js");
    const port = await freePort();
    const cli = fileURLToPath(new URL("../../dist/src/cli.js", import.meta.url));
    const proc = spawn(process.execPath, [cli, file, "--port", String(port), "--bind", "127.0.0.1", "--dir", dir], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    proc.stdout!.on("data", (d) => (out += d));
    await new Promise<void>((res, rej) => {
      const t = setInterval(() => { if (out.includes("Ready to accept")) { clearInterval(t); res(); } if (proc.exitCode !== null) { clearInterval(t); rej(new Error(out)); } }, 20);
    });
    const c = new Redis({ port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false });
    try {
      await c.connect();
      await c.config("SET", "maxmemory", "200mb", "hz", "20", "save", "100 5", "notify-keyspace-events", "KEA");
      expect(await c.config("REWRITE")).toBe("OK");
      const text = readFileSync(file, "utf8");
      expect(text.startsWith("# my config\nsave 100 5\n\nhash-max-listpack-entries 100\nmaxmemory 200mb\nloglevel notice\n")).toBe(true);
      expect(text).toContain(`\nport ${port}\n`);
      expect(text).toContain("# Generated by CONFIG REWRITE\n");
      expect(text).toContain("\nhz 20\n");
      expect(text).toContain('\nnotify-keyspace-events "AKE"\n');
      expect(text).toContain(`\ndir "${dir}"\n`);
    } finally {
      c.disconnect();
      // The config has save rules, so SIGTERM saves first (as Redis): the dir must still be
      // there, or the save fails and the server refuses to exit.
      const exited = new Promise((res) => proc.once("exit", res));
      proc.kill("SIGTERM");
      await Promise.race([exited, new Promise((res) => setTimeout(res, 10_000))]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
