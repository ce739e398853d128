// string.format as Redis's Lua 5.1 has it (lstrlib.c str_format over C's sprintf), replacing
// fengari's 5.3 one, which differs where scripts notice: %d %i %o %u %x %X %c want an integer
// representation and fengari's integers are 32-bit (string.format("%d", 2^40) raised "number
// has no integer representation"; 5.1 casts to long long and prints 1099511627776); %g and %e
// came out as JavaScript prints numbers ("1099511627776", "1.2345678e+4" for C's
// "1.09951e+12", "1.234568e+04"); %c ignored its width; %s took any value through
// __tostring (5.1 wants a string or a number); %q escaped as 5.3 does. Floats are printed
// from their exact binary value, rounded half to even like glibc.
import { lua, lauxlib, toLuaString, type LuaState } from "./fengari.js";

const FLAGS = new Set([45, 43, 32, 35, 48]); // - + space # 0
const INT64_MIN = -(2n ** 63n);

/** Replaces string.format in the state's string table (before the tables are made read-only). */
export function patchStringFormat(L: LuaState): void {
  lua.lua_getglobal(L, "string");
  lua.lua_pushjsfunction(L, strFormat);
  lua.lua_setfield(L, -2, "format");
  lua.lua_pop(L, 1);
}

interface Spec { flags: Set<number>; width: number; precision: number; hasPrecision: boolean }

function strFormat(L: LuaState): number {
  const top = lua.lua_gettop(L);
  const fmt = lauxlib.luaL_checklstring(L, 1) as Uint8Array;
  const out: number[] = [];
  let arg = 1;
  for (let i = 0; i < fmt.length;) {
    if (fmt[i] !== 37) { out.push(fmt[i++]); continue; }
    if (fmt[++i] === 37) { out.push(fmt[i++]); continue; }
    if (++arg > top) lauxlib.luaL_argerror(L, arg, toLuaString("no value"));
    // scanformat: flags, at most two width digits, '.', at most two precision digits.
    const flagsStart = i;
    while (i < fmt.length && FLAGS.has(fmt[i])) i++;
    if (i - flagsStart >= 6) lauxlib.luaL_error(L, toLuaString("invalid format (repeated flags)"));
    const flags = new Set(fmt.subarray(flagsStart, i));
    let width = 0;
    for (let d = 0; d < 2 && isDigit(fmt[i]); d++) width = width * 10 + fmt[i++] - 48;
    let precision = 0;
    const hasPrecision = fmt[i] === 46;
    if (hasPrecision) {
      i++;
      for (let d = 0; d < 2 && isDigit(fmt[i]); d++) precision = precision * 10 + fmt[i++] - 48;
    }
    if (isDigit(fmt[i])) lauxlib.luaL_error(L, toLuaString("invalid format (width or precision too long)"));
    const spec: Spec = { flags, width, precision, hasPrecision };
    const conv = fmt[i++];
    let item: number[];
    switch (conv) {
      case 99: // c: (int), one byte
        item = pad([Number(BigInt.asUintN(8, toLongLong(lauxlib.luaL_checknumber(L, arg))))], spec);
        break;
      case 100: case 105: case 111: case 117: case 120: case 88: // d i o u x X
        item = bytes(formatInteger(lauxlib.luaL_checknumber(L, arg), conv, spec));
        break;
      case 101: case 69: case 102: case 103: case 71: // e E f g G
        item = bytes(formatFloat(lauxlib.luaL_checknumber(L, arg), conv, spec));
        break;
      case 113: // q
        addQuoted(out, lauxlib.luaL_checklstring(L, arg) as Uint8Array);
        continue;
      case 115: { // s
        const s = lauxlib.luaL_checklstring(L, arg) as Uint8Array;
        if (!hasPrecision && s.length >= 100) { out.push(...s); continue; } // kept whole
        let body = Array.from(s);
        const nul = body.indexOf(0); // a C string ends at its first zero
        if (nul >= 0) body = body.slice(0, nul);
        if (hasPrecision) body = body.slice(0, precision);
        item = pad(body, spec);
        break;
      }
      default:
        return lauxlib.luaL_error(L, toLuaString("invalid option '%%%c' to 'format'"), conv ?? 0);
    }
    // luaL_addlstring(&b, buff, strlen(buff)): the item ends at a zero byte (a %c of 0).
    const nul = item.indexOf(0);
    out.push(...(nul >= 0 ? item.slice(0, nul) : item));
  }
  lua.lua_pushstring(L, Uint8Array.from(out));
  return 1;
}

/** 5.1's addquoted: " \ and newline escaped by a backslash, \r as \r, a zero as \000. */
function addQuoted(out: number[], s: Uint8Array): void {
  out.push(34);
  for (const c of s) {
    if (c === 34 || c === 92 || c === 10) out.push(92, c);
    else if (c === 13) out.push(92, 114);
    else if (c === 0) out.push(92, 48, 48, 48);
    else out.push(c);
  }
  out.push(34);
}

/** A C cast of a double to long long on x86-64: truncation; out of range or NaN is INT64_MIN. */
function toLongLong(n: number): bigint {
  return Number.isFinite(n) && Math.abs(n) < 2 ** 63 ? BigInt(Math.trunc(n)) : INT64_MIN;
}

function formatInteger(n: number, conv: number, spec: Spec): string {
  let v = toLongLong(n);
  let sign = "";
  if (conv === 100 || conv === 105) {
    if (v < 0n) { sign = "-"; v = -v; } else sign = signFlag(spec);
  } else v = BigInt.asUintN(64, v);
  let digits = v.toString(conv === 111 ? 8 : conv === 120 || conv === 88 ? 16 : 10);
  if (conv === 88) digits = digits.toUpperCase();
  if (spec.hasPrecision && spec.precision === 0 && v === 0n) digits = "";
  if (spec.precision > digits.length) digits = "0".repeat(spec.precision - digits.length) + digits;
  let prefix = sign;
  if (spec.flags.has(35)) {
    if (conv === 111 && !digits.startsWith("0")) digits = "0" + digits;
    if ((conv === 120 || conv === 88) && v !== 0n) prefix += conv === 120 ? "0x" : "0X";
  }
  return zeroPad(prefix, digits, spec, !spec.hasPrecision);
}

function formatFloat(n: number, conv: number, spec: Spec): string {
  const upper = conv === 69 || conv === 71;
  // A NaN's sign is not visible in JavaScript: 0/0, the NaN scripts make, is negative on x86-64.
  const sign = n < 0 || Object.is(n, -0) || Number.isNaN(n) ? "-" : signFlag(spec);
  if (!Number.isFinite(n)) {
    // glibc: inf / nan (0/0 is a negative NaN on x86-64, printed "-nan"); '0' does not pad them.
    const body = Number.isNaN(n) ? "nan" : "inf";
    return zeroPad(sign, upper ? body.toUpperCase() : body, spec, false);
  }
  const p = spec.hasPrecision ? spec.precision : 6;
  const alt = spec.flags.has(35);
  const x = Math.abs(n);
  let body: string;
  if (conv === 102) body = fixed(x, p, alt);
  else if (conv === 101 || conv === 69) body = exponential(x, p, alt);
  else {
    // %g: precision P (0 means 1); exponent X of %e at P-1; fixed when P > X >= -4.
    const P = p === 0 ? 1 : p;
    const X = exponentOf(x, P - 1);
    body = P > X && X >= -4 ? fixed(x, P - 1 - X, alt) : exponential(x, P - 1, alt);
    if (!alt && body.includes(".")) body = body.replace(/0+(?=e|$)/, "").replace(/\.(?=e|$)/, "");
  }
  return zeroPad(sign, upper ? body.toUpperCase() : body, spec, true);
}

function signFlag(spec: Spec): string {
  return spec.flags.has(43) ? "+" : spec.flags.has(32) ? " " : "";
}

/** prefix + body padded to the width: spaces left or right, or zeros after the prefix. */
function zeroPad(prefix: string, body: string, spec: Spec, zerosAllowed: boolean): string {
  const len = prefix.length + body.length;
  if (len >= spec.width) return prefix + body;
  if (spec.flags.has(45)) return prefix + body + " ".repeat(spec.width - len);
  if (spec.flags.has(48) && zerosAllowed) return prefix + "0".repeat(spec.width - len) + body;
  return " ".repeat(spec.width - len) + prefix + body;
}

function pad(body: number[], spec: Spec): number[] {
  if (body.length >= spec.width) return body;
  const spaces = new Array<number>(spec.width - body.length).fill(32);
  return spec.flags.has(45) ? [...body, ...spaces] : [...spaces, ...body];
}

function bytes(s: string): number[] {
  return Array.from(Buffer.from(s, "latin1"));
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 48 && c <= 57;
}

// --- Exact decimal printing of a double (x >= 0, finite), rounded half to even ---

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** x's exact value as decimal digits: intPart and fracPart (fracPart may be long). */
function exactDecimal(x: number): { int: string; frac: string } {
  f64[0] = x;
  const hi = u32[1], lo = u32[0];
  const expBits = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (expBits === 0) e2 = -1074;
  else { mant |= 1n << 52n; e2 = expBits - 1075; }
  if (e2 >= 0) return { int: (mant << BigInt(e2)).toString(), frac: "" };
  const k = -e2; // x = mant / 2^k = mant * 5^k / 10^k
  const s = (mant * 5n ** BigInt(k)).toString().padStart(k + 1, "0");
  return { int: s.slice(0, s.length - k), frac: s.slice(s.length - k).replace(/0+$/, "") };
}

/** digits (a decimal integer string) rounded to keep `keep` leading digits, half to even. */
function roundDigits(digits: string, keep: number): string {
  const head = digits.slice(0, keep);
  const rest = digits.slice(keep).replace(/0+$/, "");
  if (rest === "" || rest[0] < "5") return head;
  const tie = rest === "5";
  const last = head.length ? Number(head[head.length - 1]) : 0;
  if (tie && last % 2 === 0) return head;
  return (BigInt(head || "0") + 1n).toString().padStart(head.length, "0");
}

function fixed(x: number, p: number, alt: boolean): string {
  const { int, frac } = exactDecimal(x);
  const all = int + frac.padEnd(p, "0");
  let r = roundDigits(all, int.length + p);
  if (r.length < int.length + p) r = r.padStart(int.length + p, "0");
  const ip = r.slice(0, r.length - p).replace(/^0+(?=\d)/, "") || "0";
  const fp = r.slice(r.length - p);
  return p > 0 ? `${ip}.${fp}` : alt ? `${ip}.` : ip;
}

/** The decimal exponent %e shows for x at precision p (after rounding). */
function exponentOf(x: number, p: number): number {
  if (x === 0) return 0;
  return Number(exponential(x, p, false).split("e")[1]);
}

function exponential(x: number, p: number, alt: boolean): string {
  let mantissa: string;
  let e: number;
  if (x === 0) { mantissa = "0".repeat(p + 1); e = 0; } else {
    const { int, frac } = exactDecimal(x);
    const digits = (int + frac).replace(/^0+/, "");
    e = int !== "0" ? int.length - 1 : -(frac.length - frac.replace(/^0+/, "").length) - 1;
    mantissa = roundDigits(digits, p + 1).padEnd(p + 1, "0");
    if (mantissa.length > p + 1) { mantissa = mantissa.slice(0, p + 1); e++; } // 9.99 -> 10.0
  }
  const m = p > 0 ? `${mantissa[0]}.${mantissa.slice(1)}` : alt ? `${mantissa[0]}.` : mantissa[0];
  return `${m}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}
