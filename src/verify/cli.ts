// npm run verify -- [--nodes 1] [--seconds 30] [--rate 200] [--concurrency 10] [--seed S]
//                   [--cas lua|watch] [--keys 3] [--timeout 1000] [--shards N] [--buggify]
//                   [--ops N] [--port P,...] [--out DIR] [--check history.json]
//
// Starts the servers (or uses --port), runs the workload, checks the histories and prints
// the summary table. Exit status: 0 all linearizable, 1 a violation, 2 usage or setup error,
// 3 the checker could not decide. On a violation the failing fragments are printed as text
// timelines and written as an HTML page, with the full history as JSON (replay it with
// --check). --nodes 3 / 5 start nodes that replicate active-active and check the eventual
// model instead (with --buggify, through fault proxies); see docs/HARNESS.md.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startServerProcess, type ServerProcess } from "./server-process.js";
import { checkRun, describeFailures, failuresHtml, formatTable } from "./summary.js";
import { runWorkload, type CasMode, type WorkloadRun } from "./workload.js";
import { multiNode } from "./multi-node.js";

export async function main(argv: string[]): Promise<number> {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      nodes: { type: "string", default: "1" },
      seconds: { type: "string", default: "30" },
      rate: { type: "string", default: "200" },
      concurrency: { type: "string", default: "10" },
      seed: { type: "string" },
      cas: { type: "string", default: "lua" },
      keys: { type: "string", default: "3" },
      timeout: { type: "string", default: "1000" },
      ops: { type: "string" },
      shards: { type: "string" },
      buggify: { type: "boolean", default: false },
      port: { type: "string" },
      out: { type: "string" },
      check: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (o.help) {
    console.log(readFileSync(new URL(import.meta.url), "utf8").split("\n").filter((l) => l.startsWith("// ") || l === "//").map((l) => l.slice(3)).join("\n"));
    return 0;
  }
  const seed = o.seed !== undefined ? Number(o.seed) : Math.floor(Math.random() * 2 ** 31);
  const nodes = Number(o.nodes);
  const out = o.out ?? join(tmpdir(), `latticekv-verify-${seed}`);

  if (o.check) {
    const run = JSON.parse(readFileSync(o.check, "utf8")) as WorkloadRun & { nodes?: number };
    return report(run, run.nodes ?? 1, seed, out, false);
  }
  if (!Number.isInteger(nodes) || nodes < 1) {
    console.error("--nodes must be a positive number");
    return 2;
  }
  if (nodes > 1) return multiNode({ nodes, seed, argv: o });
  if (o.cas !== "lua" && o.cas !== "watch") {
    console.error("--cas must be lua or watch");
    return 2;
  }

  const servers: ServerProcess[] = [];
  let ports: number[];
  try {
    if (o.port) ports = o.port.split(",").map(Number);
    else {
      const env: Record<string, string> = {};
      if (o.shards) env.LATTICEKV_SHARDS = o.shards;
      if (o.buggify) env.LATTICEKV_BUGGIFY = String(seed);
      servers.push(await startServerProcess([], env));
      ports = servers.map((s) => s.port);
    }
    console.log(
      `verify: seed ${seed}, ${nodes} node(s) on port ${ports.join(",")}, ${o.seconds}s at ${o.rate} ops/s, ` +
        `${o.concurrency} clients, CAS via ${o.cas}${o.buggify ? ", buggify on" : ""}`,
    );
    for (const s of servers) {
      const line = s.output().split("\n").find((l) => l.includes("buggify enabled"));
      if (line) console.log(`verify: port ${s.port}: ${line.slice(line.indexOf("buggify"))}`);
    }
    const run = await runWorkload({
      ports,
      seconds: Number(o.seconds),
      rate: Number(o.rate),
      concurrency: Number(o.concurrency),
      seed,
      registerKeys: Number(o.keys),
      cas: o.cas as CasMode,
      timeoutMs: Number(o.timeout),
      ops: o.ops ? Number(o.ops) : undefined,
    });
    return report(run, nodes, seed, out, true);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

function report(run: WorkloadRun, nodes: number, seed: number, out: string, save: boolean): number {
  const checked = checkRun(run, nodes);
  console.log(formatTable([checked.summary]));
  if (checked.summary.linearizable === "yes") return 0;
  console.log("\n" + describeFailures(checked));
  mkdirSync(out, { recursive: true });
  if (save) writeFileSync(join(out, "history.json"), JSON.stringify({ ...run, nodes }));
  writeFileSync(join(out, "timeline.html"), failuresHtml(checked, `LatticeKV verify: seed ${seed}, ${nodes} node(s)`));
  console.log(`\ntimeline: ${join(out, "timeline.html")}${save ? `\nhistory: ${join(out, "history.json")} (re-check with --check)` : ""}`);
  return checked.summary.linearizable === "no" ? 1 : 3;
}
