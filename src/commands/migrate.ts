// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH pw] [AUTH2 user pw]
// [KEYS key...] (Redis's cluster.c migrateCommand): each key's DUMP payload is RESTOREd on
// the target (RESTORE-ASKING in cluster mode, so an importing slot accepts it), then the
// key is deleted here unless COPY. Like Redis, the server waits for the target while it
// does this: the exchange runs in a worker thread the server waits for (migrate-link.ts,
// which also caches the connection for the next MIGRATE), so no other client's command
// runs between reading a key and deleting it. With tls-cluster on, the link is TLS
// (Redis's migrateGetSocket: connCreateTLS).
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import { ERR, parseInteger } from "./context.js";
import { readKey } from "../persistence/keyspace-io.js";
import { createDumpPayload } from "../persistence/dump.js";
import { replyEnd } from "../cluster/exchange.js";
import { migrateExchange } from "./migrate-link.js";
import { migrateTlsOptions } from "../server/tls.js";

function encode(argv: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${argv.length}\r\n`)];
  for (const a of argv) {
    const b = typeof a === "string" ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

function migrate({ server, client, argv, reply }: CommandContext): void {
  let copy = false, replace = false;
  let username: Buffer | null = null, password: Buffer | null = null;
  let firstKey = 3, numKeys = 1;
  for (let j = 6; j < argv.length; j++) {
    const opt = argv[j].toString("latin1").toLowerCase();
    const more = argv.length - 1 - j;
    if (opt === "copy") copy = true;
    else if (opt === "replace") replace = true;
    else if (opt === "auth") {
      if (!more) return reply.error(ERR.syntax);
      password = argv[++j];
    } else if (opt === "auth2") {
      if (more < 2) return reply.error(ERR.syntax);
      username = argv[++j];
      password = argv[++j];
    } else if (opt === "keys") {
      if (argv[3].length !== 0) return reply.error("When using MIGRATE KEYS option, the key argument must be set to the empty string");
      firstKey = j + 1;
      numKeys = argv.length - j - 1;
      break;
    } else return reply.error(ERR.syntax);
  }
  const timeoutArg = parseInteger(argv[5]);
  const dbid = parseInteger(argv[4]);
  if (timeoutArg === null || dbid === null) return reply.error(ERR.notInteger);
  // (node's timers take at most 2^31-1 ms: a longer one would fire at once)
  const timeout = timeoutArg <= 0n ? 1000 : Number(timeoutArg > 2147483647n ? 2147483647n : timeoutArg);

  // Keys that exist, with their payloads and remaining TTLs.
  const now = server.now();
  const found: { key: Buffer; payload: Buffer; ttl: number }[] = [];
  for (let i = firstKey; i < firstKey + numKeys; i++) {
    const stored = readKey(server, client.db, argv[i]);
    if (!stored) continue;
    const ttl = stored.expireAt >= 0 ? Math.max(1, stored.expireAt - now) : 0;
    found.push({ key: argv[i], payload: createDumpPayload(stored.value, server.config.getBool("rdbcompression")), ttl });
  }
  if (found.length === 0) return reply.status("NOKEY");

  const requests: Buffer[] = [];
  if (password) requests.push(encode(username ? ["AUTH", username, password] : ["AUTH", password]));
  requests.push(encode(["SELECT", String(dbid)]));
  const restore = server.cluster ? "RESTORE-ASKING" : "RESTORE";
  for (const f of found) {
    const args: (string | Buffer)[] = [restore, f.key, String(f.ttl), f.payload];
    if (replace) args.push("REPLACE");
    requests.push(encode(args));
  }
  const host = argv[1].toString("latin1");
  const port = argv[2].toString("latin1");
  let tlsOptions;
  try {
    tlsOptions = migrateTlsOptions(server);
  } catch {
    return reply.error("-IOERR error or timeout connecting to the client");
  }
  const run = migrateExchange({ host, port: Number(port), tls: tlsOptions, request: Buffer.concat(requests),
    replies: requests.length, timeoutMs: timeout });
  if (run.status === 4) return reply.error("-IOERR error or timeout connecting to the client");
  if (run.status !== 0) {
    return reply.error(`-IOERR error or timeout ${run.status === 2 ? "writing" : "reading"} to target instance`);
  }
  // The replies: AUTH?, SELECT, then one per key.
  const out = Buffer.from(run.data!.buffer, run.data!.byteOffset, run.data!.byteLength);
  const replies: string[] = [];
  for (let p = 0; p < out.length;) {
    const e = replyEnd(out, p);
    replies.push(out.toString("latin1", p, e).split("\r\n", 1)[0]);
    p = e;
  }
  let r = 0;
  if (password && replies[r++].startsWith("-")) return reply.error(`Target instance replied with error: ${replies[r - 1].slice(1)}`);
  if (replies[r++].startsWith("-")) return reply.error(`Target instance replied with error: ${replies[r - 1].slice(1)}`);
  let error: string | null = null;
  const moved: Buffer[] = [];
  for (const f of found) {
    const line = replies[r++];
    if (line.startsWith("-")) error ??= line.slice(1);
    else moved.push(f.key);
  }
  if (!copy && moved.length) {
    for (const k of moved) server.types.delete(client.db, k);
    // What replicas and the AOF see: the keys were deleted here.
    server.types.propagate(client.db, [Buffer.from("DEL"), ...moved]);
  }
  if (error !== null) return reply.error(`Target instance replied with error: ${error}`);
  reply.ok();
}

export function registerMigrateCommand(t: CommandTable): void {
  t.define("migrate", migrate);
}
