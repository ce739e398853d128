// Renders a failing fragment as a timeline a person can read: one row per op, a bar from
// invocation to completion. The horizontal axis is the *order* of events, not their
// durations (only the order of calls and returns decides linearizability, and microsecond
// gaps would vanish on a linear scale). Ops that never completed run off the right edge.
import type { Operation } from "./history.js";
import type { PartitionResult } from "./linearizability.js";
import type { Model } from "./models.js";

interface Layout<I, O> {
  ops: Operation<I, O>[];
  col: (t: number) => number;
  width: number;
  order: Map<Operation<I, O>, number>;
}

/** Most ops a timeline draws; a longer fragment shows where the search got stuck. */
const SHOWN = 24;

/**
 * The ops to draw. A fragment can stay long when the model lets few ops go (every increment
 * shifts the counter), so past SHOWN ops the drawing keeps the end of the longest legal
 * order and everything it could not place, which is where the anomaly is.
 */
function shown<S, I, O>(p: PartitionResult<S, I, O>): { ops: Operation<I, O>[]; elided: number } {
  const all = [...(p.fragment ?? [])].sort((a, b) => a.call - b.call || a.client - b.client);
  if (all.length <= SHOWN) return { ops: all, elided: 0 };
  const partial = p.partial ?? [];
  const placed = new Set(partial);
  const keep = new Set([...partial.slice(-8), ...all.filter((o) => !placed.has(o)).slice(0, SHOWN - 8)]);
  const from = Math.min(...[...keep].map((o) => o.call));
  const ops = all.filter((o) => keep.has(o) || (o.call >= from && keep.size < SHOWN && keep.add(o)));
  return { ops, elided: all.length - ops.length };
}

function layout<S, I, O>(p: PartitionResult<S, I, O>, cell: number): Layout<I, O> & { elided: number } {
  const { ops, elided } = shown(p);
  const times = [...new Set(ops.flatMap((o) => (o.ret === undefined ? [o.call] : [o.call, o.ret])))].sort((a, b) => a - b);
  const rank = new Map(times.map((t, i) => [t, i]));
  const width = (times.length + 1) * cell;
  const order = new Map((p.partial ?? []).map((op, i) => [op, i + 1]));
  return { ops, col: (t) => rank.get(t)! * cell, width, order, elided };
}

const us = (t: number | undefined) => (t === undefined ? "∞" : `${(t / 1000).toFixed(3)}ms`);

/** A plain-text timeline of one failing key, with the search's best partial answer. */
export function renderText<S, I, O>(model: Model<S, I, O>, p: PartitionResult<S, I, O>): string {
  const L = layout(p, 3);
  const lines: string[] = [];
  lines.push(`key ${JSON.stringify(p.key)} (${model.name}): NOT linearizable — ${(p.fragment ?? []).length}-op fragment of ${p.ops} ops`);
  if (L.elided) lines.push(`  (${L.elided} earlier ops of the fragment not drawn; numbers in [] are positions in the legal order)`);
  const label = Math.max(...L.ops.map((o) => `c${o.client}`.length), 2);
  for (const op of L.ops) {
    const a = L.col(op.call);
    const b = op.ret === undefined ? L.width : L.col(op.ret);
    const bar = " ".repeat(a) + "[" + "=".repeat(Math.max(0, b - a - 1)) + (op.ret === undefined ? ">" : "]");
    const n = L.order.get(op);
    lines.push(
      `  ${`c${op.client}`.padEnd(label)} |${bar.padEnd(L.width + 1)}| #${op.id} ${model.describeOp(op.input, op.ret === undefined ? undefined : op.output)}` +
        `  (${us(op.call)}–${us(op.ret)})${n ? `  [linearized ${n}]` : ""}${op.note ? `  ${op.note}` : ""}`,
    );
  }
  lines.push(explain(model, p));
  return lines.join("\n");
}

function explain<S, I, O>(model: Model<S, I, O>, p: PartitionResult<S, I, O>): string {
  const partial = p.partial ?? [];
  const placed = new Set(partial);
  const stuck = (p.fragment ?? []).filter((o) => !placed.has(o));
  const seq = !partial.length
    ? "(nothing)"
    : partial.length > 8
      ? `${partial.length - 8} ops … → ${partial.slice(-8).map((o) => `#${o.id}`).join(" → ")}`
      : partial.map((o) => `#${o.id}`).join(" → ");
  return (
    `  longest legal order found: ${seq}, leaving the value ${model.describeState(p.stateAfterPartial ?? model.init())};\n` +
    `  from there none of ${stuck.slice(0, 12).map((o) => `#${o.id}`).join(", ")}${stuck.length > 12 ? ` (+${stuck.length - 12})` : ""} can come next before another op's deadline passes.`
  );
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** A self-contained HTML page showing every failing key (open it in a browser). */
export function renderHtml<S, I, O>(model: Model<S, I, O>, failing: PartitionResult<S, I, O>[], title: string): string {
  const sections = failing.map((p) => {
    const L = layout(p, 1);
    const clients = [...new Set(L.ops.map((o) => o.client))].sort((a, b) => a - b);
    const rowOf = new Map(clients.map((c, i) => [c, i]));
    const pct = (c: number) => (100 * c) / L.width;
    const bars = L.ops
      .map((op) => {
        const a = pct(L.col(op.call));
        const b = op.ret === undefined ? 100 : pct(L.col(op.ret));
        const f = (op.input as { f?: string }).f ?? "op";
        const n = L.order.get(op);
        const text = `#${op.id} ${model.describeOp(op.input, op.ret === undefined ? undefined : op.output)}`;
        const tip = `${text}\nclient c${op.client}\ncall ${us(op.call)}, return ${us(op.ret)}${op.note ? `\n${op.note}` : ""}${n ? `\nlinearized ${n}` : "\nnot placed"}`;
        return `<div class="op ${esc(f)}${op.ret === undefined ? " open" : ""}${n ? "" : " stuck"}" style="left:${a}%;width:${Math.max(b - a, 1)}%;top:${rowOf.get(op.client)! * 34 + 4}px" title="${esc(tip)}">${n ? `<b>${n}</b> ` : ""}${esc(text)}</div>`;
      })
      .join("\n");
    const labels = clients.map((c, i) => `<div class="client" style="top:${i * 34 + 10}px">c${c}</div>`).join("");
    return `<section><h2>key ${esc(JSON.stringify(p.key))} — ${(p.fragment ?? []).length}-op fragment of ${p.ops} ops${L.elided ? ` (${L.elided} earlier not drawn)` : ""}</h2>
<div class="lane" style="height:${clients.length * 34 + 8}px">${labels}<div class="track">${bars}</div></div>
<pre>${esc(renderText(model, p))}</pre></section>`;
  });
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title><style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}
.lane{position:relative;border:1px solid #ccc;background:#fafafa;margin:8px 0}
.client{position:absolute;left:6px;width:40px;font-weight:bold;color:#555}
.track{position:absolute;left:50px;right:10px;top:0;bottom:0}
.op{position:absolute;height:26px;line-height:26px;border-radius:4px;padding:0 4px;white-space:nowrap;overflow:hidden;font:12px monospace;box-sizing:border-box;border:1px solid #0003}
.op:hover{overflow:visible;z-index:2}
.read{background:#cfe3ff}.write{background:#c9f2c7}.cas{background:#ffe1b3}.incr{background:#e6d4ff}
.open{background-image:repeating-linear-gradient(45deg,#0000 0 6px,#0001 6px 12px);border-right:3px dashed #999}
.stuck{outline:2px solid #d33}
pre{background:#f4f4f4;padding:8px;overflow:auto}
</style></head><body><h1>${esc(title)}</h1>
<p>Each bar runs from an operation's invocation to its completion (event order, not to scale); hatched bars never completed.
Bold numbers give the longest legal order the checker found; red outlines mark operations it could not place.</p>
${sections.join("\n")}
</body></html>`;
}
