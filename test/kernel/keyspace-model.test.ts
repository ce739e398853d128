// Model check of the keyspace with a fake clock: a seeded random sequence of key and expiry
// commands runs against the kernel and against a plain JS model of Redis's rules (a Map of
// key -> {value, expireAt}); every reply and the final keyspace must agree. Active expiry
// runs at random points too: it may reclaim keys early but never change a reply.
import { describe, it, expect } from "vitest";
import { TestKernel } from "./keyspace-harness.js";

interface Item { value: string; expireAt: number }

class Model {
  dbs: Map<string, Item>[] = Array.from({ length: 16 }, () => new Map());
  db = 0;
  constructor(public now: () => number) {}
  get m() { return this.dbs[this.db]; }
  live(k: string, db = this.db): Item | undefined {
    const it = this.dbs[db].get(k);
    if (it && it.expireAt >= 0 && it.expireAt <= this.now()) { this.dbs[db].delete(k); return undefined; }
    return it;
  }
  run(cmd: (string | number)[]): unknown {
    const [name, ...a] = cmd.map(String);
    const now = this.now();
    switch (name) {
      case "set": {
        const expireAt = a[2] === "px" ? now + Number(a[3]) : -1;
        this.m.set(a[0], { value: a[1], expireAt });
        return "OK";
      }
      case "get": return this.live(a[0])?.value ?? null;
      case "del": return a.filter((k, i) => a.indexOf(k) === i && this.live(k) && this.m.delete(k)).length;
      case "exists": return a.filter((k) => this.live(k)).length;
      case "pexpire": case "pexpireat": {
        const opts = a.slice(2);
        let when = Number(a[1]) + (name === "pexpire" ? now : 0);
        const it = this.live(a[0]);
        if (!it) return 0;
        const cur = it.expireAt;
        if (opts.includes("nx") && cur !== -1) return 0;
        if (opts.includes("xx") && cur === -1) return 0;
        if (opts.includes("gt") && (cur === -1 || when <= cur)) return 0;
        if (opts.includes("lt") && cur !== -1 && when >= cur) return 0;
        if (when <= now) { this.m.delete(a[0]); return 1; }
        it.expireAt = when;
        return 1;
      }
      case "persist": {
        const it = this.live(a[0]);
        if (!it || it.expireAt === -1) return 0;
        it.expireAt = -1;
        return 1;
      }
      case "pttl": {
        const it = this.live(a[0]);
        if (!it) return -2;
        return it.expireAt === -1 ? -1 : it.expireAt - now;
      }
      case "rename": {
        const it = this.live(a[0]);
        if (!it) return { err: "ERR no such key" };
        if (a[0] === a[1]) return "OK";
        this.m.delete(a[0]);
        this.m.set(a[1], it);
        return "OK";
      }
      case "copy": {
        const it = this.live(a[0]);
        if (a[0] === a[1]) return { err: "ERR source and destination objects are the same" };
        if (!it) return 0;
        if (this.live(a[1]) && a[2] !== "replace") return 0;
        this.m.set(a[1], { ...it });
        return 1;
      }
      case "move": {
        const dst = Number(a[1]);
        const it = this.live(a[0]);
        if (!it || this.live(a[0], dst)) return 0;
        this.m.delete(a[0]);
        this.dbs[dst].set(a[0], it);
        return 1;
      }
      case "keys": return [...this.m.keys()].filter((k) => this.live(k)).sort();
    }
    throw new Error(`model has no ${name}`);
  }
}

function prng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) % n; };
}

describe("keyspace against a model, with a fake clock", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`seed ${seed}: 3000 random commands agree with the model`, () => {
      const t = new TestKernel(seed);
      const model = new Model(() => t.now);
      const rnd = prng(seed);
      const keys = ["a", "b", "c", "d", "e"];
      const k = () => keys[rnd(keys.length)];
      const opts = [[], ["nx"], ["xx"], ["gt"], ["lt"], ["lt", "xx"], ["gt", "xx"]];
      for (let i = 0; i < 3000; i++) {
        let cmd: (string | number)[];
        switch (rnd(13)) {
          case 0: cmd = rnd(2) ? ["set", k(), `v${i}`] : ["set", k(), `v${i}`, "px", 1 + rnd(50)]; break;
          case 1: cmd = ["get", k()]; break;
          case 2: cmd = ["del", k(), k()]; break;
          case 3: cmd = ["exists", k(), k()]; break;
          case 4: cmd = ["pexpire", k(), rnd(60) - 10, ...opts[rnd(opts.length)]]; break;
          case 5: cmd = ["pexpireat", k(), t.now + rnd(60) - 10, ...opts[rnd(opts.length)]]; break;
          case 6: cmd = ["persist", k()]; break;
          case 7: cmd = ["pttl", k()]; break;
          case 8: cmd = ["rename", k(), k()]; break;
          case 9: cmd = rnd(2) ? ["copy", k(), k()] : ["copy", k(), k(), "replace"]; break;
          case 10: cmd = ["move", k(), 1]; break;
          case 11: cmd = ["keys", "*"]; break;
          default: {
            t.now += rnd(20);
            if (rnd(3) === 0) t.activeExpire(rnd(40));
            continue;
          }
        }
        const got = t.r(...cmd);
        const want = model.run(cmd);
        expect(Array.isArray(got) ? [...got].sort() : got, `step ${i}: ${cmd.join(" ")}`).toEqual(want);
      }
      // The keys MOVE sent to db 1 agree too, values and TTLs included.
      t.db = 1;
      model.db = 1;
      expect([...t.r("keys", "*")].sort()).toEqual(model.run(["keys", "*"]));
      for (const key of keys) {
        expect(t.r("get", key)).toEqual(model.run(["get", key]));
        expect(t.r("pttl", key)).toEqual(model.run(["pttl", key]));
      }
    });
  }
});
