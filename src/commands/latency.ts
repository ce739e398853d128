// LATENCY LATEST / HISTORY / RESET / GRAPH / DOCTOR / HISTOGRAM / HELP (Redis's
// latencyCommand); the monitor is src/server/latency-monitor.ts, the per-command
// histograms src/commands/stats.ts.
import type { CommandTable, CommandSpec } from "./table.js";
import type { ReplyWriter } from "../server/reply-writer.js";
import type { LatencyHistogram } from "./stats.js";
import { replyHelp } from "./help.js";

/** fillCommandCDF: {calls N, histogram_usec {usec: cumulative count ...}}. */
function replyCdf(reply: ReplyWriter, spec: CommandSpec): void {
  const h = spec.latency as LatencyHistogram;
  reply.bulk(spec.name);
  reply.mapLen(2);
  reply.bulk("calls");
  reply.integer(h.count);
  reply.bulk("histogram_usec");
  const cdf = h.cdf();
  reply.mapLen(cdf.length);
  for (const [usec, n] of cdf) {
    reply.integer(usec);
    reply.integer(n);
  }
}

export function registerLatencyCommands(t: CommandTable): void {
  t.define("latency|latest", ({ server, reply }) => {
    const events = server.latency.events;
    reply.arrayLen(events.size);
    for (const [event, ts] of events) {
      reply.arrayLen(4);
      reply.bulk(event);
      reply.integer(ts.last.time);
      reply.integer(ts.last.latency);
      reply.integer(ts.max);
    }
  });

  t.define("latency|history", ({ server, argv, reply }) => {
    const ts = server.latency.events.get(argv[2].toString("latin1"));
    const samples = ts ? ts.inOrder() : [];
    reply.arrayLen(samples.length);
    for (const s of samples) {
      reply.arrayLen(2);
      reply.integer(s.time);
      reply.integer(s.latency);
    }
  });

  t.define("latency|graph", ({ server, argv, reply }) => {
    const event = argv[2].toString("latin1");
    const ts = server.latency.events.get(event);
    if (!ts) return reply.error(`No samples available for event '${event}'`);
    reply.verbatim(server.latency.graph(event, ts));
  });

  t.define("latency|doctor", ({ server, reply }) => reply.verbatim(server.latency.doctor()));

  t.define("latency|reset", ({ server, argv, reply }) => {
    if (argv.length === 2) return reply.integer(server.latency.reset(null));
    let n = 0;
    for (let j = 2; j < argv.length; j++) n += server.latency.reset(argv[j].toString("latin1"));
    reply.integer(n);
  });

  t.define("latency|histogram", ({ server, argv, reply }) => {
    const picked: CommandSpec[] = [];
    const add = (s: CommandSpec) => { if (s.latency && (s.latency as LatencyHistogram).count > 0) picked.push(s); };
    if (argv.length === 2) {
      for (const spec of server.table.all.values()) {
        add(spec);
        for (const sub of spec.subcommands.values()) add(sub);
      }
    } else {
      for (let j = 2; j < argv.length; j++) {
        // lookupCommandBySds: "name" or "container|sub".
        const [name, subName] = argv[j].toString("latin1").toLowerCase().split("|", 2);
        let spec = server.table.find(name);
        if (spec && subName !== undefined) spec = spec.subcommands.get(subName);
        if (!spec) continue;
        add(spec);
        if (subName === undefined) for (const sub of spec.subcommands.values()) add(sub);
      }
    }
    reply.mapLen(picked.length);
    for (const s of picked) replyCdf(reply, s);
  });

  t.define("latency|help", (ctx) => replyHelp(ctx, [
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
  ]));
}
