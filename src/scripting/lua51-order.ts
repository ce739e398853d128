// The order Lua 5.1 walks a table in (next, pairs, cjson.encode, cmsgpack.pack), computed
// for fengari's tables.
//
// fengari keeps a table's entries in one JS Map and walks them in insertion order. Redis's
// Lua 5.1 walks its array part (keys 1..sizearray) and then its hash part's nodes in node
// order, where a key's node follows from its hash, the collisions before it and the rehashes
// the table went through: `cjson.encode({k = 1, n = 2, a = 3})` is {"a":3,"k":1,"n":2} in
// Redis. A script's reply built from pairs() shows that order to the client.
//
// So, when a traversal starts, the table's live keys are inserted, in the order they were
// first inserted, into a model of Lua 5.1.5's ltable.c (luaH_new's initial sizes from the
// table constructor, mainposition's hashes, newkey's collision moves and free-slot search,
// rehash's computesizes and its reinsertion order), and the model's traversal order is the
// table's. For a table whose keys were only added (the usual case) that is Lua 5.1's own
// order. Not modelled: a deleted key's dead node, which 5.1 keeps until the next rehash and
// which may steer where later keys go; and keys hashed by address (tables, functions,
// userdata), whose order in Redis depends on its allocator: here they take creation order.

/** A key as Lua 5.1 hashes it. */
export type Key51 =
  | { kind: "number"; n: number }
  | { kind: "string"; bytes: Uint8Array }
  | { kind: "boolean"; b: boolean }
  | { kind: "other"; id: number };

const MAXBITS = 26;
const MAXASIZE = 1 << MAXBITS;

/** luaO_fb2int: a constructor's "floating point byte" size. */
export function fb2int(x: number): number {
  const e = (x >> 3) & 0x1f;
  return e === 0 ? x : ((x & 7) + 8) * 2 ** (e - 1);
}

/** ceil(log2(x)) for x >= 1 (luaO_log2(x - 1) + 1). */
function ceillog2(x: number): number {
  let l = 0;
  x--;
  while (x >= 1) { l++; x = Math.floor(x / 2); }
  return l;
}

/**
 * The hash of a string's bytes, as Redis's Lua 5.1 (deps/lua/src/lstring.c) computes it:
 * seeded with the length, over every byte (Redis hashes all of them where stock 5.1 samples
 * long strings with a step).
 */
export function stringHash(s: Uint8Array): number {
  const l = s.length;
  let h = l >>> 0;
  for (let l1 = l; l1 >= 1; l1--) h = (h ^ (((h << 5) >>> 0) + (h >>> 2) + s[l1 - 1])) >>> 0;
  return h;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** hashnum's sum of the double's two 32-bit words. */
function numberHash(n: number): number {
  f64[0] = n;
  return (u32[0] + u32[1]) >>> 0;
}

/** The integer key k (1 <= k <= MAXASIZE) a number key is, or 0. */
function arrayIndex(k: Key51): number {
  if (k.kind !== "number") return 0;
  const n = k.n;
  return Number.isInteger(n) && n >= 1 && n <= MAXASIZE ? n : 0;
}

/**
 * A model of one Lua 5.1 table's layout (ltable.c): which array slot or hash node each key
 * occupies, through inserts, deletions and rehashes. Keys are numbered in the order they are
 * inserted; only where they sit is modelled, not their values.
 */
export class Lua51Table {
  private readonly keys: Key51[] = [];
  private readonly hash: number[] = [];
  /** A deleted key (its value set to nil) keeps its node until the next rehash, as in 5.1. */
  private readonly alive: boolean[] = [];
  /** The hash node holding each key, -1 when none (in the array part, or its node was taken or rehashed away). */
  private readonly nodeOf: number[] = [];
  private sizearray = 0;
  private array: number[] = []; // key per array slot, -1 when nil
  /** The hash part: each node's key (-1: free) and next node in its chain (-1: none); null: the dummy node. */
  private nodeKey: Int32Array | null = null;
  private nodeNext: Int32Array | null = null;
  private lastfree = 0;

  /** luaH_new(L, narray, nhash). */
  constructor(narray = 0, nhash = 0) {
    this.setarrayvector(narray);
    this.setnodevector(nhash);
  }

  /** Inserts a key not in the table; its number. */
  insert(k: Key51): number {
    const ki = this.keys.length;
    this.keys.push(k);
    this.hash.push(k.kind === "string" ? stringHash(k.bytes) : k.kind === "number" ? numberHash(k.n)
      : k.kind === "boolean" ? (k.b ? 1 : 0) : k.id >>> 0);
    this.alive.push(true);
    this.nodeOf.push(-1);
    this.set(ki);
    return ki;
  }

  /** t[k] = nil for key number ki. */
  remove(ki: number): void {
    this.alive[ki] = false;
    const ai = arrayIndex(this.keys[ki]);
    if (ai >= 1 && ai <= this.sizearray && this.array[ai - 1] === ki) this.array[ai - 1] = -1;
  }

  /**
   * A deleted key set again: before a garbage collection marks its node dead, Lua 5.1 finds
   * the key still there and reuses the node (or array slot).
   */
  revive(ki: number): void {
    const ai = arrayIndex(this.keys[ki]);
    if (ai >= 1 && ai <= this.sizearray) {
      this.alive[ki] = true;
      this.array[ai - 1] = ki;
      return;
    }
    if (this.hasNode(ki)) {
      this.alive[ki] = true;
      return;
    }
    // Its node went in a rehash: a new insertion of the same key.
    this.alive[ki] = true;
    this.set(ki);
  }

  isAlive(ki: number): boolean { return this.alive[ki]; }

  /** Whether key ki still has its hash node (a deleted key's stays until a rehash or another key takes it). */
  hasNode(ki: number): boolean {
    return this.nodeOf[ki] >= 0;
  }

  /** lua_next's order: the array part's keys, then the hash part's, by node. */
  order(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.sizearray; i++) if (this.array[i] >= 0) out.push(this.array[i]);
    const nk = this.nodeKey;
    if (nk !== null) for (let i = 0; i < nk.length; i++) if (nk[i] >= 0 && this.alive[nk[i]]) out.push(nk[i]);
    return out;
  }

  /**
   * luaH_getn: the border `#t` returns, found as 5.1 finds it (a binary search in the array
   * part when its last slot is nil, else a search over the hash part from sizearray), with
   * `present(n)` telling whether t[n] is not nil.
   */
  getn(present: (n: number) => boolean): number {
    let j = this.sizearray;
    if (j > 0 && this.array[j - 1] < 0) {
      let i = 0;
      while (j - i > 1) {
        const m = Math.floor((i + j) / 2);
        if (this.array[m - 1] < 0) j = m;
        else i = m;
      }
      return i;
    }
    if (this.nodeKey === null) return j;
    // unbound_search
    let i = j;
    j++;
    while (present(j)) {
      i = j;
      j *= 2;
      if (j > 0x7fffffff) {
        i = 1;
        while (present(i)) i++;
        return i - 1;
      }
    }
    while (j - i > 1) {
      const m = Math.floor((i + j) / 2);
      if (!present(m)) j = m;
      else i = m;
    }
    return i;
  }

  private mainposition(ki: number): number {
    const nk = this.nodeKey;
    if (nk === null) return 0;
    const k = this.keys[ki];
    const size = nk.length;
    switch (k.kind) {
      case "number":
        if (k.n === 0) return 0;
        return this.hash[ki] % ((size - 1) | 1);
      case "string":
      case "boolean":
        return this.hash[ki] & (size - 1);
      default:
        return this.hash[ki] % ((size - 1) | 1);
    }
  }

  private setnodevector(size: number): void {
    if (size === 0) {
      this.nodeKey = this.nodeNext = null;
      this.lastfree = 0;
    } else {
      const n = 2 ** ceillog2(size);
      this.nodeKey = new Int32Array(n).fill(-1);
      this.nodeNext = new Int32Array(n).fill(-1);
      this.lastfree = n;
    }
  }

  private setarrayvector(size: number): void {
    for (let i = this.sizearray; i < size; i++) this.array[i] = -1;
    this.sizearray = size;
  }

  private getfreepos(): number {
    const nk = this.nodeKey;
    if (nk === null) return -1;
    while (this.lastfree-- > 0) if (nk[this.lastfree] < 0) return this.lastfree;
    return -1;
  }

  /** luaH_set for a key not in the table. */
  private set(ki: number): void {
    const ai = arrayIndex(this.keys[ki]);
    if (ai >= 1 && ai <= this.sizearray) {
      this.array[ai - 1] = ki;
      return;
    }
    this.newkey(ki);
  }

  private newkey(ki: number): void {
    let mp = this.mainposition(ki);
    // A node whose value is nil (free, or a deleted key's) is taken as it is.
    if (this.nodeKey === null || (this.nodeKey[mp] >= 0 && this.alive[this.nodeKey[mp]])) {
      const n = this.getfreepos();
      if (n < 0) {
        this.rehash(ki);
        this.set(ki);
        return;
      }
      const key = this.nodeKey!;
      const next = this.nodeNext!;
      let other = this.mainposition(key[mp]);
      if (other !== mp) {
        // The colliding node is out of its main position: move it to the free slot.
        while (next[other] !== mp) other = next[other];
        next[other] = n;
        key[n] = key[mp];
        this.nodeOf[key[n]] = n;
        next[n] = next[mp];
        next[mp] = -1;
        key[mp] = -1;
      } else {
        // The colliding node is in its main position: the new key goes to the free slot.
        next[n] = next[mp];
        next[mp] = n;
        mp = n;
      }
    }
    const taken = this.nodeKey![mp];
    if (taken >= 0) this.nodeOf[taken] = -1; // a deleted key's node, taken over
    this.nodeKey![mp] = ki;
    this.nodeOf[ki] = mp;
  }

  private countint(ki: number, nums: number[]): number {
    const k = arrayIndex(this.keys[ki]);
    if (k === 0) return 0;
    nums[ceillog2(k)]++;
    return 1;
  }

  private rehash(extra: number): void {
    const nums = new Array<number>(MAXBITS + 1).fill(0);
    // numusearray: array slots in use, counted per slice (2^(lg-1), 2^lg].
    let nasize = 0;
    for (let lg = 0, ttlg = 1, i = 1; lg <= MAXBITS; lg++, ttlg *= 2) {
      let lim = ttlg;
      if (lim > this.sizearray) {
        lim = this.sizearray;
        if (i > lim) break;
      }
      let lc = 0;
      for (; i <= lim; i++) if (this.array[i - 1] >= 0) lc++;
      nums[lg] += lc;
      nasize += lc;
    }
    let totaluse = nasize;
    // numusehash: nodes whose value is not nil
    const nk = this.nodeKey;
    if (nk !== null) {
      for (let i = nk.length - 1; i >= 0; i--) {
        const ki = nk[i];
        if (ki < 0 || !this.alive[ki]) continue;
        nasize += this.countint(ki, nums);
        totaluse++;
      }
    }
    nasize += this.countint(extra, nums);
    totaluse++;
    // computesizes
    let a = 0, na = 0, n = 0;
    for (let i = 0, twotoi = 1; twotoi / 2 < nasize; i++, twotoi *= 2) {
      if (nums[i] > 0) {
        a += nums[i];
        if (a > twotoi / 2) { n = twotoi; na = a; }
      }
      if (a === nasize) break;
    }
    this.resize(n, totaluse - na);
  }

  private resize(nasize: number, nhsize: number): void {
    const oldasize = this.sizearray;
    const nold = this.nodeKey;
    if (nold !== null) for (let i = 0; i < nold.length; i++) if (nold[i] >= 0) this.nodeOf[nold[i]] = -1;
    if (nasize > oldasize) this.setarrayvector(nasize);
    this.setnodevector(nhsize);
    if (nasize < oldasize) {
      this.sizearray = nasize;
      const vanishing = this.array.slice(nasize, oldasize);
      this.array.length = nasize;
      for (const ki of vanishing) if (ki >= 0) this.set(ki);
    }
    // Re-inserted from the last node down; deleted keys are dropped.
    if (nold !== null) for (let i = nold.length - 1; i >= 0; i--) if (nold[i] >= 0 && this.alive[nold[i]]) this.set(nold[i]);
  }
}

/**
 * Lua 5.1's traversal order of a table created with `narray`/`nhash` slots (its constructor's
 * sizes; 0/0 for lua_newtable) into which `keys` were inserted in this order: indexes into keys.
 */
export function lua51Order(keys: readonly Key51[], narray: number, nhash: number): number[] {
  const t = new Lua51Table(narray, nhash);
  for (const k of keys) t.insert(k);
  return t.order();
}
