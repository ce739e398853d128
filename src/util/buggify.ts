// buggify: named fault points, FoundationDB-style. Inert unless enabled with a seed; then
// each point is switched on for the run or not (decided by the seed), and an active point
// fires with its probability, drawn from the seeded PRNG, so a failing run replays.
//
//   if (buggify("short-write")) { ...misbehave in a way the code must survive... }
//
// Enable with LATTICEKV_BUGGIFY=<seed>[:<point>[=<p>],...] in the environment (read once
// at start-up; listing points activates exactly those, each optionally with its own
// probability), or enableBuggify() from a test or the simulator. When disabled, buggify()
// is one comparison; points must be cheap to reach and must only ever do things that could
// happen anyway (a short socket write, a late reply, a clock jump, a lost packet).
import { mulberry32 } from "../verify/prng.js";

export interface FaultPoint {
  name: string;
  description: string;
  /** Chance an active point fires each time it is reached. */
  probability: number;
}

export interface BuggifyOptions {
  /** Only these points, always active (others off). Default: each point active with `activation`. */
  points?: string[];
  /** Per-point probability overrides. */
  probabilities?: Record<string, number>;
  /** Chance each point is active for this run when `points` is not given. Default 0.5. */
  activation?: number;
}

const registry = new Map<string, FaultPoint>();
const counts = new Map<string, { reached: number; fired: number }>();

interface State {
  seed: number;
  rand: () => number;
  active: Map<string, boolean>;
  opts: BuggifyOptions;
}
let state: State | null = null;

/** Declares a fault point (once, at module load, next to the code that checks it). */
export function definePoint(name: string, description: string, probability = 0.05): FaultPoint {
  const p = { name, description, probability };
  registry.set(name, p);
  return p;
}

export function faultPoints(): FaultPoint[] {
  return [...registry.values()];
}

function hashName(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 4294967296;
}

export function enableBuggify(seed: number, opts: BuggifyOptions = {}): void {
  state = { seed, rand: mulberry32(seed), active: new Map(), opts };
  counts.clear();
}

export function disableBuggify(): void {
  state = null;
}

export function buggifyEnabled(): boolean {
  return state !== null;
}

export function buggifySeed(): number | undefined {
  return state?.seed;
}

/** Whether this point is switched on for the run (decided once per point from the seed). */
export function pointActive(name: string): boolean {
  const s = state;
  if (s === null) return false;
  let on = s.active.get(name);
  if (on === undefined) {
    on = s.opts.points ? s.opts.points.includes(name) : hashName(s.seed, name) < (s.opts.activation ?? 0.5);
    s.active.set(name, on);
  }
  return on;
}

/** True when the point is enabled, active this run, and fires this time. */
export function buggify(name: string): boolean {
  if (state === null) return false;
  const c = counts.get(name) ?? { reached: 0, fired: 0 };
  counts.set(name, c);
  c.reached++;
  if (!pointActive(name)) return false;
  const p = state.opts.probabilities?.[name] ?? registry.get(name)?.probability ?? 0.05;
  if (state.rand() >= p) return false;
  c.fired++;
  return true;
}

/** A seeded integer in [lo, hi] (for how long to delay, where to cut, how far to skew). */
export function buggifyInt(lo: number, hi: number): number {
  const r = state ? state.rand() : Math.random();
  return lo + Math.floor(r * (hi - lo + 1));
}

/** How often each point was reached and fired since enabling. */
export function buggifyStats(): Record<string, { reached: number; fired: number; active: boolean }> {
  const out: Record<string, { reached: number; fired: number; active: boolean }> = {};
  for (const [name, c] of counts) out[name] = { ...c, active: pointActive(name) };
  return out;
}

/** Parses LATTICEKV_BUGGIFY ("seed" or "seed:point,point=0.5"); undefined when unset. */
export function parseBuggifyEnv(v: string | undefined): { seed: number; opts: BuggifyOptions } | undefined {
  if (!v) return undefined;
  const [seedText, list] = v.split(":", 2);
  const seed = Number(seedText);
  if (!Number.isFinite(seed)) return undefined;
  if (!list) return { seed, opts: {} };
  const points: string[] = [];
  const probabilities: Record<string, number> = {};
  for (const item of list.split(",").filter(Boolean)) {
    const [name, p] = item.split("=");
    points.push(name);
    if (p !== undefined) probabilities[name] = Number(p);
  }
  return { seed, opts: { points, probabilities } };
}

const fromEnv = parseBuggifyEnv(typeof process !== "undefined" ? process.env?.LATTICEKV_BUGGIFY : undefined);
if (fromEnv) enableBuggify(fromEnv.seed, fromEnv.opts);
