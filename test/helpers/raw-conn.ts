// A raw RESP connection that stays open: send commands, then wait for exact bytes to have
// arrived (pub/sub messages and invalidations arrive unasked, so a request/reply helper
// does not fit).
import net from "node:net";

export class RawConn {
  private sock: net.Socket;
  text = "";
  closed = false;
  private waiters: (() => void)[] = [];

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on("data", (d) => {
      this.text += d.toString("latin1");
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on("close", () => { this.closed = true; for (const w of this.waiters.splice(0)) w(); });
    sock.on("error", () => {});
  }

  static open(port: number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, "127.0.0.1", () => resolve(new RawConn(s)));
      s.once("error", reject);
    });
  }

  /** Sends one command as a RESP multibulk. */
  send(...args: (string | Buffer)[]): void {
    const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
    for (const a of args) {
      const b = Buffer.isBuffer(a) ? a : Buffer.from(a);
      parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
    }
    this.sock.write(Buffer.concat(parts));
  }

  /** Waits until the received bytes (from the start of what was not yet taken) hold `expected`, then takes them. */
  async expect(expected: string, timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.text.length < expected.length && !this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
    const got = this.text.slice(0, expected.length);
    this.text = this.text.slice(expected.length);
    if (got !== expected) throw new Error(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(got + this.text)}`);
  }

  /** Waits until `marker` has arrived and takes everything up to and including it (HELLO's map). */
  async skipPast(marker: string, timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.text.includes(marker) && !this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
    const i = this.text.indexOf(marker);
    if (i < 0) throw new Error(`${JSON.stringify(marker)} never arrived; got ${JSON.stringify(this.text)}`);
    this.text = this.text.slice(i + marker.length);
  }

  /** Whatever arrives within ms (for "nothing else was sent"). */
  async drain(ms = 100): Promise<string> {
    await new Promise((r) => setTimeout(r, ms));
    const t = this.text;
    this.text = "";
    return t;
  }

  close(): void { this.sock.destroy(); }
}

/** RESP encoders for expected replies. */
export const resp = {
  bulk: (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`,
  int: (n: number) => `:${n}\r\n`,
  arr: (n: number) => `*${n}\r\n`,
  push: (n: number) => `>${n}\r\n`,
};
