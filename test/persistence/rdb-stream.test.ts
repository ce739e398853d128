// RdbStreamParser: an RDB parsed as its bytes arrive (a replica's diskless load) gives the
// same records as parsing the whole file, whatever the read sizes; a cut payload only asks
// for more; a corrupt one throws; what follows the payload is handed back.
import { describe, it, expect } from "vitest";
import type { Socket } from "node:net";

process.env.LATTICEKV_SHARDS = "2";
const { Config } = await import("../../src/config/config.js");
const { Server } = await import("../../src/server/server.js");
const { Client } = await import("../../src/server/client.js");
const { parseRdb, snapshotRdb } = await import("../../src/persistence/rdb-file.js");
const { RdbStreamParser } = await import("../../src/persistence/rdb-stream.js");
const { RdbFormatError } = await import("../../src/persistence/rdb-format.js");

function dataset(): Buffer {
  const server = new Server(new Config());
  const client = new Client(server, {} as Socket);
  const run = (...args: string[]) => { server.execCommand(client, args.map((a) => Buffer.from(a))); client.reply.take(); };
  for (let i = 0; i < 300; i++) run("SET", `k${i}`, `v${i}`.repeat(i % 7 + 1));
  run("SET", "big", "x".repeat(3 << 20)); // one record larger than the 1 MB retry step
  for (let i = 0; i < 3000; i++) run("SADD", "bigset", `member-${i}-${"y".repeat(400)}`); // many small parts
  run("RPUSH", "list", "a", "b", "c");
  run("HSET", "h", "f", "v");
  run("ZADD", "z", "1.5", "m");
  run("PEXPIRE", "k1", "100000");
  run("SELECT", "3");
  run("SET", "in3", "three");
  return snapshotRdb(server).data;
}

function records(p: InstanceType<typeof RdbStreamParser>, force = false) {
  const out: { key: string; db: number; type: string; expire: boolean }[] = [];
  for (;;) {
    const r = p.next(force);
    if (r === "more" || r === "done") return { out, end: r };
    if (r.kind === "key") out.push({ key: r.key.key.toString(), db: r.key.db, type: r.key.value.type, expire: r.key.expireAt >= 0 });
  }
}

describe("RdbStreamParser", () => {
  const rdb = dataset();
  const whole = parseRdb(rdb, { checksum: true, databases: 16 }).keys.map((k) => ({ key: k.key.toString(), db: k.db, type: k.value.type, expire: k.expireAt >= 0 }));

  for (const step of [7, 4096, 65536, 1 << 20]) {
    it(`gives parseRdb's records when the bytes arrive ${step} at a time`, () => {
      const p = new RdbStreamParser({ checksum: true, databases: 16 });
      const got: typeof whole = [];
      let end = "more";
      const trailer = Buffer.from("0123456789012345678901234567890123456789*1\r\n$4\r\nPING\r\n");
      const all = Buffer.concat([rdb, trailer]);
      for (let off = 0; off < all.length && end !== "done"; off += step) {
        p.push(all.subarray(off, Math.min(all.length, off + step)));
        // The last read may complete the payload below the retry step: force then, as the link does.
        const r = records(p, off + step >= rdb.length);
        got.push(...r.out);
        end = r.end;
      }
      expect(end).toBe("done");
      expect(got).toEqual(whole);
      expect(p.consumed).toBe(rdb.length);
      // What followed the payload (the end mark, the stream) comes back whole.
      const rest = Buffer.concat([p.takeRest(), all.subarray(Math.min(all.length, Math.ceil(all.length / step) * step))]);
      expect(trailer.toString().startsWith(rest.subarray(0, Math.min(rest.length, trailer.length)).toString())).toBe(true);
    });
  }

  it("only asks for more while the payload is cut short", () => {
    const p = new RdbStreamParser({ checksum: true, databases: 16 });
    p.push(rdb.subarray(0, rdb.length - 5));
    const r = records(p, true);
    expect(r.end).toBe("more");
    expect(p.next(true)).toBe("more");
  });

  it("throws on a wrong checksum and on a bad signature", () => {
    const bad = Buffer.from(rdb);
    bad[bad.length - 1] ^= 0xff;
    const p = new RdbStreamParser({ checksum: true, databases: 16 });
    p.push(bad);
    expect(() => records(p, true)).toThrow(/Wrong RDB checksum/);
    const q = new RdbStreamParser({ checksum: true, databases: 16 });
    q.push(Buffer.from("RODIS0010xxxxxxxx"));
    expect(() => q.next(true)).toThrow(RdbFormatError);
  });
});
