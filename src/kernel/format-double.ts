// Redis's "%.17g" for replies of doubles (addReplyDouble in RESP2), shared by the host's reply
// writer and the kernel, which calls it (an import, src/kernel/kernel.ts) for a zset score
// that is not an integer: so a small zset with fractional scores stays a kernel value.
// Browser-safe: no node:* imports.

/**
 * Redis's "%.17g" of a double for replies (inf and -inf spelled as Redis spells them). Like
 * C's %g: scientific notation when the exponent is below -4 or at least 17, trailing zeros
 * dropped; JS's toPrecision switches only below -6, so it is not used.
 */
export function formatDouble(d: number): string {
  if (d === Infinity) return "inf";
  if (d === -Infinity) return "-inf";
  if (Number.isNaN(d)) return "nan";
  // %.17g keeps the sign of zero (a skiplist zset's -0 score, ZINCRBY's -0 result); toFixed drops it.
  if (d === 0) return Object.is(d, -0) ? "-0" : "0";
  if (Number.isInteger(d) && Math.abs(d) < 1e17) return d.toFixed(0);
  const tie = tieToEven17(d);
  if (tie !== null) return tie;
  const [m, e] = d.toExponential(16).split("e");
  const exp = Number(e);
  if (exp < -4 || exp >= 17) {
    const mt = m.includes(".") ? m.replace(/0+$/, "").replace(/\.$/, "") : m;
    return mt + "e" + (exp < 0 ? "-" : "+") + String(Math.abs(exp)).padStart(2, "0");
  }
  let s = d.toFixed(16 - exp);
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s;
}

const f64view = new DataView(new ArrayBuffer(8));

/**
 * A cheap necessary condition for tieToEven17, from the bits alone: a tie is an exact
 * 18-significant-digit decimal, g x 10^(e10-17). Write a = M x 2^e2 with M odd; if e2 < 0, a x
 * 10^(17-e10) is an integer only when 2^-e2 divides 10^(17-e10), i.e. -e2 <= 17 - e10. Most
 * fractional doubles (M of ~53 bits) fail it, and skip tieToEven17's strings and BigInts
 * (about half of formatDouble's time). log10 may be off by one near a power of ten: the bound
 * is taken with room to spare.
 */
function mayBeTie(a: number): boolean {
  f64view.setFloat64(0, a);
  const hi = f64view.getUint32(0);
  let lo = f64view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mhi = hi & 0xfffff;
  if (biased !== 0) mhi |= 0x100000;
  let e2 = (biased === 0 ? 1 : biased) - 1075;
  if (lo === 0 && mhi === 0) return false;
  // Strip M's trailing zero bits.
  if (lo === 0) { lo = mhi; mhi = 0; e2 += 32; }
  while ((lo & 1) === 0) { lo = (lo >>> 1) | ((mhi & 1) << 31); mhi >>>= 1; e2++; }
  if (e2 >= 0) return true;
  return -e2 <= 20 - Math.floor(Math.log10(a));
}

/**
 * %.17g of a double that lies exactly halfway between two 17-digit decimals, when printf's
 * round-half-to-even goes down (JS's toExponential/toFixed take the larger one on a tie):
 * 629310171879781.625 is "629310171879781.62" in Redis. null when d is no such tie.
 */
function tieToEven17(d: number): string | null {
  if (!mayBeTie(Math.abs(d))) return null;
  const e18 = Math.abs(d).toExponential(17); // 18 significant digits: a tie ends in 5
  const [mant, expText] = e18.split("e");
  const g = mant.replace(".", "");
  if (g[17] !== "5" || Number(g[16]) % 2 !== 0) return null; // not a tie, or rounding up is even
  // Is d exactly g x 10^(exp-17)? Compare m x 2^e2 with it as integers.
  f64view.setFloat64(0, Math.abs(d));
  const bits = f64view.getBigUint64(0);
  let e2 = Number((bits >> 52n) & 0x7ffn);
  let m = bits & ((1n << 52n) - 1n);
  if (e2 === 0) e2 = 1;
  else m |= 1n << 52n;
  e2 -= 1075;
  const p = Number(expText) - 17;
  const lhs = m * 2n ** BigInt(Math.max(e2, 0)) * 10n ** BigInt(Math.max(-p, 0));
  const rhs = BigInt(g) * 10n ** BigInt(Math.max(p, 0)) * 2n ** BigInt(Math.max(-e2, 0));
  if (lhs !== rhs) return null;
  // Round down to even: the first 17 digits as they are, in %g's layout.
  let digits = g.slice(0, 17).replace(/0+$/, "");
  if (digits === "") digits = "0";
  const exp = Number(expText);
  const sign = d < 0 ? "-" : "";
  if (exp < -4 || exp >= 17) {
    const mt = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
    return sign + mt + "e" + (exp < 0 ? "-" : "+") + String(Math.abs(exp)).padStart(2, "0");
  }
  if (exp < 0) return sign + "0." + "0".repeat(-exp - 1) + digits;
  if (digits.length <= exp + 1) return sign + digits.padEnd(exp + 1, "0");
  return sign + digits.slice(0, exp + 1) + "." + digits.slice(exp + 1);
}
