import { describe, it, expect } from "vitest";
import { Config, applyArgv, splitConfigLine, keyspaceEventsStringToFlags, keyspaceEventsFlagsToString } from "../src/config/config.js";

describe("config directives (Redis 7.0 table)", () => {
  it("rename-command is checked as Redis checks it: a known command, a free new name, two arguments", () => {
    const c = new Config();
    expect(c.set("rename-command", ["FLUSHALL", "badger"], true)).toBeNull();
    expect(c.set("rename-command", ["flushdb", ""], true)).toBeNull();
    expect(c.set("rename-command", ["flushall", "x"], true)).toBe("No such command in rename-command");
    expect(c.set("rename-command", ["get", "set"], true)).toBe("Target command name already exists");
    expect(c.set("rename-command", ["hget", "badger"], true)).toBe("Target command name already exists");
    expect(c.set("rename-command", ["get"], true)).toBe("Bad directive or wrong number of arguments");
    expect(c.renames).toEqual([["flushall", "badger"], ["flushdb", ""]]);
  });

  it("defaults are Redis's CONFIG GET values", () => {
    const c = new Config();
    expect(c.get("hash-max-listpack-entries")).toBe("512");
    expect(c.get("hash-max-ziplist-entries")).toBe("512");
    expect(c.get("proto-max-bulk-len")).toBe("536870912");
    expect(c.get("client-output-buffer-limit")).toBe("normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
  });

  it("CONFIG SET normalizes memory values to bytes and booleans to lowercase", () => {
    const c = new Config();
    expect(c.setMany([["maxmemory", "1gb"], ["appendonly", "YES"]])).toBeNull();
    expect(c.get("maxmemory")).toBe("1073741824");
    expect(c.get("appendonly")).toBe("yes");
  });

  it("every value change moves generation, which hot readers cache by (maxmemory, maxmemory-clients)", () => {
    const c = new Config();
    const g0 = c.generation;
    expect(c.getNumber("maxmemory")).toBe(0);
    expect(c.setMany([["maxmemory", "1mb"]])).toBeNull();
    const g1 = c.generation;
    expect(g1).toBeGreaterThan(g0);
    expect(c.getNumber("maxmemory")).toBe(1048576);
    expect(c.setMany([["maxmemory-clients", "10%"]])).toBeNull();
    expect(c.generation).toBeGreaterThan(g1);
    expect(c.getNumber("maxmemory-clients")).toBe(-10);
    const g2 = c.generation;
    c.get("maxmemory");
    c.getNumber("maxmemory-clients");
    expect(c.generation).toBe(g2); // reads do not move it
  });

  it("CONFIG SET errors use Redis's wording", () => {
    const c = new Config();
    expect(c.setMany([["hz", "abc"]])).toBe("CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer");
    expect(c.setMany([["maxmemory", "10x"]])).toBe("CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value");
    expect(c.setMany([["foo", "bar"]])).toBe("Unknown option or number of arguments for CONFIG SET - 'foo'");
    expect(c.setMany([["hz", "1"], ["hz", "2"]])).toBe("CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter");
    expect(c.setMany([["daemonize", "yes"]])).toBe("CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config");
    expect(c.setMany([["loglevel", "bad"]])).toBe("CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning");
    expect(c.setMany([["save", "100 x"]])).toBe("CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters");
    expect(c.setMany([["hz", "-1"]])).toBe("CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive");
  });

  it("CONFIG SET reports the first error only: an unknown name after an immutable one is not the error (as Redis)", () => {
    const c = new Config();
    expect(c.setMany([["daemonize", "no"], ["foo", "bar"]])).toBe("CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config");
    expect(c.setMany([["foo", "bar"], ["daemonize", "no"]])).toBe("Unknown option or number of arguments for CONFIG SET - 'foo'");
  });

  it("while loading, CONFIG SET of a deny_loading directive (dir, appendonly) fails with -LOADING; others still apply", () => {
    const c = new Config();
    expect(c.setMany([["loglevel", "debug"]], true, true)).toBeNull();
    expect(c.get("loglevel")).toBe("debug");
    const before = c.get("appendonly");
    expect(c.setMany([["loglevel", "notice"], ["appendonly", "yes"]], true, true)).toBe("-LOADING Redis is loading the dataset in memory");
    expect(c.get("loglevel")).toBe("debug");
    expect(c.get("appendonly")).toBe(before);
    // -LOADING wins over an unknown name that comes after it.
    expect(c.setMany([["appendonly", "yes"], ["foo", "bar"]], true, true)).toBe("-LOADING Redis is loading the dataset in memory");
    expect(c.setMany([["appendonly", "yes"]])).toBeNull();
  });

  it("CONFIG SET of several pairs is atomic: a bad one leaves every value unchanged", () => {
    const c = new Config();
    expect(c.setMany([["hz", "50"], ["maxmemory", "bad"]])).not.toBeNull();
    expect(c.get("hz")).toBe("10");
  });

  it("an applier that throws rolls the change back", () => {
    const c = new Config();
    c.onApply("hz", (cfg) => { if (cfg.getNumber("hz") > 100) throw new Error("too fast"); });
    expect(c.setMany([["hz", "500"]])).toBe("CONFIG SET failed (possibly related to argument 'hz') - too fast");
    expect(c.get("hz")).toBe("10");
  });

  it("multi-arg directives: save pairs, client-output-buffer-limit per class, notify-keyspace-events canonical", () => {
    const c = new Config();
    expect(c.setMany([["save", "900 1 300 10"]])).toBeNull();
    expect(c.get("save")).toBe("900 1 300 10");
    expect(c.setMany([["client-output-buffer-limit", "normal 1mb 512kb 10"]])).toBeNull();
    expect(c.get("client-output-buffer-limit")).toBe("normal 1048576 524288 10 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
    expect(c.setMany([["notify-keyspace-events", "KEA"]])).toBeNull();
    expect(c.get("notify-keyspace-events")).toBe("AKE");
    expect(keyspaceEventsFlagsToString(keyspaceEventsStringToFlags("Elg$"))).toBe("g$lE");
  });

  it("a config file's first save line replaces the defaults and later ones add to it", () => {
    const c = new Config();
    expect(c.loadText("save 900 1\nsave 300 10\n")).toEqual([]);
    expect(c.get("save")).toBe("900 1 300 10");
  });

  it("--flags after the file override it; directives LatticeKV does not act on are stored and listed (save is acted on)", () => {
    const c = new Config();
    const errs = applyArgv(c, ["--hz", "20", "--save", "", "--activerehashing", "no"], () => "");
    expect(errs).toEqual([]);
    expect(c.get("hz")).toBe("20");
    expect(c.get("save")).toBe("");
    expect(c.get("activerehashing")).toBe("no");
    expect(c.unknown).toEqual(["activerehashing"]);
  });

  it("a name that is no Redis 7.0 directive (nor one of ours) is refused as redis-server refuses it", () => {
    // redis-server 7.0.15 on a file holding `foo bar`: FATAL CONFIG FILE ERROR, at line 1,
    // ">>> 'foo bar'", "Bad directive or wrong number of arguments", exit status 1.
    const c = new Config();
    const errs = c.loadText("hz 20\nfoo bar\n");
    expect(errs).toHaveLength(1);
    expect(errs[0]).toContain("line 2");
    expect(errs[0]).toContain(">>> 'foo bar'");
    expect(errs[0]).toContain("Bad directive or wrong number of arguments");
    expect(applyArgv(new Config(), ["--maxmemroy", "1mb"], () => "")[0]).toContain("Bad directive or wrong number of arguments");
    expect(c.unknown).toEqual([]);
  });

  it("invalid values in a config file are fatal errors, with the line", () => {
    const c = new Config();
    const errs = c.loadText("hz notanumber\n");
    expect(errs[0]).toContain("line 1");
    expect(errs[0]).toContain("argument couldn't be parsed into an integer");
  });

  it("splits config lines like sdssplitargs", () => {
    expect(splitConfigLine(`save ""`)).toEqual(["save", ""]);
    expect(splitConfigLine(`a "b c" 'd e' "x\\ny"`)).toEqual(["a", "b c", "d e", "x\ny"]);
    expect(splitConfigLine(`a "unbalanced`)).toBeNull();
  });

  it("reads argv like redis-server's main()", () => {
    const errOf = (args: string[]) => applyArgv(new Config(), args, () => "").join("\n");
    expect(errOf(["--port"])).toContain(">>> 'port'\nwrong number of arguments");
    expect(errOf(["--port", "6379", "6380"])).toContain(`>>> 'port "6379" "6380"'\nwrong number of arguments`);
    expect(errOf(["--port", "--bla", "--loglevel", "verbose"])).toContain(`>>> 'port "--bla"'\nargument couldn't be parsed into an integer`);
    const c = new Config();
    expect(applyArgv(c, ["--proc-title-template", "--my--title", "--maxmemory 700mb", "--save", "--shutdown-on-sigint", "nosave", "force", "now"], () => "")).toEqual([]);
    expect(c.get("proc-title-template")).toBe("--my--title");
    expect(c.get("maxmemory")).toBe("734003200");
    expect(c.get("save")).toBe("");
    expect(c.get("shutdown-on-sigint")).toBe("nosave now force");
    const d = new Config();
    expect(applyArgv(d, ["--shutdown-on-sigterm", "nosave force", "--loglevel", "verbose", "--save"], () => "")).toEqual([]);
    expect(d.get("shutdown-on-sigterm")).toBe("nosave force");
    expect(d.get("save")).toBe("");
  });
});
