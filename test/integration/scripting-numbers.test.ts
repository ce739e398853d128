// Lua numbers as Redis's Lua 5.1 has them, side by side with redis-server 7.0: every number
// a double (hex numerals past 32 bits did wrap in fengari: 0x100000000 was 0, which broke
// BullMQ's priority scores), string.format over C's sprintf (src/scripting/lib-format.ts),
// and strings as table keys and in comparisons (src/scripting/fengari.ts stringKey).
// Each script runs on both servers; the replies (or error texts) must be the same.
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { startServer, connectClient, type RunningServer } from "../helpers/server.js";
import { hasRealRedis, startRealRedis, type RealRedis } from "../helpers/real-redis.js";

const SCRIPTS = [
  // Numerals and arithmetic.
  "return tostring(5 * 0x100000000 + 1)",
  "return {tostring(0xffffffff + 1), tostring(-0x10), tostring(0xffffffffffffffffff), tostring(tonumber('0x1p4'))}",
  "return tostring(tonumber('  0x100000000  ') + 0xff)",
  "local s = 0 for i = 1, 100000 do s = s + i end return tostring(s * 65536)",
  "return tostring(2^53 + 1) .. ' ' .. tostring(65536 * 65536)",
  // string.format: integers.
  "return string.format('%d|%i|%d|%d', 2^40, -3.5, -2^63, 2^64)",
  "return string.format('%x|%X|%o|%u|%x', 2^40, 255, 8, -1, -1)",
  "return string.format('%05d|%-5d|%+d|% d|%.3d|%.0d|%#x|%#o|%#x', 42, 42, 42, 42, 7, 0, 255, 8, 0)",
  "return string.format('[%3c][%-3c]%c%c', 65, 66, 76, 97) .. string.format('%c', 0) .. 'x'",
  // string.format: floats.
  "return string.format('%g|%g|%g|%g|%g|%g', 2^40, 0, 1e-5, 1234567, 0.0001, 1e15)",
  "return string.format('%e|%E|%.0e|%#.0e|%#g|%G', 12345.678, 12.5, 15, 15, 1, 1e-10)",
  "return string.format('%.0f|%.0f|%.0f|%.1f|%.2f|%.3f', 0.5, 1.5, 2.5, 0.25, 1.005, 1/3)",
  "return string.format('%f|%e|%g|%f', 1/0, -1/0, 0/0, 2^70)",
  "return string.format('%5.1f|%-8.2e|%+.3g|% f|%010.2f|%.17g', 3.14159, 1234.5, 0.00012345, 2, -1.5, 0.1)",
  "return string.format('%.99f', 1/3)",
  "return string.format('%e|%.0g|%.1g', 5e-324, 0.5, 95)",
  // string.format: strings and errors.
  "return string.format('%s|%s|%5s|%-5s|%.2s|%10.4s', 12, 1.5, 'ab', 'ab', 'abc', 'abcdefg')",
  "return string.format('%q', 'a\\tb\\0c\\r\"\\\\\\n')",
  "return string.format('%s=%d%%', 'k', 12)",
  "return string.format('%d')",
  "return string.format('%s %d %s', 'a', 1)",
  "return string.format('%d', 'x')",
  "return string.format('%s', {})",
  "return string.format('%a', 1)",
  "return string.format('%123d', 1)",
  "return string.format('%------d', 1)",
  // Strings as table keys and in comparisons (fengari keyed "\1#" and "\18\3" alike and
  // ordered bytes below 0x10 wrongly).
  "local t = {} t['\\1#'] = 1 t['\\18\\3'] = 2 local n = 0 for _ in pairs(t) do n = n + 1 end return {t['\\1#'], n}",
  "return {tostring('a\\tb' < 'a b'), tostring('\\2' < '\\16'), tostring('\\0' < '\\1'), tostring('ab' < 'abc'), tostring('b' > 'abc')}",
  "local t = {} for i = 0, 255 do t[string.char(i, 7)] = i end local n = 0 for k, v in pairs(t) do if t[k] == v then n = n + 1 end end return n",
  "local a = {} for i = 0, 40 do a[#a + 1] = string.char(i % 17, 65 + i % 5) end table.sort(a) local s = '' for _, v in ipairs(a) do s = s .. string.format('%02x', v:byte(1)) .. v:sub(2) end return s",
];

describe.skipIf(!hasRealRedis)("Lua numbers and string.format, side by side with redis-server", () => {
  let ours: RunningServer | undefined;
  let real: RealRedis | undefined;
  const clients: Redis[] = [];
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await ours?.stop();
    await real?.stop();
  });

  it("every script replies as on Redis 7.0", async () => {
    real = await startRealRedis();
    ours = await startServer();
    const [r, o] = [await connectClient(real.port), await connectClient(ours.port)];
    clients.push(r, o);
    // Error texts name the script's sha (the same on both) and its line.
    const run = (c: Redis, script: string) => c.eval(script, 0).catch((e: Error) => ({ error: e.message }));
    for (const script of SCRIPTS) {
      expect({ script, reply: await run(o, script) }).toEqual({ script, reply: await run(r, script) });
    }
  });
});
