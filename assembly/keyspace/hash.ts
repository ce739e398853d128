// Byte-string hashing for the dictionaries. Seeded by the host at start-up (like Redis's
// siphash seed) so that an attacker cannot pick keys that collide.

export let hashSeed: u32 = 0x9747b28c;

export function setHashSeed(seed: u32): void { hashSeed = seed; }

/** MurmurHash3 (x86, 32-bit) over [ptr, ptr+len). */
export function hashBytes(ptr: usize, len: usize): u32 {
  let h = hashSeed ^ <u32>len;
  const c1: u32 = 0xcc9e2d51;
  const c2: u32 = 0x1b873593;
  let i: usize = 0;
  const blocks = len & ~(<usize>3);
  for (; i < blocks; i += 4) {
    let k = load<u32>(ptr + i);
    k *= c1; k = rotl<u32>(k, 15); k *= c2;
    h ^= k; h = rotl<u32>(h, 13); h = h * 5 + 0xe6546b64;
  }
  let k: u32 = 0;
  const rem = len & 3;
  if (rem == 3) k ^= <u32>load<u8>(ptr + i + 2) << 16;
  if (rem >= 2) k ^= <u32>load<u8>(ptr + i + 1) << 8;
  if (rem >= 1) {
    k ^= <u32>load<u8>(ptr + i);
    k *= c1; k = rotl<u32>(k, 15); k *= c2; h ^= k;
  }
  h ^= <u32>len;
  h ^= h >> 16; h *= 0x85ebca6b;
  h ^= h >> 13; h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

/** Do the bytes of buf equal [ptr, ptr+len)? */
@inline export function bufEquals(buf: ArrayBuffer, ptr: usize, len: usize): bool {
  return <usize>buf.byteLength == len && memory.compare(changetype<usize>(buf), ptr, len) == 0;
}

/** A managed copy of [ptr, ptr+len). */
export function copyBytes(ptr: usize, len: usize): ArrayBuffer {
  const buf = new ArrayBuffer(<i32>len);
  memory.copy(changetype<usize>(buf), ptr, len);
  return buf;
}
