// Lua 5.1's syntax where fengari (Lua 5.3) is more lenient, and 5.1's compile error wording.
//
// fengari compiles what 5.3 added: `//`, the bitwise operators `& | ~ << >>` and labels
// (`::name::`), which Redis's Lua 5.1 refuses: its lexer has no such tokens, so its parser
// meets a character it cannot use there ("unexpected symbol near '&'", or "'<eof>' expected
// near '&'" after `return 1`, "')' expected near '&'" in a call...). scan53Tokens finds the
// first such token outside strings and comments, as 5.1's lexer reads the source; that
// character is replaced by one neither Lua knows ('@') and fengari compiles the result:
// its error there is 5.1's, with the character put back.
// (`goto` is a plain name in 5.1: fengari.ts keeps it from being a reserved word.)
//
// source51 rewrites a quoted string's escapes 5.1 does not know (\x, \z, \u, \q...): 5.1 reads
// them as the character alone ("\u00e9" is "u00e9"), 5.3 reads \x41 as "A", skips
// whitespace after \z, reads \u{e9} as UTF-8 and refuses the rest ("invalid escape sequence").
//
// compileError51 rewrites fengari's messages into 5.1's: 5.1 quotes every token it names
// (5.3 leaves <eof>, <number>... bare), and an expression statement that is not a call is
// "'=' expected" in 5.1 (its exprstat goes on as an assignment) where 5.3 says "syntax error".

const LF = 0x0a;
const CR = 0x0d;

/** At src[k] = '[': the level of the long bracket opening there ([[ is 0, [=[ is 1...), or -1. */
function longLevel(src: Uint8Array, k: number): number {
  let j = k + 1;
  let level = 0;
  while (j < src.length && src[j] === 0x3d) { level++; j++; }
  return j < src.length && src[j] === 0x5b ? level : -1;
}

/** Past the long bracket of `level` opening at src[k]: after its closing ]=*], or the end of src. */
function longEnd(src: Uint8Array, k: number, level: number): number {
  const n = src.length;
  for (let i = k + level + 2; i < n; i++) {
    if (src[i] !== 0x5d) continue;
    let j = i + 1;
    let l = 0;
    while (j < n && src[j] === 0x3d) { l++; j++; }
    if (l === level && j < n && src[j] === 0x5d) return j + 1;
  }
  return n;
}

/** Past the comment starting at src[k] ("--"): its long bracket, or the rest of its line. */
function commentEnd(src: Uint8Array, k: number): number {
  let i = k + 2;
  if (src[i] === 0x5b) {
    const level = longLevel(src, i);
    if (level >= 0) return longEnd(src, i, level);
  }
  while (i < src.length && src[i] !== LF && src[i] !== CR) i++;
  return i;
}

/** Line breaks in src[from, to) as 5.1's lexer counts them (\n, \r, \n\r and \r\n are one each). */
function lineBreaks(src: Uint8Array, from: number, to: number): number {
  let lines = 0;
  for (let i = from; i < to; i++) {
    const c = src[i];
    if (c !== LF && c !== CR) continue;
    const d = src[i + 1];
    if ((d === LF || d === CR) && d !== c) i++;
    lines++;
  }
  return lines;
}

/** The first 5.3-only token: its line, and the offset and character 5.1 stops at; null when none. */
export function scan53Tokens(src: Uint8Array): { line: number; offset: number; near: string } | null {
  let i = 0;
  let line = 1;
  const n = src.length;
  const at = (k: number) => (k < n ? src[k] : -1);
  const newline = () => {
    // \n, \r, \n\r and \r\n are one line break each (llex's inclinenumber)
    const c = src[i++];
    const d = at(i);
    if ((d === 0x0a || d === 0x0d) && d !== c) i++;
    line++;
  };
  /** Moves to `end`, counting the line breaks passed (a comment's or a long string's). */
  const skipTo = (end: number) => {
    line += lineBreaks(src, i, end);
    i = end;
  };
  const isAlpha = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
  const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

  while (i < n) {
    const c = src[i];
    if (c === 0x0a || c === 0x0d) { newline(); continue; }
    if (c === 0x2d && at(i + 1) === 0x2d) { skipTo(commentEnd(src, i)); continue; }
    if (c === 0x5b) { // a long string, or an index
      const level = longLevel(src, i);
      skipTo(level >= 0 ? longEnd(src, i, level) : i + 1);
      continue;
    }
    if (c === 0x22 || c === 0x27) { // a quoted string
      i++;
      while (i < n && src[i] !== c) {
        if (src[i] === 0x5c) {
          i++;
          if (at(i) === 0x0a || at(i) === 0x0d) { newline(); continue; }
        } else if (src[i] === 0x0a || src[i] === 0x0d) break; // unfinished string: the parser reports it
        i++;
      }
      i++;
      continue;
    }
    if (isDigit(c) || (c === 0x2e && isDigit(at(i + 1)))) { // a numeral (read_numeral)
      while (i < n && (isDigit(src[i]) || isAlpha(src[i]) || src[i] === 0x2e)) {
        if ((src[i] === 0x45 || src[i] === 0x65) && (at(i + 1) === 0x2b || at(i + 1) === 0x2d)) i++;
        i++;
      }
      continue;
    }
    if (isAlpha(c)) {
      while (i < n && (isAlpha(src[i]) || isDigit(src[i]))) i++;
      continue;
    }
    const d = at(i + 1);
    // '//', '<<' and '>>' start with an operator 5.1 has: it stops at their second character
    if (c === 0x2f && d === 0x2f) return { line, offset: i + 1, near: "/" };
    if (c === 0x26) return { line, offset: i, near: "&" };
    if (c === 0x7c) return { line, offset: i, near: "|" };
    if (c === 0x7e && d !== 0x3d) return { line, offset: i, near: "~" };
    if (c === 0x3c && d === 0x3c) return { line, offset: i + 1, near: "<" };
    if (c === 0x3e && d === 0x3e) return { line, offset: i + 1, near: ">" };
    if (c === 0x3a && d === 0x3a) return { line, offset: i, near: ":" };
    // two-character tokens 5.1 has: skip both so '~=' or '==' is not read again
    i += (c === 0x7e || c === 0x3d || c === 0x3c || c === 0x3e) && d === 0x3d ? 2 : 1;
  }
  return null;
}

/** 5.1's escapes: \a \b \f \n \r \t \v \\ \" \' \<newline> and \ddd; anything else is the character itself. */
const ESCAPES51 = new Set([..."abfnrtv\\\"'0123456789\n\r"].map((c) => c.charCodeAt(0)));

/** src with the backslash of every escape 5.1 does not know removed (src itself when none). */
export function source51(src: Uint8Array): Uint8Array {
  let out: number[] | null = null;
  let i = 0;
  const n = src.length;
  const keep = (from: number, to: number) => { for (let k = from; k < to; k++) out!.push(src[k]); };
  let copied = 0; // src[0, copied) is in out
  while (i < n) {
    const c = src[i];
    if (c === 0x2d && src[i + 1] === 0x2d) {
      i = commentEnd(src, i);
      continue;
    }
    if (c === 0x5b) {
      const level = longLevel(src, i);
      i = level >= 0 ? longEnd(src, i, level) : i + 1;
      continue;
    }
    if (c === 0x22 || c === 0x27) {
      i++;
      while (i < n && src[i] !== c && src[i] !== 0x0a && src[i] !== 0x0d) {
        if (src[i] === 0x5c && i + 1 < n) {
          if (!ESCAPES51.has(src[i + 1])) {
            out ??= [];
            keep(copied, i);
            copied = i + 1; // drop the backslash
          }
          i += 2;
          continue;
        }
        i++;
      }
      i++;
      continue;
    }
    i++;
  }
  if (out === null) return src;
  keep(copied, n);
  return Uint8Array.from(out);
}

/** fengari's compile error message in 5.1's words. */
export function compileError51(msg: string): string {
  let m = msg.replace(/ near (<[a-z]+>)$/, " near '$1'").replace(/: (<[a-z]+>) expected/, ": '$1' expected");
  // exprstat's check (not restassign's, which says "syntax error" in 5.1 too, before '=' or ',')
  m = m.replace(/: syntax error near (.*)$/, (all, near: string) => (near === "'='" || near === "','" ? all : `: '=' expected near ${near}`));
  return m;
}

/**
 * The error 5.1 reports compiling `src`, or null when it compiles; `compile` is fengari's
 * compiler (its error message, or null).
 */
export function syntaxError51(original: Uint8Array, compile: (src: Uint8Array) => string | null): string | null {
  const src = source51(original);
  const t = scan53Tokens(src);
  if (t === null) {
    const e = compile(src);
    return e === null ? null : compileError51(e);
  }
  const marked = Uint8Array.from(src);
  marked[t.offset] = 0x40; // '@'
  const e = compile(marked);
  if (e === null) return null; // cannot happen: '@' is no token in either Lua
  return compileError51(e.replace(/ near '@'$/, ` near '${t.near}'`));
}
