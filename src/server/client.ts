// Client: one connection's state (db, name, flags, pending input) and the loop that feeds
// its bytes to the kernel and runs what the kernel hands back.
//
// Input: socket chunks are kept as they arrive and joined once, when the kernel can make
// progress: after an incomplete command the kernel says how many bytes could complete it
// (the exact size inside a bulk, a lower bound otherwise), and nothing is copied or parsed
// again until that many have arrived. So a huge declared bulk length allocates nothing up
// front, and a big command arriving in many reads is not re-copied on every read.
//
// Output and backpressure: replies go straight to the socket. When the socket's unsent
// bytes pass OUTPUT_HIGH_WATER (a slow reader, or a client pipelining without reading),
// the client stops processing input and stops reading its socket until the buffer drains,
// so the server never buffers without bound; TCP pushes back on the sender. On top of
// that, client-output-buffer-limit's normal class (hard, soft + seconds; Redis's default
// 0 0 0 = none) disconnects a client whose unsent replies exceed it.
import type { Socket } from "node:net";
import type { Server } from "./server.js";
import type { Shard } from "./shard.js";
import { ReplyWriter } from "./reply-writer.js";
import { STATUS_DONE, STATUS_PROTO_ERROR, STATUS_YIELD } from "./shard.js";
import { log } from "./log.js";
import { skipValue } from "./resp-read.js";

let nextClientId = 1;

/** Unsent reply bytes above which the client's input is not processed until they drain. */
export const OUTPUT_HIGH_WATER = 1 << 20;

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
  /** Input received but not yet run (an incomplete command, or input held back by backpressure). */
  private chunks: Buffer[] = [];
  private pendingLen = 0;
  /** No command can complete before pendingLen reaches this. */
  private need = 0;
  /** Reading is paused until the socket's write buffer drains. */
  private paused = false;
  /** When the unsent output first went above the soft limit (0: it is not above). */
  private softLimitSince = 0;
  readonly reply = new ReplyWriter();
  // Connection state of the server/connection commands (CLIENT, HELLO, RESET).
  /** Protocol version chosen by HELLO (RESP2 until RESP3 lands). */
  resp = 2;
  /** The ACL user this connection is authenticated as. */
  user = "default";
  /** CLIENT REPLY OFF: no reply is sent. */
  replyOff = false;
  /** CLIENT REPLY SKIP: the next command's reply is not sent. */
  skipNextReply = false;
  /** CLIENT NO-EVICT ON. */
  noEvict = false;
  /** Bytes of the input being run now (CLIENT LIST qbuf= counts them, as Redis's querybuf does). */
  inputInFlight = 0;
  /** Sum of the running command's argument lengths (CLIENT LIST argv-mem=). */
  currentArgvBytes = 0;
  /** The shard that parses this client's input. */
  readonly shard: Shard;

  constructor(readonly server: Server, readonly socket: Socket) {
    this.shard = server.router.homeShard(this);
  }

  get addr(): string { return formatAddr(this.socket.remoteAddress, this.socket.remotePort); }
  /** A loopback connection (Redis's islocalClient: "local" for enable-debug-command and protected configs). */
  get isLocal(): boolean {
    const a = this.socket.remoteAddress ?? "";
    return a.startsWith("127.") || a === "::1" || a.startsWith("::ffff:127.");
  }
  get laddr(): string { return formatAddr(this.socket.localAddress, this.socket.localPort); }
  /** Bytes received and not yet run (CLIENT LIST qbuf=). */
  get queryBufferLength(): number { return this.pendingLen; }
  /** Reply bytes not yet sent (CLIENT LIST omem=). */
  get outputBufferLength(): number { return this.socket.writableLength; }

  onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastInteraction = Date.now();
    this.server.stats.netInputBytes += chunk.length;
    this.server.stats.readsProcessed++;
    this.chunks.push(chunk);
    this.pendingLen += chunk.length;
    if (this.pendingLen > this.server.limits.queryBufferMax) {
      log("warning", `Closing client that reached max query buffer length: id=${this.id} addr=${this.addr} qbuf=${this.pendingLen}`);
      this.kill();
      return;
    }
    if (this.paused || this.pendingLen < this.need) return;
    this.runPending();
  }

  /** Socket closed: drop what was pending. */
  onClose(): void {
    this.closed = true;
    this.chunks = [];
    this.pendingLen = 0;
  }

  private runPending(): void {
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.pendingLen);
    this.chunks = [];
    this.pendingLen = 0;
    this.need = 0;
    this.socket.cork();
    this.inputInFlight = buf.length;
    try {
      this.processInput(buf);
    } finally {
      this.inputInFlight = 0;
      this.socket.uncork();
    }
  }

  /** Keeps the unrun part of the input for later. */
  private keep(rest: Buffer, need: number): void {
    if (rest.length === 0) return;
    this.chunks.unshift(rest);
    this.pendingLen += rest.length;
    this.need = need;
  }

  private processInput(buf: Buffer): void {
    const shard = this.shard;
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
        this.keep(buf.subarray(pos - base), k.x.needBytes());
        if (this.overHighWater()) this.pauseUntilDrained();
        return;
      }
      if (st === STATUS_PROTO_ERROR) {
        this.closeAfterReply = true;
        this.flushAndMaybeClose();
        return;
      }
      if (st !== STATUS_YIELD) {
        // STATUS_HOST: a command the host runs (or, with several shards, places), in order
        // with the rest of the pipeline.
        this.runHandedBack(shard);
        this.flushAndMaybeClose();
        // Nested kernel calls made by the host command (EXEC, Lua, routing) use memory of
        // their own, and no other client's input runs synchronously, so our input region
        // is intact.
        if (this.closeAfterReply) return;
      }
      if (this.overHighWater()) {
        this.keep(buf.subarray(pos - base), 0);
        this.pauseUntilDrained();
        return;
      }
    }
  }

  private runHandedBack(shard: Shard): void {
    const k = shard.kernel;
    const argv = k.argv().map((a) => Buffer.from(a.buffer, a.byteOffset, a.length));
    if (this.server.router.sharded) {
      const spec = this.server.table.lookup(argv[0].toString("latin1"));
      if (spec && spec.kernelIndex >= 0 && !spec.handler) {
        // A kernel command whose keys are (partly) in other shards, or a keyspace-wide one.
        const raw = k.mem.slice(k.x.commandStart(), k.x.consumedPos());
        this.lastCommand = spec.name;
        this.server.router.execute(this, spec, argv, raw);
        return;
      }
    }
    this.server.dispatch(this, argv);
  }

  /** Whether unsent replies are above the high-water mark once what can be sent now is sent. */
  private overHighWater(): boolean {
    if (this.socket.writableLength < OUTPUT_HIGH_WATER) return false;
    // Hand the corked bytes to the kernel's socket buffer; a client that reads keeps up.
    this.socket.uncork();
    this.socket.cork();
    return this.socket.writableLength >= OUTPUT_HIGH_WATER;
  }

  private pauseUntilDrained(): void {
    if (this.paused || this.closed) return;
    this.paused = true;
    this.socket.pause();
    this.socket.once("drain", () => {
      this.paused = false;
      if (this.closed) return;
      this.socket.resume();
      if (this.pendingLen > 0 && this.pendingLen >= this.need) this.runPending();
    });
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
    // CLIENT REPLY OFF / SKIP. Every command writes exactly one RESP2 reply, in order, so
    // the next command's reply is the first value written after SKIP.
    if (this.replyOff) return;
    if (this.skipNextReply && b.length > 0) {
      this.skipNextReply = false;
      b = b.subarray(skipValue(b, 0));
      if (b.length === 0) return;
    }
    this.server.stats.netOutputBytes += b.length;
    this.server.stats.writesProcessed++;
    this.socket.write(b);
    this.checkOutputLimits();
  }

  /** client-output-buffer-limit (normal class): disconnect past the hard limit, or past the soft one for too long. */
  private checkOutputLimits(): void {
    const lim = this.server.limits.normalOutput;
    if (lim.hard === 0 && lim.soft === 0) return;
    const used = this.socket.writableLength;
    let over = lim.hard > 0 && used >= lim.hard;
    if (!over && lim.soft > 0 && used >= lim.soft) {
      const now = Date.now();
      if (this.softLimitSince === 0) this.softLimitSince = now;
      else over = now - this.softLimitSince >= lim.softSeconds * 1000;
    } else if (lim.soft > 0 && used < lim.soft) {
      this.softLimitSince = 0;
    }
    if (over) {
      log("warning", `Client id=${this.id} addr=${this.addr} scheduled to be closed ASAP for overcoming of output buffer limits.`);
      this.kill();
    }
  }

  /** Closes the connection now, dropping unsent replies (CLIENT KILL, limits). */
  kill(): void {
    if (this.closed) return;
    this.closed = true;
    this.chunks = [];
    this.pendingLen = 0;
    this.socket.destroy();
  }
}

/** Redis's formatAddr: "ip:port", "[ipv6]:port"; IPv4-mapped IPv6 shown as IPv4. */
export function formatAddr(ip: string | undefined, port: number | undefined): string {
  let a = ip ?? "?";
  if (a.startsWith("::ffff:") && a.includes(".")) a = a.slice(7);
  return a.includes(":") ? `[${a}]:${port}` : `${a}:${port}`;
}
