// Geo commands (Redis 7.0 geo.c, geohash.c, geohash_helper.c): GEOADD GEODIST GEOHASH GEOPOS
// GEOSEARCH GEOSEARCHSTORE GEORADIUS GEORADIUSBYMEMBER GEORADIUS_RO GEORADIUSBYMEMBER_RO.
//
// A geo set is a sorted set whose scores are 52-bit interleaved geohashes (26 steps of
// longitude in [-180,180] and latitude in [-85.05112878,85.05112878]), exactly Redis's, so a
// set written by either server reads the same in the other. A search covers the centre's
// geohash box at the step that fits the radius plus its 8 neighbours, each box a score range
// of the sorted set, then filters by true distance (haversine, Earth radius 6372797.560856 m).
// The 52-bit values are exact in a double; bit twiddling goes through BigInt.
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import { ERR, parseInteger } from "./context.js";
import type { ReplyWriter } from "../server/reply-writer.js";
import { typeCommand } from "../types/keyspace.js";
import { OBJ_ZSET } from "../types/value.js";
import { ZSetValue } from "../types/zset.js";
import { zaddGeneric, zsetLimits } from "./zsets.js";
import { string2d } from "../util/strtod.js";
import { doubleToInt64 } from "../util/c-cast.js";

const GEO_STEP_MAX = 26;
const GEO_LAT_MIN = -85.05112878;
const GEO_LAT_MAX = 85.05112878;
const GEO_LONG_MIN = -180;
const GEO_LONG_MAX = 180;
const EARTH_RADIUS_IN_METERS = 6372797.560856;
const MERCATOR_MAX = 20037726.37;
const D_R = Math.PI / 180.0;

interface Range { min: number; max: number }
interface HashBits { bits: bigint; step: number }
interface Area { hash: HashBits; longitude: Range; latitude: Range }

const LONG_RANGE: Range = { min: GEO_LONG_MIN, max: GEO_LONG_MAX };
const LAT_RANGE: Range = { min: GEO_LAT_MIN, max: GEO_LAT_MAX };

const degRad = (d: number) => d * D_R;
const radDeg = (r: number) => r / D_R;

// ---- geohash (geohash.c) --------------------------------------------------------------------------

function interleave64(xlo: bigint, ylo: bigint): bigint {
  const B = [0x5555555555555555n, 0x3333333333333333n, 0x0F0F0F0F0F0F0F0Fn, 0x00FF00FF00FF00FFn, 0x0000FFFF0000FFFFn];
  const S = [1n, 2n, 4n, 8n, 16n];
  let x = xlo, y = ylo;
  for (let i = 4; i >= 0; i--) {
    x = (x | (x << S[i])) & B[i];
    y = (y | (y << S[i])) & B[i];
  }
  return x | (y << 1n);
}

function deinterleave64(interleaved: bigint): bigint {
  const B = [0x5555555555555555n, 0x3333333333333333n, 0x0F0F0F0F0F0F0F0Fn, 0x00FF00FF00FF00FFn,
    0x0000FFFF0000FFFFn, 0x00000000FFFFFFFFn];
  const S = [0n, 1n, 2n, 4n, 8n, 16n];
  let x = interleaved;
  let y = interleaved >> 1n;
  for (let i = 0; i < 6; i++) {
    x = (x | (x >> S[i])) & B[i];
    y = (y | (y >> S[i])) & B[i];
  }
  return (x | (y << 32n)) & 0xffffffffffffffffn;
}

/** geohashEncode; null outside the ranges. */
function encode(longRange: Range, latRange: Range, longitude: number, latitude: number, step: number): HashBits | null {
  if (longitude > GEO_LONG_MAX || longitude < GEO_LONG_MIN || latitude > GEO_LAT_MAX || latitude < GEO_LAT_MIN) return null;
  if (latitude < latRange.min || latitude > latRange.max || longitude < longRange.min || longitude > longRange.max) return null;
  let latOffset = (latitude - latRange.min) / (latRange.max - latRange.min);
  let longOffset = (longitude - longRange.min) / (longRange.max - longRange.min);
  latOffset *= 2 ** step;
  longOffset *= 2 ** step;
  // C converts the double to uint32_t (truncation).
  const lat32 = BigInt(Math.trunc(latOffset)) & 0xffffffffn;
  const long32 = BigInt(Math.trunc(longOffset)) & 0xffffffffn;
  return { bits: interleave64(lat32, long32), step };
}

function decode(longRange: Range, latRange: Range, hash: HashBits): Area | null {
  if (hash.bits === 0n && hash.step === 0) return null;
  const sep = deinterleave64(hash.bits);
  const latScale = latRange.max - latRange.min;
  const longScale = longRange.max - longRange.min;
  const ilato = Number(sep & 0xffffffffn);
  const ilono = Number((sep >> 32n) & 0xffffffffn);
  const div = 2 ** hash.step;
  return {
    hash,
    latitude: { min: latRange.min + (ilato * 1.0 / div) * latScale, max: latRange.min + ((ilato + 1) * 1.0 / div) * latScale },
    longitude: { min: longRange.min + (ilono * 1.0 / div) * longScale, max: longRange.min + ((ilono + 1) * 1.0 / div) * longScale },
  };
}

const TWO_63 = 2 ** 63;
const INT64_INDEFINITE = 0x8000000000000000n;

/**
 * The score as C's (uint64_t) cast turns it into geohash bits on x86-64 (cvttsd2si, and
 * bit 63 flipped for 2^63 and above): any score of a sorted set may be read as a geo point,
 * also a negative, fractional, huge or infinite one (ZINCRBY -inf), which BigInt refused.
 */
function scoreBits(score: number): bigint {
  if (score < TWO_63) return score >= -TWO_63 ? BigInt.asUintN(64, BigInt(Math.trunc(score))) : INT64_INDEFINITE;
  const above = score - TWO_63;
  return above < TWO_63 ? BigInt(Math.trunc(above)) + INT64_INDEFINITE : 0n;
}

/** decodeGeohash of a score: [longitude, latitude] of the box centre, clamped. */
function decodeScore(score: number): [number, number] | null {
  const area = decode(LONG_RANGE, LAT_RANGE, { bits: scoreBits(score), step: GEO_STEP_MAX });
  if (!area) return null;
  let x = (area.longitude.min + area.longitude.max) / 2;
  if (x > GEO_LONG_MAX) x = GEO_LONG_MAX;
  if (x < GEO_LONG_MIN) x = GEO_LONG_MIN;
  let y = (area.latitude.min + area.latitude.max) / 2;
  if (y > GEO_LAT_MAX) y = GEO_LAT_MAX;
  if (y < GEO_LAT_MIN) y = GEO_LAT_MIN;
  return [x, y];
}

// geohash.c's geohash_move_x / geohash_move_y: longitude bits sit at the odd positions of
// the interleaved hash, latitude bits at the even ones; a move adds or subtracts one in the
// moving axis's bits only (the other axis's bits are filled with ones to carry through).
const X_BITS = 0xaaaaaaaaaaaaaaaan;
const Y_BITS = 0x5555555555555555n;

function moveAxis(hash: HashBits, d: number, moving: bigint, other: bigint): HashBits {
  if (d === 0) return hash;
  const shift = BigInt(64 - hash.step * 2);
  let m = hash.bits & moving;
  const o = hash.bits & other;
  const zz = other >> shift;
  if (d > 0) m = m + (zz + 1n);
  else { m = m | zz; m = m - (zz + 1n); }
  m &= moving >> shift;
  return { bits: (m | o) & 0xffffffffffffffffn, step: hash.step };
}

const moveX = (hash: HashBits, d: number) => moveAxis(hash, d, X_BITS, Y_BITS);
const moveY = (hash: HashBits, d: number) => moveAxis(hash, d, Y_BITS, X_BITS);

interface Neighbors {
  north: HashBits; south: HashBits; east: HashBits; west: HashBits;
  north_east: HashBits; north_west: HashBits; south_east: HashBits; south_west: HashBits;
}

function neighbors(h: HashBits): Neighbors {
  return {
    east: moveX(h, 1), west: moveX(h, -1), south: moveY(h, -1), north: moveY(h, 1),
    north_west: moveY(moveX(h, -1), 1), north_east: moveY(moveX(h, 1), 1),
    south_east: moveY(moveX(h, 1), -1), south_west: moveY(moveX(h, -1), -1),
  };
}

const ZERO_HASH: HashBits = { bits: 0n, step: 0 };
const align52 = (h: HashBits) => Number(h.bits << BigInt(52 - h.step * 2));

// ---- distances and search areas (geohash_helper.c) ---------------------------------------------------

function latDistance(lat1d: number, lat2d: number): number {
  return EARTH_RADIUS_IN_METERS * Math.abs(degRad(lat2d) - degRad(lat1d));
}

/** Haversine great-circle distance in meters. */
function distance(lon1d: number, lat1d: number, lon2d: number, lat2d: number): number {
  const lon1r = degRad(lon1d), lon2r = degRad(lon2d);
  const v = Math.sin((lon2r - lon1r) / 2);
  if (v === 0.0) return latDistance(lat1d, lat2d);
  const lat1r = degRad(lat1d), lat2r = degRad(lat2d);
  const u = Math.sin((lat2r - lat1r) / 2);
  const a = u * u + Math.cos(lat1r) * Math.cos(lat2r) * v * v;
  return 2.0 * EARTH_RADIUS_IN_METERS * Math.asin(Math.sqrt(a));
}

function estimateStepsByRadius(rangeMeters: number, lat: number): number {
  if (rangeMeters === 0) return 26;
  let step = 1;
  while (rangeMeters < MERCATOR_MAX) {
    rangeMeters *= 2;
    step++;
  }
  step -= 2;
  if (lat > 66 || lat < -66) {
    step--;
    if (lat > 80 || lat < -80) step--;
  }
  if (step < 1) step = 1;
  if (step > 26) step = 26;
  return step;
}

interface Shape {
  circular: boolean;
  xy: [number, number];
  conversion: number;
  radius: number;
  width: number;
  height: number;
}

function boundingBox(s: Shape): [number, number, number, number] {
  const [longitude, latitude] = s.xy;
  const height = s.conversion * (s.circular ? s.radius : s.height / 2);
  const width = s.conversion * (s.circular ? s.radius : s.width / 2);
  const latDelta = radDeg(height / EARTH_RADIUS_IN_METERS);
  const longDeltaTop = radDeg(width / EARTH_RADIUS_IN_METERS / Math.cos(degRad(latitude + latDelta)));
  const longDeltaBottom = radDeg(width / EARTH_RADIUS_IN_METERS / Math.cos(degRad(latitude - latDelta)));
  const south = latitude < 0;
  return [
    south ? longitude - longDeltaBottom : longitude - longDeltaTop,
    latitude - latDelta,
    south ? longitude + longDeltaBottom : longitude + longDeltaTop,
    latitude + latDelta,
  ];
}

/** geohashCalculateAreasByShapeWGS84: the centre box and the neighbours worth searching. */
function areasByShape(s: Shape): HashBits[] {
  const [minLon, minLat, maxLon, maxLat] = boundingBox(s);
  const [longitude, latitude] = s.xy;
  let radiusMeters = s.circular ? s.radius : Math.sqrt((s.width / 2) * (s.width / 2) + (s.height / 2) * (s.height / 2));
  radiusMeters *= s.conversion;
  let steps = estimateStepsByRadius(radiusMeters, latitude);
  let hash = encode(LONG_RANGE, LAT_RANGE, longitude, latitude, steps)!;
  let nb = neighbors(hash);
  let area = decode(LONG_RANGE, LAT_RANGE, hash)!;
  const north = decode(LONG_RANGE, LAT_RANGE, nb.north);
  const south = decode(LONG_RANGE, LAT_RANGE, nb.south);
  const east = decode(LONG_RANGE, LAT_RANGE, nb.east);
  const west = decode(LONG_RANGE, LAT_RANGE, nb.west);
  let decrease = false;
  if (north && north.latitude.max < maxLat) decrease = true;
  if (south && south.latitude.min > minLat) decrease = true;
  if (east && east.longitude.max < maxLon) decrease = true;
  if (west && west.longitude.min > minLon) decrease = true;
  if (steps > 1 && decrease) {
    steps--;
    hash = encode(LONG_RANGE, LAT_RANGE, longitude, latitude, steps)!;
    nb = neighbors(hash);
    area = decode(LONG_RANGE, LAT_RANGE, hash)!;
  }
  if (steps >= 2) {
    if (area.latitude.min < minLat) { nb.south = ZERO_HASH; nb.south_west = ZERO_HASH; nb.south_east = ZERO_HASH; }
    if (area.latitude.max > maxLat) { nb.north = ZERO_HASH; nb.north_east = ZERO_HASH; nb.north_west = ZERO_HASH; }
    if (area.longitude.min < minLon) { nb.west = ZERO_HASH; nb.south_west = ZERO_HASH; nb.north_west = ZERO_HASH; }
    if (area.longitude.max > maxLon) { nb.east = ZERO_HASH; nb.south_east = ZERO_HASH; nb.north_east = ZERO_HASH; }
  }
  return [hash, nb.north, nb.south, nb.east, nb.west, nb.north_east, nb.north_west, nb.south_east, nb.south_west];
}

// ---- searching the sorted set (geo.c) ----------------------------------------------------------------

interface GeoPoint { member: string; score: number; longitude: number; latitude: number; dist: number }

/** geoWithinShape: the point's coordinates and distance when it is inside the shape. */
function withinShape(s: Shape, score: number): GeoPoint | null {
  const xy = decodeScore(score);
  if (!xy) return null;
  let dist: number;
  if (s.circular) {
    dist = distance(s.xy[0], s.xy[1], xy[0], xy[1]);
    if (dist > s.radius * s.conversion) return null;
  } else {
    const w = s.width * s.conversion, h = s.height * s.conversion;
    if (latDistance(xy[1], s.xy[1]) > h / 2) return null;
    if (distance(xy[0], xy[1], s.xy[0], xy[1]) > w / 2) return null;
    dist = distance(s.xy[0], s.xy[1], xy[0], xy[1]);
  }
  return { member: "", score, longitude: xy[0], latitude: xy[1], dist };
}

function pointsInBox(z: ZSetValue, hash: HashBits, s: Shape, out: GeoPoint[], limit: number): void {
  const min = align52(hash);
  const max = align52({ bits: hash.bits + 1n, step: hash.step });
  for (let n = z.firstInRange({ min, max, minex: false, maxex: true }); n && n.score < max; n = n.next()) {
    const p = withinShape(s, n.score);
    if (p) { p.member = n.ele; out.push(p); }
    if (out.length && limit && out.length >= limit) break;
  }
}

function membersOfAllNeighbors(z: ZSetValue, boxes: HashBits[], s: Shape, limit: number): GeoPoint[] {
  const out: GeoPoint[] = [];
  let last = 0;
  for (let i = 0; i < boxes.length; i++) {
    const b = boxes[i];
    if (b.bits === 0n && b.step === 0) continue;
    if (last && b.bits === boxes[last].bits && b.step === boxes[last].step) continue;
    if (out.length && limit && out.length >= limit) break;
    pointsInBox(z, b, s, out, limit);
    last = i;
  }
  return out;
}

// ---- argument helpers and reply formats ---------------------------------------------------------------

/** getDoubleFromObjectOrReply: Redis's string2d, else the given message. */
function doubleOrReply(ctx: CommandContext, i: number, msg: string = ERR.notFloat): number | null {
  const v = string2d(ctx.argv[i].toString("latin1"));
  if (v === null) { ctx.reply.error(msg); return null; }
  return v;
}

/**
 * C's "%f": six decimals, "inf"/"-inf" as glibc prints them, and every integer digit of a
 * huge value (toFixed switches to exponent form from 1e21; such doubles are integers).
 */
function fmtF6(d: number): string {
  if (!Number.isFinite(d)) return d > 0 ? "inf" : "-inf";
  return Math.abs(d) < 1e21 ? d.toFixed(6) : `${BigInt(d)}.000000`;
}

function longLatOrReply(ctx: CommandContext, i: number): [number, number] | null {
  const x = doubleOrReply(ctx, i);
  if (x === null) return null;
  const y = doubleOrReply(ctx, i + 1);
  if (y === null) return null;
  if (x < GEO_LONG_MIN || x > GEO_LONG_MAX || y < GEO_LAT_MIN || y > GEO_LAT_MAX) {
    ctx.reply.error(`-ERR invalid longitude,latitude pair ${fmtF6(x)},${fmtF6(y)}`);
    return null;
  }
  return [x, y];
}

function unitOrReply(ctx: CommandContext, i: number): number {
  switch (ctx.argv[i].toString("latin1").toLowerCase()) {
    case "m": return 1;
    case "km": return 1000;
    case "ft": return 0.3048;
    case "mi": return 1609.34;
  }
  ctx.reply.error("unsupported unit provided. please use M, KM, FT, MI");
  return -1;
}

/** llrint: round half to even. */
function rint(v: number): number {
  const f = Math.floor(v);
  const diff = v - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** addReplyDoubleDistance: fixedpoint_d2string with 4 decimals. */
function formatDistance(d: number): string {
  if (d === 0) return "0.0000";
  const sv = rint(d * 10000);
  const neg = sv < 0;
  let digits = String(Math.abs(sv));
  if (digits.length < 5) digits = digits.padStart(5, "0");
  return (neg ? "-" : "") + digits.slice(0, -4) + "." + digits.slice(-4);
}

/** addReplyHumanLongDouble: "%.17Lf" with trailing zeros (and a bare dot) removed; a RESP3 double. */
function replyHumanDouble(reply: ReplyWriter, d: number): void {
  let s = d.toFixed(17);
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  if (s === "-0") s = "-0";
  if (reply.resp >= 3) reply.raw("," + s + "\r\n");
  else reply.bulk(s);
}

function readZ(ctx: CommandContext, i: number): ZSetValue | null {
  return ctx.server.types.lookupRead<ZSetValue>(ctx.client.db, ctx.argv[i], OBJ_ZSET);
}

// ---- commands ----------------------------------------------------------------------------------------

function geoadd(ctx: CommandContext): void {
  const { argv, reply } = ctx;
  let xx = false, nx = false, longidx = 2;
  while (longidx < argv.length) {
    const opt = argv[longidx].toString("latin1").toLowerCase();
    if (opt === "nx") nx = true;
    else if (opt === "xx") xx = true;
    else if (opt !== "ch") break;
    longidx++;
  }
  if ((argv.length - longidx) % 3 || (xx && nx)) return reply.error(ERR.syntax);
  const elements = (argv.length - longidx) / 3;
  const zargv: Buffer[] = [Buffer.from("zadd"), ...argv.slice(1, longidx)];
  for (let i = 0; i < elements; i++) {
    const xy = longLatOrReply(ctx, longidx + i * 3);
    if (!xy) return;
    const hash = encode(LONG_RANGE, LAT_RANGE, xy[0], xy[1], GEO_STEP_MAX)!;
    zargv.push(Buffer.from(String(align52(hash))), argv[longidx + i * 3 + 2]);
  }
  // As Redis: GEOADD becomes the ZADD it amounts to (and is propagated as that ZADD).
  zaddGeneric({ ...ctx, argv: zargv }, 0);
}

function geohash(ctx: CommandContext): void {
  const { argv, reply } = ctx;
  const alphabet = "0123456789bcdefghjkmnpqrstuvwxyz";
  const z = readZ(ctx, 1);
  reply.arrayLen(argv.length - 2);
  for (let j = 2; j < argv.length; j++) {
    const score = z?.score(argv[j].toString("latin1"));
    const xy = score === undefined ? null : decodeScore(score);
    if (!xy) { reply.nullBulk(); continue; }
    const hash = encode({ min: -180, max: 180 }, { min: -90, max: 90 }, xy[0], xy[1], 26);
    const bits = hash ? hash.bits : 0n;
    let s = "";
    for (let i = 0; i < 11; i++) {
      const idx = i === 10 ? 0 : Number((bits >> BigInt(52 - (i + 1) * 5)) & 0x1fn);
      s += alphabet[idx];
    }
    reply.bulk(s);
  }
}

function geopos(ctx: CommandContext): void {
  const { argv, reply } = ctx;
  const z = readZ(ctx, 1);
  reply.arrayLen(argv.length - 2);
  for (let j = 2; j < argv.length; j++) {
    const score = z?.score(argv[j].toString("latin1"));
    const xy = score === undefined ? null : decodeScore(score);
    if (!xy) { reply.nullArray(); continue; }
    reply.arrayLen(2);
    replyHumanDouble(reply, xy[0]);
    replyHumanDouble(reply, xy[1]);
  }
}

function geodist(ctx: CommandContext): void {
  const { argv, reply } = ctx;
  let toMeter = 1;
  if (argv.length === 5) {
    toMeter = unitOrReply(ctx, 4);
    if (toMeter < 0) return;
  } else if (argv.length > 5) {
    return reply.error(ERR.syntax);
  }
  const z = readZ(ctx, 1);
  if (!z) return reply.nullBulk();
  const s1 = z.score(argv[2].toString("latin1"));
  const s2 = z.score(argv[3].toString("latin1"));
  if (s1 === undefined || s2 === undefined) return reply.nullBulk();
  const a = decodeScore(s1), b2 = decodeScore(s2);
  if (!a || !b2) return reply.nullBulk();
  reply.bulk(formatDistance(distance(a[0], a[1], b2[0], b2[1]) / toMeter));
}

const RADIUS_COORDS = 1, RADIUS_MEMBER = 2, RADIUS_NOSTORE = 4, GEOSEARCH = 8, GEOSEARCHSTORE = 16;
const SORT_NONE = 0, SORT_ASC = 1, SORT_DESC = 2;

function georadiusGeneric(ctx: CommandContext, srcKeyIndex: number, flags: number): void {
  const { argv, reply, server } = ctx;
  const db = ctx.client.db;
  let storekey: Buffer | null = null;
  let storedist = false;
  const z = readZ(ctx, srcKeyIndex);
  const shape: Shape = { circular: true, xy: [0, 0], conversion: 1, radius: 0, width: 0, height: 0 };
  let baseArgs: number;
  if (flags & RADIUS_COORDS) {
    baseArgs = 6;
    const xy = longLatOrReply(ctx, 2);
    if (!xy) return;
    shape.xy = xy;
    if (!distanceOrReply(ctx, baseArgs - 2, shape)) return;
  } else if ((flags & RADIUS_MEMBER) && !z) {
    baseArgs = 5;
  } else if (flags & RADIUS_MEMBER) {
    baseArgs = 5;
    const xy = memberXY(z!, argv[2]);
    if (!xy) return reply.error("could not decode requested zset member");
    shape.xy = xy;
    if (!distanceOrReply(ctx, baseArgs - 2, shape)) return;
  } else {
    baseArgs = 2;
    if (flags & GEOSEARCHSTORE) {
      baseArgs = 3;
      storekey = argv[1];
    }
  }
  let withdist = false, withhash = false, withcoords = false;
  let frommember = false, fromloc = false, byradius = false, bybox = false;
  let sort = SORT_NONE;
  let any = false;
  let count = 0;
  const remaining = argv.length - baseArgs;
  for (let i = 0; i < remaining; i++) {
    const arg = argv[baseArgs + i].toString("latin1").toLowerCase();
    if (arg === "withdist") withdist = true;
    else if (arg === "withhash") withhash = true;
    else if (arg === "withcoord") withcoords = true;
    else if (arg === "any") any = true;
    else if (arg === "asc") sort = SORT_ASC;
    else if (arg === "desc") sort = SORT_DESC;
    else if (arg === "count" && i + 1 < remaining) {
      const c = parseInteger(argv[baseArgs + i + 1]);
      if (c === null) return reply.error(ERR.notInteger);
      if (c <= 0n) return reply.error("COUNT must be > 0");
      count = Number(c);
      i++;
    } else if ((arg === "store" || arg === "storedist") && i + 1 < remaining && !(flags & RADIUS_NOSTORE) && !(flags & GEOSEARCH)) {
      storekey = argv[baseArgs + i + 1];
      storedist = arg === "storedist";
      i++;
    } else if (arg === "storedist" && (flags & GEOSEARCH) && (flags & GEOSEARCHSTORE)) {
      storedist = true;
    } else if (arg === "frommember" && i + 1 < remaining && (flags & GEOSEARCH) && !fromloc) {
      if (!z) { frommember = true; i++; continue; }
      const xy = memberXY(z, argv[baseArgs + i + 1]);
      if (!xy) return reply.error("could not decode requested zset member");
      shape.xy = xy;
      frommember = true;
      i++;
    } else if (arg === "fromlonlat" && i + 2 < remaining && (flags & GEOSEARCH) && !frommember) {
      const xy = longLatOrReply(ctx, baseArgs + i + 1);
      if (!xy) return;
      shape.xy = xy;
      fromloc = true;
      i += 2;
    } else if (arg === "byradius" && i + 2 < remaining && (flags & GEOSEARCH) && !bybox) {
      if (!distanceOrReply(ctx, baseArgs + i + 1, shape)) return;
      shape.circular = true;
      byradius = true;
      i += 2;
    } else if (arg === "bybox" && i + 3 < remaining && (flags & GEOSEARCH) && !byradius) {
      const w = doubleOrReply(ctx, baseArgs + i + 1, "need numeric width");
      if (w === null) return;
      const h = doubleOrReply(ctx, baseArgs + i + 2, "need numeric height");
      if (h === null) return;
      if (h < 0 || w < 0) return reply.error("height or width cannot be negative");
      const conv = unitOrReply(ctx, baseArgs + i + 3);
      if (conv < 0) return;
      shape.width = w; shape.height = h; shape.conversion = conv;
      shape.circular = false;
      bybox = true;
      i += 3;
    } else {
      return reply.error(ERR.syntax);
    }
  }
  if (storekey && (withdist || withhash || withcoords)) {
    return reply.error(`${flags & GEOSEARCHSTORE ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS"} is not compatible with WITHDIST, WITHHASH and WITHCOORD options`);
  }
  const cmdName = argv[0].toString("latin1");
  if ((flags & GEOSEARCH) && !(frommember || fromloc)) {
    return reply.error(`exactly one of FROMMEMBER or FROMLONLAT can be specified for ${cmdName}`);
  }
  if ((flags & GEOSEARCH) && !(byradius || bybox)) {
    return reply.error(`exactly one of BYRADIUS and BYBOX can be specified for ${cmdName}`);
  }
  if (any && !count) return reply.error("the ANY argument requires COUNT argument");
  const types = server.types;
  if (!z) {
    if (storekey) {
      if (types.delete(db, storekey)) types.propagate(db, argv);
      return reply.integer(0);
    }
    return reply.arrayLen(0);
  }
  if (count !== 0 && sort === SORT_NONE && !any) sort = SORT_ASC;
  const points = membersOfAllNeighbors(z, areasByShape(shape), shape, any ? count : 0);
  if (points.length === 0 && !storekey) return reply.arrayLen(0);
  const returned = count === 0 || points.length < count ? points.length : count;
  if (sort !== SORT_NONE) {
    // A stable sort on distance; Redis's qsort/pqsort leave ties in an unspecified order.
    points.sort((a, b) => (sort === SORT_ASC ? a.dist - b.dist : b.dist - a.dist));
  }
  if (!storekey) {
    const options = (withdist ? 1 : 0) + (withcoords ? 1 : 0) + (withhash ? 1 : 0);
    reply.arrayLen(returned);
    for (let i = 0; i < returned; i++) {
      const p = points[i];
      p.dist /= shape.conversion;
      if (options) reply.arrayLen(options + 1);
      reply.bulkBinary(p.member);
      if (withdist) reply.bulk(formatDistance(p.dist));
      // addReplyLongLong(c, gp->score): the score as C casts it (a ZADD-made 1.5 gives 1).
      if (withhash) reply.integer(doubleToInt64(p.score));
      if (withcoords) {
        reply.arrayLen(2);
        replyHumanDouble(reply, p.longitude);
        replyHumanDouble(reply, p.latitude);
      }
    }
    return;
  }
  if (returned) {
    const limits = zsetLimits(ctx);
    const out = ZSetValue.create(returned, 0, limits.entries, limits.value);
    for (let i = 0; i < returned; i++) {
      const p = points[i];
      p.dist /= shape.conversion;
      out.set(p.member, storedist ? p.dist : p.score, limits.entries, limits.value);
    }
    out.shrinkEncodingIfFits(limits.entries, limits.value);
    types.add(db, storekey, out);
    types.propagate(db, argv);
  } else if (types.delete(db, storekey)) {
    types.propagate(db, argv);
  }
  reply.integer(returned);
}

function memberXY(z: ZSetValue, member: Buffer): [number, number] | null {
  const score = z.score(member.toString("latin1"));
  return score === undefined ? null : decodeScore(score);
}

/** extractDistanceOrReply into the shape (radius and unit). */
function distanceOrReply(ctx: CommandContext, i: number, shape: Shape): boolean {
  const d = doubleOrReply(ctx, i, "need numeric radius");
  if (d === null) return false;
  if (d < 0) { ctx.reply.error("radius cannot be negative"); return false; }
  const conv = unitOrReply(ctx, i + 1);
  if (conv < 0) return false;
  shape.radius = d;
  shape.conversion = conv;
  return true;
}

export function registerGeoCommands(t: CommandTable): void {
  const def = (name: string, fn: (ctx: CommandContext) => void) => t.define(name, typeCommand(fn));
  def("geoadd", geoadd);
  def("geohash", geohash);
  def("geopos", geopos);
  def("geodist", geodist);
  def("georadius", (ctx) => georadiusGeneric(ctx, 1, RADIUS_COORDS));
  def("georadiusbymember", (ctx) => georadiusGeneric(ctx, 1, RADIUS_MEMBER));
  def("georadius_ro", (ctx) => georadiusGeneric(ctx, 1, RADIUS_COORDS | RADIUS_NOSTORE));
  def("georadiusbymember_ro", (ctx) => georadiusGeneric(ctx, 1, RADIUS_MEMBER | RADIUS_NOSTORE));
  def("geosearch", (ctx) => georadiusGeneric(ctx, 1, GEOSEARCH));
  def("geosearchstore", (ctx) => georadiusGeneric(ctx, 2, GEOSEARCH | GEOSEARCHSTORE));
}
