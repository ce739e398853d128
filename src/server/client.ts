// Client: one connection's state (db, name, flags, pending input) and the loop that feeds
// its bytes to the kernel and runs what the kernel hands back.
import type { Socket } from "node:net";
import type { Server } from "./server.js";
import { ReplyWriter } from "./reply-writer.js";
import { STATUS_DONE, STATUS_HOST, STATUS_PROTO_ERROR, STATUS_YIELD } from "./shard.js";

let nextClientId = 1;

export class Client {
  readonly id = nextClientId++;
  name = "";
  db = 0;
  readonly createdAt = Date.now();
  lastInteraction = Date.now();
  /** Last command name run (CLIENT LIST cmd=). */
  lastCommand = "NULL";
  /** Set by QUIT / protocol errors: close once the replies are written. */
  closeAfterReply = false;
  closed = false;
  /** Bytes received but not yet run (an incomplete command). */
  private pending: Buffer | null = null;
  /** The kernel said no command can complete before pending holds this many bytes. */
  private need = 0;
  readonly reply = new ReplyWriter();

  constructor(readonly server: Server, readonly socket: Socket) {}

  get addr(): string { return `${this.socket.remoteAddress}:${this.socket.remotePort}`; }
  get laddr(): string { return `${this.socket.localAddress}:${this.socket.localPort}`; }

  onData(chunk: Buffer): void {
    this.lastInteraction = Date.now();
    this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    if (this.pending.length < this.need) return;
    this.socket.cork();
    try {
      this.processInput();
    } finally {
      this.socket.uncork();
    }
  }

  private processInput(): void {
    const buf = this.pending!;
    const shard = this.server.shards[0];
    const k = shard.kernel;
    const base = shard.load(buf);
    const end = base + buf.length;
    let pos = base;
    while (!this.closed) {
      const st = k.x.process(pos, end, this.db, this.server.now());
      const out = k.output();
      if (out.length) this.write(Buffer.from(out));
      shard.afterCall();
      pos = k.x.consumedPos();
      if (st === STATUS_DONE) {
        const rest = end - pos;
        this.pending = rest > 0 ? buf.subarray(pos - base) : null;
        // Wait for enough bytes, and never re-parse a growing tail more than log(n) times.
        this.need = rest > 0 ? Math.max(k.x.needBytes(), rest * 2 > 1 << 20 ? rest * 2 : 0) : 0;
        return;
      }
      if (st === STATUS_PROTO_ERROR) {
        this.pending = null;
        this.closeAfterReply = true;
        this.flushAndMaybeClose();
        return;
      }
      if (st === STATUS_YIELD) continue;
      // STATUS_HOST: a command the host runs, in order with the rest of the pipeline.
      const argv = k.argv().map((a) => Buffer.from(a.buffer, a.byteOffset, a.length));
      this.server.dispatch(this, argv);
      this.flushAndMaybeClose();
      // Nested kernel calls made by the host command (EXEC, Lua) use memory of their own,
      // and no other client's input runs synchronously, so our input region is intact.
      if (this.closeAfterReply) return;
    }
  }

  /** Sends what host handlers wrote; closes if QUIT or a protocol error asked for it. */
  flushAndMaybeClose(): void {
    if (this.reply.pending) this.write(this.reply.take());
    if (this.closeAfterReply && !this.closed) {
      this.closed = true;
      this.socket.end();
    }
  }

  write(b: Buffer): void {
    if (this.closed) return;
    this.socket.write(b);
  }
}
