// fengari's stack slots are emptied by a store, not `delete` (src/scripting/fengari-stack-slots.ts):
// a `delete` of an array element is a runtime call in V8, and Lua pops slots all the time.
import { describe, it, expect } from "vitest";
import { createRequire } from "node:module";
import { readdirSync, readFileSync } from "node:fs";
import { loadFengari, lua, lauxlib, lualib, toLuaString } from "../../src/scripting/fengari.js";

const require = createRequire(import.meta.url);
const dir = require.resolve("fengari").replace(/fengari\.js$/, "");

describe("fengari's stack slots", () => {
  it("no function of fengari's as loaded deletes a stack slot", () => {
    loadFengari();
    // Every file that has one on disk, seen through what it exports (the compiled source).
    const files = readdirSync(dir).filter((f) => f.endsWith(".js") && /delete \w+\.stack\[/.test(readFileSync(dir + f, "utf8")));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const mod = require(dir + f);
      for (const [name, v] of Object.entries(mod)) {
        if (typeof v === "function") expect(`${f} ${name}: ${/delete \w+\.stack\[/.test(String(v))}`).toBe(`${f} ${name}: false`);
      }
    }
    const ldo = require(dir + "ldo.js");
    expect(String(ldo.adjust_top)).toContain("L.stack[--L.top] = undefined");
  });

  it("a script that pops, calls and moves values between threads still runs as Lua", () => {
    loadFengari();
    const L = lauxlib.luaL_newstate();
    lualib.luaL_openlibs(L);
    const src = "local t = {} for i = 1, 50 do t[#t + 1] = select('#', 1, 2, i) + i end " +
      "local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end) " +
      "local x = co(1) local y = co(20) return table.concat(t, ','):len() + x + y";
    expect(lauxlib.luaL_loadstring(L, toLuaString(src))).toBe(lua.LUA_OK);
    expect(lua.lua_pcall(L, 0, 1, 0)).toBe(lua.LUA_OK);
    // t = 4..53: 94 digits and 49 commas; x = 2, y = 40
    expect(lua.lua_tonumber(L, -1)).toBe(143 + 2 + 40);
    lua.lua_settop(L, 0);
    expect(lua.lua_gettop(L)).toBe(0);
    expect(L.stack[L.top]).toBeUndefined();
  });

  it("a table's new keys do not clear its empty map of dead keys (ltable.js add, rewritten)", () => {
    loadFengari();
    const L = lauxlib.luaL_newstate();
    lualib.luaL_openlibs(L);
    // A traversal that removes keys and adds none keeps working (next() over dead keys), and a
    // key added after removals still clears them: the Lua results are the same either way.
    const src = "local t = {} for i = 1, 100 do t['k' .. i] = i end " +
      "local n = 0 for k, v in pairs(t) do if v % 2 == 0 then t[k] = nil end n = n + 1 end " +
      "t.extra = 1 local m = 0 for k in pairs(t) do m = m + 1 end return n * 1000 + m";
    expect(lauxlib.luaL_loadstring(L, toLuaString(src))).toBe(lua.LUA_OK);
    const clear = Map.prototype.clear;
    let clears = 0;
    Map.prototype.clear = function (this: Map<unknown, unknown>) { clears++; return clear.call(this); };
    try {
      expect(lua.lua_pcall(L, 0, 1, 0)).toBe(lua.LUA_OK);
    } finally {
      Map.prototype.clear = clear;
    }
    expect(lua.lua_tonumber(L, -1)).toBe(100 * 1000 + 51);
    // Only the add after the removals had dead keys to clear (fengari as shipped: 101 clears).
    expect(clears).toBe(1);
  });
});
