// CRC-64/Jones as Redis's crc64.c computes it (reflected, polynomial 0xad93d23594c935a9,
// init 0, no final xor): the checksum of RDB files and of DUMP payloads.
// crc64(0, "123456789") = 0xe9c6d914c4b8d9ca (Redis's own test vector).
//
// The 64-bit state is two 32-bit halves (hi, lo) so the per-byte loop stays in small
// integers (BigInt per byte is ~50x slower on a large RDB).

const POLY_HI = 0x95ac9329; // bit-reversed 0xad93d23594c935a9 = 0x95ac9329ac4bc9b5
const POLY_LO = 0xac4bc9b5;

// Slicing-by-8 (as Redis's crcspeed.c): T[k] is the CRC of a byte followed by k zero bytes,
// so eight input bytes fold into the state with eight table lookups and no per-byte shift of
// the state; about 3x the byte-at-a-time loop, which was a tenth of a big RDB load's time.
// Table k lives at [k*256, k*256+256) of TABLE_HI / TABLE_LO.
const TABLE_HI = new Uint32Array(256 * 8);
const TABLE_LO = new Uint32Array(256 * 8);
for (let i = 0; i < 256; i++) {
  let hi = 0, lo = i;
  for (let b = 0; b < 8; b++) {
    const lsb = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (lsb) { hi = (hi ^ POLY_HI) >>> 0; lo = (lo ^ POLY_LO) >>> 0; }
  }
  TABLE_HI[i] = hi;
  TABLE_LO[i] = lo;
}
for (let k = 1; k < 8; k++) {
  for (let i = 0; i < 256; i++) {
    // T[k][i] = T[k-1][i] >> 8 ^ T[0][T[k-1][i] & 0xff]
    const phi = TABLE_HI[(k - 1) * 256 + i], plo = TABLE_LO[(k - 1) * 256 + i];
    const idx = plo & 0xff;
    TABLE_LO[k * 256 + i] = (((plo >>> 8) | ((phi & 0xff) << 24)) ^ TABLE_LO[idx]) >>> 0;
    TABLE_HI[k * 256 + i] = ((phi >>> 8) ^ TABLE_HI[idx]) >>> 0;
  }
}

/** A running CRC64 (feed chunks in order; value() at any point). */
export class Crc64 {
  private hi = 0;
  private lo = 0;

  update(buf: Uint8Array, start = 0, end = buf.length): this {
    let hi = this.hi, lo = this.lo;
    const TH = TABLE_HI, TL = TABLE_LO;
    let i = start;
    for (const last8 = end - 8; i <= last8; i += 8) {
      // The state XOR the next 8 bytes (little-endian), then one lookup per byte: byte j of
      // the word goes through T[7-j].
      const a = (lo ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24))) >>> 0;
      const b = (hi ^ (buf[i + 4] | (buf[i + 5] << 8) | (buf[i + 6] << 16) | (buf[i + 7] << 24))) >>> 0;
      const i0 = 7 * 256 + (a & 0xff), i1 = 6 * 256 + ((a >>> 8) & 0xff), i2 = 5 * 256 + ((a >>> 16) & 0xff), i3 = 4 * 256 + (a >>> 24);
      const i4 = 3 * 256 + (b & 0xff), i5 = 2 * 256 + ((b >>> 8) & 0xff), i6 = 256 + ((b >>> 16) & 0xff), i7 = b >>> 24;
      lo = (TL[i0] ^ TL[i1] ^ TL[i2] ^ TL[i3] ^ TL[i4] ^ TL[i5] ^ TL[i6] ^ TL[i7]) >>> 0;
      hi = (TH[i0] ^ TH[i1] ^ TH[i2] ^ TH[i3] ^ TH[i4] ^ TH[i5] ^ TH[i6] ^ TH[i7]) >>> 0;
    }
    for (; i < end; i++) {
      const idx = (lo ^ buf[i]) & 0xff;
      lo = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ TL[idx]) >>> 0;
      hi = ((hi >>> 8) ^ TH[idx]) >>> 0;
    }
    this.hi = hi;
    this.lo = lo;
    return this;
  }

  /** The checksum as the 8 little-endian bytes Redis writes after an RDB's EOF and a DUMP payload. */
  bytesLE(): Buffer {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(this.lo, 0);
    b.writeUInt32LE(this.hi, 4);
    return b;
  }

  value(): bigint { return (BigInt(this.hi) << 32n) | BigInt(this.lo); }
}

export function crc64(buf: Uint8Array, start = 0, end = buf.length): Crc64 {
  return new Crc64().update(buf, start, end);
}
