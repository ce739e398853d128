// A node's incarnation id (`<name>~<start time><random>`, README "Active-active replication")
// never sorts at or before the last start's, whatever the host clock says: peers refuse every
// incarnation of a name at or below one they know is final (gossip.ts refuses()), so a start
// made after the clock was set back must still sort later. The last start time is kept in
// `crdt-incarnation` in the node's dir; here it is put a day ahead, as if the clock had since
// gone back a day.
import { describe, it, expect, afterAll } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, freePort, connectClient } from "../helpers/server.js";

const startOf = (id: string) => parseInt(/~([0-9a-z]{9})/.exec(id)![1], 36);

describe("active-active: the incarnation id of a start never sorts before the last one's", () => {
  const dir = mkdtempSync(join(tmpdir(), "lkv-aa-inc-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function startedId(): Promise<string> {
    const port = await freePort();
    const s = await startServer(["--crdt-node-id", "inc", "--crdt-bus-port", String(await freePort())], {}, { port, dir });
    const c = await connectClient(port);
    try {
      return /^crdt_node_id:(\S+)/m.exec(await c.info("crdt"))![1];
    } finally {
      c.disconnect();
      await s.stop();
    }
  }

  it("starts after a recorded later start (a clock set back) sort after it, and record themselves", async () => {
    const first = await startedId();
    expect(Math.abs(startOf(first) - Date.now())).toBeLessThan(60_000);
    expect(parseInt(readFileSync(join(dir, "crdt-incarnation"), "latin1").trim(), 36)).toBe(startOf(first));
    const ahead = Date.now() + 86_400_000;
    writeFileSync(join(dir, "crdt-incarnation"), `${ahead.toString(36)}\n`);
    const second = await startedId();
    expect(startOf(second)).toBe(ahead + 1);
    expect(second > `inc~${ahead.toString(36).padStart(9, "0")}`).toBe(true);
    const third = await startedId();
    expect(startOf(third)).toBe(ahead + 2);
  });
});
