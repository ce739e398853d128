"""A redis-py session whose every result is printed as JSON, run once against real Redis
7.0 and once against LatticeKV (test/integration/redis-py.test.ts): a user of redis-py must
not see a difference. Only deterministic results are printed (no ids, times or addresses).

Usage: python3 redis_py_session.py PORT
"""
import json
import sys
import threading
import time

import redis

port = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
out = []


def step(name, fn):
    """Records fn's result, or the exception redis-py raised (its class and message)."""
    try:
        value = fn()
    except redis.RedisError as e:
        value = {"raised": type(e).__name__, "message": str(e)}
    out.append([name, value])


r.flushall()
step("ping", r.ping)
step("set ex/nx", lambda: [r.set("s", "v", ex=100), r.set("s", "w", nx=True), r.get("s"), r.ttl("s")])
step("incr/float", lambda: [r.incr("n"), r.incrby("n", 5), r.incrbyfloat("f", 1.5), r.decr("n")])
step("mset/mget", lambda: [r.mset({"a": "1", "b": "2"}), r.mget("a", "b", "missing")])
step("getex/getdel", lambda: [r.getex("a", px=50000), r.pttl("a") > 0, r.getdel("b"), r.exists("b")])
step("hash", lambda: [r.hset("h", mapping={"f1": "1", "f2": "x"}), r.hgetall("h"), r.hincrby("h", "f1", 9),
                      r.hmget("h", ["f1", "nope"]), sorted(r.hkeys("h")), r.hexists("h", "f2"), r.hlen("h")])
step("list", lambda: [r.rpush("l", *"abcdef"), r.lpush("l", "z"), r.lrange("l", 0, -1), r.lpop("l", 2),
                      r.rpop("l"), r.lindex("l", 1), r.linsert("l", "before", "c", "bb"), r.lrange("l", 0, -1),
                      r.lpos("l", "d"), r.ltrim("l", 1, 2), r.lrange("l", 0, -1)])
step("set", lambda: [r.sadd("st", "x", "y", "z"), sorted(r.smembers("st")), r.sismember("st", "y"),
                     r.smismember("st", ["x", "q"]), r.srem("st", "x"), r.scard("st"),
                     sorted(r.sinter("st", "st")), r.sadd("st2", "y", "w"), sorted(r.sunion("st", "st2"))])
step("zset", lambda: [r.zadd("z", {"a": 1, "b": 2.5, "c": 3}), r.zrange("z", 0, -1, withscores=True),
                      r.zincrby("z", 10, "a"), r.zrevrange("z", 0, 1), r.zrangebyscore("z", 2, 3),
                      r.zscore("z", "b"), r.zrank("z", "c"), r.zpopmin("z"), r.zcard("z"),
                      r.zadd("z", {"c": 5}, gt=True), r.zadd("z", {"c": 1}, gt=True), r.zscore("z", "c")])
step("keys", lambda: [r.expire("h", 100), r.ttl("h"), r.persist("h"), r.ttl("h"), r.type("h"), r.type("l"),
                      r.type("z"), r.type("nope"), r.rename("h", "h2"), r.exists("h", "h2"), r.delete("h2", "nope"),
                      r.touch("a", "s"), r.dbsize(), r.randomkey() is not None])
step("scan_iter", lambda: sorted(r.scan_iter(match="s*")))
step("hscan/sscan/zscan", lambda: [sorted(r.hscan_iter("h3")), sorted(r.sscan_iter("st")),
                                   sorted(r.zscan_iter("z"))])
step("wrongtype", lambda: r.lpush("s", "x"))
step("unknown command", lambda: r.execute_command("NOSUCHCOMMAND", "x"))
step("wrong arity", lambda: r.execute_command("GET"))
step("not an integer", lambda: r.incr("s"))

# Pipelines: plain and MULTI/EXEC, with an error inside.
def pipeline_plain():
    p = r.pipeline(transaction=False)
    p.set("p1", "1").incr("p1").get("p1").lpush("p1", "x")
    return p.execute(raise_on_error=False)


def pipeline_multi():
    p = r.pipeline()
    p.set("p2", "a").append("p2", "b").get("p2").incr("p2")
    try:
        return p.execute()
    except redis.ResponseError as e:
        return {"raised": "ResponseError", "message": str(e), "after": r.get("p2")}


step("pipeline", pipeline_plain)
step("pipeline multi", pipeline_multi)


# WATCH: a transaction whose watched key another client changes fails with WatchError.
def watch_conflict():
    r.set("w", "0")
    other = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
    with r.pipeline() as p:
        p.watch("w")
        current = int(p.get("w"))
        other.set("w", "100")
        p.multi()
        p.set("w", current + 1)
        try:
            p.execute()
            outcome = "committed"
        except redis.WatchError:
            outcome = "WatchError"
    other.close()
    return [outcome, r.get("w")]


def watch_transaction():
    def incr(p):
        v = int(p.get("w2") or 0)
        p.multi()
        p.set("w2", v + 1)
    return [r.transaction(incr, "w2"), r.get("w2")]


step("watch conflict", watch_conflict)
step("transaction helper", watch_transaction)

# Scripts: register_script (EVALSHA, then EVAL after NOSCRIPT), script load/exists/flush.
step("scripts", lambda: [
    r.script_flush(),
    r.register_script("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}")(keys=["sc"], args=["arg"]),
    r.script_exists(r.script_load("return 1"), "0" * 40),
    r.eval("return redis.call('GET', KEYS[1])", 1, "sc"),
    r.eval("return {1, 2.5, 'x', false}", 0),
])
step("script error", lambda: r.eval("return redis.call('LPUSH', KEYS[1], 'x')", 1, "s"))


# redis-py's Lock is built on Lua scripts.
def lock():
    lk = r.lock("lk", timeout=10)
    got = lk.acquire(blocking=False)
    second = r.lock("lk", timeout=10).acquire(blocking=False)
    extended = lk.extend(5)
    owned = lk.owned()
    lk.release()
    return [got, second, extended, owned, r.exists("lk")]


step("lock", lock)


# Pub/sub: subscribe, publish from another connection, read the messages.
def pubsub():
    ps = r.pubsub()
    ps.subscribe("ch")
    ps.psubscribe("p*")
    got = []
    deadline = time.time() + 5
    while len(got) < 2 and time.time() < deadline:
        m = ps.get_message(timeout=0.2)
        if m:
            got.append(m)
    receivers = r.publish("ch", "hello")
    while len(got) < 3 and time.time() < deadline:
        m = ps.get_message(timeout=0.2)
        if m:
            got.append(m)
    channels = r.pubsub_channels()
    numsub = r.pubsub_numsub("ch")
    ps.close()
    return [receivers, sorted(got, key=lambda m: (m["type"], str(m["channel"]))), channels, numsub]


step("pubsub", pubsub)


# Blocking pop served by a push from another connection.
def blocking():
    def push():
        time.sleep(0.2)
        redis.Redis(host="127.0.0.1", port=port).rpush("bq", "job")
    t = threading.Thread(target=push)
    t.start()
    got = r.blpop(["bq"], timeout=5)
    t.join()
    return [got, r.blpop(["bq"], timeout=0.1)]


step("blpop", blocking)
step("streams", lambda: [r.xadd("x", {"f": "v"}, id="1-1"), r.xadd("x", {"g": "w"}, id="2-0"), r.xlen("x"),
                         r.xrange("x"), r.xread({"x": "1-1"}), r.xgroup_create("x", "grp", id="0"),
                         r.xreadgroup("grp", "c1", {"x": ">"}, count=1), r.xack("x", "grp", "1-1"),
                         r.xpending("x", "grp")])
step("geo/hll/bits", lambda: [r.geoadd("g", [13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania"]),
                              r.geodist("g", "Palermo", "Catania", unit="km"), r.pfadd("hll", "a", "b", "c"),
                              r.pfcount("hll"), r.setbit("bits", 7, 1), r.bitcount("bits"), r.get("bits")])


# What redis-py reads from the server about itself.
def server_info():
    info = r.info()
    mem = r.info("memory")
    return [info["redis_version"].startswith("7.0."), info["redis_mode"], info["arch_bits"],
            "used_memory" in mem, isinstance(info["connected_clients"], int), "db0" in info,
            r.client_setname("py"), r.client_getname(),
            [c["name"] for c in r.client_list() if c["name"] == "py"], r.config_get("maxmemory-policy"),
            r.config_set("maxmemory-policy", "allkeys-lru"), r.config_get("maxmemory-policy"),
            r.config_set("maxmemory-policy", "noeviction"), r.echo("e"), r.time()[0] > 0, r.lastsave() is not None]


step("server", server_info)
step("select", lambda: [redis.Redis(host="127.0.0.1", port=port, db=3, decode_responses=True).set("db3", "x"),
                        r.get("db3"), redis.Redis(host="127.0.0.1", port=port, db=3, decode_responses=True).get("db3")])
step("binary", lambda: [redis.Redis(host="127.0.0.1", port=port).set(b"bin\x00key", b"\xff\x00\xfe"),
                        list(redis.Redis(host="127.0.0.1", port=port).get(b"bin\x00key"))])
r.flushall()
# A pipeline run with raise_on_error=False holds the exception objects among its results.
print(json.dumps(out, indent=1, sort_keys=True, default=lambda o: {"object": type(o).__name__, "str": str(o)}))
