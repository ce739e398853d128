// Key -> hash slot, exactly as Redis Cluster (cluster.c keyHashSlot): CRC16/XMODEM of the key,
// or of the part between the first '{' and the next '}' when that part is non-empty, mod 16384.

export const CLUSTER_SLOTS: i32 = 16384;

const CRC16_TABLE = memory.data(256 * 2);
let tableReady = false;

function buildTable(): void {
  // Polynomial 0x1021, initial value 0, no reflection (XMODEM).
  for (let i: u32 = 0; i < 256; i++) {
    let crc: u32 = i << 8;
    for (let b = 0; b < 8; b++) {
      crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
    }
    store<u16>(CRC16_TABLE + (<usize>i << 1), <u16>crc);
  }
  tableReady = true;
}

export function crc16(ptr: usize, len: usize): u32 {
  if (!tableReady) buildTable();
  let crc: u32 = 0;
  for (let i: usize = 0; i < len; i++) {
    const idx = ((crc >> 8) ^ <u32>load<u8>(ptr + i)) & 0xff;
    crc = ((crc << 8) ^ <u32>load<u16>(CRC16_TABLE + (<usize>idx << 1))) & 0xffff;
  }
  return crc;
}

export function keyHashSlot(ptr: usize, len: usize): i32 {
  let s: usize = 0;
  for (; s < len; s++) if (load<u8>(ptr + s) == 0x7b /* { */) break;
  if (s < len) {
    let e = s + 1;
    for (; e < len; e++) if (load<u8>(ptr + e) == 0x7d /* } */) break;
    // "{}" or no closing brace: hash the whole key.
    if (e < len && e != s + 1) return <i32>(crc16(ptr + s + 1, e - s - 1) & 0x3fff);
  }
  return <i32>(crc16(ptr, len) & 0x3fff);
}
