// redis-cli-style printing of replies, and splitting a typed line into arguments
// (double and single quotes, as redis-cli does for the common cases).
import { ReplyError } from "/dist/src/embed/index.js";

export function formatReply(r, indent = "") {
  if (r === null) return "(nil)";
  if (r instanceof ReplyError) return `(error) ${r.message}`;
  if (typeof r === "number" || typeof r === "bigint") return `(integer) ${r}`;
  if (typeof r === "string") return JSON.stringify(r);
  if (Array.isArray(r)) {
    if (r.length === 0) return "(empty array)";
    const w = String(r.length).length;
    return r.map((x, i) => `${i === 0 ? "" : indent}${String(i + 1).padStart(w)}) ${formatReply(x, indent + " ".repeat(w + 2))}`).join("\n");
  }
  return String(r);
}

export function splitArgs(line) {
  const args = [];
  const re = /"((?:\\.|[^"\\])*)"|'([^']*)'|(\S+)/g;
  let m;
  while ((m = re.exec(line))) args.push(m[1] !== undefined ? JSON.parse(`"${m[1]}"`) : m[2] ?? m[3]);
  return args;
}
