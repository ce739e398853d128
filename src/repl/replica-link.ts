// The replica's side of Redis replication (replication.c, "SLAVE" half): REPLICAOF host
// port connects to the master as a client and does the handshake Redis does — PING,
// AUTH (masterauth/masteruser), REPLCONF listening-port, REPLCONF capa psync2, PSYNC with
// the cached history (replid, offset + 1) or "? -1" — then either loads the master's RDB
// (+FULLRESYNC) or keeps its data (+CONTINUE), and applies the replication stream:
// each command runs as the master's client (no replies sent), REPLCONF GETACK is answered
// with REPLCONF ACK <offset>, and an ACK goes to the master every second. A dropped link
// is retried every second with PSYNC from where it stopped.
import type { Socket } from "node:net";
import type { Server } from "../server/server.js";
import { Client } from "../server/client.js";
import { log } from "../server/log.js";
import { dialMaster, replicaAnnouncedPort } from "../server/tls.js";
import { encodeCommand, replicationOf, type Replication } from "./replication.js";
import { checkRdbFile } from "../persistence/rdb-file.js";
import { loggedCommandName, loggedErrorText } from "./error-log-text.js";
import { emptyData, persistenceOf } from "../persistence/persistence.js";
import { enterMasterStream } from "./replica-expiry.js";
import { failoverOf } from "./failover.js";
import { DisklessLoad, type DisklessResult } from "./diskless-load.js";
import { SyncTempFile } from "./sync-file.js";
import { clientInfoString } from "../commands/client-cmd.js";
import { readFileSync } from "node:fs";
import { functionsHook } from "../persistence/rdb-file.js";
import { restartAofAfterSync, stopAofForSync } from "./sync-aof.js";
import { lookupCommandBytes } from "../server/command-lookup.js";
import { PAUSE_OFF } from "../server/pause.js";
import { STATUS_DONE, STATUS_HOST, STATUS_YIELD } from "../server/shard.js";
import { recordKernelRun } from "../commands/stats.js";
import { logSlowKernelCommands } from "../server/command-timing.js";

/** loading: the RDB arrived and is being applied; stream bytes that arrive meanwhile wait. */
type Phase = "connecting" | "handshake" | "rdb" | "loading" | "stream";

export class ReplicaLink {
  connected = false;
  syncing = false;
  lastIo = Date.now();
  private socket?: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private phase: Phase = "connecting";
  /** Replies the handshake waits for, in order: what to do with each. */
  private expect: ((line: string) => void)[] = [];
  private rdbLen = -1;
  private masterClient: Client;
  private ackTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;
  /** Sockets whose loss was handled (on EOF, then again on "close"). */
  private readonly lostSockets = new WeakSet<Socket>();
  private readonly repl: Replication;
  /** Applies the stream held back by CLIENT PAUSE. */
  private readonly resumeStream = () => { if (this.phase === "stream") this.onData(Buffer.alloc(0)); };
  /** The link is up and the master's stream is applied as it arrives. */
  get streaming(): boolean { return this.phase === "stream"; }
  /** The db the master's stream is in (the master client's). */
  get streamDb(): number { return this.masterClient.db; }

  /** ROLE's replica state: connecting (TCP), handshake, sync (the RDB), connected. */
  get roleState(): string {
    if (this.connected) return "connected";
    if (!this.socket || this.socket.destroyed) return "connect"; // waiting to retry
    return this.phase === "rdb" || this.phase === "loading" ? "sync" : this.phase === "handshake" ? "handshake" : "connecting";
  }
  /**
   * INFO master_sync_* while the RDB is read (Redis's repl_transfer_size/read): the size is -1
   * until the payload's header arrived and 0 for an EOF-marked (diskless) payload.
   */
  get transfer(): { size: number; read: number } | null {
    if (!this.syncing) return null;
    if (this.phase === "loading") return this.received;
    if (this.rdbMode === "header") return { size: -1, read: 0 };
    return { size: this.rdbMode === "length" ? this.rdbLen : 0, read: this.load ? this.load.readBytes : this.rdbBytes };
  }

  /**
   * repl-timeout, checked every second (Redis's replicationCron): a link that read nothing for
   * that long while connecting, during the handshake, while reading the RDB, or once streaming
   * (the master PINGs every repl-ping-replica-period) is dropped and reconnects.
   */
  checkTimeout(timeoutSecs: number): void {
    if (this.closed || !this.socket || this.socket.destroyed) return;
    // While loading, Redis's cron does not run (the load blocks it).
    if (this.phase === "loading") return;
    // A diskless load reads only as fast as it loads: its progress is the link's life.
    const last = this.load ? Math.max(this.lastIo, this.load.lastProgress) : this.lastIo;
    // In whole seconds, as Redis compares unix times.
    if (Math.floor(Date.now() / 1000) - Math.floor(last / 1000) <= timeoutSecs) return;
    if (this.connected) log("warning", "MASTER timeout: no data nor PING received...");
    else if (this.phase === "rdb") log("warning", "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.");
    else log("warning", "Timeout connecting to the MASTER...");
    this.socket.destroy();
  }

  /** Bytes of the master's stream read but not yet applied (INFO slave_read_repl_offset). */
  get unappliedBytes(): number { return this.phase === "stream" ? this.buf.length - this.pos : 0; }

  /**
   * Redis's repl_down_since: when the link to a master last went down; 0 while no master link
   * was ever up (INFO master_link_down_since_seconds then shows -1).
   */
  replDownSince: number;

  constructor(private readonly server: Server, readonly host: string, readonly port: number, downSince = 0) {
    this.replDownSince = downSince;
    this.repl = replicationOf(server);
    this.repl.startCron();
    this.masterClient = this.newMasterClient();
    this.connect();
  }

  /**
   * The master's client: its replies go nowhere (Redis never answers its master). It is in
   * CLIENT LIST (flags M, type master) while the stream runs; CLIENT KILL on it drops the
   * connection, and the link reconnects and continues partially.
   */
  private newMasterClient(): Client {
    const fake = {
      remoteAddress: this.host, remotePort: this.port, writableLength: 0, write: () => true,
      // Killing the master client (CLIENT KILL) loses the link now, as Redis's freeClient of
      // its master does (repl_down_since is set then): the socket's "close" would come only
      // after the current command, and after a DEBUG SLEEP in the same MULTI that made a long
      // disconnection look fresh (Tcl 06-slave-stop-cond).
      destroy: () => {
        const s = this.socket;
        s?.destroy();
        if (s) this.onClose(s);
      },
    } as unknown as Socket;
    const c = new Client(this.server, fake);
    c.name = "";
    return c;
  }

  /** Whether c is this link's master client (CLIENT LIST type master). */
  isMasterClient(c: Client): boolean { return c === this.masterClient; }

  close(): void {
    this.abortTransfer();
    if (this.connected) this.repl.cachedMasterDb = this.masterClient.db;
    this.server.clients.delete(this.masterClient.id);
    this.closed = true;
    if (this.ackTimer) clearInterval(this.ackTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket?.destroy();
  }

  /** `announce`: Redis logs "Connecting to MASTER" from REPLICAOF and its cron, not on an immediate reconnect. */
  private connect(announce = true): void {
    if (this.closed) return;
    // Not before the dataset is loaded (start-up with replicaof): the PSYNC names the history
    // the RDB restores, and a full sync's load must not run under the start-up load (Redis's
    // replicationCron does not run while loading). The link is made in listen(), before the
    // start-up load has begun: startupLoadPending covers that gap.
    const p = persistenceOf(this.server);
    if (p.loading || p.startupLoadPending) {
      this.retryTimer = setTimeout(() => this.connect(), 100);
      return;
    }
    if (announce) log("notice", `Connecting to MASTER ${this.host}:${this.port}`);
    this.phase = "connecting";
    this.lastIo = Date.now(); // repl-timeout counts from here while connecting
    this.buf = Buffer.alloc(0);
    this.heldStream = [];
    this.streamPaused = false;
    this.rdbMode = "header";
    this.rdbChunks = [];
    this.rdbBytes = 0;
    this.expect = [];
    const s = dialMaster(this.server, this.port, this.host); // TLS with tls-replication (src/server/tls.ts)
    this.socket = s;
    s.setNoDelay(true);
    s.on("connect", () => this.handshake());
    s.on("data", (d) => {
      this.server.stats.netReplInputBytes += d.length; // INFO total_net_repl_input_bytes
      this.onData(d);
    });
    s.on("error", () => { /* "close" follows */ });
    // The master's EOF ends the link at once, as Redis frees its master client on the read
    // that returns 0: "close" comes a loop turn later, and a client's INFO read in between
    // must not see the link up.
    s.on("end", () => { s.destroy(); this.onClose(s); });
    s.on("close", () => this.onClose(s));
  }

  private onClose(s: Socket): void {
    if (s !== this.socket || this.lostSockets.has(s)) return;
    this.lostSockets.add(s);
    // A diskless load goes on with the payload bytes already read (DisklessLoad.linkLost);
    // the reconnect waits until it ends (disklessDone), as Redis's replica notices the EOF
    // only when its load reads past them.
    const draining = this.load?.linkLost() ?? false;
    if (draining) this.drainingLoad = this.load;
    // A transfer that failed: a diskless load keeps the old data (swapdb) or empties the
    // half-loaded one; a disk load's temp file goes.
    if (!draining) this.abortTransfer();
    const wasConnected = this.connected;
    if (this.connected) {
      log("notice", "Connection with master lost.");
      // Only the loss of a link that was up, not each failed reconnect (Redis's
      // repl_down_since is set only in replicationHandleMasterDisconnection).
      this.replDownSince = Date.now();
      this.repl.cachedMasterDb = this.masterClient.db;
    }
    this.server.clients.delete(this.masterClient.id);
    this.connected = false;
    this.syncing = false;
    if (this.ackTimer) { clearInterval(this.ackTimer); this.ackTimer = undefined; }
    if (this.closed) return;
    // Redis reconnects at once when an established link drops (replicationHandleMasterDisconnection:
    // waiting could let the master's backlog move past us) or a transfer fails
    // (cancelReplicationHandshake(1)); a failed connect or handshake waits for the next
    // replicationCron, about a second.
    const phase = this.phase;
    if (draining) return;
    if (wasConnected || phase === "rdb" || phase === "loading") {
      log("notice", `Reconnecting to MASTER ${this.host}:${this.port}${wasConnected ? "" : " after failure"}`);
      this.retryTimer = setTimeout(() => this.connect(false), 0);
    } else {
      this.retryTimer = setTimeout(() => this.connect(), 1000);
    }
  }

  private send(...argv: (string | Buffer)[]): void {
    this.socket?.write(encodeCommand(argv));
  }

  private handshake(): void {
    log("notice", "MASTER <-> REPLICA sync started");
    this.phase = "handshake";
    const cfg = this.server.config;
    const fail = (what: string) => (line: string) => {
      if (line.startsWith("-")) {
        log("warning", `Error reply to ${what} from master: '${line.slice(1)}'`);
        this.socket?.destroy();
      }
    };
    this.send("PING");
    this.expect.push((line) => {
      // -NOAUTH is fine here when we authenticate next (Redis accepts it too).
      if (line.startsWith("-") && !line.startsWith("-NOAUTH") && !line.startsWith("-NOPERM") && !line.startsWith("-ERR operation not permitted")) {
        fail("PING")(line);
      } else log("notice", "Master replied to PING, replication can continue...");
    });
    const auth = cfg.getString("masterauth");
    if (auth) {
      const user = cfg.getString("masteruser");
      if (user) this.send("AUTH", user, auth); else this.send("AUTH", auth);
      this.expect.push((line) => { if (line.startsWith("-")) { log("warning", `Unable to AUTH to MASTER: ${line.slice(1)}`); this.socket?.destroy(); } });
    }
    this.send("REPLCONF", "listening-port", String(replicaAnnouncedPort(this.server))); // src/server/tls.ts
    this.expect.push(() => {});
    // replica-announce-ip: the address the master shows for us (INFO, ROLE), e.g. behind NAT.
    const announceIp = cfg.getString("replica-announce-ip");
    if (announceIp) {
      this.send("REPLCONF", "ip-address", announceIp);
      this.expect.push((line) => { if (line.startsWith("-")) log("notice", `(Non critical) Master does not understand REPLCONF ip-address: ${line.slice(1)}`); });
    }
    // eof: we read a diskless (EOF-marked) payload too, so a master may stream its RDB.
    this.send("REPLCONF", "capa", "eof", "capa", "psync2");
    // PSYNC only once every earlier reply arrived: a real Redis master refuses it while the
    // replies to the pipelined handshake are still unwritten ("-ERR SYNC and PSYNC are
    // invalid with pending output"), which happens over TLS.
    this.expect.push(() => this.sendPsync());
  }

  private sendPsync(): void {
    const cached = !this.discardCachedMaster && (this.repl.offset > 0 || this.repl.everSynced);
    const replid = cached ? this.repl.replid : "?";
    const from = cached ? String(this.repl.offset + 1) : "-1";
    log("notice", cached ? `Trying a partial resynchronization (request ${replid}:${from}).` : "Partial resynchronization not possible (no cached master)");
    // The master of a FAILOVER asks its target to take over (Redis sends PSYNC ... FAILOVER).
    if (failoverOf(this.server).state === "failover-in-progress") this.send("PSYNC", replid, from, "FAILOVER");
    else this.send("PSYNC", replid, from);
    this.expect.push((line) => this.onPsyncReply(line));
  }

  private onPsyncReply(line: string): void {
    const f = line.split(" ");
    const failover = failoverOf(this.server);
    if (failover.state === "failover-in-progress") {
      const accepted = f[0] === "+FULLRESYNC" || f[0] === "+CONTINUE";
      failover.psyncAnswered(accepted);
      if (!accepted) return; // aborted: we are a master again and this link is closed
    }
    if (f[0] === "+FULLRESYNC") {
      log("notice", `Full resync from master: ${f[1]}:${f[2]}`);
      this.pendingId = f[1];
      this.pendingOffset = Number(f[2]);
      this.phase = "rdb";
      this.syncing = true;
      this.rdbLen = -1;
      this.rdbMode = "header";
    } else if (f[0] === "+CONTINUE") {
      log("notice", "Successful partial resynchronization with master.");
      if (f[1] && f[1] !== this.repl.replid) {
        // The master's history went on under a new id (it was promoted): follow it.
        this.repl.replid2 = this.repl.replid;
        this.repl.secondReplOffset = this.repl.offset + 1;
        this.repl.replid = f[1];
        log("warning", `Master replication ID changed to ${f[1]}`);
        // Our replicas must learn the new id: they reconnect and continue partially.
        this.repl.disconnectReplicas();
      }
      // The stream goes on in the database it was in (Redis resurrects its cached master
      // client, whose db is kept): the master sends no SELECT until the db changes.
      this.streamStarts();
      this.masterClient.db = this.repl.cachedMasterDb;
    } else {
      log("warning", `Unexpected reply to PSYNC from master: ${line}`);
      this.socket?.destroy();
    }
  }

  private pendingId = "";
  private pendingOffset = 0;

  private streamStarts(): void {
    this.phase = "stream";
    if (this.masterClient.closed) this.masterClient = this.newMasterClient();
    this.server.clients.set(this.masterClient.id, this.masterClient);
    this.connected = true;
    this.syncing = false;
    this.repl.everSynced = true;
    if (!this.ackTimer) {
      this.ackTimer = setInterval(() => this.sendAck(), 1000);
      this.ackTimer.unref();
    }
    this.sendAck();
  }

  private sendAck(): void {
    if (this.connected) this.send("REPLCONF", "ACK", String(this.repl.offset));
  }

  private onData(d: Buffer): void {
    this.lastIo = Date.now();
    const sliceEnd = performance.now() + STREAM_SLICE_MS;
    // The stream that arrives while the RDB loads waits, unparsed, until the load is done.
    if (this.phase === "loading") {
      if (d.length) this.heldStream.push(d);
      return;
    }
    // The RDB payload goes to the diskless load or the temp file as it arrives.
    if (this.phase === "rdb" && this.rdbMode !== "header") {
      if (d.length === 0) return;
      if (this.load) this.load.feed(d);
      else this.rdbChunk(d);
      return;
    }
    if (d.length) this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      if (this.phase === "handshake") {
        // The master may send newlines to keep the link alive before it answers PSYNC.
        while (this.buf.length && this.buf[0] === 0x0a) this.buf = this.buf.subarray(1);
        const e = this.buf.indexOf("\r\n");
        if (e < 0) return;
        const line = this.buf.toString("latin1", 0, e);
        this.buf = this.buf.subarray(e + 2);
        this.expect.shift()?.(line);
        if (this.phase !== "handshake") continue;
        if (this.expect.length === 0) return;
        continue;
      }
      if (this.phase === "rdb") {
        // The master may send newlines while it prepares the RDB (keepalives).
        while (this.buf.length && this.buf[0] === 0x0a) this.buf = this.buf.subarray(1);
        const e = this.buf.indexOf("\r\n");
        if (e < 0) return;
        const line = this.buf.toString("latin1", 0, e);
        if (line[0] !== "$") {
          log("warning", `Bad protocol from MASTER, the first byte is not '$' (we received '${line.slice(0, 40)}'), are you sure the host and port are right?`);
          this.socket?.destroy();
          return;
        }
        const diskless = this.disklessLoad();
        const to = diskless ? "parser" : "disk";
        if (line.startsWith("$EOF:")) {
          // Diskless: the payload ends with the same 40 bytes as follow "$EOF:".
          this.eofMark = Buffer.from(line.slice(5), "latin1");
          if (this.eofMark.length !== 40) { this.socket?.destroy(); return; }
          this.rdbMode = "eof";
          log("notice", `MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to ${to}`);
        } else {
          this.rdbLen = Number(line.slice(1));
          this.rdbMode = "length";
          log("notice", `MASTER <-> REPLICA sync: receiving ${this.rdbLen} bytes from master to ${to}`);
        }
        const rest = this.buf.subarray(e + 2);
        this.buf = Buffer.alloc(0);
        this.rdbChunks = [];
        this.rdbBytes = 0;
        if (diskless) {
          // The AOF stops before the load and is rewritten once it succeeded (src/repl/sync-aof.ts).
          stopAofForSync(this.server);
          // Parsed as it arrives: the replica is loading (or async-loading) from here on.
          const swapdb = this.server.config.getString("repl-diskless-load") === "swapdb";
          const load = new DisklessLoad(this.server, this.socket!, {
            swapdb, async: swapdb && this.pendingId === this.repl.replid,
            mark: this.rdbMode === "eof" ? this.eofMark : null, size: this.rdbMode === "length" ? this.rdbLen : 0,
          });
          this.load = load;
          const socket = this.socket;
          void load.done.then((res) => this.disklessDone(load, socket, res));
          load.feed(rest);
          return;
        }
        try {
          this.tempFile = new SyncTempFile();
        } catch (err) {
          log("warning", `Opening the temp file needed for MASTER <-> REPLICA synchronization: ${(err as Error).message}`);
          this.socket?.destroy();
          return;
        }
        this.rdbChunk(rest);
        return;
      }
      if (this.phase === "stream") return this.applyStream(sliceEnd);
      return;
    }
  }

  /** Stream phase: where buf's first unapplied command starts (buf is trimmed per read, not per command). */
  private pos = 0;

  /**
   * Applies buf's complete commands from pos, for 5 ms at most (STREAM_SLICE_MS). Each command
   * is measured in place (measureCommand: argument positions in a shared table, no object) and
   * applied from views of buf, which is never written to: the kernel copies the request into
   * its memory and the stream proxies the view. Per command, the copy, the argument list
   * object, the cmd object, a subarray of buf and a clock reading were a third of the host's
   * share of applying a stream (node --cpu-prof of a replica applying redis-benchmark SETs).
   */
  private applyStream(sliceEnd: number): void {
    const buf = this.buf;
    let leave = enterMasterStream(this.server);
    // The AOF writes the slice's commands once, at its end (src/server/reply-fence.ts).
    const fence = this.server.replyFence;
    fence.enter();
    try {
      for (let n = 1; ; n++) {
        const from = this.pos;
        if (this.kernelRunsAllowed()) {
          const ran = this.applyRun(buf, from);
          if (ran < 0) return; // the link ended
          if (ran > 0) {
            if (performance.now() >= sliceEnd && this.pos < buf.length) return this.streamSliceSpent();
            continue;
          }
        }
        const len = measureCommand(buf, from);
        if (len === 0) return this.streamCaughtUp();
        if (typeof len !== "number") return this.protocolError(len);
        if (argCount === 0) {
          // "*0" or "*-1": nothing to run (Redis resets the client), the bytes still count.
          this.pos = from + len;
          this.repl.proxy(buf.subarray(from, from + len));
          continue;
        }
        // A bare newline (a master's keepalive) is an empty PING with no bytes to proxy.
        const keepalive = argCount < 0;
        const argv = keepalive ? [Buffer.from("PING")] : this.commandArgv(buf, from, len);
        // CLIENT PAUSE holds the master's commands too: read, but not applied until it ends.
        if (this.server.pause.holdsMasterCommand(argv, this.resumeStream)) return;
        this.pos = from + len;
        this.apply(argv, keepalive ? EMPTY : buf.subarray(from, from + len));
        // As Redis's processCommand: clients blocked on keys this command fed are served now,
        // as the clients they are (expiry as usual).
        if (this.server.blocking.count > 0) {
          leave();
          this.server.blocking.afterCommand();
          leave = enterMasterStream(this.server);
        }
        // The command may have ended the link (REPLICAOF, a protocol error's reset...).
        if (this.phase !== "stream" || this.buf !== buf) return;
        // The clock is read every 16 commands: 5 ms is far more than 16 commands take.
        if ((n & 15) === 0 && this.pos < buf.length && performance.now() >= sliceEnd) return this.streamSliceSpent();
      }
    } finally {
      leave();
      fence.leave();
      if (this.buf === buf && this.pos > 0) this.buf = buf.subarray(this.pos);
      this.pos = 0;
    }
  }

  /**
   * Whether runs of the stream may go to the kernel in one call (applyRun) rather than a
   * command at a time: when nothing must see each command as it runs — CLIENT PAUSE (which holds the master's writes), MONITOR
   * (which shows each one), clients blocked on keys (served after each command, as Redis's
   * processCommand does), rename-command of a kernel command (the host looks names up), an
   * input gate (a load or a busy script).
   */
  private kernelRunsAllowed(): boolean {
    const s = this.server;
    return s.pause.type === PAUSE_OFF && s.monitors.size === 0 &&
      s.blocking.count === 0 && !s.kernelRenamed && s.inputGate === null;
  }

  /**
   * Applies the run of commands that starts at buf[from] (scanRun: up to RUN_MAX complete
   * multibulk commands) in as few kernel calls as it takes, as a client's read is run: one,
   * unless a command the kernel does not own (SELECT, REPLCONF GETACK, MULTI, a list
   * command...) is handed back, which then runs as apply() runs it, and the kernel goes on
   * after it. Per command, this was a lookup, an argv, a callRaw (ten kernel calls and a copy
   * of the reply) and the host's bookkeeping: about 2 us of the replica's 2.9 us per SET (node
   * --cpu-prof of a replica applying redis-benchmark -P 16 SETs). What each command did is the
   * same: the stream is proxied (the offset moves) up to each handed-back command before it
   * runs, so REPLCONF GETACK reports the offset before it; an error reply to the master is
   * logged with its command's name, with the stream proxied up to that command (Redis feeds
   * its backlog after each command). Returns how many commands it applied, 0 when the run is
   * too short to be worth it (the caller applies the command alone), -1 when a command ended
   * the link.
   */
  private applyRun(buf: Buffer, from: number): number {
    const count = scanRun(buf, from);
    if (count < 2) return 0;
    const runEnd = runStarts[count];
    const shards = this.server.shards;
    const size = runEnd - from;
    // The run's own copy in each kernel's memory: the shared input region may be a client's
    // whose read is under way (a pause lifted by CLIENT UNPAUSE resumes the stream inside it),
    // and callRaw's region is reused by the handed-back commands. With several shards the run
    // moves to the shard of each command's keys, as a client's read does.
    const bases = shards.map((s) => {
      const p = s.kernel.x.alloc(size);
      s.kernel.mem.set(buf.subarray(from, runEnd), p);
      return p;
    });
    let si = 0; // the shard running the run
    const client = this.masterClient;
    let proxied = from; // the stream is proxied up to here
    let ci = 0; // the run's next command
    let reached = from;
    try {
      while (ci < count) {
        const shard = shards[si];
        const k = shard.kernel;
        const base = bases[si];
        const t0 = performance.now();
        const start = base + (runStarts[ci] - from);
        let errors = null as Buffer | null; // the replies, when one may be an error
        let follow = -1;
        shard.useProtocol(client.resp);
        const st = shard.runUnchecked(start, base + size, client.db, this.server.now(), (st) => {
          const ms = performance.now() - t0;
          // Where the kernel stopped: before a handed-back command, else after what it ran.
          reached = from + ((st === STATUS_HOST ? k.handedStart : k.consumed) - base);
          follow = st === STATUS_HOST ? k.handedShard : -1;
          if (k.ranCount > 0 || k.slowCount > 0) {
            const last = recordKernelRun(this.server, k, k.mem, ms);
            if (last !== undefined) client.lastCommand = last.name;
            logSlowKernelCommands(this.server, client, k, start, reached - from + base, ms);
          }
          // Replies are looked at only when a '-' is among them (an error, or a bulk reply's byte).
          const out = k.mem.subarray(k.outPtr, k.outPtr + k.outLen);
          if (out.indexOf(0x2d) >= 0) errors = Buffer.from(out);
        });
        const first = ci;
        while (ci < count && runStarts[ci] < reached) ci++;
        if (errors !== null) proxied = this.errorsInRun(buf, first, ci, errors, proxied);
        if (reached > proxied) { this.repl.proxy(buf.subarray(proxied, reached)); proxied = reached; }
        this.pos = reached;
        if (follow >= 0 && follow !== si && ci < count && runStarts[ci] === reached) {
          // Every key of the next command is in shard `follow`: the run goes on there, from it.
          si = follow;
          shards[si].kernel.trustCommandAt(bases[si] + (reached - from));
          continue;
        }
        // A kernel that stopped without running anything (it reads the bytes otherwise than
        // measureCommand did): the command goes alone, so the loop cannot spin.
        if (ci === first && st !== STATUS_HOST) break;
        if (st === STATUS_DONE || st === STATUS_YIELD) continue;
        // A protocol error by the kernel's limits (not measureCommand's): the command goes alone.
        if (st !== STATUS_HOST || ci >= count || runStarts[ci] !== reached) break;
        // The command the kernel handed back (a host command, or one whose keys are in several
        // shards, or a keyspace-wide one) runs as apply() runs any other.
        const cmdFrom = runStarts[ci];
        const cmdLen = runStarts[ci + 1] - cmdFrom;
        measureCommand(buf, cmdFrom);
        this.pos = cmdFrom + cmdLen;
        this.apply(this.commandArgv(buf, cmdFrom, cmdLen), buf.subarray(cmdFrom, cmdFrom + cmdLen));
        proxied = this.pos;
        ci++;
        if (this.phase !== "stream" || this.buf !== buf) return -1;
        if (!this.kernelRunsAllowed()) break;
      }
    } finally {
      for (let i = 0; i < shards.length; i++) shards[i].kernel.x.free(bases[i]);
    }
    return ci;
  }

  /**
   * The replies (`out`, in order) of the run's commands [first, last) hold a '-': each error
   * reply is logged as apply() logs it, with the stream proxied up to its command first.
   * Returns where the stream is proxied up to.
   */
  private errorsInRun(buf: Buffer, first: number, last: number, out: Buffer, proxied: number): number {
    let p = 0;
    for (let i = first; i < last && p < out.length; i++) {
      const end = replyEnd(out, p);
      if (out[p] === 0x2d) {
        const at = runStarts[i];
        if (at > proxied) { this.repl.proxy(buf.subarray(proxied, at)); proxied = at; }
        const len = measureCommand(buf, at) as number;
        this.errorToMaster(out.subarray(p, end), loggedCommandName(this.server.table, this.commandArgv(buf, at, len)));
      }
      p = end;
    }
    return proxied;
  }

  /**
   * The arguments of the command measureCommand just measured at buf[from, from + len): views
   * of buf when the kernel runs it (it copies the request into its memory), else views of the
   * command's own copy, since a host command may keep an argument (a list its elements) and a
   * view of buf would keep the whole read alive with it.
   */
  private commandArgv(buf: Buffer, from: number, len: number): Buffer[] {
    const spec = lookupCommandBytes(this.server.table, buf.subarray(argPos[0], argPos[0] + argPos[1]));
    const kernelOnly = spec !== undefined && !spec.handler && spec.kernelIndex >= 0 && spec.subcommands.size === 0;
    return kernelOnly ? measuredArgv(buf, 0) : measuredArgv(Buffer.from(buf.subarray(from, from + len)), from);
  }

  /** Whether this link paused its socket because applied stream is pending (streamSliceSpent). */
  private streamPaused = false;

  /**
   * A slice of the stream was applied and more is pending (the stream held during a load, or a
   * big read): the rest goes on at the next event-loop turn, so other clients are served in
   * between, as Redis's replica reads its master 16 kB per event. The socket is paused
   * meanwhile, so new reads do not pile onto the pending bytes; it resumes once they are applied.
   */
  private streamSliceSpent(): void {
    const s = this.socket;
    if (!s || s.destroyed) return;
    if (!this.streamPaused) { this.streamPaused = true; s.pause(); }
    setImmediate(() => { if (s === this.socket && !s.destroyed && this.phase === "stream") this.onData(Buffer.alloc(0)); });
  }

  /** Everything read is applied (what is left is an incomplete command): reading goes on. */
  private streamCaughtUp(): void {
    if (!this.streamPaused) return;
    this.streamPaused = false;
    this.socket?.resume();
  }

  /**
   * The stream read while the RDB loads, after what was in buf when loading began; joined once,
   * when the load is done. Appending each read to buf copied all the bytes held so far every
   * time: quadratic in what a busy master sends during the load (integration/replication's
   * "Connect multiple replicas" with disk sync and disk load: a 45 MB RDB whose load never
   * ended in 9 minutes while the master's write flood went on).
   */
  private heldStream: Buffer[] = [];

  private rdbMode: "header" | "length" | "eof" = "header";
  private eofMark = Buffer.alloc(0);
  /** Disk load: the payload's last bytes written (the end mark may straddle reads). */
  private rdbChunks: Buffer[] = [];
  private rdbBytes = 0;
  /** The diskless load under way (the payload parsed as it arrives). */
  private load: DisklessLoad | null = null;
  /** The disk load's temp file while the payload is written to it. */
  private tempFile: SyncTempFile | null = null;

  /** One more piece of a disk load's payload; once it is all here, loads it and starts the stream. */
  private rdbChunk(d: Buffer): void {
    let end = -1; // payload bytes, once known complete
    let after = 0; // where the bytes after the payload start in d
    if (this.rdbMode === "length") {
      if (this.rdbBytes + d.length >= this.rdbLen) {
        after = this.rdbLen - this.rdbBytes;
        end = this.rdbLen;
      }
    } else {
      // The mark may straddle reads: look in the previous read's last 39 bytes and this one.
      const prev = this.rdbChunks.length ? this.rdbChunks[this.rdbChunks.length - 1] : Buffer.alloc(0);
      const carry = prev.subarray(Math.max(0, prev.length - 39));
      const win = Buffer.concat([carry, d]);
      const at = win.indexOf(this.eofMark);
      if (at >= 0) {
        end = this.rdbBytes - carry.length + at;
        after = at + 40 - carry.length;
      }
    }
    const file = this.tempFile!;
    try {
      file.write(end < 0 ? d : d.subarray(0, Math.max(0, after)));
    } catch (e) {
      log("warning", `Write error saving the DB, the disk may be full: ${(e as Error).message}`);
      this.socket?.destroy();
      return;
    }
    if (end < 0) {
      this.rdbChunks = [Buffer.from(d.subarray(Math.max(0, d.length - 39)))];
      this.rdbBytes += d.length;
      return;
    }
    this.received = { size: this.rdbMode === "length" ? this.rdbLen : 0, read: this.rdbMode === "length" ? this.rdbLen : end };
    this.rdbChunks = [];
    this.rdbBytes = 0;
    this.rdbMode = "header";
    // What follows the payload is the stream: it waits in buf until the load is done.
    this.phase = "loading";
    this.buf = Buffer.from(d.subarray(after));
    this.tempFile = null;
    let data: Buffer;
    try {
      // As Redis: the temp file (without the end mark) becomes dbfilename, then is loaded.
      file.commit(end, persistenceOf(this.server).rdbPath());
      data = readFileSync(persistenceOf(this.server).rdbPath());
    } catch (e) {
      log("warning", `Failed trying to rename the temp DB into ${this.server.config.getString("dbfilename")} in MASTER <-> REPLICA synchronization: ${(e as Error).message}`);
      file.discard();
      this.socket?.destroy();
      return;
    }
    const socket = this.socket;
    void this.loadRdb(data).then((ok) => { if (ok) this.loaded(socket); });
  }

  /** A transfer that did not finish: the diskless load fails, the temp file goes. */
  private abortTransfer(): void {
    const load = this.load;
    this.load = null;
    load?.abort();
    const file = this.tempFile;
    this.tempFile = null;
    file?.discard();
  }

  /** The diskless load ended: on success the stream starts with the bytes that followed the payload. */
  private disklessDone(load: DisklessLoad, socket: Socket | undefined, res: DisklessResult): void {
    if (this.load === load) this.load = null;
    // The link closed while the load went on with what it had read (onClose left the
    // reconnect to us): reconnect now. Not when the load ended at the close: onClose did.
    const lost = this.drainingLoad === load && !this.closed;
    if (this.drainingLoad === load) this.drainingLoad = null;
    if (!res.ok) {
      if (socket === this.socket && socket && !socket.destroyed) socket.destroy();
      if (lost) this.reconnectAfterFailure();
      return;
    }
    this.received = { size: this.rdbMode === "length" ? this.rdbLen : 0, read: res.bytes };
    this.rdbMode = "header";
    this.phase = "loading";
    this.buf = res.rest;
    log("notice", "MASTER <-> REPLICA sync: Finished with success");
    this.loaded(socket);
    if (lost) this.reconnectAfterFailure();
  }

  /** The diskless load onClose let go on after its link closed: disklessDone reconnects when it ends. */
  private drainingLoad: DisklessLoad | null = null;

  /** cancelReplicationHandshake(1) after a failed transfer: connect again at once. */
  private reconnectAfterFailure(): void {
    log("notice", `Reconnecting to MASTER ${this.host}:${this.port} after failure`);
    this.retryTimer = setTimeout(() => this.connect(false), 0);
  }

  /**
   * repl-diskless-load: swapdb always, on-empty-db when we hold no keys (Redis's
   * useDisklessLoad); disabled reads the payload to disk first in Redis.
   */
  private disklessLoad(): boolean {
    const mode = this.server.config.getString("repl-diskless-load");
    return mode === "swapdb" || (mode === "on-empty-db" && persistenceOf(this.server).keyCount() === 0);
  }

  /** The payload's size and bytes read, kept for INFO while it loads. */
  private received = { size: 0, read: 0 };

  /** The master's RDB is loaded: its history is ours from its offset, and the stream starts. */
  private loaded(socket: Socket | undefined): void {
    if (this.closed) return; // REPLICAOF changed meanwhile
    this.repl.adoptMaster(this.pendingId, this.pendingOffset);
    this.discardCachedMaster = false;
    // appendonly yes: the AOF, stopped for the load, is rewritten from the master's data.
    restartAofAfterSync(this.server);
    const held = this.heldStream;
    this.heldStream = [];
    if (socket !== this.socket || !socket || socket.destroyed) {
      // The link dropped while we loaded: the next PSYNC continues from the loaded offset.
      this.repl.everSynced = true;
      this.repl.cachedMasterDb = 0;
      return;
    }
    this.streamStarts();
    this.masterClient.db = 0;
    const rest = held.length ? Buffer.concat([this.buf, ...held]) : this.buf;
    this.buf = Buffer.alloc(0);
    if (rest.length) this.onData(rest);
  }

  /**
   * A disk load: the RDB file read back from dbfilename, its header and checksum checked
   * first, so a payload cut short or damaged on the way leaves the old data; then applied as
   * it is read, in slices with the LOADING gate up, as Redis's replica loads it (key-load-delay
   * makes that observable). A record the reader refuses past that point (a master's bug: Redis
   * exits on it) empties the dataset rather than serve part of it, and the sync fails.
   */
  private async loadRdb(data: Buffer): Promise<boolean> {
    try {
      checkRdbFile(data);
    } catch (e) {
      log("warning", `Failed trying to load the MASTER synchronization DB from disk: ${(e as Error).message}`);
      this.socket?.destroy();
      return false;
    }
    // The AOF stops before the flush and is rewritten once the load succeeded (src/repl/sync-aof.ts).
    stopAofForSync(this.server);
    log("notice", "MASTER <-> REPLICA sync: Flushing old data");
    emptyData(this.server);
    functionsHook.clear(this.server);
    log("notice", "MASTER <-> REPLICA sync: Loading DB in memory");
    // A newline a second tells the master we are alive while we load (Redis's
    // replicationSendNewlineToMaster), so it does not time us out.
    const socket = this.socket;
    const alive = setInterval(() => { if (socket && !socket.destroyed) socket.write("\n"); }, 1000);
    try {
      await persistenceOf(this.server).loadMasterFile(data);
    } catch (e) {
      log("warning", `Failed trying to load the MASTER synchronization DB from disk: ${(e as Error).message}`);
      emptyData(this.server);
      this.socket?.destroy();
      return false;
    } finally {
      clearInterval(alive);
    }
    log("notice", "MASTER <-> REPLICA sync: Finished with success");
    return true;
  }

  /**
   * The master's stream is malformed (Redis's setProtocolError for the master client): logged
   * with the master client's info (its last command) and a sample of the bytes, the link
   * closed, and the cached master discarded, since the stream's position can no longer be
   * trusted: the next sync is a full one.
   */
  private protocolError(err: StreamError): void {
    // The error reply Redis generates for it goes to afterErrorReply like any other (the
    // CRITICAL line with the last command, the latest backlog); inline text gets none.
    if (err.reply !== null) logErrorToMaster(this.server, err.reply, this.masterClient.lastCommand || "<unknown>");
    if (err.inline) log("warning", "WARNING: Receiving inline protocol from master, master stream corruption? Closing the master connection and discarding the cached master.");
    log("warning", `Protocol error (${err.error}) from client: ${clientInfoString(this.server, this.masterClient)}. ${protocolErrorSample(this.buf.subarray(err.at))}`);
    this.buf = Buffer.alloc(0);
    this.discardCachedMaster = true;
    const s = this.socket;
    if (s) { s.destroy(); this.onClose(s); }
  }

  /** Set by a protocol error: the next PSYNC asks for a full sync (no cached master). */
  private discardCachedMaster = false;

  private errorToMaster(reply: Buffer, name: string): void {
    logErrorToMaster(this.server, loggedErrorText(reply), name);
  }

  /** Runs one command of the master's stream as the master's client (in enterMasterStream's state). */
  private apply(argv: Buffer[], raw: Buffer): void {
    // The name is compared as bytes: a string per command was a tenth of applying a stream.
    if (isWord(argv[0], "replconf") && argv[1] !== undefined && isWord(argv[1], "getack")) {
      // The ACK reports the offset before this GETACK, as Redis's replica does.
      this.sendAck();
      this.repl.proxy(raw);
      return;
    }
    if (!isWord(argv[0], "ping")) {
      // raw: the kernel runs the bytes as the master sent them, not argv encoded again.
      this.server.execCommand(this.masterClient, argv, true, raw);
      const out = this.masterClient.reply.take();
      if (out.length && out[0] === 0x2d) this.errorToMaster(out, loggedCommandName(this.server.table, argv));
    }
    this.repl.proxy(raw);
  }
}

/**
 * A command of the master's stream failed here (Redis's afterErrorReply for the master
 * client): the datasets may have diverged, which is logged; with propagation-error-behavior
 * panic (or panic-on-replicas) a read-only replica stops rather than go on diverged.
 */
function logErrorToMaster(server: Server, text: string, name: string): void {
  log("warning", `== CRITICAL == This replica is sending an error to its master: '${text}' after processing the command '${name}'`);
  showLatestBacklog(replicationOf(server));
  const behavior = server.config.getString("propagation-error-behavior");
  if (server.config.getBool("replica-read-only") && (behavior === "panic" || behavior === "panic-on-replicas")) {
    log("warning", `Guru Meditation: This replica panicked sending an error to its master after processing the command '${name}' #replica-link`);
    process.exit(1);
  }
}

/**
 * Redis's showLatestBacklog, after an error sent to the master: the last 256 bytes of the
 * stream this replica applied (its backlog), as sdscatrepr writes them. Our replica keeps a
 * backlog only once it has replicas of its own (Redis's always has one after its sync).
 */
function showLatestBacklog(repl: Replication): void {
  const b = repl.backlog;
  if (!b || b.histlen === 0) return;
  const n = Math.min(256, b.histlen);
  log("warning", `Latest backlog is: '${catRepr(b.from(b.offset + 1 - n))}'`);
}

/** Is b the lowercase ASCII `word`, in any case? */
function isWord(b: Buffer, word: string): boolean {
  if (b.length !== word.length) return false;
  for (let i = 0; i < b.length; i++) if ((b[i] | 0x20) !== word.charCodeAt(i)) return false;
  return true;
}

/** sdscatrepr: quoted, with C escapes and \\xHH for what isprint rejects. */
function catRepr(buf: Buffer): string {
  let s = '"';
  for (const c of buf) {
    if (c === 0x5c || c === 0x22) s += "\\" + String.fromCharCode(c);
    else if (c === 0x0a) s += "\\n";
    else if (c === 0x0d) s += "\\r";
    else if (c === 0x09) s += "\\t";
    else if (c === 0x07) s += "\\a";
    else if (c === 0x08) s += "\\b";
    else if (c >= 0x20 && c <= 0x7e) s += String.fromCharCode(c);
    else s += "\\x" + c.toString(16).padStart(2, "0");
  }
  return s + '"';
}

/** No bytes (a keepalive newline's, never written to). */
const EMPTY = Buffer.alloc(0);

/** How long one slice of applying the master's stream may hold the event loop. */
const STREAM_SLICE_MS = 5;

/** A command of the master's stream: its argv, raw bytes and their count. */
export interface StreamCommand { argv: Buffer[]; len: number; raw: Buffer }
/**
 * A protocol error in the stream, as Redis's processInlineBuffer / processMultibulkBuffer
 * report it: the error reply it generates (none for inline text), the reason it logs
 * (setProtocolError), and where in the buffer its sample of the bytes starts.
 */
export interface StreamError { error: string; reply: string | null; at: number; inline?: boolean }

/** Redis's PROTO_INLINE_MAX_SIZE: a count line longer than this without its CR is an error. */
const PROTO_INLINE_MAX_SIZE = 64 * 1024;

/** string2ll: an optional '-' and digits, no leading zeros or '+'; null past a safe JS integer. */
function strictInt(buf: Buffer, from: number, to: number): number | null {
  // Read from the bytes: a string and a regex per count line were a tenth of applying a stream.
  if (from >= to) return null;
  let i = from;
  const neg = buf[i] === 0x2d;
  if (neg) i++;
  if (i === to) return null;
  if (buf[i] === 0x30) return to - from === 1 ? 0 : null; // "0" only: no "-0", no leading zeros
  if (to - i > 16) return null; // past 2^53 whatever the digits
  let v = 0;
  for (; i < to; i++) {
    const c = buf[i] - 0x30;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  if (!Number.isSafeInteger(v)) return null;
  return neg ? -v : v;
}

/**
 * buf.indexOf(CR, i): a JS loop over the few bytes of a count line ("*3", "$16"), indexOf only
 * past them. indexOf is a call into C++ each time, and measureCommand makes one per argument
 * plus one per command: ~95 ns of a SET's measure.
 */
function crFrom(buf: Buffer, i: number): number {
  const end = Math.min(buf.length, i + 24);
  for (let j = i; j < end; j++) if (buf[j] === 0x0d) return j;
  return end < buf.length ? buf.indexOf(0x0d, end) : -1;
}

const protoError = (error: string, at: number, reply: string | null = `Protocol error: ${error}`): StreamError => ({ error, reply, at });

/**
 * The arguments measureCommand found: argument i is at [argPos[2i], argPos[2i] + argPos[2i+1])
 * of its buffer; argCount of them, 0 for "*0" or "*-1", -1 for a bare newline. Shared by every
 * call (one table, not an object per command); grown for a command with more arguments.
 */
let argPos = new Int32Array(64);
let argCount = 0;

/**
 * The command at buf[from..], read as Redis reads a master's stream: its length in bytes
 * (its arguments in argPos/argCount), 0 while incomplete, a StreamError for a malformed one
 * (`at` counted from the start of buf). A bare newline (a master's keepalive) is a command
 * with argCount -1. Lines end at CR for multibulk parts, at LF inline.
 */
export function measureCommand(buf: Buffer, from: number): number | StreamError {
  if (from >= buf.length) return 0;
  if (buf[from] !== 0x2a) {
    const e = buf.indexOf(0x0a, from);
    if (e < 0) return buf.length - from > PROTO_INLINE_MAX_SIZE ? protoError("too big inline request", from) : 0;
    const len = e > from && buf[e - 1] === 0x0d ? e - 1 - from : e - from;
    // A master sends only newlines inline; anything else means the stream is out of step.
    if (len > 0) return { error: "Master using the inline protocol. Desync?", reply: null, at: from, inline: true };
    argCount = -1;
    return e + 1 - from;
  }
  let p = crFrom(buf, from);
  if (p < 0) return buf.length - from > PROTO_INLINE_MAX_SIZE ? protoError("too big mbulk count string", from) : 0;
  if (p > buf.length - 2) return 0;
  const n = strictInt(buf, from + 1, p);
  if (n === null || n > 2147483647) return protoError("invalid mbulk count", from, "Protocol error: invalid multibulk length");
  p += 2;
  for (let i = 0; i < n; i++) {
    // Grown as arguments arrive: the count alone may be up to 2^31-1.
    if (2 * i + 2 > argPos.length) { const a = new Int32Array(argPos.length * 2); a.set(argPos); argPos = a; }
    const e = crFrom(buf, p);
    if (e < 0) return buf.length - p > PROTO_INLINE_MAX_SIZE ? protoError("too big bulk count string", p) : 0;
    if (e > buf.length - 2) return 0;
    if (buf[p] !== 0x24) {
      return protoError("expected $ but got something else", p, `Protocol error: expected '$', got '${String.fromCharCode(buf[p])}'`);
    }
    const len = strictInt(buf, p + 1, e);
    if (len === null || len < 0) return protoError("invalid bulk length", p);
    if (buf.length < e + 2 + len + 2) return 0;
    argPos[2 * i] = e + 2;
    argPos[2 * i + 1] = len;
    p = e + 2 + len + 2;
  }
  argCount = n < 0 ? 0 : n;
  return p - from;
}

/** Most commands one kernel run of the master's stream takes (ReplicaLink.applyRun). */
const RUN_MAX = 1024;
/** scanRun's result: where each command of the run starts in its buffer, then where the run ends. */
let runStarts = new Int32Array(RUN_MAX + 1);

/**
 * The run of commands that starts at buf[from]: up to RUN_MAX complete multibulk commands with
 * arguments, ending before what the per-command path must see — a bare newline, "*0", an
 * incomplete or malformed command, a PING (which the replica does not run). Returns their
 * count; runStarts[0..count] holds their starts and the run's end.
 */
function scanRun(buf: Buffer, from: number): number {
  let pos = from;
  let n = 0;
  while (n < RUN_MAX) {
    const len = measureCommand(buf, pos);
    if (typeof len !== "number" || len === 0 || argCount <= 0) break;
    if (argCount === 1 && argPos[1] === 4 && isWord(buf.subarray(argPos[0], argPos[0] + 4), "ping")) break;
    runStarts[n++] = pos;
    pos += len;
  }
  runStarts[n] = pos;
  return n;
}

/** Where the RESP reply that starts at out[p] ends (RESP2, and RESP3's types). */
function replyEnd(out: Buffer, p: number): number {
  const eol = out.indexOf("\r\n", p);
  if (eol < 0) return out.length;
  const next = eol + 2;
  const n = Number(out.toString("latin1", p + 1, eol));
  switch (out[p]) {
    case 0x24: case 0x3d: case 0x21: // $ = !: a length, then the bytes
      return n < 0 ? next : next + n + 2;
    case 0x2a: case 0x7e: case 0x3e: { // * ~ >: n replies
      let q = next;
      for (let i = 0; i < n; i++) q = replyEnd(out, q);
      return q;
    }
    case 0x25: case 0x7c: { // % |: n pairs
      let q = next;
      for (let i = 0; i < 2 * n; i++) q = replyEnd(out, q);
      return q;
    }
    default: // + - : , _ # ( : one line
      return next;
  }
}

/**
 * measureCommand at the start of buf, as an object: the argv (views of one copy of the
 * command's bytes), its length and that copy (the bytes to proxy); null while incomplete.
 */
export function parseCommand(buf: Buffer): StreamCommand | StreamError | null {
  const len = measureCommand(buf, 0);
  if (len === 0) return null;
  if (typeof len !== "number") return len;
  if (argCount < 0) return { argv: [Buffer.from("PING")], len, raw: EMPTY };
  const raw = Buffer.from(buf.subarray(0, len));
  return { argv: measuredArgv(raw, 0), len, raw };
}

/**
 * The arguments of the command measureCommand last measured, as views of `base`: its buffer,
 * or a copy of the command's bytes that started at `from` in it.
 */
export function measuredArgv(base: Buffer, from: number): Buffer[] {
  const argv: Buffer[] = new Array(argCount);
  for (let i = 0; i < argCount; i++) argv[i] = base.subarray(argPos[2 * i] - from, argPos[2 * i] - from + argPos[2 * i + 1]);
  return argv;
}

/** Redis's "Query buffer during protocol error" sample: up to 128 bytes, non-printables as dots. */
export function protocolErrorSample(buf: Buffer): string {
  const DUMP = 128;
  const text = (b: Buffer) => {
    const nul = b.indexOf(0);
    return b.toString("latin1", 0, nul < 0 ? b.length : nul);
  };
  let s = buf.length < DUMP
    ? `Query buffer during protocol error: '${text(buf)}'`
    : `Query buffer during protocol error: '${text(buf.subarray(0, DUMP / 2))}' (... more ${buf.length - DUMP} bytes ...) '${text(buf.subarray(buf.length - DUMP / 2))}'`;
  s = s.slice(0, 255); // snprintf into 256 bytes
  return s.replace(/[^\x20-\x7e]/g, ".");
}
