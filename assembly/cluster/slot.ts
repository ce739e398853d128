// Key -> hash slot, exactly as Redis Cluster (cluster.c keyHashSlot): CRC16/XMODEM of the key,
// or of the part between the first '{' and the next '}' when that part is non-empty, mod 16384.

export const CLUSTER_SLOTS: i32 = 16384;

// Four tables of 256 u16: table k holds the CRC of byte x followed by k zero bytes (table 0 is
// the usual one). The byte-at-a-time loop is one long dependency chain (each step's table
// index needs the previous CRC); with four tables, four bytes take four independent lookups
// XORed together (the CRC is linear in its input), so the chain is one lookup per four bytes.
// With several shards every command's keys are hashed to find their shard (~60 ns of a
// 16-byte key's GET at -P 16 went here, in `perf record` of 4 shards).
const CRC16_TABLES = memory.data(4 * 256 * 2);
let tableReady = false;

@inline function table(k: u32, x: u32): u32 {
  return <u32>load<u16>(CRC16_TABLES + ((<usize>k << 9) | (<usize>x << 1)));
}

function buildTable(): void {
  // Polynomial 0x1021, initial value 0, no reflection (XMODEM).
  for (let i: u32 = 0; i < 256; i++) {
    let crc: u32 = i << 8;
    for (let b = 0; b < 8; b++) {
      crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
    }
    store<u16>(CRC16_TABLES + (<usize>i << 1), <u16>crc);
  }
  // One more zero byte after table k-1's input: crc' = (crc << 8) ^ T0[crc >> 8].
  for (let k: u32 = 1; k < 4; k++) {
    for (let i: u32 = 0; i < 256; i++) {
      const c = table(k - 1, i);
      store<u16>(CRC16_TABLES + ((<usize>k << 9) | (<usize>i << 1)), <u16>(((c << 8) ^ table(0, c >> 8)) & 0xffff));
    }
  }
  tableReady = true;
}

export function crc16(ptr: usize, len: usize): u32 {
  if (!tableReady) buildTable();
  let crc: u32 = 0;
  let i: usize = 0;
  // The CRC so far is XORed into the next two bytes; the four bytes' contributions add up.
  for (; i + 4 <= len; i += 4) {
    const w = load<u32>(ptr + i);
    crc = table(3, ((crc >> 8) ^ w) & 0xff) ^ table(2, (crc ^ (w >> 8)) & 0xff) ^
      table(1, (w >> 16) & 0xff) ^ table(0, w >> 24);
  }
  for (; i < len; i++) {
    const idx = ((crc >> 8) ^ <u32>load<u8>(ptr + i)) & 0xff;
    crc = ((crc << 8) ^ table(0, idx)) & 0xffff;
  }
  return crc;
}

// The last key of 8 to 16 bytes hashed, and its slot: a pipeline that repeats one key
// (redis-benchmark's rows without -r: key:__rand_int__, 16 bytes) has every command's key
// routed with several shards, and two word compares cost less than the scan and crc16 below
// (~25 ns a 16-byte key). Its first and last eight bytes cover such a key whole, so equal
// words and length are an equal key.
let lastLen: usize = 0;
let lastHead: u64 = 0;
let lastTail: u64 = 0;
let lastSlot: i32 = 0;

// The slots the key prefetch's scan (keyspace/prefetch.ts) computed for a read's keys with
// several shards, in the read's order, so that routing the same commands (ownership.ts) does
// not hash them again: the scan needs them to prefetch only the keys this shard owns. Valid
// for one process() call only (index.ts clears it as the call ends): an address stands for
// the read's bytes there only while the read is being run.
const MEMO_CAP: i32 = 32;
const memoPtrs = new StaticArray<usize>(MEMO_CAP);
const memoLens = new StaticArray<usize>(MEMO_CAP);
const memoSlots = new StaticArray<i32>(MEMO_CAP);
let memoCount: i32 = 0;
let memoNext: i32 = 0;

/** Notes the slot of the key at [ptr, ptr + len) for keyHashSlot, until clearSlotMemo(). */
export function memoSlot(ptr: usize, len: usize, slot: i32): void {
  if (memoCount >= MEMO_CAP) return;
  unchecked(memoPtrs[memoCount] = ptr);
  unchecked(memoLens[memoCount] = len);
  unchecked(memoSlots[memoCount] = slot);
  memoCount++;
}

export function clearSlotMemo(): void {
  memoCount = 0;
  memoNext = 0;
}

export function keyHashSlot(ptr: usize, len: usize): i32 {
  // Routing asks for the keys in the scan's order; a keyless command's argument noted by the
  // scan is passed over.
  for (let i = memoNext; i < memoCount; i++) {
    if (unchecked(memoPtrs[i]) == ptr && unchecked(memoLens[i]) == len) {
      memoNext = i + 1;
      return unchecked(memoSlots[i]);
    }
  }
  return slotOfKey(ptr, len);
}

/** keyHashSlot without the memo. */
export function slotOfKey(ptr: usize, len: usize): i32 {
  if (len < 8 || len > 16) return computeSlot(ptr, len);
  const head = load<u64>(ptr);
  const tail = load<u64>(ptr + len - 8);
  if (len == lastLen && head == lastHead && tail == lastTail) return lastSlot;
  const slot = computeSlot(ptr, len);
  lastLen = len;
  lastHead = head;
  lastTail = tail;
  lastSlot = slot;
  return slot;
}

function computeSlot(ptr: usize, len: usize): i32 {
  // The first '{', four bytes at a time: a word holding none (the usual key) costs a few
  // operations instead of four byte compares and branches (in profiles of 4 shards this scan
  // and crc16 were ~9% of a pipelined GET of random keys).
  let s: usize = 0;
  for (; s + 4 <= len; s += 4) {
    const x = load<u32>(ptr + s) ^ 0x7b7b7b7b;
    if (((x - 0x01010101) & ~x & 0x80808080) != 0) break;
  }
  for (; s < len; s++) if (load<u8>(ptr + s) == 0x7b /* { */) break;
  if (s < len) {
    let e = s + 1;
    for (; e < len; e++) if (load<u8>(ptr + e) == 0x7d /* } */) break;
    // "{}" or no closing brace: hash the whole key.
    if (e < len && e != s + 1) return <i32>(crc16(ptr + s + 1, e - s - 1) & 0x3fff);
  }
  return <i32>(crc16(ptr, len) & 0x3fff);
}
