import { describe, it, expect } from "vitest";
import Redis from "ioredis";
import { createHash } from "node:crypto";
import { useServer, connectClient, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;

useServer((s, c) => { srv = s; r = c; });

const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");

async function evalError(script: string, ...args: (string | number)[]): Promise<string> {
  try {
    await r.eval(script, 0, ...args);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error reply");
}

describe("EVAL: Lua -> RESP conversion", () => {
  it("strings, numbers truncated to integers, booleans, nil", async () => {
    expect(await r.eval("return 'hello'", 0)).toBe("hello");
    expect(await r.eval("return 100.5", 0)).toBe(100);
    expect(await r.eval("return -100.5", 0)).toBe(-100);
    expect(await r.eval("return true", 0)).toBe(1);
    expect(await r.eval("return false", 0)).toBeNull();
    expect(await r.eval("return nil", 0)).toBeNull();
  });

  it("tables become arrays that stop at the first nil; ok/err tables become status/error", async () => {
    expect(await r.eval("return {1,2,3,'ciao',{1,2}}", 0)).toEqual([1, 2, 3, "ciao", [1, 2]]);
    expect(await r.eval("return {1,2,nil,4}", 0)).toEqual([1, 2]);
    expect(await r.eval("return {ok='fine'}", 0)).toBe("fine");
    expect(await evalError("return {err='ERR this is an error'}")).toBe("ERR this is an error");
    expect(await evalError("return redis.error_reply('MY code')")).toBe("MY code");
    expect(await r.eval("return redis.status_reply('PONG')", 0)).toBe("PONG");
  });

  it("KEYS and ARGV are populated", async () => {
    expect(await r.eval("return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}", 2, "a", "b", "c", "d")).toEqual(["a", "b", "c", "d"]);
  });
});

describe("Lua numbers behave as Lua 5.1 doubles", () => {
  it("1/2 is 0.5 and a 1..1000000 sum does not wrap", async () => {
    expect(await r.eval("return tostring(1/2)", 0)).toBe("0.5");
    expect(await r.eval("local s=0 for i=1,1000000 do s=s+i end return s", 0)).toBe(500000500000);
    expect(await r.eval("return 0x7fffffff + 1", 0)).toBe(2147483648);
    expect(await r.eval("return #'abc' * 2147483647", 0)).toBe(6442450941);
  });

  it("tostring prints like C's %.14g", async () => {
    expect(await r.eval("return tostring(2^53)", 0)).toBe("9.007199254741e+15");
    expect(await r.eval("return tostring(10/3)", 0)).toBe("3.3333333333333");
    expect(await r.eval("return tostring(1e20) .. ' ' .. tostring(1/0) .. ' ' .. tostring(3.0)", 0)).toBe("1e+20 inf 3");
    expect(await r.eval("return tostring(123456789012345)", 0)).toBe("1.2345678901234e+14");
  });

  it("numbers passed to redis.call are formatted with %.17g", async () => {
    await r.eval("return redis.call('set', KEYS[1], 3.25*2)", 1, "num");
    expect(await r.get("num")).toBe("6.5");
    await r.eval("return redis.call('set', KEYS[1], 2^53)", 1, "num");
    expect(await r.get("num")).toBe("9007199254740992");
  });
});

describe("redis.call / redis.pcall", () => {
  it("converts replies to Lua types", async () => {
    await r.set("x", "0");
    expect(await r.eval("local v = redis.pcall('incr', KEYS[1]) return {type(v), v}", 1, "x")).toEqual(["number", 1]);
    await r.set("mykey", "myval");
    expect(await r.eval("local v = redis.call('get', KEYS[1]) return {type(v), v}", 1, "mykey")).toEqual(["string", "myval"]);
    expect(await r.eval("local v = redis.call('set', KEYS[1], 'v') return {type(v), v['ok']}", 1, "mykey")).toEqual(["table", "OK"]);
    expect(await r.eval("local v = redis.pcall('get', KEYS[1]) return {type(v), v == false}", 1, "nokey")).toEqual(["boolean", 1]);
  });

  it("redis.call raises the command's error with the script's location; pcall returns it", async () => {
    await r.set("foo", "bar");
    const script = "return redis.call('incr','foo')";
    expect(await evalError(script)).toBe(`ERR value is not an integer or out of range script: ${sha1(script)}, on @user_script:1.`);
    expect(await evalError("return redis.pcall('incr','foo')")).toBe("ERR value is not an integer or out of range");
    expect(await evalError("return redis.call('nosuchcommand')")).toMatch(/^ERR Unknown Redis command called from script script: /);
    expect(await evalError("return redis.call('get','a','b','c')")).toMatch(/^ERR Wrong number of args calling Redis command from script/);
    expect(await evalError("return redis.call()")).toMatch(/^ERR Please specify at least one argument for this redis lib call/);
    expect(await evalError("return redis.call({})")).toMatch(/^ERR Lua redis lib command arguments must be strings or integers/);
  });

  it("scripts may touch keys they did not declare", async () => {
    expect(await r.eval("redis.call('set', 'undeclared{a}', 'v1') redis.call('set', 'undeclared{b}', 'v2') return redis.call('mget', 'undeclared{a}', 'undeclared{b}')", 0)).toEqual(["v1", "v2"]);
  });

  it("SELECT inside a script does not move the caller", async () => {
    await r.set("dbkey", "db0");
    expect(await r.eval("redis.call('select', '1') redis.call('set', 'dbkey', 'db1') return redis.call('get', 'dbkey')", 0)).toBe("db1");
    expect(await r.get("dbkey")).toBe("db0");
    await r.select(1);
    expect(await r.get("dbkey")).toBe("db1");
    await r.del("dbkey");
    await r.select(0);
  });

  it("read-only scripts and EVAL_RO cannot write", async () => {
    expect(await r.call("eval_ro", "return redis.call('get', KEYS[1])", 1, "mykey")).toBe("v");
    await expect(r.call("eval_ro", "return redis.call('set', KEYS[1], 'x')", 1, "mykey")).rejects.toThrow(/Write commands are not allowed from read-only scripts/);
    await expect(r.eval("#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'x')", 1, "mykey")).rejects.toThrow(/Write commands are not allowed from read-only scripts/);
    await expect(r.call("eval_ro", "#!lua\nreturn 1", 0)).rejects.toThrow("ERR Can not execute a script with write flag using *_ro command.");
    await expect(r.eval("#!lua flags=bogus\nreturn 1", 0)).rejects.toThrow("ERR Unexpected flag in script shebang: bogus");
  });
});

describe("EVALSHA and SCRIPT", () => {
  it("SCRIPT LOAD / EXISTS / EVALSHA (any case) / FLUSH / NOSCRIPT", async () => {
    const sha = await r.script("LOAD", "return 'loaded'");
    expect(sha).toBe(sha1("return 'loaded'"));
    expect(await r.script("EXISTS", sha as string, "ffffffffffffffffffffffffffffffffffffffff")).toEqual([1, 0]);
    expect(await r.evalsha(sha as string, 0)).toBe("loaded");
    expect(await r.evalsha((sha as string).toUpperCase(), 0)).toBe("loaded");
    expect(await r.script("FLUSH")).toBe("OK");
    await expect(r.evalsha(sha as string, 0)).rejects.toThrow("NOSCRIPT No matching script. Please use EVAL.");
    await expect(r.evalsha("notasha", 0)).rejects.toThrow("NOSCRIPT No matching script. Please use EVAL.");
    await expect(r.script("KILL")).rejects.toThrow("NOTBUSY No scripts in execution right now.");
  });

  it("EVAL caches the script for EVALSHA", async () => {
    const script = "return 'cached ' .. ARGV[1]";
    expect(await r.eval(script, 0, "x")).toBe("cached x");
    expect(await r.evalsha(sha1(script), 0, "y")).toBe("cached y");
  });

  it("ioredis defineCommand falls back from EVALSHA to EVAL after SCRIPT FLUSH", async () => {
    const c = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false });
    await c.connect();
    c.defineCommand("incrTwice", { numberOfKeys: 1, lua: "redis.call('incr', KEYS[1]) return redis.call('incr', KEYS[1])" });
    const cc = c as unknown as { incrTwice(k: string): Promise<number> };
    await c.del("twice");
    expect(await cc.incrTwice("twice")).toBe(2);
    await c.script("FLUSH");
    expect(await cc.incrTwice("twice")).toBe(4);
    c.disconnect();
  });

  it("numkeys is checked like Redis", async () => {
    await expect(r.call("eval", "return 1", "-1")).rejects.toThrow("ERR Number of keys can't be negative");
    await expect(r.call("eval", "return 1", "2", "a")).rejects.toThrow("ERR Number of keys can't be greater than number of args");
    await expect(r.call("eval", "return 1", "x")).rejects.toThrow("ERR value is not an integer or out of range");
  });

  it("a syntax error is reported as Redis 7.0 does", async () => {
    await expect(r.eval("return 'x' ..", 0)).rejects.toThrow("ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'");
  });
});

describe("the Lua sandbox", () => {
  it("reading an undeclared global and writing any global are errors", async () => {
    expect(await evalError("return a")).toMatch(/^ERR user_script:1: Script attempted to access nonexistent global variable 'a' script: .*, on @user_script:1\.$/);
    expect(await evalError("a = 10")).toMatch(/^ERR user_script:1: Attempt to modify a readonly table script: /);
    expect(await evalError("redis.call = function() return 1 end")).toMatch(/Attempt to modify a readonly table/);
    expect(await evalError("cjson.encode = function() return 1 end")).toMatch(/Attempt to modify a readonly table/);
    expect(await evalError("setmetatable(_G, {})")).toMatch(/Attempt to modify a readonly table/);
  });

  it("no loadfile, dofile, print, os or io", async () => {
    for (const name of ["loadfile", "dofile", "print", "os", "io"]) {
      expect(await evalError(`return ${name}`)).toMatch(`Script attempted to access nonexistent global variable '${name}'`);
    }
  });

  it("errors raised by error() carry the script location", async () => {
    const script = "error('boom')";
    expect(await evalError(script)).toBe(`ERR user_script:1: boom script: ${sha1(script)}, on @user_script:1.`);
    expect(await evalError("error({err='MY boom'})")).toMatch(/^MY boom script: /);
  });

  it("redis.sha1hex, REDIS_VERSION, pcall of redis.call", async () => {
    expect(await r.eval("return redis.sha1hex('Pizza & Mandolino')", 0)).toBe("74822d82031af7493c20eefa13bd07ec4fada82f");
    expect(await r.eval("return redis.REDIS_VERSION", 0)).toBe("7.0.15");
    await r.set("foo", "bar");
    expect(await r.eval("local ok, e = pcall(function() redis.call('incr','foo') end) return e", 0)).toBe("ERR value is not an integer or out of range");
  });
});

describe("cjson and bit", () => {
  it("cjson encodes and decodes like lua-cjson", async () => {
    expect(await r.eval("return cjson.encode({a=1})", 0)).toBe('{"a":1}');
    expect(await r.eval("return cjson.encode({1,2,'x/y',{b=false}})", 0)).toBe('[1,2,"x\\/y",{"b":false}]');
    expect(await r.eval("return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')", 0)).toBe("0 -5000 -1 0.0003 1023.2 0");
    expect(await r.eval("local d = cjson.decode('{\"keya\": \"a\", \"keyb\": [true, null]}') return {d.keya, tostring(d.keyb[2] == cjson.null)}", 0)).toEqual(["a", "true"]);
    expect(await evalError("return cjson.encode({[false]=1})")).toMatch(/Cannot serialise boolean: table key must be a number or string/);
  });

  it("bit operates on 32-bit signed integers", async () => {
    expect(await r.eval("return {bit.band(0xff, 0x0f), bit.bnot(0), bit.lshift(1, 31), bit.tohex(65535)}", 0)).toEqual([15, -1, -2147483648, "0000ffff"]);
  });
});

describe("real-world scripts", () => {
  it("a sliding-window rate limiter (INCR + PEXPIRE)", async () => {
    const limiter = `
      local current = redis.call('incr', KEYS[1])
      if current == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end
      if current > tonumber(ARGV[2]) then return {0, current} end
      return {1, current}`;
    await r.del("rate:user1");
    const results: number[] = [];
    for (let i = 0; i < 5; i++) {
      const [allowed] = (await r.eval(limiter, 1, "rate:user1", 60000, 3)) as number[];
      results.push(allowed);
    }
    expect(results).toEqual([1, 1, 1, 0, 0]);
    const ttl = await r.pttl("rate:user1");
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60000);
  });

  it("a job-state move with cjson across hash keys, atomically", async () => {
    const move = `
      local job = redis.call('hgetall', KEYS[1])
      if #job == 0 then return redis.error_reply('ERR job missing') end
      local data = {}
      for i = 1, #job, 2 do data[job[i]] = job[i + 1] end
      data.state = ARGV[1]
      redis.call('hset', KEYS[1], 'state', ARGV[1], 'json', cjson.encode({id = data.id, state = data.state}))
      return cjson.encode({id = data.id, state = data.state})`;
    await r.del("job:1");
    await r.hset("job:1", "id", "1", "state", "wait");
    expect(await r.eval(move, 1, "job:1", "active")).toBe('{"id":"1","state":"active"}');
    expect(await r.hget("job:1", "state")).toBe("active");
    await expect(r.eval(move, 1, "job:missing", "active")).rejects.toThrow("ERR job missing");
  });

  it("a BullMQ-like move of a job from a wait list to a delayed zset and back", async () => {
    // moveToDelayed: take the job from the active list, score it in the delayed zset.
    const moveToDelayed = `
      local removed = redis.call('lrem', KEYS[1], 1, ARGV[1])
      if removed == 0 then return -1 end
      redis.call('zadd', KEYS[2], tonumber(ARGV[2]), ARGV[1])
      redis.call('hset', KEYS[3] .. ARGV[1], 'delay', ARGV[2])
      return redis.call('zcard', KEYS[2])`;
    // promoteDelayed: jobs whose time has come go back to the wait list, oldest first.
    const promote = `
      local jobs = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1])
      for _, id in ipairs(jobs) do
        redis.call('zrem', KEYS[1], id)
        redis.call('rpush', KEYS[2], id)
      end
      return #jobs`;
    await r.del("q:active", "q:delayed", "q:wait", "q:job:1", "q:job:2");
    await r.rpush("q:active", "1", "2");
    expect(await r.eval(moveToDelayed, 3, "q:active", "q:delayed", "q:job:", "1", 100)).toBe(1);
    expect(await r.eval(moveToDelayed, 3, "q:active", "q:delayed", "q:job:", "2", 50)).toBe(2);
    expect(await r.eval(moveToDelayed, 3, "q:active", "q:delayed", "q:job:", "3", 50)).toBe(-1);
    expect(await r.lrange("q:active", 0, -1)).toEqual([]);
    expect(await r.eval(promote, 2, "q:delayed", "q:wait", 75)).toBe(1);
    expect(await r.lrange("q:wait", 0, -1)).toEqual(["2"]);
    expect(await r.eval(promote, 2, "q:delayed", "q:wait", 1000)).toBe(1);
    expect(await r.lrange("q:wait", 0, -1)).toEqual(["2", "1"]);
    expect(await r.hget("q:job:1", "delay")).toBe("100");
  });

  it("blocking commands are refused inside scripts (noscript), and RESP3 replies convert with setresp(3)", async () => {
    await expect(r.eval("return redis.call('blpop', 'nolist', 0)", 0)).rejects.toThrow(/This Redis command is not allowed from script/);
    await r.del("h3");
    await r.hset("h3", "f", "v");
    expect(await r.eval("redis.setresp(3) local m = redis.call('hgetall', KEYS[1]) return m.map.f", 1, "h3")).toBe("v");
    expect(await r.eval("redis.setresp(3) return redis.call('hgetall', KEYS[1])", 1, "h3")).toEqual(["f", "v"]);
  });

  it("table.sort with an order function and string.gsub with a function or table give Lua 5.1's results", async () => {
    // Expected values are real redis-server 7.0.15's replies to the same scripts.
    expect(await r.eval("local t={} for i=1,30 do t[i]=(i*7919)%101 end table.sort(t,function(a,b) return a%10<b%10 end) return t", 0))
      .toEqual([50, 31, 91, 41, 22, 72, 82, 12, 53, 63, 3, 44, 34, 94, 15, 75, 25, 85, 56, 6, 66, 97, 47, 37, 18, 88, 28, 78, 69, 9]);
    expect(await r.eval("local t={3,1,2} table.sort(t,function(a,b) return true end) return t", 0)).toEqual([1, 2, 3]);
    expect(await evalError("local t={} for i=1,50 do t[i]=(i*37)%17 end table.sort(t,function(a,b) return a<=b end)"))
      .toMatch(/^ERR user_script:1: invalid order function for sorting script: \w+, on @user_script:1\.$/);
    expect(await r.eval("return {string.gsub('hello world', '(%w+)', function(w) return w:upper() end)}", 0)).toEqual(["HELLO WORLD", 2]);
    expect(await r.eval("return {string.gsub('hello world', '%w+', {hello='HI'})}", 0)).toEqual(["HI world", 2]);
    expect(await r.eval("return {string.gsub('abc', '', function() return '-' end)}", 0)).toEqual(["-a-b-c-", 4]);
    expect(await r.eval("return {string.gsub('abc abc', '^a', function() return 'X' end)}", 0)).toEqual(["Xbc abc", 1]);
    expect(await r.eval("return {string.gsub('abc', '()', function(p) return p end)}", 0)).toEqual(["1a2b3c4", 4]);
    expect(await r.eval("return {string.gsub('a,b,c,d', ',', function() return ';' end, 2)}", 0)).toEqual(["a;b;c,d", 2]);
    expect(await evalError("return {string.gsub('abc','b',function() return {} end)}"))
      .toMatch(/^ERR user_script:1: invalid replacement value \(a table\) script: \w+, on @user_script:1\.$/);
  });

  it("redis.acl_check_cmd answers for the calling user's commands and keys, and refuses an unknown command", async () => {
    await r.call("acl", "setuser", "scriptbob", "on", ">123", "+@scripting", "+set", "~x*");
    const bob = await connectClient(srv.port);
    try {
      await bob.call("auth", "scriptbob", "123");
      expect(await bob.eval("return redis.acl_check_cmd('set','xx',1)", 1, "xx")).toBe(1);
      expect(await bob.eval("return redis.acl_check_cmd('hset','xx','f',1)", 1, "xx")).toBeNull();
      expect(await bob.eval("return redis.acl_check_cmd('set','yy',1)", 0)).toBeNull();
      await expect(bob.eval("return redis.acl_check_cmd('invalid-cmd','arg')", 0))
        .rejects.toThrow(/Invalid command passed to redis.acl_check_cmd\(\)/);
      // The default user may do everything.
      expect(await r.eval("return redis.acl_check_cmd('hset','yy','f',1)", 0)).toBe(1);
    } finally {
      bob.disconnect();
      await r.call("acl", "deluser", "scriptbob");
    }
  });
});

describe("FUNCTION and FCALL", () => {
  const lib = (body: string, name = "mylib") => `#!lua name=${name}\n${body}`;

  it("FUNCTION LOAD registers functions that FCALL / FCALL_RO run with KEYS and ARGV", async () => {
    await r.function("FLUSH");
    expect(await r.function("LOAD", lib("redis.register_function('echo', function(keys, args) return {keys[1], args[1]} end)"))).toBe("mylib");
    expect(await r.fcall("echo", 1, "k", "a")).toEqual(["k", "a"]);
    await expect(r.function("LOAD", lib("redis.register_function('echo', function() return 1 end)"))).rejects.toThrow("ERR Library 'mylib' already exists");
    await expect(r.fcall_ro("echo", 0)).rejects.toThrow("ERR Can not execute a script with write flag using *_ro command.");
    await r.function("LOAD", "REPLACE", lib("redis.register_function{function_name='echo', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads'}"));
    await r.set("fk", "fv");
    expect(await r.fcall_ro("echo", 1, "fk")).toBe("fv");
    expect(await r.function("LIST")).toEqual([["library_name", "mylib", "engine", "LUA", "functions", [["name", "echo", "description", "reads", "flags", ["no-writes"]]]]]);
  });

  it("errors: unknown function, load-time API, write from no-writes, locations", async () => {
    await expect(r.fcall("nosuch", 0)).rejects.toThrow("ERR Function not found");
    await expect(r.function("LOAD", lib("redis.call('ping')", "lib2"))).rejects.toThrow("ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'");
    await expect(r.function("LOAD", lib("return 1", "lib2"))).rejects.toThrow("ERR No functions registered");
    await expect(r.function("LOAD", "return 1")).rejects.toThrow("ERR Missing library metadata");
    await expect(r.function("LOAD", lib("redis.register_function('echo', function() return 1 end)", "lib2"))).rejects.toThrow("ERR Function echo already exists");
    await r.function("LOAD", lib("redis.register_function('w', function(keys) return redis.call('set', keys[1], 'x') end)", "lib3"));
    await r.function("LOAD", lib("redis.register_function{function_name='ro', callback=function(keys) return redis.call('set', keys[1], 'x') end, flags={'no-writes'}}", "lib4"));
    await expect(r.fcall("ro", 1, "k")).rejects.toThrow("ERR Write commands are not allowed from read-only scripts. script: ro, on @user_function:2.");
    expect(await r.fcall("w", 1, "k")).toBe("OK");
    expect(await r.function("DELETE", "lib3")).toBe("OK");
    await expect(r.function("DELETE", "lib3")).rejects.toThrow("ERR Library not found");
    await expect(r.fcall("w", 1, "k")).rejects.toThrow("ERR Function not found");
  });

  it("FUNCTION STATS counts libraries and functions; FUNCTION FLUSH removes them", async () => {
    const stats = (await r.function("STATS")) as unknown[];
    expect(stats[0]).toBe("running_script");
    expect(stats[1]).toBeNull();
    expect(stats[3]).toEqual(["LUA", ["libraries_count", 2, "functions_count", 2]]);
    expect(await r.function("FLUSH")).toBe("OK");
    expect(await r.function("LIST")).toEqual([]);
    await expect(r.function("KILL")).rejects.toThrow("NOTBUSY No scripts in execution right now.");
  });
});
