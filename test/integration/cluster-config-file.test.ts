// nodes.conf is rewritten in place, as Redis's clusterSaveConfig does: the new text over the
// old, padded with newlines to the old length, then truncated to the new text. A config that
// shrinks (here from 8192 single-slot ranges to none) must leave no padding or old text
// behind, and a restart must load what was saved.
import { describe, it, expect, afterAll } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, connectClient, freePort, type RunningServer } from "../helpers/server.js";
import type Redis from "ioredis";

describe("cluster config file (nodes.conf)", () => {
  const dir = mkdtempSync(join(tmpdir(), "lkv-nodes-conf-"));
  let srv: RunningServer | undefined;
  let r: Redis | undefined;
  afterAll(async () => {
    r?.disconnect();
    await srv?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("shrinks to exactly the new config, and a restart loads it", async () => {
    srv = await startServer(["--cluster-enabled", "yes"], {}, { port: await freePort(), dir });
    r = await connectClient(srv.port);
    const id = String(await r.cluster("MYID"));
    const file = join(dir, "nodes.conf");
    const evenSlots = Array.from({ length: 8192 }, (_, i) => String(i * 2));
    expect(await r.cluster("ADDSLOTS", ...evenSlots)).toBe("OK");
    const big = readFileSync(file, "latin1");
    expect(big.split("\n")[0].split(" ").length).toBe(8 + 8192);

    expect(await r.cluster("DELSLOTS", ...evenSlots.slice(1))).toBe("OK");
    const small = readFileSync(file, "latin1");
    const lines = small.split("\n");
    expect(lines.length).toBe(3);
    expect(lines[0]).toMatch(new RegExp(`^${id} 127\\.0\\.0\\.1:${srv.port}@\\d+ myself,master - \\d+ \\d+ 0 connected 0$`));
    expect(lines[1]).toBe("vars currentEpoch 0 lastVoteEpoch 0");
    expect(lines[2]).toBe("");

    r.disconnect();
    await srv.stop();
    srv = await startServer(["--cluster-enabled", "yes"], {}, { port: srv.port, dir });
    r = await connectClient(srv.port);
    expect(String(await r.cluster("MYID"))).toBe(id);
    expect(await r.cluster("SLOTS")).toEqual([[0, 0, ["127.0.0.1", srv.port, id, []]]]);
  }, 60_000);
});
