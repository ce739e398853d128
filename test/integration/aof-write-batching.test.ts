// The AOF's writes of one read go out as one write(2), before the read's replies
// (src/server/reply-fence.ts), as Redis writes its AOF buffer once per event-loop turn.
import { describe, it, expect, afterEach } from "vitest";
import { connect, type Socket } from "node:net";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, type RunningServer } from "../helpers/server.js";

const servers: RunningServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.stop();
});

/** Write system calls the process made so far (/proc/PID/io syscw). */
function writeCalls(pid: number): number {
  const m = /^syscw: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, "latin1"));
  return Number(m![1]);
}

/** Sends bytes in one write and resolves once `replies` simple-string replies have arrived. */
function pipeline(port: number, bytes: string, replies: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect(port, "127.0.0.1", () => s.write(bytes));
    let got = "";
    s.setEncoding("latin1");
    s.on("data", (d: string) => {
      got += d;
      if (got.split("\r\n").length - 1 >= replies) { s.end(); resolve(got); }
    });
    s.on("error", reject);
  });
}

const N = 200;
const sets = Array.from({ length: N }, (_, i) => `*3\r\n$3\r\nSET\r\n$${String(i).length + 2}\r\nk:${i}\r\n$1\r\nv\r\n`).join("");

function incrText(dir: string): string {
  const d = join(dir, "appendonlydir");
  return readdirSync(d).filter((f) => f.endsWith(".incr.aof")).map((f) => readFileSync(join(d, f), "latin1")).join("");
}

describe("AOF writes of a read", { timeout: 60_000 }, () => {
  for (const fsync of ["everysec", "always"]) {
    it.skipIf(!existsSync("/proc/self/io"))(`appendfsync ${fsync}: ${N} pipelined SETs are one AOF write, in the file before their replies arrive`, async () => {
      const srv = await startServer(["--appendonly", "yes", "--appendfsync", fsync]);
      servers.push(srv);
      const pid = srv.proc.pid!;
      // A first round trip: the connection's own set-up writes are not counted.
      await pipeline(srv.port, "PING\r\n", 1);
      const before = writeCalls(pid);
      const out = await pipeline(srv.port, sets, N);
      // The file holds every SET once its replies are here (written before the replies left).
      const text = incrText(srv.dir);
      const after = writeCalls(pid);
      expect(out).toBe("+OK\r\n".repeat(N));
      for (let i = 0; i < N; i++) expect(text).toContain(`$${String(i).length + 2}\r\nk:${i}\r\n`);
      // One write per socket read (the kernel may split the 7 KB request in a few reads) and
      // one reply write per read, not one AOF write per command (N + replies before).
      expect(after - before).toBeLessThan(20);
    });
  }

  it("INFO's aof_buffer_length counts what the read's earlier commands wait to write, as Redis's aof_buf", async () => {
    const srv = await startServer(["--appendonly", "yes"]);
    servers.push(srv);
    const field = (bytes: string): Promise<number> => new Promise((resolve, reject) => {
      const s: Socket = connect(srv.port, "127.0.0.1", () => s.write(bytes));
      let got = "";
      s.setEncoding("latin1");
      s.on("data", (d: string) => {
        got += d;
        const m = /aof_buffer_length:(\d+)\r\n/.exec(got);
        if (m) { s.end(); resolve(Number(m[1])); }
      });
      s.on("error", reject);
    });
    // redis-server 7.0.15 gives the first two: 50 for the first SET in db 0 since start-up (its
    // SELECT, 23 bytes, then the SET's 27), then 27 with db 0 selected. The third is 0 here;
    // Redis's can be more, when under everysec it postponed a write behind a background fsync.
    expect(await field("SET k v\r\nINFO persistence\r\n")).toBe(50);
    expect(await field("SET k v\r\nINFO persistence\r\n")).toBe(27);
    expect(await field("INFO persistence\r\n")).toBe(0);
  });
});
