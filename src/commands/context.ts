// What a host command handler receives. Handlers read arguments from argv, write replies
// through reply (never raw RESP), and reach server state through server and client.
import type { Client } from "../server/client.js";
import type { Server } from "../server/server.js";
import type { ReplyWriter } from "../server/reply-writer.js";
import type { CommandSpec } from "./table.js";

export interface CommandContext {
  server: Server;
  client: Client;
  argv: Buffer[];
  reply: ReplyWriter;
  spec: CommandSpec;
}

/** Argument i as a lowercase string (option names, subcommands). */
export function argLower(ctx: CommandContext, i: number): string {
  return ctx.argv[i].toString("latin1").toLowerCase();
}

export const ERR = {
  syntax: "syntax error",
  notInteger: "value is not an integer or out of range",
  notFloat: "value is not a valid float",
  wrongType: "WRONGTYPE Operation against a key holding the wrong kind of value",
  dbIndexOutOfRange: "DB index is out of range",
} as const;

/** Parses an argument as Redis's string2ll does (strict decimal, fits in i64), else null. */
export function parseInteger(b: Buffer): bigint | null {
  const s = b.toString("latin1");
  if (!/^(0|-?[1-9][0-9]{0,19})$/.test(s)) return null;
  const v = BigInt(s);
  if (v > 9223372036854775807n || v < -9223372036854775808n) return null;
  return v;
}

/**
 * parseInteger as a JS number (Number() of the i64, so exact up to 2^53), else null. Up to
 * 15 characters it reads the bytes itself (no string, regular expression or BigInt: LRANGE's
 * start and end showed in its profile); longer input takes parseInteger's path.
 */
export function parseIntegerNumber(b: Uint8Array): number | null {
  const n = b.length;
  if (n === 0 || n > 15) {
    if (n === 0) return null;
    const v = parseInteger(Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, n));
    return v === null ? null : Number(v);
  }
  let i = 0;
  const neg = b[0] === 0x2d;
  if (neg) i = 1;
  if (i === n) return null;
  const first = b[i];
  if (first === 0x30) return n === 1 ? 0 : null; // "0" only: no leading zeros, no "-0"
  if (first < 0x31 || first > 0x39) return null;
  let v = 0;
  for (; i < n; i++) {
    const c = b[i] - 0x30;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  return neg ? -v : v;
}

/** parseInteger narrowed to a safe JS number (indices, counts, db numbers), else null. */
export function parseSafeInteger(b: Buffer): number | null {
  const v = parseInteger(b);
  if (v === null || v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) return null;
  return Number(v);
}
