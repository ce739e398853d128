// Library functions whose Lua 5.1 form (Redis runs 5.1) differs from the 5.3 one fengari has.
// - table.insert and table.remove (5.1's ltablib.c): fengari's refuse a position past the end
//   ("position out of bounds"), go through metamethods, and a remove from an empty table sets
//   t[0] = nil, which in 5.1 would make a node (and so change the table's layout and order,
//   src/scripting/table-order.ts). In 5.1 an insert position past the end grows the array up
//   to it, and a remove outside 1..#t returns nothing and changes nothing; both use raw access.
// - string.rep: 5.1 has no separator argument and ignores a third one
//   (string.rep('ab', 3, ',') is "ababab").
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

/** Replaces table.insert, table.remove and string.rep with 5.1's. */
export function openLib51(L: LuaState): void {
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
