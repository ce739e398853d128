// Bit commands on string values (bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
// BITFIELD, BITFIELD_RO. Bit 0 is the most significant bit of byte 0; a bitfield integer
// is read MSB first from its offset (big-endian when byte aligned). Offsets are limited,
// as in Redis, to proto-max-bulk-len bytes; writes past the end grow the string with zero
// bytes. Commands that read bits see an int-encoded value as its decimal text.

import { argc, argPtr, argLen, argIs, db, getIntOrReply, intArg, ERR_WRONGTYPE, ERR_SYNTAX } from "./context";
import { defineCommand } from "./table";
import {
  lookupKeyRead, lookupKeyWrite, dbAdd, dbDelete, addDirty, releaseValue, removeExpire,
} from "../keyspace/keyspace";
import { Entry, OBJ_STRING } from "../keyspace/entry";
import { addError, addErrorErr, addInt, addArrayLen, addNullBulk } from "../resp/reply-writer";
import { string2ll, parsedInt, ll2string } from "../util/number";
import { loadStringBytes, valPtr, valLen, stringValueLen, growStringValue, maxStringSize } from "./strings";

export function registerBitCommands(): void {
  defineCommand("setbit", setbitCommand);
  defineCommand("getbit", getbitCommand);
  defineCommand("bitcount", bitcountCommand);
  defineCommand("bitpos", bitposCommand);
  defineCommand("bitop", bitopCommand);
  defineCommand("bitfield", bitfieldCommand);
  defineCommand("bitfield_ro", bitfieldRoCommand);
}

const ERR_BIT_OFFSET = "bit offset is not an integer or out of range";
const ERR_BIT_VALUE = "bit is not an integer or out of range";
const ERR_BITFIELD_TYPE = "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

let bitOffset: i64 = 0;

/**
 * getBitOffsetFromArgument: 0 <= offset and offset/8 < proto-max-bulk-len. With `bits` > 0
 * the "#N" form (BITFIELD) means N * bits.
 */
function getBitOffsetOrReply(i: i32, bits: i32): bool {
  let p = argPtr(i), len = argLen(i);
  const useHash = bits > 0 && len > 0 && load<u8>(p) == 0x23 /* # */;
  if (useHash) { p++; len--; }
  if (!string2ll(p, len)) { addError(ERR_BIT_OFFSET); return false; }
  let off = parsedInt;
  if (useHash) off *= <i64>bits; // wraps like Redis's long long product
  if (off < 0 || (off >> 3) >= maxStringSize()) { addError(ERR_BIT_OFFSET); return false; }
  bitOffset = off;
  return true;
}

/**
 * lookupStringForBitCommand: the string at argv[1], created or zero-padded so that bit
 * `maxbit` exists, and always raw (bits address the text of an int-encoded value). Null
 * after replying WRONGTYPE. bitDirty tells whether it was created or grew.
 */
let bitDirty = false;
function lookupStringForBitCommand(maxbit: i64): Entry | null {
  const byte = <usize>(maxbit >> 3);
  const keyPtr = argPtr(1), keyLen = argLen(1);
  let e = lookupKeyWrite(db, keyPtr, keyLen);
  bitDirty = false;
  if (e != null && e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return null; }
  if (e == null) {
    e = dbAdd(db, keyPtr, keyLen);
    e.isInt = false;
    e.isRaw = true;
    e.str = new ArrayBuffer(<i32>(byte + 1));
    bitDirty = true;
    return e;
  }
  e.isRaw = true; // dbUnshareStringValue: written bits make it RAW even without growth
  const oldLen = <usize>stringValueLen(e);
  if (e.isInt || byte >= oldLen) {
    const newLen = byte + 1 > oldLen ? byte + 1 : oldLen;
    growStringValue(e, newLen);
    bitDirty = newLen != oldLen;
  }
  return e;
}

// ---- SETBIT / GETBIT ---------------------------------------------------------------------------

function setbitCommand(): void {
  if (!getBitOffsetOrReply(2, 0)) return;
  if (!string2ll(argPtr(3), argLen(3)) || (parsedInt & ~1) != 0) {
    addError(ERR_BIT_VALUE);
    return;
  }
  const on = <u32>parsedInt;
  const e = lookupStringForBitCommand(bitOffset);
  if (e == null) return;
  const p = changetype<usize>(e.str!) + <usize>(bitOffset >> 3);
  const bit = 7 - <u32>(bitOffset & 7);
  let byteval = <u32>load<u8>(p);
  const bitval = (byteval >> bit) & 1;
  if (bitDirty || bitval != on) {
    byteval = (byteval & ~(<u32>1 << bit)) | (on << bit);
    store<u8>(p, <u8>byteval);
    addDirty(1);
  }
  addInt(<i64>bitval);
}

function getbitCommand(): void {
  if (!getBitOffsetOrReply(2, 0)) return;
  const e = lookupKeyRead(db, argPtr(1), argLen(1));
  if (e == null) { addInt(0); return; }
  if (e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return; }
  loadStringBytes(e);
  const byte = <usize>(bitOffset >> 3);
  let bitval: u32 = 0;
  if (byte < valLen) bitval = (<u32>load<u8>(valPtr + byte) >> (7 - <u32>(bitOffset & 7))) & 1;
  addInt(<i64>bitval);
}

// ---- BITCOUNT / BITPOS ---------------------------------------------------------------------------

function popcount(p: usize, n: usize): i64 {
  let bits: i64 = 0;
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) bits += <i64>popcnt<u64>(load<u64>(p + i));
  for (; i < n; i++) bits += <i64>popcnt<u32>(<u32>load<u8>(p + i));
  return bits;
}

/**
 * redisBitpos: position of the first bit equal to `bit` in n bytes at p; for 1 and none
 * found, -1; for 0 and none found, n*8 (the string is taken as zero-padded on the right).
 */
function bitposIn(p: usize, n: usize, bit: u32): i64 {
  const skip: u32 = bit != 0 ? 0 : 0xff;
  for (let i: usize = 0; i < n; i++) {
    const b = <u32>load<u8>(p + i);
    if (b != skip) {
      const x = bit != 0 ? b : (~b & 0xff);
      return <i64>(i * 8) + <i64>(clz<u32>(x) - 24);
    }
  }
  return bit != 0 ? -1 : <i64>(n * 8);
}

// A byte with the edge bits masked, for BITPOS's BIT ranges.
const tmpByte: usize = heap.alloc(8);

// BITCOUNT and BITPOS share Redis's range arithmetic (bitops.c): negative indexes count from
// the end, the range is clamped to the string, and a BIT range becomes a byte range plus
// masks for the bits of its edge bytes that lie outside it. Results in the range* globals.
let rangeStart: i64 = 0;
let rangeEnd: i64 = 0;
let rangeFirstMask: u32 = 0;
let rangeLastMask: u32 = 0;

function clampBitRange(start: i64, end: i64, strlen: i64, isbit: bool): void {
  const totlen = isbit ? strlen << 3 : strlen;
  if (start < 0) start = totlen + start;
  if (end < 0) end = totlen + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= totlen) end = totlen - 1;
  rangeFirstMask = 0;
  rangeLastMask = 0;
  if (isbit && start <= end) {
    rangeFirstMask = ~((<u32>1 << (8 - <u32>(start & 7))) - 1) & 0xff;
    rangeLastMask = (<u32>1 << (7 - <u32>(end & 7))) - 1;
    start >>= 3;
    end >>= 3;
  }
  rangeStart = start;
  rangeEnd = end;
}

function bitcountCommand(): void {
  const e = lookupKeyRead(db, argPtr(1), argLen(1));
  if (e == null) { addInt(0); return; }
  if (e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return; }
  loadStringBytes(e);
  const p = valPtr;
  const strlen = <i64>valLen;
  let start: i64, end: i64;
  let firstMask: u32 = 0, lastMask: u32 = 0;
  if (argc == 4 || argc == 5) {
    if (!getIntOrReply(2)) return;
    start = intArg;
    if (!getIntOrReply(3)) return;
    end = intArg;
    if (start < 0 && end < 0 && start > end) { addInt(0); return; }
    let isbit = false;
    if (argc == 5) {
      if (argIs(4, "bit")) isbit = true;
      else if (!argIs(4, "byte")) { addError(ERR_SYNTAX); return; }
    }
    clampBitRange(start, end, strlen, isbit);
    start = rangeStart;
    end = rangeEnd;
    firstMask = rangeFirstMask;
    lastMask = rangeLastMask;
  } else if (argc == 2) {
    start = 0;
    end = strlen - 1;
  } else {
    addError(ERR_SYNTAX);
    return;
  }
  if (start > end) { addInt(0); return; }
  let count = popcount(p + <usize>start, <usize>(end - start + 1));
  if (firstMask != 0) count -= <i64>popcnt<u32>(<u32>load<u8>(p + <usize>start) & firstMask);
  if (lastMask != 0) count -= <i64>popcnt<u32>(<u32>load<u8>(p + <usize>end) & lastMask);
  addInt(count);
}

function bitposCommand(): void {
  if (!getIntOrReply(2)) return;
  if (intArg != 0 && intArg != 1) { addError("The bit argument must be 1 or 0."); return; }
  const bit = <u32>intArg;
  const e = lookupKeyRead(db, argPtr(1), argLen(1));
  // A missing key is an infinite run of zeros.
  if (e == null) { addInt(bit != 0 ? -1 : 0); return; }
  if (e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return; }
  loadStringBytes(e);
  const p = valPtr;
  const strlen = <i64>valLen;
  let start: i64, end: i64;
  let endGiven = false;
  let firstMask: u32 = 0, lastMask: u32 = 0;
  if (argc == 4 || argc == 5 || argc == 6) {
    if (!getIntOrReply(3)) return;
    start = intArg;
    let isbit = false;
    if (argc == 6) {
      if (argIs(5, "bit")) isbit = true;
      else if (!argIs(5, "byte")) { addError(ERR_SYNTAX); return; }
    }
    if (argc >= 5) {
      if (!getIntOrReply(4)) return;
      end = intArg;
      endGiven = true;
    } else {
      end = isbit ? (strlen << 3) + 7 : strlen - 1;
    }
    clampBitRange(start, end, strlen, isbit);
    start = rangeStart;
    end = rangeEnd;
    firstMask = rangeFirstMask;
    lastMask = rangeLastMask;
  } else if (argc == 3) {
    start = 0;
    end = strlen - 1;
  } else {
    addError(ERR_SYNTAX);
    return;
  }
  if (start > end) { addInt(-1); return; }
  // The same walk as Redis: a masked first byte, the whole bytes, a masked last byte.
  let bytes = end - start + 1;
  let pos: i64 = 0;
  let done = false;
  if (firstMask != 0) {
    let t = <u32>load<u8>(p + <usize>start);
    t = bit != 0 ? t & ~firstMask : t | firstMask;
    if (lastMask != 0 && bytes == 1) t = bit != 0 ? t & ~lastMask : t | lastMask;
    store<u8>(tmpByte, <u8>t);
    pos = bitposIn(tmpByte, 1, bit);
    if (bytes == 1 || (pos != -1 && pos != 8)) done = true;
    else { start++; bytes--; }
  }
  if (!done) {
    const curbytes = bytes - (lastMask != 0 ? 1 : 0);
    if (curbytes > 0) {
      pos = bitposIn(p + <usize>start, <usize>curbytes, bit);
      if (bytes == curbytes || (pos != -1 && pos != curbytes << 3)) done = true;
      else { start += curbytes; bytes -= curbytes; }
    }
  }
  if (!done) {
    let t = <u32>load<u8>(p + <usize>end);
    t = bit != 0 ? t & ~lastMask : t | lastMask;
    store<u8>(tmpByte, <u8>t);
    pos = bitposIn(tmpByte, 1, bit);
  }
  // Looking for a 0 inside an explicit range: the padding past the range does not count.
  if (endGiven && bit == 0 && pos == bytes << 3) { addInt(-1); return; }
  if (pos != -1) pos += start << 3;
  addInt(pos);
}

// ---- BITOP -------------------------------------------------------------------------------------

const BITOP_AND = 0;
const BITOP_OR = 1;
const BITOP_XOR = 2;
const BITOP_NOT = 3;

function bitopCommand(): void {
  let op: i32;
  if (argIs(1, "and")) op = BITOP_AND;
  else if (argIs(1, "or")) op = BITOP_OR;
  else if (argIs(1, "xor")) op = BITOP_XOR;
  else if (argIs(1, "not")) op = BITOP_NOT;
  else { addError(ERR_SYNTAX); return; }
  if (op == BITOP_NOT && argc != 4) {
    addErrorErr("BITOP NOT must be called with a single source key.");
    return;
  }
  const numkeys = argc - 3;
  // Sources as managed buffers (an int-encoded value as its digits; a missing key as empty).
  const srcs = new Array<ArrayBuffer>(numkeys);
  let maxlen: usize = 0;
  for (let j = 0; j < numkeys; j++) {
    const e = lookupKeyRead(db, argPtr(j + 3), argLen(j + 3));
    if (e == null) { srcs[j] = new ArrayBuffer(0); continue; }
    if (e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return; }
    if (e.isInt) {
      const d = new ArrayBuffer(20);
      const n = ll2string(changetype<usize>(d), e.intVal);
      srcs[j] = d.slice(0, <i32>n);
    } else {
      srcs[j] = e.str!;
    }
    if (<usize>srcs[j].byteLength > maxlen) maxlen = <usize>srcs[j].byteLength;
  }
  const keyPtr = argPtr(2), keyLen = argLen(2);
  if (maxlen == 0) {
    if (dbDelete(db, keyPtr, keyLen)) addDirty(1);
    addInt(0);
    return;
  }
  const res = new ArrayBuffer(<i32>maxlen);
  const r = changetype<usize>(res);
  const first = srcs[0];
  memory.copy(r, changetype<usize>(first), <usize>first.byteLength); // missing tail: zeros
  if (op == BITOP_NOT) {
    for (let i: usize = 0; i < maxlen; i++) store<u8>(r + i, ~load<u8>(r + i));
  } else {
    for (let j = 1; j < numkeys; j++) {
      const s = srcs[j];
      const sp = changetype<usize>(s), sl = <usize>s.byteLength;
      for (let i: usize = 0; i < maxlen; i++) {
        const b = i < sl ? load<u8>(sp + i) : <u8>0;
        const o = load<u8>(r + i);
        store<u8>(r + i, op == BITOP_AND ? o & b : op == BITOP_OR ? o | b : o ^ b);
      }
    }
  }
  // setKey: the destination becomes this raw string, whatever it was, without a TTL.
  let e = lookupKeyWrite(db, keyPtr, keyLen);
  if (e == null) e = dbAdd(db, keyPtr, keyLen);
  releaseValue(e);
  e.type = OBJ_STRING;
  e.isInt = false;
  e.isRaw = true;
  e.str = res;
  removeExpire(db, e);
  addDirty(1);
  addInt(<i64>maxlen);
}

// ---- BITFIELD ------------------------------------------------------------------------------------

const OP_GET = 0;
const OP_SET = 1;
const OP_INCRBY = 2;

const OV_WRAP = 0;
const OV_SAT = 1;
const OV_FAIL = 2;

class BitfieldOp {
  constructor(public offset: i64, public value: i64, public opcode: i32, public owtype: i32,
              public bits: i32, public signed: bool) {}
}

function getUnsignedBitfield(p: usize, offset: u64, bits: i32): u64 {
  let value: u64 = 0;
  for (let j = 0; j < bits; j++) {
    const byteval = <u64>load<u8>(p + <usize>(offset >> 3));
    const bit = 7 - (offset & 7);
    value = (value << 1) | ((byteval >> bit) & 1);
    offset++;
  }
  return value;
}

function getSignedBitfield(p: usize, offset: u64, bits: i32): i64 {
  let value = <i64>getUnsignedBitfield(p, offset, bits);
  if (bits < 64 && (value & (<i64>1 << (bits - 1))) != 0) value |= (<i64>-1) << bits;
  return value;
}

function setUnsignedBitfield(p: usize, offset: u64, bits: i32, value: u64): void {
  for (let j = 0; j < bits; j++) {
    const bitval = (value >> <u64>(bits - 1 - j)) & 1;
    const bp = p + <usize>(offset >> 3);
    const bit = <u32>(7 - (offset & 7));
    let byteval = <u32>load<u8>(bp);
    byteval = (byteval & ~(<u32>1 << bit)) | (<u32>bitval << bit);
    store<u8>(bp, <u8>byteval);
    offset++;
  }
}

// The value an overflowing operation stores (wrapped or saturated), from the checks below.
let ovLimit: i64 = 0;

/** checkUnsignedBitfieldOverflow: 0, 1 (overflow) or -1 (underflow); sets ovLimit. */
function checkUnsignedOverflow(value: u64, incr: i64, bits: i32, owtype: i32): i32 {
  const max: u64 = bits == 64 ? u64.MAX_VALUE : (<u64>1 << bits) - 1;
  const maxincr = <i64>(max - value);
  const minincr = -<i64>value;
  if (value > max || (incr > 0 && incr > maxincr)) {
    if (owtype == OV_WRAP) { ovLimit = <i64>((value + <u64>incr) & max); }
    else if (owtype == OV_SAT) ovLimit = <i64>max;
    return 1;
  } else if (incr < 0 && incr < minincr) {
    if (owtype == OV_WRAP) { ovLimit = <i64>((value + <u64>incr) & max); return 1; }
    else if (owtype == OV_SAT) ovLimit = 0;
    return -1;
  }
  return 0;
}

/** checkSignedBitfieldOverflow: 0, 1 (overflow) or -1 (underflow); sets ovLimit. */
function checkSignedOverflow(value: i64, incr: i64, bits: i32, owtype: i32): i32 {
  const max: i64 = bits == 64 ? i64.MAX_VALUE : (<i64>1 << (bits - 1)) - 1;
  const min: i64 = -max - 1;
  const maxincr = <i64>(<u64>max - <u64>value);
  const minincr = min - value;
  let r = 0;
  if (value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr)) {
    r = 1;
    if (owtype == OV_SAT) ovLimit = max;
  } else if (value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr)) {
    r = -1;
    if (owtype == OV_SAT) ovLimit = min;
  }
  if (r != 0 && owtype == OV_WRAP) {
    // Add as unsigned, then sign-extend from the field's top bit.
    let c = <u64>value + <u64>incr;
    if (bits < 64) {
      const mask = u64.MAX_VALUE << <u64>bits;
      const msb = <u64>1 << <u64>(bits - 1);
      c = (c & msb) != 0 ? c | mask : c & ~mask;
    }
    ovLimit = <i64>c;
    return 1;
  }
  return r;
}

// GET reads through a zero-padded 9-byte window, so fields may run past the string's end.
const getWindow: usize = heap.alloc(16);

function bitfieldGeneric(readonlyCommand: bool): void {
  const ops = new Array<BitfieldOp>();
  let owtype = OV_WRAP;
  let readonly = true;
  let highestWrite: i64 = 0;
  for (let j = 2; j < argc; j++) {
    const remargs = argc - j - 1;
    let opcode: i32;
    if (argIs(j, "get") && remargs >= 2) opcode = OP_GET;
    else if (argIs(j, "set") && remargs >= 3) opcode = OP_SET;
    else if (argIs(j, "incrby") && remargs >= 3) opcode = OP_INCRBY;
    else if (argIs(j, "overflow") && remargs >= 1) {
      j++;
      if (argIs(j, "wrap")) owtype = OV_WRAP;
      else if (argIs(j, "sat")) owtype = OV_SAT;
      else if (argIs(j, "fail")) owtype = OV_FAIL;
      else { addError("Invalid OVERFLOW type specified"); return; }
      continue;
    } else { addError(ERR_SYNTAX); return; }

    // Type: i1..i64 or u1..u63 (lowercase prefix, as Redis).
    const tp = argPtr(j + 1), tl = argLen(j + 1);
    const c0 = tl > 0 ? load<u8>(tp) : 0;
    if (c0 != 0x69 /* i */ && c0 != 0x75 /* u */) { addError(ERR_BITFIELD_TYPE); return; }
    const signed = c0 == 0x69;
    if (!string2ll(tp + 1, tl - 1) || parsedInt < 1 || (signed && parsedInt > 64) || (!signed && parsedInt > 63)) {
      addError(ERR_BITFIELD_TYPE);
      return;
    }
    const bits = <i32>parsedInt;
    if (!getBitOffsetOrReply(j + 2, bits)) return;
    let value: i64 = 0;
    if (opcode != OP_GET) {
      readonly = false;
      if (highestWrite < bitOffset + bits - 1) highestWrite = bitOffset + bits - 1;
      if (!getIntOrReply(j + 3)) return;
      value = intArg;
    }
    ops.push(new BitfieldOp(bitOffset, value, opcode, owtype, bits, signed));
    j += 3 - (opcode == OP_GET ? 1 : 0);
  }

  let e: Entry | null;
  let dirty = false;
  if (readonly) {
    e = lookupKeyRead(db, argPtr(1), argLen(1));
    if (e != null && e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return; }
  } else {
    if (readonlyCommand) { addError("BITFIELD_RO only supports the GET subcommand"); return; }
    e = lookupStringForBitCommand(highestWrite);
    if (e == null) return;
    dirty = bitDirty;
  }

  addArrayLen(ops.length);
  let changes: i64 = 0;
  for (let k = 0; k < ops.length; k++) {
    const op = ops[k];
    if (op.opcode == OP_GET) {
      let src: usize = 0, srcLen: usize = 0;
      if (e != null) { loadStringBytes(e); src = valPtr; srcLen = valLen; }
      const byte = <u64>(op.offset >> 3);
      memory.fill(getWindow, 0, 16);
      for (let i: u64 = 0; i < 9 && byte + i < <u64>srcLen; i++) {
        store<u8>(getWindow + <usize>i, load<u8>(src + <usize>(byte + i)));
      }
      const inner = <u64>op.offset - byte * 8;
      if (op.signed) addInt(getSignedBitfield(getWindow, inner, op.bits));
      else addInt(<i64>getUnsignedBitfield(getWindow, inner, op.bits));
      continue;
    }
    const p = changetype<usize>(e!.str!);
    const off = <u64>op.offset;
    if (op.signed) {
      const oldval = getSignedBitfield(p, off, op.bits);
      let newval: i64, retval: i64, overflow: i32;
      if (op.opcode == OP_INCRBY) {
        overflow = checkSignedOverflow(oldval, op.value, op.bits, op.owtype);
        newval = overflow != 0 ? ovLimit : oldval + op.value;
        retval = newval;
      } else {
        newval = op.value;
        overflow = checkSignedOverflow(newval, 0, op.bits, op.owtype);
        if (overflow != 0) newval = ovLimit;
        retval = oldval;
      }
      if (!(overflow != 0 && op.owtype == OV_FAIL)) {
        addInt(retval);
        setUnsignedBitfield(p, off, op.bits, <u64>newval);
        if (dirty || oldval != newval) changes++;
      } else {
        addNullBulk();
      }
    } else {
      const oldval = getUnsignedBitfield(p, off, op.bits);
      let newval: u64, retval: u64, overflow: i32;
      if (op.opcode == OP_INCRBY) {
        newval = oldval + <u64>op.value;
        overflow = checkUnsignedOverflow(oldval, op.value, op.bits, op.owtype);
        if (overflow != 0) newval = <u64>ovLimit;
        retval = newval;
      } else {
        newval = <u64>op.value;
        overflow = checkUnsignedOverflow(newval, 0, op.bits, op.owtype);
        if (overflow != 0) newval = <u64>ovLimit;
        retval = oldval;
      }
      if (!(overflow != 0 && op.owtype == OV_FAIL)) {
        addInt(<i64>retval);
        setUnsignedBitfield(p, off, op.bits, newval);
        if (dirty || oldval != newval) changes++;
      } else {
        addNullBulk();
      }
    }
  }
  if (changes != 0) addDirty(changes);
}

function bitfieldCommand(): void { bitfieldGeneric(false); }
function bitfieldRoCommand(): void { bitfieldGeneric(true); }
