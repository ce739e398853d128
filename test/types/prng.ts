// The seeded PRNG (mulberry32) the verifier uses, for the model tests: a failing run prints
// its seed and replays.
export { mulberry32 } from "../../src/verify/prng.js";

export function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)];
}

export function int(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}
