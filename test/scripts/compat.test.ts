// The Tcl compatibility harness (scripts/compat/): output parsing, the deb-src twin, the
// baseline ratchet. The harness itself runs in CI via `npm run compat -- --ci`.
import { describe, it, expect } from "vitest";
import { parseOutput } from "../../scripts/compat/runtest.mjs";
import { debSrcTwin } from "../../scripts/compat/fetch.mjs";
import { compare, ratchet, passes } from "../../scripts/compat/baseline.mjs";
import { parseClusterOutput, instancesFor } from "../../scripts/compat/cluster.mjs";

describe("runtest output parsing", () => {
  it("counts ok, err and exception lines, with or without colours", () => {
    const out = [
      "[ready]: 123",
      "Testing unit/type/incr",
      "\x1b[0;32;49mok\x1b[0m",
      "[\x1b[0;32;49mok\x1b[0m]: INCR against non existing key (0 ms)",
      "[ok]: INCR against key created by incr itself (1 ms)",
      "[err]: INCRBYFLOAT over 32bit value in tests/unit/type/incr.tcl",
      "Expected '17179869184' to equal or match '17179869185'",
      "[ignore]: DEBUG RELOAD: Not supported in external mode",
      "[exception]: Executing test client: ERR unknown command 'flushall', with args beginning with:.",
    ].join("\n");
    const r = parseOutput(out);
    expect(r).toMatchObject({ ok: 2, err: 1, exception: 1, ignored: 1 });
    expect(r.errors).toEqual(["INCRBYFLOAT over 32bit value in tests/unit/type/incr.tcl: Expected '17179869184' to equal or match '17179869185'"]);
  });

  it("counts runtest's own no-progress timeout as an exception", () => {
    expect(parseOutput("[TIMEOUT]: clients state report follows.\n").exception).toBe(1);
  });
});

describe("runtest-cluster output parsing", () => {
  it("counts OK lines (with progress characters before the verdict), FAILED and caught errors", () => {
    const out = [
      "\x1b[0;33;49mTesting unit: 10-manual-failover.tcl\x1b[0m",
      "01:20:11> (init) Restart killed instances: \x1b[0;32;49mOK\x1b[0m",
      "01:20:12> Cluster nodes are reachable: OK",
      "01:28:24> Send CLUSTER FAILOVER to #5, during load: WWWWWWWWWWOK",
      "01:20:36> reply MOVED when eval from replica for update: FAILED: Expected [string range x 0 4] eq {MOVED}",
      "(Jumping to next unit after error)",
      "FAILED: caught an error in the test CLUSTERDOWN The cluster is down",
    ].join("\n");
    const r = parseClusterOutput(out);
    expect(r).toMatchObject({ ok: 3, err: 1, exception: 1, last: null });
    expect(r.errors).toEqual(["reply MOVED when eval from replica for update: FAILED: Expected [string range x 0 4] eq {MOVED}"]);
  });

  it("counts a verdict printed after a restarted server's own output", () => {
    const out = "02:29:27> Restarting the old master node: 6058:M 26 Nov 02:29:29.192 * starting\n6058:M 26 Nov 02:29:29.300 * ready OK\n";
    expect(parseClusterOutput(out)).toMatchObject({ ok: 1, err: 0, last: null });
  });

  it("remembers the test a killed run was in", () => {
    expect(parseClusterOutput("01:28:24> Send CLUSTER FAILOVER to #5, during load: WWW").last).toBe("Send CLUSTER FAILOVER to #5, during load: WWW");
  });

  it("runs the files that create more than 10 nodes with 20 instances in a 10-instance tree", () => {
    expect(instancesFor("12-replica-migration-2", 10)).toBe(20);
    expect(instancesFor("27-endpoints", 10)).toBe(20);
    expect(instancesFor("00-base", 10)).toBe(10);
    expect(instancesFor("00-base", 20)).toBe(20);
  });
});

describe("deb-src twin of apt's Debian entry", () => {
  const deb822 = "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\n";

  it("copies a deb822 Debian stanza with Types: deb-src", () => {
    const twin = debSrcTwin([{ file: "/etc/apt/sources.list.d/debian.sources", text: deb822 }]);
    expect(twin?.sources).toBe("Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\n");
  });

  it("copies one-line deb entries as deb-src and ignores non-Debian repositories", () => {
    const twin = debSrcTwin([
      { file: "/etc/apt/sources.list", text: "deb http://deb.debian.org/debian bookworm main\n" },
      { file: "/etc/apt/sources.list.d/node.sources", text: "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\n" },
    ]);
    expect(twin).toEqual({ sources: undefined, list: "deb-src http://deb.debian.org/debian bookworm main\n" });
  });

  it("writes nothing when a deb-src entry already exists", () => {
    expect(debSrcTwin([{ file: "a.sources", text: deb822 }, { file: "b.sources", text: deb822.replace("deb\n", "deb-src\n") }])).toBeNull();
  });
});

describe("baseline ratchet", () => {
  const unit = (name: string, ok: number, err = 0, exception = 0) => {
    const r = { unit: name, redis: 23, ok, err, exception, passes: false };
    r.passes = passes(r, 23);
    return r;
  };

  it("passes a unit only at Redis's count with no err and no exception", () => {
    expect(unit("type/incr", 23).passes).toBe(true);
    expect(unit("type/incr", 22).passes).toBe(false);
    expect(unit("type/incr", 23, 1).passes).toBe(false);
    expect(unit("type/incr", 23, 0, 1).passes).toBe(false);
  });

  it("reports a unit that passed before and no longer does as a regression", () => {
    const baseline = { units: { "type/incr": { bestOk: 23, passes: true } } };
    expect(compare(baseline, [unit("type/incr", 21, 2)]).regressions).toHaveLength(1);
    expect(compare(baseline, [unit("type/incr", 23)]).regressions).toHaveLength(0);
  });

  it("only warns when a partial unit's ok count drops below its best", () => {
    const baseline = { units: { "type/incr": { bestOk: 10, passes: false } } };
    const r = compare(baseline, [unit("type/incr", 8, 3)]);
    expect(r.regressions).toHaveLength(0);
    expect(r.warnings).toHaveLength(1);
  });

  it("fails a best-ok unit with a floor when it falls below it, has an err or an exception, or did not run", () => {
    const baseline = { units: { "integration/psync2": { bestOk: 23, passes: false, floor: 20 } } };
    const at = (ok: number, err = 0, exception = 0) => compare(baseline, [{ ...unit("type/incr", ok, err, exception), unit: "integration/psync2" }]);
    expect(at(21).regressions).toHaveLength(0);
    expect(at(21).warnings).toHaveLength(1);
    expect(at(19).regressions).toHaveLength(1);
    expect(at(22, 1).regressions).toHaveLength(1);
    expect(at(22, 0, 1).regressions).toHaveLength(1);
    expect(compare(baseline, [{ ...unit("integration/psync2", 0), notRun: true }]).regressions).toHaveLength(1);
    ratchet(baseline, [{ ...unit("integration/psync2", 23) }], "2026-01-01");
    expect(baseline.units["integration/psync2"]).toMatchObject({ bestOk: 23, passes: true, floor: 20 });
  });

  it("only ever raises the baseline", () => {
    const baseline: { units: Record<string, { bestOk: number; passes: boolean }> } = { units: { "type/incr": { bestOk: 10, passes: false } } };
    ratchet(baseline, [unit("type/incr", 5)], "2026-01-01");
    expect(baseline.units["type/incr"]).toMatchObject({ bestOk: 10, passes: false });
    ratchet(baseline, [unit("type/incr", 23)], "2026-01-01");
    expect(baseline.units["type/incr"]).toMatchObject({ bestOk: 23, passes: true });
    ratchet(baseline, [unit("type/incr", 20, 3)], "2026-01-01");
    expect(baseline.units["type/incr"]).toMatchObject({ bestOk: 23, passes: true });
  });
});

describe("harness-mode tree", () => {
  it("lays out runtest, tests/ and a src/redis-server launcher that execs the server under test", async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, statSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { layoutHarness } = await import("../../scripts/compat/harness.mjs");
    const suite = mkdtempSync(join(tmpdir(), "lkv-suite-"));
    writeFileSync(join(suite, "runtest"), "#!/bin/sh\n");
    mkdirSync(join(suite, "tests", "unit"), { recursive: true });
    writeFileSync(join(suite, "tests", "unit", "auth.tcl"), "# auth\n");
    const cache = mkdtempSync(join(tmpdir(), "lkv-cache-"));
    const root = layoutHarness(suite, cache, "latticekv", ["/usr/bin/node", "/repo/dist/src/cli.js"]);
    expect(readFileSync(join(root, "tests", "unit", "auth.tcl"), "utf8")).toBe("# auth\n");
    const launcher = join(root, "src", "redis-server");
    // exec keeps the PID runtest spawned, which it then looks for in the server's log.
    expect(readFileSync(launcher, "utf8")).toBe('#!/bin/sh\nexec /usr/bin/node /repo/dist/src/cli.js "$@"\n');
    expect(statSync(launcher).mode & 0o111).toBeTruthy();
    if (existsSync("/usr/bin/redis-cli")) expect(existsSync(join(root, "src", "redis-cli"))).toBe(true);
  });
});

describe("the committed baseline", () => {
  it("knows Redis's count for every unit it says passes, in that unit's mode", async () => {
    // A passing unit with no known count reads as "?" and fails --ci as a regression
    // (stop 24: harness-tls geo, hyperloglog and violations had entries but no count).
    const { readFileSync } = await import("node:fs");
    const units = await import("../../scripts/compat/units.mjs");
    const baseline = JSON.parse(readFileSync(new URL("../../compat/baseline.json", import.meta.url), "utf8"));
    const countFor = (key: string): number | undefined => {
      if (key.startsWith(units.HARNESS_TLS_PREFIX)) return (units.HARNESS_TLS_OK_COUNTS as Record<string, number>)[key.slice(units.HARNESS_TLS_PREFIX.length)];
      if (key.startsWith(units.HARNESS_PREFIX)) return (units.HARNESS_OK_COUNTS as Record<string, number>)[key.slice(units.HARNESS_PREFIX.length)];
      if (key.startsWith(units.CLUSTER_TLS_PREFIX)) return (units.CLUSTER_OK_COUNTS as Record<string, number>)[key.slice(units.CLUSTER_TLS_PREFIX.length)];
      if (key.startsWith(units.CLUSTER_PREFIX)) return (units.CLUSTER_OK_COUNTS as Record<string, number>)[key.slice(units.CLUSTER_PREFIX.length)];
      return (units.REDIS_OK_COUNTS as Record<string, number>)[key];
    };
    const missing = Object.entries(baseline.units as Record<string, { passes: boolean }>)
      .filter(([key, entry]) => entry.passes && countFor(key) === undefined)
      .map(([key]) => key);
    expect(missing).toEqual([]);
  });
});
