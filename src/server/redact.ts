// Arguments Redis hides from MONITOR and SLOWLOG (redactClientCommandArgument): passwords
// and user definitions. A redacted argument shows as "(redacted)". The rules follow each
// command's own parsing in Redis 7.0.15: AUTH (acl.c), HELLO's AUTH (networking.c),
// MIGRATE's AUTH/AUTH2 (cluster.c), CONFIG SET of sensitive configs (config.c), and every
// argument of ACL SETUSER after the subcommand (acl.c).

const REDACTED = Buffer.from("(redacted)");
const SENSITIVE_CONFIGS = new Set(["masteruser", "masterauth", "requirepass"]);

const lower = (b: Buffer) => b.toString("latin1").toLowerCase();

/** argv with the arguments Redis redacts replaced; argv itself when there are none. */
export function redactArgv(argv: Buffer[]): Buffer[] {
  const hide = positions(argv);
  if (hide.length === 0) return argv;
  const out = argv.slice();
  for (const i of hide) if (i < out.length) out[i] = REDACTED;
  return out;
}

function positions(argv: Buffer[]): number[] {
  const name = lower(argv[0]);
  const argc = argv.length;
  const hide: number[] = [];
  if (name === "auth") {
    if (argc > 3) return hide;
    hide.push(1);
    if (argc === 3) hide.push(2);
  } else if (name === "hello") {
    for (let j = 2; j < argc; j++) {
      const more = argc - 1 - j;
      const opt = lower(argv[j]);
      if (opt === "auth" && more >= 2) { hide.push(j + 1, j + 2); j += 2; }
      else if (opt === "setname" && more >= 1) j += 1;
      else break;
    }
  } else if (name === "migrate") {
    for (let j = 6; j < argc; j++) {
      const more = argc - 1 - j;
      const opt = lower(argv[j]);
      if (opt === "copy" || opt === "replace") continue;
      if (opt === "auth") { if (more < 1) break; hide.push(++j); }
      else if (opt === "auth2") { if (more < 2) break; hide.push(j + 1, j + 2); j += 2; }
      else break;
    }
  } else if (name === "config" && argc >= 4 && lower(argv[1]) === "set") {
    for (let i = 2; i + 1 < argc; i += 2) if (SENSITIVE_CONFIGS.has(lower(argv[i]))) hide.push(i + 1);
  } else if (name === "acl" && argc >= 3 && lower(argv[1]) === "setuser") {
    for (let j = 2; j < argc; j++) hide.push(j);
  }
  return hide;
}
