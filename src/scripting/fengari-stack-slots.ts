// fengari empties a Lua stack slot with `delete L.stack[i]` (29 places: every pop, settop,
// call return, lua_xmove...). `delete` of an array element is never inlined by V8: each is a
// call into the runtime, ~40-80 ns here against ~1 ns for a store, and a script's every
// redis.call and table store pops slots (adjust_top alone was 6% of a BullMQ-like EVAL's
// server CPU). Storing `undefined` instead frees the slot's value for the GC the same way, and
// reads of the slot give `undefined` either way; fengari never asks whether a slot exists
// (no `in`, hasOwnProperty or iteration over a stack: its size is L.stack.length, set
// explicitly). So fengari's source is rewritten that way as it loads: Node's CommonJS compile
// step sees each of fengari's files and replaces the statement (29 in fengari 0.1.5;
// test/scripting/stack-slots.test.ts checks that none is left).
//
// One more statement of fengari's is rewritten the same way: ltable.js's add(), which inserts
// every new key into a Lua table (KEYS and ARGV per EVAL, each element of a table a script or
// a redis.call reply builds), empties the table's map of dead keys with `Map#clear()` first.
// V8 makes a new backing store for a Map on every clear(), empty or not: ~47 ns a call here
// against ~2 ns to look at its size. The map is empty unless a key was removed during a
// traversal, so the clear runs only then (test/scripting/stack-slots.test.ts counts the clears).
import { Module } from "node:module";

/** `delete <name>.stack[<index>]`: fengari's only use of `delete` on a Lua stack. */
const DELETE_SLOT = /\bdelete (\w+)\.stack\[([^\]]+)\]/g;

/** ltable.js add()'s `t.dead_strong.clear();` (its only Map#clear). */
const CLEAR_DEAD = /\b(\w+)\.dead_strong\.clear\(\);/g;

/**
 * From now until the returned function is called, fengari's files (under dir) compile with
 * stores of `undefined` for their slot deletes, and add() clears dead keys only when there are
 * some. Call it once fengari has loaded.
 */
export function rewriteSlotDeletes(dir: string): () => void {
  const proto = Module.prototype as unknown as { _compile(content: string, filename: string, ...rest: unknown[]): unknown };
  const compile = proto._compile;
  proto._compile = function (content: string, filename: string, ...rest: unknown[]) {
    if (filename.startsWith(dir)) {
      content = content.replace(DELETE_SLOT, "$1.stack[$2] = undefined");
      content = content.replace(CLEAR_DEAD, "if ($1.dead_strong.size !== 0) $1.dead_strong.clear();");
    }
    return compile.call(this, content, filename, ...rest);
  };
  return () => {
    proto._compile = compile;
  };
}
