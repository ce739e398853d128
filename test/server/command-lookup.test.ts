// Dispatch's command lookup from argv[0]'s bytes (src/server/command-lookup.ts): the cache
// must answer as CommandTable.lookup does, whatever the case, and forget renamed names.
import { describe, it, expect } from "vitest";
import { CommandTable } from "../../src/commands/table.js";
import { lookupCommandBytes } from "../../src/server/command-lookup.js";

const bytes = (s: string) => Buffer.from(s, "latin1");

function table(): CommandTable {
  const t = new CommandTable();
  for (const name of ["lpush", "rpush", "sadd", "zadd", "lpop"]) t.define(name, () => {});
  return t;
}

describe("lookupCommandBytes", () => {
  it("finds a command in any letter case, the same row every time", () => {
    const t = table();
    const spec = t.lookup("lpush");
    expect(spec).toBeDefined();
    for (const n of ["lpush", "LPUSH", "LpUsH", "lpush", "LPUSH"]) expect(lookupCommandBytes(t, bytes(n))).toBe(spec);
  });

  it("tells names apart that share length and first/last letters, and answers unknown names with undefined", () => {
    const t = table();
    expect(lookupCommandBytes(t, bytes("lpush"))!.name).toBe("lpush");
    expect(lookupCommandBytes(t, bytes("rpush"))!.name).toBe("rpush");
    expect(lookupCommandBytes(t, bytes("lpush"))!.name).toBe("lpush");
    expect(lookupCommandBytes(t, bytes("lpusx"))).toBeUndefined();
    expect(lookupCommandBytes(t, bytes("lpushlpushlpushlpushlpushlpushlpush"))).toBeUndefined();
    // A command Redis has that this table does not implement is not found either.
    expect(lookupCommandBytes(t, bytes("hello"))).toBeUndefined();
    expect(lookupCommandBytes(t, bytes("l\u00d0ush"))).toBeUndefined();
  });

  it("forgets a name once rename-command moved it", () => {
    const t = table();
    expect(lookupCommandBytes(t, bytes("sadd"))!.name).toBe("sadd");
    t.rename("sadd", "myadd");
    expect(lookupCommandBytes(t, bytes("sadd"))).toBeUndefined();
    expect(lookupCommandBytes(t, bytes("MYADD"))!.name).toBe("sadd");
  });
});
