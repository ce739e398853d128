// A client's reply buffer as Redis sizes it (src/server/reply-buffer.ts): CLIENT LIST's
// rbs/rbp and INFO's reply_buffer_shrinks/expands. The sequence below is what redis-server
// 7.0.15 shows for the same steps (an idle client shrinks to 1 KB at the cron's first passes,
// a client whose replies fill its buffer doubles it each pass, up to 16 KB).
import { describe, it, expect } from "vitest";
import type Redis from "ioredis";
import { useServer, connectClient, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; }, { args: ["--enable-debug-command", "yes"] });

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

async function replyBuffer(name: string): Promise<string> {
  const list = (await r.call("CLIENT", "LIST")) as string;
  const line = list.split("\n").find((l) => l.includes(` name=${name} `))!;
  return / rbs=\d+ rbp=\d+/.exec(line)![0].trim();
}

/** Waits (cron passes are 100 ms apart at hz 10) until the client's rbs/rbp pass `ok`. */
async function until(name: string, ok: (v: string) => boolean): Promise<string> {
  let v = "";
  for (let i = 0; i < 200; i++) {
    v = await replyBuffer(name);
    if (ok(v)) return v;
    await sleep(25);
  }
  throw new Error(`rbs/rbp stayed ${v}`);
}

function stat(text: string, field: string): number {
  return Number(new RegExp(`^${field}:(\\d+)`, "m").exec(text)![1]);
}

describe("reply buffer sizing", () => {
  it("shrinks an idle client's buffer and doubles a busy one's, as Redis's clientsCron", async () => {
    await r.config("RESETSTAT");
    // The peak resets every 100 ms, so the idle client's shrink does not depend on which cron
    // pass its first replies (the client's ready check, SETNAME) fell before.
    await r.call("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100");
    const t = await connectClient(srv.port);
    try {
      await t.client("SETNAME", "rb");
      // A new client's buffer is 16 KB (its peak counts as full until the cron first resets it).
      expect(await replyBuffer("rb")).toMatch(/^rbs=16384 /);
      // Idle: shrunk to 1 KB (its peak reset, then under half the buffer).
      expect(await until("rb", (v) => v.startsWith("rbs=1024 "))).toBe("rbs=1024 rbp=0");
      await r.set("big", "x".repeat(32768));
      await r.call("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "never");
      // Each GET fills the buffer; the next cron pass doubles it, up to 16 KB.
      for (const size of [2048, 4096, 8192, 16384]) {
        await t.get("big");
        expect(await until("rb", (v) => v.startsWith(`rbs=${size} `))).toBe(`rbs=${size} rbp=${size / 2}`);
      }
      await t.get("big");
      expect(await replyBuffer("rb")).toBe("rbs=16384 rbp=16384");
      await sleep(300);
      expect(await replyBuffer("rb")).toBe("rbs=16384 rbp=16384");
      const info = (await r.info("stats")) as string;
      expect(stat(info, "reply_buffer_expands")).toBe(4);
      expect(stat(info, "reply_buffer_shrinks")).toBeGreaterThanOrEqual(1);
      // Resizing off: the buffer keeps its size whatever the peak.
      await r.call("DEBUG", "REPLYBUFFER", "RESIZING", "0");
      await r.call("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100");
      await sleep(400);
      expect(await replyBuffer("rb")).toBe("rbs=16384 rbp=16384");
    } finally {
      await r.call("DEBUG", "REPLYBUFFER", "RESIZING", "1");
      await r.call("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "reset");
      t.disconnect();
    }
  });

  it("answers DEBUG REPLYBUFFER's errors as Redis", async () => {
    await expect(r.call("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "x")).rejects.toThrow("ERR value is not an integer or out of range");
    await expect(r.call("DEBUG", "REPLYBUFFER", "foo", "1")).rejects.toThrow("ERR unknown subcommand or wrong number of arguments for 'REPLYBUFFER'. Try DEBUG HELP.");
  });
});
