// Builds histories for the checker's tests: by hand (h.op(...)) or by simulating clients
// against a real sequential register/counter, which yields histories that are linearizable
// by construction (each op takes effect at a random instant inside its interval).
import type { CounterInput, Operation, RegisterInput, RegisterOutput } from "../../src/verify/history.js";
import { mulberry32 } from "../../src/verify/prng.js";

type RegOp = Operation<RegisterInput, RegisterOutput>;

/** Hand-made register op: [call, ret] (ret undefined = never completed). */
export function reg(id: number, client: number, call: number, ret: number | undefined, input: RegisterInput, output?: RegisterOutput, key = "k"): RegOp {
  return { id, client, key, input, call, ret, output: ret === undefined ? undefined : input.f === "write" ? "OK" : output };
}

export function ctr(id: number, client: number, call: number, ret: number | undefined, input: CounterInput, output?: number, key = "c"): Operation<CounterInput, number> {
  return { id, client, key, input, call, ret, output: ret === undefined ? undefined : output };
}

/** A linearizable register history: `clients` clients, `n` ops over `keys` keys. */
export function simulatedRegister(seed: number, n: number, clients: number, keys: string[]): RegOp[] {
  const rand = mulberry32(seed);
  const free = new Array(clients).fill(0);
  const ops: (RegOp & { lin: number })[] = [];
  let next = 0;
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rand() * clients);
    const call = free[c] + Math.floor(rand() * 5);
    const lin = call + 1 + Math.floor(rand() * 20);
    const ret = lin + 1 + Math.floor(rand() * 20);
    free[c] = ret + 1;
    const key = keys[Math.floor(rand() * keys.length)];
    const r = rand();
    const input: RegisterInput =
      r < 0.5 ? { f: "read" } : r < 0.8 ? { f: "write", value: `v${next++}` } : { f: "cas", from: "", to: `v${next++}` };
    ops.push({ id: i, client: c, key, input, call, ret, lin });
  }
  const state = new Map<string, string | null>();
  const byLin = [...ops].sort((a, b) => a.lin - b.lin);
  // CAS expects whatever the register held a little while ago, so some succeed and some fail.
  const recent = new Map<string, (string | null)[]>();
  for (const op of byLin) {
    const cur = state.get(op.key) ?? null;
    const seen = recent.get(op.key) ?? [];
    if (op.input.f === "read") op.output = cur;
    else if (op.input.f === "write") {
      op.output = "OK";
      state.set(op.key, op.input.value);
    } else {
      const from = seen.length ? seen[Math.floor(rand() * seen.length)] : null;
      op.input.from = from ?? "none";
      op.output = cur === op.input.from;
      if (op.output) state.set(op.key, op.input.to);
    }
    seen.push(state.get(op.key) ?? null);
    if (seen.length > 3) seen.shift();
    recent.set(op.key, seen);
  }
  return ops.map(({ lin: _lin, ...op }) => op);
}

export function simulatedCounter(seed: number, n: number, clients: number): Operation<CounterInput, number>[] {
  const rand = mulberry32(seed);
  const free = new Array(clients).fill(0);
  const ops: (Operation<CounterInput, number> & { lin: number })[] = [];
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rand() * clients);
    const call = free[c] + Math.floor(rand() * 5);
    const lin = call + 1 + Math.floor(rand() * 20);
    const ret = lin + 1 + Math.floor(rand() * 20);
    free[c] = ret + 1;
    const input: CounterInput = rand() < 0.4 ? { f: "read" } : { f: "incr", by: 1 + Math.floor(rand() * 3) };
    ops.push({ id: i, client: c, key: "c", input, call, ret, lin });
  }
  let v = 0;
  for (const op of [...ops].sort((a, b) => a.lin - b.lin)) {
    if (op.input.f === "incr") v += op.input.by;
    op.output = v;
  }
  return ops.map(({ lin: _lin, ...op }) => op);
}
