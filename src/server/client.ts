// Client: one connection's state (db, name, flags, pending input) and the loop that feeds
// its bytes to the kernel and runs what the kernel hands back.
//
// Input: each read is copied once into the home shard's shared input region and every
// complete command in it runs there. An incomplete tail waits: a small one as socket chunks
// (joined when the kernel says enough bytes may have arrived: the exact size inside a bulk),
// a big one (REGION_MIN) in a region of the shard's memory of its own, to which later reads
// are appended, with the arguments parsed so far saved by the parser (savePartial), so a
// command arriving over many reads is copied and parsed once, not once per read. A huge
// declared bulk length allocates nothing up front: only bytes that arrived are stored.
//
// Output and backpressure: replies go straight to the socket. When the socket's unsent
// bytes pass OUTPUT_HIGH_WATER (a slow reader, or a client pipelining without reading),
// the client stops processing input and stops reading its socket until the buffer drains,
// so the server never buffers without bound; TCP pushes back on the sender. On top of
// that, client-output-buffer-limit's normal class (hard, soft + seconds; Redis's default
// 0 0 0 = none) disconnects a client whose unsent replies exceed it.
// The globals `performance` and `Buffer` are getters (node's lazy bootstrap): module bindings are plain loads.
import { performance } from "node:perf_hooks";
import { Buffer } from "node:buffer";
import { staleReplica } from "./stale-replica.js";
import { noteQueryRead } from "./querybuf.js";
import type { Socket } from "node:net";
import type { Server } from "./server.js";
import type { Shard } from "./shard.js";
import { ReplyWriter } from "./reply-writer.js";
import { STATUS_DONE, STATUS_HOST, STATUS_PROTO_ERROR, STATUS_YIELD } from "./shard.js";
import { log } from "./log.js";
import { skipValue } from "./resp-read.js";
import { perfConfig } from "../config/perf-config.js";
import { recordKernelRun, recordCall } from "../commands/stats.js";
import { logRoutedCall } from "./slowlog.js";
import { logSlowKernelCommands } from "./command-timing.js";
import { ReplyBuffer } from "./reply-buffer.js";
import { handedBackArgv } from "./handed-argv.js";
import { appendMemToBatch, appendPartToBatch, appendToBatch, batchLength, batchOpen, beginBatch, endBatch, scratchWritten, takeBatch } from "./reply-batch.js";
import { unixSocketPath } from "./unix-socket.js";
import { joinInput } from "./input-join.js";
import { InputPlacement } from "./input-placement.js";
import { plainState, runInLane } from "./host-lane.js";
import { deferAllowed, flushDeferred, lastCommandShard } from "./deferred-runs.js";
import { replicationOf, type Replication } from "../repl/replication.js";
import { directHandle, writeDirect, type DirectWriter } from "./direct-write.js";
import { flushHeld, hold, HELD_PUSH, HELD_REPLY, keep, TURN_END_REPLY_BYTES, type HeldWriter } from "./turn-end-replies.js";

let nextClientId = 1;

/** Unsent reply bytes above which the client's input is not processed until they drain. */
export const OUTPUT_HIGH_WATER = perfConfig().buffers.outputHighWater;
/** An incomplete command at least this big waits in kernel memory rather than in chunks. */
const REGION_MIN = 16 * 1024;

export class Client implements DirectWriter, HeldWriter {
  readonly id = nextClientId++;
  name = "";
  db = 0;
  /**
   * The AOF loader's client: commands it replays are obeyed like the master's on a replica
   * (Redis's mustObeyClient, CLIENT_ID_AOF), e.g. a script's writes on a read-only replica.
   */
  replaysAof = false;
  readonly createdAt = Date.now();
  lastInteraction = Date.now();
  /** Last command name run (CLIENT LIST cmd=). */
  lastCommand = "NULL";
  /** Set by QUIT / protocol errors: close once the replies are written. */
  closeAfterReply = false;
  closed = false;
  /** Input received but not yet run (a small incomplete command, or input held back by backpressure). */
  private chunks: Buffer[] = [];
  private pendingLen = 0;
  /** A big incomplete command's bytes, in the home shard's memory (0: none). */
  private region = 0;
  private regionLen = 0;
  private regionCap = 0;
  /** Its arguments parsed so far (the kernel parser's savePartial block, 0: none). */
  private partial = 0;
  /** Where processRange stopped, and the bytes from there that could complete a command. */
  private stopPos = 0;
  /** stopPos as an offset into the input given to processRange. */
  private stopOffset = 0;
  /** Reused by processRange for a read that moves between shards (src/server/input-placement.ts). */
  private placement: InputPlacement | null = null;
  private stopNeed = 0;
  /** No command can complete before pendingLen reaches this. */
  private need = 0;
  /** Reading is paused until the socket's write buffer drains. */
  private paused = false;
  /** Host lane commands may skip dispatch's checks (src/server/host-lane.ts); set per read. */
  private plain = false;
  /**
   * In a blocking command that is waiting (src/types/blocking.ts): input that arrives waits,
   * as in Redis, until the client is served, times out or is unblocked (resumeInput()).
   */
  blocked = false;
  /** A Lua debugging session's client (src/scripting/ldb-session.ts): its input goes there. */
  inputTap: ((chunk: Buffer) => void) | null = null;
  /**
   * The tap installed by a command also takes what followed that command in the same read
   * (a replica's SYNC/PSYNC: Redis treats a command pipelined after it as the replica's).
   */
  tapTakesRest = false;
  // Transaction state (src/commands/multi.ts, src/server/watch.ts).
  /** Commands queued since MULTI, or null outside MULTI (Redis's CLIENT_MULTI and mstate). */
  multi: Buffer[][] | null = null;
  /** A command was rejected while queueing: EXEC answers EXECABORT (CLIENT_DIRTY_EXEC). */
  dirtyExec = false;
  /** A watched key was touched: EXEC answers a null array (CLIENT_DIRTY_CAS). */
  dirtyCas = false;
  /**
   * Redis's CLIENT_DENY_BLOCKING: a blocking command answers as if it timed out (set while
   * EXEC runs the queue; scripts set it for their client too). src/types/blocking.ts reads it.
   */
  denyBlocking = false;
  /** Bytes of direct socket writes still queued (src/server/direct-write.ts): unsent output the stream does not count. */
  directPending = 0;
  /** Output held to the event-loop turn's end (src/server/turn-end-replies.ts), or null. */
  turnHeld: Uint8Array[] | null = null;
  turnHeldBytes = 0;
  /** Called once directPending is back to 0 (pauseUntilDrained waiting on direct writes). */
  private onDirectDrained: (() => void) | null = null;
  /** When the unsent output first went above the soft limit (0: it is not above). */
  private softLimitSince = 0;
  readonly reply = new ReplyWriter();
  /** Redis's static reply buffer, as CLIENT LIST's rbs/rbp see it (src/server/reply-buffer.ts). */
  readonly replyBuffer = new ReplyBuffer();
  // Connection state of the server/connection commands (CLIENT, HELLO, RESET).
  /** Protocol version chosen by HELLO (RESP2 until RESP3 lands). */
  resp = 2;
  /** The ACL user this connection is authenticated as. */
  user = "default";
  /** Redis's c->authenticated (src/acl/acl.ts sets it when the connection is accepted). */
  authenticated = true;
  /**
   * Commands need ACL checks (not authenticated, or a user with limits): the kernel hands
   * every command back so Server.dispatch checks it (src/acl/acl.ts keeps this current).
   */
  aclGuarded = false;
  /** CLIENT REPLY OFF: no reply is sent. */
  replyOff = false;
  /** CLIENT REPLY SKIP: the next command's reply is not sent. */
  skipNextReply = false;
  /** CLIENT NO-EVICT ON. */
  noEvict = false;
  /**
   * Channels + patterns + shard channels subscribed (src/pubsub/pubsub.ts keeps it). In RESP2,
   * above 0 is Redis's subscribed context: the kernel hands every command back to be checked.
   */
  subscriptions = 0;
  /**
   * CLIENT TRACKING is on: the kernel hands every command back, so Server.run sees the keys
   * it reads and who changes what (src/server/tracking.ts).
   */
  tracked = false;
  /** Bytes of the input being run now (CLIENT LIST qbuf= counts them, as Redis's querybuf does). */
  inputInFlight = 0;
  /** The modelled query buffer allocation (src/server/querybuf.ts), from the first read on. */
  queryBuf: { alloc: number; peak: number } | null = null;
  /** Sum of the running command's argument lengths (CLIENT LIST argv-mem=). */
  currentArgvBytes = 0;
  /**
   * The shard that parses this client's input: its home shard at first, then (several
   * shards) the shard whose keys its last read ended on (processRange follows the keys).
   */
  shard: Shard;

  constructor(readonly server: Server, readonly socket: Socket) {
    this.shard = server.router.homeShard(this);
  }

  get addr(): string { return unixAddr(this.socket) ?? formatAddr(this.socket.remoteAddress, this.socket.remotePort); }
  /** A loopback connection (Redis's islocalClient: "local" for enable-debug-command and protected configs). */
  get isLocal(): boolean {
    const a = this.socket.remoteAddress ?? "";
    if (unixAddr(this.socket)) return true; // unixsocket: src/server/unix-socket.ts
    return a.startsWith("127.") || a === "::1" || a.startsWith("::ffff:127.");
  }
  get laddr(): string { return unixAddr(this.socket) ?? formatAddr(this.socket.localAddress, this.socket.localPort); }
  /** Bytes received and not yet run (CLIENT LIST qbuf=). */
  get queryBufferLength(): number { return this.pendingLen + this.regionLen; }
  /** Input bytes the incomplete command at the front still needs (0 when none is pending). */
  get queryBufferNeed(): number { return Math.max(0, this.need - this.queryBufferLength); }
  /** The first bytes (at most n) of the input received and not yet run (src/server/querybuf.ts). */
  peekInput(n: number): Buffer {
    if (this.region) {
      const k = this.shard.kernel;
      return Buffer.from(k.mem.subarray(this.region, this.region + Math.min(n, this.regionLen)));
    }
    const head = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    return head.subarray(0, Math.min(n, head.length));
  }
  /**
   * Reply bytes not yet sent (CLIENT LIST omem=, tot-mem). A TLS socket's writableLength
   * keeps a write's bytes until its completion callback, which comes a turn after the
   * encrypted bytes went to the kernel, so a client that already read a reply could see it
   * in its own omem (harness-tls introspection's CLIENT INFO, under load): while the TCP
   * socket underneath has nothing queued, nothing is waiting.
   */
  get outputBufferLength(): number {
    const sock = this.socket as Socket & { encrypted?: boolean; _parent?: { _handle?: { writeQueueSize?: number } } | null };
    const n = sock.writableLength;
    if (n === 0 || !sock.encrypted) return n + this.directPending + this.turnHeldBytes;
    const tcpQueued = sock._parent?._handle?.writeQueueSize;
    return tcpQueued === 0 ? 0 : n;
  }

  /**
   * A read's bytes. `borrowed`: chunk is a view of the shared read buffer
   * (src/server/socket-input.ts), valid only during this call, so what is kept is copied.
   */
  onData(chunk: Buffer, borrowed = false): void {
    if (this.closed) return;
    const now = Date.now();
    this.lastInteraction = now;
    this.server.stats.netInputBytes += chunk.length;
    this.server.stats.readsProcessed++;
    noteQueryRead(this, chunk.length);
    if (this.inputTap !== null) return this.inputTap(Buffer.from(chunk));
    if (this.region) {
      this.appendToRegion(chunk);
    } else {
      this.chunks.push(chunk);
      this.pendingLen += chunk.length;
    }
    const queued = this.queryBufferLength;
    if (queued > this.server.limits.queryBufferMax) {
      log("warning", `Closing client that reached max query buffer length: id=${this.id} addr=${this.addr} qbuf=${queued}`);
      this.kill();
      return;
    }
    if (!(this.paused || this.blocked || queued < this.need)) {
      // On a replica whose master link streams, the read runs after the iteration's master
      // stream is applied (src/repl/reads-after-stream.ts), so borrowed bytes are copied.
      const repl = this.repl ??= replicationOf(this.server);
      if (repl.link !== null && repl.link.streaming) {
        repl.readsAfterStream.hold(this);
        if (borrowed) this.ownChunks(chunk);
        return;
      }
      this.readClock = now;
      try {
        this.runQueued();
      } finally {
        this.readClock = 0;
      }
    }
    if (borrowed) this.ownChunks(chunk);
    // maxmemory-clients: this client's memory after what it sent (src/server/client-eviction.ts).
    this.server.maxmemory.clientEviction.afterActivity(this);
  }

  /**
   * Date.now() of the read being run (0: none), the kernel's "now" for that read's first run
   * when the server's clock is Date.now: one clock reading per read instead of two.
   */
  private readClock = 0;

  /** The server's replication state (looked up on the first read). */
  private repl: Replication | undefined;
  /** This client's read waits for the master stream of the iteration (src/repl/reads-after-stream.ts). */
  readHeld = false;

  /** Runs the input a read left waiting for the master stream (ReadsAfterStream). */
  runHeldRead(): void {
    if (this.closed || this.paused || this.blocked) return;
    const queued = this.queryBufferLength;
    if (queued === 0 || queued < this.need) return;
    this.readClock = Date.now();
    try {
      this.runQueued();
    } finally {
      this.readClock = 0;
    }
    this.server.maxmemory.clientEviction.afterActivity(this);
  }

  /** Copies the kept input that is still a view of a borrowed read buffer. */
  private ownChunks(borrowed: Buffer): void {
    const chunks = this.chunks;
    for (let i = 0; i < chunks.length; i++) {
      if (chunks[i].buffer === borrowed.buffer) chunks[i] = Buffer.from(chunks[i]);
    }
  }

  /**
   * A blocked command finished (served, timed out, unblocked): runs the input that arrived
   * meanwhile, on a later tick, since the unblocking happens inside another client's command
   * and the shard's input region may be in use.
   */
  resumeInput(): void {
    if (this.closed) return;
    setImmediate(() => {
      if (this.closed || this.blocked || this.paused) return;
      const queued = this.queryBufferLength;
      if (queued > 0 && queued >= this.need) this.runQueued();
    });
  }

  /** Socket closed: drop what was pending. */
  onClose(): void {
    this.closed = true;
    this.chunks = [];
    this.pendingLen = 0;
    const x = this.shard.kernel.x;
    if (this.region) x.free(this.region);
    if (this.partial) x.dropPartial(this.partial);
    this.region = this.regionLen = this.regionCap = this.partial = 0;
  }

  private runQueued(): void {
    if (this.region) this.runRegion();
    else this.runPending();
  }

  /** Runs the input held in chunks (copied once into the home shard's shared input region). */
  private runPending(): void {
    const chunks = this.chunks;
    const joined = chunks.length === 1 ? null : joinInput(chunks, this.pendingLen);
    const buf = joined ? joined.buf : chunks[0];
    // The usual read is one chunk: the array is emptied and kept, its backing store with it
    // (a new array per read, grown again by the next read's push, was two allocations a read).
    if (joined) this.chunks = [];
    else chunks.pop();
    this.pendingLen = 0;
    this.need = 0;
    const base = this.shard.load(buf);
    const end = base + buf.length;
    this.inputInFlight = buf.length;
    try {
      this.processRange(base, end, buf);
    } finally {
      this.inputInFlight = 0;
    }
    const next = this.nextShard;
    this.nextShard = null;
    if (this.closed) return;
    // processRange may have carried on in another shard (this.shard now): offsets, not addresses.
    const rest = buf.length - this.stopOffset;
    if (rest === 0) return;
    if (this.inputTap !== null && this.tapTakesRest) return this.inputTap(Buffer.from(buf.subarray(this.stopOffset)));
    if (this.stopNeed > 0 && rest >= REGION_MIN) this.moveToRegion(this.stopPos, rest);
    else {
      this.keep(joined?.transient ? Buffer.from(buf.subarray(this.stopOffset)) : buf.subarray(this.stopOffset), this.stopNeed);
      if (next !== null) this.shard = next;
    }
  }

  /**
   * Set by processRange when a read that ended with an incomplete command had its last
   * complete command run by another shard: the shard to parse the next read in, once the
   * incomplete bytes are kept (runPending).
   */
  private nextShard: Shard | null = null;

  /** Keeps the unrun part of the input for later. */
  private keep(rest: Buffer, need: number): void {
    if (rest.length === 0) return;
    this.chunks.unshift(rest);
    this.pendingLen += rest.length;
    this.need = need;
  }

  /**
   * A big incomplete command: keep its bytes in kernel memory, where later reads are
   * appended, and keep the arguments parsed so far, so that neither is done again.
   */
  private moveToRegion(pos: number, rest: number): void {
    const k = this.shard.kernel;
    this.partial = k.x.savePartial(pos); // first: it describes the process() call just made
    this.regionCap = Math.max(rest * 2, 64 * 1024);
    this.region = k.x.alloc(this.regionCap);
    k.mem.copyWithin(this.region, pos, pos + rest);
    this.regionLen = rest;
    this.need = this.stopNeed;
  }

  private appendToRegion(chunk: Buffer): void {
    const k = this.shard.kernel;
    if (this.regionLen + chunk.length > this.regionCap) {
      let cap = this.regionCap * 2;
      while (cap < this.regionLen + chunk.length) cap *= 2;
      // Room for the whole incomplete command at once when its length is known (a big
      // argument's $<len>), as Redis preallocates a big argument's query buffer: doubling
      // up to a 64 MB value copied it again at every step (~40% of such a SET's CPU).
      if (this.need > cap) cap = this.need;
      this.region = k.x.realloc(this.region, cap);
      this.regionCap = cap;
    }
    k.mem.set(chunk, this.region + this.regionLen);
    this.regionLen += chunk.length;
  }

  /** Runs the input held in the region; what stays incomplete moves to its front. */
  private runRegion(): void {
    const k = this.shard.kernel;
    this.need = 0;
    if (this.partial) {
      k.x.resumePartial(this.partial);
      this.partial = 0;
    }
    const base = this.region;
    const end = base + this.regionLen;
    this.inputInFlight = this.regionLen;
    try {
      this.processRange(base, end);
    } finally {
      this.inputInFlight = 0;
    }
    if (this.closed) return;
    const pos = this.stopPos;
    const rest = end - pos;
    if (this.stopNeed > 0) this.partial = k.x.savePartial(pos);
    if (rest === 0) {
      k.x.free(this.region);
      this.region = this.regionLen = this.regionCap = 0;
      return;
    }
    if (this.inputTap !== null && this.tapTakesRest) {
      const bytes = Buffer.from(k.mem.subarray(pos, end));
      k.x.free(this.region);
      this.region = this.regionLen = this.regionCap = 0;
      return this.inputTap(bytes);
    }
    if (pos > base) k.mem.copyWithin(base, pos, end);
    this.regionLen = rest;
    this.need = this.stopNeed;
  }

  /**
   * Runs the complete commands in kernel memory [base, end) until the input is used up, an
   * incomplete command remains, or the reply buffer is over the high-water mark. Leaves in
   * stopPos where it stopped and in stopNeed how many bytes from there could complete the
   * next command (0 when it stopped for backpressure or used everything).
   * With `input` (the bytes at [base, end), several shards), a command whose keys all live in
   * another shard moves the parsing there (src/server/input-placement.ts), and this.shard
   * becomes the shard it stopped in.
   */
  private processRange(base: number, end: number, input?: Uint8Array): void {
    let shard = this.shard;
    let k = shard.kernel;
    let pos = base;
    /** Where byte 0 of the input is in the parsing shard's memory. */
    let origin = base;
    let placement: InputPlacement | null = null;
    this.stopNeed = 0;
    this.nextShard = null;
    this.plain = plainState(this.server, this);
    // Several shards: commands of other shards may be left for them and their replies put
    // back in order (src/server/deferred-runs.ts).
    const sharded = this.server.router.sharded;
    // Every reply of this read goes out in one socket write (src/server/reply-batch.ts); the
    // socket is corked only when another client's batch is open (replies then go straight
    // to the socket): corking a single write costs a buffered request and a second pass.
    const batched = beginBatch(this);
    if (!batched) this.socket.cork();
    // The AOF writes this read's commands once, before its first reply leaves.
    const fence = this.server.replyFence;
    fence.enter();
    // Clocks: a read's kernel commands share one "now", also when they run in several shards
    // (read again after a host command or a yield), and one kernel run's time ends where the
    // next one's begins, so a read that moves between shards reads each clock once per move.
    let now = -1;
    let t0 = -1;
    /** performance.now() when `now` was read: list/set/zset commands of the lane share it for a while. */
    let nowAt = 0;
    // Commands this read ran (or placed): a one-command read's big reply waits for the turn's end.
    let commands = 0;
    try {
      while (!this.closed) {
        shard.useProtocol(this.resp);
        // In MULTI the kernel hands every command back, to be queued; while a script is
        // busy, to pass the server's input gate; for a RESP2 client subscribed to pub/sub,
        // whose commands are restricted; while a MONITOR listens, so it sees every command;
        // with ACL limits, to be checked; with CLIENT TRACKING on, to see the keys it reads;
        // on a stale replica, to be refused (stale-replica.ts); after rename-command of a
        // kernel command, to be looked up by its new name; under CLIENT PAUSE, to be
        // postponed or run; after ASKING, so that the next command, whatever it is, ends it
        // (src/cluster/redirect.ts). (With CRDT replication the kernel hands back only the
        // writes replication reads back: Shard.useHandBack.)
        shard.useQueueing(!this.plain && (this.multi !== null || this.server.inputGate !== null ||
          (this.subscriptions > 0 && this.resp === 2) || this.server.monitors.size > 0 || this.aclGuarded || this.tracked ||
          staleReplica(this.server) || this.server.kernelRenamed || this.server.pause.type !== 0 ||
          (this as { cluster?: { asking: boolean } }).cluster?.asking === true));
        shard.useAuthLimits(this.aclGuarded && !this.authenticated);
        // Only with the read's bytes at hand (not a big command assembled in a region).
        if (sharded) shard.useDeferring(input !== undefined && deferAllowed(this.server, this.plain));
        let nowRead = false;
        if (now < 0) {
          now = this.readClock > 0 && this.server.now === Date.now ? this.readClock : this.server.now();
          this.readClock = 0;
          nowRead = true;
        }
        if (t0 < 0) t0 = performance.now();
        if (nowRead) nowAt = t0;
        // The call's results are k's fields until the next run() (nested calls leave them).
        const st = k.run(pos, end, this.db, now);
        commands += k.ranCount + k.deferredCount;
        const consumed = k.consumed;
        const handedStart = k.handedStart;
        const follow = input ? k.handedShard : -1;
        // A call that only parsed the host command it hands back ran nothing to time or log.
        if (k.ranCount > 0 || k.slowCount > 0) {
          const t1 = performance.now();
          const ms = t1 - t0;
          t0 = t1;
          const last = recordKernelRun(this.server, k, k.mem, ms);
          if (last !== undefined) this.lastCommand = last.name;
          // With deferred commands in the range, the one command run is not the range's first.
          if (k.deferredCount > 0) logSlowKernelCommands(this.server, this, k, k.lastRanStart, k.lastRanEnd, ms);
          else logSlowKernelCommands(this.server, this, k, pos, st === STATUS_DONE || st === STATUS_YIELD ? consumed : handedStart, ms);
        }
        let lastIn = -1;
        if (k.deferredCount > 0) {
          lastIn = st === STATUS_DONE ? lastCommandShard(shard) : -1;
          // Commands left for other shards run now, their replies in place (deferred-runs.ts).
          t0 = flushDeferred(this, shard, this.db, now, t0);
        } else if (k.outLen > 0) this.writeKernelOutput(k.mem, k.outPtr, k.outLen);
        shard.afterCall(k.pending);
        this.server.blocking.afterCommand();
        pos = consumed;
        if (st === STATUS_DONE) {
          this.stopPos = pos;
          this.stopNeed = pos < end ? k.need : 0;
          // The read's last command was another shard's: the next read is parsed there
          // (deferred-runs.ts lastCommandShard). When the whole read ran, offsets stay home's:
          // nothing is left. When an incomplete command is left, runPending moves once it has
          // kept those bytes as chunks (not in this shard's memory).
          if (lastIn >= 0 && !this.closed) {
            if (pos === end) shard = this.server.router.shards[lastIn];
            else this.nextShard = this.server.router.shards[lastIn];
          }
          if (this.overHighWater()) this.pauseUntilDrained();
          return;
        }
        if (st === STATUS_PROTO_ERROR) {
          this.closeAfterReply = true;
          this.flushAndMaybeClose();
          break;
        }
        if (follow >= 0) {
          // A command whose keys all live in shard `follow`: parse on there, from it on.
          const offset = handedStart - origin;
          placement ??= (this.placement ??= new InputPlacement()).reset(input!, shard, origin);
          shard = this.server.router.shards[follow];
          k = shard.kernel;
          origin = placement.originIn(shard, offset);
          pos = origin + offset;
          end = origin + input!.length;
          k.trustCommandAt(pos);
          continue;
        }
        if (st === STATUS_YIELD) {
          now = t0 = -1;
        } else {
          // STATUS_HOST: a command the host runs (or, with several shards, places), in order
          // with the rest of the pipeline. A command of the host lane runs at the read's
          // "now" and hands back the clock it read at its end, which the next kernel run
          // starts from; the read's "now" is read again once it is 1 ms old (a kernel
          // run shares one "now" however long it takes; this keeps host commands to the
          // same), and after any other host command.
          commands++;
          const laneEnd = this.runHandedBack(shard, now, t0);
          if (laneEnd < 0) now = t0 = -1;
          else {
            t0 = laneEnd;
            if (laneEnd - nowAt >= 1) now = -1;
          }
          this.flushAndMaybeClose();
          // Nested kernel calls made by the host command (EXEC, Lua, routing) use memory of
          // their own, and no other client's input runs synchronously, so our input is intact.
          if (this.closeAfterReply) break;
          // Serve clients blocked on keys this command filled; if it blocked this client,
          // the rest of its input waits.
          this.server.blocking.afterCommand();
          if (this.blocked || (this.inputTap !== null && this.tapTakesRest)) {
            this.stopPos = pos;
            return;
          }
        }
        if (this.overHighWater()) {
          this.stopPos = pos;
          this.pauseUntilDrained();
          return;
        }
      }
      this.stopPos = end;
    } finally {
      this.shard = shard;
      this.stopOffset = this.stopPos - origin;
      placement?.clear();
      fence.leave();
      if (batched) {
        this.flushBatch(commands === 1);
        endBatch(this);
      } else {
        this.socket.uncork();
      }
    }
  }

  /**
   * Runs the command the kernel handed back. `now` and `perfNow`: the read's shared time and
   * the last performance.now() read, for a command of the host lane; returns the lane's
   * closing performance.now(), or -1 when the command went another way.
   */
  private runHandedBack(shard: Shard, now: number, perfNow: number): number {
    const k = shard.kernel;
    const router = this.server.router;
    // In cluster mode every handed-back command goes through dispatch, which checks slots first.
    const routed = router.sharded && k.x.handedForRouting() && !this.server.cluster ? this.server.table.lookup(k.argName(0))! : null;
    // A command the host runs too (ZADD...: its kernel handler may decline, and a routed call
    // cannot hand back) runs as a host command instead, which reaches any shard's keys.
    if (routed !== null && routed.handler === undefined) {
      // A kernel command whose keys are (partly) in other shards, or a keyspace-wide one.
      const spec = routed;
      this.lastCommand = spec.name;
      // Where its request bytes are: routing makes kernel calls that reuse these positions.
      const start = k.x.commandStart();
      const end = k.x.consumedPos();
      const t0 = performance.now();
      router.routeHandedBack(this, spec, shard);
      const usec = (performance.now() - t0) * 1000;
      recordCall(this.server, spec, usec);
      if (usec >= this.server.slowlog.slowerThanUs || usec >= this.server.latency.thresholdMs * 1000) {
        logRoutedCall(this.server, this, spec, k.mem, start, end, usec);
      }
      return -1;
    }
    const argv = handedBackArgv(k);
    if (this.plain) {
      const end = runInLane(this.server, this, argv, now, perfNow);
      if (end >= 0) return end;
    }
    this.server.dispatch(this, argv);
    // Any other command may have changed what the lane depends on (MULTI, CLIENT TRACKING...).
    this.plain = plainState(this.server, this);
    return -1;
  }

  /**
   * A command another shard handed back from the list of commands deferred to it
   * (src/server/deferred-runs.ts): run as a host command of this read, its reply sent.
   * Returns the lane's closing clock, or -1.
   */
  runDeferredHostCommand(argv: Buffer[], now: number, perfNow: number): number {
    let end = this.plain ? runInLane(this.server, this, argv, now, perfNow) : -1;
    if (end < 0) {
      this.server.dispatch(this, argv);
      this.plain = plainState(this.server, this);
    }
    this.flushAndMaybeClose();
    this.server.blocking.afterCommand();
    return end;
  }

  /** Whether unsent replies are above the high-water mark once what can be sent now is sent. */
  private overHighWater(): boolean {
    const batched = batchOpen(this) ? batchLength() : 0;
    if (this.unsent() + batched < OUTPUT_HIGH_WATER) return false;
    // Hand the gathered (or corked, or held) bytes to the kernel's socket buffer; a client that reads keeps up.
    this.flushBatch();
    this.flushTurnHold();
    if (this.socket.writableCorked > 0) {
      this.socket.uncork();
      this.socket.cork();
    }
    return this.unsent() >= OUTPUT_HIGH_WATER;
  }

  /** Reply bytes handed to the socket and not sent yet: the stream's and direct writes'. */
  private unsent(): number {
    return this.socket.writableLength + this.directPending + this.turnHeldBytes;
  }

  /**
   * Writes the output held to the turn's end now: before anything writes this client's socket
   * other than through write()/writePush() (an RDB to a replica, LDB's output), which would
   * otherwise overtake it. The client stays held for the rest of the turn.
   */
  flushTurnHold(): void {
    if (this.turnHeld !== null) flushHeld(this);
  }

  /** DirectWriter: the queued direct writes completed. */
  directDrained(): void {
    const fn = this.onDirectDrained;
    this.onDirectDrained = null;
    fn?.();
  }

  /**
   * Calls fn once the socket has taken the unsent output: the direct writes' completion, and
   * the stream's 'drain' when its own writes filled it (a 'drain' comes only then).
   */
  private whenDrained(fn: () => void): void {
    if (this.directPending > 0) {
      this.onDirectDrained = () => this.whenDrained(fn);
      return;
    }
    if (this.socket.writableNeedDrain) this.socket.once("drain", fn);
    else setImmediate(fn); // not inside the caller's input loop
  }

  private pauseUntilDrained(): void {
    if (this.paused || this.closed) return;
    this.paused = true;
    this.socket.pause();
    // Paused, the client gets no new replies, so nothing re-checks the soft limit: look again
    // once its time is up (Redis, which keeps appending replies, would see it then).
    const lim = this.server.limits.normalOutput;
    const softTimer = this.softLimitSince && lim.soft > 0
      ? setTimeout(() => { if (this.paused) this.checkOutputLimits(); }, lim.softSeconds * 1000 + 10)
      : undefined;
    this.whenDrained(() => {
      clearTimeout(softTimer);
      this.paused = false;
      if (this.closed) return;
      this.socket.resume();
      const queued = this.queryBufferLength;
      if (queued > 0 && queued >= this.need && !this.blocked) this.runQueued();
    });
  }

  /** Sends what host handlers wrote; closes if QUIT or a protocol error asked for it. */
  flushAndMaybeClose(): void {
    const pending = this.reply.pending;
    if (pending && batchOpen(this) && !this.replyOff && !this.skipNextReply && !this.closed) {
      this.server.stats.netOutputBytes += pending;
      this.reply.drain(appendPartToBatch);
    } else if (pending) {
      this.write(this.reply.take(), true);
    }
    if (this.closeAfterReply && !this.closed) {
      this.flushBatch();
      // Held output goes before the connection ends (as end() would uncork a corked socket).
      this.flushTurnHold();
      this.closed = true;
      // Like Redis freeing the client once its last reply is written: the peer may keep its
      // end open (a QUIT it never reads past), but the connection is gone for CLIENT LIST,
      // tracking redirection and INFO's counts.
      this.socket.end(() => this.socket.destroy());
    }
  }

  /**
   * Sends reply bytes, or adds them to the open batch of this client's read. `owned`: b is
   * not a view of kernel memory (which the next kernel call overwrites).
   */
  write(b: Uint8Array, owned = true): void {
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
    if (batchOpen(this)) {
      appendToBatch(b, owned);
      return;
    }
    this.server.stats.writesProcessed++;
    this.replyBuffer.noteWrite(b.length);
    // Redis checks the limit once the reply is in its buffer, before any of it is sent.
    if (this.checkOutputLimits(b.length)) return;
    this.server.replyFence.settle();
    // Behind this client's output held to the turn's end (turn-end-replies.ts).
    if (this.turnHeld !== null) return keep(this, owned ? b : Buffer.from(b));
    const h = directHandle(this.socket);
    if (h !== null) writeDirect(this.socket, h, owned ? b : Buffer.from(b), this);
    else this.socket.write(owned ? b : Buffer.from(b));
  }

  /**
   * Whether write() would append reply bytes as they are to this client's open batch (no
   * CLIENT REPLY OFF/SKIP, not closed): deferred-runs.ts then joins a split read's replies
   * straight into it (reply-batch.ts batchRoom).
   */
  get batchesReplies(): boolean {
    return !(this.replyOff || this.skipNextReply || this.closed) && batchOpen(this);
  }

  /** write() of a kernel call's output, mem[ptr, ptr + len), without a view when it is batched. */
  writeKernelOutput(mem: Uint8Array, ptr: number, len: number): void {
    if (this.replyOff || this.skipNextReply || this.closed || !batchOpen(this)) {
      this.write(mem.subarray(ptr, ptr + len), false);
      return;
    }
    this.server.stats.netOutputBytes += len;
    appendMemToBatch(mem, ptr, len);
  }

  /**
   * Writes what the open batch gathered for this client. `oneCommand`: the batch is the reply
   * of a read that ran one command; a big one waits for the turn's end (turn-end-replies.ts).
   */
  private flushBatch(oneCommand = false): void {
    if (!batchOpen(this)) return;
    const bytes = batchLength();
    if (bytes === 0) return;
    if (this.closed) {
      takeBatch();
      return;
    }
    this.server.stats.writesProcessed++;
    this.replyBuffer.noteWrite(bytes);
    if (this.checkOutputLimits(bytes)) {
      takeBatch();
      return;
    }
    this.server.replyFence.settle();
    // The replies wait for the turn's end (src/server/turn-end-replies.ts): behind output
    // already held, after the replicas' stream of a turn that has some, and a one-command
    // read's big reply. They stay where they were gathered until then (takeBatch(true)).
    if (this.turnHeld !== null || (this.repl ??= replicationOf(this.server)).repliesWaitForStream ||
      (oneCommand && bytes >= TURN_END_REPLY_BYTES)) {
      hold(this, HELD_REPLY);
      for (const p of takeBatch(true)) keep(this, p);
      return;
    }
    const pieces = takeBatch();
    const sock = this.socket;
    const h = pieces.length === 1 ? directHandle(sock) : null;
    if (h !== null) {
      // The usual case: one piece (the scratch bytes), handed to the socket's handle.
      scratchWritten(writeDirect(sock, h, pieces[0], this));
      return;
    }
    if (pieces.length === 1) {
      sock.write(pieces[0]);
    } else {
      sock.cork();
      for (const p of pieces) sock.write(p);
      sock.uncork();
    }
    // The last piece may be the batch's scratch bytes: reused only if the socket sent them.
    scratchWritten(sock.writableLength > 0);
  }

  /**
   * Out-of-band data (pub/sub messages, invalidations, (un)subscribe confirmations): sent
   * even under CLIENT REPLY OFF/SKIP, like Redis's CLIENT_PUSHING replies. The pubsub class
   * of client-output-buffer-limit is checked by the caller (src/pubsub/pubsub.ts).
   */
  writePush(b: Buffer): void {
    if (this.closed) return;
    this.server.stats.netOutputBytes += b.length;
    // Another client's command grew this one's output: maxmemory-clients looks at it next.
    this.server.maxmemory.clientEviction.outputGrew(this);
    // In order with this client's replies of the read being run (a message it published itself).
    if (batchOpen(this)) return appendToBatch(b, true);
    this.server.stats.writesProcessed++;
    this.replyBuffer.noteWrite(b.length);
    this.server.replyFence.settle();
    // Behind this client's held output; on a master with replicas, after the turn's stream and
    // replies (Replication.pushesWait).
    if (this.turnHeld !== null || (this.repl ??= replicationOf(this.server)).pushesWait()) {
      hold(this, HELD_PUSH);
      return keep(this, b);
    }
    const h = directHandle(this.socket);
    if (h !== null) writeDirect(this.socket, h, b, this);
    else this.socket.write(b);
  }

  /**
   * client-output-buffer-limit (normal class): disconnect past the hard limit, or past the
   * soft one for too long. `adding`: reply bytes about to be written (counted as Redis counts
   * its reply buffer, before the socket takes any). True when the client was closed.
   */
  private checkOutputLimits(adding = 0): boolean {
    const lim = this.server.limits.normalOutput;
    if (lim.hard === 0 && lim.soft === 0) return false;
    const used = this.unsent() + adding;
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
      // Gone at once, as Redis's freeClient (CLIENT LIST must not show it).
      this.server.clients.delete(this.id);
    }
    return over;
  }

  /**
   * The peer closed its side (a read returned 0). Redis frees the client then, with whatever
   * replies the socket did not take: so does this, where net's default would end our side
   * once every queued byte went out, which a peer that stopped reading never lets happen (the
   * client stayed listed), and which cost every closing connection a shutdown system call,
   * its completion callback and the stream's finish steps. Output held to the turn's end is
   * written first: Redis wrote it in beforeSleep, before it read the end. A read waiting for
   * the master stream (readHeld) is left to net's default, as before.
   */
  peerEnded(): void {
    if (this.closed || this.readHeld) return;
    this.flushTurnHold();
    this.kill();
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
/** A unix socket client's address, as Redis shows it: "<socket path>:0". */
function unixAddr(sock: Socket): string | undefined {
  const path = unixSocketPath(sock);
  return path === undefined ? undefined : `${path}:0`;
}

export function formatAddr(ip: string | undefined, port: number | undefined): string {
  let a = ip ?? "?";
  if (a.startsWith("::ffff:") && a.includes(".")) a = a.slice(7);
  return a.includes(":") ? `[${a}]:${port}` : `${a}:${port}`;
}
