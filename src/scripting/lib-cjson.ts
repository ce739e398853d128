// lua-cjson ("cjson") as Redis bundles it: encode/decode between Lua values and JSON text,
// with cjson.null for JSON null, numbers printed with "%.14g", '/' escaped as "\/", arrays
// detected from tables whose keys are 1..n (too sparse: an error), and its error messages.
import { lua, lauxlib, formatG14, toLuaString, type LuaState } from "./fengari.js";
import { toBuffer } from "./convert.js";

/** cjson.null: a light userdata, like the C library's NULL pointer. */
export const CJSON_NULL = { cjsonNull: true };

interface Config { encodeMaxDepth: number; decodeMaxDepth: number; encodeInvalidNumbers: boolean; sparseRatio: number; sparseSafe: number; sparseConvert: boolean }

export function openCjson(L: LuaState): void {
  const cfg: Config = { encodeMaxDepth: 1000, decodeMaxDepth: 1000, encodeInvalidNumbers: false, sparseRatio: 2, sparseSafe: 10, sparseConvert: false };
  const fns: Record<string, (L: LuaState) => number> = {
    encode: (L) => {
      lauxlib.luaL_argcheck(L, lua.lua_gettop(L) === 1, 1, toLuaString("expected 1 argument"));
      const out: string[] = [];
      encodeValue(L, cfg, 1, 0, out);
      const s = out.join("");
      lua.lua_pushlstring(L, Buffer.from(s, "latin1"), s.length);
      return 1;
    },
    decode: (L) => {
      lauxlib.luaL_argcheck(L, lua.lua_gettop(L) === 1, 1, toLuaString("expected 1 argument"));
      const text = toBuffer(L, 1);
      new Decoder(L, text, cfg).decodeTop();
      return 1;
    },
    encode_max_depth: (L) => cfgNumber(L, cfg, "encodeMaxDepth"),
    decode_max_depth: (L) => cfgNumber(L, cfg, "decodeMaxDepth"),
    encode_invalid_numbers: (L) => {
      if (lua.lua_gettop(L) >= 1) cfg.encodeInvalidNumbers = lua.lua_toboolean(L, 1) || lua.lua_type(L, 1) === lua.LUA_TSTRING;
      lua.lua_pushboolean(L, cfg.encodeInvalidNumbers);
      return 1;
    },
    decode_invalid_numbers: (L) => { lua.lua_pushboolean(L, true); return 1; },
    encode_keep_buffer: (L) => { lua.lua_pushboolean(L, lua.lua_gettop(L) >= 1 ? lua.lua_toboolean(L, 1) : true); return 1; },
    encode_number_precision: (L) => { lua.lua_pushnumber(L, 14); return 1; },
    encode_sparse_array: (L) => {
      if (lua.lua_gettop(L) >= 1) cfg.sparseConvert = lua.lua_toboolean(L, 1);
      if (lua.lua_gettop(L) >= 2) cfg.sparseRatio = lua.lua_tonumber(L, 2);
      if (lua.lua_gettop(L) >= 3) cfg.sparseSafe = lua.lua_tonumber(L, 3);
      lua.lua_pushboolean(L, cfg.sparseConvert);
      lua.lua_pushnumber(L, cfg.sparseRatio);
      lua.lua_pushnumber(L, cfg.sparseSafe);
      return 3;
    },
    new: (L) => { lua.lua_getglobal(L, toLuaString("cjson")); return 1; },
  };
  lua.lua_createtable(L, 0, Object.keys(fns).length + 3);
  for (const [name, f] of Object.entries(fns)) {
    lua.lua_pushjsfunction(L, f);
    lua.lua_setfield(L, -2, toLuaString(name));
  }
  lua.lua_pushlightuserdata(L, CJSON_NULL);
  lua.lua_setfield(L, -2, toLuaString("null"));
  lua.lua_pushstring(L, toLuaString("cjson"));
  lua.lua_setfield(L, -2, toLuaString("_NAME"));
  lua.lua_pushstring(L, toLuaString("1.0.3"));
  lua.lua_setfield(L, -2, toLuaString("_VERSION"));
  lua.lua_setglobal(L, toLuaString("cjson"));
}

function cfgNumber(L: LuaState, cfg: Config, key: "encodeMaxDepth" | "decodeMaxDepth"): number {
  if (lua.lua_gettop(L) >= 1 && !lua.lua_isnil(L, 1)) {
    const n = lauxlib.luaL_checknumber(L, 1);
    lauxlib.luaL_argcheck(L, n >= 1 && n <= 2147483647, 1, toLuaString("expected integer between 1 and 2147483647"));
    cfg[key] = Math.floor(n);
  }
  lua.lua_pushnumber(L, cfg[key]);
  return 1;
}

function fail(L: LuaState, msg: string): never {
  lauxlib.luaL_error(L, toLuaString(msg));
  throw new Error("unreachable");
}

const ESCAPES: string[] = [];
for (let i = 0; i < 256; i++) ESCAPES.push(i < 0x20 || i === 0x7f ? "\\u" + i.toString(16).padStart(4, "0") : String.fromCharCode(i));
ESCAPES[0x08] = "\\b"; ESCAPES[0x09] = "\\t"; ESCAPES[0x0a] = "\\n"; ESCAPES[0x0c] = "\\f"; ESCAPES[0x0d] = "\\r";
ESCAPES[0x22] = '\\"'; ESCAPES[0x5c] = "\\\\"; ESCAPES[0x2f] = "\\/";

function encodeString(b: Uint8Array, out: string[]): void {
  let s = '"';
  for (let i = 0; i < b.length; i++) s += ESCAPES[b[i]];
  out.push(s + '"');
}

function encodeNumber(L: LuaState, cfg: Config, n: number, out: string[]): void {
  if (!Number.isFinite(n) && !cfg.encodeInvalidNumbers) fail(L, "Cannot serialise number: must not be NaN or Inf");
  out.push(Number.isNaN(n) ? "nan" : formatG14(n));
}

/** Encodes the value at stack index idx (absolute). */
function encodeValue(L: LuaState, cfg: Config, idx: number, depth: number, out: string[]): void {
  switch (lua.lua_type(L, idx)) {
    case lua.LUA_TSTRING: encodeString(lua.lua_tolstring(L, idx), out); return;
    case lua.LUA_TNUMBER: encodeNumber(L, cfg, lua.lua_tonumber(L, idx), out); return;
    case lua.LUA_TBOOLEAN: out.push(lua.lua_toboolean(L, idx) ? "true" : "false"); return;
    case lua.LUA_TNIL: out.push("null"); return;
    case lua.LUA_TLIGHTUSERDATA:
      if (lua.lua_touserdata(L, idx) === CJSON_NULL) { out.push("null"); return; }
      break;
    case lua.LUA_TTABLE: {
      depth++;
      if (depth > cfg.encodeMaxDepth) fail(L, `Cannot serialise, excessive nesting (${depth})`);
      lua.lua_checkstack(L, 3);
      const len = arrayLength(L, cfg, idx);
      if (len > 0) {
        out.push("[");
        for (let i = 1; i <= len; i++) {
          if (i > 1) out.push(",");
          lua.lua_rawgeti(L, idx, i);
          encodeValue(L, cfg, lua.lua_gettop(L), depth, out);
          lua.lua_pop(L, 1);
        }
        out.push("]");
      } else {
        out.push("{");
        let first = true;
        lua.lua_pushnil(L);
        while (lua.lua_next(L, idx)) {
          if (!first) out.push(",");
          first = false;
          const kt = lua.lua_type(L, -2);
          if (kt === lua.LUA_TSTRING) encodeString(lua.lua_tolstring(L, -2), out);
          else if (kt === lua.LUA_TNUMBER) { out.push('"'); encodeNumber(L, cfg, lua.lua_tonumber(L, -2), out); out.push('"'); }
          else fail(L, `Cannot serialise ${typeName(L, -2)}: table key must be a number or string`);
          out.push(":");
          encodeValue(L, cfg, lua.lua_gettop(L), depth, out);
          lua.lua_pop(L, 1);
        }
        out.push("}");
      }
      return;
    }
  }
  fail(L, `Cannot serialise ${typeName(L, idx)}: type not supported`);
}

function typeName(L: LuaState, idx: number): string {
  return Buffer.from(lua.lua_typename(L, lua.lua_type(L, idx))).toString("latin1");
}

/** lua_array_length: n for a table with keys 1..n only, 0 for an object (or empty), errors when too sparse. */
function arrayLength(L: LuaState, cfg: Config, idx: number): number {
  let max = 0, items = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, idx)) {
    if (lua.lua_type(L, -2) === lua.LUA_TNUMBER) {
      const k = lua.lua_tonumber(L, -2);
      if (Math.floor(k) === k && k >= 1) {
        if (k > max) max = k;
        items++;
        lua.lua_pop(L, 1);
        continue;
      }
    }
    lua.lua_pop(L, 2);
    return -1;
  }
  if (cfg.sparseRatio > 0 && max > items * cfg.sparseRatio && max > cfg.sparseSafe) {
    if (!cfg.sparseConvert) fail(L, "Cannot serialise table: excessively sparse array");
    return -1;
  }
  return max;
}

class Decoder {
  private pos = 0;
  private depth = 0;
  constructor(private L: LuaState, private s: Buffer, private cfg: Config) {}

  decodeTop(): void {
    this.ws();
    this.value();
    this.ws();
    if (this.pos < this.s.length) this.error("the end", this.tokenName());
  }

  private error(expected: string, found: string): never {
    fail(this.L, `Expected ${expected} but found ${found} at character ${this.pos + 1}`);
  }

  private tokenName(): string {
    const c = this.s[this.pos];
    if (c === undefined) return "T_END";
    if (c === 0x7b || c === 0x7d || c === 0x5b || c === 0x5d || c === 0x3a || c === 0x2c) return "'" + String.fromCharCode(c) + "'";
    return "invalid token";
  }

  private ws(): void {
    const s = this.s;
    while (this.pos < s.length && (s[this.pos] === 0x20 || s[this.pos] === 0x09 || s[this.pos] === 0x0a || s[this.pos] === 0x0d)) this.pos++;
  }

  private value(): void {
    const L = this.L;
    const c = this.s[this.pos];
    lua.lua_checkstack(L, 3);
    if (c === 0x7b) return this.object();
    if (c === 0x5b) return this.array();
    if (c === 0x22) { this.string(); return; }
    if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return this.number();
    if (this.word("true")) { lua.lua_pushboolean(L, true); return; }
    if (this.word("false")) { lua.lua_pushboolean(L, false); return; }
    if (this.word("null")) { lua.lua_pushlightuserdata(L, CJSON_NULL); return; }
    this.error("value", this.tokenName());
  }

  private word(w: string): boolean {
    if (this.s.toString("latin1", this.pos, this.pos + w.length) !== w) return false;
    this.pos += w.length;
    return true;
  }

  private nest(): void {
    if (++this.depth > this.cfg.decodeMaxDepth) fail(this.L, `Found too many nested data structures (${this.depth}) at character ${this.pos + 1}`);
  }

  private object(): void {
    const L = this.L;
    this.nest();
    this.pos++;
    lua.lua_newtable(L);
    this.ws();
    if (this.s[this.pos] === 0x7d) { this.pos++; this.depth--; return; }
    for (;;) {
      this.ws();
      if (this.s[this.pos] !== 0x22) this.error("object key string", this.tokenName());
      this.string();
      this.ws();
      if (this.s[this.pos] !== 0x3a) this.error("colon", this.tokenName());
      this.pos++;
      this.ws();
      this.value();
      lua.lua_rawset(L, -3);
      this.ws();
      const c = this.s[this.pos];
      if (c === 0x7d) { this.pos++; this.depth--; return; }
      if (c !== 0x2c) this.error("comma or object end", this.tokenName());
      this.pos++;
    }
  }

  private array(): void {
    const L = this.L;
    this.nest();
    this.pos++;
    lua.lua_newtable(L);
    this.ws();
    if (this.s[this.pos] === 0x5d) { this.pos++; this.depth--; return; }
    for (let i = 1; ; i++) {
      this.ws();
      this.value();
      lua.lua_rawseti(L, -2, i);
      this.ws();
      const c = this.s[this.pos];
      if (c === 0x5d) { this.pos++; this.depth--; return; }
      if (c !== 0x2c) this.error("comma or array end", this.tokenName());
      this.pos++;
    }
  }

  private number(): void {
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(this.s.toString("latin1", this.pos, this.pos + 400));
    if (!m) this.error("value", "invalid number");
    this.pos += m[0].length;
    lua.lua_pushnumber(this.L, Number(m[0]));
  }

  private string(): void {
    const s = this.s;
    this.pos++;
    const bytes: number[] = [];
    for (;;) {
      if (this.pos >= s.length) this.error("value", "unexpected end of string");
      const c = s[this.pos++];
      if (c === 0x22) break;
      if (c !== 0x5c) { bytes.push(c); continue; }
      const e = s[this.pos++];
      switch (e) {
        case 0x22: bytes.push(0x22); break;
        case 0x5c: bytes.push(0x5c); break;
        case 0x2f: bytes.push(0x2f); break;
        case 0x62: bytes.push(8); break;
        case 0x66: bytes.push(12); break;
        case 0x6e: bytes.push(10); break;
        case 0x72: bytes.push(13); break;
        case 0x74: bytes.push(9); break;
        case 0x75: {
          let cp = parseInt(s.toString("latin1", this.pos, this.pos + 4), 16);
          this.pos += 4;
          if (cp >= 0xd800 && cp <= 0xdbff && s[this.pos] === 0x5c && s[this.pos + 1] === 0x75) {
            const lo = parseInt(s.toString("latin1", this.pos + 2, this.pos + 6), 16);
            if (lo >= 0xdc00 && lo <= 0xdfff) { cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00); this.pos += 6; }
          }
          if (Number.isNaN(cp)) this.error("value", "invalid unicode escape code");
          for (const b of Buffer.from(String.fromCodePoint(cp), "utf8")) bytes.push(b);
          break;
        }
        default: this.error("value", "invalid escape code");
      }
    }
    const b = Uint8Array.from(bytes);
    lua.lua_pushlstring(this.L, b, b.length);
  }
}
