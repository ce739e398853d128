// Short copies without memory.copy: V8 runs a wasm memory.copy as a call out of the module
// (~10 ns, a C function), which for the few bytes of a small value or a status reply costs
// more than the copy. Up to 16 bytes are moved with at most two loads and two stores.

/**
 * Copies len bytes from src to dst, as memory.copy does (overlap allowed: both loads come
 * before the stores).
 */
@inline export function copySmall(dst: usize, src: usize, len: usize): void {
  if (len > 16) memory.copy(dst, src, len);
  else if (len >= 8) {
    const a = load<u64>(src), b = load<u64>(src + len - 8);
    store<u64>(dst, a);
    store<u64>(dst + len - 8, b);
  } else if (len >= 4) {
    const a = load<u32>(src), b = load<u32>(src + len - 4);
    store<u32>(dst, a);
    store<u32>(dst + len - 4, b);
  } else if (len > 0) {
    const a = load<u8>(src), b = load<u8>(src + len - 1), c = load<u8>(src + (len >> 1));
    store<u8>(dst, a);
    store<u8>(dst + len - 1, b);
    store<u8>(dst + (len >> 1), c);
  }
}
