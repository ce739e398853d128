// table.sort and string.gsub written in Lua, so that a script's own code they call (a sort
// comparator, a gsub replacement function or table) runs where the count hook can pause
// the script.
//
// A script past busy-reply-threshold pauses by yielding from the count hook (busy.ts);
// Lua can only yield where no JS frame sits between the hook and the script's coroutine.
// fengari's table.sort and string.gsub are JS functions that call back into Lua, so an
// endless loop in a comparator would hold the server for good: no -BUSY replies to others,
// and no way to reach it with SCRIPT KILL. Here the callbacks are called from Lua code.
//
// table.sort is Lua 5.1's auxsort (ltablib.c) line for line, so an order function that is
// not a strict order leaves the same permutation as Redis's Lua, and raises the same
// "invalid order function for sorting". Without an order function there is no script code
// to call (only `<`), and fengari's own sort runs. string.gsub is Lua 5.1's str_gsub over
// string.find; with a string replacement it is fengari's.
//
// Run once per Lua state, before the globals are locked (the engine's lua51Compat).
export const YIELDABLE_CHUNK = "=yieldable";

/**
 * Lua for the scripts' error handlers, after they picked the frame an error names (`i`, at
 * level `lvl`): frames of this library stand for C functions, so the frame named is the
 * script line that called table.sort or string.gsub, as with Redis's C library functions.
 */
export const YIELDABLE_FRAMES_SKIP =
  "  while i and i.source == '=yieldable' do\n" +
  "    lvl = lvl + 1\n" +
  "    i = dbg.getinfo(lvl,'nSl')\n" +
  "  end\n";

export const YIELDABLE_LIB = `
local native_sort, native_gsub = table.sort, string.gsub
local rawget, rawset, rawlen, type, error, select = rawget, rawset, rawlen, type, error, select
local find, sub, concat, unpack, tonumber, tostring = string.find, string.sub, table.concat, table.unpack, tonumber, tostring

-- d: how many auxsort calls are on the stack; an error names the line that called table.sort
-- (level d + 2), as luaL_error does in Lua 5.1.
local function auxsort(t, l, u, comp, d)
  while l < u do
    -- sort a[l], a[(l+u)/2] and a[u]
    local al, au = rawget(t, l), rawget(t, u)
    if comp(au, al) then rawset(t, l, au) rawset(t, u, al) end
    if u - l == 1 then break end
    local i = (l + u) // 2
    local ai
    ai, al = rawget(t, i), rawget(t, l)
    if comp(ai, al) then
      rawset(t, i, al) rawset(t, l, ai)
    else
      au = rawget(t, u)
      if comp(au, ai) then rawset(t, i, au) rawset(t, u, ai) end
    end
    if u - l == 2 then break end
    local P = rawget(t, i)
    rawset(t, i, rawget(t, u - 1)) rawset(t, u - 1, P)
    -- a[l] <= P == a[u-1] <= a[u]: only l+1 .. u-2 is left to partition
    local j = u - 1
    i = l
    while true do
      i = i + 1
      ai = rawget(t, i)
      while comp(ai, P) do
        if i > u then error("invalid order function for sorting", d + 2) end
        i = i + 1
        ai = rawget(t, i)
      end
      j = j - 1
      local aj = rawget(t, j)
      while comp(P, aj) do
        if j < l then error("invalid order function for sorting", d + 2) end
        j = j - 1
        aj = rawget(t, j)
      end
      if j < i then break end
      rawset(t, i, aj) rawset(t, j, ai)
    end
    local au1 = rawget(t, u - 1)
    rawset(t, u - 1, rawget(t, i)) rawset(t, i, au1)
    -- sort the smaller half by recursion, the larger one in this loop
    if i - l < u - i then
      j = l; i = i - 1; l = i + 2
    else
      j = i + 1; i = u; u = j - 2
    end
    auxsort(t, j, i, comp, d + 1)
  end
end

table.sort = function(t, comp)
  if type(t) ~= "table" or type(comp) ~= "function" then return native_sort(t, comp) end
  auxsort(t, 1, rawlen(t), comp, 1)
end

local function pack(...) return select("#", ...), { ... } end

string.gsub = function(s, p, repl, max_n)
  local tr = type(repl)
  if (tr ~= "function" and tr ~= "table") or type(s) ~= "string" or type(p) ~= "string"
      or (max_n ~= nil and tonumber(max_n) == nil) then
    return native_gsub(s, p, repl, max_n)
  end
  local srcl = #s
  local max_s = srcl + 1
  if max_n ~= nil then
    max_s = tonumber(max_n)
    max_s = max_s < 0 and -((-max_s) // 1) or max_s // 1
  end
  local anchor = sub(p, 1, 1) == "^"
  local out, n, pos = {}, 0, 1
  while n < max_s do
    local count, r = pack(find(s, p, pos))
    local st, en = r[1], r[2]
    if st == nil then break end
    out[#out + 1] = sub(s, pos, st - 1)
    n = n + 1
    local whole = sub(s, st, en)
    local v
    if tr == "function" then
      if count > 2 then v = repl(unpack(r, 3, count)) else v = repl(whole) end
    else
      v = repl[count > 2 and r[3] or whole]
    end
    if not v then
      v = whole
    elseif type(v) == "number" then
      v = tostring(v)
    elseif type(v) ~= "string" then
      error("invalid replacement value (a " .. type(v) .. ")", 2)
    end
    out[#out + 1] = v
    if en >= st then
      pos = en + 1
    elseif st <= srcl then
      out[#out + 1] = sub(s, st, st)
      pos = st + 1
    else
      pos = st
      break
    end
    if anchor then break end
  end
  out[#out + 1] = sub(s, pos)
  return concat(out), n
end
`;
