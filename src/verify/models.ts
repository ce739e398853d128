// Sequential specifications the linearizability checker tests histories against.
//
// A model is deterministic: given a state and an op (input + output), it answers the next
// state, or undefined when that op cannot have returned that output from that state. An op
// that never completed has no output; its step must always succeed (it took effect with
// whatever result), because the checker places such an op last when it "never happened".
import type { CounterInput, CounterOutput, Operation, RegisterInput, RegisterOutput, RegisterValue } from "./history.js";

export interface Model<S, I, O> {
  name: string;
  init(): S;
  /** Next state, or undefined if `output` is impossible from `state`. output undefined = unknown. */
  step(state: S, input: I, output: O | undefined): S | undefined;
  /** Equal states must hash equal (memoisation key). */
  hash(state: S): string;
  /** The op never changes the state (a read): one that never answered can be ignored. */
  readOnly(input: I): boolean;
  describeOp(input: I, output: O | undefined): string;
  describeState(state: S): string;
  /**
   * Whether removing `op` from a history can only make it *more* linearizable (so a
   * violation that survives the removal is a real one, not one the removal created).
   * The minimiser only removes such ops. Reads always qualify; writes only when no
   * remaining op observed the value they wrote.
   */
  droppable(op: Operation<I, O>, rest: Operation<I, O>[]): boolean;
}

const show = (v: RegisterValue) => (v === null ? "nil" : JSON.stringify(v));

/**
 * A register (GET / SET / CAS). Workloads write unique values, so a read names the one
 * write it saw; that makes "a value never written" and "a stale read" decidable.
 */
export const registerModel: Model<RegisterValue, RegisterInput, RegisterOutput> = {
  name: "register",
  init: () => null,
  step(s, input, out) {
    switch (input.f) {
      case "read":
        if (out === undefined) return s;
        return out === s ? s : undefined;
      case "write":
        return input.value;
      case "cas":
        if (out === undefined) return s === input.from ? input.to : s;
        if (out === true) return s === input.from ? input.to : undefined;
        return s !== input.from ? s : undefined;
    }
  },
  hash: (s) => (s === null ? "\0nil" : s),
  readOnly: (input) => input.f === "read",
  describeOp(input, out) {
    const o = out === undefined ? "?" : typeof out === "boolean" ? (out ? "ok" : "fail") : show(out);
    switch (input.f) {
      case "read":
        return `GET → ${o}`;
      case "write":
        return `SET ${show(input.value)}${out === undefined ? " → ?" : ""}`;
      case "cas":
        return `CAS ${show(input.from)}→${show(input.to)} → ${o}`;
    }
  },
  describeState: show,
  droppable(op, rest) {
    const i = op.input;
    if (i.f === "read") return true;
    if (i.f === "cas" && op.output === false) return true;
    const wrote = i.f === "write" ? i.value : i.to;
    // Without this write, the ops linearized after it see the previous value instead. That
    // changes nothing for the remaining ops only if none of them observed `wrote` (a read of
    // it, a CAS expecting it) and none is a CAS whose outcome hinged on the value not being
    // something (a failed CAS, or one whose outcome is unknown).
    return !rest.some(
      (o) =>
        o !== op &&
        ((o.input.f === "read" && o.output === wrote) ||
          (o.input.f === "cas" && (o.input.from === wrote || o.output !== true))),
    );
  },
};

/** A counter (INCRBY answers the new value; GET of a missing key reads 0). */
export const counterModel: Model<number, CounterInput, CounterOutput> = {
  name: "counter",
  init: () => 0,
  step(s, input, out) {
    if (input.f === "read") return out === undefined || out === s ? s : undefined;
    const next = s + input.by;
    return out === undefined || out === next ? next : undefined;
  },
  hash: (s) => String(s),
  readOnly: (input) => input.f === "read",
  describeOp(input, out) {
    const o = out === undefined ? "?" : String(out);
    return input.f === "read" ? `GET → ${o}` : `INCRBY ${input.by} → ${o}`;
  },
  describeState: (s) => String(s),
  // Removing an increment shifts every later value, so only reads may go.
  droppable: (op) => op.input.f === "read",
};
