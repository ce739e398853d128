// Redis's glob matcher (util.c stringmatchlen), byte for byte: `*`, `?`, `[...]` with `^`
// negation, `a-z` ranges (either order) and `\` escapes, optional case folding. Used by
// CONFIG GET patterns, and later by PSUBSCRIBE and CLIENT/ACL patterns. Works on bytes so
// binary patterns and keys behave as in Redis.

type Bytes = Uint8Array;

const STAR = 42, QMARK = 63, LBRACKET = 91, RBRACKET = 93, BACKSLASH = 92, CARET = 94, DASH = 45;

/** C's (signed) char: bytes above 127 compare as negative numbers in ranges, as in Redis. */
function signed(b: number): number {
  return b > 127 ? b - 256 : b;
}

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** True when `str` matches the glob `pattern` (Redis's stringmatchlen). */
export function stringMatch(pattern: Bytes | string, str: Bytes | string, nocase = false): boolean {
  const p = typeof pattern === "string" ? Buffer.from(pattern, "latin1") : pattern;
  const s = typeof str === "string" ? Buffer.from(str, "latin1") : str;
  const skip = { longer: false };
  return matchImpl(p, 0, p.length, s, 0, s.length, nocase, skip);
}

function matchImpl(pat: Bytes, pi: number, plen: number, str: Bytes, si: number, slen: number,
  nocase: boolean, skip: { longer: boolean }): boolean {
  while (plen > 0 && slen > 0) {
    switch (pat[pi]) {
      case STAR: {
        while (plen > 1 && pat[pi + 1] === STAR) { pi++; plen--; }
        if (plen === 1) return true;
        while (slen > 0) {
          if (matchImpl(pat, pi + 1, plen - 1, str, si, slen, nocase, skip)) return true;
          if (skip.longer) return false;
          si++;
          slen--;
        }
        // No match for the rest of the pattern anywhere in the rest of the string: a
        // longer match for an earlier '*' cannot help either.
        skip.longer = true;
        return false;
      }
      case QMARK:
        si++;
        slen--;
        break;
      case LBRACKET: {
        pi++;
        plen--;
        const not = plen > 0 && pat[pi] === CARET;
        if (not) { pi++; plen--; }
        let match = false;
        while (true) {
          if (plen >= 2 && pat[pi] === BACKSLASH) {
            pi++;
            plen--;
            if (pat[pi] === str[si]) match = true;
          } else if (plen > 0 && pat[pi] === RBRACKET) {
            break;
          } else if (plen === 0) {
            pi--;
            plen++;
            break;
          } else if (plen >= 3 && pat[pi + 1] === DASH) {
            let start = signed(pat[pi]);
            let end = signed(pat[pi + 2]);
            let c = signed(str[si]);
            if (start > end) { const t = start; start = end; end = t; }
            if (nocase) { start = lower(start); end = lower(end); c = lower(c); }
            pi += 2;
            plen -= 2;
            if (c >= start && c <= end) match = true;
          } else if (!nocase ? pat[pi] === str[si] : lower(pat[pi]) === lower(str[si])) {
            match = true;
          }
          pi++;
          plen--;
        }
        if (not) match = !match;
        if (!match) return false;
        si++;
        slen--;
        break;
      }
      case BACKSLASH:
        if (plen >= 2) { pi++; plen--; }
      // fall through
      default:
        if (!nocase ? pat[pi] !== str[si] : lower(pat[pi]) !== lower(str[si])) return false;
        si++;
        slen--;
        break;
    }
    pi++;
    plen--;
    if (slen === 0) {
      while (plen > 0 && pat[pi] === STAR) { pi++; plen--; }
      break;
    }
  }
  return plen === 0 && slen === 0;
}
