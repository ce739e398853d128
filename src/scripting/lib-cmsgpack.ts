// lua-cmsgpack 0.4.0 ("cmsgpack"), as Redis bundles it (deps/lua/src/lua_cmsgpack.c, built
// against Lua 5.1): MessagePack pack/unpack/unpack_one/unpack_limit. Ported rule for rule:
// a number with an int64 value packs as the smallest integer format, others as float32 when
// that is exact, else float64; strings use fixstr/str8/str16/str32; a table whose keys are
// exactly 1..n packs as an array, anything else as a map; tables nested deeper than 16 pack
// as nil (so circular references terminate); other types pack as nil. Unpacked numbers are
// doubles, as everything is in Lua 5.1.
import { lua, lauxlib, toLuaString, type LuaState } from "./fengari.js";

const MAX_NESTING = 16;

/** A growable byte buffer (mp_buf). */
class MpBuf {
  b = new Uint8Array(256);
  len = 0;
  private view = new DataView(this.b.buffer);
  need(n: number): void {
    if (this.len + n <= this.b.length) return;
    let cap = this.b.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.b.subarray(0, this.len));
    this.b = nb;
    this.view = new DataView(nb.buffer);
  }
  byte(v: number): void { this.need(1); this.b[this.len++] = v & 0xff; }
  u16(v: number): void { this.need(2); this.view.setUint16(this.len, v); this.len += 2; }
  u32(v: number): void { this.need(4); this.view.setUint32(this.len, v >>> 0); this.len += 4; }
  i64(v: bigint): void { this.need(8); this.view.setBigInt64(this.len, v); this.len += 8; }
  f32(v: number): void { this.need(4); this.view.setFloat32(this.len, v); this.len += 4; }
  f64(v: number): void { this.need(8); this.view.setFloat64(this.len, v); this.len += 8; }
  bytes(s: Uint8Array): void { this.need(s.length); this.b.set(s, this.len); this.len += s.length; }
}

function isInt64Equivalent(n: number): boolean {
  return Number.isFinite(n) && Number.isInteger(n) && n >= -9223372036854775808 && n < 9223372036854775808;
}

function encodeInt(buf: MpBuf, n: number): void {
  if (n >= 0) {
    if (n <= 127) buf.byte(n);
    else if (n <= 0xff) { buf.byte(0xcc); buf.byte(n); }
    else if (n <= 0xffff) { buf.byte(0xcd); buf.u16(n); }
    else if (n <= 0xffffffff) { buf.byte(0xce); buf.u32(n); }
    else { buf.byte(0xcf); buf.i64(BigInt(n)); }
  } else {
    if (n >= -32) buf.byte(n);
    else if (n >= -128) { buf.byte(0xd0); buf.byte(n); }
    else if (n >= -32768) { buf.byte(0xd1); buf.u16(n & 0xffff); }
    else if (n >= -2147483648) { buf.byte(0xd2); buf.u32(n); }
    else { buf.byte(0xd3); buf.i64(BigInt(n)); }
  }
}

function encodeDouble(buf: MpBuf, d: number): void {
  if (Math.fround(d) === d) {
    buf.byte(0xca);
    buf.f32(d);
  } else {
    buf.byte(0xcb);
    buf.f64(d);
  }
}

function encodeBytes(buf: MpBuf, s: Uint8Array): void {
  const len = s.length;
  if (len < 32) buf.byte(0xa0 | len);
  else if (len <= 0xff) { buf.byte(0xd9); buf.byte(len); }
  else if (len <= 0xffff) { buf.byte(0xda); buf.u16(len); }
  else { buf.byte(0xdb); buf.u32(len); }
  buf.bytes(s);
}

function encodeHeader(buf: MpBuf, n: number, fix: number, b16: number, b32: number): void {
  if (n <= 15) buf.byte(fix | n);
  else if (n <= 65535) { buf.byte(b16); buf.u16(n); }
  else { buf.byte(b32); buf.u32(n); }
}

/** table_is_an_array: the keys are numbers, all integers >= 1, and max == count. */
function tableIsAnArray(L: LuaState): boolean {
  let count = 0, max = 0;
  const top = lua.lua_gettop(L);
  lua.lua_pushnil(L);
  while (lua.lua_next(L, -2)) {
    lua.lua_pop(L, 1);
    const n = lua.lua_type(L, -1) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, -1) : 0;
    if (lua.lua_type(L, -1) !== lua.LUA_TNUMBER || n <= 0 || !Number.isInteger(n) || n > 2147483647) {
      lua.lua_settop(L, top);
      return false;
    }
    if (n > max) max = n;
    count++;
  }
  lua.lua_settop(L, top);
  return max === count;
}

/** mp_encode_lua_type: encodes the value on top of the stack and pops it. */
function encodeLuaType(L: LuaState, buf: MpBuf, level: number): void {
  let t = lua.lua_type(L, -1);
  if (t === lua.LUA_TTABLE && level === MAX_NESTING) t = lua.LUA_TNIL;
  switch (t) {
    case lua.LUA_TSTRING:
      encodeBytes(buf, lua.lua_tolstring(L, -1));
      break;
    case lua.LUA_TBOOLEAN:
      buf.byte(lua.lua_toboolean(L, -1) ? 0xc3 : 0xc2);
      break;
    case lua.LUA_TNUMBER: {
      const n = lua.lua_tonumber(L, -1);
      if (isInt64Equivalent(n)) encodeInt(buf, n === 0 ? 0 : n);
      else encodeDouble(buf, n);
      break;
    }
    case lua.LUA_TTABLE:
      lauxlib.luaL_checkstack(L, 3, toLuaString("in function mp_encode_lua_table"));
      if (tableIsAnArray(L)) {
        const len = lua.lua_rawlen(L, -1);
        encodeHeader(buf, len, 0x90, 0xdc, 0xdd);
        for (let j = 1; j <= len; j++) {
          lua.lua_pushnumber(L, j);
          lua.lua_gettable(L, -2);
          encodeLuaType(L, buf, level + 1);
        }
      } else {
        let len = 0;
        lua.lua_pushnil(L);
        while (lua.lua_next(L, -2)) { lua.lua_pop(L, 1); len++; }
        encodeHeader(buf, len, 0x80, 0xde, 0xdf);
        lua.lua_pushnil(L);
        while (lua.lua_next(L, -2)) {
          lua.lua_pushvalue(L, -2);
          encodeLuaType(L, buf, level + 1); // key
          encodeLuaType(L, buf, level + 1); // value
        }
      }
      break;
    default:
      buf.byte(0xc0);
  }
  lua.lua_pop(L, 1);
}

function pack(L: LuaState): number {
  const nargs = lua.lua_gettop(L);
  if (nargs === 0) return lauxlib.luaL_argerror(L, 0, toLuaString("MessagePack pack needs input."));
  const buf = new MpBuf();
  for (let i = 1; i <= nargs; i++) {
    lauxlib.luaL_checkstack(L, 1, toLuaString("in function mp_check"));
    lua.lua_pushvalue(L, i);
    encodeLuaType(L, buf, 0);
  }
  lua.lua_pushlstring(L, buf.b.subarray(0, buf.len), buf.len);
  return 1;
}

const EOF = 1;
const BADFMT = 2;

/** mp_cur: a read position over the input; decode errors throw EOF or BADFMT. */
class MpCur {
  private view: DataView;
  constructor(readonly s: Uint8Array, public p: number) {
    this.view = new DataView(s.buffer, s.byteOffset, s.length);
  }
  get left(): number { return this.s.length - this.p; }
  need(n: number): void { if (this.left < n) throw EOF; }
  u8(at: number): number { return this.s[this.p + at]; }
  u16(at: number): number { return this.view.getUint16(this.p + at); }
  u32(at: number): number { return this.view.getUint32(this.p + at); }
  i8(at: number): number { return this.view.getInt8(this.p + at); }
  i16(at: number): number { return this.view.getInt16(this.p + at); }
  i32(at: number): number { return this.view.getInt32(this.p + at); }
  u64(at: number): number { return Number(this.view.getBigUint64(this.p + at)); }
  i64(at: number): number { return Number(this.view.getBigInt64(this.p + at)); }
  f32(at: number): number { return this.view.getFloat32(this.p + at); }
  f64(at: number): number { return this.view.getFloat64(this.p + at); }
}

function pushString(L: LuaState, c: MpCur, hdr: number, len: number): void {
  c.need(hdr + len);
  lua.lua_pushlstring(L, c.s.subarray(c.p + hdr, c.p + hdr + len), len);
  c.p += hdr + len;
}

function decodeArray(L: LuaState, c: MpCur, len: number): void {
  lua.lua_createtable(L, 0, 0);
  lauxlib.luaL_checkstack(L, 2, toLuaString("in function mp_decode_to_lua_array"));
  for (let i = 1; i <= len; i++) {
    lua.lua_pushnumber(L, i);
    decodeLuaType(L, c);
    lua.lua_settable(L, -3);
  }
}

function decodeHash(L: LuaState, c: MpCur, len: number): void {
  lua.lua_createtable(L, 0, 0);
  lauxlib.luaL_checkstack(L, 2, toLuaString("in function mp_decode_to_lua_hash"));
  for (let i = 0; i < len; i++) {
    decodeLuaType(L, c);
    decodeLuaType(L, c);
    lua.lua_settable(L, -3);
  }
}

/** mp_decode_to_lua_type: pushes the value at the cursor. */
function decodeLuaType(L: LuaState, c: MpCur): void {
  c.need(1);
  lauxlib.luaL_checkstack(L, 1, toLuaString("too many return values at once; use unpack_one or unpack_limit instead."));
  const b = c.u8(0);
  const num = (n: number, size: number) => { c.need(size); lua.lua_pushnumber(L, n); c.p += size; };
  switch (b) {
    case 0xcc: c.need(2); return num(c.u8(1), 2);
    case 0xd0: c.need(2); return num(c.i8(1), 2);
    case 0xcd: c.need(3); return num(c.u16(1), 3);
    case 0xd1: c.need(3); return num(c.i16(1), 3);
    case 0xce: c.need(5); return num(c.u32(1), 5);
    case 0xd2: c.need(5); return num(c.i32(1), 5);
    case 0xcf: c.need(9); return num(c.u64(1), 9);
    case 0xd3: c.need(9); return num(c.i64(1), 9);
    case 0xc0: lua.lua_pushnil(L); c.p += 1; return;
    case 0xc3: lua.lua_pushboolean(L, true); c.p += 1; return;
    case 0xc2: lua.lua_pushboolean(L, false); c.p += 1; return;
    case 0xca: c.need(5); return num(c.f32(1), 5);
    case 0xcb: c.need(9); return num(c.f64(1), 9);
    case 0xd9: c.need(2); return pushString(L, c, 2, c.u8(1));
    case 0xda: c.need(3); return pushString(L, c, 3, c.u16(1));
    case 0xdb: c.need(5); return pushString(L, c, 5, c.u32(1));
    case 0xdc: { c.need(3); const l = c.u16(1); c.p += 3; return decodeArray(L, c, l); }
    case 0xdd: { c.need(5); const l = c.u32(1); c.p += 5; return decodeArray(L, c, l); }
    case 0xde: { c.need(3); const l = c.u16(1); c.p += 3; return decodeHash(L, c, l); }
    case 0xdf: { c.need(5); const l = c.u32(1); c.p += 5; return decodeHash(L, c, l); }
  }
  if ((b & 0x80) === 0) return num(b, 1);
  if ((b & 0xe0) === 0xe0) return num(c.i8(0), 1);
  if ((b & 0xe0) === 0xa0) return pushString(L, c, 1, b & 0x1f);
  if ((b & 0xf0) === 0x90) { c.p += 1; return decodeArray(L, c, b & 0xf); }
  if ((b & 0xf0) === 0x80) { c.p += 1; return decodeHash(L, c, b & 0xf); }
  throw BADFMT;
}

/** mp_unpack_full: limit and offset 0 decode everything; otherwise the next offset (or -1) comes first. */
function unpackFull(L: LuaState, limit: number, offset: number): number {
  const s: Uint8Array = lauxlib.luaL_checklstring(L, 1);
  const len = s.length;
  const decodeAll = limit === 0 && offset === 0;
  if (offset < 0 || limit < 0) {
    return lauxlib.luaL_error(L, toLuaString(`Invalid request to unpack with offset of ${offset} and limit of ${len}.`));
  } else if (offset > len) {
    return lauxlib.luaL_error(L, toLuaString(`Start offset ${offset} greater than input length ${len}.`));
  }
  if (decodeAll) limit = 2147483647;
  const c = new MpCur(s, offset);
  let cnt = 0;
  try {
    for (; c.left > 0 && cnt < limit; cnt++) decodeLuaType(L, c);
  } catch (e) {
    if (e === EOF) return lauxlib.luaL_error(L, toLuaString("Missing bytes in input."));
    if (e === BADFMT) return lauxlib.luaL_error(L, toLuaString("Bad data format in input."));
    throw e;
  }
  if (!decodeAll) {
    lauxlib.luaL_checkstack(L, 1, toLuaString("in function mp_unpack_full"));
    lua.lua_pushnumber(L, c.left === 0 ? -1 : c.p);
    lua.lua_insert(L, 2);
    cnt += 1;
  }
  return cnt;
}

/** luaL_optinteger as Lua 5.1 has it: any number, truncated. */
function optInteger(L: LuaState, i: number, def: number): number {
  return lua.lua_isnoneornil(L, i) ? def : Math.trunc(lauxlib.luaL_checknumber(L, i));
}

export function openCmsgpack(L: LuaState): void {
  const fns: Record<string, (L: LuaState) => number> = {
    pack,
    unpack: (L) => unpackFull(L, 0, 0),
    unpack_one: (L) => {
      const offset = optInteger(L, 2, 0);
      lua.lua_settop(L, 1);
      return unpackFull(L, 1, offset);
    },
    unpack_limit: (L) => {
      const limit = Math.trunc(lauxlib.luaL_checknumber(L, 2));
      const offset = optInteger(L, 3, 0);
      lua.lua_settop(L, 1);
      return unpackFull(L, limit, offset);
    },
  };
  lua.lua_createtable(L, 0, 8);
  for (const [name, f] of Object.entries(fns)) {
    lua.lua_pushjsfunction(L, f);
    lua.lua_setfield(L, -2, toLuaString(name));
  }
  const meta: [string, string][] = [
    ["_NAME", "cmsgpack"], ["_VERSION", "lua-cmsgpack 0.4.0"],
    ["_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo"], ["_DESCRIPTION", "MessagePack C implementation for Lua"],
  ];
  for (const [k, v] of meta) {
    lua.lua_pushstring(L, toLuaString(v));
    lua.lua_setfield(L, -2, toLuaString(k));
  }
  lua.lua_setglobal(L, toLuaString("cmsgpack"));
}
