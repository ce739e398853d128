// LuaBitOp ("bit"), as Redis bundles it: 32-bit operations on numbers, results signed.
import { lua, lauxlib, toLuaString, type LuaState } from "./fengari.js";

const f64 = new Float64Array(1);
const i32 = new Int32Array(f64.buffer);

/** LuaBitOp's barg: the number's low 32 bits after rounding (the 2^52+2^51 trick). */
function barg(L: LuaState, i: number): number {
  f64[0] = lauxlib.luaL_checknumber(L, i) + 6755399441055744;
  return i32[0];
}

export function openBit(L: LuaState): void {
  const fns: Record<string, (L: LuaState) => number> = {
    tobit: (L) => ret(L, barg(L, 1)),
    bnot: (L) => ret(L, ~barg(L, 1)),
    band: (L) => fold(L, (a, b) => a & b),
    bor: (L) => fold(L, (a, b) => a | b),
    bxor: (L) => fold(L, (a, b) => a ^ b),
    lshift: (L) => ret(L, barg(L, 1) << (barg(L, 2) & 31)),
    rshift: (L) => ret(L, (barg(L, 1) >>> (barg(L, 2) & 31)) | 0),
    arshift: (L) => ret(L, barg(L, 1) >> (barg(L, 2) & 31)),
    rol: (L) => { const b = barg(L, 1), n = barg(L, 2) & 31; return ret(L, (b << n) | (b >>> (32 - n))); },
    ror: (L) => { const b = barg(L, 1), n = barg(L, 2) & 31; return ret(L, (b >>> n) | (b << (32 - n))); },
    bswap: (L) => { const b = barg(L, 1); return ret(L, (b >>> 24) | ((b >> 8) & 0xff00) | ((b & 0xff00) << 8) | (b << 24)); },
    tohex: (L) => {
      let b = barg(L, 1);
      let n = lua.lua_isnoneornil(L, 2) ? 8 : barg(L, 2);
      let hex = "0123456789abcdef";
      if (n < 0) { n = -n; hex = "0123456789ABCDEF"; }
      if (n > 8) n = 8;
      let s = "";
      for (let i = 0; i < n; i++) { s = hex[b & 15] + s; b >>>= 4; }
      lua.lua_pushstring(L, toLuaString(s));
      return 1;
    },
  };
  lua.lua_createtable(L, 0, Object.keys(fns).length);
  for (const [name, f] of Object.entries(fns)) {
    lua.lua_pushjsfunction(L, f);
    lua.lua_setfield(L, -2, toLuaString(name));
  }
  lua.lua_setglobal(L, toLuaString("bit"));
}

function ret(L: LuaState, v: number): number {
  lua.lua_pushnumber(L, v | 0);
  return 1;
}

function fold(L: LuaState, op: (a: number, b: number) => number): number {
  let b = barg(L, 1);
  for (let i = lua.lua_gettop(L); i > 1; i--) b = op(b, barg(L, i));
  return ret(L, b);
}
