// ReplyBatch: the reply bytes of one socket read, gathered so the socket gets one write.
//
// Profiles of pipelined runs (redis-benchmark -P 16) showed ~30% of the server's busy time
// in writev: cork/uncork gathered every kernel call's output and every host reply into
// its own small Buffer, and libuv wrote them as a vector of hundreds of pieces. Replies
// are copied instead into one shared scratch area and leave as one write. Only one
// client's input runs at a time (a host command that wakes another client writes that
// client's socket directly, outside any batch), so one scratch area serves every client:
// the batch belongs to whoever began it, and a second begin while it is open is refused.
//
// The scratch area itself is what the socket writes (no copy into a Buffer per read, and no
// allocation: a 16 KiB reply of GET -d 1024 -P 16 no longer makes a new ArrayBuffer per read
// for the garbage collector). A write usually completes inside socket.write (libuv writes at
// once when the socket can take it); when it does not, the socket keeps the scratch bytes
// until it can send them, so the writer says so (scratchWritten(true)) and the next batch
// gathers into a new scratch area.
//
// A batch held to the event-loop turn's end (src/server/turn-end-replies.ts) stays where it
// was gathered: its bytes in the scratch area are kept (held below `base`) and the next batch
// is gathered after them, so holding a reply copies nothing. A scratch area the held bytes
// fill is set aside for the turn and the batch moves to a spare one; at the turn's end, once
// the held bytes went out, the areas are reused (turnEndScratch).

// The global `Buffer` is a getter (node's lazy bootstrap): a module binding is a plain load.
import { Buffer } from "node:buffer";

/** Host-owned replies at least this big are written as they are, not copied. */
const BIG = 16 * 1024;
const SCRATCH_BYTES = 64 * 1024;

let scratch: Buffer = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
/** Bytes [0, base) of the scratch area are held to the turn's end; the batch starts at base. */
let base = 0;
let used = 0;
/** Scratch areas full of held bytes, set aside until the turn's end. */
let setAside: Buffer[] = [];
/** Scratch areas to reuse (set aside in an earlier turn whose held bytes all went out). */
const spare: Buffer[] = [];
/** Spare areas kept at most (the rest are left to the garbage collector). */
const MAX_SPARE = 16;
/** Pieces sealed before the scratch area filled up (or big replies), in order. */
let pieces: Buffer[] = [];
let piecesLen = 0;
let owner: object | null = null;

/** Opens the batch for owner; false if another batch is open (then write directly). */
export function beginBatch(who: object): boolean {
  if (owner !== null) return false;
  owner = who;
  return true;
}

/** Whether who's batch is open. */
export function batchOpen(who: object): boolean {
  return owner === who;
}

/** Bytes gathered and not yet taken. */
export function batchLength(): number {
  return piecesLen + used - base;
}

/**
 * Appends reply bytes. `owned`: b is a Buffer nobody will modify (a host reply), so a big
 * one can be kept as is; otherwise (a view of kernel memory) it is copied.
 */
export function appendToBatch(b: Uint8Array, owned: boolean): void {
  const n = b.length;
  if (n >= BIG && owned && Buffer.isBuffer(b)) {
    seal();
    pieces.push(b);
    piecesLen += n;
    return;
  }
  if (used + n > scratch.length && !makeRoom(n)) {
    // set() is a plain memory copy; Buffer.from(view) took the array-like path (GET of 64 MB).
    const out = Buffer.allocUnsafeSlow(n);
    out.set(b);
    pieces.push(out);
    piecesLen += n;
    return;
  }
  scratch.set(b, used);
  used += n;
}

/**
 * Appends mem[ptr, ptr + len) (a kernel call's output). A short one is copied byte by byte:
 * a view per call (mem.subarray) was a typed array allocated per kernel call, and with several
 * shards a pipelined read makes one call per shard switch (~12 per 16 commands of random keys).
 */
export function appendMemToBatch(mem: Uint8Array, ptr: number, len: number): void {
  if (len > SHORT_COPY || used + len > scratch.length) return appendToBatch(mem.subarray(ptr, ptr + len), false);
  const s = scratch;
  let u = used;
  for (let i = ptr, e = ptr + len; i < e; i++) s[u++] = mem[i];
  used = u;
}

/**
 * The scratch area with room for n more bytes from batchUsed() on (what it held is sealed
 * first when it has too little room left), or null when n is more than the whole area: for a
 * caller that copies many short ranges itself (deferred-runs.ts joins the replies of a read
 * split between shards), then calls batchCommit. Nothing else may append in between.
 */
export function batchRoom(n: number): Buffer | null {
  if (used + n <= scratch.length) return scratch;
  return makeRoom(n) ? scratch : null;
}

/**
 * The scratch area has no room for n more bytes: what the batch gathered there moves to a
 * piece of its own, and when held bytes leave too little room, the batch moves to a spare
 * area. False when n is more than a whole area.
 */
function makeRoom(n: number): boolean {
  seal();
  if (used + n <= scratch.length) return true;
  if (base === 0 || n > SCRATCH_BYTES) return false;
  setAsideScratch();
  return true;
}

/** The scratch area keeps held bytes until the turn's end; the batch goes on in a spare one. */
function setAsideScratch(): void {
  setAside.push(scratch);
  scratch = freshScratch();
  base = used = 0;
}

/** A scratch area no socket refers to: a spare one, or a new one. */
function freshScratch(): Buffer {
  return spare.pop() ?? Buffer.allocUnsafeSlow(SCRATCH_BYTES);
}

/** Where the next byte goes in the scratch area. */
export function batchUsed(): number {
  return used;
}

/** After writing the scratch area from batchUsed() up to u (batchRoom). */
export function batchCommit(u: number): void {
  used = u;
}

/**
 * Longest output appendMemToBatch copies by hand. The loop costs ~2-4 ns a byte, a view and
 * set() ~150-250 ns whatever the length (node 20, this VM): the loop wins for a random-key
 * read's one-reply calls (10-20 bytes), set() for a whole -P 16 read's replies in one call
 * (SET 80 bytes, GET 144, RPUSH ~176; at 256 the loop was 2.4% of RPUSH -P 16's samples).
 */
const SHORT_COPY = 64;

/** Appends a reply part held as a latin1 string (ReplyWriter's parts), or a host-owned Buffer. */
export function appendPartToBatch(part: Buffer | string): void {
  if (typeof part !== "string") return appendToBatch(part, true);
  const n = part.length;
  if (n >= BIG) {
    seal();
    pieces.push(Buffer.from(part, "latin1"));
    piecesLen += n;
    return;
  }
  if (used + n > scratch.length) makeRoom(n);
  if (n < SHORT) {
    // A short reply (":1\r\n", "+OK\r\n") is copied char by char: scratch.write is a call
    // into C++ (StringBytes::Write) costing more than the copy (~2% of SADD -P 16). Below
    // V8's shortest cons string (13), a string is always flat, so charCodeAt is a plain load.
    for (let i = 0; i < n; i++) scratch[used + i] = part.charCodeAt(i);
    used += n;
    return;
  }
  used += scratch.write(part, used, "latin1");
}

/** Strings shorter than this are copied into the scratch area by hand (appendPartToBatch). */
const SHORT = 13;

/** The scratch area filled up mid-batch: its bytes move to a piece of their own. */
function seal(): void {
  const n = used - base;
  if (n === 0) return;
  // allocUnsafe takes small sizes from Node's shared pool: no new ArrayBuffer per read.
  const out = Buffer.allocUnsafe(n);
  scratch.copy(out, 0, base, used);
  pieces.push(out);
  piecesLen += n;
  used = base;
}

/**
 * Takes the gathered bytes (empty when none), leaving the batch open. The last piece may be
 * a view of the scratch area: once it is handed to the socket, call scratchWritten(). `hold`:
 * the bytes wait for the turn's end (turn-end-replies.ts), so the view's bytes are kept until
 * then (turnEndScratch) and the next batch is gathered after them.
 */
export function takeBatch(hold = false): Buffer[] {
  let out: Buffer[];
  if (pieces.length === 0) {
    // The usual read: its replies all in the scratch area. No array and, for a length seen
    // last time, no view is made (three allocations a read at -P 1, where a read is one
    // command: ~1% of SET -P 1's samples).
    if (used === base) return NONE;
    out = single;
    out[0] = scratchView();
  } else {
    out = pieces;
    if (used > base) out.push(scratchView());
    pieces = [];
    piecesLen = 0;
  }
  if (!hold) used = base;
  else {
    base = used;
    // Little room left for the next batches: they go on in a spare area.
    if (scratch.length - base < SCRATCH_BYTES / 4) setAsideScratch();
  }
  return out;
}

const NONE = Object.freeze([]) as unknown as Buffer[];
/** takeBatch's answer for one piece: valid until the next takeBatch (the caller writes it at once). */
const single: Buffer[] = [];
/** The last view of the scratch area made, reused while the area, start and length are the same. */
let view: Buffer | null = null;
let viewOf: Buffer | null = null;
let viewFrom = 0;
/** The batch's bytes in the scratch area, [base, used). */
function scratchView(): Buffer {
  const n = used - base;
  if (view === null || view.length !== n || viewOf !== scratch || viewFrom !== base) {
    view = scratch.subarray(base, used);
    viewOf = scratch;
    viewFrom = base;
  }
  return view;
}

/**
 * What takeBatch() returned went to a socket. `held`: the socket did not send it all at once
 * (its writableLength is not 0), so it still refers to the scratch bytes: gather the next
 * batch elsewhere.
 */
export function scratchWritten(held: boolean): void {
  if (!held) return;
  // Held bytes below base still view the old area: it stays theirs (never reused).
  scratch = freshScratch();
  base = used = 0;
}

/**
 * The turn's end: the held bytes were handed to their sockets. `queued`: some socket did not
 * send all at once and still refers to its bytes, so the areas that held them are not reused.
 * Nothing is recycled while a batch is open (a SHUTDOWN's reply gathering): the next turn's
 * end does it (false).
 */
export function turnEndScratch(queued: boolean): boolean {
  if (owner !== null) return false;
  if (base === 0 && setAside.length === 0) return true;
  if (queued) {
    setAside = [];
    if (base > 0) scratch = freshScratch();
  } else {
    for (const s of setAside) if (spare.length < MAX_SPARE) spare.push(s);
    setAside.length = 0;
  }
  base = used = 0;
  return true;
}

/** Closes who's batch, dropping anything not taken. */
export function endBatch(who: object): void {
  if (owner !== who) return;
  owner = null;
  used = base;
  pieces = [];
  piecesLen = 0;
}
