// A JavaScript exception in a command's code: the sending client gets an error (or, with a
// reply already half-written, its connection closed), the exception is logged, and a WASM
// kernel trap still ends the process (src/server/command-fault.ts).
import { describe, it, expect } from "vitest";
import { commandFault } from "../../src/server/command-fault.js";
import { ReplyWriter } from "../../src/server/reply-writer.js";
import { logSettings } from "../../src/server/log.js";
import type { Client } from "../../src/server/client.js";
import type { CommandSpec } from "../../src/commands/table.js";

function fakeClient() {
  return { id: 7, addr: "127.0.0.1:5000", reply: new ReplyWriter(), closeAfterReply: false } as unknown as Client;
}
const spec = { name: "geopos" } as CommandSpec;

function quietly<T>(fn: () => T): { result: T; logged: string } {
  const write = logSettings.write;
  let logged = "";
  logSettings.write = (line) => { logged += line; return true; };
  try {
    return { result: fn(), logged };
  } finally {
    logSettings.write = write;
  }
}

describe("a fault in a command's code", () => {
  it("answers an error naming the command when nothing was written yet, and logs the stack", () => {
    const c = fakeClient();
    const { logged } = quietly(() => commandFault(c, spec, c.reply.pending, new RangeError("bad\r\nthing")));
    expect(c.reply.take().toString()).toBe("-ERR internal error in 'geopos': bad thing\r\n");
    expect(c.closeAfterReply).toBe(false);
    expect(logged).toContain("Internal error in the 'geopos' command of client id=7");
    expect(logged).toContain("RangeError: bad");
  });

  it("closes the connection after a half-written reply instead of writing into it", () => {
    const c = fakeClient();
    const before = c.reply.pending;
    c.reply.raw("*2\r\n$3\r\nabc\r\n");
    quietly(() => commandFault(c, spec, before, new Error("boom")));
    expect(c.reply.take().toString()).toBe("*2\r\n$3\r\nabc\r\n");
    expect(c.closeAfterReply).toBe(true);
  });

  it("throws a WASM kernel trap on", () => {
    const c = fakeClient();
    const trap = new WebAssembly.RuntimeError("unreachable");
    expect(() => commandFault(c, spec, c.reply.pending, trap)).toThrow(trap);
  });
});
