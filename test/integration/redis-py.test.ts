// redis-py (Debian's python3-redis 4.3) must not tell LatticeKV from Redis 7.0: the same
// session (test/clients/redis_py_session.py: commands of every type, pipelines, WATCH,
// scripts, Lock, pub/sub, blocking pops, streams, INFO/CLIENT/CONFIG, errors) runs against
// real redis-server and against our server, and prints the same results.
// .ci/run installs python3-redis and redis-server; elsewhere the test skips without them.
import { describe, it, expect, afterAll } from "vitest";
import { execFile, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startServer, type RunningServer } from "../helpers/server.js";
import { hasRealRedis, startRealRedis, type RealRedis } from "../helpers/real-redis.js";

const PYTHON = "/usr/bin/python3";
const session = fileURLToPath(new URL("../clients/redis_py_session.py", import.meta.url));
const hasRedisPy = spawnSync(PYTHON, ["-c", "import redis"]).status === 0;
if (!hasRedisPy) console.warn("redis-py is not installed (apt-get install python3-redis): the redis-py test is skipped");
if (!hasRedisPy && process.env.CI) throw new Error("redis-py is not installed and CI is set: .ci/run installs python3-redis");

function runSession(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [session, String(port)], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis_py_session.py against port ${port} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

describe.skipIf(!hasRedisPy || !hasRealRedis)("redis-py", () => {
  let ours: RunningServer | undefined;
  let real: RealRedis | undefined;
  afterAll(async () => {
    await ours?.stop();
    await real?.stop();
  });

  it("a session of redis-py calls gets the same results from LatticeKV as from redis-server 7.0", async () => {
    real = await startRealRedis();
    ours = await startServer();
    const expected = JSON.parse(await runSession(real.port)) as [string, unknown][];
    const got = JSON.parse(await runSession(ours.port)) as [string, unknown][];
    // Step by step, so a difference names its step.
    expect(got.map(([name]) => name)).toEqual(expected.map(([name]) => name));
    for (let i = 0; i < expected.length; i++) expect({ step: got[i][0], result: got[i][1] }).toEqual({ step: expected[i][0], result: expected[i][1] });
  }, 120_000);
});
