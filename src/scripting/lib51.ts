// Library functions whose Lua 5.1 form (Redis runs 5.1) differs from the 5.3 one fengari has.
// - table.insert and table.remove (5.1's ltablib.c): fengari's refuse a position past the end
//   ("position out of bounds"), go through metamethods, and a remove from an empty table sets
//   t[0] = nil, which in 5.1 would make a node (and so change the table's layout and order,
//   src/scripting/table-order.ts). In 5.1 an insert position past the end grows the array up
//   to it, and a remove outside 1..#t returns nothing and changes nothing; both use raw access.
// - string.rep: 5.1 has no separator argument and ignores a third one
//   (string.rep('ab', 3, ',') is "ababab").
// - string.char: a code outside 0..255 is "bad argument #i to 'char' (invalid value)" (fengari's
//   check passes no argument number, and its error failed inside our %d formatting).
// - table.foreach, table.foreachi and table.setn, which 5.1 still has (5.3 dropped them).
// - ipairs needs a table ("table expected, got no value"; 5.3 takes any value).
// - math.max/min compare the arguments as numbers, numeric strings included (5.3 compares
//   the values: math.min(3, '1') raised "attempt to compare string with number").
import { lua, lauxlib, toLuaString, type LuaState } from "./fengari.js";

function getn(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  return lua.lua_rawlen(L, 1);
}

/** luaL_checkint: a number, truncated to an integer (5.1 on x86-64 casts). */
function checkint(L: LuaState, arg: number): number {
  return Math.trunc(lauxlib.luaL_checknumber(L, arg));
}

function tinsert(L: LuaState): number {
  let e = getn(L) + 1; // first empty element
  let pos: number;
  switch (lua.lua_gettop(L)) {
    case 2:
      pos = e;
      break;
    case 3: {
      pos = checkint(L, 2);
      if (pos > e) e = pos; // "grow" the array
      for (let i = e; i > pos; i--) {
        lua.lua_rawgeti(L, 1, i - 1);
        lua.lua_rawseti(L, 1, i);
      }
      break;
    }
    default:
      return lauxlib.luaL_error(L, toLuaString("wrong number of arguments to 'insert'"));
  }
  lua.lua_rawseti(L, 1, pos);
  return 0;
}

function tremove(L: LuaState): number {
  const e = getn(L);
  let pos = lua.lua_isnoneornil(L, 2) ? e : checkint(L, 2);
  if (!(1 <= pos && pos <= e)) return 0; // nothing to remove
  lua.lua_rawgeti(L, 1, pos);
  for (; pos < e; pos++) {
    lua.lua_rawgeti(L, 1, pos + 1);
    lua.lua_rawseti(L, 1, pos);
  }
  lua.lua_pushnil(L);
  lua.lua_rawseti(L, 1, e);
  return 1;
}

function strchar(L: LuaState): number {
  const n = lua.lua_gettop(L);
  const bytes = new Uint8Array(n);
  for (let i = 1; i <= n; i++) {
    const c = checkint(L, i);
    if ((c & 0xff) !== c) lauxlib.luaL_argerror(L, i, toLuaString("invalid value"));
    bytes[i - 1] = c;
  }
  lua.lua_pushlstring(L, bytes, n);
  return 1;
}

/** math.max (sign 1) and math.min (sign -1): every argument as a number (luaL_checknumber). */
function mathExtreme(sign: number): (L: LuaState) => number {
  return (L: LuaState) => {
    const n = lua.lua_gettop(L);
    let best = lauxlib.luaL_checknumber(L, 1);
    for (let i = 2; i <= n; i++) {
      const d = lauxlib.luaL_checknumber(L, i);
      if (sign > 0 ? d > best : d < best) best = d;
    }
    lua.lua_pushnumber(L, best);
    return 1;
  };
}

/** fn, after 5.1's check that argument 1 is a table (ipairs). */
function checkingFirst(fn: (L: LuaState) => number, check: (L: LuaState) => void): (L: LuaState) => number {
  return (L: LuaState) => {
    check(L);
    return fn(L);
  };
}

/** table.foreach(t, f): f(k, v) for each pair until f returns a value, which it returns. */
function foreach(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  lauxlib.luaL_checktype(L, 2, lua.LUA_TFUNCTION);
  lua.lua_pushnil(L);
  while (lua.lua_next(L, 1)) {
    lua.lua_pushvalue(L, 2);
    lua.lua_pushvalue(L, -3);
    lua.lua_pushvalue(L, -3);
    lua.lua_call(L, 2, 1);
    if (!lua.lua_isnil(L, -1)) return 1;
    lua.lua_pop(L, 2);
  }
  return 0;
}

/** table.foreachi(t, f): f(i, t[i]) for i = 1..#t until f returns a value, which it returns. */
function foreachi(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  lauxlib.luaL_checktype(L, 2, lua.LUA_TFUNCTION);
  const n = lua.lua_rawlen(L, 1);
  for (let i = 1; i <= n; i++) {
    lua.lua_pushvalue(L, 2);
    lua.lua_pushnumber(L, i);
    lua.lua_rawgeti(L, 1, i);
    lua.lua_call(L, 2, 1);
    if (!lua.lua_isnil(L, -1)) return 1;
    lua.lua_pop(L, 1);
  }
  return 0;
}

function setn(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  return lauxlib.luaL_error(L, toLuaString("'setn' is obsolete"));
}

/** The C function at t[name] of the table on top of the stack. */
function field(L: LuaState, name: string): (L: LuaState) => number {
  lua.lua_getfield(L, -1, toLuaString(name));
  const f = lua.lua_tocfunction(L, -1);
  lua.lua_pop(L, 1);
  return f;
}

function set(L: LuaState, name: string, f: (L: LuaState) => number): void {
  lua.lua_pushjsfunction(L, f);
  lua.lua_setfield(L, -2, toLuaString(name));
}

/** Replaces the library functions above with 5.1's. */
export function openLib51(L: LuaState): void {
  lua.lua_getglobal(L, toLuaString("math"));
  set(L, "max", mathExtreme(1));
  set(L, "min", mathExtreme(-1));
  lua.lua_pop(L, 1);
  lua.lua_pushglobaltable(L);
  set(L, "ipairs", checkingFirst(field(L, "ipairs"), (L2) => lauxlib.luaL_checktype(L2, 1, lua.LUA_TTABLE)));
  lua.lua_pop(L, 1);
  lua.lua_getglobal(L, toLuaString("table"));
  set(L, "foreach", foreach);
  set(L, "foreachi", foreachi);
  set(L, "setn", setn);
  lua.lua_pop(L, 1);
  lua.lua_getglobal(L, toLuaString("string"));
  set(L, "char", strchar);
  lua.lua_pop(L, 1);
  lua.lua_getglobal(L, toLuaString("string"));
  lua.lua_getfield(L, -1, toLuaString("rep"));
  const rep53 = lua.lua_tocfunction(L, -1);
  lua.lua_pop(L, 1);
  lua.lua_pushjsfunction(L, (L2: LuaState) => {
    if (lua.lua_gettop(L2) > 2) lua.lua_settop(L2, 2);
    return rep53(L2);
  });
  lua.lua_setfield(L, -2, toLuaString("rep"));
  lua.lua_pop(L, 1);

  lua.lua_getglobal(L, toLuaString("table"));
  lua.lua_pushjsfunction(L, tinsert);
  lua.lua_setfield(L, -2, toLuaString("insert"));
  lua.lua_pushjsfunction(L, tremove);
  lua.lua_setfield(L, -2, toLuaString("remove"));
  lua.lua_pop(L, 1);
}
