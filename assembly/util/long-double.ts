// Software x87 long double (80-bit extended: 64-bit mantissa, 15-bit exponent), enough of it
// to reproduce Redis's INCRBYFLOAT/HINCRBYFLOAT digit for digit. Redis (on x86-64) parses
// both operands with strtold, adds them in long double and prints with "%.17Lf" (17 digits
// after the point, trailing zeros trimmed: util.c ld2string LD_STR_HUMAN). A JS double
// would give "0.30000000000000004" where Redis prints "0.3", so we emulate the three steps
// with correct rounding (round half to even), using exact big-integer arithmetic where the
// decimal <-> binary conversions need it.
//
// Layout of a finite LongDouble: value = (neg ? -1 : 1) * mant * 2^exp, with mant's top bit
// set (normalized; 64 significant bits). Zero, infinity and NaN are kinds of their own.

export const LD_ZERO: u8 = 0;
export const LD_FINITE: u8 = 1;
export const LD_INF: u8 = 2;
export const LD_NAN: u8 = 3;

export const LD_STR_HUMAN: i32 = 0;

// Exponent limits of x87 extended: values lie below 2^16384; the smallest subnormal is
// 2^-16445. With a normalized 64-bit mant, value's top bit is 2^(exp+63).
const MAX_TOP_BIT: i32 = 16383;
const MIN_TOP_BIT: i32 = -16445;

export class LongDouble {
  constructor(public kind: u8, public neg: bool, public mant: u64, public exp: i32) {}

  static zero(): LongDouble { return new LongDouble(LD_ZERO, false, 0, 0); }

  static fromI64(v: i64): LongDouble {
    if (v == 0) return LongDouble.zero();
    const neg = v < 0;
    const mag: u64 = neg ? <u64>(0 - v) : <u64>v; // i64.MIN_VALUE -> 2^63, still exact
    const lz = <i32>clz<u64>(mag);
    return new LongDouble(LD_FINITE, neg, mag << lz, -lz);
  }

  isNaN(): bool { return this.kind == LD_NAN; }
  isInf(): bool { return this.kind == LD_INF; }

  /** this + o, rounded to nearest (ties to even) as the x87 FPU does in extended precision. */
  add(o: LongDouble): LongDouble {
    if (this.kind == LD_NAN || o.kind == LD_NAN) return new LongDouble(LD_NAN, false, 0, 0);
    if (this.kind == LD_INF) {
      if (o.kind == LD_INF && o.neg != this.neg) return new LongDouble(LD_NAN, false, 0, 0);
      return this;
    }
    if (o.kind == LD_INF) return o;
    if (this.kind == LD_ZERO) {
      // -0 + -0 = -0; any other sum with a zero is the other operand (+0 for +0 + -0).
      if (o.kind == LD_ZERO) return new LongDouble(LD_ZERO, this.neg && o.neg, 0, 0);
      return o;
    }
    if (o.kind == LD_ZERO) return this;

    // Order by magnitude: a >= b.
    let a: LongDouble = this, b: LongDouble = o;
    if (b.exp > a.exp || (b.exp == a.exp && b.mant > a.mant)) { a = o; b = this; }
    const d = a.exp - b.exp;
    // 128-bit fixed point with a's mant in the high word; b shifted right by d, the bits
    // shifted out summarized in `sticky`.
    const aHi = a.mant, aLo: u64 = 0;
    let bHi: u64 = 0, bLo: u64 = 0;
    let sticky = false;
    if (d == 0) { bHi = b.mant; }
    else if (d < 64) { bHi = b.mant >> <u64>d; bLo = b.mant << <u64>(64 - d); }
    else if (d == 64) { bLo = b.mant; }
    else if (d < 128) { bLo = b.mant >> <u64>(d - 64); sticky = (b.mant << <u64>(128 - d)) != 0; }
    else { sticky = true; }

    let hi: u64, lo: u64;
    let exp = a.exp - 64; // value = (hi:lo) * 2^exp
    if (a.neg == b.neg) {
      lo = aLo + bLo;
      hi = aHi + bHi + (lo < aLo ? 1 : 0);
      if (hi < aHi) {
        // Carry out of bit 127: shift right one, keeping the lost bit as sticky.
        sticky = sticky || (lo & 1) != 0;
        lo = (lo >> 1) | (hi << 63);
        hi = (hi >> 1) | (<u64>1 << 63);
        exp++;
      }
    } else {
      // a - b; with sticky bits b is slightly larger than (bHi:bLo), so subtract one more
      // unit and keep sticky: the true difference lies strictly between (hi:lo) and +1.
      lo = aLo - bLo;
      hi = aHi - bHi - (aLo < bLo ? 1 : 0);
      if (sticky) {
        const l2 = lo - 1;
        hi -= (lo == 0 ? 1 : 0);
        lo = l2;
      }
      if (hi == 0 && lo == 0 && !sticky) return LongDouble.zero(); // x - x = +0
      // Normalize: cancellation only happens when d <= 1 (no sticky), so the shift is exact.
      const lz = hi != 0 ? <i32>clz<u64>(hi) : 64 + <i32>clz<u64>(lo);
      if (lz > 0) {
        if (lz >= 64) { hi = lo << <u64>(lz - 64); lo = 0; }
        else { hi = (hi << <u64>lz) | (lo >> <u64>(64 - lz)); lo = lo << <u64>lz; }
        exp -= lz;
      }
    }
    // Round (hi:lo) to 64 bits.
    const half: u64 = <u64>1 << 63;
    let mant = hi;
    const roundUp = lo > half || (lo == half && (sticky || (mant & 1) != 0));
    exp += 64;
    if (roundUp) {
      mant++;
      if (mant == 0) { mant = half; exp++; }
    }
    if (exp + 63 > MAX_TOP_BIT) return new LongDouble(LD_INF, a.neg, 0, 0);
    return new LongDouble(LD_FINITE, a.neg, mant, exp);
  }
}

// ---- big naturals (only for exact decimal <-> binary conversion) ---------------------------

/** An arbitrary-size natural number: little-endian u32 limbs, no zero high limbs. */
class BigNat {
  d: Array<u32> = new Array<u32>();

  static fromU64(v: u64): BigNat {
    const n = new BigNat();
    if (v != 0) n.d.push(<u32>v);
    if ((v >> 32) != 0) n.d.push(<u32>(v >> 32));
    return n;
  }

  clone(): BigNat {
    const n = new BigNat();
    n.d = this.d.slice(0);
    return n;
  }

  isZero(): bool { return this.d.length == 0; }

  private trim(): void {
    let n = this.d.length;
    while (n > 0 && unchecked(this.d[n - 1]) == 0) n--;
    this.d.length = n;
  }

  /** this = this * m + a */
  mulSmallAdd(m: u32, a: u32): void {
    let carry: u64 = a;
    for (let i = 0; i < this.d.length; i++) {
      const t = <u64>unchecked(this.d[i]) * <u64>m + carry;
      unchecked(this.d[i] = <u32>t);
      carry = t >> 32;
    }
    if (carry != 0) this.d.push(<u32>carry);
    this.trim();
  }

  mulPow10(n: i32): void {
    while (n >= 9) { this.mulSmallAdd(1000000000, 0); n -= 9; }
    let m: u32 = 1;
    for (let i = 0; i < n; i++) m *= 10;
    if (m != 1) this.mulSmallAdd(m, 0);
  }

  /** this = this / m, returning the remainder. */
  divSmall(m: u32): u32 {
    let rem: u64 = 0;
    for (let i = this.d.length - 1; i >= 0; i--) {
      const cur = (rem << 32) | <u64>unchecked(this.d[i]);
      unchecked(this.d[i] = <u32>(cur / <u64>m));
      rem = cur % <u64>m;
    }
    this.trim();
    return <u32>rem;
  }

  bitLength(): i32 {
    const n = this.d.length;
    if (n == 0) return 0;
    return (n - 1) * 32 + (32 - <i32>clz<u32>(unchecked(this.d[n - 1])));
  }

  testBit(i: i32): bool {
    const w = i >> 5;
    if (w >= this.d.length) return false;
    return ((unchecked(this.d[w]) >> <u32>(i & 31)) & 1) != 0;
  }

  /** Whether any bit below position i is set. */
  anyBitBelow(i: i32): bool {
    const w = min(i >> 5, this.d.length);
    for (let j = 0; j < w; j++) if (unchecked(this.d[j]) != 0) return true;
    if (w < this.d.length && (i & 31) != 0) {
      return (unchecked(this.d[w]) & ((<u32>1 << <u32>(i & 31)) - 1)) != 0;
    }
    return false;
  }

  shl(n: i32): void {
    if (this.isZero() || n == 0) return;
    const words = n >> 5, bits = n & 31;
    const old = this.d;
    const out = new Array<u32>(old.length + words + 1);
    for (let i = 0; i < old.length; i++) {
      const v = unchecked(old[i]);
      unchecked(out[i + words] = unchecked(out[i + words]) | (v << <u32>bits));
      if (bits != 0) unchecked(out[i + words + 1] = v >> <u32>(32 - bits));
    }
    this.d = out;
    this.trim();
  }

  shr(n: i32): void {
    const words = n >> 5, bits = n & 31;
    if (words >= this.d.length) { this.d.length = 0; return; }
    const old = this.d;
    const len = old.length - words;
    const out = new Array<u32>(len);
    for (let i = 0; i < len; i++) {
      let v = unchecked(old[i + words]) >> <u32>bits;
      if (bits != 0 && i + words + 1 < old.length) v |= unchecked(old[i + words + 1]) << <u32>(32 - bits);
      unchecked(out[i] = v);
    }
    this.d = out;
    this.trim();
  }

  cmp(o: BigNat): i32 {
    if (this.d.length != o.d.length) return this.d.length < o.d.length ? -1 : 1;
    for (let i = this.d.length - 1; i >= 0; i--) {
      const a = unchecked(this.d[i]), b = unchecked(o.d[i]);
      if (a != b) return a < b ? -1 : 1;
    }
    return 0;
  }

  /** this -= o; requires this >= o. */
  sub(o: BigNat): void {
    let borrow: i64 = 0;
    for (let i = 0; i < this.d.length; i++) {
      let t = <i64>unchecked(this.d[i]) - borrow - (i < o.d.length ? <i64>unchecked(o.d[i]) : 0);
      borrow = 0;
      if (t < 0) { t += <i64>1 << 32; borrow = 1; }
      unchecked(this.d[i] = <u32>t);
    }
    this.trim();
  }

  toDecimal(): string {
    if (this.isZero()) return "0";
    const t = this.clone();
    const chunks = new Array<u32>();
    while (!t.isZero()) chunks.push(t.divSmall(1000000000));
    let s = chunks[chunks.length - 1].toString();
    for (let i = chunks.length - 2; i >= 0; i--) {
      const c = chunks[i].toString();
      s += "0".repeat(9 - c.length) + c;
    }
    return s;
  }
}

/**
 * The number nearest to num/den * 2^binExp with `bits` significant bits (64: long double,
 * 53: double), ties to even, as a normalized LongDouble; null when outside long double's
 * range (strtold's ERANGE cases Redis rejects). num > 0; num and den are consumed.
 */
function roundQuotient(neg: bool, num: BigNat, den: BigNat, binExp: i32, bits: i32): LongDouble | null {
  // Scale so that q = floor(num/den) lies in [2^66, 2^68): 64 mantissa bits plus guard bits.
  const k = 67 + den.bitLength() - num.bitLength();
  if (k >= 0) num.shl(k); else den.shl(-k);
  const t = den.clone();
  t.shl(68);
  let qHi: u64 = 0, qLo: u64 = 0; // q = qHi:qLo (bits 64..67 in qHi)
  for (let b = 68; b >= 0; b--) {
    if (num.cmp(t) >= 0) {
      num.sub(t);
      if (b >= 64) qHi |= <u64>1 << <u64>(b - 64); else qLo |= <u64>1 << <u64>b;
    }
    t.shr(1);
  }
  const sticky = !num.isZero();
  // qHi is 4..15 (q >= 2^66): shift s = bitlen(q) - 64 = bitlen(qHi) places right.
  const s = 64 - <i32>clz<u64>(qHi);
  let mant = (qHi << <u64>(64 - s)) | (qLo >> <u64>s);
  const rem = qLo & ((<u64>1 << <u64>s) - 1);
  const half = <u64>1 << <u64>(s - 1);
  let exp = binExp - k + s;
  if (bits >= 64) {
    if (rem > half || (rem == half && (sticky || (mant & 1) != 0))) {
      mant++;
      if (mant == 0) { mant = <u64>1 << 63; exp++; }
    }
  } else {
    // Drop the low d bits of the 64-bit truncation; rem and sticky lie below them.
    const d = <u64>(64 - bits);
    const dropped = mant & ((<u64>1 << d) - 1);
    const halfD = <u64>1 << (d - 1);
    const below = rem != 0 || sticky;
    let m = mant >> d;
    if (dropped > halfD || (dropped == halfD && (below || (m & 1) != 0))) m++;
    if (m == (<u64>1 << <u64>bits)) { m = <u64>1 << <u64>(bits - 1); exp++; }
    mant = m << d;
  }
  if (exp + 63 > MAX_TOP_BIT || exp + 63 < MIN_TOP_BIT) return null;
  return new LongDouble(LD_FINITE, neg, mant, exp);
}

// ---- parsing: string2ld ------------------------------------------------------------------------

export let parsedLd: LongDouble = LongDouble.zero();
export let parsedDouble: f64 = 0;

// Redis's MAX_LONG_DOUBLE_CHARS: longer inputs are refused outright.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

@inline function isDigit(c: u32): bool { return c - 0x30 < 10; }

function hexVal(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  c |= 0x20;
  if (c - 0x61 < 6) return <i32>(c - 0x61 + 10);
  return -1;
}

function lowerAt(ptr: usize, i: usize): u32 {
  let c = <u32>load<u8>(ptr + i);
  if (c - 0x41 < 26) c += 32;
  return c;
}

function restIs(ptr: usize, i: usize, len: usize, word: string): bool {
  if (len - i != <usize>word.length) return false;
  for (let j = 0; j < word.length; j++) if (lowerAt(ptr, i + <usize>j) != <u32>word.charCodeAt(j)) return false;
  return true;
}

// What parseExact found: kind (LD_ZERO / LD_INF / LD_FINITE), sign, and for a finite value
// the exact rational exNum / exDen * 2^exBinExp, for a rounder to turn into bits.
let exKind: u8 = LD_ZERO;
let exNeg = false;
let exNum: BigNat = new BigNat();
let exDen: BigNat = new BigNat();
let exBinExp: i32 = 0;

/**
 * Parses what strtod/strtold accept, all of [ptr, ptr+len): [sign] then inf/infinity, a hex
 * float (0x digits [. digits] [p exp]) or a decimal (digits [. digits] [e exp]). No leading
 * space, no NaN. False for anything else or a value far outside long double's range.
 */
function parseExact(ptr: usize, len: usize): bool {
  if (len == 0) return false;
  let i: usize = 0;
  let neg = false;
  const c0 = <u32>load<u8>(ptr);
  if (c0 == 0x2d || c0 == 0x2b) { neg = c0 == 0x2d; i++; }
  if (i == len) return false;
  exNeg = neg;
  if (restIs(ptr, i, len, "inf") || restIs(ptr, i, len, "infinity")) { exKind = LD_INF; return true; }
  const hex = len - i > 2 && load<u8>(ptr + i) == 0x30 && lowerAt(ptr, i + 1) == 0x78 /* x */;
  if (hex) i += 2;
  const num = new BigNat();
  let digits = 0;
  let scale: i64 = 0; // decimal: value = num * 10^scale; hex: value = num * 2^scale
  let pending: u32 = 0, pendingMul: u32 = 1; // batch digits per bignum step
  const base: u32 = hex ? 16 : 10;
  const batch: u32 = hex ? 0x10000000 : 1000000000;
  let sawDot = false;
  for (; i < len; i++) {
    const c = <u32>load<u8>(ptr + i);
    const v = hex ? hexVal(c) : (isDigit(c) ? <i32>(c - 0x30) : -1);
    if (v >= 0) {
      digits++;
      if (sawDot) scale -= hex ? 4 : 1;
      pending = pending * base + <u32>v;
      pendingMul *= base;
      if (pendingMul == batch) { num.mulSmallAdd(pendingMul, pending); pending = 0; pendingMul = 1; }
    } else if (c == 0x2e && !sawDot) {
      sawDot = true;
    } else break;
  }
  if (pendingMul != 1) num.mulSmallAdd(pendingMul, pending);
  if (digits == 0) return false;
  if (i < len && lowerAt(ptr, i) == (hex ? 0x70 /* p */ : 0x65 /* e */)) {
    i++;
    let eneg = false;
    if (i < len && (load<u8>(ptr + i) == 0x2d || load<u8>(ptr + i) == 0x2b)) { eneg = load<u8>(ptr + i) == 0x2d; i++; }
    let e: i64 = 0;
    let expDigits = 0;
    while (i < len && isDigit(load<u8>(ptr + i))) {
      if (e < 1000000000) e = e * 10 + <i64>(load<u8>(ptr + i) - 0x30);
      i++; expDigits++;
    }
    if (expDigits == 0) return false; // strtod would stop before the 'e' / 'p'
    scale += eneg ? -e : e;
  }
  if (i != len) return false;
  if (num.isZero()) { exKind = LD_ZERO; return true; }
  const den = BigNat.fromU64(1);
  if (hex) {
    const top = scale + <i64>num.bitLength() - 1;
    if (top > <i64>MAX_TOP_BIT + 1 || top < <i64>MIN_TOP_BIT - 1) return false;
    exBinExp = <i32>scale;
  } else {
    // Magnitude ~ 10^(scale + decimal digits of num): refuse far out of range early.
    const mag = scale + <i64>(num.bitLength() * 30103 / 100000);
    if (mag > 4940 || mag < -4960) return false;
    if (scale >= 0) num.mulPow10(<i32>scale); else den.mulPow10(<i32>-scale);
    exBinExp = 0;
  }
  exKind = LD_FINITE;
  exNum = num;
  exDen = den;
  return true;
}

/**
 * Redis's string2ld: the whole of [ptr, ptr+len) must be what strtold accepts, with no
 * leading space, not NaN, and not out of range (overflow, or underflow to zero). Result
 * in parsedLd, correctly rounded to 64 bits.
 */
export function string2ld(ptr: usize, len: usize): bool {
  if (len >= MAX_LONG_DOUBLE_CHARS || !parseExact(ptr, len)) return false;
  if (exKind != LD_FINITE) { parsedLd = new LongDouble(exKind, exNeg, 0, 0); return true; }
  const r = roundQuotient(exNeg, exNum, exDen, exBinExp, 64);
  if (r == null) return false;
  parsedLd = r;
  return true;
}

/**
 * Redis's string2d (strtod): as string2ld, but the value is a double, correctly rounded
 * (also for subnormals); overflow past DBL_MAX or underflow to zero is refused, an
 * explicit inf is not. Result in parsedDouble.
 */
export function string2d(ptr: usize, len: usize): bool {
  if (!parseExact(ptr, len)) return false;
  if (exKind == LD_ZERO) { parsedDouble = exNeg ? -0.0 : 0.0; return true; }
  if (exKind == LD_INF) { parsedDouble = exNeg ? -Infinity : Infinity; return true; }
  // First find the binary magnitude, then round once to the bits a double has there.
  const probe = roundQuotient(exNeg, exNum.clone(), exDen.clone(), exBinExp, 64);
  if (probe == null) return false;
  const top = probe.exp + 63;
  if (top > 1023) return false;   // overflow (ERANGE, HUGE_VAL)
  if (top < -1075) return false;  // underflow to zero (ERANGE)
  if (top == -1075) {
    // Between 2^-1075 and the smallest subnormal 2^-1074: rounds up to it unless exactly
    // half way (ties to even: zero, refused as underflow).
    const n = exNum, d = exDen;
    const sh = exBinExp + 1075; // compare num * 2^binExp with den * 2^-1075
    if (sh >= 0) n.shl(sh); else d.shl(-sh);
    if (n.cmp(d) <= 0) return false;
    parsedDouble = exNeg ? -5e-324 : 5e-324;
    return true;
  }
  const bits = top >= -1022 ? 53 : 53 - (-1022 - top);
  const r = roundQuotient(exNeg, exNum, exDen, exBinExp, bits)!;
  const v = NativeMath.scalbn(<f64>(r.mant >> 11), r.exp + 11);
  if (!isFinite(v) || v == 0) return false;
  parsedDouble = exNeg ? -v : v;
  return true;
}

// ---- formatting: ld2string ---------------------------------------------------------------------

const FRACTION_DIGITS: i32 = 17;

/**
 * ld2string(LD_STR_HUMAN): "%.17Lf" (exactly rounded, ties to even, as glibc), then
 * trailing zeros after the point and a bare point removed; "-0" becomes "0".
 */
export function ld2string(v: LongDouble, mode: i32): string {
  if (v.kind == LD_INF) return v.neg ? "-inf" : "inf";
  if (v.kind == LD_NAN) return "nan";
  let digits: string; // the value * 10^17, rounded, in decimal
  if (v.kind == LD_ZERO) {
    digits = "0";
  } else if (v.exp >= 0) {
    const n = BigNat.fromU64(v.mant);
    n.shl(v.exp);
    digits = n.toDecimal() + "0".repeat(FRACTION_DIGITS);
  } else {
    const x = BigNat.fromU64(v.mant);
    x.mulPow10(FRACTION_DIGITS);
    const sh = -v.exp;
    const roundBit = x.testBit(sh - 1);
    const below = x.anyBitBelow(sh - 1);
    x.shr(sh);
    if (roundBit && (below || x.testBit(0))) x.mulSmallAdd(1, 1);
    digits = x.toDecimal();
  }
  if (digits.length <= FRACTION_DIGITS) digits = "0".repeat(FRACTION_DIGITS + 1 - digits.length) + digits;
  const intPart = digits.substring(0, digits.length - FRACTION_DIGITS);
  let frac = digits.substring(digits.length - FRACTION_DIGITS);
  let end = frac.length;
  while (end > 0 && frac.charCodeAt(end - 1) == 0x30) end--;
  frac = frac.substring(0, end);
  let s = frac.length > 0 ? intPart + "." + frac : intPart;
  if (v.neg && s != "0") s = "-" + s;
  return s;
}
