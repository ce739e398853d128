// Conversions between RESP replies and Lua values, exactly as Redis's script_lua.c does them.
//
// RESP -> Lua (a redis.call reply): integer -> number, bulk -> string, null bulk / null
// array -> false, status -> {ok=s}, error -> {err="CODE msg"}, array -> table 1..n; RESP3
// (after redis.setresp(3)): map -> {map={...}}, set -> {set={k=true}}, double -> {double=n},
// null -> nil, boolean -> boolean, big number -> {big_number=s}, verbatim ->
// {verbatim_string={string=, format=}}; attributes are skipped.
//
// Lua -> RESP (a script's return value): string -> bulk, number -> integer (truncated),
// true -> 1 (RESP3: #t), false -> null, table -> {err=}, {ok=}, {double=}, {big_number=},
// {verbatim_string=}, {map=}, {set=}, else an array of t[1], t[2]... up to the first nil;
// anything else -> null.
import { lua, pushLuaSlice, pushName, setNameField, getNameField, type LuaState } from "./fengari.js";
import { ReplyWriter } from "../server/reply-writer.js";
import { doubleToInt64 } from "../util/c-cast.js";

const CR = 13;

function lineEnd(buf: Uint8Array, pos: number): number {
  let i = pos;
  while (!(buf[i] === CR && buf[i + 1] === 10)) i++;
  return i;
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString("latin1");
}

function pushBytes(L: LuaState, buf: Uint8Array, start: number, end: number): void {
  pushLuaSlice(L, buf, start, end);
}

/**
 * The integer written at buf[start, end) (a RESP length or integer reply), as Number() of its
 * text would read it. Up to 15 digits are summed from the bytes (exact in a double, so the
 * same value), without a Buffer view and a string per reply; longer ones go through the text.
 */
function lineNumber(buf: Uint8Array, start: number, end: number): number {
  const neg = buf[start] === 0x2d;
  let i = neg ? start + 1 : start;
  if (i === end || end - i > 15) return Number(latin1(buf, start, end));
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return Number(latin1(buf, start, end));
    n = n * 10 + d;
  }
  return neg ? -n : n;
}

/** Pushes the RESP value at pos as a Lua value; returns where it ends. ctx false: skip it. */
export function pushReply(L: LuaState, buf: Uint8Array, pos: number, push = true): number {
  const type = buf[pos];
  const e = lineEnd(buf, pos + 1);
  lua.lua_checkstack(L, 4);
  switch (type) {
    case 0x3a: // :
      if (push) lua.lua_pushnumber(L, lineNumber(buf, pos + 1, e));
      return e + 2;
    case 0x2b: // +
      if (push) {
        lua.lua_createtable(L, 0, 1);
        pushName(L, "ok");
        // +OK, the status of SET, HMSET, LSET...: one Lua string for every such reply (a
        // TString is immutable: pushName's), not a new one per call.
        if (e === pos + 3 && buf[pos + 1] === 0x4f && buf[pos + 2] === 0x4b) pushName(L, "OK");
        else pushBytes(L, buf, pos + 1, e);
        lua.lua_rawset(L, -3);
      }
      return e + 2;
    case 0x2d: // -
      if (push) pushErrorTable(L, Buffer.from(buf.slice(pos + 1, e)).toString("latin1"), true);
      return e + 2;
    case 0x24: case 0x3d: { // $ and = (verbatim)
      const n = lineNumber(buf, pos + 1, e);
      if (n < 0) {
        if (push) lua.lua_pushboolean(L, false);
        return e + 2;
      }
      const start = e + 2;
      if (push) {
        if (type === 0x24) pushBytes(L, buf, start, start + n);
        else {
          lua.lua_createtable(L, 0, 1);
          lua.lua_createtable(L, 0, 2);
          pushBytes(L, buf, start + 4, start + n);
          setNameField(L, -2, "string");
          pushBytes(L, buf, start, start + 3);
          setNameField(L, -2, "format");
          setNameField(L, -2, "verbatim_string");
        }
      }
      return start + n + 2;
    }
    case 0x2a: case 0x3e: { // * and > (push)
      const n = lineNumber(buf, pos + 1, e);
      if (n < 0) {
        if (push) lua.lua_pushboolean(L, false);
        return e + 2;
      }
      if (push) lua.lua_createtable(L, n, 0);
      let p = e + 2;
      for (let i = 0; i < n; i++) {
        p = pushReply(L, buf, p, push);
        if (push) lua.lua_rawseti(L, -2, i + 1);
      }
      return p;
    }
    case 0x25: { // % map
      const n = lineNumber(buf, pos + 1, e);
      if (push) { lua.lua_createtable(L, 0, 1); lua.lua_createtable(L, 0, n); }
      let p = e + 2;
      for (let i = 0; i < n; i++) {
        p = pushReply(L, buf, p, push);
        p = pushReply(L, buf, p, push);
        if (push) lua.lua_settable(L, -3);
      }
      if (push) setNameField(L, -2, "map");
      return p;
    }
    case 0x7e: { // ~ set
      const n = lineNumber(buf, pos + 1, e);
      if (push) { lua.lua_createtable(L, 0, 1); lua.lua_createtable(L, 0, n); }
      let p = e + 2;
      for (let i = 0; i < n; i++) {
        p = pushReply(L, buf, p, push);
        if (push) { lua.lua_pushboolean(L, true); lua.lua_settable(L, -3); }
      }
      if (push) setNameField(L, -2, "set");
      return p;
    }
    case 0x7c: { // | attribute: skipped, then the value it annotates
      const n = lineNumber(buf, pos + 1, e);
      let p = e + 2;
      for (let i = 0; i < 2 * n; i++) p = pushReply(L, buf, p, false);
      return pushReply(L, buf, p, push);
    }
    case 0x5f: // _ null
      if (push) lua.lua_pushnil(L);
      return e + 2;
    case 0x23: // # boolean
      if (push) lua.lua_pushboolean(L, buf[pos + 1] === 0x74);
      return e + 2;
    case 0x2c: { // , double
      if (push) {
        const s = latin1(buf, pos + 1, e);
        lua.lua_createtable(L, 0, 1);
        lua.lua_pushnumber(L, s === "inf" ? Infinity : s === "-inf" ? -Infinity : s === "nan" ? NaN : Number(s));
        setNameField(L, -2, "double");
      }
      return e + 2;
    }
    case 0x28: // ( big number
      if (push) {
        lua.lua_createtable(L, 0, 1);
        pushBytes(L, buf, pos + 1, e);
        setNameField(L, -2, "big_number");
      }
      return e + 2;
    case 0x21: { // ! blob error
      const n = lineNumber(buf, pos + 1, e);
      if (push) pushErrorTable(L, latin1(buf, e + 2, e + 2 + n), true);
      return e + 2 + n + 2;
    }
  }
  throw new Error(`unexpected RESP type byte ${type}`);
}

/**
 * Redis's luaPushErrorBuff: {err="CODE msg"}. "-CODE msg" keeps its code; a message without
 * the leading '-' gets ERR. Trailing CR/LF trimmed.
 */
/** The Lua debugger's log of errors pushed while it steps (luaPushErrorBuff's ldbLog), or null. */
let errorLog: ((errBuffer: string) => void) | null = null;
export function setErrorLog(f: ((errBuffer: string) => void) | null): void {
  errorLog = f;
}

export function pushErrorTable(L: LuaState, text: string, hasCode: boolean, ignoreStats = false): void {
  if (errorLog !== null) errorLog(hasCode ? "-" + text : text);
  let code = "ERR";
  let msg = text;
  if (hasCode) {
    const sp = text.indexOf(" ");
    if (sp < 0) msg = text;
    else { code = text.slice(0, sp); msg = text.slice(sp + 1); }
  }
  msg = msg.replace(/^[\r\n]+|[\r\n]+$/g, "");
  lua.lua_createtable(L, 0, 2);
  pushName(L, "err");
  lua.lua_pushstring(L, Buffer.from(`${code} ${msg}`, "latin1"));
  lua.lua_rawset(L, -3);
  if (ignoreStats) {
    lua.lua_pushboolean(L, true);
    setNameField(L, -2, "ignore_error_stats_update");
  }
}

/**
 * Lua string at idx as a Buffer (binary-safe). A string of up to 64 bytes (V8's
 * typed_array_max_size_in_heap) keeps its bytes in V8's heap, where .buffer would move them
 * into a new ArrayBuffer of their own: such a string is copied into Node's pool instead
 * (cheaper); a longer one is viewed.
 */
export function toBuffer(L: LuaState, idx: number): Buffer {
  const s: Uint8Array = lua.lua_tolstring(L, idx);
  return s.length <= 64 ? Buffer.from(s) : Buffer.from(s.buffer, s.byteOffset, s.length);
}


/**
 * The Lua string at idx as one line of a status or big-number reply: latin1, with CR and LF
 * as spaces (as Redis maps them). A short one ({ok="OK"}, the commonest script reply) is read
 * from its bytes, without a Buffer and a regular expression.
 */
function lineText(L: LuaState, idx: number): string {
  const s: Uint8Array = lua.lua_tolstring(L, idx);
  if (s.length > 32) return toBuffer(L, idx).toString("latin1").replace(/[\r\n]/g, " ");
  let t = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    t += String.fromCharCode(c === 13 || c === 10 ? 32 : c);
  }
  return t;
}

const MAX_REPLY_DEPTH = 1000;

function rawField(L: LuaState, name: string): number {
  return getNameField(L, -1, name);
}

/**
 * Writes the Lua value on top of the stack as a reply and pops it (luaReplyToRedisReply).
 * scriptResp is the protocol the script chose with redis.setresp (it decides booleans).
 */
export function writeLuaReply(L: LuaState, w: ReplyWriter, scriptResp: number, depth = 0): void {
  const t = lua.lua_type(L, -1);
  // Redis's Lua stack (LUAI_MAXCSTACK 8000) runs out for a deeply nested or recursive table;
  // here the JS stack would, so nesting is capped: 1000 levels answer as Redis does at its limit.
  if (depth > MAX_REPLY_DEPTH || !lua.lua_checkstack(L, 4)) {
    w.error("reached lua stack limit");
    lua.lua_pop(L, 1);
    return;
  }
  switch (t) {
    case lua.LUA_TSTRING:
      w.bulk(toBuffer(L, -1));
      break;
    case lua.LUA_TBOOLEAN:
      if (scriptResp === 2) {
        if (lua.lua_toboolean(L, -1)) w.integer(1);
        else w.nullBulk();
      } else w.bool(lua.lua_toboolean(L, -1));
      break;
    case lua.LUA_TNUMBER:
      w.integer(doubleToInt64(lua.lua_tonumber(L, -1)));
      break;
    case lua.LUA_TTABLE: {
      if (rawField(L, "err") === lua.LUA_TSTRING) {
        lua.lua_pop(L, 1);
        const info = errorInfo(L);
        w.error("-" + info.msg);
        lua.lua_pop(L, 1);
        return;
      }
      lua.lua_pop(L, 1);
      if (rawField(L, "ok") === lua.LUA_TSTRING) {
        w.status(lineText(L, -1));
        lua.lua_pop(L, 2);
        return;
      }
      lua.lua_pop(L, 1);
      if (rawField(L, "double") === lua.LUA_TNUMBER) {
        w.double(lua.lua_tonumber(L, -1));
        lua.lua_pop(L, 2);
        return;
      }
      lua.lua_pop(L, 1);
      if (rawField(L, "big_number") === lua.LUA_TSTRING) {
        w.bigNumber(lineText(L, -1));
        lua.lua_pop(L, 2);
        return;
      }
      lua.lua_pop(L, 1);
      if (rawField(L, "verbatim_string") === lua.LUA_TTABLE) {
        if (rawField(L, "format") === lua.LUA_TSTRING) {
          const format = toBuffer(L, -1).toString("latin1");
          // The string is a field of the verbatim table, below the format on the stack.
          if (getNameField(L, -2, "string") === lua.LUA_TSTRING) {
            w.verbatim(toBuffer(L, -1).toString("utf8"), format);
            lua.lua_pop(L, 4);
            return;
          }
          lua.lua_pop(L, 1);
        }
        lua.lua_pop(L, 1);
      }
      lua.lua_pop(L, 1);
      if (rawField(L, "map") === lua.LUA_TTABLE) {
        const sub = child(w);
        let n = 0;
        lua.lua_pushnil(L);
        while (lua.lua_next(L, -2)) {
          lua.lua_pushvalue(L, -2);
          writeLuaReply(L, sub, scriptResp, depth + 1);
          writeLuaReply(L, sub, scriptResp, depth + 1);
          n++;
        }
        w.mapLen(n);
        w.raw(sub.take());
        lua.lua_pop(L, 2);
        return;
      }
      lua.lua_pop(L, 1);
      if (rawField(L, "set") === lua.LUA_TTABLE) {
        const sub = child(w);
        let n = 0;
        lua.lua_pushnil(L);
        while (lua.lua_next(L, -2)) {
          lua.lua_pop(L, 1);
          lua.lua_pushvalue(L, -1);
          writeLuaReply(L, sub, scriptResp, depth + 1);
          n++;
        }
        w.setLen(n);
        w.raw(sub.take());
        lua.lua_pop(L, 2);
        return;
      }
      lua.lua_pop(L, 1);
      const sub = child(w);
      let n = 0;
      for (let j = 1; ; j++) {
        lua.lua_pushnumber(L, j);
        lua.lua_rawget(L, -2);
        if (lua.lua_type(L, -1) === lua.LUA_TNIL) {
          lua.lua_pop(L, 1);
          break;
        }
        writeLuaReply(L, sub, scriptResp, depth + 1);
        n++;
      }
      w.arrayLen(n);
      if (n) w.raw(sub.take());
      break;
    }
    default:
      w.nullBulk();
  }
  lua.lua_pop(L, 1);
}

function child(w: ReplyWriter): ReplyWriter {
  const sub = new ReplyWriter();
  sub.resp = w.resp;
  return sub;
}

export interface ErrorInfo { msg: string; source?: string; line?: string; ignoreStats: boolean }

/** luaExtractErrorInformation: the error value on top of the stack (a table or a string). */
export function errorInfo(L: LuaState): ErrorInfo {
  const info: ErrorInfo = { msg: "", ignoreStats: false };
  if (lua.lua_type(L, -1) === lua.LUA_TSTRING || lua.lua_type(L, -1) === lua.LUA_TNUMBER) {
    info.msg = "ERR " + toBuffer(L, -1).toString("latin1");
    return info;
  }
  if (lua.lua_type(L, -1) !== lua.LUA_TTABLE) return info;
  const field = (name: string) => {
    lua.lua_getfield(L, -1, name);
    const v = lua.lua_isstring(L, -1) ? toBuffer(L, -1).toString("latin1") : undefined;
    lua.lua_pop(L, 1);
    return v;
  };
  info.msg = field("err") ?? "";
  info.source = field("source");
  info.line = field("line");
  lua.lua_getfield(L, -1, "ignore_error_stats_update");
  if (lua.lua_type(L, -1) === lua.LUA_TBOOLEAN) info.ignoreStats = lua.lua_toboolean(L, -1);
  lua.lua_pop(L, 1);
  return info;
}
