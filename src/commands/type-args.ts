// Argument parsing shared by the set, sorted set and SORT commands, with Redis's own rules
// and error strings (object.c getLongFromObjectOrReply & co., db.c's SCAN options).
import type { CommandContext } from "./context.js";
import { ERR, parseInteger, parseIntegerNumber } from "./context.js";

const LONG_MAX = 9223372036854775807n;

/** A member or key argument as the latin1 string the type values hold (one char per byte). */
export function arg(ctx: CommandContext, i: number): string { return ctx.argv[i].toString("latin1"); }

/** Bytes of a latin1 member string, for a reply. */
export function bytes(m: string): Buffer { return Buffer.from(m, "latin1"); }

/**
 * getLongFromObjectOrReply: a 64-bit integer (as a JS number; beyond 2^53 it is rounded,
 * which only matters for counts no reply could hold anyway), or null after replying
 * `msg` (default: "value is not an integer or out of range").
 */
export function getLongOrReply(ctx: CommandContext, i: number, msg?: string): number | null {
  const v = parseIntegerNumber(ctx.argv[i]);
  if (v === null) { ctx.reply.error(msg ?? ERR.notInteger); return null; }
  return v;
}

/** getRangeLongFromObjectOrReply: like getLongOrReply, also refusing values outside [min, max]. */
export function getRangeLongOrReply(ctx: CommandContext, i: number, min: bigint, max: bigint, msg?: string): number | null {
  const v = parseInteger(ctx.argv[i]);
  if (v === null) { ctx.reply.error(msg ?? ERR.notInteger); return null; }
  if (v < min || v > max) {
    ctx.reply.error(msg ?? `value is out of range, value must between ${min} and ${max}`);
    return null;
  }
  return Number(v);
}

/** getPositiveLongFromObjectOrReply (0 allowed): "value is out of range, must be positive". */
export function getPositiveLongOrReply(ctx: CommandContext, i: number, msg?: string): number | null {
  return getRangeLongOrReply(ctx, i, 0n, LONG_MAX, msg ?? "value is out of range, must be positive");
}

export { LONG_MAX };

/** parseScanCursorOrReply: strtoul, no leading space, nothing trailing, no overflow. */
export function parseCursorOrReply(ctx: CommandContext, i: number): number | null {
  const s = ctx.argv[i].toString("latin1");
  // strtoul("") consumes nothing and leaves nothing trailing: cursor 0, as Redis takes it.
  if (s === "") return 0;
  const m = /^[+-]?[0-9]+$/.exec(s);
  if (m) {
    let v = BigInt(s.replace(/^\+/, ""));
    if (v < 0n) {
      // strtoul negates in unsigned arithmetic; an out-of-range magnitude is ERANGE.
      if (-v <= 0xffffffffffffffffn) v = (1n << 64n) + v;
      else v = -1n;
    }
    if (v >= 0n && v <= 0xffffffffffffffffn) return Number(v);
  }
  ctx.reply.error("invalid cursor");
  return null;
}

export interface ScanOptions { count: number; pattern: Buffer | null }

/** Redis's shared.emptyscan: SSCAN/ZSCAN of a missing key answer cursor 0 and no items. */
export function replyEmptyScan(ctx: CommandContext): void {
  ctx.reply.arrayLen(2);
  ctx.reply.bulk("0");
  ctx.reply.arrayLen(0);
}

/** The MATCH / COUNT options of SSCAN/ZSCAN (scanGenericCommand), or null after an error reply. */
export function parseScanOptionsOrReply(ctx: CommandContext, from: number): ScanOptions | null {
  const argv = ctx.argv;
  let count = 10;
  let pattern: Buffer | null = null;
  for (let i = from; i < argv.length; ) {
    const left = argv.length - i;
    const opt = argv[i].toString("latin1").toLowerCase();
    if (opt === "count" && left >= 2) {
      const c = getLongOrReply(ctx, i + 1);
      if (c === null) return null;
      if (c < 1) { ctx.reply.error(ERR.syntax); return null; }
      count = c;
      i += 2;
    } else if (opt === "match" && left >= 2) {
      const p = argv[i + 1];
      pattern = p.length === 1 && p[0] === 0x2a ? null : p;
      i += 2;
    } else {
      ctx.reply.error(ERR.syntax);
      return null;
    }
  }
  return { count, pattern };
}

/**
 * Random-with-repeats replies (SRANDMEMBER/ZRANDMEMBER with a negative count) are sized by
 * the count, not the data. Redis would grow the client's output buffer until the limit
 * closes it; one host process holds every client's replies, so a reply that could not fit
 * is refused instead (the same guard as the kernel's HRANDFIELD).
 */
export const MAX_RANDOM_REPLY_BYTES = 512 * 1024 * 1024;

export function randomReplyTooLargeOrReply(ctx: CommandContext, count: number, avgItemBytes: number): boolean {
  if (count * (avgItemBytes + 16) <= MAX_RANDOM_REPLY_BYTES) return false;
  ctx.reply.error(`${ctx.spec.name.toUpperCase()} reply would exceed ${MAX_RANDOM_REPLY_BYTES} bytes`);
  return true;
}
