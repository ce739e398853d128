// RESP2 request parser: multibulk ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") and inline ("GET k\r\n").
//
// parseCommand() looks at [pos, end) of the input region and either finds one whole command
// (argv then points into the input, or into inlineScratch for inline commands, which need
// unescaping), or reports that more bytes are needed, or reports a protocol error with
// Redis's exact message (networking.c processMultibulkBuffer / processInlineBuffer).
// It keeps no state between calls: the host re-feeds an incomplete tail with more bytes.

import { string2ll, parsedInt } from "../util/number";

export const PARSE_INCOMPLETE: i32 = 0;
export const PARSE_OK: i32 = 1;
export const PARSE_EMPTY: i32 = 2; // "*0\r\n", "*-1\r\n" or a blank inline line: skip it
export const PARSE_ERROR: i32 = -1;

const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;
export let protoMaxBulkLen: i64 = 512 * 1024 * 1024;
/** The client must still authenticate: Redis caps its multibulk count at 10 and bulks at 16384. */
export let unauthenticated = false;

// The parsed command: argc pairs of (pointer, length).
export let argc: i32 = 0;
let argvCap: i32 = 64;
export let argvPtr: usize = heap.alloc(<usize>argvCap * 8); // [ptr:u32, len:u32] per argument

/** Position just past the command parseCommand() found. */
export let nextPos: usize = 0;
/** With PARSE_INCOMPLETE: the smallest total input length that could complete the command. */
export let needBytes: usize = 0;
/** With PARSE_ERROR: the error message (without "-ERR "). */
export let protoError: string = "";

/** Shortens the argv (a handler rewriting what the effect log records, e.g. EXPIRE -> DEL). */
export function truncateArgv(n: i32): void { if (n < argc) argc = n; }

/** Empties the argv, for a command whose arguments come already parsed (appendArg each; cluster/deferred.ts). */
export function resetArgv(): void { argc = 0; }

/** Lengthens the argv (a handler rewriting what the effect log records, e.g. SET ... PXAT ms). */
export function appendArg(ptr: usize, len: usize): void { pushArg(ptr, len); }

@inline export function argPtr(i: i32): usize { return <usize>load<u32>(argvPtr + (<usize>i << 3)); }
@inline export function argLen(i: i32): usize { return <usize>load<u32>(argvPtr + (<usize>i << 3) + 4); }

function pushArg(ptr: usize, len: usize): void {
  if (argc == argvCap) {
    argvCap <<= 1;
    argvPtr = heap.realloc(argvPtr, <usize>argvCap * 8);
  }
  const slot = argvPtr + (<usize>argc << 3);
  store<u32>(slot, <u32>ptr);
  store<u32>(slot + 4, <u32>len);
  argc++;
}

// The usual length line ("*3\r\n", "$3\r\n") in one pass: canonical decimal digits, then CR
// and at least one more byte. Anything else (no CR yet, a sign, a leading zero, 19 digits or
// more, any other byte) takes the general path (findCR + string2ll), which gives Redis's
// exact answer; on the usual line both agree, since digits hold no CR.
export let scannedLength: i64 = 0;

/** Where the CR after the digits from p is (their value in scannedLength), or 0: not the usual line. */
@inline export function scanLength(p: usize, end: usize): usize {
  let q = p;
  let v: i64 = 0;
  const limit = min(end, p + 18);
  while (q < limit) {
    const d = <u32>load<u8>(q) - 0x30;
    if (d > 9) break;
    v = v * 10 + <i64>d;
    q++;
  }
  if (q == p || q + 1 >= end || load<u8>(q) != 0x0d) return 0;
  if (q > p + 1 && load<u8>(p) == 0x30) return 0;
  scannedLength = v;
  return q;
}

/** Index of the first '\r' in [from, end), or -1. */
function findCR(from: usize, end: usize): isize {
  for (let p = from; p < end; p++) if (load<u8>(p) == 0x0d) return <isize>p;
  return -1;
}

export function parseCommand(pos: usize, end: usize): i32 {
  argc = 0;
  if (pos < end && load<u8>(pos) == 0x2a /* * */) return parseMultibulk(pos, end);
  partialArgs = -1;
  if (pendingResume != 0) { dropPartial(pendingResume); pendingResume = 0; }
  if (pos >= end) { needBytes = end + 1; return PARSE_INCOMPLETE; }
  return parseInline(pos, end);
}

// A multibulk that arrives over many reads is not parsed again from its start each time:
// after PARSE_INCOMPLETE the host may savePartial() the arguments parsed so far (the host
// keeps such a command's bytes together, src/server/client.ts) and resumePartial() them
// before parsing the same command again, from wherever its bytes now are; only the new
// bytes are parsed. Block layout (32 bytes): i64 count, u32 args parsed, u32 offset of the
// next argument from the command's start, u32 command start when saved, u32 argv, u32 argv
// capacity.
let partialCount: i64 = 0;
let partialArgs: i32 = -1; // -1: the last PARSE_INCOMPLETE was not inside a multibulk's arguments
let partialNext: usize = 0;
let pendingResume: usize = 0;

/** After PARSE_INCOMPLETE of the command at start: its parsed arguments as a block (0 if none). */
export function savePartial(start: usize): usize {
  if (partialArgs <= 0) return 0;
  const block = heap.alloc(32);
  store<i64>(block, partialCount);
  store<u32>(block + 8, <u32>partialArgs);
  store<u32>(block + 12, <u32>partialNext);
  store<u32>(block + 16, <u32>start);
  store<u32>(block + 20, <u32>argvPtr);
  store<u32>(block + 24, <u32>argvCap);
  argvCap = 64;
  argvPtr = heap.alloc(<usize>argvCap * 8);
  partialArgs = -1;
  return block;
}

/** The next parseCommand() continues the saved command (whose bytes start where it is called). */
export function resumePartial(block: usize): void {
  if (pendingResume != 0) dropPartial(pendingResume);
  pendingResume = block;
}

export function dropPartial(block: usize): void {
  heap.free(<usize>load<u32>(block + 20));
  heap.free(block);
}

/**
 * The parse results of the process() call whose results the host has not read yet (its argv,
 * where it stopped, its partial multibulk), set aside in frame `depth` while a nested call
 * (src/server/shard.ts callRaw, e.g. from an effect consumer) parses its own request into an
 * argv array of its own (kept in the frame for the next nested call: no allocation once warm).
 * inlineScratch is not set aside: nested requests are multibulk, and a handed-back inline
 * command's argv is read before it is routed.
 */
export const PARSE_FRAMES: i32 = 16;
const FRAME: usize = 48;
const frames: usize = heap.alloc(<usize>PARSE_FRAMES * FRAME);
memory.fill(frames, 0, <usize>PARSE_FRAMES * FRAME);

export function saveParse(depth: i32): void {
  const b = frames + <usize>depth * FRAME;
  store<u32>(b, <u32>argc);
  store<u32>(b + 4, <u32>argvPtr);
  store<u32>(b + 8, <u32>argvCap);
  store<u32>(b + 12, <u32>nextPos);
  store<u32>(b + 16, <u32>needBytes);
  store<i32>(b + 20, partialArgs);
  store<u32>(b + 24, <u32>partialNext);
  store<i64>(b + 40, partialCount);
  let spare = <usize>load<u32>(b + 28);
  let spareCap = <i32>load<u32>(b + 32);
  if (spare == 0) {
    spareCap = 64;
    spare = heap.alloc(<usize>spareCap * 8);
  }
  argvPtr = spare;
  argvCap = spareCap;
  argc = 0;
  partialArgs = -1;
}

/** Puts back what saveParse(depth) set aside; the nested call's argv array stays as the spare. */
export function restoreParse(depth: i32): void {
  const b = frames + <usize>depth * FRAME;
  store<u32>(b + 28, <u32>argvPtr);
  store<u32>(b + 32, <u32>argvCap);
  argc = <i32>load<u32>(b);
  argvPtr = <usize>load<u32>(b + 4);
  argvCap = <i32>load<u32>(b + 8);
  nextPos = <usize>load<u32>(b + 12);
  needBytes = <usize>load<u32>(b + 16);
  partialArgs = load<i32>(b + 20);
  partialNext = <usize>load<u32>(b + 24);
  partialCount = load<i64>(b + 40);
}

function parseMultibulk(start: usize, end: usize): i32 {
  let count: i64;
  let p: usize;
  const resume = pendingResume;
  partialArgs = -1;
  if (resume != 0) {
    pendingResume = 0;
    count = load<i64>(resume);
    heap.free(argvPtr);
    argvPtr = <usize>load<u32>(resume + 20);
    argvCap = <i32>load<u32>(resume + 24);
    argc = <i32>load<u32>(resume + 8);
    p = start + <usize>load<u32>(resume + 12);
    const moved = start - <usize>load<u32>(resume + 16); // the bytes may have moved: rebase
    if (moved != 0) {
      for (let i = 0; i < argc; i++) {
        const slot = argvPtr + (<usize>i << 3);
        store<u32>(slot, <u32>(<usize>load<u32>(slot) + moved));
      }
    }
    heap.free(resume);
  } else {
    let cr = scanLength(start + 1, end);
    if (cr == 0) {
      const at = findCR(start, end);
      if (at < 0 || <usize>at + 1 >= end) {
        if (end - start > PROTO_INLINE_MAX_SIZE) return fail("too big mbulk count string");
        needBytes = end + 1;
        return PARSE_INCOMPLETE;
      }
      cr = <usize>at;
      if (!string2ll(start + 1, cr - start - 1)) return fail("invalid multibulk length");
      scannedLength = parsedInt;
    }
    if (scannedLength > i32.MAX_VALUE) return fail("invalid multibulk length");
    if (unauthenticated && scannedLength > 10) return fail("unauthenticated multibulk length");
    count = scannedLength;
    p = cr + 2;
    if (count <= 0) { nextPos = p; return PARSE_EMPTY; }
  }
  while (<i64>argc < count) {
    if (p >= end) { needBytes = p + 1; return incompleteAt(start, p, count); }
    let cr: usize = load<u8>(p) == 0x24 /* $ */ ? scanLength(p + 1, end) : 0;
    if (cr == 0) {
      const at = findCR(p, end);
      if (at < 0 || <usize>at + 1 >= end) {
        if (end - p > PROTO_INLINE_MAX_SIZE) return fail("too big bulk count string");
        needBytes = end + 1;
        return incompleteAt(start, p, count);
      }
      cr = <usize>at;
      const c = load<u8>(p);
      if (c != 0x24 /* $ */) {
        return fail("expected '$', got '" + String.fromCharCode(c) + "'");
      }
      if (!string2ll(p + 1, cr - p - 1)) return fail("invalid bulk length");
      scannedLength = parsedInt;
    }
    if (scannedLength < 0 || scannedLength > protoMaxBulkLen) return fail("invalid bulk length");
    if (unauthenticated && scannedLength > 16384) return fail("unauthenticated bulk length");
    const len = <usize>scannedLength;
    const data = cr + 2;
    if (data + len + 2 > end) { needBytes = data + len + 2; return incompleteAt(start, p, count); }
    pushArg(data, len);
    // Like Redis, the two bytes after the payload are skipped without being checked.
    p = data + len + 2;
  }
  nextPos = p;
  return PARSE_OK;
}

/** PARSE_INCOMPLETE inside a multibulk: remember how far it got, for savePartial(). */
function incompleteAt(start: usize, next: usize, count: i64): i32 {
  partialCount = count;
  partialArgs = argc;
  partialNext = next - start;
  return PARSE_INCOMPLETE;
}

// Inline arguments are unescaped into this scratch region (sdssplitargs semantics).
let inlineCap: usize = 4096;
let inlineScratch: usize = heap.alloc(inlineCap);

function parseInline(start: usize, end: usize): i32 {
  let nl: usize = 0;
  let found = false;
  for (let p = start; p < end; p++) {
    if (load<u8>(p) == 0x0a) { nl = p; found = true; break; }
  }
  if (!found) {
    if (end - start > PROTO_INLINE_MAX_SIZE) return fail("too big inline request");
    needBytes = end + 1;
    return PARSE_INCOMPLETE;
  }
  nextPos = nl + 1;
  let lineEnd = nl;
  if (lineEnd > start && load<u8>(lineEnd - 1) == 0x0d) lineEnd--;
  const lineLen = lineEnd - start;
  if (lineLen + 1 > inlineCap) {
    while (inlineCap < lineLen + 1) inlineCap <<= 1;
    heap.free(inlineScratch);
    inlineScratch = heap.alloc(inlineCap);
  }
  if (!splitArgs(start, lineEnd)) return fail("unbalanced quotes in request");
  return argc == 0 ? PARSE_EMPTY : PARSE_OK;
}

@inline function isSpace(c: u32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d || c == 0x0b || c == 0x0c;
}

function hexVal(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30);
  if (c >= 0x61 && c <= 0x66) return <i32>(c - 0x61 + 10);
  if (c >= 0x41 && c <= 0x46) return <i32>(c - 0x41 + 10);
  return -1;
}

/** Redis's sdssplitargs: spaces separate, "double quotes" take C escapes, 'single' take \'. */
function splitArgs(p: usize, end: usize): bool {
  let out = inlineScratch;
  while (true) {
    while (p < end && isSpace(load<u8>(p))) p++;
    if (p >= end) return true;
    const argStart = out;
    let inq = false;  // inside "double quotes"
    let insq = false; // inside 'single quotes'
    let done = false;
    while (!done) {
      if (inq) {
        if (p >= end) return false; // unterminated quotes
        const c = <u32>load<u8>(p);
        if (c == 0x5c /* \ */ && p + 3 < end && load<u8>(p + 1) == 0x78 /* x */ &&
            hexVal(load<u8>(p + 2)) >= 0 && hexVal(load<u8>(p + 3)) >= 0) {
          store<u8>(out++, <u8>(hexVal(load<u8>(p + 2)) * 16 + hexVal(load<u8>(p + 3))));
          p += 3;
        } else if (c == 0x5c && p + 1 < end) {
          p++;
          let e = <u32>load<u8>(p);
          if (e == 0x6e) e = 0x0a;       // \n
          else if (e == 0x72) e = 0x0d;  // \r
          else if (e == 0x74) e = 0x09;  // \t
          else if (e == 0x62) e = 0x08;  // \b
          else if (e == 0x61) e = 0x07;  // \a
          store<u8>(out++, <u8>e);
        } else if (c == 0x22 /* " */) {
          // The closing quote must be followed by a space or nothing.
          if (p + 1 < end && !isSpace(load<u8>(p + 1))) return false;
          done = true;
        } else {
          store<u8>(out++, <u8>c);
        }
      } else if (insq) {
        if (p >= end) return false;
        const c = <u32>load<u8>(p);
        if (c == 0x5c && p + 1 < end && load<u8>(p + 1) == 0x27) {
          p++;
          store<u8>(out++, 0x27);
        } else if (c == 0x27) {
          if (p + 1 < end && !isSpace(load<u8>(p + 1))) return false;
          done = true;
        } else {
          store<u8>(out++, <u8>c);
        }
      } else {
        if (p >= end) { done = true; break; }
        const c = <u32>load<u8>(p);
        if (isSpace(c)) {
          done = true;
        } else if (c == 0x22) {
          inq = true;
        } else if (c == 0x27) {
          insq = true;
        } else {
          store<u8>(out++, <u8>c);
        }
      }
      if (p < end) p++;
    }
    pushArg(argStart, out - argStart);
  }
  return true;
}

function fail(msg: string): i32 {
  protoError = "Protocol error: " + msg;
  return PARSE_ERROR;
}
