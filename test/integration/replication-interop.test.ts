// Classic replication interoperating with Debian's redis-server 7.0.15 under a write load,
// with every type (streams with consumer groups and pending entries, TTLs), in both
// directions: a real Redis primary → a LatticeKV replica, and a LatticeKV primary → a real
// Redis replica. The link is cut three times while writes go on (CLIENT KILL from either
// side); each cut must resync partially (the master's sync_partial_ok, not sync_full), and
// the two servers must end at the same offset with the same data: DEBUG DIGEST (which
// covers only whether a key has a TTL, and not a stream's groups), every key's PEXPIRETIME,
// and every stream's groups, consumers and pending entries. Then failovers with real Redis
// in the chain: a primary (ours, or real Redis) with one replica of each kind; REPLICAOF NO
// ONE on one replica (ours, or real Redis) and REPLICAOF of the other replica and the old
// primary to it: both continue partially from its replid2.
import { describe, it, expect, afterEach } from "vitest";
import type Redis from "ioredis";
import type { ChainableCommander } from "ioredis";
import { startServer, connectClient } from "../helpers/server.js";
import { hasRealRedis, startRealRedis } from "../helpers/real-redis.js";
import { writeDataset } from "../helpers/dataset.js";
import { until, infoField as field } from "../helpers/wait.js";

const inCI = process.env.CI === "true" || process.env.CI === "1";
if (!hasRealRedis && inCI) throw new Error("replication interop test: redis-server not found; CI installs it");

// The same options for both kinds of server: no 5 s wait before a diskless transfer, a
// backlog the load cannot overrun while a link is down (this is about partial resync, not
// about the backlog's size), and DEBUG for DIGEST.
const COMMON = ["--repl-diskless-sync-delay", "0", "--repl-backlog-size", "64mb", "--enable-debug-command", "yes"];
// Generous waits: the machine may be loaded 20-40.
const WAIT_MS = 90_000;

interface Node {
  kind: "ours" | "real";
  port: number;
  r: Redis;
  output(): string;
}

describe.skipIf(!hasRealRedis)("classic replication with real Redis 7.0 in the chain", { timeout: 240_000 }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => { for (const f of cleanup.splice(0).reverse()) await f(); });

  async function start(kind: Node["kind"], args: string[] = []): Promise<Node> {
    const srv = kind === "ours" ? await startServer([...COMMON, ...args]) : await startRealRedis([...COMMON, ...args]);
    cleanup.push(() => srv.stop());
    const r = await connectClient(srv.port, { protocol: 2 } as never);
    cleanup.push(async () => r.disconnect());
    return { kind, port: srv.port, r, output: srv.output };
  }

  /** A node holding the dataset: helpers/dataset.ts's types plus streams with groups. */
  async function startWithData(kind: Node["kind"], args: string[] = []): Promise<Node> {
    const n = await start(kind, args);
    await writeDataset(n.r);
    await writeStreams(n.r);
    return n;
  }

  const label = (k: Node["kind"]) => (k === "ours" ? "LatticeKV" : "real Redis");
  const num = async (r: Redis, name: string) => Number(await field(r, name) ?? NaN);

  async function replicate(replica: Node, master: Node): Promise<void> {
    expect(await replica.r.replicaof("127.0.0.1", String(master.port))).toBe("OK");
    await until(`${replica.kind} replica's link to ${master.kind} master`,
      async () => (await field(replica.r, "master_link_status")) === "up", WAIT_MS);
  }

  /** Until each replica's offset equals the master's (read after it: the master may PING meanwhile). */
  async function inSync(master: Node, ...replicas: Node[]): Promise<void> {
    await until("replica offsets equal to the master's", async () => {
      const want = await num(master.r, "master_repl_offset");
      for (const s of replicas) if ((await num(s.r, "slave_repl_offset")) !== want) return false;
      return want === await num(master.r, "master_repl_offset");
    }, WAIT_MS, 100);
  }

  /**
   * Two writers (db 0 and db 3, so the stream switches databases) write to the master all
   * along while its link to the replica is cut once per entry of `cuts` (CLIENT KILL on that
   * side); each cut must end in a partial resync (a full one fails at once). Then offsets equal.
   */
  async function loadWithCuts(master: Node, replica: Node, cuts: ("replica" | "master")[]): Promise<void> {
    const full = await num(master.r, "sync_full");
    const partial = await num(master.r, "sync_partial_ok");
    const logged = master.output().split("Partial resynchronization request from").length - 1;
    const load = startLoad(master.port);
    try {
      let mark = await num(master.r, "master_repl_offset");
      const grown = async (what: string) => {
        await until(what, async () => {
          if (load.errors.length) throw new Error(load.errors.join("; "));
          return (await num(master.r, "master_repl_offset")) > mark + 20_000;
        }, WAIT_MS);
        mark = await num(master.r, "master_repl_offset");
      };
      for (const [i, side] of cuts.entries()) {
        await grown(`writes before cut ${i + 1}`);
        const killed = side === "replica"
          ? await replica.r.call("client", "kill", "type", "master")
          : await master.r.call("client", "kill", "type", "replica");
        expect(killed, `cut ${i + 1} (${side} side)`).toBe(1);
        await until(`partial resync ${i + 1}`, async () => {
          if ((await num(master.r, "sync_full")) !== full) throw new Error(`cut ${i + 1} (${side} side) ended in a full resync`);
          return (await num(master.r, "sync_partial_ok")) === partial + i + 1;
        }, WAIT_MS);
        await until(`link up after cut ${i + 1}`, async () => (await field(replica.r, "master_link_status")) === "up", WAIT_MS);
      }
      await grown("writes after the last cut");
    } finally {
      await load.stop();
    }
    expect(load.errors).toEqual([]);
    expect(load.commands()).toBeGreaterThan(500);
    expect(await num(master.r, "sync_full"), `${master.kind} master: no full resync after a cut`).toBe(full);
    expect(await num(master.r, "sync_partial_ok"), `${master.kind} master: each cut resynced partially`).toBe(partial + cuts.length);
    // The master logged each partial resync, with the backlog written while the link was down.
    const sent = [...master.output().matchAll(/Partial resynchronization request from .* accepted\. Sending (\d+) bytes of backlog/g)].slice(logged);
    expect(sent.length).toBe(cuts.length);
    expect(sent.reduce((n, m) => n + Number(m[1]), 0)).toBeGreaterThan(0);
  }

  for (const [masterKind, replicaKind] of [["real", "ours"], ["ours", "real"]] as const) {
    it(`a ${label(replicaKind)} replica of a ${label(masterKind)} primary: every type, a write load, three link cuts resynced partially, the same data`, async () => {
      const master = await startWithData(masterKind);
      const replica = await start(replicaKind);
      await replicate(replica, master);
      await inSync(master, replica);
      expect([await num(master.r, "sync_full"), await num(master.r, "sync_partial_ok")]).toEqual([1, 0]);
      await loadWithCuts(master, replica, ["replica", "master", "replica"]);
      await inSync(master, replica);
      await expectSameData(master.r, replica.r);
    });
  }

  for (const [top, middle, bottom] of [["real", "ours", "real"], ["ours", "real", "ours"]] as const) {
    it(`a chain ${label(top)} -> ${label(middle)} -> ${label(bottom)}: the middle one's link cut twice under load; its own replica stays connected and all three hold the same data`, async () => {
      const a = await startWithData(top);
      const b = await start(middle);
      const c = await start(bottom);
      await replicate(b, a);
      await replicate(c, b);
      await inSync(a, b, c); // the middle one passes its master's stream on as is: one offset
      await loadWithCuts(a, b, ["replica", "master"]);
      await inSync(a, b, c);
      // The middle one continued with the same replid, so (as Redis) it kept its replica.
      expect([await num(b.r, "sync_full"), await num(b.r, "sync_partial_ok")], `${middle} middle: its replica never resynced`).toEqual([1, 0]);
      expect(await field(c.r, "master_replid")).toBe(await field(a.r, "master_replid"));
      await expectSameData(a.r, b.r);
      await expectSameData(a.r, c.r);
    });
  }

  for (const top of ["ours", "real"] as const) {
    for (const promoted of ["ours", "real"] as const) {
      it(`failover: a ${label(top)} primary with a LatticeKV and a real Redis replica; REPLICAOF NO ONE on the ${label(promoted)} one; the other replica and the old primary continue partially from it`, async () => {
        // No PINGs from the old primary: one sent after the promotion would put the others'
        // offsets past the promoted node's history and force full resyncs (psync2.tcl does
        // the same), and no replica drops its silent master meanwhile.
        const quiet = ["--repl-ping-replica-period", "3600", "--repl-timeout", "3600"];
        const a = await startWithData(top, quiet);
        const ours = await start("ours", quiet);
        const real = await start("real", quiet);
        await replicate(ours, a);
        await replicate(real, a);
        await writeSome(a.r); // through the stream as well as the RDB
        await inSync(a, ours, real);
        // Two replicas of one master: ours holds what real Redis's holds, entries-read too.
        await expectSameData(real.r, ours.r, "replicas");
        const oldId = await field(a.r, "master_replid");
        const oldOffset = await num(a.r, "master_repl_offset");

        const [p, other] = promoted === "ours" ? [ours, real] : [real, ours];
        expect(await p.r.replicaof("no", "one")).toBe("OK");
        expect(await field(p.r, "master_replid2")).toBe(oldId);
        expect(await num(p.r, "second_repl_offset")).toBe(oldOffset + 1);
        // Its own writes before any replica is back (b777997: they were not in its backlog),
        // then after one is: both others get them from the backlog.
        await writeSome(p.r);
        await replicate(other, p);
        await writeSome(p.r);
        await replicate(a, p); // after the other replica: a master turned replica drops its replicas
        await writeSome(p.r);
        await inSync(p, other, a);
        expect(await num(p.r, "sync_full"), `${promoted} new primary: no full resync`).toBe(0);
        expect(await num(p.r, "sync_partial_ok"), `${promoted} new primary: both continued partially`).toBe(2);
        expect(await field(other.r, "master_replid")).toBe(await field(p.r, "master_replid"));
        await expectSameData(p.r, other.r);
        await expectSameData(p.r, a.r);
      });
    }
  }
});

/** Streams with consumer groups, pending entries (some acked, some claimed), an empty consumer, and a TTL. */
async function writeStreams(r: Redis): Promise<void> {
  for (const s of ["stream:a", "stream:b"]) {
    for (let i = 0; i < 60; i++) await r.xadd(s, "*", "f", String(i), "payload", "p".repeat(i % 13));
    await r.xgroup("CREATE", s, "g1", "0");
    await r.xgroup("CREATE", s, "g2", "$");
    const read = await r.xreadgroup("GROUP", "g1", "alice", "COUNT", "10", "STREAMS", s, ">") as [string, [string, string[]][]][];
    await r.xreadgroup("GROUP", "g1", "bob", "COUNT", "5", "STREAMS", s, ">");
    const ids = read[0][1].map(([id]) => id);
    await r.xack(s, "g1", ids[0], ids[1], ids[2]);
    await r.xclaim(s, "g1", "bob", 0, ids[5]);
    await r.xgroup("CREATECONSUMER", s, "g2", "carol");
  }
  await r.xadd("ttl:stream", "*", "f", "v");
  await r.xgroup("CREATE", "ttl:stream", "g", "0");
  await r.xreadgroup("GROUP", "g", "dave", "STREAMS", "ttl:stream", ">");
  await r.pexpire("ttl:stream", 800_000);
}

/** A few hundred random writes of every kind, in pipelines (for the failover test). */
async function writeSome(r: Redis): Promise<void> {
  await ensureLoadGroups(r);
  for (let round = 0; round < 5; round++) {
    const p = r.pipeline();
    for (let i = 0; i < 60; i++) randomWrite(p);
    checkReplies(await p.exec());
  }
}

const pick = (n: number) => Math.floor(Math.random() * n);
const KEYS = 60;

async function ensureLoadGroups(r: Redis): Promise<void> {
  await r.xgroup("CREATE", "load:stream", "g1", "$", "MKSTREAM").catch((e: Error) => {
    if (!/BUSYGROUP/.test(e.message)) throw e;
  });
}

/**
 * One random write: every type (HyperLogLog, bitmap and geo too), TTLs set relatively (replicated as absolute times), commands
 * Redis rewrites for its stream (INCRBYFLOAT, SPOP, XREADGROUP, GETEX, scripts), multi-key
 * commands. Each key family keeps its type; TTLs are long, so nothing expires during a test.
 */
function randomWrite(p: ChainableCommander): void {
  const k = pick(KEYS);
  const k2 = pick(KEYS);
  const v = `v${pick(1e6)}`;
  switch (pick(30)) {
    case 0: p.set(`str:${k}`, v, "EX", 1000 + pick(1000)); break;
    case 1: p.set(`str:${k}`, v); break;
    case 2: p.mset(`str:${k}`, v, `str:${k2}`, v); break;
    case 3: p.append(`str:${k}`, "+"); break;
    case 4: p.getex(`str:${k}`, "PX", 900_000 + pick(1000)); break;
    case 5: p.incrby(`cnt:${k}`, pick(100) - 50); break;
    case 6: p.incrbyfloat(`flt:${k}`, "0.25"); break;
    case 7: p.rpush(`list:${k}`, v, `${v}b`); break;
    case 8: p.lpop(`list:${k}`); break;
    case 9: p.lmove(`list:${k}`, `list:${k2}`, "LEFT", "RIGHT"); break;
    case 10: p.sadd(`set:${k}`, v, String(pick(50))); break;
    case 11: p.spop(`set:${k}`); break;
    case 12: p.hset(`hash:${k}`, `f${pick(20)}`, v); break;
    case 13: p.hincrby(`hash:${k}`, "n", 1); break;
    case 14: p.hincrbyfloat(`hash:${k}`, "x", "1.5"); break;
    case 15: p.zadd(`zset:${k}`, pick(1000) / 8, `m${pick(40)}`); break;
    case 16: p.zincrby(`zset:${k}`, 2, `m${pick(40)}`); break;
    case 17: p.zpopmin(`zset:${k}`); break;
    case 18: p.xadd("load:stream", "MAXLEN", "~", "300", "*", "f", v); break;
    case 19: p.xreadgroup("GROUP", "g1", `c${pick(3)}`, "COUNT", "3", "STREAMS", "load:stream", ">"); break;
    case 20: p.eval("local e = redis.call('xpending', KEYS[1], 'g1', '-', '+', 1) if #e > 0 then redis.call('xack', KEYS[1], 'g1', e[1][1]) end return #e", 1, "load:stream"); break;
    case 21: p.expire(`${["str", "cnt", "list", "set", "hash", "zset"][pick(6)]}:${k}`, 600 + pick(600)); break;
    case 22: p.del(`str:${k}`, `cnt:${k2}`); break;
    case 23: p.eval("redis.call('incr', KEYS[1]) redis.call('pexpire', KEYS[1], ARGV[1])", 1, `cnt:${k}`, String(700_000 + pick(1000))); break;
    case 24: p.pfadd(`hll:${k}`, v, `${v}x`); break;
    case 25: p.setbit(`bits:${k}`, pick(5000), 1); break;
    case 26: p.geoadd(`geo:${k}`, pick(3600) / 10 - 180, pick(1700) / 10 - 85, `m${pick(30)}`); break;
    case 27: p.zunionstore(`zset:${k}`, 2, `zset:${k}`, `zset:${k2}`); break;
    case 28: p.sinterstore(`set:${k}`, `set:${k}`, `set:${k2}`); break;
    case 29: p.copy(`str:${k}`, `str:${(k + 1) % KEYS}`, "REPLACE"); break;
  }
}

function checkReplies(replies: [Error | null, unknown][] | null): void {
  const failed = (replies ?? []).filter(([e]) => e);
  if (failed.length) throw new Error(`write load: ${failed.map(([e]) => e!.message).join("; ")}`);
}

/** Two writers (db 0 and db 3) looping over pipelines of random writes until stop(). */
function startLoad(port: number) {
  let stopping = false;
  let count = 0;
  const errors: string[] = [];
  const writer = async (db: number) => {
    const c = await connectClient(port, { protocol: 2, db } as never);
    try {
      await ensureLoadGroups(c);
      while (!stopping) {
        const p = c.pipeline();
        for (let i = 0; i < 40; i++) randomWrite(p);
        checkReplies(await p.exec());
        count += 40;
      }
    } finally {
      c.disconnect();
    }
  };
  const running = [0, 3].map((db) => writer(db).catch((e: Error) => { errors.push(e.message); }));
  return {
    errors,
    commands: () => count,
    async stop() { stopping = true; await Promise.all(running); },
  };
}

/** The databases holding keys, from INFO keyspace. */
async function dbsWithKeys(r: Redis): Promise<number[]> {
  return [...(await r.info("keyspace")).matchAll(/^db(\d+):keys=/gm)].map((m) => Number(m[1]));
}

/**
 * Per database and key: the value's DEBUG DIGEST-VALUE, PEXPIRETIME, and for streams their
 * groups (last-delivered id, entries-read if asked), consumers with their pending counts, and pending
 * entries with owner and delivery count (idle times differ between servers by nature).
 */
async function snapshot(r: Redis, entriesRead: boolean): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const db of await dbsWithKeys(r)) {
    await r.select(db);
    const keys = (await r.keys("*")).sort();
    const digests = keys.length ? await r.call("debug", "digest-value", ...keys) as string[] : [];
    for (const [i, k] of keys.entries()) {
      const entry: Record<string, unknown> = { digest: digests[i], pexpiretime: await r.call("pexpiretime", k) };
      if (await r.type(k) === "stream") {
        const groups: unknown[] = [];
        for (const g of await r.xinfo("GROUPS", k) as unknown[][]) {
          const group = pairs(g);
          const name = String(group.name);
          const consumers = (await r.xinfo("CONSUMERS", k, name) as unknown[][]).map((c) => {
            const consumer = pairs(c);
            return [consumer.name, consumer.pending];
          });
          const pending = (await r.xpending(k, name, "-", "+", 100_000) as unknown[][]).map(([id, owner, , deliveries]) => [id, owner, deliveries]);
          groups.push({ name, last: group["last-delivered-id"], consumers, pending, ...(entriesRead ? { read: group["entries-read"] } : {}) });
        }
        entry.groups = groups;
      }
      out[`${db}:${k}`] = entry;
    }
  }
  await r.select(0);
  return out;
}

const pairs = (flat: unknown[]): Record<string, unknown> => {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < flat.length; i += 2) o[String(flat[i])] = flat[i + 1];
  return o;
};

/** Same dataset: DEBUG DIGEST on both, and key by key (values, TTLs, stream groups) for a readable failure. */
async function expectSameData(a: Redis, b: Redis, how: "master-replica" | "replicas" = "master-replica"): Promise<void> {
  // entries-read only between two replicas of one master: Redis 7.0 propagates XREADGROUP as
  // XCLAIM ... LASTID without the count, so a real Redis replica shows null where its master
  // counts (checked by hand), and ours must show what the real one does.
  const entriesRead = how === "replicas";
  const [sa, sb] = [await snapshot(a, entriesRead), await snapshot(b, entriesRead)];
  expect(Object.keys(sa).length).toBeGreaterThan(100);
  const differ = [...new Set([...Object.keys(sa), ...Object.keys(sb)])]
    .filter((k) => JSON.stringify(sa[k]) !== JSON.stringify(sb[k]))
    .map((k) => ({ key: k, first: sa[k], second: sb[k] }));
  expect(differ).toEqual([]);
  expect(await b.call("debug", "digest")).toBe(await a.call("debug", "digest"));
}
