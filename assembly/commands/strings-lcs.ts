// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN] (t_string.c lcsCommand).
//
// The classic dynamic-programming table: lcs[i*(blen+1) + j] (u32) is the LCS length of
// a[0..i) and b[0..j). It is transient, in unmanaged memory freed before returning, and
// bounded like Redis's by proto-max-bulk-len. Walking it back from (alen, blen) yields the
// LCS string and the matching ranges, emitted from the end of the strings as Redis does.

import { argc, argPtr, argLen, argIs, db, getIntOrReply, intArg, ERR_SYNTAX } from "./context";
import { defineCommand } from "./table";
import { lookupKeyRead } from "../keyspace/keyspace";
import { Entry, OBJ_STRING } from "../keyspace/entry";
import { addBulk, addBulkBuf, addError, addInt, addArrayLen, addMapLen } from "../resp/reply-writer";
import { protoMaxBulkLen } from "../resp/parser";
import { ll2string } from "../util/number";
import { BLOCK_MAXSIZE } from "rt/common";

export function registerLcsCommand(): void {
  defineCommand("lcs", lcsCommand);
}

const WORD_MATCHES = String.UTF8.encode("matches");
const WORD_LEN = String.UTF8.encode("len");

// Digits of int-encoded values (one scratch per operand).
const digitsA: usize = heap.alloc(32);
const digitsB: usize = heap.alloc(32);
let bytesPtr: usize = 0;
let bytesLen: usize = 0;

function loadBytes(e: Entry | null, scratch: usize): void {
  if (e == null) { bytesPtr = scratch; bytesLen = 0; return; }
  if (e.isInt) { bytesPtr = scratch; bytesLen = ll2string(scratch, e.intVal); return; }
  bytesPtr = e.strPtr();
  bytesLen = e.strLen();
}

function lcsCommand(): void {
  const ea = lookupKeyRead(db, argPtr(1), argLen(1));
  const eb = lookupKeyRead(db, argPtr(2), argLen(2));
  if ((ea != null && ea.type != OBJ_STRING) || (eb != null && eb.type != OBJ_STRING)) {
    addError("The specified keys must contain string values");
    return;
  }
  let getlen = false, getidx = false, withmatchlen = false;
  let minmatchlen: i64 = 0;
  for (let j = 3; j < argc; j++) {
    const moreargs = argc - 1 - j;
    if (argIs(j, "idx")) getidx = true;
    else if (argIs(j, "len")) getlen = true;
    else if (argIs(j, "withmatchlen")) withmatchlen = true;
    else if (argIs(j, "minmatchlen") && moreargs > 0) {
      if (!getIntOrReply(j + 1)) return;
      minmatchlen = intArg < 0 ? 0 : intArg;
      j++;
    } else { addError(ERR_SYNTAX); return; }
  }
  if (getlen && getidx) {
    addError("If you want both the length and indexes, please just use IDX.");
    return;
  }
  loadBytes(ea, digitsA);
  const a = bytesPtr, alen = bytesLen;
  loadBytes(eb, digitsB);
  const b = bytesPtr, blen = bytesLen;
  if (<u64>alen >= 0xfffffffe || <u64>blen >= 0xfffffffe) {
    addError("String too long for LCS");
    return;
  }
  const cells = (<u64>alen + 1) * (<u64>blen + 1);
  const bytes = cells * 4;
  if (bytes > <u64>protoMaxBulkLen) {
    addError("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    return;
  }
  // One allocation holds at most BLOCK_MAXSIZE (~1GB); refuse as Redis does on ENOMEM.
  if (bytes > <u64>BLOCK_MAXSIZE) {
    addError("Insufficient memory, failed allocating transient memory for LCS");
    return;
  }
  const stride = blen + 1;
  const lcs = heap.alloc(<usize>bytes);
  for (let i: usize = 0; i <= alen; i++) {
    const row = lcs + i * stride * 4;
    const prev = row - stride * 4;
    for (let j: usize = 0; j <= blen; j++) {
      let v: u32;
      if (i == 0 || j == 0) v = 0;
      else if (load<u8>(a + i - 1) == load<u8>(b + j - 1)) v = load<u32>(prev + (j - 1) * 4) + 1;
      else {
        const l1 = load<u32>(prev + j * 4), l2 = load<u32>(row + (j - 1) * 4);
        v = l1 > l2 ? l1 : l2;
      }
      store<u32>(row + j * 4, v);
    }
  }
  const total = load<u32>(lcs + (alen * stride + blen) * 4);
  let idx = <usize>total;
  const computelcs = getidx || !getlen;
  const result = computelcs ? new ArrayBuffer(<i32>idx) : new ArrayBuffer(0);
  const res = changetype<usize>(result);
  // Ranges found, 5 values each: a start, a end, b start, b end, match length.
  const ranges = new Array<i64>();
  let arangeStart = alen, arangeEnd: usize = 0, brangeStart: usize = 0, brangeEnd: usize = 0;
  let i = alen, j = blen;
  while (computelcs && i > 0 && j > 0) {
    let emit = false;
    if (load<u8>(a + i - 1) == load<u8>(b + j - 1)) {
      store<u8>(res + idx - 1, load<u8>(a + i - 1));
      if (arangeStart == alen) {
        arangeStart = i - 1; arangeEnd = i - 1;
        brangeStart = j - 1; brangeEnd = j - 1;
      } else if (arangeStart == i && brangeStart == j) {
        // Contiguous with the current range: extend it backwards.
        arangeStart--; brangeStart--;
      } else {
        emit = true;
      }
      if (arangeStart == 0 || brangeStart == 0) emit = true;
      idx--; i--; j--;
    } else {
      const l1 = load<u32>(lcs + ((i - 1) * stride + j) * 4);
      const l2 = load<u32>(lcs + (i * stride + j - 1) * 4);
      if (l1 > l2) i--; else j--;
      if (arangeStart != alen) emit = true;
    }
    const matchLen = <i64>arangeEnd - <i64>arangeStart + 1;
    if (emit) {
      if (getidx && (minmatchlen == 0 || matchLen >= minmatchlen)) {
        ranges.push(<i64>arangeStart); ranges.push(<i64>arangeEnd);
        ranges.push(<i64>brangeStart); ranges.push(<i64>brangeEnd);
        ranges.push(matchLen);
      }
      arangeStart = alen;
    }
  }
  heap.free(lcs);
  if (getidx) {
    addMapLen(2);
    addBulkBuf(WORD_MATCHES);
    const n = ranges.length / 5;
    addArrayLen(n);
    for (let k = 0; k < n; k++) {
      addArrayLen(withmatchlen ? 3 : 2);
      addArrayLen(2); addInt(ranges[k * 5]); addInt(ranges[k * 5 + 1]);
      addArrayLen(2); addInt(ranges[k * 5 + 2]); addInt(ranges[k * 5 + 3]);
      if (withmatchlen) addInt(ranges[k * 5 + 4]);
    }
    addBulkBuf(WORD_LEN);
    addInt(<i64>total);
  } else if (getlen) {
    addInt(<i64>total);
  } else {
    addBulk(res, <usize>total);
  }
}
