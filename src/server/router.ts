// Router: which shard runs a kernel command, and how a command that touches several shards
// is split and joined.
//
// Slots: a key's slot is CRC16 of the key (or of its {hash tag}) mod 16384, exactly as
// assembly/cluster/slot.ts computes it. Shard i of N owns slots [floor(i*16384/N),
// floor((i+1)*16384/N) - 1]; every shard holds all databases, so a key's shard does not
// depend on its database.
//
// With one shard nothing comes here from a client's input stream: the kernel runs every
// command it owns where it parsed it. With several, a client's input is parsed by one shard
// (its home shard, client id mod N, at first), which runs what it owns and hands the rest back.
// A command whose keys all live in one other shard usually never comes here: the client carries
// on parsing its read in that shard (src/server/input-placement.ts). What does come here:
//   - keys all in one shard (from a big command's input kept in a region of its own, or from
//     host code calling execute()): the request bytes are forwarded to that shard as they are;
//   - MGET, MSET, DEL, UNLINK, EXISTS, TOUCH: split by shard, replies joined in key order;
//   - any other command with keys in several shards (RENAME, RENAMENX, COPY, LCS, MSETNX...):
//     "gather": the keys that live elsewhere are moved into the shard of the command's last
//     key, the command runs there, and they are moved back. Everything is synchronous, so no
//     other command observes the intermediate state and the command stays atomic;
//   - keyspace-wide commands (DBSIZE, KEYS, SCAN, RANDOMKEY, FLUSHDB, FLUSHALL, SWAPDB) run
//     on every shard and their replies are joined.
//
// SCAN's cursor spans shards: cursor = shardIndex * 2^40 + the shard's own dict cursor (a
// shard's cursor is below its table size, far below 2^40). A shard's scan that returns 0
// continues with the next shard from 0; the final 0 comes after the last shard. So the
// guarantee of one dict's SCAN (every key present for the whole scan is returned at least
// once) holds shard by shard, hence for the whole keyspace.

import { encodeCommand, type Shard } from "./shard.js";
import { replyGoesToClient } from "./reply-limit.js";
import { handedBackArgv } from "./handed-argv.js";
import type { Client } from "./client.js";
import type { Server } from "./server.js";
import { keyPositions, type CommandSpec } from "../commands/table.js";
import { keysFromSpecs } from "../commands/command.js";
import { arrayItems, isError, integerOf, bulkOf, type Span } from "./resp-read.js";

export const CLUSTER_SLOTS = 16384;
const SCAN_SHARD_SHIFT = 2 ** 40;

// CRC16/XMODEM (polynomial 0x1021), as cluster.c's crc16.
const CRC16_TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  CRC16_TABLE[i] = crc;
}

export function crc16(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) ^ CRC16_TABLE[((crc >> 8) ^ buf[i]) & 0xff]) & 0xffff;
  return crc;
}

/** crc16 over a latin1 string's char codes (a key kept as a latin1 string: CRDT store keys). */
export function crc16Latin1(s: string, start = 0, end = s.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) ^ CRC16_TABLE[((crc >> 8) ^ s.charCodeAt(i)) & 0xff]) & 0xffff;
  return crc;
}

/** keySlot of a key held as a latin1 string, its chars [start, end). */
export function keySlotLatin1(key: string, start = 0, end = key.length): number {
  const s = key.indexOf("{", start);
  if (s >= 0 && s < end) {
    const e = key.indexOf("}", s + 1);
    if (e >= 0 && e < end && e > s + 1) return crc16Latin1(key, s + 1, e) & 0x3fff;
  }
  return crc16Latin1(key, start, end) & 0x3fff;
}

/** Redis Cluster's keyHashSlot: hash the first non-empty {tag} if there is one. */
export function keySlot(key: Uint8Array, start = 0, end = key.length): number {
  let s = start;
  while (s < end && key[s] !== 0x7b) s++;
  if (s < end) {
    let e = s + 1;
    while (e < end && key[e] !== 0x7d) e++;
    if (e < end && e > s + 1) return crc16(key, s + 1, e) & 0x3fff;
  }
  return crc16(key, start, end) & 0x3fff;
}

/** The slot range [low, high] of shard i of n. */
export function slotRange(i: number, n: number): [number, number] {
  return [Math.floor((i * CLUSTER_SLOTS) / n), Math.floor(((i + 1) * CLUSTER_SLOTS) / n) - 1];
}

type Joiner = (r: Router, client: Client, argv: Buffer[], spec: CommandSpec) => void;

export class Router {
  private readonly shardOfSlot = new Uint16Array(CLUSTER_SLOTS);
  /** Kernel calls made through callOn (split, gather and keyspace-wide parts). */
  private subCalls = 0;

  constructor(private readonly server: Server, readonly shards: Shard[]) {
    for (const s of shards) this.shardOfSlot.fill(s.index, s.slotLow, s.slotHigh + 1);
  }

  get sharded(): boolean { return this.shards.length > 1; }

  shardOf(key: Uint8Array, start = 0, end = key.length): Shard { return this.shards[this.shardOfSlot[keySlot(key, start, end)]]; }

  /** The shard whose kernel parses this client's input. */
  homeShard(client: Client): Shard { return this.shards[client.id % this.shards.length]; }

  /**
   * Runs a kernel command wherever its keys are and writes its reply to client.reply.
   * `raw`, when given, is the request as the client sent it (forwarded without re-encoding).
   */
  execute(client: Client, spec: CommandSpec, argv: Buffer[], raw?: Uint8Array): void {
    const now = this.server.now();
    for (const s of this.shards) s.useProtocol(client.resp);
    if (!this.sharded) {
      client.reply.raw(this.shards[0].callRaw(raw ?? encodeCommand(argv), client.db, now, replyGoesToClient(this.server, client)));
      return;
    }
    const keySpec = keySpecOf(spec, argv);
    const positions = keySpec.flags.has("movablekeys") ? movableKeyPositions(keySpec, argv) : keyPositions(keySpec, argv.length);
    const callsBefore = this.subCalls;
    try {
      this.placeOnShards(client, spec, keySpec, argv, positions, raw);
    } finally {
      // A split or keyspace-wide command ran once per shard in the kernels' counters, but
      // the client ran it once: INFO commandstats subtracts the difference.
      const extra = this.subCalls - callsBefore - 1;
      if (extra > 0) spec.fanOutCalls = (spec.fanOutCalls ?? 0) + extra;
    }
  }

  private placeOnShards(client: Client, spec: CommandSpec, keySpec: CommandSpec, argv: Buffer[],
                        positions: number[], raw?: Uint8Array): void {
    const now = this.server.now();
    if (positions.length === 0) {
      const join = KEYSPACE_WIDE[spec.name];
      if (join) join(this, client, argv, spec);
      else client.reply.raw(this.shards[0].call(argv, client.db, now));
      return;
    }
    const first = this.shardOf(argv[positions[0]]);
    let single = true;
    for (let i = 1; i < positions.length && single; i++) single = this.shardOf(argv[positions[i]]) === first;
    if (single) {
      client.reply.raw(first.callRaw(raw ?? encodeCommand(argv), client.db, now, replyGoesToClient(this.server, client)));
      return;
    }
    const split = SPLIT[keySpec.name];
    if (split) this.splitAtomically(split, client, argv, keySpec);
    else this.gather(client, argv, positions);
  }

  /**
   * A kernel command that the client's home shard handed back. When its keys are all in one
   * shard (the common case), its request bytes go there as they are, read straight from the
   * home shard's memory; otherwise its argv is materialized for execute().
   */
  routeHandedBack(client: Client, spec: CommandSpec, home: Shard): void {
    const k = home.kernel;
    const x = k.x;
    if (spec.subcommands.size === 0) {
      const positions = keyPositions(spec, x.argc());
      let target: Shard | null = null;
      for (const p of positions) {
        const ptr = k.argPtr(p);
        const s = this.shards[this.shardOfSlot[keySlot(k.mem, ptr, ptr + k.argLen(p))]];
        if (target === null) target = s;
        else if (s !== target) { target = null; break; }
      }
      if (target !== null) {
        // A view is enough for another instance's memory; the home shard itself may grow
        // its memory while running the command, so it gets a copy.
        const mem = k.mem;
        const raw = target === home ? mem.slice(x.commandStart(), x.consumedPos()) : mem.subarray(x.commandStart(), x.consumedPos());
        target.useProtocol(client.resp);
        client.reply.raw(target.callRaw(raw, client.db, this.server.now(), true));
        return;
      }
    }
    // Keys in several shards, or none (keyspace-wide): execute() splits argv and never sends
    // the request as it is; a subcommand's keys were not looked at here, so it gets the bytes.
    const raw = spec.subcommands.size === 0 ? undefined : k.mem.slice(x.commandStart(), x.consumedPos());
    this.execute(client, spec, handedBackArgv(k), raw);
  }

  /**
   * A command that both the kernel and a host handler run (ZADD, SADD... on one key, outside a
   * client's input stream: EXEC, Lua, a master's stream, AOF loading), run in the kernel of
   * its key's shard, so that small sets and zsets stay kernel values there too. False, having
   * done nothing, when the kernel declines it (the host handler then runs it). Returns the
   * reply it added to the client's (null: declined).
   */
  tryKernel(client: Client, argv: Buffer[], raw?: Uint8Array): Buffer | null {
    const shard = this.shardOf(argv[1]);
    shard.useProtocol(client.resp);
    const reply = shard.tryCallRaw(raw ?? encodeCommand(argv), client.db, this.server.now(), replyGoesToClient(this.server, client));
    if (reply !== null) client.reply.raw(reply);
    return reply;
  }

  /** Runs argv on one shard (routing already decided) and returns its reply. */
  callOn(shard: Shard, client: Client, argv: Uint8Array[]): Uint8Array {
    this.subCalls++;
    shard.useProtocol(client.resp);
    return shard.call(argv, client.db, this.server.now());
  }

  /**
   * Moves the command's keys that live in other shards into the shard of its last key,
   * runs it there, and moves them (whatever the command left of them) back to their owners.
   */
  gather(client: Client, argv: Buffer[], positions: number[]): void {
    // Its effects reach their consumers once every key is back with its owner (EffectBus.holding).
    this.server.effects.holding(() => this.gatherNow(client, argv, positions));
  }

  private gatherNow(client: Client, argv: Buffer[], positions: number[]): void {
    const target = this.shardOf(argv[positions[positions.length - 1]]);
    const db = client.db;
    const moved: { key: Buffer; owner: Shard }[] = [];
    const seen = new Set<string>();
    for (const p of positions) {
      const key = argv[p];
      const owner = this.shardOf(key);
      if (owner === target) continue;
      const id = key.toString("latin1");
      if (seen.has(id)) continue;
      seen.add(id);
      moved.push({ key, owner });
      const blob = owner.migrateOut(db, key, true);
      if (blob) target.migrateIn(db, key, blob);
    }
    try {
      client.reply.raw(this.callOn(target, client, argv));
    } finally {
      for (const { key, owner } of moved) {
        const blob = target.migrateOut(db, key, true);
        if (blob) owner.migrateIn(db, key, blob);
      }
    }
  }

  /**
   * Runs a command split per shard as one atomic group for the AOF and replicas: a DEL or
   * MSET of keys in two shards propagates as one command per shard, which a replica must apply
   * together (MULTI/EXEC), as it would Redis's single command.
   */
  private splitAtomically(split: Joiner, client: Client, argv: Buffer[], spec: CommandSpec): void {
    const effects = this.server.effects;
    if (!effects.listening) return split(this, client, argv, spec);
    effects.beginGroup();
    try {
      split(this, client, argv, spec);
    } finally {
      effects.endGroup();
    }
  }

  /**
   * groupByShard for a split write (DEL, UNLINK, MSET): while something consumes its effects
   * (keyspace events, AOF, replicas, WATCH), the keys go in runs of consecutive keys of one
   * shard, so the effects come in the command's key order, as Redis raises them ("del" of
   * each key in turn); otherwise one call per shard.
   */
  writeGroups(argv: Buffer[], positions: number[]): Iterable<[Shard, number[]]> {
    if (!this.server.effects.listening) return this.groupByShard(argv, positions);
    const runs: [Shard, number[]][] = [];
    for (const p of positions) {
      const s = this.shardOf(argv[p]);
      const last = runs[runs.length - 1];
      if (last && last[0] === s) last[1].push(p);
      else runs.push([s, [p]]);
    }
    return runs;
  }

  /** Groups key positions by shard, in first-seen order. */
  groupByShard(argv: Buffer[], positions: number[]): Map<Shard, number[]> {
    const groups = new Map<Shard, number[]>();
    for (const p of positions) {
      const s = this.shardOf(argv[p]);
      let g = groups.get(s);
      if (!g) groups.set(s, (g = []));
      g.push(p);
    }
    return groups;
  }

  /**
   * Runs argv on every shard, shard 0 first; stops at the first error reply. Each run but the
   * last publishes its effects as a part (Effect.fanOutPart): the command is one write, and
   * the consumers that write it once (replication, AOF) wait for the last run, after which
   * the whole keyspace is as the command left it.
   */
  onEveryShard(client: Client, argv: Buffer[]): Uint8Array[] {
    const out: Uint8Array[] = [];
    const effects = this.server.effects;
    try {
      for (let i = 0; i < this.shards.length; i++) {
        effects.fanOutPart = i < this.shards.length - 1;
        const r = this.callOn(this.shards[i], client, argv);
        out.push(r);
        if (isError(r)) break;
      }
    } finally {
      effects.fanOutPart = false;
    }
    return out;
  }
}

/**
 * Key positions of a command whose keys move with its arguments (LMPOP numkeys key...), from
 * its key specs as Redis's getKeysFromCommand finds them; none when the specs cannot be
 * resolved (a bad numkeys: the command itself replies the error, run on shard 0).
 */
function movableKeyPositions(spec: CommandSpec, argv: Buffer[]): number[] {
  return keysFromSpecs(spec, argv)?.map((k) => k.pos) ?? [];
}

/** The row whose key positions apply: a container command's subcommand (OBJECT ENCODING key). */
function keySpecOf(spec: CommandSpec, argv: Buffer[]): CommandSpec {
  if (spec.subcommands.size === 0 || argv.length < 2) return spec;
  return spec.subcommands.get(argv[1].toString("latin1").toLowerCase()) ?? spec;
}

// ---- split and join: multi-key commands -----------------------------------------------------

/** Sums the integer replies of a per-shard split (DEL, UNLINK, EXISTS, TOUCH). */
const sumCounts: Joiner = (r, client, argv, spec) => {
  const positions = keyPositions(spec, argv.length);
  const groups = spec.name === "del" || spec.name === "unlink" ? r.writeGroups(argv, positions) : r.groupByShard(argv, positions);
  let total = 0;
  for (const [shard, ps] of groups) {
    const reply = r.callOn(shard, client, [argv[0], ...ps.map((p) => argv[p])]);
    if (isError(reply)) return client.reply.raw(reply);
    total += integerOf(reply);
  }
  client.reply.integer(total);
};

const SPLIT: Record<string, Joiner> = {
  del: sumCounts,
  unlink: sumCounts,
  exists: sumCounts,
  touch: sumCounts,

  mget(r, client, argv, spec) {
    const groups = r.groupByShard(argv, keyPositions(spec, argv.length));
    // Each key's reply is a byte range of its shard's reply, copied once into the joined
    // reply (a view and a reply part per key were a fifth of a 10-key MGET's server CPU).
    const n = argv.length - 1;
    const from = new Array<Uint8Array>(n);
    const starts = new Int32Array(n);
    const ends = new Int32Array(n);
    let bytes = 0;
    for (const [shard, ps] of groups) {
      const sub = new Array<Buffer>(ps.length + 1);
      sub[0] = argv[0];
      for (let i = 0; i < ps.length; i++) sub[i + 1] = argv[ps[i]];
      const reply = r.callOn(shard, client, sub);
      const spans = arrayItems(reply);
      if (!spans) return client.reply.raw(reply);
      for (let i = 0; i < ps.length; i++) {
        const k = ps[i] - 1;
        from[k] = reply;
        starts[k] = spans[i].start;
        ends[k] = spans[i].end;
        bytes += spans[i].end - spans[i].start;
      }
    }
    const head = `*${n}\r\n`;
    const out = Buffer.allocUnsafe(head.length + bytes);
    let o = out.write(head, 0, "latin1");
    for (let k = 0; k < n; k++) {
      const b = from[k];
      const e = ends[k];
      if (e - starts[k] <= 64) for (let j = starts[k]; j < e; j++) out[o++] = b[j];
      else {
        out.set(b.subarray(starts[k], e), o);
        o += e - starts[k];
      }
    }
    client.reply.raw(out);
  },

  mset(r, client, argv, spec) {
    if ((argv.length - 1) % 2 !== 0) {
      return client.reply.error(`wrong number of arguments for '${spec.name}' command`);
    }
    const groups = r.writeGroups(argv, keyPositions(spec, argv.length));
    let last: Uint8Array | null = null;
    for (const [shard, ps] of groups) {
      const sub: Buffer[] = [argv[0]];
      for (const p of ps) sub.push(argv[p], argv[p + 1]);
      last = r.callOn(shard, client, sub);
      if (isError(last)) break;
    }
    client.reply.raw(last!);
  },
};

// ---- keyspace-wide commands ---------------------------------------------------------------

/** Replies with the first error of a run on every shard, else with shard 0's reply. */
const everyShard: Joiner = (r, client, argv) => {
  const replies = r.onEveryShard(client, argv);
  const last = replies[replies.length - 1];
  client.reply.raw(isError(last) ? last : replies[0]);
};

const KEYSPACE_WIDE: Record<string, Joiner> = {
  flushdb: everyShard,
  flushall: everyShard,
  swapdb: everyShard,

  dbsize(r, client, argv) {
    let total = 0;
    for (const s of r.shards) {
      const reply = r.callOn(s, client, argv);
      if (isError(reply)) return client.reply.raw(reply);
      total += integerOf(reply);
    }
    client.reply.integer(total);
  },

  keys(r, client, argv) {
    const parts: Uint8Array[] = [];
    for (const s of r.shards) {
      const reply = r.callOn(s, client, argv);
      const spans = arrayItems(reply);
      if (!spans) return client.reply.raw(reply);
      for (const sp of spans) parts.push(reply.subarray(sp.start, sp.end));
    }
    client.reply.arrayLen(parts.length);
    for (const p of parts) client.reply.raw(p);
  },

  randomkey(r, client, argv) {
    // Pick a shard with probability proportional to its size, then fall back to the others.
    const sizes = r.shards.map((s) => s.kernel.x.dbSize(client.db));
    const total = sizes.reduce((a, b) => a + b, 0);
    let pick = 0;
    if (total > 0) {
      let x = Math.random() * total;
      while (pick < sizes.length - 1 && x >= sizes[pick]) x -= sizes[pick++];
    }
    let reply: Uint8Array | null = null;
    for (let i = 0; i < r.shards.length; i++) {
      reply = r.callOn(r.shards[(pick + i) % r.shards.length], client, argv);
      if (isError(reply) || bulkOf(reply) !== null) break;
    }
    client.reply.raw(reply!);
  },

  scan(r, client, argv) {
    const cursorText = argv[1].toString("latin1");
    if (!/^[0-9]+$/.test(cursorText)) {
      // Not a cursor we made: let a shard answer it as Redis would ("invalid cursor").
      return client.reply.raw(r.callOn(r.shards[0], client, argv));
    }
    const cursor = BigInt(cursorText);
    let shardIndex = Number(cursor / BigInt(SCAN_SHARD_SHIFT));
    let local = cursor % BigInt(SCAN_SHARD_SHIFT);
    let count = 10;
    for (let i = 2; i + 1 < argv.length; i += 2) {
      if (argv[i].toString("latin1").toLowerCase() === "count") {
        const n = Number(argv[i + 1].toString("latin1"));
        if (Number.isFinite(n) && n > 0) count = n;
      }
    }
    const keys: Uint8Array[] = [];
    let next = 0n;
    while (shardIndex < r.shards.length) {
      const sub = argv.slice();
      sub[1] = Buffer.from(local.toString());
      const reply = r.callOn(r.shards[shardIndex], client, sub);
      const spans = arrayItems(reply);
      if (!spans || spans.length !== 2) return client.reply.raw(reply);
      const shardCursor = BigInt(bulkOf(reply, spans[0].start)!.toString("latin1"));
      const found = arrayItems(reply, spans[1].start) as Span[];
      for (const sp of found) keys.push(reply.subarray(sp.start, sp.end));
      if (shardCursor !== 0n) {
        next = BigInt(shardIndex) * BigInt(SCAN_SHARD_SHIFT) + shardCursor;
        break;
      }
      shardIndex++;
      local = 0n;
      if (shardIndex < r.shards.length && keys.length >= count) {
        next = BigInt(shardIndex) * BigInt(SCAN_SHARD_SHIFT);
        break;
      }
    }
    client.reply.arrayLen(2);
    client.reply.bulk(next.toString());
    client.reply.arrayLen(keys.length);
    for (const k of keys) client.reply.raw(k);
  },
};
