// ReplyBatch: the reply bytes of one socket read, gathered so the socket gets one write.
//
// Profiles of pipelined runs (redis-benchmark -P 16) showed ~30% of the server's busy time
// in writev: cork/uncork gathered every kernel call's output and every host reply into
// its own small Buffer, and libuv wrote them as a vector of hundreds of pieces. Replies
// are copied instead into one shared scratch area and leave as one Buffer (a big reply
// goes as its own piece, uncopied when the host owns it). Only one client's input runs
// at a time (a host command that wakes another client writes that client's socket
// directly, outside any batch), so one scratch area serves every client: the batch
// belongs to whoever began it, and a second begin while it is open is refused.

/** Replies at least this big are not copied into the scratch area. */
const BIG = 16 * 1024;

const scratch = Buffer.allocUnsafe(64 * 1024);
let used = 0;
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
  return piecesLen + used;
}

/**
 * Appends reply bytes. `owned`: b is a Buffer nobody will modify (a host reply), so a big
 * one can be kept as is; otherwise (a view of kernel memory) it is copied.
 */
export function appendToBatch(b: Uint8Array, owned: boolean): void {
  const n = b.length;
  if (n >= BIG) {
    seal();
    pieces.push(owned && Buffer.isBuffer(b) ? b : Buffer.from(b));
    piecesLen += n;
    return;
  }
  if (used + n > scratch.length) seal();
  scratch.set(b, used);
  used += n;
}

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
  if (used + n > scratch.length) seal();
  used += scratch.write(part, used, "latin1");
}

function seal(): void {
  if (used === 0) return;
  pieces.push(copyOut());
  piecesLen += used;
  used = 0;
}

function copyOut(): Buffer {
  // allocUnsafe takes small sizes from Node's shared pool: no new ArrayBuffer per read.
  const out = Buffer.allocUnsafe(used);
  scratch.copy(out, 0, 0, used);
  return out;
}

/** Takes the gathered bytes (empty when none), leaving the batch open. */
export function takeBatch(): Buffer[] {
  seal();
  const out = pieces;
  pieces = [];
  piecesLen = 0;
  return out;
}

/** Closes who's batch, dropping anything not taken. */
export function endBatch(who: object): void {
  if (owner !== who) return;
  owner = null;
  used = 0;
  pieces = [];
  piecesLen = 0;
}
