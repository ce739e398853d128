// Stress of the kernel's client-input paths against a model, the way the host drives them
// (src/server/client.ts, shard.ts): several clients' pipelines split at arbitrary byte
// boundaries and interleaved, each read copied into kernel memory, partial multibulks saved
// and resumed, commands the kernel hands back answered by the "host", and after every
// process() a nested Shard.callRaw (as the CRDT replicator's read-back from an effect
// consumer does) before the results are read. Every freed input region is overwritten with
// 0xAA first, so a pointer the kernel kept into it shows up as a wrong reply. Big values make
// the memory grow, so a stale view of it would show too. Seeded: the same run every time.
import { describe, it, expect } from "vitest";
import { Shard, encodeCommand } from "../../src/server/shard.js";
import { STATUS_DONE, STATUS_HOST, STATUS_YIELD } from "../../src/kernel/kernel.js";

const td = new TextDecoder();
const te = new TextEncoder();

function rng(seed: number) {
  let a = seed >>> 0; // mulberry32
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
}

function shard(): Shard {
  const s = new Shard(0, 16, 0, 16383, 1, 11);
  const k = s.kernel;
  k.bindCommand("set", -3, 1, { firstKey: 1, lastKey: 1, keyStep: 1 });
  k.bindCommand("get", 2, 0, { firstKey: 1, lastKey: 1, keyStep: 1 });
  k.bindCommand("append", 3, 1, { firstKey: 1, lastKey: 1, keyStep: 1 });
  k.bindCommand("del", -2, 1, { firstKey: 1, lastKey: -1, keyStep: 1 });
  k.bindCommand("strlen", 2, 0, { firstKey: 1, lastKey: 1, keyStep: 1 });
  return s;
}

const bulk = (v: string | undefined) => (v === undefined ? "$-1\r\n" : `$${te.encode(v).length}\r\n${v}\r\n`);

class FakeClient {
  pending = new Uint8Array(0);
  partial = 0;
  replies = "";
  constructor(readonly s: Shard, readonly nested: () => void) {}

  /** One socket read: like client.ts runPending/runRegion, with a fresh region each time. */
  read(chunk: Uint8Array): void {
    const data = new Uint8Array(this.pending.length + chunk.length);
    data.set(this.pending);
    data.set(chunk, this.pending.length);
    const k = this.s.kernel;
    const x = k.x;
    const base = x.alloc(data.length + 16);
    k.mem.set(data, base);
    const end = base + data.length;
    if (this.partial) { x.resumePartial(this.partial); this.partial = 0; }
    let pos = base;
    for (;;) {
      const st = x.process(pos, end, 0, 1000);
      this.replies += td.decode(k.output());
      this.s.afterCall();
      this.nested(); // an effect consumer's read-back, before the results are read
      pos = x.consumedPos();
      if (st === STATUS_HOST) {
        const argv = k.argv().map((a) => td.decode(a));
        this.replies += argv[0].toUpperCase() === "HPING" ? `+${argv[1] ?? "PONG"}\r\n` : "-ERR host\r\n";
        continue;
      }
      if (st === STATUS_YIELD) continue;
      expect(st).toBe(STATUS_DONE);
      break;
    }
    expect(pos).toBeGreaterThanOrEqual(base);
    expect(pos).toBeLessThanOrEqual(end);
    this.pending = data.slice(pos - base);
    if (pos < end) this.partial = x.savePartial(pos);
    k.mem.fill(0xaa, base, end + 16); // poison before freeing
    x.free(base);
  }
}

describe("client input through the host's paths, checked against a model", () => {
  it("interleaved split pipelines with nested calls give the model's replies", () => {
    const s = shard();
    const r = rng(1234);
    const model = new Map<string, string>();
    const keys = ["greeting", "k1", "k2", "a-longer-key-name", "x"];
    let nestedCalls = 0;
    const nested = () => {
      // Alternate a read and a write, as the replicator's read-back and merge do.
      const key = keys[r(keys.length)];
      if (r(2) === 0) {
        const out = td.decode(s.callRaw(encodeCommand([te.encode("GET"), te.encode(key)]), 0, 1000));
        expect(out).toBe(bulk(model.get(key)));
      } else {
        expect(td.decode(s.callRaw(encodeCommand([te.encode("STRLEN"), te.encode(key)]), 0, 1000)))
          .toBe(`:${te.encode(model.get(key) ?? "").length}\r\n`);
      }
      nestedCalls++;
    };
    const clients = [0, 1, 2].map(() => new FakeClient(s, nested));
    const expected = ["", "", ""];
    // Each client's whole stream, generated with its model replies. Clients use disjoint
    // value spaces but share keys; replies are checked per client in order, so the model
    // is applied in the order the kernel runs the commands: generate lazily per command.
    const streams: Uint8Array[][] = [[], [], []];
    const value = () => {
      const big = r(40) === 0;
      const n = big ? 100_000 + r(300_000) : r(20);
      return (big ? "B" : "v").repeat(1) + String(r(1e6)).padEnd(n, "z");
    };
    // Commands are applied to the model when generated; to keep that order equal to the
    // kernel's, each client's commands touch keys of its own.
    const own = (c: number) => `${keys[r(keys.length)]}:${c}`;
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 300; i++) {
        const key = own(c);
        let argv: string[];
        let reply: string;
        switch (r(6)) {
          case 0: { const v = value(); argv = ["SET", key, v]; model.set(key, v); reply = "+OK\r\n"; break; }
          case 1: argv = ["GET", key]; reply = bulk(model.get(key)); break;
          case 2: { const v = value(); argv = ["APPEND", key, v]; const nv = (model.get(key) ?? "") + v; model.set(key, nv); reply = `:${nv.length}\r\n`; break; }
          case 3: argv = ["DEL", key]; reply = `:${model.delete(key) ? 1 : 0}\r\n`; break;
          case 4: argv = ["HPING", `P${i}`]; reply = `+P${i}\r\n`; break;
          default: argv = ["STRLEN", key]; reply = `:${(model.get(key) ?? "").length}\r\n`; break;
        }
        streams[c].push(encodeCommand(argv.map((a) => te.encode(a))));
        expected[c] += reply;
      }
    }
    // The nested calls read keys no client writes (keys without ":c"), so the model of them
    // stays empty: they check the nested call's own reply, not the clients'.
    const bytes = streams.map((cmds) => {
      const n = cmds.reduce((a, b) => a + b.length, 0);
      const out = new Uint8Array(n);
      let o = 0;
      for (const b of cmds) { out.set(b, o); o += b.length; }
      return out;
    });
    const at = [0, 0, 0];
    while (at.some((p, c) => p < bytes[c].length)) {
      const c = r(3);
      if (at[c] >= bytes[c].length) continue;
      // TCP splits: mostly small, sometimes one byte, sometimes large.
      const n = [1, 1 + r(16), 1 + r(200), 1 + r(70_000)][r(4)];
      const chunk = bytes[c].subarray(at[c], Math.min(bytes[c].length, at[c] + n));
      at[c] += chunk.length;
      clients[c].read(chunk);
    }
    for (let c = 0; c < 3; c++) {
      expect(clients[c].pending.length).toBe(0);
      // Compare in pieces so a failure shows where the streams part.
      const got = clients[c].replies;
      const want = expected[c];
      let i = 0;
      while (i < want.length && got[i] === want[i]) i++;
      expect(got.slice(Math.max(0, i - 40), i + 80)).toBe(want.slice(Math.max(0, i - 40), i + 80));
      expect(got.length).toBe(want.length);
    }
    expect(nestedCalls).toBeGreaterThan(100);
  });
});
