// The latency monitor (Redis's latency.c): per event ("command", "fast-command",
// "expire-cycle", ...), a ring of the last 160 one-second samples of latencies at or above
// latency-monitor-threshold milliseconds (one sample per second: the highest), and the all
// time high. LATENCY DOCTOR's report and LATENCY GRAPH's sparkline are Redis's, text for text.
//
// Sources here: every command Server.run times ("fast-command" for commands flagged fast),
// each command the kernel runs (timed by the kernel: src/server/command-timing.ts), and
// the active expire cycle (src/server/active-expire.ts: expire-cycle, expire-del), eviction
// (src/server/maxmemory.ts: eviction-cycle, eviction-del) and AOF writes
// (src/persistence/aof.ts: aof-write, aof-write-alone / aof-write-active-child,
// aof-fsync-always). There is no fork (background saves are in-process snapshots), so no
// fork event. Other families may call addSampleIfNeeded for
// their own events (Redis's fork, aof-*, eviction-*).
import type { Server } from "./server.js";
import { applyCommandTiming } from "./command-timing.js";

const LATENCY_TS_LEN = 160;
const LATENCY_GRAPH_COLS = 80;

interface Sample { time: number; latency: number }

export class EventSeries {
  readonly samples: Sample[] = Array.from({ length: LATENCY_TS_LEN }, () => ({ time: 0, latency: 0 }));
  idx = 0;
  max = 0;

  /** The samples, oldest first. */
  inOrder(): Sample[] {
    const out: Sample[] = [];
    for (let j = 0; j < LATENCY_TS_LEN; j++) {
      const s = this.samples[(this.idx + j) % LATENCY_TS_LEN];
      if (s.time !== 0) out.push(s);
    }
    return out;
  }

  get last(): Sample { return this.samples[(this.idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN]; }
}

export class LatencyMonitor {
  /** Events in the order they were first seen (Redis iterates a dict: any order is valid). */
  readonly events = new Map<string, EventSeries>();
  /** latency-monitor-threshold (ms); 0: off. */
  threshold = 0;
  /** The same, Infinity when off: kernel calls at least this long are looked at. */
  thresholdMs = Infinity;

  constructor(private readonly server: Server) {
    const update = () => {
      this.threshold = server.config.getNumber("latency-monitor-threshold");
      this.thresholdMs = this.threshold > 0 ? this.threshold : Infinity;
      applyCommandTiming(server);
    };
    server.config.onApply("latency-monitor-threshold", update);
    update();
  }

  /** latencyAddSampleIfNeeded: `ms` milliseconds of `event`, kept when at or above the threshold. */
  addSampleIfNeeded(event: string, ms: number): void {
    if (this.threshold > 0 && ms >= this.threshold) this.addSample(event, Math.floor(ms));
  }

  /**
   * latencyEndMonitor + latencyAddSampleIfNeeded for an operation that started at `start`
   * (performance.now()); returns `result`, so a caller can sample on its way out.
   */
  sampleSince<T>(event: string, start: number, result: T): T {
    if (this.threshold > 0) this.addSampleIfNeeded(event, performance.now() - start);
    return result;
  }

  /** latencyAddSample. */
  addSample(event: string, latency: number): void {
    let ts = this.events.get(event);
    if (!ts) this.events.set(event, (ts = new EventSeries()));
    const now = Math.floor(Date.now() / 1000);
    if (latency > ts.max) ts.max = latency;
    // A sample in the same second as the previous one only raises it.
    const prev = ts.last;
    if (prev.time === now) {
      if (latency > prev.latency) prev.latency = latency;
      return;
    }
    ts.samples[ts.idx] = { time: now, latency };
    ts.idx = (ts.idx + 1) % LATENCY_TS_LEN;
  }

  /** latencyResetEvent: every event (null) or the one named (case-insensitively); how many were reset. */
  reset(event: string | null): number {
    let n = 0;
    for (const name of [...this.events.keys()]) {
      if (event === null || name.toLowerCase() === event.toLowerCase()) {
        this.events.delete(name);
        n++;
      }
    }
    return n;
  }

  /** latencyCommandGenSparkeline: LATENCY GRAPH's text. */
  graph(event: string, ts: EventSeries): string {
    const now = Math.floor(Date.now() / 1000);
    const seq: { value: number; label: string }[] = [];
    let min = 0, max = 0;
    for (const s of ts.inOrder()) {
      if (seq.length === 0) min = max = s.latency;
      else {
        if (s.latency > max) max = s.latency;
        if (s.latency < min) min = s.latency;
      }
      const elapsed = now - s.time;
      const label = elapsed < 60 ? `${elapsed}s` : elapsed < 3600 ? `${Math.trunc(elapsed / 60)}m`
        : elapsed < 86400 ? `${Math.trunc(elapsed / 3600)}h` : `${Math.trunc(elapsed / 86400)}d`;
      seq.push({ value: s.latency, label });
    }
    return `${event} - high ${max} ms, low ${min} ms (all time high ${ts.max} ms)\n` +
      "-".repeat(LATENCY_GRAPH_COLS) + "\n" + sparkline(seq, LATENCY_GRAPH_COLS, 4);
  }

  /** createLatencyReport: LATENCY DOCTOR's text. */
  doctor(): string {
    const server = this.server;
    if (this.events.size === 0 && this.threshold === 0) {
      return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
    }
    const advise = new Set<string>();
    let advices = 0;
    let report = "";
    let eventnum = 0;
    const slowerThan = server.config.getNumber("slowlog-log-slower-than");
    for (const [event, ts] of this.events) {
      eventnum++;
      if (eventnum === 1) report += "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n";
      const ls = analyze(ts);
      report += `${eventnum}. ${event}: ${ls.samples} latency spikes (average ${ls.avg}ms, mean deviation ${ls.mad}ms, ` +
        `period ${(ls.period / ls.samples).toFixed(2)} sec). Worst all time event ${ts.max}ms.`;
      const add = (...a: string[]) => { for (const x of a) advise.add(x); advices += a.length; };
      const e = event.toLowerCase();
      if (e === "command") {
        if (slowerThan < 0) add("slowlog_enabled");
        else if (Math.trunc(slowerThan / 1000) > this.threshold) add("slowlog_tuning");
        add("slowlog_inspect", "large_objects");
      }
      if (e === "fast-command") add("scheduler");
      if (e === "aof-write-pending-fsync") add("local_disk", "disk_contention", "ssd", "data_writeback");
      if (e === "aof-write-active-child") add("no_appendfsync", "data_writeback", "ssd");
      if (e === "aof-write-alone") add("local_disk", "data_writeback", "ssd");
      if (e === "aof-fsync-always") add("relax_fsync_policy");
      if (e === "aof-fstat" || e === "rdb-unlink-temp-file") add("disk_contention", "local_disk");
      if (e === "aof-rewrite-diff-write" || e === "aof-rename") add("write_load_info", "data_writeback", "ssd", "local_disk");
      if (e === "expire-cycle") add("hz", "large_objects");
      if (e === "eviction-del") add("large_objects");
      if (e === "eviction-cycle") add("mass_eviction");
      report += "\n";
    }
    if (eventnum === 0 && advices === 0) {
      return report + "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n";
    }
    if (eventnum > 0 && advices === 0) {
      return report + "\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n";
    }
    report += "\nI have a few advices for you:\n\n";
    const ms1000 = this.threshold * 1000;
    if (advise.has("slowlog_enabled")) report += `- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than ${ms1000}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n`;
    if (advise.has("slowlog_tuning")) report += `- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than ${ms1000}'.\n`;
    if (advise.has("slowlog_inspect")) report += "- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n";
    if (advise.has("scheduler")) {
      report += "- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n" +
        "  1) Lower the system load.\n" +
        "  2) Use a computer / VM just for Redis if you are running other software in the same system.\n" +
        "  3) Check if you have a \"noisy neighbour\" problem.\n" +
        "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n" +
        "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n";
    }
    if (advise.has("local_disk")) report += "- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n";
    if (advise.has("ssd")) report += "- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n";
    if (advise.has("data_writeback")) report += "- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n";
    if (advise.has("disk_contention")) report += "- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n";
    if (advise.has("no_appendfsync")) report += "- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n";
    if (advise.has("relax_fsync_policy") && server.config.getString("appendfsync") === "always") report += "- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n";
    if (advise.has("write_load_info")) report += "- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n";
    if (advise.has("hz") && server.config.getNumber("hz") < 100) report += "- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n";
    if (advise.has("large_objects")) report += "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n";
    if (advise.has("mass_eviction")) report += "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n";
    return report;
  }
}

/** analyzeLatencyForEvent: sample count, average, mean absolute deviation, seconds covered. */
function analyze(ts: EventSeries): { samples: number; avg: number; mad: number; period: number } {
  let samples = 0, sum = 0, oldest = 0;
  for (const s of ts.samples) {
    if (s.time === 0) continue;
    samples++;
    sum += s.latency;
    if (oldest === 0 || s.time < oldest) oldest = s.time;
  }
  if (samples === 0) return { samples: 0, avg: 0, mad: 0, period: 0 };
  const avg = Math.floor(sum / samples);
  let period = Math.floor(Date.now() / 1000) - oldest;
  if (period === 0) period = 1;
  let dev = 0;
  for (const s of ts.samples) if (s.time !== 0) dev += Math.abs(avg - s.latency);
  return { samples, avg, mad: Math.floor(dev / samples), period };
}

/** sparklineRender with SPARKLINE_FILL (sparkline.c). */
function sparkline(seq: { value: number; label: string }[], columns: number, rows: number): string {
  if (seq.length === 0) return "";
  // sparklineSequenceAddSample's min/max (its "else if" kept: a new minimum is not checked as a maximum).
  let min = seq[0].value, max = seq[0].value;
  for (let j = 1; j < seq.length; j++) {
    const v = seq[j].value;
    if (v < min) min = v;
    else if (v > max) max = v;
  }
  let out = "";
  for (let j = 0; j < seq.length; j += columns) {
    if (j !== 0) out += "\n";
    out += renderRange(seq, min, max, rows, j, Math.min(columns, seq.length - j));
  }
  return out;
}

function renderRange(seq: { value: number; label: string }[], min: number, max: number, rows: number,
  offset: number, len: number): string {
  const charsetFill = "_o#";
  const charsetLen = 3;
  const labelMarginTop = 1;
  let relmax = max - min;
  if (relmax === 0) relmax = 1;
  const steps = charsetLen * rows;
  let out = "";
  let row = 0;
  for (let loop = true; loop;) {
    loop = false;
    const chars = new Array<string>(len).fill(" ");
    for (let j = 0; j < len; j++) {
      const s = seq[j + offset];
      const relval = s.value - min;
      let step = Math.trunc(Math.trunc(relval * steps) / relmax);
      if (step < 0) step = 0;
      if (step >= steps) step = steps - 1;
      if (row < rows) {
        const charidx = step - (rows - row - 1) * charsetLen;
        loop = true;
        if (charidx >= 0 && charidx < charsetLen) chars[j] = charsetFill[charidx];
        else if (charidx >= charsetLen) chars[j] = "|";
      } else {
        if (row - rows < labelMarginTop) { loop = true; break; }
        const labelChar = row - rows - labelMarginTop;
        if (s.label.length > labelChar) { loop = true; chars[j] = s.label[labelChar]; }
      }
    }
    if (loop) {
      row++;
      out += chars.join("") + "\n";
    }
  }
  return out;
}
