// A minimal RESP client for the bench scripts (and started: a spawned server's start-up): one command at a time (INFO, DBSIZE, PING...),
// replies parsed into strings, numbers, arrays, null and Error. Enough for these scripts'
// bookkeeping; the load itself comes from redis-benchmark or the server's own work.
import net from "node:net";

/** A minimal RESP client: one command at a time (enough for INFO and the comparison). */
export function connect(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    const waiting = [];
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const r = parse(buf, 0);
        if (!r) break;
        buf = buf.subarray(r.end);
        waiting.shift()(r.value);
      }
    });
    sock.once("error", reject);
    sock.once("connect", () => resolve({
      call: (...args) => new Promise((res) => {
        waiting.push(res);
        sock.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join(""));
      }),
      close: () => sock.destroy(),
    }));
  });
}

export function parse(b, i) {
  const nl = b.indexOf("\r\n", i);
  if (nl < 0) return null;
  const line = b.toString("latin1", i + 1, nl);
  switch (String.fromCharCode(b[i])) {
    case "+": return { value: line, end: nl + 2 };
    case "-": return { value: new Error(line), end: nl + 2 };
    case ":": return { value: Number(line), end: nl + 2 };
    case "$": {
      const n = Number(line);
      if (n < 0) return { value: null, end: nl + 2 };
      if (b.length < nl + 2 + n + 2) return null;
      return { value: b.toString("latin1", nl + 2, nl + 2 + n), end: nl + 2 + n + 2 };
    }
    case "*": {
      const n = Number(line);
      const out = [];
      let at = nl + 2;
      for (let k = 0; k < n; k++) { const r = parse(b, at); if (!r) return null; out.push(r.value); at = r.end; }
      return { value: n < 0 ? null : out, end: at };
    }
  }
  throw new Error(`bad reply byte ${b[i]}`);
}

/**
 * Feeds a spawned server's output to `keep` and waits until it logs that it is ready (a server
 * that exits or takes more than 20 s is killed and the error carries its log); returns
 * { exited }, a promise of its exit (in an object: an async function's promise result is awaited).
 */
export async function started(proc, port, keep, logOf) {
  proc.stdout.on("data", keep);
  proc.stderr.on("data", keep);
  const exited = new Promise((r) => proc.once("exit", r));
  for (let i = 0; !logOf().includes("Ready to accept connections"); i++) {
    if (proc.exitCode !== null || i > 800) { proc.kill("SIGKILL"); throw new Error(`node on ${port} did not start:\n${logOf()}`); }
    await new Promise((r) => setTimeout(r, 25));
  }
  return { exited };
}
