// TlsSessionCache (src/server/tls-session-cache.ts): what the TLS listener resumes by session ID.
import { describe, it, expect } from "vitest";
import { TlsSessionCache } from "../../src/server/tls-session-cache.js";

describe("TlsSessionCache", () => {
  const id = (n: number) => Buffer.from([n]);
  it("keeps at most tls-session-cache-size sessions, dropping the oldest", () => {
    const c = new TlsSessionCache(() => ({ enabled: true, size: 2, timeoutSec: 300 }));
    c.store(id(1), Buffer.from("a"));
    c.store(id(2), Buffer.from("b"));
    c.store(id(3), Buffer.from("c"));
    expect(c.fetch(id(1))).toBeNull();
    expect(c.fetch(id(2))?.toString()).toBe("b");
    expect(c.fetch(id(3))?.toString()).toBe("c");
  });
  it("a size of 0 means no limit, as OpenSSL's cache size 0", () => {
    const c = new TlsSessionCache(() => ({ enabled: true, size: 0, timeoutSec: 300 }));
    for (let i = 0; i < 100; i++) c.store(id(i), Buffer.from("x"));
    expect(c.size).toBe(100);
  });
  it("forgets a session tls-session-cache-timeout seconds after it was stored", () => {
    let now = 1000;
    const c = new TlsSessionCache(() => ({ enabled: true, size: 10, timeoutSec: 5 }), () => now);
    c.store(id(1), Buffer.from("a"));
    now += 4999;
    expect(c.fetch(id(1))?.toString()).toBe("a");
    now += 1;
    expect(c.fetch(id(1))).toBeNull();
  });
  it("with tls-session-caching no, stores and resumes nothing", () => {
    let enabled = true;
    const c = new TlsSessionCache(() => ({ enabled, size: 10, timeoutSec: 300 }));
    c.store(id(1), Buffer.from("a"));
    enabled = false;
    expect(c.fetch(id(1))).toBeNull();
    c.store(id(2), Buffer.from("b"));
    enabled = true;
    expect(c.fetch(id(2))).toBeNull();
  });
});
