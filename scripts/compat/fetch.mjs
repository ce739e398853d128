// Fetches Redis 7.0.15's official Tcl suite the way DESIGN.md says: a deb-src twin of the
// Debian sources entry, `apt-get update`, `apt-get source --download-only redis`, then the
// .orig.tar.gz untarred into the cache dir. A suite already in the cache is reused.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const SUITE_VERSION = "7.0.15";
const SOURCES_DIR = "/etc/apt/sources.list.d";
const TWIN_FILE = join(SOURCES_DIR, "latticekv-debian-src.sources");

/** The suite cannot be had (no apt, no network, no Debian entry...). */
export class FetchError extends Error {}

/** Returns the suite's root (it holds `runtest`), fetching it into cacheDir if needed. */
export function ensureSuite(cacheDir, log = console.log) {
  const root = join(cacheDir, `redis-${SUITE_VERSION}`);
  if (existsSync(join(root, "tests", "test_helper.tcl"))) return root;
  mkdirSync(cacheDir, { recursive: true });
  const aptDir = join(cacheDir, "apt");
  mkdirSync(aptDir, { recursive: true });

  let tarball = findOrigTarball(aptDir);
  if (!tarball) {
    if (!hasCommand("apt-get")) throw new FetchError("apt-get is not available");
    if (ensureDebSrc(log)) aptUpdate(log);
    let r = aptSource(aptDir);
    if (r.status !== 0) {
      // Stale or missing package lists: refresh once and retry.
      aptUpdate(log);
      r = aptSource(aptDir);
    }
    if (r.status !== 0) throw new FetchError(`apt-get source redis failed:\n${tail(r.stderr)}`);
    tarball = findOrigTarball(aptDir);
    if (!tarball) throw new FetchError(`apt-get source left no redis_*.orig.tar.gz in ${aptDir}`);
  }
  if (!tarball.endsWith(`redis_${SUITE_VERSION}.orig.tar.gz`)) {
    log(`compat: warning: apt gave ${tarball}, not Redis ${SUITE_VERSION}; its counts may differ`);
  }
  execFileSync("tar", ["xzf", tarball, "-C", cacheDir]);
  const extracted = readdirSync(cacheDir).find((d) => /^redis-\d/.test(d));
  if (!extracted) throw new FetchError(`${tarball} did not contain a redis-* directory`);
  const got = join(cacheDir, extracted);
  if (!existsSync(join(got, "tests", "test_helper.tcl"))) throw new FetchError(`${got} has no tests/test_helper.tcl`);
  return got;
}

function findOrigTarball(dir) {
  const f = readdirSync(dir).find((n) => /^redis_.*\.orig\.tar\.gz$/.test(n));
  return f ? join(dir, f) : null;
}

/**
 * Makes sure apt has a deb-src entry for Debian: if none exists, writes the twin of the
 * Debian `Types: deb` entry with `Types: deb-src`. Returns true when it wrote one.
 */
function ensureDebSrc(log) {
  const files = existsSync(SOURCES_DIR) ? readdirSync(SOURCES_DIR).map((f) => join(SOURCES_DIR, f)) : [];
  if (existsSync("/etc/apt/sources.list")) files.push("/etc/apt/sources.list");
  const entries = files.filter((f) => f.endsWith(".sources") || f.endsWith(".list")).map((file) => ({ file, text: readFileSync(file, "utf8") }));
  const twin = debSrcTwin(entries);
  if (twin === null) return false;
  const writes = [];
  if (twin.sources) writes.push([TWIN_FILE, twin.sources]);
  if (twin.list) writes.push([TWIN_FILE.replace(/\.sources$/, ".list"), twin.list]);
  if (writes.length === 0) throw new FetchError("no Debian `Types: deb` entry in apt's sources to twin as deb-src");
  for (const [target, text] of writes) {
    try {
      writeFileSync(target, text);
    } catch (e) {
      throw new FetchError(`cannot write ${target} (${e.code ?? e.message}); run as root or add a deb-src entry`);
    }
    log(`compat: wrote ${target} (deb-src twin of the Debian entry)`);
  }
  return true;
}

/**
 * The deb-src twin of apt's Debian entries ({file, text}: deb822 `.sources` or one-line
 * `.list`), or null when a deb-src entry already exists.
 */
export function debSrcTwin(entries) {
  if (entries.some(({ text }) => /^\s*Types:.*\bdeb-src\b/m.test(text) || /^\s*deb-src\s/m.test(text))) return null;
  const stanzas = [];
  const lines = [];
  for (const { file, text } of entries) {
    if (file.endsWith(".sources")) {
      for (const stanza of text.split(/\n\s*\n/)) {
        if (/^\s*Types:.*\bdeb\b/m.test(stanza) && /^\s*URIs:.*debian/m.test(stanza)) {
          stanzas.push(stanza.trim().replace(/^(\s*Types:).*$/m, "$1 deb-src"));
        }
      }
    } else {
      for (const line of text.split("\n")) {
        if (/^\s*deb\s+.*debian/.test(line)) lines.push(line.trim().replace(/^deb\s/, "deb-src "));
      }
    }
  }
  return {
    sources: stanzas.length ? stanzas.join("\n\n") + "\n" : undefined,
    list: lines.length ? lines.join("\n") + "\n" : undefined,
  };
}

function aptUpdate(log) {
  log("compat: apt-get update");
  const r = spawnSync("apt-get", ["update"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) throw new FetchError(`apt-get update failed:\n${tail(r.stderr)}`);
}

function aptSource(cwd) {
  return spawnSync("apt-get", ["source", "--download-only", "redis"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export function hasCommand(name) {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

/** runtest looks for tclsh8.5, 8.6 or 8.7 by those names. */
export function hasTclsh() {
  return ["tclsh8.5", "tclsh8.6", "tclsh8.7"].some(hasCommand);
}

function tail(s, n = 8) {
  return String(s ?? "").trim().split("\n").slice(-n).join("\n");
}
