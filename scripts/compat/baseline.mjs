// The committed ratchet (compat/baseline.json): per unit, the best [ok] count reached and
// whether the unit has ever fully passed. `--ci` fails when a unit that once passed no
// longer does; `--update-baseline` only ever raises it (lower it by hand, with a reason in
// the commit, if a count was wrong).
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export function loadBaseline(path) {
  if (!existsSync(path)) return { units: {} };
  return JSON.parse(readFileSync(path, "utf8"));
}

/** A unit passes when it reaches Redis's count with no err and no exception. */
export function passes(result, redisCount) {
  return !result.notRun && result.ok >= redisCount && result.err === 0 && result.exception === 0;
}

/**
 * Compares results with the baseline. Regressions (a passing unit that no longer passes)
 * fail CI; an ok count below the best is only a warning (timing-sensitive tests flake). A
 * unit whose count depends on timing (psync2: how many 10-test cycles fit in its 40 s) is a
 * best-ok entry (passes: false) with a `floor`: it fails CI when it did not run, had an err
 * or an exception, or fell below the floor.
 */
export function compare(baseline, results) {
  const regressions = [];
  const warnings = [];
  for (const r of results) {
    const b = baseline.units[r.unit];
    if (!b) continue;
    if (b.passes && !r.passes) regressions.push(`${r.unit}: passed before (${b.bestOk} ok), now ${describe(r)}`);
    else if (b.floor !== undefined && (r.notRun || r.err > 0 || r.exception > 0 || r.ok < b.floor)) {
      regressions.push(`${r.unit}: below its floor (${b.floor} ok, no err, no exception), now ${describe(r)}`);
    } else if (r.ok < b.bestOk) warnings.push(`${r.unit}: ${r.ok} ok, best so far ${b.bestOk}`);
  }
  return { regressions, warnings };
}

function describe(r) {
  if (r.notRun) return `not run (${r.note})`;
  return `${r.ok} ok, ${r.err} err, ${r.exception} exception${r.note ? ` (${r.note})` : ""}`;
}

/** Raises the baseline with these results; returns the units whose entry changed. */
export function ratchet(baseline, results, date) {
  const changed = [];
  for (const r of results) {
    if (r.notRun) continue;
    const b = baseline.units[r.unit] ?? { bestOk: 0, passes: false };
    const next = { bestOk: Math.max(b.bestOk, r.ok), passes: b.passes || r.passes };
    if (next.bestOk !== b.bestOk || next.passes !== b.passes || !baseline.units[r.unit]) {
      baseline.units[r.unit] = { ...next, ...(b.floor !== undefined ? { floor: b.floor } : {}), redis: r.redis, updated: date };
      changed.push(r.unit);
    }
  }
  return changed;
}

export function saveBaseline(path, baseline) {
  const units = Object.fromEntries(Object.keys(baseline.units).sort().map((k) => [k, baseline.units[k]]));
  writeFileSync(path, JSON.stringify({ ...baseline, units }, null, 2) + "\n");
}
