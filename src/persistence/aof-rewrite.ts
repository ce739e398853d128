// A key as the commands that rebuild it, for an AOF base written without the RDB preamble
// (aof-use-rdb-preamble no): Redis 7.0's rewriteAppendOnlyFileRio and its rewrite*Object
// helpers (aof.c), command for command, so the file reads as Redis's does and replays on
// either server. Collections go AOF_REWRITE_ITEMS_PER_CMD (64) elements to a command; a
// TTL follows its value as PEXPIREAT; a stream is its XADDs, then XSETID, then its groups
// (XGROUP CREATE, an XCLAIM per pending entry, XGROUP CREATECONSUMER for a consumer with
// none).
import { formatDouble } from "../kernel/format-double.js";
import { StreamValue, type StreamID } from "../types/stream.js";
import type { StoredValue } from "./keyspace-io.js";
import type { Bytes } from "./value-codec.js";

/** Redis's AOF_REWRITE_ITEMS_PER_CMD. */
const ITEMS_PER_CMD = 64;

type Argv = Uint8Array[];

const b = (s: Bytes): Uint8Array => (typeof s === "string" ? Buffer.from(s, "latin1") : s);
const id = (x: StreamID): Buffer => Buffer.from(`${x.ms}-${x.seq}`);
const word = (s: string | number | bigint): Buffer => Buffer.from(String(s));

/** `name key` followed by `items`, `per` arguments to an element, split every 64 elements. */
function chunked(name: string, key: Uint8Array, items: Uint8Array[], per: number, out: Argv[]): void {
  const step = ITEMS_PER_CMD * per;
  for (let i = 0; i < items.length; i += step) out.push([word(name), key, ...items.slice(i, i + step)]);
}

/** The commands that rebuild `key` holding `s`, in the order Redis writes them. */
export function rewriteKeyCommands(key: Uint8Array, s: StoredValue): Argv[] {
  const out: Argv[] = [];
  const v = s.value;
  switch (v.type) {
    case "string": out.push([word("SET"), key, b(v.value)]); break;
    case "list": chunked("RPUSH", key, v.items.map(b), 1, out); break;
    case "set": chunked("SADD", key, v.members.map(b), 1, out); break;
    case "hash": chunked("HMSET", key, v.pairs.map(b), 2, out); break;
    case "zset": {
      const items: Uint8Array[] = [];
      for (const e of v.entries) items.push(word(formatDouble(e.score)), b(e.member));
      chunked("ZADD", key, items, 2, out);
      break;
    }
    case "stream": rewriteStream(key, v.value as StreamValue, out); break;
  }
  if (s.expireAt >= 0) out.push([word("PEXPIREAT"), key, word(s.expireAt)]);
  return out;
}

/** rewriteStreamObject. */
function rewriteStream(key: Uint8Array, s: StreamValue, out: Argv[]): void {
  if (s.length > 0) {
    for (const node of s.nodes) {
      for (let i = 0; i < node.slots; i++) {
        if (!node.isDeleted(i)) out.push([word("XADD"), key, id(node.idAt(i)), ...node.entry(i)]);
      }
    }
  } else {
    // An empty stream exists only as a key: "the XADD MAXLEN 0 trick" creates it empty.
    out.push([word("XADD"), key, word("MAXLEN"), word("0"), word("0-1"), word("x"), word("y")]);
  }
  // After the XADDs: the last ID may be past the last entry (XDEL'd), and the counters.
  out.push([word("XSETID"), key, id(s.lastId), word("ENTRIESADDED"), word(s.entriesAdded), word("MAXDELETEDID"), id(s.maxDeletedId)]);
  for (const [name, g] of s.sortedGroups()) {
    const group = Buffer.from(name, "latin1");
    out.push([word("XGROUP"), word("CREATE"), key, group, id(g.lastId), word("ENTRIESREAD"), word(g.entriesRead)]);
    for (const c of g.sortedConsumers()) {
      const consumer = Buffer.from(c.name, "latin1");
      if (c.pel.size === 0) {
        out.push([word("XGROUP"), word("CREATECONSUMER"), key, group, consumer]);
        continue;
      }
      for (const pending of c.pel.ids) {
        const nack = g.pel.get(pending);
        if (!nack) continue;
        out.push([word("XCLAIM"), key, group, consumer, word("0"), id(pending), word("TIME"), word(nack.deliveryTime),
          word("RETRYCOUNT"), word(nack.deliveryCount), word("JUSTID"), word("FORCE")]);
      }
    }
  }
}
