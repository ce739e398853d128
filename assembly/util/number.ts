// Number <-> text conversions with Redis's exact acceptance rules (util.c: string2ll,
// string2ld, ll2string, ld2string). These decide error replies such as
// "value is not an integer or out of range", so they are strict on purpose.

import { string2d as exactString2d, parsedDouble as exactParsedDouble } from "./long-double";

/** Writes n in decimal at dst; returns the number of bytes written (at most 20). */
export function ll2string(dst: usize, n: i64): usize {
  let neg = n < 0;
  // Work on the unsigned magnitude so i64.MIN_VALUE does not overflow.
  let v: u64 = neg ? <u64>(0 - n) : <u64>n;
  let len: usize = 1;
  for (let t = v; t >= 10; t /= 10) len++;
  const total = len + (neg ? 1 : 0);
  let p = dst + total;
  do {
    p--;
    store<u8>(p, <u8>(0x30 + (v % 10)));
    v /= 10;
  } while (v != 0);
  if (neg) store<u8>(dst, 0x2d);
  return total;
}

// string2ll's result travels through these globals to avoid allocating a tuple.
export let parsedInt: i64 = 0;

/**
 * Parses [ptr, ptr+len) as a signed 64-bit integer exactly as Redis's string2ll:
 * no spaces, no '+', no leading zeros, at most 20 digits, no overflow. Result in parsedInt.
 */
export function string2ll(ptr: usize, len: usize): bool {
  if (len == 0 || len > 20) return false;
  let p: usize = 0;
  if (len == 1 && load<u8>(ptr) == 0x30) { parsedInt = 0; return true; }
  let neg = false;
  if (load<u8>(ptr) == 0x2d) {
    neg = true;
    p++;
    if (p == len) return false;
  }
  let c = load<u8>(ptr + p);
  if (c < 0x31 || c > 0x39) return false;
  let v: u64 = <u64>(c - 0x30);
  p++;
  for (; p < len; p++) {
    c = load<u8>(ptr + p);
    if (c < 0x30 || c > 0x39) return false;
    // Overflow check as in Redis: v*10 + d must fit in u64.
    if (v > <u64>(0xffffffffffffffff / 10)) return false;
    v *= 10;
    const d = <u64>(c - 0x30);
    if (v > 0xffffffffffffffff - d) return false;
    v += d;
  }
  if (neg) {
    if (v > (<u64>1 << 63)) return false;
    parsedInt = <i64>(0 - v);
  } else {
    if (v > <u64>i64.MAX_VALUE) return false;
    parsedInt = <i64>v;
  }
  return true;
}

export let parsedDouble: f64 = 0;

/**
 * Parses [ptr, ptr+len) as Redis's string2d (strtod) accepts it: decimal or hex float,
 * inf/infinity, optional sign; no spaces, nothing trailing, never NaN, no overflow past
 * DBL_MAX or underflow to zero. Correctly rounded (long-double.ts does the exact work).
 * Result in parsedDouble.
 */
export function string2d(ptr: usize, len: usize): bool {
  if (plainDecimal(ptr, len)) return true;
  if (!exactString2d(ptr, len)) return false;
  parsedDouble = exactParsedDouble;
  return true;
}

const POW10: StaticArray<f64> = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * The common score and increment, [+-]digits[.digits] whose digits (the dot left out) make an
 * integer M below 2^53 with at most 22 after the dot: M and 10^k are exact doubles, so M / 10^k
 * is the correctly rounded value strtod gives (Clinger's fast path), without the exact
 * parser's big-number work (~25 µs a call: ZADD k 5 m cost 25 µs of server CPU where ZADD
 * k 0 m cost 1). Anything else (exponents, hex, inf, longer digits) is left to it: false.
 */
export function plainDecimal(ptr: usize, len: usize): bool {
  if (len == 0 || len > 40) return false;
  let i: usize = 0;
  const c0 = load<u8>(ptr);
  const neg = c0 == 0x2d; // '-'
  if (neg || c0 == 0x2b) i = 1; // '+'
  let m: u64 = 0;
  let digits = 0;
  let frac = -1; // digits after the dot, once one is seen
  for (; i < len; i++) {
    const c = load<u8>(ptr + i);
    if (c == 0x2e) { // '.'
      if (frac >= 0) return false;
      frac = 0;
      continue;
    }
    const d = <u32>c - 0x30;
    if (d > 9) return false;
    m = m * 10 + d;
    if (m >= 9007199254740992) return false; // 2^53: no longer exact
    digits++;
    if (frac >= 0) frac++;
  }
  if (digits == 0 || frac > 22) return false;
  let v = <f64>m;
  if (frac > 0) v /= unchecked(POW10[frac]);
  parsedDouble = neg ? -v : v;
  return true;
}

/**
 * Writes d as Redis's ld2string(LD_STR_HUMAN) would show it: plain decimal notation,
 * never an exponent, trailing zeros trimmed ("3", "10.5", "5000000000000000000000").
 * Redis prints a long double with %.17Lf; we print the shortest digits that round-trip
 * the double, which is what a user sees from Redis for every value a double can hold.
 */
export function d2string(dst: usize, d: f64, humanFriendly: bool): usize {
  let s = d.toString(); // shortest round-trip digits, maybe with an exponent
  if (humanFriendly) s = toPlainDecimal(s);
  const n = s.length;
  for (let i = 0; i < n; i++) store<u8>(dst + <usize>i, <u8>s.charCodeAt(i));
  return <usize>n;
}

/** "1.5e+21" -> "1500000000000000000000", "1e-7" -> "0.0000001", "3.0" -> "3". */
export function toPlainDecimal(s: string): string {
  let neg = false;
  if (s.startsWith("-")) { neg = true; s = s.substring(1); }
  let exp = 0;
  const e = s.indexOf("e");
  if (e >= 0) {
    exp = I32.parseInt(s.substring(e + 1));
    s = s.substring(0, e);
  }
  let dot = s.indexOf(".");
  let intPart = dot >= 0 ? s.substring(0, dot) : s;
  let frac = dot >= 0 ? s.substring(dot + 1) : "";
  let digits = intPart + frac;
  let pointPos = intPart.length + exp; // position of the decimal point within digits
  let out: string;
  if (pointPos <= 0) {
    out = "0." + "0".repeat(-pointPos) + digits;
  } else if (pointPos >= digits.length) {
    out = digits + "0".repeat(pointPos - digits.length);
  } else {
    out = digits.substring(0, pointPos) + "." + digits.substring(pointPos);
  }
  // Trim leading zeros of the integer part and trailing zeros of the fraction.
  if (out.indexOf(".") >= 0) {
    let end = out.length;
    while (end > 0 && out.charCodeAt(end - 1) == 0x30) end--;
    if (end > 0 && out.charCodeAt(end - 1) == 0x2e) end--;
    out = out.substring(0, end);
  }
  let start = 0;
  while (start < out.length - 1 && out.charCodeAt(start) == 0x30 && out.charCodeAt(start + 1) != 0x2e) start++;
  out = out.substring(start);
  if (out == "0") neg = false;
  return neg ? "-" + out : out;
}
