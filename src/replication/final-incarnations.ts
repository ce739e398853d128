// Final incarnations, one watermark per node name: "every incarnation of this name up to X is
// final" (gossip.ts: final = departed, and stable without bound — every replica holds every
// write of it that survives). It replaces one MAX_SAFE_INTEGER entry per departed
// incarnation in the stability vectors (Gossip.stable / gcStable), in `applied`, in the
// DIGEST's stability vector and in each removalHorizon coverage copy: those grew by one entry
// per restart of any node, for good. With the watermark they hold the live incarnations (and
// the departed ones not final yet) plus one entry per node name.
//
// Why one watermark may stand for all older incarnations: a node runs one incarnation at a
// time, and ids are `<name>~<incarnation>` with incarnations ordered by (length, text) —
// start times in fixed-width base 36 (active-active.ts), counters in the simulator — so an
// incarnation older than X had departed before X started, before X departed. The argument
// that made X final (every replica's state has equalled ours since X departed: each holds
// every write of X that survives) holds for it as well.

/** An id's incarnation: the part after its last `~` ("" for an id without one). */
function incarnationOf(id: string): string {
  const i = id.lastIndexOf("~");
  return i < 0 ? "" : id.slice(i + 1);
}

/** A node id's name: the id without its incarnation (`<name>~<incarnation>`; an id without one is its own name). */
export function nodeName(id: string): string {
  const i = id.lastIndexOf("~");
  return i < 0 ? id : id.slice(0, i);
}

/** Whether incarnation a is b or older: (length, text) order. */
function atMost(a: string, b: string): boolean {
  return a.length !== b.length ? a.length < b.length : a <= b;
}

export class FinalIncarnations {
  /** node name -> the newest of its incarnations known final (every older one is too). */
  private readonly marks = new Map<string, string>();
  private copy?: ReadonlyMap<string, string>;

  /** Whether incarnation `id` is final: at or below its name's watermark. */
  covers(id: string): boolean {
    const mark = this.marks.get(nodeName(id));
    return mark !== undefined && atMost(incarnationOf(id), mark);
  }

  /** `id` is final: raises its name's watermark; whether it rose. */
  raise(id: string): boolean {
    if (this.covers(id)) return false;
    this.marks.set(nodeName(id), incarnationOf(id));
    this.copy = undefined;
    return true;
  }

  /** Whether node name `name` has a watermark. */
  named(name: string): boolean { return this.marks.has(name); }

  /** Node names with a watermark. */
  get size(): number { return this.marks.size; }

  /** The watermarks as ids (`<name>~<incarnation>`, or the name for an id without one). */
  *ids(): IterableIterator<string> {
    for (const [name, inc] of this.marks) yield inc === "" ? name : `${name}~${inc}`;
  }

  /** The watermarks as they stand now (shared between calls while they do not move). */
  snapshot(): ReadonlyMap<string, string> {
    return this.copy ??= new Map(this.marks);
  }

  /** Whether `id` was final by a snapshot's watermarks. */
  static coveredBy(marks: ReadonlyMap<string, string>, id: string): boolean {
    const mark = marks.get(nodeName(id));
    return mark !== undefined && atMost(incarnationOf(id), mark);
  }
}
