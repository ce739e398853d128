// A client history: one Operation per request a client made, with the times it was invoked
// and completed on one monotonic clock. An operation that never completed (a timeout, a
// connection lost, a server killed mid-request) has no `ret` and no `output`: it may or may
// not have taken effect, and the checker must allow both.

export type RegisterValue = string | null;

/** Register operations: GET, SET and compare-and-set (a Lua script or WATCH/MULTI). */
export type RegisterInput =
  | { f: "read" }
  | { f: "write"; value: string }
  | { f: "cas"; from: string; to: string };

/** read → the value seen; write → "OK"; cas → whether it swapped. */
export type RegisterOutput = RegisterValue | boolean;

/** Counter operations: INCRBY (answers the new value) and GET. */
export type CounterInput = { f: "incr"; by: number } | { f: "read" };
export type CounterOutput = number;

export interface Operation<I = unknown, O = unknown> {
  /** Unique within a history; the order ops were recorded in. */
  id: number;
  /** The client (connection) that issued it; a client has one op in flight at a time. */
  client: number;
  /** Linearizability is compositional: ops on different keys are checked separately. */
  key: string;
  input: I;
  /** Absent while the op has not completed (and forever if it never did). */
  output?: O;
  /** Invocation time (any monotonic unit; the recorder uses microseconds). */
  call: number;
  /** Completion time; undefined = never completed (timeout, crash): outcome unknown. */
  ret?: number;
  /** Free text shown in timelines, e.g. the error an op failed with. */
  note?: string;
  /** Completed with an error that proves it did nothing: the checker ignores it. */
  failed?: boolean;
}

/** Records invoke/complete events with a monotonic clock (process.hrtime, microseconds). */
export class HistoryRecorder<I = unknown, O = unknown> {
  readonly ops: Operation<I, O>[] = [];
  private readonly t0 = process.hrtime.bigint();

  now(): number {
    return Number((process.hrtime.bigint() - this.t0) / 1000n);
  }

  invoke(client: number, key: string, input: I): Operation<I, O> {
    const op: Operation<I, O> = { id: this.ops.length, client, key, input, call: this.now() };
    this.ops.push(op);
    return op;
  }

  complete(op: Operation<I, O>, output: O): void {
    op.ret = this.now();
    op.output = output;
  }

  /** The op failed in a way that proves it had no effect (e.g. a WRONGTYPE error reply). */
  fail(op: Operation<I, O>, note: string): void {
    op.ret = this.now();
    op.note = note;
    op.failed = true;
  }

  /** The op's fate is unknown (timeout, connection reset): leave it open. */
  unknown(op: Operation<I, O>, note: string): void {
    op.note = note;
  }
}

