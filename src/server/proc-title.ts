// The process title, as Redis's redisSetProcTitle (server.c): proc-title-template expanded
// (sds.c sdstemplate: `{name}` variables, `{{` a literal brace) with {title} {listen-addr}
// {server-mode} {port} {tls-port} {unixsocket} {config-file}, trimmed of spaces, set at
// start and on CONFIG SET proc-title-template while set-proc-title is yes.
//
// Node's process.title (libuv's uv_set_process_title) writes into the process's original
// argv strings and never past them: a title longer than the command line is cut. Redis makes
// room by moving environ away; Node cannot. bin/latticekv-server (what `npm start` and the
// compat harness's src/redis-server run) passes cli.js a first argument `--title-room=` and
// 1024 spaces (cli.ts drops it), so the argv area has room for any usual title;
// /proc/<pid>/cmdline then shows exactly the title set here (then NULs). Started another way,
// a long title is cut to the command line's length, as setproctitle cuts it to its space.
import type { Config } from "../config/config.js";
import type { Server } from "./server.js";

export const INVALID_TEMPLATE = "template format is invalid or contains unknown variables";

/** Redis's sdstemplate: null on a premature end, an unclosed `{`, or an unknown variable. */
export function expandTemplate(template: string, value: (name: string) => string | null): string | null {
  let res = "";
  let p = 0;
  while (p < template.length) {
    const sv = template.indexOf("{", p);
    if (sv < 0) { res += template.slice(p); break; }
    res += template.slice(p, sv);
    const nameAt = sv + 1;
    if (nameAt >= template.length) return null;
    if (template[nameAt] === "{") { res += "{"; p = nameAt + 1; continue; }
    const ev = template.indexOf("}", nameAt);
    if (ev < 0) return null;
    const v = value(template.slice(nameAt, ev));
    if (v === null) return null;
    res += v;
    p = ev + 1;
  }
  return res;
}

/** sdstrim(res, " "). */
function trimSpaces(s: string): string {
  return s.replace(/^ +/, "").replace(/ +$/, "");
}

/** redisProcTitleGetVariable over the config (Redis's server.port etc. are the configured values). */
function variables(config: Config, title: string): (name: string) => string | null {
  return (name) => {
    const port = config.getNumber("port");
    const tlsPort = config.getNumber("tls-port");
    switch (name) {
      case "title": return title;
      case "listen-addr": {
        if (port || tlsPort) {
          const bind = config.getString("bind").split(" ").filter(Boolean);
          return `${bind.length ? bind[0] : "*"}:${port || tlsPort}`;
        }
        return `unixsocket:${config.getString("unixsocket")}`;
      }
      case "server-mode": return config.getBool("cluster-enabled") ? "[cluster]" : "";
      case "config-file": return config.configFile ?? "-";
      case "port": return String(port);
      case "tls-port": return String(tlsPort);
      case "unixsocket": return config.getString("unixsocket");
      default: return null;
    }
  };
}

/** expandProcTitleTemplate: the title, or null when the template is invalid. */
export function expandProcTitle(config: Config, template: string, title: string): string | null {
  const res = expandTemplate(template, variables(config, title));
  return res === null ? null : trimSpaces(res);
}

/** validateProcTitleTemplate: expands (with an empty {title}) to something not empty. */
export function validProcTitleTemplate(config: Config, template: string): boolean {
  const res = expandProcTitle(config, template, "");
  return res !== null && res.length > 0;
}

/**
 * Redis's {title} is its argv[0] as executed. bin/latticekv-server passes its own name as
 * node's argv[0] (exec -a); run as `node cli.js`, the program is the script, not node.
 */
export function execName(): string {
  const a0 = process.argv0;
  return /(^|\/)(node|nodejs)$/.test(a0) || !a0 ? process.argv[1] ?? a0 : a0;
}

/** Sets the title now and after each CONFIG SET proc-title-template (set-proc-title yes). */
export function installProcTitle(server: Server): void {
  const config = server.config;
  const set = () => {
    if (!config.getBool("set-proc-title")) return;
    const t = expandProcTitle(config, config.getString("proc-title-template"), execName());
    if (t === null) throw new Error("failed to set process title");
    process.title = t;
  };
  set();
  config.onApply("proc-title-template", set);
}
