// C's strtod as glibc implements it, for the number syntax Redis's commands inherit from it:
// optional leading whitespace and sign, decimal digits with fraction and exponent, hex
// floats (0x1.8p3), inf/infinity and nan (any case). Redis then adds its own rules on top
// (string2d: no leading space, nothing trailing, no overflow, no NaN; zslParseRange: nothing
// trailing, no NaN); those are in the callers.

export interface StrtodResult {
  value: number;
  /** Characters consumed (0 when nothing could be parsed: value is then 0). */
  end: number;
  /** errno == ERANGE: the value overflowed to ±inf or underflowed to 0. */
  erange: boolean;
}

const SPACE = /[ \t\n\v\f\r]/;

export function strtod(s: string): StrtodResult {
  let i = 0;
  while (i < s.length && SPACE.test(s[i])) i++;
  let neg = false;
  if (s[i] === "+" || s[i] === "-") { neg = s[i] === "-"; i++; }
  const sign = neg ? -1 : 1;
  const rest = s.slice(i).toLowerCase();
  if (rest.startsWith("inf")) {
    const n = rest.startsWith("infinity") ? 8 : 3;
    return { value: sign * Infinity, end: i + n, erange: false };
  }
  if (rest.startsWith("nan")) {
    let n = 3;
    const m = /^\(([0-9a-z_]*)\)/.exec(rest.slice(3));
    if (m) n += m[0].length;
    return { value: NaN, end: i + n, erange: false };
  }
  if (rest.startsWith("0x")) {
    const m = /^0x([0-9a-f]*)(?:\.([0-9a-f]*))?/.exec(rest)!;
    const intPart = m[1], frac = m[2] ?? "";
    if (intPart.length + frac.length > 0) {
      let len = m[0].length;
      let mant = 0;
      for (const c of intPart + frac) mant = mant * 16 + parseInt(c, 16);
      let exp = -4 * frac.length;
      const e = /^p([+-]?[0-9]+)/.exec(rest.slice(len));
      if (e) { exp += Number(e[1]); len += e[0].length; }
      const v = mant * Math.pow(2, exp);
      return { value: sign * v, end: i + len, erange: !Number.isFinite(v) || (v === 0 && mant !== 0) };
    }
    // "0x" alone parses as "0", leaving the x.
    return { value: sign * 0, end: i + 1, erange: false };
  }
  const m = /^([0-9]*)(?:\.([0-9]*))?/.exec(rest)!;
  const intPart = m[1], frac = m[2] ?? "";
  if (intPart.length + frac.length === 0) return { value: 0, end: 0, erange: false };
  let len = m[0].length;
  const e = /^e([+-]?[0-9]+)/.exec(rest.slice(len));
  if (e) len += e[0].length;
  const v = Number(rest.slice(0, len).replace(/^\./, "0.").replace(/\.(e|$)/, "$1"));
  const nonzero = /[1-9]/.test(intPart + frac);
  return { value: sign * v, end: i + len, erange: !Number.isFinite(v) || (v === 0 && nonzero) };
}

/**
 * Redis's string2d: the whole string is a float, no leading space, no overflow or
 * underflow to zero, not NaN. Returns null when Redis would refuse it.
 */
export function string2d(s: string): number | null {
  const plain = plainDecimal(s);
  if (plain === plain) return plain; // not NaN: parsed
  if (s.length === 0 || SPACE.test(s[0])) return null;
  const r = strtod(s);
  if (r.end !== s.length || r.end === 0 || Number.isNaN(r.value)) return null;
  if (r.erange && (!Number.isFinite(r.value) || r.value === 0)) return null;
  return r.value;
}

/**
 * string2d's common case without strtod's regular expressions (a ZADD score, a ZINCRBY
 * increment): an optional sign, at least one digit and at most one '.', nothing else, at
 * most 20 characters. For those, Number() and strtod agree to the bit (both round the
 * decimal correctly; neither can overflow or underflow without an exponent). NaN: not
 * such a string, let strtod decide.
 */
function plainDecimal(s: string): number {
  const n = s.length;
  if (n === 0 || n > 20) return NaN;
  let i = 0;
  let c = s.charCodeAt(0);
  if (c === 45 || c === 43) i = 1; // '-' '+'
  let digits = 0, dot = false;
  for (; i < n; i++) {
    c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && !dot) dot = true;
    else return NaN;
  }
  return digits > 0 ? Number(s) : NaN;
}
