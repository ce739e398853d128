// What MONITOR (and SLOWLOG) hide, as redis-server 7.0.15 shows it for the same commands.
import { describe, it, expect } from "vitest";
import { redactArgv } from "../../src/server/redact.js";

const show = (...a: string[]) => redactArgv(a.map((x) => Buffer.from(x))).map(String);

describe("redactArgv", () => {
  it("hides AUTH passwords, HELLO's AUTH pair and MIGRATE's AUTH/AUTH2", () => {
    expect(show("auth", "pw")).toEqual(["auth", "(redacted)"]);
    expect(show("AUTH", "user", "pw")).toEqual(["AUTH", "(redacted)", "(redacted)"]);
    expect(show("auth", "a", "b", "c")).toEqual(["auth", "a", "b", "c"]); // a syntax error: nothing parsed
    expect(show("hello", "2", "SETNAME", "n", "AUTH", "u", "p")).toEqual(["hello", "2", "SETNAME", "n", "AUTH", "(redacted)", "(redacted)"]);
    expect(show("migrate", "h", "1", "key", "9", "5000", "COPY", "AUTH", "pw")).toEqual(["migrate", "h", "1", "key", "9", "5000", "COPY", "AUTH", "(redacted)"]);
    expect(show("migrate", "h", "1", "", "9", "5000", "AUTH2", "u", "p", "KEYS", "a")).toEqual(["migrate", "h", "1", "", "9", "5000", "AUTH2", "(redacted)", "(redacted)", "KEYS", "a"]);
  });

  it("hides sensitive CONFIG SET values and every ACL SETUSER argument, and leaves other commands alone", () => {
    expect(show("config", "set", "maxmemory", "1mb", "requirepass", "x")).toEqual(["config", "set", "maxmemory", "1mb", "requirepass", "(redacted)"]);
    expect(show("acl", "setuser", "bob", "on", ">pw")).toEqual(["acl", "setuser", "(redacted)", "(redacted)", "(redacted)"]);
    const argv = ["set", "auth", "pw"].map((x) => Buffer.from(x));
    expect(redactArgv(argv)).toBe(argv);
  });
});
