// latticekv [/path/to/redis.conf] [--port 7000] [--bind 127.0.0.1] [--save ""] ...
// The same command-line form as redis-server: any --name value pair is a config directive.
// Run from dist/src/bundle.cjs: this module and every module it imports in one file
// (scripts/bundle.mjs), run by the entry dist/src/cli.js (src/cli.ts) with V8's code cache,
// because loading ~220 modules one by one, then compiling them, was most of a start's CPU.
import { readFileSync } from "node:fs";
import { Config, applyArgv } from "./config/config.js";
import { Server, LATTICEKV_VERSION } from "./server/server.js";
import { log, logSettings, logToFile, type LogLevel } from "./server/log.js";
import { aclOf } from "./acl/acl.js";
import { persistenceOf } from "./persistence/persistence.js";
import { StartupError } from "./server/listeners.js";
import { installProcTitle } from "./server/proc-title.js";
import { shutdownOf } from "./server/shutdown.js";
import { installCrashHandlers } from "./server/crash-report.js";

const USAGE = `Usage: latticekv [/path/to/redis.conf] [options]
       latticekv -v or --version
       latticekv -h or --help

Examples:
       latticekv (run the server with default conf)
       latticekv /etc/redis/6379.conf
       latticekv --port 7777
       latticekv --port 7777 --replicaof 127.0.0.1 8888
       latticekv /etc/myredis.conf --loglevel verbose

`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  // bin/latticekv-server's room for the process title (src/server/proc-title.ts): not a directive.
  if (args[0]?.startsWith("--title-room=")) args.shift();
  if (args[0] === "-v" || args[0] === "--version") {
    console.log(`LatticeKV server v=${LATTICEKV_VERSION} (Redis 7.0.15 compatible) bits=64`);
    return;
  }
  // redis-server's usage(): to stderr, exit status 1, and no server started.
  if (args[0] === "-h" || args[0] === "--help") {
    process.stderr.write(USAGE);
    process.exit(1);
  }
  const config = new Config();
  const errors = applyArgv(config, args, (p) => readFileSync(p, "utf8"));
  if (errors.length) {
    process.stderr.write(`\n*** FATAL CONFIG FILE ERROR (LatticeKV ${LATTICEKV_VERSION}) ***\n${errors.join("\n")}\n`);
    process.exit(1);
  }
  logSettings.level = config.getString("loglevel") as LogLevel;
  if (config.getString("logfile") !== "") logToFile(config.getString("logfile"));
  // Redis writes S while server.masterhost is set: replicaof is it (REPLICAOF and a cluster
  // replica's master set it too, src/commands/replication.ts setMaster).
  logSettings.role = () => (config.getString("replicaof") === "" ? "M" : "S");
  log("notice", "oO0OoO0OoO0Oo LatticeKV is starting oO0OoO0OoO0Oo");
  log("notice", `LatticeKV version=${LATTICEKV_VERSION}, redis_version=7.0.15, bits=64, pid=${process.pid}, just started`);
  if (config.configFile) log("notice", `Configuration loaded from ${config.configFile}`);
  else log("warning", "Warning: no config file specified, using the default config. In order to specify a config file use latticekv /path/to/redis.conf");
  if (config.unknown.length) log("warning", `Ignoring config directives LatticeKV does not implement: ${config.unknown.join(", ")}`);
  // Redis's moduleLoadFromQueue: a module that does not load aborts the start. None loads here.
  if (config.modules.length) {
    const path = config.modules[0];
    log("warning", `Module ${path} failed to load: LatticeKV does not load Redis modules`);
    log("warning", `Can't load module from ${path}: server aborting`);
    process.exit(1);
  }
  const server = new Server(config);
  installCrashHandlers(server); // a crash writes Redis's bug report to the log
  // `user` lines or the aclfile (Redis's ACLLoadUsersAtStartup): an error stops the start.
  const aclError = aclOf(server).loadUsersAtStartup();
  if (aclError) {
    log("warning", aclError);
    process.exit(1);
  }
  // replicaof starts its link in listen(), before the data on disk is loaded: the link waits
  // for the load (Redis's replicationCron does not run until it is done).
  persistenceOf(server).startupLoadPending = true;
  let port: number;
  try {
    port = await server.listen();
  } catch (e) {
    if (e instanceof StartupError) { // Redis's log line is the message (TLS, the cluster bus)
      log("warning", e.message);
      process.exit(1);
    }
    // Redis's wording: the Tcl harness looks for "Failed listening on port" to retry elsewhere.
    const err = e as NodeJS.ErrnoException & { tlsPort?: number };
    const want = err.tlsPort ?? config.getNumber("port");
    const why = err.code === "EADDRINUSE" ? "Address already in use" : err.code === "EADDRNOTAVAIL" ? "Cannot assign requested address" : err.message;
    log("warning", `Warning: Could not create server TCP listening socket *:${want}: bind: ${why}`);
    log("warning", `Failed listening on port ${want} (${err.tlsPort ? "TLS" : "TCP"}), aborting.`);
    process.exit(1);
  }
  installProcTitle(server); // as Redis's main after initServer: the title from proc-title-template
  if (config.getBool("always-show-logo") || process.stdout.isTTY) {
    // Redis's logo block carries "Port:" and "PID:" lines (the Tcl harness reads the PID).
    logSettings.write(`\n    LatticeKV ${LATTICEKV_VERSION} (Redis 7.0.15 compatible) 64 bit\n` +
      `    Running in ${server.cluster ? "cluster" : "standalone"} mode\n    Port: ${port}\n    PID: ${process.pid}\n\n`);
  } else {
    log("notice", `Running mode=${server.cluster ? "cluster" : "standalone"}, port=${port}.`);
  }
  log("notice", "Server initialized");
  // Signals only flag a shutdown; serverCron carries it out (src/server/shutdown.ts), also
  // while the data loads (then without saving).
  process.on("SIGTERM", () => shutdownOf(server).signal("SIGTERM"));
  process.on("SIGINT", () => shutdownOf(server).signal("SIGINT"));
  // After the logo (the Tcl harness reads the PID from it even when loading fails). Clients
  // that connect while the data loads are answered -LOADING (src/persistence/persistence.ts).
  await persistenceOf(server).loadOnStartup();
  persistenceOf(server).startupLoadPending = false;
  log("notice", "Ready to accept connections tcp");
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + "\n");
  process.exit(1);
});
