// The Tcl units we measure and real Redis 7.0.15's [ok] count for each in external mode
// (shared DESIGN.md, "The yardstick"). A unit passes when it reaches Redis's count with
// no [err] and no [exception].

/** Real Redis 7.0.15, external mode, the flags in RUNTEST_FLAGS. */
export const REDIS_OK_COUNTS = {
  "type/incr": 23,
  "type/string": 75,
  "type/hash": 72,
  "expire": 58,
  "keyspace": 52,
  "info-command": 3,
  "protocol": 19,
  "scan": 17,
  "other": 17,
  "quit": 3,
  "violations": 1,
  "type/list": 220,
  "type/list-2": 2,
  "type/list-3": 11,
  "type/set": 95,
  "type/zset": 308,
  "multi": 35,
  "scripting": 186,
  "functions": 86,
  "sort": 52,
  "introspection": 27,
  "introspection-2": 43,
  "pubsub": 29,
  "tracking": 51,
  "protocol": 19,
  "latency-monitor": 13,
  "pause": 14,
  "slowlog": 9,
  "dump": 9,
  "bitops": 45,
  "bitfield": 16,
  "hyperloglog": 20,
  "geo": 59,
  "type/stream": 63,
  "type/stream-cgroups": 48,
};

/** The units of the foundation issue (issue 3): what `--ci` runs. */
export const FOUNDATION_UNITS = ["type/incr", "type/string", "type/hash", "expire", "keyspace", "info-command"];

/** External-mode flags, exactly as DESIGN.md gives them (host, port, --single added per run). */
export const RUNTEST_FLAGS = [
  "--tags", "-needs:debug", "--tags", "-needs:repl", "--tags", "-needs:config-maxmemory",
  "--ignore-encoding", "--ignore-digest", "--durable", "--no-latency", "--clients", "1",
];

/**
 * Real Redis 7.0.15 in harness mode (runtest starts src/redis-server itself; HARNESS_FLAGS),
 * from shared DESIGN.md and re-measured with `npm run compat -- --harness --target redis`.
 */
export const HARNESS_OK_COUNTS = {
  "auth": 10,
  "acl": 90,
  "acl-v2": 30,
  "info": 17,
  "pubsub": 30,
  "pubsubshard": 11,
  "tracking": 54,
  "protocol": 25,
  "type/hash": 73,
  "type/zset": 312,
  "introspection": 43,
  "dump": 26,
  "type/incr": 25,
  "type/string": 77,
  "expire": 70,
  "multi": 63,
  "scripting": 306,
  "functions": 109,
  // 26 since src/redis-server is a symlink to the real binary (it was a launcher running
  // `redis-server`, whose argv[0] failed "Process title set as expected": 25 ok, 1 err).
  "other": 26,
  "type/set": 99,
  "pause": 16,
  "slowlog": 16,
  "latency-monitor": 14,
  "maxmemory": 31,
  "lazyfree": 4,
  "memefficiency": 10,
  "obuf-limits": 9,
  "querybuf": 2,
  "client-eviction": 17,
  "integration/rdb": 14,
  "integration/aof": 40,
  "integration/aof-multi-part": 35,
  "integration/block-repl": 2,
  "integration/replication-2": 7,
  "integration/replication-3": 7,
  "integration/replication-4": 16,
  "integration/replication-buffer": 8,
  "integration/psync2-master-restart": 4,
  "integration/psync2-pingoff": 6,
  "integration/failover": 13,
  "integration/psync2": 52,
  "integration/replication-psync": 60,
  "integration/replication": 59,
  // Measured 2026-11-26 against redis-server 7.0.15 in harness mode (lead).
  "shutdown": 8,
  "integration/shutdown": 5,
  "integration/convert-zipmap-hash-on-load": 3,
  "integration/convert-ziplist-hash-on-load": 2,
  "integration/convert-ziplist-zset-on-load": 2,
  "integration/dismiss-mem": 4,
  "integration/redis-benchmark": 9,
  "integration/redis-cli": 31,
  "integration/corrupt-dump": 74,
  "integration/corrupt-dump-fuzzer": 2,
  // 3 for redis-server; the watchdog test runs only when `ldd src/redis-server` finds glibc,
  // which our launcher script never satisfies, so 2 is the most it can count for us.
  "integration/logging": 3,
  "integration/psync2-reg": 23,
  "limits": 1,
  "oom-score-adj": 5,
  "aofrw": 20,
  "wait": 5,
  "replybufsize": 1,
  "pendingquerybuf": 1,
  // Cluster-mode units of test_helper.tcl's list: each starts its own cluster-enabled servers.
  "cluster": 13,
  "cluster-scripting": 3,
  "cluster/announced-endpoints": 2,
  "cluster/links": 1,
  "cluster/misc": 1,
};

/** The units of issue 6 (ACL, AUTH): what `--harness` runs by default. */
export const HARNESS_UNITS = ["auth", "acl", "acl-v2"];

/** Harness-mode flags: no --host/--port, every tag (the server is ours to restart). */
export const HARNESS_FLAGS = ["--durable", "--clients", "1"];

/** Baseline keys of harness-mode units carry this prefix ("harness:acl"). */
export const HARNESS_PREFIX = "harness:";

/**
 * Units (by baseline key) that take longer than --timeout allows even when all is well, and
 * their own timeout in seconds: integration/replication takes ~290 s in Redis itself (its
 * BUSY-script and "Connect multiple replicas" tests), 565 s here at load 17-25 and 973 s at
 * load 35-45.
 * `--ci` runs them first among their kind, so the run's budget (which also caps each unit's
 * time) cannot cut them short at its end.
 */
export const LONG_UNIT_TIMEOUTS = { "harness:integration/replication": 1200 };

/**
 * Real Redis 7.0.15 in harness mode with --tls (every server on a tls-port only, clients
 * and redis-cli over TLS with the test certificates), measured with
 * `npm run compat -- --harness --tls --target redis`.
 */
export const HARNESS_TLS_OK_COUNTS = {
  "auth": 10,
  "acl": 90,
  "acl-v2": 30,
  "tls": 8,
  "info": 17,
  "pubsub": 30,
  "pubsubshard": 11,
  "tracking": 54,
  "introspection": 43,
  "dump": 26,
  "type/incr": 25,
  "type/string": 77,
  "expire": 70,
  "multi": 63,
  "scripting": 306,
  "introspection-2": 43,
  "keyspace": 53,
  "other": 26,
  "protocol": 25,
  "slowlog": 16,
  "pause": 16,
  "type/hash": 73,
  "type/set": 99,
  "type/list-3": 11,
  "scan": 17,
  "sort": 52,
  "bitops": 45,
  "info-command": 3,
  "quit": 3,
  "networking": 5,
  "type/zset": 312,
  "type/list": 240,
  "type/list-2": 2,
  "type/stream": 72,
  "type/stream-cgroups": 57,
  "bitfield": 20,
  "functions": 109,
  "geo": 59,
  "hyperloglog": 20,
  "violations": 1,
};

/** Baseline keys of harness-mode units run with --tls ("harness-tls:acl"). */
export const HARNESS_TLS_PREFIX = "harness-tls:";

/** Baseline keys of tests/cluster files run by runtest-cluster carry this prefix ("cluster:00-base"). */
export const CLUSTER_PREFIX = "cluster:";

/**
 * Baseline keys of tests/cluster files run by runtest-cluster --tls ("cluster-tls:00-base"):
 * every instance on a tls-port with tls-cluster and tls-replication yes, a plain port beside
 * it (instances.tcl), the test's clients over TLS.
 */
export const CLUSTER_TLS_PREFIX = "cluster-tls:";

/**
 * Instances runtest-cluster starts (Redis's run.tcl: 20). The files we run use at most
 * create_cluster 5 5, so 10 give the same tests in half the start-up and join time.
 */
export const CLUSTER_NODES = 10;

/**
 * Real Redis 7.0.15, tests/cluster/tests/<file>.tcl under runtest-cluster
 * (`npm run compat -- --cluster --target redis --unit <file>`): OK lines per file, the
 * init-tests each file starts with included. Measured with 20 instances and, for the files
 * that fit in CLUSTER_NODES (00, 09, 16, 19, 24), with 10 too: the same counts. Files that
 * create more than 10 nodes (05, 07, 12, 12.1, 15: up to 20) need --cluster-nodes 20;
 * 20-half-migrated-slot and 21-many-slot-migration are disabled in 7.0.15 (0 tests).
 */
export const CLUSTER_OK_COUNTS = {
  "00-base": 14,
  "01-faildet": 13,
  "02-failover": 17,
  "03-failover-loop": 165,
  "04-resharding": 16,
  "05-slave-selection": 27,
  "06-slave-stop-cond": 15,
  "07-replica-migration": 28,
  "08-update-msg": 21,
  "09-pubsub": 8,
  "10-manual-failover": 45,
  "11-manual-takeover": 16,
  "12-replica-migration-2": 13,
  "12.1-replica-migration-3": 13,
  "13-no-failover-option": 15,
  "14-consistency-check": 10,
  "15-cluster-slots": 14,
  "16-transactions-on-replica": 14,
  "17-diskless-load-swapdb": 9,
  "18-info": 8,
  "19-cluster-nodes-slots": 9,
  "22-replica-in-sync": 13,
  "23-multiple-slot-operations": 10,
  "24-links": 9,
  "25-pubsubshard-slot-migration": 12,
  "26-pubsubshard": 10,
  "27-endpoints": 14,
  "28-cluster-shards": 17,
  "29-slot-migration-response": 9,
};

/**
 * The files `--cluster` runs by default (and --ci checks against the baseline). 24-links
 * passes 9/9 but is left out for now: a clean-clone CI rehearsal saw one node with 17 of its
 * 18 links after the test's 5 s wait (a bus link race not yet understood).
 */
export const CLUSTER_UNITS = ["00-base", "09-pubsub", "16-transactions-on-replica", "19-cluster-nodes-slots"];
