// The effect bus: kernel writes, kernel expiries and host writes reach every active
// subscriber in the order they happened, EXEC brackets its effects as one group, and the
// kernel records only while someone listens.
import { describe, it, expect, beforeEach } from "vitest";
import type { Socket } from "node:net";
import { Config } from "../../src/config/config.js";
import { Server } from "../../src/server/server.js";
import { Client } from "../../src/server/client.js";
import { EFFECT_COMMAND, EFFECT_EXPIRED, type Effect } from "../../src/server/effects.js";

describe("EffectBus", () => {
  let server: Server;
  let client: Client;
  let seen: string[];
  const run = (...args: string[]) => {
    server.execCommand(client, args.map((a) => Buffer.from(a)));
    return client.reply.take().toString("latin1");
  };
  const show = (e: Effect) =>
    (e.kind === EFFECT_COMMAND ? "" : e.kind === EFFECT_EXPIRED ? "expired:" : `kind${e.kind}:`) +
    e.argv.map((a) => a.toString("latin1")).join(" ");

  beforeEach(() => {
    server = new Server(new Config());
    client = new Client(server, {} as Socket);
    seen = [];
  });

  it("delivers kernel and host writes in order, and nothing for reads", () => {
    server.effects.subscribe({ onEffect: (e) => seen.push(show(e)) });
    run("set", "k", "v");
    run("get", "k");
    run("rpush", "l", "a", "b");
    run("hset", "h", "f", "1");
    expect(seen[0]).toBe("set k v");
    expect(seen[1].startsWith("rpush l a b") || seen[1].startsWith("RPUSH l a b")).toBe(true);
    expect(seen[2].toLowerCase()).toBe("hset h f 1");
    expect(seen).toHaveLength(3);
  });

  it("reports a key the kernel expired by itself", () => {
    server.effects.subscribe({ onEffect: (e) => seen.push(show(e)) });
    run("set", "k", "v", "px", "1");
    const until = Date.now() + 20;
    while (Date.now() < until) { /* let the key's TTL pass */ }
    run("get", "k");
    expect(seen).toContain("expired:k");
  });

  it("records nothing while no subscription is active, and resumes when one is", () => {
    const sub = server.effects.subscribe({ onEffect: (e) => seen.push(show(e)) }, false);
    run("set", "a", "1");
    sub.setActive(true);
    run("set", "b", "2");
    sub.unsubscribe();
    run("set", "c", "3");
    expect(seen).toEqual(["set b 2"]);
    expect(server.effects.listening).toBe(false);
  });

  it("brackets a script's effects as one group", () => {
    server.effects.subscribe({ onEffect: (e) => seen.push(show(e)), onGroup: (begin) => seen.push(begin ? "BEGIN" : "END") });
    run("eval", "redis.call('set', 'a', '1'); return redis.call('incr', 'n')", "0");
    expect(seen).toEqual(["BEGIN", "set a 1", "incr n", "END"]);
  });
});
