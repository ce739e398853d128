// A kernel instance that is one of several shards: which commands it runs and which it hands
// back to the host's router, and moving a key between two instances.
import { describe, it, expect } from "vitest";
import { loadKernel } from "../../src/kernel/load.js";
import { STATUS_DONE, STATUS_HOST } from "../../src/kernel/kernel.js";
import { shardKernel, feed } from "./feed.js";
import { keySlot, slotRange } from "../../src/server/router.js";

const te = new TextEncoder();

describe("slots", () => {
  it("keySlot matches Redis Cluster's vectors, hash tags included", () => {
    expect(keySlot(te.encode("123456789"))).toBe(0x31c3 & 0x3fff);
    expect(keySlot(te.encode("foo"))).toBe(12182);
    expect(keySlot(te.encode("bar"))).toBe(5061);
    expect(keySlot(te.encode("{user1000}.following"))).toBe(keySlot(te.encode("user1000")));
    expect(keySlot(te.encode("foo{}{bar}"))).toBe(keySlot(te.encode("foo{}{bar}")));
    expect(keySlot(te.encode("foo{}{bar}"))).not.toBe(keySlot(te.encode("bar")));
    expect(keySlot(te.encode("foo{{bar}}zap"))).toBe(keySlot(te.encode("{bar")));
  });

  it("the host's keySlot agrees with the kernel's for random keys", () => {
    const k = loadKernel();
    // Lengths 1..40: the kernel scans for '{' and hashes four bytes at a time (assembly/cluster/slot.ts), then the rest.
    for (let i = 0; i < 800; i++) {
      const key = new Uint8Array(1 + (i % 40)).map(() => Math.floor(Math.random() * 256));
      if (i % 5 === 0 && key.length >= 3) key.set(te.encode("{x}"), 0);
      // A '{' at every position of the kernel's four-byte scan for it, with a '}' after it or not.
      if (i % 5 === 1) key[(i >> 3) % key.length] = 0x7b;
      if (i % 10 === 1 && key.length > 2) key[key.length - 1] = 0x7d;
      const p = k.x.alloc(key.length);
      k.mem.set(key, p);
      expect(keySlot(key)).toBe(k.x.keySlot(p, key.length));
      k.x.free(p);
    }
    const vector = te.encode("123456789");
    const p = k.x.alloc(vector.length);
    k.mem.set(vector, p);
    expect(k.x.keySlot(p, vector.length)).toBe(0x31c3 & 0x3fff);
  });

  it("the kernel's slot of the last key it hashed is reused only for the same key", () => {
    // Keys of 8 to 16 bytes are remembered by length and their first and last eight bytes
    // (assembly/cluster/slot.ts): a key one byte away from the last one, at every position and
    // length, or the same bytes one byte longer or shorter, gets its own slot.
    const k = loadKernel();
    const p = k.x.alloc(32);
    const slotOf = (key: Uint8Array) => { k.mem.set(key, p); return k.x.keySlot(p, key.length); };
    for (let len = 7; len <= 17; len++) {
      const base = te.encode("key:0123456789abcdef").subarray(0, len);
      for (let at = 0; at < len; at++) {
        const other = base.slice();
        other[at] ^= 0x01;
        expect(slotOf(base)).toBe(keySlot(base));
        expect(slotOf(base)).toBe(keySlot(base));
        expect(slotOf(other)).toBe(keySlot(other));
      }
      const longer = te.encode("key:0123456789abcdef").subarray(0, len + 1);
      expect(slotOf(base)).toBe(keySlot(base));
      expect(slotOf(longer)).toBe(keySlot(longer));
      expect(slotOf(longer.subarray(0, len - 1))).toBe(keySlot(longer.subarray(0, len - 1)));
    }
    // A hash tag inside a remembered key still decides its slot.
    expect(slotOf(te.encode("{user1}:abcdef"))).toBe(keySlot(te.encode("user1")));
    expect(slotOf(te.encode("{user2}:abcdef"))).toBe(keySlot(te.encode("user2")));
    k.x.free(p);
  });

  it("keySlot of a range looks only inside it for a hash tag", () => {
    const mem = te.encode("xx{a}foo{bar}zz");
    expect(keySlot(mem, 5, 8)).toBe(keySlot(te.encode("foo")));
    expect(keySlot(mem, 5, 13)).toBe(keySlot(te.encode("bar")));
    expect(keySlot(mem, 0, 4)).toBe(keySlot(te.encode("xx{a")));
  });

  it("slot ranges of n shards cover 0..16383 without gaps", () => {
    for (const n of [1, 2, 3, 4, 7]) {
      let next = 0;
      for (let i = 0; i < n; i++) {
        const [low, high] = slotRange(i, n);
        expect(low).toBe(next);
        next = high + 1;
      }
      expect(next).toBe(16384);
    }
  });
});

describe("a kernel that is one of several shards", () => {
  it("runs commands whose keys it owns and hands back the others with their request bytes", () => {
    const k = shardKernel(0, 2); // slots 0..8191: bar (5061) is ours, foo (12182) is not
    const req = "SET bar 1\r\n*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\nGET bar\r\n";
    const r = feed(k, req);
    expect(r.st).toBe(STATUS_HOST);
    expect(r.out).toBe("+OK\r\n");
    expect(req.slice(r.start, r.consumed)).toBe("*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n");
    expect(k.x.handedForRouting()).toBeTruthy();
    expect(feed(k, "LPUSH l a\r\n").st).toBe(STATUS_HOST);
    expect(k.x.handedForRouting()).toBeFalsy(); // not a kernel command: the host runs it
    const rest = feed(k, req.slice(r.consumed));
    expect(rest.st).toBe(STATUS_DONE);
    expect(rest.out).toBe("$1\r\n1\r\n");
  });

  it("names the one shard that owns every key of a command it hands back, as the host's slot ranges say", () => {
    // The host carries on parsing there (src/server/client.ts), so the kernel's idea of which
    // shard owns a slot must be the router's, for any shard count.
    for (const n of [2, 3, 4, 5, 7, 8]) {
      const kernels = Array.from({ length: n }, (_, i) => shardKernel(i, n));
      const owner = (slot: number) => kernels.findIndex((_, i) => slot <= slotRange(i, n)[1]);
      for (let j = 0; j < 40; j++) {
        const key = `key:${n}:${j}`;
        const want = owner(keySlot(te.encode(key)));
        const from = (want + 1 + (j % (n - 1))) % n; // any other shard
        const r = feed(kernels[from], `GET ${key}\r\n`);
        expect(r.st).toBe(STATUS_HOST);
        expect(kernels[from].x.handedShard()).toBe(want);
      }
    }
  });

  it("names no shard for a command whose keys live in several shards, or a keyspace-wide one", () => {
    const k = shardKernel(0, 2); // bar (5061) is ours, foo (12182) is shard 1's
    k.bindCommand("mget", -2, 0, { firstKey: 1, lastKey: -1, keyStep: 1 });
    k.bindCommand("dbsize", 1, 2, { firstKey: 0, lastKey: 0, keyStep: 0 });
    expect(feed(k, "MGET foo bar\r\n").st).toBe(STATUS_HOST);
    expect(k.x.handedShard()).toBe(-1);
    expect(feed(k, "MGET bar foo\r\n").st).toBe(STATUS_HOST);
    expect(k.x.handedShard()).toBe(-1);
    expect(feed(k, "MGET foo foo\r\n").st).toBe(STATUS_HOST);
    expect(k.x.handedShard()).toBe(1);
    expect(feed(k, "DBSIZE\r\n").st).toBe(STATUS_HOST);
    expect(k.x.handedShard()).toBe(-1);
  });

  it("replies arity errors itself, before routing", () => {
    const k = shardKernel(0, 2);
    expect(feed(k, "GET foo extra\r\n").out).toBe("-ERR wrong number of arguments for 'get' command\r\n");
  });

  it("runs everything it is given with routing off (a command the host placed there)", () => {
    const k = shardKernel(0, 2);
    k.x.setRouting(0);
    expect(feed(k, "SET foo 1\r\n").out).toBe("+OK\r\n");
    k.x.setRouting(1);
    expect(feed(k, "GET foo\r\n").st).toBe(STATUS_HOST);
  });

  it("moves a key with its TTL from one instance to another", () => {
    const a = shardKernel(0, 1);
    const b = shardKernel(0, 1);
    feed(a, "SET k hello PX 5000\r\n");
    const key = te.encode("k");
    const p = a.x.alloc(1);
    a.mem.set(key, p);
    const n = a.x.migrateOut(0, p, 1, 1);
    expect(n).toBeGreaterThan(0);
    const blob = a.mem.slice(a.x.migrateBlobPtr(), a.x.migrateBlobPtr() + n);
    expect(a.x.migrateOut(0, p, 1, 0)).toBe(-1); // gone from a
    expect(feed(a, "GET k\r\n").out).toBe("$-1\r\n");
    const q = b.x.alloc(1 + blob.length);
    b.mem.set(key, q);
    b.mem.set(blob, q + 1);
    b.x.migrateIn(0, q, 1, q + 1, blob.length);
    expect(feed(b, "GET k\r\n").out).toBe("$5\r\nhello\r\n");
    expect(b.x.dbExpires(0)).toBe(1);
    feed(b, "SET n 12345\r\n");
    const q2 = b.x.alloc(1);
    b.mem.set(te.encode("n"), q2);
    const n2 = b.x.migrateOut(0, q2, 1, 1);
    const blob2 = b.mem.slice(b.x.migrateBlobPtr(), b.x.migrateBlobPtr() + n2);
    a.mem.set(te.encode("n"), p);
    const q3 = a.x.alloc(1 + blob2.length);
    a.mem.set(te.encode("n"), q3);
    a.mem.set(blob2, q3 + 1);
    a.x.migrateIn(0, q3, 1, q3 + 1, blob2.length);
    expect(feed(a, "GET n\r\n").out).toBe("$5\r\n12345\r\n");
  });
});

describe("deferred commands (assembly/cluster/deferred.ts)", () => {
  it("with deferring on, a command whose keys are all in one other shard is recorded and the read goes on", () => {
    // Shard 0 of 2 owns bar (slot 5061); foo (12182) is shard 1's.
    const k = shardKernel(0, 2);
    k.x.setDeferring(1);
    const req = "SET bar 1\r\nGET foo\r\nGET bar\r\nSET foo x\r\nGET bar\r\n";
    const r = feed(k, req);
    expect(r.st).toBe(STATUS_DONE);
    expect(r.out).toBe("+OK\r\n$1\r\n1\r\n$1\r\n1\r\n");
    const words = k.words();
    const log = k.deferLogAt;
    const count = words[(k.x.callResultsPtr() >>> 2) + 12]; // the call's deferredCount (Kernel.run reads it there)
    const records = Array.from({ length: count }, (_, i) => Array.from(words.subarray(log + i * 5, log + i * 5 + 5)));
    // owner, request [start, end) (addresses: compared as lengths), reply position, commands run before it.
    expect(records.map((w) => [w[0], w[2] - w[1], w[3], w[4]])).toEqual([[1, "GET foo\r\n".length, 5, 1], [1, "SET foo x\r\n".length, 12, 2]]);
    expect(k.x.ranCommands()).toBe(3);
  });

  it("defers a call's first command when more input follows it, and hands back a call's only command", () => {
    const k = shardKernel(0, 2);
    k.x.setDeferring(1);
    // foo is shard 1's: first, with a command of ours after it, it is recorded like any other.
    const r = feed(k, "GET foo\r\nSET bar 1\r\n");
    expect(r.st).toBe(STATUS_DONE);
    expect(r.out).toBe("+OK\r\n");
    const w = k.words();
    expect(w[(k.x.callResultsPtr() >>> 2) + 12]).toBe(1);
    expect([w[k.deferLogAt], w[k.deferLogAt + 3], w[k.deferLogAt + 4]]).toEqual([1, 0, 0]);
    // Also with only an incomplete command after it.
    const partial = feed(k, "GET foo\r\nGET ba");
    expect(partial.st).toBe(STATUS_DONE);
    expect(k.words()[(k.x.callResultsPtr() >>> 2) + 12]).toBe(1);
    // Alone in the call (a read at -P 1), it is handed back for the host to follow into shard 1.
    const alone = feed(k, "GET foo\r\n");
    expect(alone.st).toBe(STATUS_HOST);
    expect(k.x.handedShard()).toBe(1);
    expect(k.words()[(k.x.callResultsPtr() >>> 2) + 12]).toBe(0);
  });

  it("without deferring (the default), the same read stops at the other shard's command, naming it", () => {
    const k = shardKernel(0, 2);
    const r = feed(k, "SET bar 1\r\nGET foo\r\nGET bar\r\n");
    expect(r.st).toBe(STATUS_HOST);
    expect(k.x.handedShard()).toBe(1);
    expect(r.out).toBe("+OK\r\n");
  });

  it("processList runs another shard's hand-off block in order, parsed there, and marks where each reply ends", () => {
    // Shard 0 of 2 parses the read and defers foo's commands (shard 1's) into its block for shard 1.
    const home = shardKernel(0, 2);
    home.x.setDeferring(1);
    const cmds = ["GET foo\r\n", "*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$1\r\nx\r\n", "GET foo\r\n"];
    const r = feed(home, "GET bar\r\n" + cmds.join(""));
    expect(r.st).toBe(STATUS_DONE);
    expect(r.out).toBe("$-1\r\n");
    const hw = home.words();
    expect(hw[(home.x.callResultsPtr() >>> 2) + 12]).toBe(3);
    // The block table: shard 1's block address and bytes used; shard 0 has none.
    const t = home.handoffAt + 4;
    expect(hw[home.handoffAt + 2]).toBe(0);
    const block = home.mem.slice(hw[t], hw[t] + hw[t + 2]);
    // Entries: request length, command index, argc, argument offsets and lengths (from the
    // request's first byte), the request bytes, then the arguments not in them: an inline
    // command's are copied (the parser unescapes them elsewhere), a multibulk's point in.
    const head = (argc: number, at: number) => Array.from(new Uint32Array(block.buffer, at, 3 + 2 * argc));
    expect(head(2, 0)).toEqual([cmds[0].length, expect.any(Number), 2, 9, 3, 12, 3]);
    expect(new TextDecoder().decode(block.subarray(12 + 16 + 9, 12 + 16 + 15))).toBe("GETfoo");
    const second = (12 + 16 + 15 + 3) & ~3;
    expect(head(3, second)).toEqual([cmds[1].length, expect.any(Number), 3, 8, 3, 17, 3, 26, 1]);
    const k = shardKernel(1, 2);
    const p = k.x.alloc(block.length);
    k.mem.set(block, p);
    expect(k.runList(p, 0, 3, 0, 1_000_000)).toBe(STATUS_DONE);
    expect(k.consumed).toBe(3);
    const out = new TextDecoder().decode(k.output());
    expect(out).toBe("$-1\r\n+OK\r\n$1\r\nx\r\n");
    const w = k.words();
    const at = k.deferListAt;
    expect([w[at + 2], w[at + 5], w[at + 8]]).toEqual([5, 10, 17]);
    // Each list entry names its request bytes (the slow log reads them back).
    expect(new TextDecoder().decode(k.mem.subarray(w[at + 3], w[at + 3] + cmds[1].length))).toBe(cmds[1]);
    expect(k.x.commandCalls(head(2, 0)[1])).toBe(2);
    // From an index: the run goes on where the previous entry ended; its output starts again at 0.
    expect(k.runList(p, 2, 3, 0, 1_000_000)).toBe(STATUS_DONE);
    expect(new TextDecoder().decode(k.output())).toBe("$1\r\nx\r\n");
    expect(w[at + 8]).toBe(7);
    // The next call of the parsing shard starts with empty blocks.
    feed(home, "GET bar\r\n");
    expect(home.words()[t + 2]).toBe(0);
  });

  it("a command too long for a hand-off block is not deferred: the read stops there, naming its shard", () => {
    const home = shardKernel(0, 2);
    home.x.setDeferring(1);
    const big = "x".repeat(70 * 1024);
    const r = feed(home, `GET bar\r\n*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$${big.length}\r\n${big}\r\nGET foo\r\n`);
    expect(r.st).toBe(STATUS_HOST);
    expect(home.x.handedShard()).toBe(1);
    expect(home.words()[(home.x.callResultsPtr() >>> 2) + 12]).toBe(0);
  });
});
