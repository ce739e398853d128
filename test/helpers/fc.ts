// fast-check settings shared by the property tests (test/replication/*.property.test.ts,
// test/simulation/convergence.property.test.ts).
//
//   FC_RUNS_SCALE=10   runs every property ten times as often (a soak; CI uses 1)
//   FC_SEED=N FC_PATH=P   replays the failing case fast-check printed ("seed: N, path: P")
//
// fast-check prints the seed, the path and the shrunk counterexample of any failure.
import fc from "fast-check";

export { fc };

const scale = Number(process.env.FC_RUNS_SCALE ?? "1");

/** Parameters for fc.assert: `runs` cases (times FC_RUNS_SCALE), or the replay FC_SEED/FC_PATH names. */
export function fcParams<T>(runs: number): fc.Parameters<T> {
  const p: fc.Parameters<T> = { numRuns: Math.max(1, Math.round(runs * scale)) };
  if (process.env.FC_SEED) {
    p.seed = Number(process.env.FC_SEED);
    if (process.env.FC_PATH) p.path = process.env.FC_PATH;
  }
  return p;
}
