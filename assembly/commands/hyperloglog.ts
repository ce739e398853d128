// HyperLogLog commands (hyperloglog.c): PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.
//
// An HLL is a string value in Redis's exact representation, so values DUMPed from Redis or
// replicated to it mean the same thing and PFCOUNT gives Redis's numbers for the same inputs:
//   header (16 bytes): "HYLL", encoding (0 dense, 1 sparse), 3 unused bytes, and the cached
//                      cardinality as u64 little-endian; bit 7 of its last byte set = stale
//   dense:  16384 registers of 6 bits, register 0 in the low bits of byte 0 (12288 bytes)
//   sparse: run-length opcodes: ZERO 00xxxxxx (1-64 zero registers), XZERO 01xxxxxx yyyyyyyy
//           (1-16384), VAL 1vvvvvxx (1-4 registers of value 1-32)
// Elements are hashed with MurmurHash64A (seed 0xadc83b19); the low 14 bits pick the
// register, the run of zeros after them (plus one) is the value. Cardinality uses Ertl's
// improved estimator (hllSigma/hllTau), as Redis 5+ does.
//
// A value being changed is worked on in a scratch buffer (sparse values grow and shrink by
// a few bytes per update) and stored back once per command. Corrupt values (anything may be
// SETRANGEd into a string) are detected and never read or written out of bounds.

import { argc, argPtr, argLen, argIs, db, argString } from "./context";
import { defineCommand } from "./table";
import { lookupKeyRead, lookupKeyWrite, dbAdd, addDirty, forcePropagation, random32 } from "../keyspace/keyspace";
import { Entry, OBJ_STRING } from "../keyspace/entry";
import { addError, addInt, addArrayLen, addOk, addStatus, addBulk } from "../resp/reply-writer";

const HLL_P: i32 = 14;
const HLL_Q: i32 = 64 - HLL_P;
const HLL_REGISTERS: i32 = 1 << HLL_P;
const HLL_P_MASK: u64 = <u64>(HLL_REGISTERS - 1);
const HLL_REGISTER_MAX: u32 = 63;
const HLL_HDR_SIZE: usize = 16;
const HLL_DENSE_SIZE: usize = HLL_HDR_SIZE + <usize>((HLL_REGISTERS * 6 + 7) / 8);
const HLL_DENSE: u8 = 0;
const HLL_SPARSE: u8 = 1;
const HLL_RAW: u8 = 255;
const SPARSE_VAL_MAX_VALUE: u32 = 32;
const SPARSE_VAL_MAX_LEN: i32 = 4;
const SPARSE_ZERO_MAX_LEN: i32 = 64;
const SPARSE_XZERO_MAX_LEN: i32 = 16384;
const HLL_ALPHA_INF: f64 = 0.721347520444481703680;

const ERR_INVALID = "INVALIDOBJ Corrupted HLL object detected";
const ERR_NOT_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const ERR_WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";

/** hll-sparse-max-bytes (CONFIG SET). */
let sparseMaxBytes: i64 = 3000;
export function setHllSparseMaxBytes(n: f64): void { sparseMaxBytes = <i64>n; }

export function registerHyperLogLogCommands(): void {
  defineCommand("pfadd", pfaddCommand);
  defineCommand("pfcount", pfcountCommand);
  defineCommand("pfmerge", pfmergeCommand);
  defineCommand("pfdebug", pfdebugCommand);
  defineCommand("pfselftest", pfselftestCommand);
}

// ---- hashing -------------------------------------------------------------------------------------

function murmurHash64A(key: usize, len: i32, seed: u64): u64 {
  const m: u64 = 0xc6a4a7935bd1e995;
  const r: u64 = 47;
  let h: u64 = seed ^ (<u64>len * m);
  const blocks = len & ~7;
  let p = key;
  const end = key + <usize>blocks;
  while (p != end) {
    let k = load<u64>(p);
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
    p += 8;
  }
  const rest = len & 7;
  if (rest > 0) {
    for (let i = rest - 1; i >= 0; i--) h ^= <u64>load<u8>(p + <usize>i) << (<u64>i * 8);
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

let patIndex: i32 = 0;
/** hllPatLen: the register for the element (patIndex) and the value it proposes. */
function patLen(ele: usize, len: i32): u32 {
  let hash = murmurHash64A(ele, len, 0xadc83b19);
  patIndex = <i32>(hash & HLL_P_MASK);
  hash >>= <u64>HLL_P;
  hash |= <u64>1 << <u64>HLL_Q;
  return <u32>ctz<u64>(hash) + 1;
}

// ---- dense registers -------------------------------------------------------------------------------

/** Register i of a dense block at regs; the byte past the last register reads as 0. */
@inline function denseGet(regs: usize, i: i32): u32 {
  const byte = <usize>(i * 6 / 8);
  const fb = <u32>((i * 6) & 7);
  const b0 = <u32>load<u8>(regs + byte);
  const b1 = byte + 1 < <usize>(HLL_DENSE_SIZE - HLL_HDR_SIZE) ? <u32>load<u8>(regs + byte + 1) : 0;
  return ((b0 >> fb) | (b1 << (8 - fb))) & HLL_REGISTER_MAX;
}

@inline function denseSetRaw(regs: usize, i: i32, v: u32): void {
  const byte = <usize>(i * 6 / 8);
  const fb = <u32>((i * 6) & 7);
  const fb8 = 8 - fb;
  let b0 = <u32>load<u8>(regs + byte);
  b0 &= ~(HLL_REGISTER_MAX << fb);
  b0 |= v << fb;
  store<u8>(regs + byte, <u8>b0);
  if (byte + 1 < <usize>(HLL_DENSE_SIZE - HLL_HDR_SIZE)) {
    let b1 = <u32>load<u8>(regs + byte + 1);
    b1 &= ~(HLL_REGISTER_MAX >> fb8);
    b1 |= v >> fb8;
    store<u8>(regs + byte + 1, <u8>b1);
  }
}

function denseSet(regs: usize, i: i32, count: u32): i32 {
  if (count > denseGet(regs, i)) { denseSetRaw(regs, i, count); return 1; }
  return 0;
}

// ---- the working copy ------------------------------------------------------------------------------

let wb: usize = heap.alloc(HLL_DENSE_SIZE + 64);
let wcap: usize = HLL_DENSE_SIZE + 64;
let wlen: usize = 0;

function ensureWork(n: usize): void {
  if (n <= wcap) return;
  wcap = n + 64;
  wb = heap.realloc(wb, wcap);
}

/** Loads a value into the working copy (with room for a sparse update to grow). */
function loadWork(src: usize, len: usize): void {
  ensureWork(max(len + 8, HLL_DENSE_SIZE + 8));
  memory.copy(wb, src, len);
  wlen = len;
}

/** createHLLObject: an empty sparse HLL in the working copy. */
function createWork(): void {
  ensureWork(HLL_DENSE_SIZE + 8);
  memory.fill(wb, 0, HLL_HDR_SIZE);
  store<u8>(wb, 0x48); store<u8>(wb + 1, 0x59); store<u8>(wb + 2, 0x4c); store<u8>(wb + 3, 0x4c); // HYLL
  store<u8>(wb + 4, HLL_SPARSE);
  let p = wb + HLL_HDR_SIZE;
  let aux = HLL_REGISTERS;
  while (aux > 0) {
    const xz = min(aux, SPARSE_XZERO_MAX_LEN);
    xzeroSet(p, xz);
    p += 2;
    aux -= xz;
  }
  wlen = p - wb;
}

/** Stores the working copy as e's string value. */
function storeWork(e: Entry): void {
  const cur = e.str;
  if (cur != null && !e.isInt && <usize>cur.byteLength == wlen && changetype<usize>(cur) >= __heap_base) {
    memory.copy(changetype<usize>(cur), wb, wlen);
  } else {
    const buf = new ArrayBuffer(<i32>wlen);
    memory.copy(changetype<usize>(buf), wb, wlen);
    e.str = buf;
  }
  e.isInt = false;
  e.isRaw = true;
}

@inline function invalidateCache(hdr: usize): void { store<u8>(hdr + 15, load<u8>(hdr + 15) | 0x80); }

// ---- sparse opcodes --------------------------------------------------------------------------------

@inline function isZero(p: usize): bool { return (load<u8>(p) & 0xc0) == 0; }
@inline function isXZero(p: usize): bool { return (load<u8>(p) & 0xc0) == 0x40; }
@inline function zeroLen(p: usize): i32 { return (<i32>load<u8>(p) & 0x3f) + 1; }
@inline function xzeroLen(p: usize): i32 { return (((<i32>load<u8>(p) & 0x3f) << 8) | <i32>load<u8>(p + 1)) + 1; }
@inline function valValue(p: usize): u32 { return ((<u32>load<u8>(p) >> 2) & 0x1f) + 1; }
@inline function valLen(p: usize): i32 { return (<i32>load<u8>(p) & 0x3) + 1; }
@inline function valSet(p: usize, v: u32, len: i32): void { store<u8>(p, <u8>(((v - 1) << 2) | <u32>(len - 1) | 0x80)); }
@inline function zeroSet(p: usize, len: i32): void { store<u8>(p, <u8>(len - 1)); }
@inline function xzeroSet(p: usize, len: i32): void {
  const l = len - 1;
  store<u8>(p, <u8>((l >> 8) | 0x40));
  store<u8>(p + 1, <u8>(l & 0xff));
}

/** hllSparseToDense on the working copy; false when the sparse data is corrupt. */
const denseTmp: usize = heap.alloc(HLL_DENSE_SIZE);
function workToDense(): bool {
  if (load<u8>(wb + 4) == HLL_DENSE) return true;
  memory.fill(denseTmp, 0, HLL_DENSE_SIZE);
  memory.copy(denseTmp, wb, HLL_HDR_SIZE);
  store<u8>(denseTmp + 4, HLL_DENSE);
  const regs = denseTmp + HLL_HDR_SIZE;
  let p = wb + HLL_HDR_SIZE;
  const end = wb + wlen;
  let idx = 0;
  while (p < end) {
    if (isZero(p)) { idx += zeroLen(p); p++; }
    else if (isXZero(p)) {
      if (p + 1 >= end) return false;
      idx += xzeroLen(p); p += 2;
    } else {
      let runlen = valLen(p);
      const v = valValue(p);
      if (runlen + idx > HLL_REGISTERS) break;
      while (runlen-- > 0) { denseSetRaw(regs, idx, v); idx++; }
      p++;
    }
  }
  if (idx != HLL_REGISTERS) return false;
  ensureWork(HLL_DENSE_SIZE + 8);
  memory.copy(wb, denseTmp, HLL_DENSE_SIZE);
  wlen = HLL_DENSE_SIZE;
  return true;
}

/** hllSparseSet on the working copy: 1 changed, 0 unchanged, -1 corrupt. May promote to dense. */
function sparseSet(index: i32, count: u32): i32 {
  if (count > SPARSE_VAL_MAX_VALUE) return promote(index, count);
  ensureWork(wlen + 8);
  const sparse = wb + HLL_HDR_SIZE;
  let p = sparse;
  let end = wb + wlen;
  let first = 0, span = 0;
  let prev: usize = 0;
  while (p < end) {
    let oplen: usize = 1;
    if (isZero(p)) span = zeroLen(p);
    else if ((load<u8>(p) & 0x80) != 0) span = valLen(p);
    else { span = xzeroLen(p); oplen = 2; }
    if (index <= first + span - 1) break;
    prev = p;
    p += oplen;
    first += span;
  }
  if (span == 0 || p >= end) return -1;
  let next: usize = isXZero(p) ? p + 2 : p + 1;
  if (next >= end) next = 0;

  let isZ = false, isXZ = false, isV = false;
  let runlen = 0;
  if (isZero(p)) { isZ = true; runlen = zeroLen(p); }
  else if (isXZero(p)) { isXZ = true; runlen = xzeroLen(p); }
  else { isV = true; runlen = valLen(p); }

  let updated = false;
  if (isV) {
    const old = valValue(p);
    if (old >= count) return 0;
    if (runlen == 1) { valSet(p, count, 1); updated = true; }
  }
  if (!updated && isZ && runlen == 1) { valSet(p, count, 1); updated = true; }
  if (!updated) {
    // Replace the opcode with up to 3 (5 bytes): the part before, the new VAL, the part after.
    const seq = seqBuf;
    let n = seq;
    const last = first + span - 1;
    if (isZ || isXZ) {
      if (index != first) {
        const len = index - first;
        if (len > SPARSE_ZERO_MAX_LEN) { xzeroSet(n, len); n += 2; } else { zeroSet(n, len); n++; }
      }
      valSet(n, count, 1); n++;
      if (index != last) {
        const len = last - index;
        if (len > SPARSE_ZERO_MAX_LEN) { xzeroSet(n, len); n += 2; } else { zeroSet(n, len); n++; }
      }
    } else {
      const curval = valValue(p);
      if (index != first) { valSet(n, curval, index - first); n++; }
      valSet(n, count, 1); n++;
      if (index != last) { valSet(n, curval, last - index); n++; }
    }
    const seqlen = <isize>(n - seq);
    const oldlen: isize = isXZ ? 2 : 1;
    const deltalen = seqlen - oldlen;
    if (deltalen > 0 && <i64>wlen + <i64>deltalen > sparseMaxBytes) return promote(index, count);
    if (deltalen != 0 && next != 0) memory.copy(<usize>(<isize>next + deltalen), next, end - next);
    wlen = <usize>(<isize>wlen + deltalen);
    memory.copy(p, seq, <usize>seqlen);
    end = <usize>(<isize>end + deltalen);
  }
  // Merge adjacent VAL opcodes of the same value (up to 5 opcodes from prev).
  p = prev != 0 ? prev : sparse;
  let scan = 5;
  while (p < end && scan-- > 0) {
    if (isXZero(p)) { p += 2; continue; }
    if (isZero(p)) { p++; continue; }
    if (p + 1 < end && (load<u8>(p + 1) & 0x80) != 0) {
      const v1 = valValue(p), v2 = valValue(p + 1);
      if (v1 == v2) {
        const len = valLen(p) + valLen(p + 1);
        if (len <= SPARSE_VAL_MAX_LEN) {
          valSet(p + 1, v1, len);
          memory.copy(p, p + 1, end - p - 1);
          wlen--;
          end--;
          continue;
        }
      }
    }
    p++;
  }
  invalidateCache(wb);
  return 1;
}
const seqBuf: usize = heap.alloc(8);

function promote(index: i32, count: u32): i32 {
  if (!workToDense()) return -1;
  denseSet(wb + HLL_HDR_SIZE, index, count);
  return 1;
}

/** hllAdd on the working copy: 1 changed, 0 not, -1 corrupt. */
function workAdd(ele: usize, len: i32): i32 {
  const count = patLen(ele, len);
  const enc = load<u8>(wb + 4);
  if (enc == HLL_DENSE) return denseSet(wb + HLL_HDR_SIZE, patIndex, count);
  if (enc == HLL_SPARSE) return sparseSet(patIndex, count);
  return -1;
}

// ---- counting ------------------------------------------------------------------------------------

const reghisto: usize = heap.alloc(64 * 4);
let histoInvalid = false;

@inline function histoAdd(v: u32, n: i32): void {
  const q = reghisto + (<usize>v << 2);
  store<i32>(q, load<i32>(q) + n);
}

function histogram(hdr: usize, len: usize, encoding: u8): void {
  memory.fill(reghisto, 0, 64 * 4);
  histoInvalid = false;
  const regs = hdr + HLL_HDR_SIZE;
  if (encoding == HLL_DENSE) {
    for (let i = 0; i < HLL_REGISTERS; i++) histoAdd(denseGet(regs, i), 1);
  } else if (encoding == HLL_SPARSE) {
    let p = regs;
    const end = hdr + len;
    let idx = 0;
    while (p < end) {
      if (isZero(p)) { const r = zeroLen(p); idx += r; histoAdd(0, r); p++; }
      else if (isXZero(p)) {
        if (p + 1 >= end) { histoInvalid = true; return; }
        const r = xzeroLen(p); idx += r; histoAdd(0, r); p += 2;
      } else { const r = valLen(p); idx += r; histoAdd(valValue(p), r); p++; }
    }
    if (idx != HLL_REGISTERS) histoInvalid = true;
  } else {
    // HLL_RAW: one byte per register (PFCOUNT of several keys).
    for (let i = 0; i < HLL_REGISTERS; i++) histoAdd(<u32>load<u8>(regs + <usize>i), 1);
  }
}

function hllSigma(x: f64): f64 {
  if (x == 1.0) return Infinity;
  let zPrime: f64;
  let y: f64 = 1;
  let z = x;
  do {
    x *= x;
    zPrime = z;
    z += x * y;
    y += y;
  } while (zPrime != z);
  return z;
}

function hllTau(x: f64): f64 {
  if (x == 0.0 || x == 1.0) return 0.0;
  let zPrime: f64;
  let y: f64 = 1.0;
  let z = 1 - x;
  do {
    x = Math.sqrt(x);
    zPrime = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
  } while (zPrime != z);
  return z / 3;
}

@inline function h(i: i32): f64 { return <f64>load<i32>(reghisto + (<usize>i << 2)); }

/** hllCount; histoInvalid tells whether a sparse value was corrupt. */
function hllCount(hdr: usize, len: usize, encoding: u8): u64 {
  histogram(hdr, len, encoding);
  const m: f64 = <f64>HLL_REGISTERS;
  let z = m * hllTau((m - h(HLL_Q + 1)) / m);
  for (let j = HLL_Q; j >= 1; --j) {
    z += h(j);
    z *= 0.5;
  }
  z += m * hllSigma(h(0) / m);
  // llroundl: round half away from zero (the value is positive).
  return <u64>Math.floor(HLL_ALPHA_INF * m * m / z + 0.5);
}

// ---- validation and merging ------------------------------------------------------------------------

/** isHLLObjectOrReply: a raw string with the HYLL header and a known, well-sized encoding. */
function isHLLOrReply(e: Entry): bool {
  if (e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return false; }
  if (e.isInt || e.str == null) { addError(ERR_NOT_HLL); return false; }
  const p = changetype<usize>(e.str!);
  const len = <usize>e.str!.byteLength;
  if (len < HLL_HDR_SIZE || load<u8>(p) != 0x48 || load<u8>(p + 1) != 0x59 || load<u8>(p + 2) != 0x4c ||
      load<u8>(p + 3) != 0x4c || load<u8>(p + 4) > HLL_SPARSE ||
      (load<u8>(p + 4) == HLL_DENSE && len != HLL_DENSE_SIZE)) {
    addError(ERR_NOT_HLL);
    return false;
  }
  return true;
}

/** hllMerge: max[i] = max(max[i], register i of the value); false when corrupt. */
function hllMerge(maxRegs: usize, e: Entry): bool {
  const hdr = changetype<usize>(e.str!);
  const len = <usize>e.str!.byteLength;
  const regs = hdr + HLL_HDR_SIZE;
  if (load<u8>(hdr + 4) == HLL_DENSE) {
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const v = <u8>denseGet(regs, i);
      if (v > load<u8>(maxRegs + <usize>i)) store<u8>(maxRegs + <usize>i, v);
    }
    return true;
  }
  let p = regs;
  const end = hdr + len;
  let i = 0;
  while (p < end) {
    if (isZero(p)) { i += zeroLen(p); p++; }
    else if (isXZero(p)) {
      if (p + 1 >= end) return false;
      i += xzeroLen(p); p += 2;
    } else {
      let runlen = valLen(p);
      const v = <u8>valValue(p);
      if (runlen + i > HLL_REGISTERS) break;
      while (runlen-- > 0) {
        if (v > load<u8>(maxRegs + <usize>i)) store<u8>(maxRegs + <usize>i, v);
        i++;
      }
      p++;
    }
  }
  return i == HLL_REGISTERS;
}

// ---- commands ----------------------------------------------------------------------------------

function pfaddCommand(): void {
  const keyPtr = argPtr(1), keyLen = argLen(1);
  let e = lookupKeyWrite(db, keyPtr, keyLen);
  let updated = 0;
  if (e == null) {
    createWork();
    updated++;
  } else {
    if (!isHLLOrReply(e)) return;
    loadWork(changetype<usize>(e.str!), <usize>e.str!.byteLength);
  }
  for (let j = 2; j < argc; j++) {
    const r = workAdd(argPtr(j), <i32>argLen(j));
    if (r == 1) updated++;
    else if (r == -1) { addError(ERR_INVALID); return; }
  }
  if (updated) {
    invalidateCache(wb);
    if (e == null) e = dbAdd(db, keyPtr, keyLen);
    storeWork(e);
    addDirty(updated);
  }
  addInt(updated ? 1 : 0);
}

const mergeRegs: usize = heap.alloc(HLL_HDR_SIZE + <usize>HLL_REGISTERS);

function pfcountCommand(): void {
  if (argc > 2) {
    memory.fill(mergeRegs, 0, HLL_HDR_SIZE + <usize>HLL_REGISTERS);
    for (let j = 1; j < argc; j++) {
      const e = lookupKeyRead(db, argPtr(j), argLen(j));
      if (e == null) continue;
      if (!isHLLOrReply(e)) return;
      if (!hllMerge(mergeRegs + HLL_HDR_SIZE, e)) { addError(ERR_INVALID); return; }
    }
    addInt(<i64>hllCount(mergeRegs, HLL_HDR_SIZE + <usize>HLL_REGISTERS, HLL_RAW));
    return;
  }
  const e = lookupKeyRead(db, argPtr(1), argLen(1));
  if (e == null) { addInt(0); return; }
  if (!isHLLOrReply(e)) return;
  const hdr = changetype<usize>(e.str!);
  if ((load<u8>(hdr + 15) & 0x80) == 0) {
    addInt(<i64>load<u64>(hdr + 8));
    return;
  }
  const card = hllCount(hdr, <usize>e.str!.byteLength, load<u8>(hdr + 4));
  if (histoInvalid) { addError(ERR_INVALID); return; }
  // The cached cardinality is part of the value: a write Redis propagates (and WATCH sees).
  if (hdr < __heap_base) {
    loadWork(hdr, <usize>e.str!.byteLength);
    store<u64>(wb + 8, card);
    storeWork(e);
  } else {
    store<u64>(hdr + 8, card);
  }
  e.isRaw = true;
  addDirty(1);
  forcePropagation();
  addInt(<i64>card);
}

const mergeMax: usize = heap.alloc(<usize>HLL_REGISTERS);

function pfmergeCommand(): void {
  memory.fill(mergeMax, 0, <usize>HLL_REGISTERS);
  let useDense = false;
  for (let j = 1; j < argc; j++) {
    const e = lookupKeyRead(db, argPtr(j), argLen(j));
    if (e == null) continue;
    if (!isHLLOrReply(e)) return;
    if (load<u8>(changetype<usize>(e.str!) + 4) == HLL_DENSE) useDense = true;
    if (!hllMerge(mergeMax, e)) { addError(ERR_INVALID); return; }
  }
  const keyPtr = argPtr(1), keyLen = argLen(1);
  let e = lookupKeyWrite(db, keyPtr, keyLen);
  if (e == null) createWork();
  else loadWork(changetype<usize>(e.str!), <usize>e.str!.byteLength);
  if (useDense && !workToDense()) { addError(ERR_INVALID); return; }
  for (let j = 0; j < HLL_REGISTERS; j++) {
    const v = <u32>load<u8>(mergeMax + <usize>j);
    if (v == 0) continue;
    if (load<u8>(wb + 4) == HLL_DENSE) denseSet(wb + HLL_HDR_SIZE, j, v);
    else sparseSet(j, v);
  }
  invalidateCache(wb);
  if (e == null) e = dbAdd(db, keyPtr, keyLen);
  storeWork(e);
  addDirty(1);
  addOk();
}

function subcommandArityError(cmd: string): void {
  addError("Wrong number of arguments for the '" + cmd + "' subcommand");
}

function pfdebugCommand(): void {
  const e = lookupKeyWrite(db, argPtr(2), argLen(2));
  if (e == null) { addError("The specified key does not exist"); return; }
  if (!isHLLOrReply(e)) return;
  const hdr = changetype<usize>(e.str!);
  const len = <usize>e.str!.byteLength;
  const cmd = argString(1);
  if (argIs(1, "getreg")) {
    if (argc != 3) { subcommandArityError(cmd); return; }
    loadWork(hdr, len);
    if (load<u8>(wb + 4) == HLL_SPARSE) {
      if (!workToDense()) { addError(ERR_INVALID); return; }
      storeWork(e);
      addDirty(1);
    }
    addArrayLen(HLL_REGISTERS);
    for (let j = 0; j < HLL_REGISTERS; j++) addInt(<i64>denseGet(wb + HLL_HDR_SIZE, j));
  } else if (argIs(1, "decode")) {
    if (argc != 3) { subcommandArityError(cmd); return; }
    if (load<u8>(hdr + 4) != HLL_SPARSE) { addError("HLL encoding is not sparse"); return; }
    let s = "";
    let p = hdr + HLL_HDR_SIZE;
    const end = hdr + len;
    while (p < end) {
      if (isZero(p)) { s += "z:" + zeroLen(p).toString() + " "; p++; }
      else if (isXZero(p)) {
        const r = p + 1 < end ? xzeroLen(p) : ((<i32>load<u8>(p) & 0x3f) << 8) + 1;
        s += "Z:" + r.toString() + " "; p += 2;
      } else { s += "v:" + valValue(p).toString() + "," + valLen(p).toString() + " "; p++; }
    }
    if (s.length > 0) s = s.substring(0, s.length - 1);
    const b = String.UTF8.encode(s);
    addBulk(changetype<usize>(b), <usize>b.byteLength);
  } else if (argIs(1, "encoding")) {
    if (argc != 3) { subcommandArityError(cmd); return; }
    addStatus(load<u8>(hdr + 4) == HLL_DENSE ? "dense" : "sparse");
  } else if (argIs(1, "todense")) {
    if (argc != 3) { subcommandArityError(cmd); return; }
    let conv = 0;
    if (load<u8>(hdr + 4) == HLL_SPARSE) {
      loadWork(hdr, len);
      if (!workToDense()) { addError(ERR_INVALID); return; }
      storeWork(e);
      conv = 1;
      addDirty(1);
    }
    addInt(conv);
  } else {
    addError("Unknown PFDEBUG subcommand '" + cmd + "'");
  }
}

/** PFSELFTEST: register packing, and dense vs sparse agreement and error bounds up to 10M elements. */
function pfselftestCommand(): void {
  const dense: usize = heap.alloc(HLL_DENSE_SIZE);
  const bytecounters: usize = heap.alloc(<usize>HLL_REGISTERS);
  const regs = dense + HLL_HDR_SIZE;
  const ele: usize = heap.alloc(8);
  let ok = true;
  for (let j = 0; j < 1000 && ok; j++) {
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const r = random32() & HLL_REGISTER_MAX;
      store<u8>(bytecounters + <usize>i, <u8>r);
      denseSetRaw(regs, i, r);
    }
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const v = denseGet(regs, i);
      if (v != <u32>load<u8>(bytecounters + <usize>i)) {
        addError("TESTFAILED Register " + i.toString() + " should be " + load<u8>(bytecounters + <usize>i).toString() + " but is " + v.toString());
        ok = false;
        break;
      }
    }
  }
  if (ok) {
    memory.fill(dense, 0, HLL_DENSE_SIZE);
    store<u8>(dense + 4, HLL_DENSE);
    createWork();
    const relerr = 1.04 / Math.sqrt(<f64>HLL_REGISTERS);
    let checkpoint: i64 = 1;
    const seed: u64 = <u64>random32() | (<u64>random32() << 32);
    for (let j: i64 = 1; j <= 10000000; j++) {
      store<u64>(ele, <u64>j ^ seed);
      const count = patLen(ele, 8);
      denseSet(regs, patIndex, count);
      workAdd(ele, 8);
      if (j != checkpoint) continue;
      if (j < sparseMaxBytes / 2 && load<u8>(wb + 4) != HLL_SPARSE) { addError("TESTFAILED sparse encoding not used"); ok = false; break; }
      const cd = hllCount(dense, HLL_DENSE_SIZE, HLL_DENSE);
      if (cd != hllCount(wb, wlen, load<u8>(wb + 4))) { addError("TESTFAILED dense/sparse disagree"); ok = false; break; }
      let abserr = checkpoint - <i64>cd;
      let maxerr = <i64>Math.ceil(relerr * 6 * <f64>checkpoint);
      if (j == 10) maxerr = 1;
      if (abserr < 0) abserr = -abserr;
      if (abserr > maxerr) {
        addError("TESTFAILED Too big error. card:" + checkpoint.toString() + " abserr:" + abserr.toString());
        ok = false;
        break;
      }
      checkpoint *= 10;
    }
  }
  heap.free(dense);
  heap.free(bytecounters);
  heap.free(ele);
  if (ok) addOk();
}
