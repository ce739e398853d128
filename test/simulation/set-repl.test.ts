// redis.set_repl under active-active replication: a script's writes that it keeps from
// replicas (redis.REPL_NONE, redis.REPL_AOF) are not sent to peers either, as Redis does not
// send them to its replicas; REPL_REPLICA and REPL_ALL writes replicate as usual.
import { describe, it, expect } from "vitest";
import { SimCluster } from "./cluster.js";
import { DEFAULT_GOSSIP } from "../../src/replication/gossip.js";

const OPTS = { ...DEFAULT_GOSSIP, antiEntropyMs: 300, gcGraceMs: 1000 };
const NET = { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 20 };

describe("redis.set_repl and peers", () => {
  it("writes under REPL_NONE or REPL_AOF stay on the node; REPL_REPLICA and REPL_ALL ones reach the peer", () => {
    const c = new SimCluster(61, 2, NET, OPTS);
    const [a, b] = c.nodes;
    const script = [
      "redis.set_repl(redis.REPL_NONE) redis.call('set', KEYS[1], 'none') redis.call('sadd', KEYS[5], 'none')",
      "redis.set_repl(redis.REPL_AOF) redis.call('set', KEYS[2], 'aof')",
      "redis.set_repl(redis.REPL_REPLICA) redis.call('set', KEYS[3], 'replica') redis.call('sadd', KEYS[5], 'replica')",
      "redis.set_repl(redis.REPL_ALL) redis.call('set', KEYS[4], 'all')",
      "return 1",
    ].join(" ");
    expect(a.run("eval", script, "5", "k-none", "k-aof", "k-replica", "k-all", "s")).toBe(1);
    c.settle();
    expect(a.run("mget", "k-none", "k-aof", "k-replica", "k-all").map(String)).toEqual(["none", "aof", "replica", "all"]);
    expect(b.run("mget", "k-none", "k-aof", "k-replica", "k-all")).toEqual([null, null, Buffer.from("replica"), Buffer.from("all")]);
    expect((a.run("smembers", "s") as Buffer[]).map(String).sort()).toEqual(["none", "replica"]);
    expect((b.run("smembers", "s") as Buffer[]).map(String)).toEqual(["replica"]);
    expect(a.rep.stats.localOnly).toBe(3);
  });

  it("the next script replicates again: set_repl lasts for one script", () => {
    const c = new SimCluster(62, 2, NET, OPTS);
    const [a, b] = c.nodes;
    a.run("eval", "redis.set_repl(redis.REPL_NONE) redis.call('set', KEYS[1], 'x')", "1", "k1");
    a.run("eval", "redis.call('set', KEYS[1], 'y')", "1", "k2");
    c.settle();
    expect(b.run("get", "k1")).toBeNull();
    expect(b.run("get", "k2")).toEqual(Buffer.from("y"));
  });

  it("a later replicated write of the key replaces the local-only value on every node", () => {
    const c = new SimCluster(63, 2, NET, OPTS);
    const [a, b] = c.nodes;
    a.run("eval", "redis.set_repl(redis.REPL_NONE) redis.call('set', KEYS[1], 'local')", "1", "k");
    c.settle();
    b.run("set", "k", "shared");
    c.settle();
    expect(c.nodes.map((n) => String(n.run("get", "k")))).toEqual(["shared", "shared"]);
    expect(c.check()).toEqual([]);
  });

  it("an INCR over a local-only value keeps the key's TTL on every node", () => {
    // (the INCR's result is not what replication showed, so it is recorded as a write of the
    // result, which clears the TTL: the key's TTL must be recorded again, as INCR keeps it)
    const c = new SimCluster(64, 2, NET, OPTS);
    const [a, b] = c.nodes;
    a.run("set", "k", "10", "px", "100000000");
    a.run("eval", "redis.set_repl(redis.REPL_NONE) redis.call('set', KEYS[1], '100', 'KEEPTTL')", "1", "k");
    expect(a.run("incr", "k")).toBe(101);
    c.settle();
    const ttl = a.run("pexpiretime", "k") as number;
    expect(ttl).toBeGreaterThan(0);
    expect(c.nodes.map((n) => [String(n.run("get", "k")), n.run("pexpiretime", "k")])).toEqual([["101", ttl], ["101", ttl]]);
    expect(c.check()).toEqual([]);
  });
});
