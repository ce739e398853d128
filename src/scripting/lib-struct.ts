// Roberto Ierusalimschy's struct library ("struct"), as Redis bundles it (deps/lua/src/
// lua_struct.c): struct.pack(fmt, ...), struct.unpack(fmt, s [, pos]), struct.size(fmt), with
// the sizes and alignment of x86-64 Linux, where Redis runs (long and size_t 8 bytes, int 4,
// short 2, native little-endian, maximum alignment 8). Integers go through 64-bit arithmetic
// as the C code's `long` does; results are Lua 5.1 doubles.
import { lua, lauxlib, toLuaString, type LuaState } from "./fengari.js";

const MAXINTSIZE = 32;
const MAXALIGN = 8;
const BIG = 0;
const LITTLE = 1;

interface Header { endian: number; align: number }
interface Fmt { s: Uint8Array; i: number }

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

function getnum(L: LuaState, f: Fmt, df: number): number {
  if (f.i >= f.s.length || !isDigit(f.s[f.i])) return df;
  let a = 0;
  do {
    if (a > Math.floor(2147483647 / 10) || a * 10 > 2147483647 - (f.s[f.i] - 0x30)) lauxlib.luaL_error(L, toLuaString("integral size overflow"));
    a = a * 10 + (f.s[f.i++] - 0x30);
  } while (f.i < f.s.length && isDigit(f.s[f.i]));
  return a;
}

function optsize(L: LuaState, opt: string, f: Fmt): number {
  switch (opt) {
    case "B": case "b": return 1;
    case "H": case "h": return 2;
    case "L": case "l": return 8;
    case "T": return 8;
    case "f": return 4;
    case "d": return 8;
    case "x": return 1;
    case "c": return getnum(L, f, 1);
    case "i": case "I": {
      const sz = getnum(L, f, 4);
      if (sz > MAXINTSIZE) lauxlib.luaL_error(L, toLuaString(`integral size ${sz} is larger than limit of ${MAXINTSIZE}`));
      return sz;
    }
    default: return 0;
  }
}

function gettoalign(len: number, h: Header, opt: string, size: number): number {
  if (size === 0 || opt === "c") return 0;
  if (size > h.align) size = h.align;
  return (size - (len & (size - 1))) & (size - 1);
}

function controloptions(L: LuaState, opt: string, f: Fmt, h: Header): void {
  switch (opt) {
    case " ": return;
    case ">": h.endian = BIG; return;
    case "<": h.endian = LITTLE; return;
    case "!": {
      const a = getnum(L, f, MAXALIGN);
      if (!(a > 0 && (a & (a - 1)) === 0)) lauxlib.luaL_error(L, toLuaString(`alignment ${a} is not a power of 2`));
      h.align = a;
      return;
    }
    default:
      lauxlib.luaL_argerror(L, 1, toLuaString(`invalid format option '${opt}'`));
  }
}

/** (unsigned long) of a double as the C code casts it: through long for negatives. */
function toUint64(n: number): bigint {
  if (!Number.isFinite(n)) return n < 0 || Number.isNaN(n) ? 0x8000000000000000n : 0n;
  const t = BigInt(Math.trunc(n));
  return BigInt.asUintN(64, t);
}

function bytesOf(value: bigint, size: number, endian: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let k = 0; k < size; k++) {
    const byte = Number(value & 0xffn);
    value >>= 8n;
    out[endian === LITTLE ? k : size - 1 - k] = byte;
  }
  return out;
}

function pack(L: LuaState): number {
  const fmt: Fmt = { s: lauxlib.luaL_checklstring(L, 1), i: 0 };
  const h: Header = { endian: LITTLE, align: 1 };
  let arg = 2;
  let total = 0;
  const parts: Uint8Array[] = [];
  while (fmt.i < fmt.s.length) {
    const opt = String.fromCharCode(fmt.s[fmt.i++]);
    let size = optsize(L, opt, fmt);
    const toalign = gettoalign(total, h, opt, size);
    total += toalign;
    if (toalign > 0) parts.push(new Uint8Array(toalign));
    switch (opt) {
      case "b": case "B": case "h": case "H": case "l": case "L": case "T": case "i": case "I":
        parts.push(bytesOf(toUint64(lauxlib.luaL_checknumber(L, arg++)), size, h.endian));
        break;
      case "x":
        parts.push(new Uint8Array(1));
        break;
      case "f": case "d": {
        const b = new Uint8Array(size);
        const v = new DataView(b.buffer);
        const n = lauxlib.luaL_checknumber(L, arg++);
        if (opt === "f") v.setFloat32(0, n, h.endian === LITTLE);
        else v.setFloat64(0, n, h.endian === LITTLE);
        parts.push(b);
        break;
      }
      case "c": case "s": {
        const s: Uint8Array = lauxlib.luaL_checklstring(L, arg++);
        if (size === 0) size = s.length;
        lauxlib.luaL_argcheck(L, s.length >= size, arg, toLuaString("string too short"));
        parts.push(s.subarray(0, size));
        if (opt === "s") {
          parts.push(new Uint8Array(1));
          size++;
        }
        break;
      }
      default: controloptions(L, opt, fmt, h);
    }
    total += size;
  }
  const out = Buffer.concat(parts);
  lua.lua_pushlstring(L, new Uint8Array(out), out.length);
  return 1;
}

function getinteger(data: Uint8Array, pos: number, endian: number, signed: boolean, size: number): number {
  let l = 0n;
  for (let k = 0; k < size; k++) {
    const byte = BigInt(data[pos + (endian === BIG ? k : size - 1 - k)]);
    l = BigInt.asUintN(64, (l << 8n) | byte);
  }
  if (!signed) return Number(l);
  // The C code's mask: ~0UL << (size*8 - 1), the shift count taken mod 64 as x86 does.
  const mask = BigInt.asUintN(64, 0xffffffffffffffffn << BigInt((size * 8 - 1) & 63));
  if (l & mask) l |= mask;
  return Number(BigInt.asIntN(64, l));
}

function unpack(L: LuaState): number {
  const fmt: Fmt = { s: lauxlib.luaL_checklstring(L, 1), i: 0 };
  const data: Uint8Array = lauxlib.luaL_checklstring(L, 2);
  const ld = data.length;
  let pos = lua.lua_isnoneornil(L, 3) ? 1 : Math.trunc(lauxlib.luaL_checknumber(L, 3));
  lauxlib.luaL_argcheck(L, pos > 0, 3, toLuaString("offset must be 1 or greater"));
  pos--;
  let n = 0;
  const h: Header = { endian: LITTLE, align: 1 };
  while (fmt.i < fmt.s.length) {
    const opt = String.fromCharCode(fmt.s[fmt.i++]);
    let size = optsize(L, opt, fmt);
    pos += gettoalign(pos, h, opt, size);
    lauxlib.luaL_argcheck(L, size <= ld && pos <= ld - size, 2, toLuaString("data string too short"));
    lauxlib.luaL_checkstack(L, 2, toLuaString("too many results"));
    switch (opt) {
      case "b": case "B": case "h": case "H": case "l": case "L": case "T": case "i": case "I":
        lua.lua_pushnumber(L, getinteger(data, pos, h.endian, opt === opt.toLowerCase(), size));
        n++;
        break;
      case "x":
        break;
      case "f": case "d": {
        const v = new DataView(data.buffer, data.byteOffset + pos, size);
        lua.lua_pushnumber(L, opt === "f" ? v.getFloat32(0, h.endian === LITTLE) : v.getFloat64(0, h.endian === LITTLE));
        n++;
        break;
      }
      case "c": {
        if (size === 0) {
          if (n === 0 || !lua.lua_isnumber(L, -1)) lauxlib.luaL_error(L, toLuaString("format 'c0' needs a previous size"));
          size = Math.trunc(lua.lua_tonumber(L, -1));
          lua.lua_pop(L, 1);
          n--;
          lauxlib.luaL_argcheck(L, size <= ld && pos <= ld - size, 2, toLuaString("data string too short"));
        }
        lua.lua_pushlstring(L, data.subarray(pos, pos + size), size);
        n++;
        break;
      }
      case "s": {
        const e = data.indexOf(0, pos);
        if (e < 0) lauxlib.luaL_error(L, toLuaString("unfinished string in data"));
        size = e - pos + 1;
        lua.lua_pushlstring(L, data.subarray(pos, e), size - 1);
        n++;
        break;
      }
      default: controloptions(L, opt, fmt, h);
    }
    pos += size;
  }
  lua.lua_pushnumber(L, pos + 1);
  return n + 1;
}

function size(L: LuaState): number {
  const fmt: Fmt = { s: lauxlib.luaL_checklstring(L, 1), i: 0 };
  const h: Header = { endian: LITTLE, align: 1 };
  let pos = 0;
  while (fmt.i < fmt.s.length) {
    const opt = String.fromCharCode(fmt.s[fmt.i++]);
    const sz = optsize(L, opt, fmt);
    pos += gettoalign(pos, h, opt, sz);
    if (opt === "s") lauxlib.luaL_argerror(L, 1, toLuaString("option 's' has no fixed size"));
    else if (opt === "c" && sz === 0) lauxlib.luaL_argerror(L, 1, toLuaString("option 'c0' has no fixed size"));
    if (!/^[A-Za-z0-9]$/.test(opt)) controloptions(L, opt, fmt, h);
    pos += sz;
  }
  lua.lua_pushnumber(L, pos);
  return 1;
}

export function openStruct(L: LuaState): void {
  lua.lua_createtable(L, 0, 3);
  for (const [name, f] of [["pack", pack], ["unpack", unpack], ["size", size]] as const) {
    lua.lua_pushjsfunction(L, f);
    lua.lua_setfield(L, -2, toLuaString(name));
  }
  lua.lua_setglobal(L, toLuaString("struct"));
}
