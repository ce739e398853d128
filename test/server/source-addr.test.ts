// bind-source-addr given as a host name (src/server/source-addr.ts): Redis hands it to
// getaddrinfo and binds the first address that binds; here it is resolved ahead and the
// first resolved address this machine can bind, of the family connected to, is used.
import { describe, it, expect } from "vitest";
import { lookup } from "node:dns/promises";
import { resolveSourceAddr, sourceAddressFor } from "../../src/server/source-addr.js";

async function resolvedSoon(name: string, host: string): Promise<string | undefined> {
  resolveSourceAddr(name);
  const deadline = Date.now() + 5000;
  let a: string | undefined;
  while ((a = sourceAddressFor(name, host)) === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return a;
}

describe("bind-source-addr as a host name", () => {
  it("is resolved and its local address used, for a link of the same family", async () => {
    const v4 = (await lookup("localhost", { all: true })).find((a) => a.family === 4)!.address;
    expect(await resolvedSoon("localhost", "127.0.0.1")).toBe(v4);
    // A link to an IPv6 address cannot come from an IPv4 one (unless localhost has a ::1 too).
    const v6 = (await lookup("localhost", { all: true })).find((a) => a.family === 6)?.address;
    expect(sourceAddressFor("localhost", "::1")).toBe(v6);
  });

  it("a name that does not resolve gives no source address (connect from any, Redis's best effort)", async () => {
    resolveSourceAddr("no-such-host.invalid");
    await new Promise((r) => setTimeout(r, 300));
    expect(sourceAddressFor("no-such-host.invalid", "127.0.0.1")).toBeUndefined();
  });

  it("an address stays as it was: used when local, else none", () => {
    expect(sourceAddressFor("127.0.0.2", "127.0.0.1")).toBe("127.0.0.2");
    expect(sourceAddressFor("203.0.113.77", "127.0.0.1")).toBeUndefined();
    expect(sourceAddressFor("", "127.0.0.1")).toBeUndefined();
  });
});
