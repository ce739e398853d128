// MIGRATE's connections to its targets (Redis's migrateGetSocket and its socket cache).
//
// Redis's MIGRATE blocks the server while it talks to the target, so no other client can
// touch the keys between DUMP and DEL. Node cannot block on a socket, so the sockets live in
// a worker thread: the server posts the request and waits on a SharedArrayBuffer
// (Atomics.wait) until the worker has the replies, then takes them with
// receiveMessageOnPort. Because the worker outlives one MIGRATE, it keeps each target's
// connection open for the next one, as Redis does: at most 64, each closed after 10 seconds
// unused (MIGRATE_SOCKET_CACHE_ITEMS / _TTL); INFO's migrate_cached_sockets counts them.
// With tls-cluster on, the connection is TLS (connCreateTLS with the client-side context).
import net from "node:net";
import tls from "node:tls";
import { hostModuleFile } from "../util/package-files.js";
import { MessageChannel, MessagePort, Worker, isMainThread, receiveMessageOnPort, workerData } from "node:worker_threads";
import { replyEnd } from "../cluster/exchange.js";

const CACHE_ITEMS = 64;
const CACHE_TTL_MS = 10_000;

export interface LinkJob {
  id: number;
  host: string;
  port: number;
  /** Client-side TLS options (tls-cluster yes), or null for plain TCP. */
  tls: tls.ConnectionOptions | null;
  request: Uint8Array;
  /** How many complete replies the request produces. */
  replies: number;
  timeoutMs: number;
}

/** 0: replies in `data`; 4: connect timed out or the TLS handshake failed; 2: write error (or refused); 3: read error or timeout. */
export interface LinkResult { id: number; status: 0 | 2 | 3 | 4; data?: Uint8Array }

// ---- server side ------------------------------------------------------------------------

let worker: Worker | undefined;
let port: MessagePort | undefined;
/** [0]: set to the finished job's id by the worker; [1]: how many sockets it caches. */
let shared: Int32Array | undefined;
let nextId = 1;

function ensureWorker(): void {
  if (worker) return;
  shared = new Int32Array(new SharedArrayBuffer(8));
  const channel = new MessageChannel();
  port = channel.port1;
  port.unref();
  worker = new Worker(hostModuleFile("commands/migrate-link"), {
    workerData: { port: channel.port2, shared },
    transferList: [channel.port2],
  });
  worker.unref();
  worker.on("error", () => { worker = undefined; port = undefined; });
  worker.on("exit", () => { worker = undefined; port = undefined; });
}

/** Runs one exchange with the target and waits for it (the server does nothing else meanwhile). */
export function migrateExchange(job: Omit<LinkJob, "id">): LinkResult {
  ensureWorker();
  const id = nextId++;
  // Functions (checkServerIdentity) do not cross to the worker; it sets its own.
  const tlsOpts = job.tls && Object.fromEntries(Object.entries(job.tls).filter(([, v]) => typeof v !== "function"));
  port!.postMessage({ ...job, tls: tlsOpts, id });
  // The worker answers within timeoutMs; the margin covers its start-up on first use.
  const deadline = Date.now() + job.timeoutMs + 5000;
  for (;;) {
    const msg = receiveMessageOnPort(port!);
    if (msg) {
      const r = msg.message as LinkResult;
      if (r.id === id) return r;
      continue; // an answer to an exchange that was given up on
    }
    const left = deadline - Date.now();
    if (left <= 0) return { id, status: 3 };
    const done = Atomics.load(shared!, 0);
    // Done but its message not visible yet: look again in a moment; else sleep until done.
    Atomics.wait(shared!, 0, done, done === id ? 1 : left);
  }
}

/** INFO migrate_cached_sockets. */
export function migrateCachedSockets(): number {
  return shared ? Atomics.load(shared, 1) : 0;
}

// ---- worker side ------------------------------------------------------------------------

class Link {
  buf = Buffer.alloc(0);
  lastUse = Date.now();
  onData?: () => void;
  onEnd?: (err: boolean) => void;
  constructor(readonly sock: net.Socket) {
    sock.on("data", (d: Buffer) => { this.buf = Buffer.concat([this.buf, d]); this.onData?.(); });
    sock.on("error", () => this.onEnd?.(true));
    sock.on("close", () => this.onEnd?.(true));
  }
}

/**
 * A new connection, or the status its failure gives. As Redis's blocking connect, a plain
 * connection the target refuses only fails when the request is written ("writing"); a
 * connect that times out, or a TLS handshake that fails, is "connecting".
 */
function connect(job: LinkJob): Promise<Link | 2 | 4> {
  return new Promise((resolve) => {
    let sock: net.Socket | undefined;
    const timer = setTimeout(() => fail(4), job.timeoutMs);
    const ready = () => { clearTimeout(timer); sock!.removeAllListeners(); sock!.setNoDelay(true); resolve(new Link(sock!)); };
    const fail = (status: 2 | 4) => { clearTimeout(timer); sock?.destroy(); resolve(status); };
    try {
      if (job.tls === null) {
        sock = net.connect(job.port, job.host);
        sock.once("connect", ready);
      } else {
        // Certificates crossed over as Uint8Arrays; the target's certificate is checked
        // against the CA, not its host name (as Redis).
        const opts = Object.fromEntries(Object.entries(job.tls).map(([k, v]) => [k, asBuffers(v)]));
        sock = tls.connect({ ...opts, port: job.port, host: job.host, checkServerIdentity: () => undefined });
        sock.once("secureConnect", ready);
      }
      sock.once("error", () => fail(job.tls === null ? 2 : 4));
    } catch {
      fail(4); // a port out of range, say: Redis's connect fails at once
    }
  });
}

function asBuffers(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(asBuffers);
  return v;
}

/** Writes the request and collects `replies` replies: status 0 with them, 2 or 3 on failure. */
function exchange(link: Link, job: LinkJob): Promise<{ status: 0 | 2 | 3; data?: Buffer; retry: boolean }> {
  return new Promise((resolve) => {
    let wrote = false;
    link.buf = Buffer.alloc(0);
    // retry: the connection failed (not a timeout) before the target answered anything, as
    // when a cached connection was closed by the target meanwhile (Redis's may_retry).
    const finish = (r: { status: 0 | 2 | 3; data?: Buffer }, retry = false) => {
      clearTimeout(timer);
      link.onData = undefined;
      link.onEnd = undefined;
      resolve({ ...r, retry: retry && link.buf.length === 0 });
    };
    const timer = setTimeout(() => finish({ status: wrote ? 3 : 2 }), job.timeoutMs);
    link.onEnd = () => finish({ status: wrote ? 3 : 2 }, true);
    link.onData = () => {
      let p = 0;
      for (let i = 0; i < job.replies; i++) {
        p = replyEnd(link.buf, p);
        if (p < 0) return;
      }
      finish({ status: 0, data: link.buf.subarray(0, p) });
    };
    link.sock.write(job.request, (err) => { if (!err) wrote = true; });
  });
}

function workerMain(): void {
  const { port: out, shared: counts } = workerData as { port: MessagePort; shared: Int32Array };
  const cache = new Map<string, Link>();
  const publish = () => Atomics.store(counts, 1, cache.size);
  const drop = (key: string) => {
    cache.get(key)?.sock.destroy();
    cache.delete(key);
    publish();
  };
  const answer = (r: LinkResult) => {
    out.postMessage(r);
    Atomics.store(counts, 0, r.id);
    Atomics.notify(counts, 0);
  };
  const run = async (job: LinkJob): Promise<LinkResult> => {
    const key = `${job.host}:${job.port}`;
    // A cached connection the target has closed meanwhile: try once more on a new one.
    for (let attempt = 0; attempt < 2; attempt++) {
      let link = cache.get(key);
      const cached = link !== undefined;
      if (!link) {
        if (cache.size >= CACHE_ITEMS) drop([...cache.keys()][Math.floor(Math.random() * cache.size)]);
        const fresh = await connect(job);
        if (typeof fresh === "number") return { id: job.id, status: fresh };
        link = fresh;
        link.onEnd = () => drop(key);
        cache.set(key, link);
        publish();
      }
      const r = await exchange(link, job);
      if (r.status === 0) {
        link.lastUse = Date.now();
        link.onEnd = () => drop(key);
        return { id: job.id, status: 0, data: r.data };
      }
      drop(key);
      if (!cached || !r.retry) return { id: job.id, status: r.status };
    }
    return { id: job.id, status: 3 };
  };
  // One exchange at a time (the server waits for each).
  let queue = Promise.resolve();
  out.on("message", (job: LinkJob) => {
    queue = queue.then(() => run(job).then(answer, () => answer({ id: job.id, status: 3 })));
  });
  // Redis's migrateCloseTimedoutSockets, from serverCron.
  setInterval(() => {
    const now = Date.now();
    for (const [key, link] of cache) if (now - link.lastUse > CACHE_TTL_MS) drop(key);
  }, 1000);
}

if (!isMainThread && (workerData as { shared?: unknown } | null)?.shared) workerMain();
