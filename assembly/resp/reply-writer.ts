// ReplyWriter: the kernel's output region. Replies for every command executed in one
// process() call are appended here; the host copies [outputPtr, outputPtr+outputLen)
// to the socket in one write. The region is unmanaged memory that grows by doubling.
//
// Handlers never format RESP themselves: they call add* below, named by reply type as in
// Redis's networking.c (addReplyBulk, addReplyLongLong, addReplyError...).

import { ll2string, d2string } from "../util/number";
import { copySmall } from "../util/copy";

let cap: usize = 64 * 1024;
export let outPtr: usize = heap.alloc(cap);
export let outLen: usize = 0;

// Scratch for number formatting (an i64 is at most 20 digits, a %.17g double 24 chars).
const numScratch: usize = heap.alloc(64);

@inline function ensure(n: usize): void {
  if (outLen + n > cap) grow(n);
}

function grow(n: usize): void {
  let want = cap << 1;
  while (want < outLen + n) want <<= 1;
  outPtr = heap.realloc(outPtr, want);
  cap = want;
}

export function resetOutput(): void {
  outLen = 0;
  // Give a huge one-off reply's memory back once it has been sent.
  if (cap > 4 * 1024 * 1024) {
    heap.free(outPtr);
    cap = 64 * 1024;
    outPtr = heap.alloc(cap);
  }
}

@inline function putByte(b: u8): void {
  store<u8>(outPtr + outLen, b);
  outLen++;
}

@inline function putCRLF(): void {
  store<u16>(outPtr + outLen, 0x0a0d);
  outLen += 2;
}

export function addRaw(ptr: usize, len: usize): void {
  ensure(len);
  // Mostly a short shared reply ("+OK\r\n", ":1\r\n"): util/copy.ts.
  copySmall(outPtr + outLen, ptr, len);
  outLen += len;
}

export function addRawBuf(buf: ArrayBuffer): void {
  addRaw(changetype<usize>(buf), <usize>buf.byteLength);
}

/** Writes `prefix` + decimal n + CRLF (":", "*", "$" headers). */
function addPrefixedInt(prefix: u8, n: i64): void {
  ensure(24);
  putByte(prefix);
  outLen += ll2string(outPtr + outLen, n);
  putCRLF();
}

export function addInt(n: i64): void {
  if (n == 0) { addRawBuf(shared.czero); return; }
  if (n == 1) { addRawBuf(shared.cone); return; }
  addPrefixedInt(0x3a /* : */, n);
}

export function addArrayLen(n: i64): void {
  addPrefixedInt(0x2a /* * */, n);
}

export function addBulk(ptr: usize, len: usize): void {
  ensure(len + 24);
  const o = outPtr + outLen;
  if (len < 10) {
    // "$N\r\n" in one store
    store<u32>(o, 0x0a0d0024 | (<u32>(0x30 + len) << 8));
    outLen += 4;
  } else {
    putByte(0x24 /* $ */);
    outLen += ll2string(o + 1, <i64>len);
    putCRLF();
  }
  copySmall(outPtr + outLen, ptr, len);
  outLen += len;
  putCRLF();
}

export function addBulkBuf(buf: ArrayBuffer): void {
  addBulk(changetype<usize>(buf), <usize>buf.byteLength);
}

/** A bulk string holding the decimal form of n (GET on an int-encoded string). */
export function addBulkInt(n: i64): void {
  const len = ll2string(numScratch, n);
  addBulk(numScratch, len);
}

/** A bulk string holding a double in Redis's %.17g form (INCRBYFLOAT, HINCRBYFLOAT). */
export function addBulkDouble(d: f64, humanFriendly: bool): void {
  const len = d2string(numScratch, d, humanFriendly);
  addBulk(numScratch, len);
}

/**
 * The protocol of the client whose commands run (2, or 3 after HELLO 3): the host sets it
 * with setProtocol() before process(). RESP3 has one null and a map type; as in Redis, the
 * handlers ask for a "map" and the writer picks the encoding.
 */
export let resp: i32 = 2;
export function setResp(v: i32): void { resp = v; }

export function addNullBulk(): void { addRawBuf(resp >= 3 ? shared.null3 : shared.nullbulk); }
export function addNullArray(): void { addRawBuf(resp >= 3 ? shared.null3 : shared.nullarray); }

/** A map of n pairs: "%n" in RESP3, an array of 2n alternating keys and values in RESP2. */
export function addMapLen(n: i64): void {
  if (resp >= 3) addPrefixedInt(0x25 /* % */, n);
  else addPrefixedInt(0x2a /* * */, n * 2);
}
export function addOk(): void { addRawBuf(shared.ok); }
export function addEmptyArray(): void { addRawBuf(shared.emptyarray); }

/** "+<s>\r\n" for an ASCII string (status replies). */
export function addStatus(s: string): void {
  addAscii(0x2b /* + */, s);
}

/**
 * "-<msg>\r\n". Like Redis's addReplyError, the "ERR " prefix is added unless the message
 * already starts with an error code (an uppercase word such as WRONGTYPE).
 */
export function addError(msg: string): void {
  if (!startsWithCode(msg)) msg = "ERR " + msg;
  addAscii(0x2d /* - */, msg);
  errorCount++;
  countErrorCode(msg);
}

/**
 * "-ERR <msg>\r\n" whatever msg begins with: for messages whose first word is uppercase
 * but not an error code ("NX and XX, GT or LT options...", "DB index is out of range").
 */
export function addErrorErr(msg: string): void {
  addAscii(0x2d /* - */, "ERR " + msg);
  errorCount++;
  countErrorCode("ERR");
}

export let errorCount: i64 = 0;

// Error replies by their code word (ERR, WRONGTYPE...), for INFO errorstats: a handful of
// distinct codes, so two parallel arrays searched linearly.
export const errorCodes = new Array<ArrayBuffer>();
export const errorCodeCounts = new Array<i64>();

function countErrorCode(msg: string): void {
  const sp = msg.indexOf(" ");
  const code = String.UTF8.encode(sp < 0 ? msg : msg.substring(0, sp));
  const n = code.byteLength;
  for (let i = 0; i < errorCodes.length; i++) {
    const c = errorCodes[i];
    if (c.byteLength == n && memory.compare(changetype<usize>(c), changetype<usize>(code), n) == 0) {
      errorCodeCounts[i]++;
      return;
    }
  }
  errorCodes.push(code);
  errorCodeCounts.push(1);
}

export function resetErrorCodes(): void {
  errorCodes.length = 0;
  errorCodeCounts.length = 0;
}

function startsWithCode(msg: string): bool {
  const sp = msg.indexOf(" ");
  if (sp <= 0) return false;
  for (let i = 0; i < sp; i++) {
    const c = msg.charCodeAt(i);
    if (c < 0x41 || c > 0x5a) return false;
  }
  return true;
}

function addAscii(prefix: u8, s: string): void {
  const n = <usize>s.length;
  ensure(n + 3);
  putByte(prefix);
  for (let i: i32 = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    // Redis replaces newlines in error/status strings so the reply stays one line.
    if (c == 0x0d || c == 0x0a) c = 0x20;
    putByte(<u8>c);
  }
  putCRLF();
}

/** Pre-encoded frequent replies, like Redis's `shared` object. */
export namespace shared {
  export const ok = String.UTF8.encode("+OK\r\n");
  export const czero = String.UTF8.encode(":0\r\n");
  export const cone = String.UTF8.encode(":1\r\n");
  export const nullbulk = String.UTF8.encode("$-1\r\n");
  export const nullarray = String.UTF8.encode("*-1\r\n");
  export const null3 = String.UTF8.encode("_\r\n");
  export const emptyarray = String.UTF8.encode("*0\r\n");
  export const emptybulk = String.UTF8.encode("$0\r\n\r\n");
}
