// A minimal RESP2 client used by the generator scripts: sends one command to a server
// and returns the reply as a typed tree (simple strings as {s}, errors as {e}).
import net from "node:net";

export function respCommand(port, args) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const chunks = [];
    sock.on("data", (d) => {
      chunks.push(d);
      const buf = Buffer.concat(chunks);
      const r = parse(buf, 0);
      if (r) { sock.end(); resolve(r.value); }
    });
    sock.on("error", reject);
    let req = `*${args.length}\r\n`;
    for (const a of args) req += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
    sock.write(req);
  });
}

function parse(buf, pos) {
  const nl = buf.indexOf("\r\n", pos);
  if (nl < 0) return null;
  const line = buf.toString("utf8", pos + 1, nl);
  const t = String.fromCharCode(buf[pos]);
  const next = nl + 2;
  if (t === "+") return { value: { s: line }, pos: next };
  if (t === "-") return { value: { e: line }, pos: next };
  if (t === ":") return { value: Number(line), pos: next };
  if (t === "$") {
    const n = Number(line);
    if (n < 0) return { value: null, pos: next };
    if (buf.length < next + n + 2) return null;
    return { value: buf.toString("utf8", next, next + n), pos: next + n + 2 };
  }
  if (t === "*") {
    const n = Number(line);
    if (n < 0) return { value: null, pos: next };
    const arr = [];
    let p = next;
    for (let i = 0; i < n; i++) {
      const r = parse(buf, p);
      if (!r) return null;
      arr.push(r.value);
      p = r.pos;
    }
    return { value: arr, pos: p };
  }
  throw new Error("bad reply type " + t);
}
