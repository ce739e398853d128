// A workload: N concurrent clients doing random reads, writes, compare-and-sets and
// increments on a few keys of real server processes, recording every op's invocation and
// completion on one monotonic clock. The histories go to the linearizability checker.
//
// Every written value is unique (client id + sequence number), so a read names the write it
// saw. An op that timed out or lost its connection is left open (it may or may not have
// happened), and its client continues under a new client id, as Jepsen does with a process
// that crashed mid-operation. An error reply proves the op did nothing (it is marked failed).
import { connectWhenUp, startDeadline } from "./ready.js";
import type { CounterInput, CounterOutput, Operation, RegisterInput, RegisterOutput } from "./history.js";
import { HistoryRecorder } from "./history.js";
import { fork, pick, type Rand } from "./prng.js";

/** What a workload needs from a connection; tests wrap it to plant anomalies. */
export interface KvClient {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  /** true = swapped, false = the value was not `from`, "aborted" = WATCH saw a change, nothing done. */
  cas(key: string, from: string, to: string): Promise<boolean | "aborted">;
  incrby(key: string, by: number): Promise<number>;
  close(): Promise<void>;
}

export type CasMode = "lua" | "watch";

/** The register CAS as one Lua script: atomic on the server. */
export const CAS_SCRIPT = "if redis.call('get',KEYS[1])==ARGV[1] then redis.call('set',KEYS[1],ARGV[2]) return 1 else return 0 end";

export async function ioredisClient(port: number, opts: { cas: CasMode; timeoutMs: number }): Promise<KvClient> {
  // (connectWhenUp: a node still busy starting on a loaded machine is retried, not fatal)
  const r = await connectWhenUp(port, startDeadline(), {
    enableReadyCheck: false,
    // Never resend or queue: a retried write would take effect outside the op's interval.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
    commandTimeout: opts.timeoutMs,
    retryStrategy: () => 50,
  });
  return {
    get: (k) => r.get(k),
    set: async (k, v) => {
      await r.set(k, v);
    },
    cas: async (k, from, to) => {
      if (opts.cas === "lua") return (await r.eval(CAS_SCRIPT, 1, k, from, to)) === 1;
      // WATCH/MULTI: the GET after WATCH sees `from`, and EXEC runs only if nobody wrote k since.
      await r.watch(k);
      if ((await r.get(k)) !== from) {
        await r.unwatch();
        return false;
      }
      const res = await r.multi().set(k, to).exec();
      return res === null ? "aborted" : true;
    },
    incrby: (k, by) => r.incrby(k, by),
    close: async () => {
      r.disconnect();
    },
  };
}

export interface WorkloadOptions {
  /** Server ports; client i talks to ports[i % ports.length]. */
  ports: number[];
  seconds: number;
  /** Stop once this many ops were issued (tests use a count, not a duration: a loaded machine runs slower). */
  ops?: number;
  /** Target ops per second over all clients (0 = as fast as they can). */
  rate: number;
  concurrency: number;
  seed: number;
  /** Register keys (default 3) and counter keys (default 1). */
  registerKeys?: number;
  counterKeys?: number;
  cas?: CasMode;
  /** An op with no answer after this long is left open (outcome unknown). Default 1000. */
  timeoutMs?: number;
  /** Key prefix (default lin:<seed>:). */
  prefix?: string;
  /** How clients connect; tests wrap the default to plant anomalies. */
  connect?: (port: number, index: number) => Promise<KvClient>;
}

export interface WorkloadRun {
  register: Operation<RegisterInput, RegisterOutput>[];
  counter: Operation<CounterInput, CounterOutput>[];
  registerKeys: string[];
  counterKeys: string[];
  ms: number;
}

type AnyOp = Operation<RegisterInput | CounterInput, RegisterOutput | CounterOutput>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runWorkload(o: WorkloadOptions): Promise<WorkloadRun> {
  const prefix = o.prefix ?? `lin:${o.seed}:`;
  const registerKeys = Array.from({ length: o.registerKeys ?? 3 }, (_, i) => `${prefix}r${i}`);
  const counterKeys = Array.from({ length: o.counterKeys ?? 1 }, (_, i) => `${prefix}c${i}`);
  const timeoutMs = o.timeoutMs ?? 1000;
  const connect = o.connect ?? ((port: number) => ioredisClient(port, { cas: o.cas ?? "lua", timeoutMs }));
  const rec = new HistoryRecorder<RegisterInput | CounterInput, RegisterOutput | CounterOutput>();
  const kinds = new Map<AnyOp, "register" | "counter">();
  // The latest value anyone saw per register key: CAS expects it, so some CASes succeed.
  const lastSeen = new Map<string, string>();
  const t0 = Date.now();
  const end = t0 + o.seconds * 1000;
  const interval = o.rate > 0 ? (o.concurrency * 1000) / o.rate : 0;
  let nextClientId = o.concurrency;
  const maxOps = o.ops ?? Infinity;

  const clients = await Promise.all(Array.from({ length: o.concurrency }, (_, i) => connect(o.ports[i % o.ports.length], i)));

  async function runClient(i: number): Promise<void> {
    const rand: Rand = fork(o.seed, i);
    const kv = clients[i];
    let id = i;
    let seq = 0;
    let due = Date.now() + rand() * interval;
    while (Date.now() < end && rec.ops.length < maxOps) {
      if (interval > 0) {
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        due += interval * (0.5 + rand());
        if (Date.now() >= end || rec.ops.length >= maxOps) break;
      }
      const onCounter = rand() < 0.2;
      let op: AnyOp;
      let run: () => Promise<RegisterOutput | CounterOutput | "aborted">;
      if (onCounter) {
        const key = pick(rand, counterKeys);
        if (rand() < 0.5) {
          op = rec.invoke(id, key, { f: "read" });
          run = async () => Number((await kv.get(key)) ?? 0);
        } else {
          const by = 1 + Math.floor(rand() * 5);
          op = rec.invoke(id, key, { f: "incr", by });
          run = () => kv.incrby(key, by);
        }
        kinds.set(op, "counter");
      } else {
        const key = pick(rand, registerKeys);
        const r = rand();
        const value = `${id}-${seq++}`;
        if (r < 0.45) {
          op = rec.invoke(id, key, { f: "read" });
          run = async () => {
            const v = await kv.get(key);
            if (v !== null) lastSeen.set(key, v);
            return v;
          };
        } else if (r < 0.75) {
          op = rec.invoke(id, key, { f: "write", value });
          run = async () => {
            await kv.set(key, value);
            lastSeen.set(key, value);
            return "OK";
          };
        } else {
          const from = lastSeen.get(key) ?? "none";
          op = rec.invoke(id, key, { f: "cas", from, to: value });
          run = async () => {
            const ok = await kv.cas(key, from, value);
            if (ok === true) lastSeen.set(key, value);
            return ok;
          };
        }
        kinds.set(op, "register");
      }
      try {
        const out = await run();
        if (out === "aborted") rec.fail(op, "EXEC aborted (WATCH saw a change): no effect");
        else rec.complete(op, out);
      } catch (e) {
        const err = e as Error;
        if (err.name === "ReplyError") rec.fail(op, `error reply: ${err.message}`);
        else {
          rec.unknown(op, `no answer: ${err.message}`);
          id = nextClientId++;
        }
      }
    }
  }

  await Promise.all(clients.map((_, i) => runClient(i)));
  await Promise.all(clients.map((c) => c.close()));
  const register: Operation<RegisterInput, RegisterOutput>[] = [];
  const counter: Operation<CounterInput, CounterOutput>[] = [];
  for (const op of rec.ops) {
    if (kinds.get(op) === "counter") counter.push(op as Operation<CounterInput, CounterOutput>);
    else register.push(op as Operation<RegisterInput, RegisterOutput>);
  }
  return { register, counter, registerKeys, counterKeys, ms: Date.now() - t0 };
}
