// fengari (Lua 5.3 in JS) bent into Redis's Lua 5.1: the one place that loads it and patches it.
//
// Redis runs Lua 5.1, where every number is a double. fengari has 32-bit integers, so
// `for i=1,1000000 do s=s+i end` would wrap. Every value fengari would tag as an integer is
// tagged as a float instead (TValue's `type` becomes an accessor that turns LUA_TNUMINT into
// LUA_TNUMFLT on the way in): literals, tonumber, #t, string.len, library results, all
// doubles, so arithmetic is 5.1's. Tables hash integral floats and integers alike, so
// t[1] and t[1.0] stay one slot. With LUA_COMPAT_FLOATSTRING integral floats print as `3`,
// and tostring/`..` use C's "%.14g" like Lua 5.1 (`9.007199254741e+15`, `inf`, `-nan`).
//
// Redis 7.0's Lua also has read-only tables (the globals, redis, cjson, string... after
// start-up): a write raises "Attempt to modify a readonly table". fengari's every table
// write goes through ltable.luaH_setfrom, looked up on the module at call time, so a wrapper
// there checks a `readonly` mark we put on the Table object.
import { createRequire } from "node:module";
import { installLua51TableOrder } from "./table-order.js";
import { rewriteSlotDeletes } from "./fengari-stack-slots.js";

const require = createRequire(import.meta.url);

/* eslint-disable @typescript-eslint/no-explicit-any */
export type LuaState = any;

/** "|" and the bytes as latin1: a Lua string's key in fengari's tables (see load()). */
function stringKey(bytes: Uint8Array): string {
  if (bytes.length > 32) return "|" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1");
  let s = "|";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

function load() {
  // Read by fengari's luaconf when it first loads.
  const conf = process.env.FENGARICONF ? JSON.parse(process.env.FENGARICONF) : {};
  process.env.FENGARICONF = JSON.stringify({ ...conf, LUA_COMPAT_FLOATSTRING: true });
  const base = require.resolve("fengari").replace(/fengari\.js$/, "");

  // A string's table key, which lvm's l_strcmp also uses to order strings. fengari's is "|"
  // and each byte in hex without padding, so "\1#" and "\18\3" were one key ("|123": one
  // table slot) and "\2" < "\16" was false ("|2" > "|10"), as was "a\tb" < "a b". One latin1
  // char per byte is one-to-one and orders like the bytes (Lua 5.1 compares with strcoll,
  // byte order in Redis's C locale). Patched before fengari loads: ltable, llex and lvm copy
  // luaS_hashlongstr out of the module when they load.
  // Every fengari file compiles with its stack slots emptied by a store (fengari-stack-slots.ts).
  const loaded = rewriteSlotDeletes(base);
  const lstring = require(base + "lstring.js");
  lstring.luaS_hash = stringKey;
  lstring.luaS_hashlongstr = (ts: { hash: string | null; realstring: Uint8Array }) =>
    ts.hash ?? (ts.hash = stringKey(ts.realstring));
  // `goto` is a plain name in Lua 5.1 (`local goto = 1` compiles in Redis), a reserved word
  // in 5.3. llex builds its reserved-word index from luaS_hash once, when it loads (the only
  // module that takes luaS_hash itself): give "goto" a key no source text hashes to while
  // fengari loads, so the lexer reads it as a name.
  const GOTO = [0x67, 0x6f, 0x74, 0x6f];
  lstring.luaS_hash = (bytes: Uint8Array) =>
    bytes.length === 4 && GOTO.every((b, i) => bytes[i] === b) ? "\0goto is not reserved in Lua 5.1" : stringKey(bytes);
  let fengari;
  try {
    fengari = require("fengari");
  } finally {
    loaded();
  }
  lstring.luaS_hash = stringKey;
  const lobject = require(base + "lobject.js");
  const ltable = require(base + "ltable.js");
  const ldebug = require(base + "ldebug.js");
  const defs = require(base + "defs.js");
  const { LUA_TNUMINT, LUA_TNUMFLT } = defs.constant_types;

  Object.defineProperty(lobject.TValue.prototype, "type", {
    get() { return this._t; },
    set(v: number) { this._t = v === LUA_TNUMINT ? LUA_TNUMFLT : v; },
    configurable: true,
  });

  // Numerals: 5.3 reads a hex numeral without a point or exponent as an integer that wraps
  // (32 bits in fengari: 0x100000000 is 0), where 5.1 reads it with strtod into a double
  // (4294967296; BullMQ's priority score is `priority * 0x100000000 + counter`). Every
  // numeral goes through luaO_str2num, called through the module object: the lexer's
  // literals, tonumber, and strings used in arithmetic.
  const str2num = lobject.luaO_str2num;
  lobject.luaO_str2num = (s: Uint8Array, o: any) => {
    const end = str2num(s, o);
    if (end !== 0) {
      const hex = hexInteger(s);
      if (hex !== null) o.setfltvalue(hex);
    }
    return end;
  };

  lobject.luaO_tostring = (L: LuaState, obj: any) => {
    obj.setsvalue(lstring.luaS_bless(L, fengari.to_luastring(formatG14(obj.value))));
  };

  // Lua 5.1's wording of type errors: "attempt to call field 'f' (a nil value)", where 5.3
  // says "attempt to call a nil value (field 'f')". Every such message goes through
  // luaO_pushvfstring (called through the module object), so it is reworded there.
  const pushvfstring = lobject.luaO_pushvfstring;
  const typeErrorFmt = "attempt to %s a %s value%s";
  const typeErrorFmt51 = fengari.to_luastring("attempt to %s %s '%s' (a %s value)");
  const text = (v: any) => (typeof v === "string" ? v : Buffer.from(v).toString("latin1"));
  lobject.luaO_pushvfstring = (L: LuaState, fmt: any, argp: any[]) => {
    if (argp.length === 3 && fmt.length === typeErrorFmt.length && text(fmt) === typeErrorFmt) {
      const m = /^ \((\w+) '([^]*)'\)$/.exec(text(argp[2]));
      if (m) return pushvfstring(L, typeErrorFmt51, [argp[0], fengari.to_luastring(m[1]), fengari.to_luastring(m[2]), argp[1]]);
    }
    return pushvfstring(L, fmt, argp);
  };

  const readonlyMsg = fengari.to_luastring("Attempt to modify a readonly table");
  const setfrom = ltable.luaH_setfrom;
  ltable.luaH_setfrom = (L: LuaState, t: any, key: any, value: any) => {
    if (t.readonly) ldebug.luaG_runerror(L, readonlyMsg);
    return setfrom(L, t, key, value);
  };

  // next/pairs/lua_next walk a table in Lua 5.1's order, not insertion order, and #t finds
  // the border 5.1 finds (table-order.ts).
  installLua51TableOrder({ ltable, lstring, lstate: require(base + "lstate.js"), lopcodes: require(base + "lopcodes.js"), defs });

  return { fengari, lobject, ltable, ldebug, defs, lstring };
}

// fengari is loaded on first use (the first Lua state: EVAL, SCRIPT LOAD, FUNCTION LOAD...,
// or a script read from the AOF/RDB), not at start-up: parsing and compiling it costs ~8 MiB
// of RSS (V8 heap, code, the node binary's pages it touches) that a server which never runs
// a script does not need. The bindings below are live (ES modules), so the scripting files
// that use them inside their functions see the loaded values.
export let F: ReturnType<typeof load>;
export let lua: any;
export let lauxlib: any;
export let lualib: any;
export let toLuaString: (s: string) => Uint8Array;

/** Loads and patches fengari once; every Lua state is created after calling this. */
export function loadFengari(): void {
  if (F) return;
  F = load();
  lua = F.fengari.lua;
  lauxlib = F.fengari.lauxlib;
  lualib = F.fengari.lualib;
  toLuaString = F.fengari.to_luastring;
}

/**
 * lua_pushlstring(L, bytes, bytes.length) for the host's hot paths (KEYS/ARGV, redis.call
 * replies): the same new Lua string, but copied with `new Uint8Array`, where fengari's
 * luaS_new uses Uint8Array.from (about 3x slower for a short string). The stack check is
 * lua_pushlstring's own (it throws on overflow).
 */
export function pushLuaBytes(L: LuaState, bytes: Uint8Array): void {
  if (bytes.length === 0 || L.top >= L.ci.top) {
    lua.lua_pushlstring(L, bytes, bytes.length);
    return;
  }
  F.lobject.pushsvalue2s(L, F.lstring.luaS_bless(L, new Uint8Array(bytes)));
}

/**
 * pushLuaBytes of buf[start, end) (a redis.call reply's bulk string) without a Buffer view of
 * it first: a view is a FastBuffer, whose construction costs about as much as the copy.
 */
export function pushLuaSlice(L: LuaState, buf: Uint8Array, start: number, end: number): void {
  const n = end - start;
  if (n === 0 || L.top >= L.ci.top) {
    lua.lua_pushlstring(L, buf.subarray(start, end), n);
    return;
  }
  const bytes = new Uint8Array(n);
  if (n <= 64) for (let i = 0; i < n; i++) bytes[i] = buf[start + i];
  else bytes.set(new Uint8Array(buf.buffer, buf.byteOffset + start, n));
  F.lobject.pushsvalue2s(L, F.lstring.luaS_bless(L, bytes));
}

/**
 * A name's Lua string (a fengari TString), made once: fengari's lua_setfield/lua_pushstring
 * make a new TString per call (luaS_new copies the bytes with Uint8Array.from) and hash it
 * again on every table access. A TString is immutable and belongs to no state, and its hash
 * is cached on it, so one object serves every state and every call.
 */
const nameStrings = new Map<string, unknown>();

/** Pushes the Lua string `name` (a constant field or global name) from nameStrings. */
export function pushName(L: LuaState, name: string): void {
  let ts = nameStrings.get(name);
  if (ts === undefined) nameStrings.set(name, (ts = F.lstring.luaS_new(L, toLuaString(name))));
  if (L.top >= L.ci.top) lua.lua_checkstack(L, 1); // (as lua_pushstring's own check would throw)
  F.lobject.pushsvalue2s(L, ts);
}

/**
 * t[name] = v, raw (no __newindex: for tables the host made, and the globals, which have
 * none), where t is at idx and v on top; pops v. lua_setfield without its per-call TString.
 * A read-only table still refuses (luaH_setfrom's check, above).
 */
export function setNameField(L: LuaState, idx: number, name: string): void {
  const t = idx < 0 && idx > lua.LUA_REGISTRYINDEX ? lua.lua_gettop(L) + idx + 1 : idx;
  pushName(L, name);
  lua.lua_insert(L, -2);
  lua.lua_rawset(L, t);
}

/** Pushes t[name], raw, where t is at idx; returns its type. lua_rawget of a pushName. */
export function getNameField(L: LuaState, idx: number, name: string): number {
  const t = idx < 0 && idx > lua.LUA_REGISTRYINDEX ? lua.lua_gettop(L) + idx + 1 : idx;
  pushName(L, name);
  return lua.lua_rawget(L, t);
}

/** C's printf("%.14g") (Lua 5.1's LUA_NUMBER_FMT) for a double. */
export function formatG14(n: number): string {
  if (Number.isNaN(n)) return signBit(n) ? "-nan" : "nan";
  if (n === Infinity) return "inf";
  if (n === -Infinity) return "-inf";
  if (n === 0) return Object.is(n, -0) ? "-0" : "0";
  // An integer of at most 14 digits is exact and needs no exponent: %.14g prints it as String() does.
  if (Number.isInteger(n) && Math.abs(n) < 1e14) return String(n);
  // C rounds the exact binary value, ties to even; JS rounds ties up. Ties need an exact
  // decimal expansion: integers are the case that matters (1.2345678901234e+14).
  const exp = Number.isInteger(n) ? intToExponential(n, 13) : n.toExponential(13);
  const e = Number(exp.slice(exp.indexOf("e") + 1));
  if (e < -4 || e >= 14) {
    let [m, x] = exp.split("e");
    if (m.includes(".")) m = m.replace(/0+$/, "").replace(/\.$/, "");
    const xe = Number(x);
    return m + "e" + (xe < 0 ? "-" : "+") + String(Math.abs(xe)).padStart(2, "0");
  }
  let s = n.toFixed(Math.max(0, 13 - e));
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s;
}

/** n.toExponential(digits) for an integral double, rounding its exact value half to even. */
function intToExponential(n: number, digits: number): string {
  const neg = n < 0;
  const s = BigInt(Math.abs(n)).toString();
  let keep = BigInt(s.slice(0, digits + 1));
  const rest = s.slice(digits + 1);
  const half = "5" + "0".repeat(Math.max(0, rest.length - 1));
  if (rest.length > 0 && (rest > half || (rest === half && keep % 2n === 1n))) keep += 1n;
  let e = s.length - 1;
  let k = keep.toString();
  if (k.length > digits + 1) { k = k.slice(0, digits + 1); e++; }
  return (neg ? "-" : "") + k[0] + (digits > 0 ? "." + k.slice(1) : "") + "e+" + e;
}

const f64 = new Float64Array(1);
const u8 = new Uint8Array(f64.buffer);
function signBit(n: number): boolean {
  f64[0] = n;
  return (u8[7] & 0x80) !== 0;
}

/** Marks a table (a fengari Table object) read-only, or writable again. */
export function setReadonly(table: any, on: boolean): void {
  table.readonly = on;
}

/** The Table object at a stack index (for the read-only mark). */
export function tableAt(L: LuaState, idx: number): any {
  return lua.lua_topointer(L, idx);
}

/**
 * The value of a numeral `[space][-+]0x<hex digits>[space]` as Redis's Lua 5.1 reads it (glibc's
 * strtod: a double, 0xffffffffffffffffff is 4.7223664828696e+21), or null for any other numeral.
 */
function hexInteger(s: Uint8Array): number | null {
  let i = 0;
  const n = s.length;
  const space = (c: number) => c === 32 || (c >= 9 && c <= 13);
  while (i < n && space(s[i])) i++;
  const neg = s[i] === 45;
  if (s[i] === 45 || s[i] === 43) i++;
  if (s[i] !== 48 || (s[i + 1] !== 120 && s[i + 1] !== 88)) return null;
  i += 2;
  let v = 0;
  let digits = 0;
  for (; i < n; i++, digits++) {
    const c = s[i];
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) break;
    v = v * 16 + d;
  }
  while (i < n && space(s[i])) i++;
  if (digits === 0 || (i < n && s[i] !== 0)) return null;
  return neg ? -v : v;
}

