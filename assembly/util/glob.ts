// Glob-style matching exactly as Redis's stringmatchlen (util.c, 7.0.15), used by KEYS,
// SCAN MATCH and HSCAN/SSCAN/ZSCAN MATCH.
//
//   *        any run of bytes (consecutive stars collapse)
//   ?        any one byte
//   [abc]    one byte of the class; [^abc] negated; [a-z] a range (reversed ranges are
//            swapped); \x inside a class is a literal x; an unterminated class ends at the
//            pattern's end
//   \x       a literal x
//
// Redis's C code reads the pattern's NUL terminator at pattern[len]; argv bytes here are not
// NUL-terminated, so every read goes through patAt(), which answers 0 past the end. Ranges
// compare bytes as C's signed char, as Redis does on x86. skipLongerMatches is Redis's fix
// for exponential backtracking (CVE-2022-36021): once the rest of the pattern failed to
// match from every position, longer matches for an earlier star cannot help.

let skipLongerMatches = false;
let patEnd: usize = 0;

@inline function patAt(p: usize): i32 {
  return p < patEnd ? <i32>load<i8>(p) : 0;
}

@inline function lower(c: i32): i32 {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

/** Does [str, str+strLen) match the pattern [pat, pat+patLen)? */
export function stringmatchlen(pat: usize, patLen: usize, str: usize, strLen: usize, nocase: bool): bool {
  skipLongerMatches = false;
  const savedEnd = patEnd;
  patEnd = pat + patLen;
  const r = matchImpl(pat, <i32>patLen, str, <i32>strLen, nocase);
  patEnd = savedEnd;
  return r;
}

function matchImpl(pattern: usize, patternLen: i32, s: usize, stringLen: i32, nocase: bool): bool {
  while (patternLen > 0 && stringLen > 0) {
    const p0 = patAt(pattern);
    if (p0 == 0x2a /* * */) {
      while (patternLen > 0 && patAt(pattern + 1) == 0x2a) {
        pattern++;
        patternLen--;
      }
      if (patternLen == 1) return true;
      while (stringLen > 0) {
        if (matchImpl(pattern + 1, patternLen - 1, s, stringLen, nocase)) return true;
        if (skipLongerMatches) return false;
        s++;
        stringLen--;
      }
      skipLongerMatches = true;
      return false;
    } else if (p0 == 0x3f /* ? */) {
      s++;
      stringLen--;
    } else if (p0 == 0x5b /* [ */) {
      pattern++;
      patternLen--;
      const not = patAt(pattern) == 0x5e; /* ^ */
      if (not) {
        pattern++;
        patternLen--;
      }
      let match = false;
      const sc = <i32>load<i8>(s);
      while (true) {
        const c = patAt(pattern);
        if (c == 0x5c /* \ */ && patternLen >= 2) {
          pattern++;
          patternLen--;
          if (patAt(pattern) == sc) match = true;
        } else if (c == 0x5d /* ] */) {
          break;
        } else if (patternLen == 0) {
          pattern--;
          patternLen++;
          break;
        } else if (patternLen >= 3 && patAt(pattern + 1) == 0x2d /* - */) {
          let start = c;
          let end = patAt(pattern + 2);
          let x = sc;
          if (start > end) { const t = start; start = end; end = t; }
          if (nocase) { start = lower(start); end = lower(end); x = lower(x); }
          pattern += 2;
          patternLen -= 2;
          if (x >= start && x <= end) match = true;
        } else if (!nocase) {
          if (c == sc) match = true;
        } else if (lower(c) == lower(sc)) {
          match = true;
        }
        pattern++;
        patternLen--;
      }
      if (not) match = !match;
      if (!match) return false;
      s++;
      stringLen--;
    } else {
      if (p0 == 0x5c /* \ */ && patternLen >= 2) {
        pattern++;
        patternLen--;
      }
      const c = patAt(pattern);
      const sc = <i32>load<i8>(s);
      if (!nocase) {
        if (c != sc) return false;
      } else if (lower(c) != lower(sc)) {
        return false;
      }
      s++;
      stringLen--;
    }
    pattern++;
    patternLen--;
    if (stringLen == 0) {
      while (patAt(pattern) == 0x2a) {
        pattern++;
        patternLen--;
      }
      break;
    }
  }
  return patternLen == 0 && stringLen == 0;
}
