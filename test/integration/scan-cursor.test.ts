// SCAN-family cursors as Redis's parseScanCursorOrReply reads them (strtoul with its checks):
// an empty cursor is 0 (redis-server 7.0.15: SSCAN key "" answers the scan from 0), whether
// the kernel or the host runs the command.
import { describe, it, expect } from "vitest";
import Redis from "ioredis";
import { useServer } from "../helpers/server.js";

let r: Redis;
useServer((_s, c) => { r = c; });

describe("scan cursors", () => {
  it("an empty cursor starts the scan, for small (kernel) and big (host) values alike", async () => {
    await r.flushall();
    await r.sadd("small", "a", "b");
    const members: string[] = [];
    for (let i = 0; i < 200; i++) members.push(`m${i}`);
    await r.sadd("big", ...members);
    await r.zadd("z", "1", "a");
    await r.hset("h", "f", "v");
    const [c1, s1] = await r.sscan("small", "");
    expect(c1).toBe("0");
    expect(s1.sort()).toEqual(["a", "b"]);
    const [, s2] = await r.sscan("big", "", "COUNT", "1000");
    expect(s2.length).toBe(200);
    expect(await r.zscan("z", "")).toEqual(["0", ["a", "1"]]);
    expect(await r.hscan("h", "")).toEqual(["0", ["f", "v"]]);
    await expect(r.sscan("big", "+")).rejects.toThrow("invalid cursor");
    await expect(r.sscan("big", " 0")).rejects.toThrow("invalid cursor");
  });
});
