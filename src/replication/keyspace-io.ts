// LocalKeyspace: how replication reads a key back after a local write and writes a merged
// value into the keyspace. It runs ordinary commands through Server.execCommand on an
// internal client (no socket), so the kernel and host keep owning every value and every
// rule (types, expiry, blocking wake-ups) stays theirs. The replicator suppresses its own
// capture while it writes here, so a remote value is not sent back out as a local write.
import type { Socket } from "node:net";
import type { Server } from "../server/server.js";
import { Client } from "../server/client.js";
import { parseReply, type RespValue } from "./resp-value.js";
import type { KeyType, Visible } from "./key-state.js";

export type Actual =
  | { type: "string"; value: Buffer; expireAt: number }
  | { type: "list"; value: Buffer[]; expireAt: number }
  | { type: "set"; value: Buffer[]; expireAt: number }
  | { type: "hash"; value: [Buffer, Buffer][]; expireAt: number }
  | { type: "zset"; value: [Buffer, number][]; expireAt: number }
  | { type: "other"; expireAt: number };

export function parseScore(b: Buffer): number {
  const s = b.toString("latin1");
  return s === "inf" || s === "+inf" ? Infinity : s === "-inf" ? -Infinity : Number(s);
}

export function formatScore(n: number): string {
  return n === Infinity ? "inf" : n === -Infinity ? "-inf" : String(n);
}

export class LocalKeyspace {
  private readonly client: Client;

  constructor(private readonly server: Server) {
    this.client = new Client(server, {} as Socket);
    this.client.name = "crdt-replication";
  }

  run(db: number, ...args: (string | Buffer)[]): RespValue {
    this.client.db = db;
    this.server.execCommand(this.client, args.map((a) => (typeof a === "string" ? Buffer.from(a, "latin1") : a)));
    return parseReply(this.client.reply.take());
  }

  typeOf(db: number, key: Buffer): KeyType | "none" | "other" {
    const t = this.run(db, "TYPE", key) as { status: string };
    const s = t.status;
    return s === "string" || s === "list" || s === "set" || s === "hash" || s === "zset" || s === "none" ? s : "other";
  }

  expireAt(db: number, key: Buffer): number {
    const v = this.run(db, "PEXPIRETIME", key) as number;
    return v > 0 ? v : 0;
  }

  /** The key's type, value and expiry as the keyspace holds them now, or undefined. */
  read(db: number, key: Buffer): Actual | undefined {
    // GET first: a string (most keys) or a missing key is read in one command instead of a
    // TYPE before it (a CRDT.PEER ADD walk reads every key; every local write reads its key
    // back); any other type answers WRONGTYPE and is read by its type as before.
    const got = this.run(db, "GET", key);
    if (got === null) return undefined;
    if (Buffer.isBuffer(got)) return { type: "string", value: got, expireAt: this.expireAt(db, key) };
    const type = this.typeOf(db, key);
    if (type === "none") return undefined;
    const expireAt = this.expireAt(db, key);
    switch (type) {
      case "string": return { type, value: this.run(db, "GET", key) as Buffer, expireAt };
      case "list": return { type, value: this.run(db, "LRANGE", key, "0", "-1") as Buffer[], expireAt };
      case "set": return { type, value: this.run(db, "SMEMBERS", key) as Buffer[], expireAt };
      case "hash": {
        const flat = this.run(db, "HGETALL", key) as Buffer[];
        const value: [Buffer, Buffer][] = [];
        for (let i = 0; i + 1 < flat.length; i += 2) value.push([flat[i], flat[i + 1]]);
        return { type, value, expireAt };
      }
      case "zset": {
        const flat = this.run(db, "ZRANGE", key, "0", "-1", "WITHSCORES") as Buffer[];
        const value: [Buffer, number][] = [];
        for (let i = 0; i + 1 < flat.length; i += 2) value.push([flat[i], parseScore(flat[i + 1])]);
        return { type, value, expireAt };
      }
      default: return { type: "other", expireAt };
    }
  }

  /**
   * Replaces whatever the key holds with v (or deletes it when v is undefined); `there`
   * false when the caller has just read the key as missing (read: no DEL first).
   */
  write(db: number, key: Buffer, v: Visible | undefined, there = true): void {
    if (there) this.run(db, "DEL", key);
    if (!v) return;
    const chunks = <T>(xs: T[], n: number): T[][] => { const out: T[][] = []; for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n)); return out; };
    switch (v.type) {
      case "string": this.run(db, "SET", key, v.value); break;
      case "list": for (const c of chunks(v.value, 512)) this.run(db, "RPUSH", key, ...c); break;
      case "set": for (const c of chunks(v.value, 512)) this.run(db, "SADD", key, ...c); break;
      case "hash": for (const c of chunks(v.value, 256)) this.run(db, "HSET", key, ...c.flat()); break;
      case "zset": for (const c of chunks(v.value, 256)) this.run(db, "ZADD", key, ...c.flatMap(([m, s]) => [formatScore(s), m])); break;
    }
    if (v.expireAt > 0) this.run(db, "PEXPIREAT", key, String(v.expireAt));
  }

  /** Every key of a database (the simulator's checker). */
  keys(db: number): Buffer[] {
    return this.run(db, "KEYS", "*") as Buffer[];
  }
}
