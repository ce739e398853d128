// ACL and AUTH (Redis 7.0 semantics) against a real server: users and passwords, command,
// category, key and channel permissions, selectors, the ACL LOG, MULTI and Lua contexts,
// requirepass, user lines, aclfile, deleting users, protected mode's loopback exception.
import { describe, it, expect, beforeEach, afterAll } from "vitest";
import Redis from "ioredis";
import { writeFileSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { useServer, startServer, connectClient, rawExchange, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; });

const opened: Redis[] = [];
async function as(user: string, password: string): Promise<Redis> {
  const c = await connectClient(srv.port, { maxRetriesPerRequest: 0 });
  opened.push(c);
  await c.call("AUTH", user, password);
  return c;
}
afterAll(() => { for (const c of opened) c.disconnect(); });

beforeEach(async () => {
  for (const u of (await r.call("ACL", "USERS")) as string[]) if (u !== "default") await r.call("ACL", "DELUSER", u);
  await r.call("ACL", "LOG", "RESET");
  await r.flushall();
});

describe("users and authentication", () => {
  it("new users start disabled, with no passwords and no permissions", async () => {
    await r.call("ACL", "SETUSER", "newuser");
    expect(await r.call("ACL", "LIST")).toEqual(["user default on nopass ~* &* +@all", "user newuser off resetchannels -@all"]);
    await expect(r.call("AUTH", "newuser", "x")).rejects.toThrow("WRONGPASS invalid username-password pair or user is disabled.");
  });

  it("only the set of correct passwords work, compared by their SHA-256", async () => {
    await r.call("ACL", "SETUSER", "u", "on", ">p1", ">p2", "+acl|whoami", "+auth");
    const c = await as("u", "p1");
    expect(await c.call("ACL", "WHOAMI")).toBe("u");
    await expect(c.call("AUTH", "u", "nope")).rejects.toThrow("WRONGPASS");
    expect(await c.call("AUTH", "u", "p2")).toBe("OK");
    const info = (await r.call("ACL", "GETUSER", "u")) as unknown[];
    const passwords = info[info.indexOf("passwords") + 1] as string[];
    // SHA-256 of "p1", as Redis shows it (never the cleartext).
    expect(passwords[0]).toBe(createHash("sha256").update("p1").digest("hex"));
    expect(passwords).toHaveLength(2);
    await expect(r.call("ACL", "SETUSER", "u", "#abc")).rejects.toThrow(
      "Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters");
  });

  it("AUTH with one argument needs a password on the default user; too many arguments is a syntax error", async () => {
    await expect(r.call("AUTH", "foo")).rejects.toThrow("AUTH <password> called without any password configured for the default user");
    await expect(r.call("AUTH", "a", "b", "c")).rejects.toThrow("ERR syntax error");
  });

  it("usernames cannot contain spaces and the default user cannot be deleted", async () => {
    await expect(r.call("ACL", "SETUSER", "a b")).rejects.toThrow("Usernames can't contain spaces or null characters");
    await expect(r.call("ACL", "DELUSER", "default")).rejects.toThrow("The 'default' user cannot be removed");
  });

  it("deleting a user disconnects its clients, after replying to the one that deleted it", async () => {
    await r.call("ACL", "SETUSER", "gone", "on", ">pw", "+@all", "~*");
    const c = await as("gone", "pw");
    const closed = new Promise((resolve) => c.once("close", resolve));
    expect(await c.call("ACL", "DELUSER", "gone")).toBe(1);
    await closed;
    expect(await r.ping()).toBe("PONG");
  });
});

describe("permissions", () => {
  it("revoking a channel permission disconnects the user's subscribers that held it, and only those", async () => {
    await r.call("ACL", "SETUSER", "ps", "on", ">pw", "+@all", "resetchannels", "&foo:1", "&bar:*");
    const once = async () => {
      const c = await connectClient(srv.port, { maxRetriesPerRequest: 0, retryStrategy: () => null });
      opened.push(c);
      await c.call("AUTH", "ps", "pw");
      return c;
    };
    const sub = await once();
    const psub = await once();
    await sub.subscribe("foo:1");
    await psub.psubscribe("bar:*");
    const subClosed = new Promise((resolve) => sub.once("close", resolve));
    // bar:* stays: the pattern subscriber keeps its connection.
    expect(await r.call("ACL", "SETUSER", "ps", "resetchannels", "&bar:*")).toBe("OK");
    await subClosed;
    const names = async () => ((await r.call("CLIENT", "LIST")) as string).split("\n").filter((l) => l.includes("user=ps")).length;
    expect(await names()).toBe(1);
    const psubClosed = new Promise((resolve) => psub.once("close", resolve));
    expect(await r.call("ACL", "SETUSER", "ps", "resetchannels")).toBe("OK");
    await psubClosed;
    expect(await names()).toBe(0);
  });

  it("a user may run only the commands and categories it was given, with NOPERM naming the command", async () => {
    await r.call("ACL", "SETUSER", "u", "on", "nopass", "~*", "+@string", "-incr");
    const c = await as("u", "any");
    expect(await c.set("k", "1")).toBe("OK");
    await expect(c.incr("k")).rejects.toThrow("NOPERM this user has no permissions to run the 'incr' command");
    await expect(c.hset("h", "f", "v")).rejects.toThrow("NOPERM this user has no permissions to run the 'hset' command");
  });

  it("subcommands can be allowed one by one", async () => {
    await r.call("ACL", "SETUSER", "u", "on", "nopass", "-@all", "+config|get");
    const c = await as("u", "x");
    expect(await c.call("CONFIG", "GET", "port")).toEqual(["port", String(srv.port)]);
    await expect(c.call("CONFIG", "SET", "hz", "10")).rejects.toThrow("NOPERM this user has no permissions to run the 'config|set' command");
  });

  it("key patterns restrict keys, with separate read and write permissions", async () => {
    await r.call("ACL", "SETUSER", "u", "on", "nopass", "+@all", "~obj:*", "%R~ro:*", "%W~wo:*");
    const c = await as("u", "x");
    expect(await c.set("obj:1", "a")).toBe("OK");
    await expect(c.get("other")).rejects.toThrow("NOPERM this user has no permissions to access one of the keys used as arguments");
    expect(await c.get("ro:1")).toBeNull();
    await expect(c.set("ro:1", "x")).rejects.toThrow("NOPERM");
    expect(await c.set("wo:1", "x")).toBe("OK");
    await expect(c.get("wo:1")).rejects.toThrow("NOPERM");
    // EXISTS does not read the value: a write-only pattern is enough.
    expect(await c.exists("wo:1")).toBe(1);
  });

  it("selectors add permissions: any one selector allowing the whole command is enough", async () => {
    await r.call("ACL", "SETUSER", "u", "on", "nopass", "+get", "~a*", "(+set ~b*)");
    const c = await as("u", "x");
    expect(await c.get("a1")).toBeNull();
    expect(await c.set("b1", "v")).toBe("OK");
    await expect(c.set("a1", "v")).rejects.toThrow("NOPERM");
    await expect(c.get("b1")).rejects.toThrow("NOPERM");
    expect(await r.call("ACL", "DRYRUN", "u", "set", "a1", "v")).toBe("This user has no permissions to access the 'a1' key");
    expect(await r.call("ACL", "DRYRUN", "u", "set", "b1", "v")).toBe("OK");
  });

  it("MIGRATE's keys are the ones after KEYS, past AUTH's password and AUTH2's user and password", async () => {
    await r.call("ACL", "SETUSER", "m", "on", "nopass", "+@all", "resetkeys", "%R~read*", "%W~write*", "~rw*");
    const dry = (...args: string[]) => r.call("ACL", "DRYRUN", "m", "MIGRATE", "h", "1", "", "0", "5000", ...args);
    expect(await dry("AUTH", "KEYS", "KEYS", "rw")).toBe("OK");
    expect(await dry("AUTH", "KEYS", "KEYS", "read")).toBe("This user has no permissions to access the 'read' key");
    expect(await dry("AUTH2", "KEYS", "KEYS", "KEYS", "rw")).toBe("OK");
    expect(await dry("AUTH2", "u", "KEYS", "KEYS", "write")).toBe("This user has no permissions to access the 'write' key");
  });

  it("channels are checked by ACL DRYRUN for PUBLISH and by pattern for PSUBSCRIBE", async () => {
    await r.call("ACL", "SETUSER", "u", "on", "nopass", "+@all", "resetchannels", "&news.*");
    expect(await r.call("ACL", "DRYRUN", "u", "publish", "news.1", "m")).toBe("OK");
    expect(await r.call("ACL", "DRYRUN", "u", "publish", "sport", "m")).toBe("This user has no permissions to access the 'sport' channel");
    expect(await r.call("ACL", "DRYRUN", "u", "psubscribe", "news.*")).toBe("OK");
    expect(await r.call("ACL", "DRYRUN", "u", "psubscribe", "news.1*")).toBe("This user has no permissions to access the 'news.1*' channel");
  });

  it("ACL GETUSER and LIST describe rules so that they can be set back", async () => {
    await r.call("ACL", "SETUSER", "u", "on", "nopass", "+@all", "-@dangerous", "~k*", "&c");
    const list = (await r.call("ACL", "LIST")) as string[];
    const line = list.find((l) => l.startsWith("user u "))!;
    expect(line).toBe("user u on nopass ~k* resetchannels &c +@all -@dangerous");
    await r.call("ACL", "SETUSER", "copy", ...line.split(" ").slice(2));
    expect(((await r.call("ACL", "LIST")) as string[]).find((l) => l.startsWith("user copy "))).toBe(line.replace("user u", "user copy"));
  });

  it("a client without full key access cannot SORT ... BY or GET a pattern", async () => {
    await r.call("ACL", "SETUSER", "u", "on", "nopass", "+sort", "~mylist");
    await r.rpush("mylist", "1");
    const c = await as("u", "x");
    await expect(c.sort("mylist", "BY", "w*")).rejects.toThrow("BY option of SORT denied due to insufficient ACL permissions.");
    await r.call("ACL", "SETUSER", "u", "%R~*");
    expect(await c.sort("mylist", "BY", "w*")).toEqual(["1"]);
  });
});

describe("ACL LOG", () => {
  it("logs denied commands, keys and failed AUTH with their context", async () => {
    await r.call("ACL", "SETUSER", "u", "on", ">pw", "+set", "+multi", "+exec", "~obj:*");
    const c = await as("u", "pw");
    await expect(c.get("x")).rejects.toThrow();
    await expect(c.set("x", "1")).rejects.toThrow();
    await expect(r.call("AUTH", "u", "wrong")).rejects.toThrow("WRONGPASS");
    const log = (await r.call("ACL", "LOG")) as unknown[][];
    const entry = (i: number) => {
      const e = log[i];
      const m: Record<string, unknown> = {};
      for (let j = 0; j < e.length; j += 2) m[e[j] as string] = e[j + 1];
      return m;
    };
    expect(entry(0)).toMatchObject({ reason: "auth", object: "AUTH", username: "u", context: "toplevel" });
    expect(entry(1)).toMatchObject({ reason: "key", object: "x", username: "u" });
    expect(entry(2)).toMatchObject({ reason: "command", object: "get", username: "u" });
    expect(((await r.call("ACL", "LOG", "1")) as unknown[]).length).toBe(1);
  });

  it("a command whose permission was revoked after it was queued fails inside EXEC, logged as multi", async () => {
    await r.call("ACL", "SETUSER", "u", "on", ">pw", "+multi", "+exec", "+incr", "~*");
    const c = await as("u", "pw");
    expect(await c.call("MULTI")).toBe("OK");
    expect(await c.call("INCR", "n")).toBe("QUEUED");
    await r.call("ACL", "SETUSER", "u", "-incr");
    const res = (await c.call("EXEC")) as unknown[];
    expect(String(res[0])).toContain("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand");
    const log = (await r.call("ACL", "LOG", "1")) as unknown[][];
    expect(log[0]).toEqual(expect.arrayContaining(["context", "multi", "object", "incr"]));
  });
});

describe("authentication required", () => {
  let s2: RunningServer;
  afterAll(async () => { await s2?.stop(); });

  it("with requirepass, commands answer NOAUTH until AUTH, and unauthenticated input is capped", async () => {
    s2 = await startServer(["--requirepass", "secret"]);
    const { text } = await rawExchange(s2.port, "SET a b\r\nAUTH secret\r\nSET a b\r\n", { until: (s) => s.split("\r\n").length > 3 });
    expect(text).toBe("-NOAUTH Authentication required.\r\n+OK\r\n+OK\r\n");
    const big = await rawExchange(s2.port, "*100\r\n");
    expect(big.text).toBe("-ERR Protocol error: unauthenticated multibulk length\r\n");
    const hello = await rawExchange(s2.port, "HELLO 3\r\n");
    expect(hello.text).toContain("-NOAUTH HELLO must be called with the client already authenticated");
  });
});

describe("users from the configuration", () => {
  it("loads user lines at start-up and ACL SAVE / ACL LOAD round-trip an aclfile", async () => {
    const a = await startServer(["--user", "alice on >pw ~a* +get"]);
    try {
      const c = await connectClient(a.port, { maxRetriesPerRequest: 0 });
      expect(await c.call("AUTH", "alice", "pw")).toBe("OK");
      await expect(c.set("a1", "x")).rejects.toThrow("NOPERM");
      c.disconnect();
    } finally {
      await a.stop();
    }
    const dir = srv.dir;
    const file = join(dir, "users.acl");
    writeFileSync(file, "user default on nopass ~* &* +@all\nuser bob on >bob ~set* +@set\n");
    const b = await startServer(["--aclfile", file]);
    try {
      const c = await connectClient(b.port, { maxRetriesPerRequest: 0 });
      expect(await c.call("ACL", "USERS")).toEqual(["bob", "default"]);
      await c.call("ACL", "SETUSER", "carol", "on", "nopass");
      expect(await c.call("ACL", "SAVE")).toBe("OK");
      expect(readFileSync(file, "utf8")).toContain("user carol on nopass resetchannels -@all\n");
      writeFileSync(file, "user default on nopass ~* &* +@all\nbroken line\n");
      await expect(c.call("ACL", "LOAD")).rejects.toThrow("should start with user keyword");
      expect(await c.call("ACL", "USERS")).toEqual(["bob", "carol", "default"]);
      // ACL LOAD replaces bob: his connection that ran it gets OK, then is closed.
      writeFileSync(file, "user default on nopass ~* &* +@all\nuser bob on >bob ~* +@all\n");
      expect(await c.call("ACL", "LOAD")).toBe("OK");
      const bob = await connectClient(b.port, { maxRetriesPerRequest: 0, retryStrategy: () => null });
      expect(await bob.call("AUTH", "bob", "bob")).toBe("OK");
      const closed = new Promise((resolve) => bob.once("close", resolve));
      expect(await bob.call("ACL", "LOAD")).toBe("OK");
      await closed;
      c.disconnect();
    } finally {
      await b.stop();
    }
  });

  it("a duplicate user line stops the server at start-up", async () => {
    await expect(startServer(["--user", "foo", "--user", "foo"])).rejects.toThrow(/Duplicate user/);
  });
});

describe("protected mode", () => {
  it("serves loopback clients even with no password (the only ones a test can open)", async () => {
    const p = await startServer(["--protected-mode", "yes"]);
    try {
      const { text } = await rawExchange(p.port, "PING\r\n", { until: (s) => s.includes("\r\n") });
      expect(text).toBe("+PONG\r\n");
    } finally {
      await p.stop();
    }
  });
});
