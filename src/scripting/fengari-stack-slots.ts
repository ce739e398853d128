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
import { Module } from "node:module";

/** `delete <name>.stack[<index>]`: fengari's only use of `delete` on a Lua stack. */
const DELETE_SLOT = /\bdelete (\w+)\.stack\[([^\]]+)\]/g;

/**
 * From now until the returned function is called, fengari's files (under dir) compile with
 * stores of `undefined` for their slot deletes. Call it once fengari has loaded.
 */
export function rewriteSlotDeletes(dir: string): () => void {
  const proto = Module.prototype as unknown as { _compile(content: string, filename: string, ...rest: unknown[]): unknown };
  const compile = proto._compile;
  proto._compile = function (content: string, filename: string, ...rest: unknown[]) {
    if (filename.startsWith(dir)) {
      content = content.replace(DELETE_SLOT, "$1.stack[$2] = undefined");
    }
    return compile.call(this, content, filename, ...rest);
  };
  return () => {
    proto._compile = compile;
  };
}
