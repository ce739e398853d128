// fengari's table traversal (ltable.luaH_next: next, pairs, lua_next) in Lua 5.1's order
// (src/scripting/lua51-order.ts) instead of insertion order, and #t (luaH_getn) finding the
// border 5.1 finds in a table with holes. Installed by fengari.ts.
//
// - luaH_new records the sizes a table constructor asks for (OP_NEWTABLE's B and C, which
//   fengari ignores): Lua 5.1 starts such a table with those sizes, which places its keys.
// - Each table that is traversed or has a key deleted gets a model of its 5.1 layout. Keys
//   inserted since the model last looked are placed, in insertion order, when a traversal
//   starts and before each deletion, so the model sees inserts and deletions in the order
//   they happened. t[k] = nil deletes in the model too (and, as 5.1 does, gives a node to a
//   key that was not there).
// - A traversal's first call (next(t, nil)) computes the order of the live keys and keeps it
//   with the table's shape (first and last entries, size); later calls continue from the
//   key returned last. A key assigned nil during the traversal is skipped, as in 5.1
//   (assigning a new key during a traversal is undefined in Lua; such a key is not visited).
// Tables with light userdata keys (none that a script can make) keep fengari's order.
import { fb2int, Lua51Table, type Key51 } from "./lua51-order.js";

/* eslint-disable @typescript-eslint/no-explicit-any */

/** fengari's table entry (ltable.js add()): its doubly linked list is insertion order. */
interface Entry { key: any; value: any; p: Entry | undefined; n: Entry | undefined }

/** A table's Lua 5.1 layout model, and the traversal order last computed from it. */
interface State {
  model: Lua51Table;
  /** The fengari entry of each model key (none for a key that was only ever deleted). */
  entries: (Entry | undefined)[];
  /** The last entry placed in the model: the entries after it were inserted since. */
  synced: Entry | undefined;
  /** Made at the first deletion: entry to model key, and a key's fengari hash to its latest model key. */
  ids: Map<Entry, number> | null;
  byHash: Map<any, number> | null;
  /** The table's shape when `order` was computed (size -1: compute it again). */
  first: Entry | undefined;
  last: Entry | undefined;
  size: number;
  order: Entry[];
  /** Where the last traversal step was in `order`; `pos` is made when a step does not follow it. */
  cursor: number;
  pos: Map<Entry, number> | null;
}

export function installLua51TableOrder(mods: { ltable: any; lstring: any; lstate: any; lopcodes: any; defs: any }): void {
  const { ltable, lstring, lstate, lopcodes, defs } = mods;
  const T = defs.constant_types;
  const OP_NEWTABLE = lopcodes.OpCodesI.OP_NEWTABLE;
  const CIST_LUA = lstate.CIST_LUA;

  const newTable = ltable.luaH_new;
  ltable.luaH_new = (L: any) => {
    const t = newTable(L);
    // Every table gets the same added fields, in the same order, when it is made: one object
    // shape for all of fengari's tables (fields added later would give tables several shapes
    // and slow every table access down).
    t.na51 = 0;
    t.nh51 = 0;
    t.order51 = undefined;
    t.seq51 = undefined;
    const ci = L.ci;
    if (ci && (ci.callstatus & CIST_LUA) && ci.l_savedpc > 0) {
      const i = ci.l_code[ci.l_savedpc - 1];
      if (i && i.opcode === OP_NEWTABLE) {
        t.na51 = fb2int(i.B);
        t.nh51 = fb2int(i.C);
      }
    }
    return t;
  };

  // Keys hashed by address in Lua (tables, functions, userdata, threads): a stable number each.
  const ids = new WeakMap<object, number>();
  let nextId = 1;
  const idOf = (o: object): number => {
    let id = ids.get(o);
    if (id === undefined) ids.set(o, (id = nextId++));
    return id;
  };

  /** The key as Lua 5.1 hashes it; null for light userdata. */
  const key51 = (k: any): Key51 | null => {
    switch (k.type) {
      case T.LUA_TNUMFLT:
      case T.LUA_TNUMINT:
        return { kind: "number", n: k.value };
      case T.LUA_TSHRSTR:
      case T.LUA_TLNGSTR:
        return { kind: "string", bytes: k.tsvalue().realstring };
      case T.LUA_TBOOLEAN:
        return { kind: "boolean", b: k.value };
      case T.LUA_TLIGHTUSERDATA:
        return null;
      default:
        return { kind: "other", id: idOf(k.value) };
    }
  };

  /** fengari's table_hash (not exported) of a key key51 accepts. */
  const hashOf = (k: any): any =>
    k.type === T.LUA_TSHRSTR || k.type === T.LUA_TLNGSTR ? lstring.luaS_hashlongstr(k.tsvalue()) : k.value;

  /** The deletion indexes, made once. */
  const indexed = (st: State): { ids: Map<Entry, number>; byHash: Map<any, number> } => {
    if (st.ids === null || st.byHash === null) {
      st.ids = new Map();
      st.byHash = new Map();
      st.entries.forEach((e, id) => {
        if (e === undefined) return;
        st.ids!.set(e, id);
        st.byHash!.set(hashOf(e.key), id);
      });
    }
    return { ids: st.ids, byHash: st.byHash };
  };

  /**
   * t's model with every key inserted since the last call placed, in insertion order; null
   * when t has a key the model cannot place (t then keeps fengari's order for good).
   */
  const modelOf = (t: any): State | null => {
    let st: State | null | undefined = t.order51;
    if (st === null) return null;
    if (st === undefined) {
      st = { model: new Lua51Table(t.na51, t.nh51), entries: [], synced: undefined, ids: null, byHash: null,
        first: undefined, last: undefined, size: -1, order: [], cursor: -1, pos: null };
      t.order51 = st;
    }
    const { model, entries } = st;
    for (let e: Entry | undefined = st.synced ? st.synced.n : t.f; e; e = e.n) {
      st.synced = e;
      if (st.byHash !== null) {
        const h = hashOf(e.key);
        const old = st.byHash.get(h);
        if (old !== undefined && !model.isAlive(old)) {
          // A deleted key set again: its node, if it still has one (lua51-order.ts revive).
          const was = entries[old];
          if (was) st.ids!.delete(was);
          model.revive(old);
          entries[old] = e;
          st.ids!.set(e, old);
          continue;
        }
      }
      const k = key51(e.key);
      if (k === null) return (t.order51 = null);
      const id = model.insert(k);
      entries[id] = e;
      if (st.ids !== null) {
        st.ids.set(e, id);
        st.byHash!.set(hashOf(e.key), id);
      }
    }
    return st;
  };

  /** The traversal order (computed again when the table's keys changed); null: fengari's order. */
  const computeOrder = (t: any): State | null => {
    // A table that went through many more keys than it holds starts a new model (its
    // deleted keys' nodes went in 5.1's rehashes long ago).
    if (t.order51 && t.order51.entries.length > 4 * t.strong.size + 64) t.order51 = undefined;
    const st = modelOf(t);
    if (st === null) return null;
    if (st.size === t.strong.size && st.first === t.f && st.last === t.l) return st;
    st.order = st.model.order().map((id) => st.entries[id]!);
    st.pos = null;
    st.first = t.f;
    st.last = t.l;
    st.size = t.strong.size;
    return st;
  };

  /**
   * t[key] = nil through `set` (luaH_setfrom or luaH_setint): the model deletes the key too.
   * Lua 5.1 makes a node even for a key that was not there (luaV_settable's luaH_set), left
   * with a nil value: it may take a slot, or cause a rehash, as a real key would.
   */
  const deleting = (t: any, key: any, h: any, set: () => void): void => {
    const e: Entry | undefined = t.strong.get(h);
    const st = modelOf(t);
    const prev = e?.p;
    set(); // may raise (a readonly table): the model changes only once the key is gone
    if (!st) return;
    const { ids, byHash } = indexed(st);
    st.size = -1; // the order is computed again at the next traversal
    if (e === undefined) {
      const old = byHash.get(h);
      if (old !== undefined && st.model.hasNode(old)) return; // a deleted key whose node is still there
      const k = key51(key);
      if (k === null) return;
      const id = st.model.insert(k);
      st.model.remove(id);
      st.entries[id] = undefined;
      byHash.set(h, id);
      return;
    }
    if (e.value !== undefined) return;
    if (st.synced === e) st.synced = prev;
    const id = ids.get(e);
    if (id !== undefined) st.model.remove(id);
  };

  const setfrom = ltable.luaH_setfrom;
  ltable.luaH_setfrom = (L: any, t: any, key: any, value: any) => {
    if (!value.ttisnil() || key.ttisnil() || key.type === T.LUA_TLIGHTUSERDATA || (key.type === T.LUA_TNUMFLT && isNaN(key.value))) return setfrom(L, t, key, value);
    deleting(t, key, hashOf(key), () => setfrom(L, t, key, value));
  };
  const setint = ltable.luaH_setint;
  ltable.luaH_setint = (t: any, key: number, value: any) => {
    if (!value.ttisnil()) return setint(t, key, value);
    deleting(t, { type: T.LUA_TNUMFLT, value: key }, key, () => setint(t, key, value));
  };

  // #t. With no hole (the keys are exactly 1..n) there is one border, n, found without a
  // model; that is checked once and then kept through appends and pops at the end (the
  // t[#t + 1] = v pattern stays O(1)). Otherwise the border 5.1 returns depends on the
  // table's layout (an array part ending in nil is searched there): the model finds it.
  const isSequence = (t: any, n: number): boolean => {
    const s = t.seq51 as { size: number; last: Entry | undefined; prev: Entry | undefined } | undefined;
    const last: Entry | undefined = t.l;
    let ok = false;
    if (s !== undefined && s.size === n && s.last === last) return true;
    if (s !== undefined && n === s.size + 1 && last !== undefined && last.p === s.last && last.key.value === n &&
      (last.key.type === T.LUA_TNUMFLT || last.key.type === T.LUA_TNUMINT)) ok = true; // t[n] appended
    else if (s !== undefined && n === s.size - 1 && last === s.prev) ok = true; // the last key removed
    else {
      ok = true;
      for (let e: Entry | undefined = t.f; e; e = e.n) {
        const k = e.key;
        if ((k.type !== T.LUA_TNUMFLT && k.type !== T.LUA_TNUMINT) || !Number.isInteger(k.value) || k.value < 1 || k.value > n) {
          ok = false;
          break;
        }
      }
    }
    if (!ok) t.seq51 = undefined;
    else if (s !== undefined) { s.size = n; s.last = last; s.prev = last?.p; }
    else t.seq51 = { size: n, last, prev: last?.p };
    return ok;
  };
  const quickGetn = ltable.luaH_getn;
  ltable.luaH_getn = (t: any): number => {
    const n = t.strong.size;
    if (t.order51 === undefined && isSequence(t, n)) return n;
    const st = modelOf(t);
    if (st === null) return quickGetn(t);
    return st.model.getn((i) => !ltable.luaH_getint(t, i).ttisnil());
  };

  const insertionNext = ltable.luaH_next;
  ltable.luaH_next = (L: any, t: any, keyI: number): boolean => {
    const keyO = L.stack[keyI];
    let st: State | null | undefined;
    let from: number;
    if (keyO.type === T.LUA_TNIL) {
      st = computeOrder(t);
      if (st === null) return insertionNext(L, t, keyI);
      from = 0;
    } else {
      if (keyO.type === T.LUA_TLIGHTUSERDATA) return insertionNext(L, t, keyI);
      st = t.order51;
      const c = st ? st.cursor : -1;
      const at = st && c >= 0 && c < st.order.length ? st.order[c].key : undefined;
      if (at !== undefined && at.type === keyO.type && at.value === keyO.value) {
        from = c + 1; // the usual step: the key the last call returned
      } else {
        if (!st && (st = computeOrder(t)) === null) return insertionNext(L, t, keyI);
        const h = hashOf(keyO);
        const e: Entry | undefined = t.strong.get(h) ?? t.dead_weak?.get(h) ?? t.dead_strong.get(h);
        if (e === undefined) return insertionNext(L, t, keyI); // raises "invalid key to 'next'"
        const position = (s: State) => {
          if (s.pos === null) {
            s.pos = new Map();
            s.order.forEach((x, i) => s.pos!.set(x, i));
          }
          return s.pos.get(e);
        };
        let i = position(st!);
        if (i === undefined) {
          // A key added since the order was computed: a new order (the traversal's rest is undefined in Lua).
          st = computeOrder(t);
          i = st === null ? undefined : position(st);
          if (i === undefined) return insertionNext(L, t, keyI);
        }
        from = i + 1;
      }
    }
    const order = st!.order;
    for (let i = from; i < order.length; i++) {
      const e = order[i];
      if (e.value === undefined) continue; // assigned nil since: a dead key, skipped as in 5.1
      st!.cursor = i;
      L.stack[keyI].setfrom(e.key);
      L.stack[keyI + 1].setfrom(e.value);
      return true;
    }
    st!.cursor = -1;
    return false;
  };
}
