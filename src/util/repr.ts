// Redis's sdscatrepr (sds.c): a value as a double-quoted string with C escapes, as MONITOR,
// CONFIG REWRITE, the command line's config text and the AOF manifest write it.

/**
 * Bytes as `"..."`: \\ and \" escaped, \n \r \t \a \b by name, other bytes outside printable
 * ASCII as \xNN. A string is taken as latin1 bytes (config files and file names are read that
 * way); a character above \xff, which no byte string holds, is kept as it is.
 */
export function catRepr(value: Uint8Array | string): string {
  let out = '"';
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const c = typeof value === "string" ? value.charCodeAt(i) : value[i];
    if (c === 0x5c) out += "\\\\";
    else if (c === 0x22) out += '\\"';
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x07) out += "\\a";
    else if (c === 0x08) out += "\\b";
    else if ((c >= 0x20 && c < 0x7f) || c > 0xff) out += String.fromCharCode(c);
    else out += "\\x" + c.toString(16).padStart(2, "0");
  }
  return out + '"';
}
