// C's conversions where Redis relies on them and JavaScript has no equivalent.

/**
 * C's (long long) cast of a double as x86-64 does it: truncation toward zero, and
 * INT64_MIN for NaN and anything out of range (cvttsd2si's "integer indefinite").
 * A bigint only where a number would lose digits.
 */
export function doubleToInt64(n: number): bigint | number {
  if (Number.isNaN(n) || n >= 9223372036854775808 || n < -9223372036854775808) return -9223372036854775808n;
  const t = Math.trunc(n);
  return Number.isSafeInteger(t) ? (Object.is(t, -0) ? 0 : t) : BigInt(t);
}
