#!/usr/bin/env node
// npm run sim -- --seed N       replays one simulation seed (test/simulation/)
// npm run sim -- --seeds 3000   runs seeds 1..3000 (CI's; more is a soak run); --first F starts at F
// npm run sim -- --buggify-seed N / --buggify-seeds COUNT   the same for the simulation with
//                                the replication fault points firing (seeds 101..)
// npm run sim -- --case '<json>'  replays one case the fast-check convergence property printed
// npm run sim -- --fc-scale 20    runs every fast-check property (merge laws, HLC, simulator
//                                convergence) 20 times as many cases as CI does (a soak)
import { spawnSync } from "node:child_process";

const args = process.argv.slice(2);
const env = { ...process.env };
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--seed") env.SIM_SEED = args[++i];
  else if (args[i] === "--seeds") env.SIM_SEEDS = args[++i];
  else if (args[i] === "--first") env.SIM_FIRST = args[++i];
  else if (args[i] === "--buggify-seed") env.SIM_BUGGIFY_SEED = args[++i];
  else if (args[i] === "--buggify-seeds") env.SIM_BUGGIFY_SEEDS = args[++i];
  else if (args[i] === "--case") env.SIM_CASE = args[++i];
  else if (args[i] === "--fc-scale") env.FC_RUNS_SCALE = args[++i];
  else { console.error(`usage: npm run sim -- [--seed N | --seeds COUNT [--first F]] [--buggify-seed N | --buggify-seeds COUNT] [--case JSON] [--fc-scale K]`); process.exit(2); }
}
// (--fc-scale also runs the merge-law and HLC properties in test/replication)
// (a replay of one seed runs only the files that read SIM_SEED: the CI seeds and the fixed-seed
// simulation, not the 90-second convergence property)
const files = env.FC_RUNS_SCALE ? ["test/simulation", "test/replication"]
  : env.SIM_SEED && !env.SIM_SEEDS ? ["test/simulation/seeds-", "test/simulation/simulation.test.ts"] : ["test/simulation"];
const r = spawnSync("npx", ["vitest", "run", "--project", "unit", ...files], { stdio: "inherit", env });
process.exit(r.status ?? 1);
