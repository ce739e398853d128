// nodes.conf saying "myself,slave -" (this node a replica of a master that was unknown when
// the file was saved) loads as a replica of an unknown master, as Redis's clusterLoadConfig:
// the flags keep CLUSTER_NODE_SLAVE with slaveof NULL. Real redis-server 7.0.15 with this file:
// CLUSTER NODES and a CLUSTER SAVECONFIG keep "myself,slave -", CLUSTER SHARDS is empty, SETSLOT
// answers "Please use SETSLOT only with masters.", ROLE is master (nothing to replicate), and
// CLUSTER RESET SOFT turns it into "myself,master". Ours loaded it as a master.
import { describe, it, expect, afterAll } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, connectClient, freePort, type RunningServer } from "../helpers/server.js";
import type Redis from "ioredis";

describe("cluster config file with myself a replica of an unknown master", () => {
  const dir = mkdtempSync(join(tmpdir(), "lkv-myself-replica-"));
  let srv: RunningServer | undefined;
  let r: Redis | undefined;
  afterAll(async () => {
    r?.disconnect();
    await srv?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("loads as 'myself,slave -', keeps it on save, and RESET SOFT makes it a master", async () => {
    const port = await freePort();
    const id = "0123456789abcdef0123456789abcdef01234567";
    const file = join(dir, "nodes.conf");
    writeFileSync(file, `${id} 127.0.0.1:${port}@${port + 10000} myself,slave - 0 0 0 connected\nvars currentEpoch 3 lastVoteEpoch 0\n`);
    srv = await startServer(["--cluster-enabled", "yes"], {}, { port, dir });
    r = await connectClient(srv.port);
    expect(String(await r.cluster("MYID"))).toBe(id);
    const line = String(await r.cluster("NODES")).trim();
    expect(line.split(" ").slice(0, 4)).toEqual([id, `127.0.0.1:${port}@${port + 10000}`, "myself,slave", "-"]);
    expect(await r.cluster("SHARDS")).toEqual([]);
    await expect(r.cluster("SETSLOT", "5", "STABLE")).rejects.toThrow("Please use SETSLOT only with masters.");
    expect((await r.call("ROLE") as unknown[])[0]).toBe("master");
    expect(await r.cluster("SAVECONFIG")).toBe("OK");
    expect(readFileSync(file, "latin1").split("\n")[0].split(" ").slice(2, 4)).toEqual(["myself,slave", "-"]);
    expect(await r.cluster("RESET", "SOFT")).toBe("OK");
    expect(String(await r.cluster("NODES")).split(" ").slice(2, 4)).toEqual(["myself,master", "-"]);
  }, 60_000);
});
