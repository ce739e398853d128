// The simulator's convergence property, with fast-check drawing the cases: for any seed,
// cluster size, network (loss, duplication, delay range), fault rates and workload length,
// a simulated cluster (real kernel, Replicator and Gossip per node) that heals and settles
// ends with every replica holding the same state, every keyspace matching its CRDT state,
// and counters, grow-only sets, deleted keys and unique list elements as clients left them
// (workload.ts's checker). fast-check shrinks a failing case towards fewer steps, fewer
// nodes and a calmer network before printing it.
//
// Replay a printed case: npm run sim -- --case '<the JSON after "replay:">'
// More cases: FC_RUNS_SCALE=10 npx vitest run test/simulation/convergence.property.test.ts
import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, it } from "vitest";
import { fc, fcParams } from "../helpers/fc.js";
import { simulate, type SimOptions } from "./workload.js";

interface Case {
  seed: number;
  nodes: number;
  steps: number;
  dropRate: number;
  dupRate: number;
  maxDelay: number;
  partitionRate: number;
  crashRate: number;
}

const simCase: fc.Arbitrary<Case> = fc.record({
  seed: fc.integer({ min: 1, max: 0x7fffffff }),
  nodes: fc.integer({ min: 3, max: 5 }),
  steps: fc.integer({ min: 5, max: 60 }),
  dropRate: fc.constantFrom(0, 0.05, 0.1, 0.3),
  dupRate: fc.constantFrom(0, 0.05, 0.2),
  maxDelay: fc.integer({ min: 1, max: 200 }),
  partitionRate: fc.constantFrom(0, 0.02, 0.1),
  crashRate: fc.constantFrom(0, 0.005, 0.03),
});

function run(k: Case): string[] {
  const opts: SimOptions = {
    steps: k.steps, nodes: k.nodes,
    net: { dropRate: k.dropRate, dupRate: k.dupRate, minDelay: 1, maxDelay: k.maxDelay },
    partitionRate: k.partitionRate, healRate: 0.015, crashRate: k.crashRate,
  };
  return simulate(k.seed, opts).problems;
}

/** Runs per CI run: each costs ~100 ms here (boot 3-5 nodes, a short workload, settle). */
const RUNS = 200;

describe("cluster simulation (fast-check)", () => {
  const replay = process.env.SIM_CASE ? (JSON.parse(process.env.SIM_CASE) as Case) : null;

  it("every replica converges to the specified state, whatever the seed, size, network and faults", async () => {
    if (replay) {
      const problems = run(replay);
      if (problems.length) throw new Error(problems.slice(0, 8).join("; "));
      return;
    }
    await fc.assert(fc.asyncProperty(simCase, async (k) => {
      // (a turn of the event loop first, so the nodes of the runs before are let go: seeds.ts says why)
      await nextTurn();
      const problems = run(k);
      if (problems.length) throw new Error(`replay: ${JSON.stringify(k)} — ${problems.slice(0, 8).join("; ")}`);
    }), fcParams(RUNS));
  }, 600_000);
});
