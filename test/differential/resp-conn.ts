// A raw RESP connection (RESP2, or RESP3 after HELLO 3) for side-by-side runs: one command out, its reply back as the
// exact bytes the server sent, so replies of two servers compare byte for byte (types,
// error texts, float formatting), not as a client library decodes them.
import net from "node:net";

/** Where the reply starting at `pos` ends, or -1 if buf does not hold all of it yet. */
export function replyEnd(buf: Buffer, pos: number): number {
  if (pos >= buf.length) return -1;
  const eol = buf.indexOf("\r\n", pos);
  if (eol < 0) return -1;
  const type = buf[pos];
  const n = Number(buf.toString("latin1", pos + 1, eol));
  switch (type) {
    case 0x2b: case 0x2d: case 0x3a: // + - :
    case 0x5f: case 0x2c: case 0x23: case 0x28: // RESP3 _ , # (
      return eol + 2;
    case 0x24: case 0x3d: case 0x21: // $, RESP3 = !
      if (n < 0) return eol + 2;
      return eol + 2 + n + 2 <= buf.length ? eol + 2 + n + 2 : -1;
    case 0x2a: case 0x7e: case 0x3e: case 0x25: case 0x7c: { // *, RESP3 ~ > % |
      const items = type === 0x25 || type === 0x7c ? 2 * n : n;
      let p = eol + 2;
      for (let i = 0; i < items; i++) {
        p = replyEnd(buf, p);
        if (p < 0) return -1;
      }
      // An attribute (|) comes before the reply it describes.
      return type === 0x7c ? replyEnd(buf, p) : p;
    }
  }
  throw new Error(`unexpected reply byte ${type} at ${pos}`);
}

const CLOSED = "(closed)";
const NO_REPLY = "(no reply)";
/** PING's reply on a RESP2 connection in subscribed mode. */
const PONG_SUBSCRIBED = "*2\r\n$4\r\npong\r\n$0\r\n\r\n";

export class RespConn {
  private buf = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private closed = false;
  private constructor(private readonly sock: net.Socket) {
    sock.on("data", (d) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.waiting?.();
    });
    sock.on("close", () => {
      this.closed = true;
      this.waiting?.();
    });
  }

  static open(port: number): Promise<RespConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, "127.0.0.1", () => resolve(new RespConn(s)));
      s.once("error", reject);
    });
  }

  /**
   * Sends argv and returns its reply's bytes (as a latin1 string); "(closed)" when the
   * server closed the connection, "(no reply)" after timeoutMs without a whole reply.
   */
  async call(argv: string[], timeoutMs = 10_000): Promise<string> {
    return (await this.pipeline([argv], timeoutMs))[0];
  }

  /** Sends every command in one write (one read for the server) and returns their replies. */
  async pipeline(commands: string[][], timeoutMs = 10_000): Promise<string[]> {
    let out = "";
    for (const argv of commands) {
      out += `*${argv.length}\r\n`;
      for (const a of argv) out += `$${Buffer.byteLength(a, "latin1")}\r\n${a}\r\n`;
    }
    this.sock.write(Buffer.from(out, "latin1"));
    const replies: string[] = [];
    while (replies.length < commands.length) {
      const reply = await this.next(timeoutMs);
      replies.push(reply);
      if (reply === CLOSED || reply === NO_REPLY) while (replies.length < commands.length) replies.push(reply);
    }
    return replies;
  }

  private async next(timeoutMs: number): Promise<string> {
    for (;;) {
      const end = replyEnd(this.buf, 0);
      if (end >= 0) {
        const reply = this.buf.toString("latin1", 0, end);
        this.buf = this.buf.subarray(end);
        return reply;
      }
      if (this.closed) return CLOSED;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await new Promise<boolean>((r) => {
        this.waiting = () => r(false);
        timer = setTimeout(() => r(true), timeoutMs);
      });
      clearTimeout(timer);
      this.waiting = null;
      if (timedOut) return NO_REPLY;
    }
  }

  /**
   * For a subscribed connection: every message pushed to it so far, up to the reply to a PING
   * sent now (a connection's replies and pushes arrive in order, so the PING's reply comes
   * after everything the server published to it before it read the PING).
   */
  async messagesUntilPing(timeoutMs = 10_000): Promise<string[]> {
    this.sock.write("*1\r\n$4\r\nPING\r\n");
    const messages: string[] = [];
    for (;;) {
      const m = await this.next(timeoutMs);
      if (m === CLOSED || m === NO_REPLY) return [...messages, m];
      if (m === PONG_SUBSCRIBED) return messages;
      messages.push(m);
    }
  }

  close(): void { this.sock.destroy(); }
}
