// The software watchdog (src/server/watchdog.ts), as Redis's: CONFIG SET watchdog-period N
// arms a timer that serverCron pushes back on every tick; a main thread that does not come
// back to serverCron within N ms (DEBUG SLEEP, a diskless load: no serverCron runs while
// loading) gets "--- WATCHDOG TIMER EXPIRED ---" and its stack in the log, once per stall.
import { describe, it, expect, afterAll } from "vitest";
import { serverGroup } from "../helpers/server.js";
import { until, infoField as field } from "../helpers/wait.js";

const EXPIRED = "--- WATCHDOG TIMER EXPIRED ---";
const count = (text: string, what: string) => text.split(what).length - 1;

describe("watchdog-period", { timeout: 60_000 }, () => {
  const servers = serverGroup(["--enable-debug-command", "yes"]);
  afterAll(() => servers.stopAll());

  it("is raised to two serverCron periods, and 0 turns it off", async () => {
    const { r } = await servers.start();
    expect(await r.config("GET", "watchdog-period")).toEqual(["watchdog-period", "0"]);
    await r.config("SET", "watchdog-period", "50"); // hz 10: at least 200 ms
    expect(await r.config("GET", "watchdog-period")).toEqual(["watchdog-period", "200"]);
    await r.config("SET", "hz", "100");
    await r.config("SET", "watchdog-period", "5");
    expect(await r.config("GET", "watchdog-period")).toEqual(["watchdog-period", "20"]);
    await r.config("SET", "watchdog-period", "0");
    expect(await r.config("GET", "watchdog-period")).toEqual(["watchdog-period", "0"]);
  });

  it("DEBUG SLEEP longer than the period logs the expiry once, with the main thread's stack", async () => {
    const { srv, r } = await servers.start();
    // 500 ms: far above the cron's 100 ms, so a loaded machine's late tick is no stall.
    await r.config("SET", "watchdog-period", "500");
    // An idle server's cron keeps re-arming it: nothing is logged.
    await new Promise((res) => setTimeout(res, 1200));
    expect(srv.output()).not.toContain(EXPIRED);
    // Long enough for the stack to be taken while it sleeps, also on a loaded machine.
    await r.call("debug", "sleep", "3");
    await until("the watchdog's lines", () => /signal-handler \(\d+\) --------/.test(srv.output()), 10_000);
    const out = srv.output();
    expect(out).toMatch(new RegExp(`\\d+:signal-handler \\(\\d+\\) \\n${EXPIRED}`));
    // The stack was taken while DEBUG SLEEP held the main thread.
    expect(out).toContain("------ STACK TRACE ------");
    // Frames name the file run: the start-up bundle (dist/src/bundle.cjs, scripts/bundle.mjs).
    expect(out).toMatch(/debugCommand \(.*\.c?js:\d+:\d+\)/);
    expect(out).toMatch(/sleepSync \(.*\.c?js:\d+:\d+\)/);
    // One-shot: one expiry for the one stall, none once the cron runs again.
    await new Promise((res) => setTimeout(res, 600));
    expect(count(srv.output(), EXPIRED)).toBe(1);
    expect(await r.ping()).toBe("PONG");
  });

  it("a sleep shorter than the period, or with the watchdog off, logs nothing", async () => {
    const { srv, r } = await servers.start();
    await r.config("SET", "watchdog-period", "1000");
    await r.call("debug", "sleep", "0.3");
    await r.config("SET", "watchdog-period", "0");
    await r.call("debug", "sleep", "0.5");
    await new Promise((res) => setTimeout(res, 300));
    expect(srv.output()).not.toContain(EXPIRED);
  });

  it("a replica's diskless load (no serverCron while loading) expires it, and the load goes on", async () => {
    const { srv: msrv, r: m } = await servers.start(["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]);
    await m.call("debug", "populate", "100", "master", "100000");
    await m.config("SET", "rdbcompression", "no");
    // 100 keys: about 5 s, so the replica is still loading when INFO is asked on a loaded machine.
    await m.config("SET", "rdb-key-save-delay", "50000");
    const { srv, r: s } = await servers.start(["--repl-diskless-load", "on-empty-db"]);
    await s.config("SET", "watchdog-period", "200");
    await s.replicaof("127.0.0.1", String(msrv.port));
    await until("loading", async () => srv.output().includes("Loading DB in memory"), 10_000, 10);
    const at = srv.output().indexOf("Loading DB in memory");
    await until("the watchdog after the load began", async () => srv.output().indexOf(EXPIRED, at) > 0, 10_000, 10);
    expect(await field(s, "loading")).toBe("1");
    expect(srv.output()).not.toContain("Reconnecting to MASTER");
    await m.config("SET", "rdb-key-save-delay", "0");
    await until("loaded", async () => (await field(s, "master_link_status")) === "up", 30_000);
    expect(await s.dbsize()).toBe(100);
    expect(await field(m, "sync_full")).toBe("1");
  });
});
