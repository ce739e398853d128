// Polling waits for integration tests: a condition checked every pollMs until it holds or
// ms pass (then the test fails naming what it waited for), and one INFO field read.
import type Redis from "ioredis";

export async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 20_000, pollMs = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** One field of INFO (all sections), trimmed; undefined when absent. */
export const infoField = async (r: Redis, name: string): Promise<string | undefined> =>
  (await r.info()).match(new RegExp(`^${name}:(.*)$`, "m"))?.[1]?.trim();
