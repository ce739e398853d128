// Exact decimals for replicated counters. Counter totals are BigInts in units of 10^-17
// (SCALE): INCR/INCRBY add whole units of SCALE, INCRBYFLOAT/HINCRBYFLOAT add the exact
// decimal difference between the value before and after the command (Redis prints their
// results with at most 17 decimals, %.17Lf), so sums are exact and every node formats the
// same text — no binary-float rounding that could differ from node to node.

export const FRACTION_DIGITS = 17;
export const SCALE = 10n ** BigInt(FRACTION_DIGITS);

/** n × 10^-scale. */
export interface Decimal { n: bigint; scale: number }

const DEC = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Parses a Redis number ("12", "-1.5", "3e5", ".5"); undefined for anything else (inf, nan, words). */
export function parseDecimal(text: string): Decimal | undefined {
  const m = DEC.exec(text.trim() === text ? text : "");
  if (!m) return undefined;
  const [, sign, int, frac = "", exp = "0"] = m;
  if (!int && !frac) return undefined;
  const e = Number(exp);
  if (!Number.isFinite(e) || Math.abs(e) > 5000 || int.length + frac.length > 6000) return undefined;
  let n = BigInt((int || "0") + frac);
  let scale = frac.length - e;
  if (scale < 0) { n *= 10n ** BigInt(-scale); scale = 0; }
  return { n: sign === "-" ? -n : n, scale };
}

/** d in units of 10^-17, rounded half away from zero when it has more decimals. */
export function toUnits(d: Decimal): bigint {
  if (d.scale <= FRACTION_DIGITS) return d.n * 10n ** BigInt(FRACTION_DIGITS - d.scale);
  const div = 10n ** BigInt(d.scale - FRACTION_DIGITS);
  const q = d.n / div, r = d.n % div;
  const half = 2n * (r < 0n ? -r : r) >= div;
  return half ? q + (d.n < 0n ? -1n : 1n) : q;
}

/** Text of a value in units of 10^-17: fixed notation, no trailing zeros ("2.5", "-0.1", "3"). */
export function formatUnits(u: bigint): string {
  const neg = u < 0n;
  const a = neg ? -u : u;
  const int = a / SCALE;
  const frac = (a % SCALE).toString().padStart(FRACTION_DIGITS, "0").replace(/0+$/, "");
  const s = frac ? `${int}.${frac}` : `${int}`;
  return neg && s !== "0" ? `-${s}` : s;
}
