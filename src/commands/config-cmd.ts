// CONFIG GET / SET / RESETSTAT / REWRITE / HELP, as Redis 7.0's config.c: GET takes several
// glob patterns (hidden directives only by exact name), SET takes several pairs and is
// atomic (all validated and applied, or none), REWRITE rewrites the config file in place.
import type { CommandTable } from "./table.js";
import { allConfigNames, findDirective } from "../config/config.js";
import { rewriteConfigFile } from "../config/rewrite.js";
import { stringMatch } from "../util/glob.js";
import { replyHelp } from "./help.js";
import { log } from "../server/log.js";
import { replyAfterListenerMoves } from "../server/tls.js";
import { persistenceOf } from "../persistence/persistence.js";

export function registerConfigCommands(t: CommandTable): void {
  t.define("config|get", ({ server, argv, reply }) => {
    const matches = new Map<string, string>();
    for (let i = 2; i < argv.length; i++) {
      const pat = argv[i].toString("latin1");
      if (!/[[*?]/.test(pat)) {
        const d = findDirective(pat);
        if (d && !matches.has(pat)) matches.set(pat, d.name);
        continue;
      }
      for (const [name, d] of allConfigNames()) {
        if (d.flags.includes("hidden") || matches.has(name)) continue;
        if (stringMatch(argv[i], name, true)) matches.set(name, d.name);
      }
    }
    reply.mapLen(matches.size);
    for (const [name, canonical] of matches) {
      reply.bulk(name);
      reply.bulk(server.config.get(canonical));
    }
  });

  t.define("config|set", ({ server, client, argv, reply }) => {
    if (argv.length % 2) return reply.error("syntax error");
    const pairs: [string, string][] = [];
    for (let i = 2; i < argv.length; i += 2) pairs.push([argv[i].toString("latin1"), argv[i + 1].toString("latin1")]);
    // The values before, to roll every pair back if a port cannot be listened on (the
    // apply step of port / tls-port completes later, src/server/tls.ts).
    const before: [string, string][] = [];
    for (const [name] of pairs) if (findDirective(name)) before.push([name, server.config.get(name)]);
    const p = persistenceOf(server);
    const err = server.config.setMany(pairs, client.isLocal, p.loading !== null || p.asyncLoading);
    if (err) return reply.error(err);
    if (replyAfterListenerMoves(server, client, before)) return;
    reply.ok();
  });

  t.define("config|resetstat", ({ server, reply }) => {
    server.resetStats();
    reply.ok();
  });

  t.define("config|rewrite", ({ server, reply }) => {
    const file = server.configFilePath;
    if (!file) return reply.error("The server is running without a config file");
    try {
      rewriteConfigFile(server.config, file);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      log("warning", `CONFIG REWRITE failed: ${msg}`);
      return reply.error(`Rewriting config file: ${msg}`);
    }
    log("notice", "CONFIG REWRITE executed with success.");
    reply.ok();
  });

  t.define("config|help", (ctx) => replyHelp(ctx, [
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
  ]));
}
