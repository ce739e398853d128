// Redis Cluster's bus format (cluster.h's clusterMsg, protocol version 1), so a LatticeKV node
// and a redis-server 7.0 node can be members of one cluster: every message is a fixed
// 2256-byte header followed by a type-specific body, integers big-endian.
//
// Header (offsets as cluster.h's static_asserts):
//   0 sig "RCmb" | 4 totlen u32 | 8 ver u16 (1) | 10 port u16 | 12 type u16 | 14 count u16
//   16 currentEpoch u64 | 24 configEpoch u64 | 32 offset u64 | 40 sender[40]
//   80 myslots[2048] (bit s%8 of byte s/8) | 2128 slaveof[40] (zeros: a master)
//   2168 myip[46] (zeros: take the address the message came from) | 2214 extensions u16
//   2216 notused[30] | 2246 pport u16 | 2248 cport u16 | 2250 flags u16 | 2252 state u8
//   2253 mflags[3] | 2256 data
// Bodies:
//   PING/PONG/MEET  count gossip entries of 104 bytes (nodename[40] ping_sent u32
//                   pong_received u32 ip[46] port u16 cport u16 flags u16 pport u16 unused u16),
//                   then `extensions` ping extensions (length u32, type u16, unused u16, data
//                   padded to 8 bytes) when mflags[0] has EXT_DATA
//   FAIL            nodename[40]
//   PUBLISH(SHARD)  channel_len u32, message_len u32, channel, message
//   UPDATE          configEpoch u64, nodename[40], slots[2048]
//   AUTH_REQUEST / AUTH_ACK / MFSTART: the header alone
// Ping extensions: type 0 is Redis's hostname (cluster-announce-hostname). Type LATTICE_GROUP
// (ours) carries an active-active node's cluster-group and CRDT bus port (src/cluster/group.ts);
// LATTICE_MOVES (ours) the slots a group member is migrating out of its group and its answers
// to its group peers' migrations (src/cluster/group-migration.ts). Both are only sent by a node
// in a group, and a redis-server ignores them (logging the unknown type).
import { CLUSTER_SLOTS } from "./state.js";

export const HEADER_LEN = 2256;
const GOSSIP_LEN = 104;
const NAMELEN = 40;
const IPLEN = 46;
const UPDATE_LEN = 8 + NAMELEN + CLUSTER_SLOTS / 8;
const PROTO_VER = 1;

/** Redis's CLUSTERMSG_TYPE_* numbers, and the names CLUSTER INFO's stats use. */
export const TYPE_NUMBER = {
  ping: 0, pong: 1, meet: 2, fail: 3, publish: 4, "auth-req": 5, "auth-ack": 6, update: 7, mfstart: 8, module: 9,
  publishshard: 10,
} as const;
export type MessageType = keyof typeof TYPE_NUMBER;
const TYPE_NAME: MessageType[] = [];
for (const [k, v] of Object.entries(TYPE_NUMBER)) TYPE_NAME[v] = k as MessageType;

/** CLUSTER_NODE_* flags, in the header (the sender's) and in gossip entries. */
export const NODE_MASTER = 1, NODE_SLAVE = 2, NODE_PFAIL = 4, NODE_FAIL = 8, NODE_MYSELF = 16, NODE_HANDSHAKE = 32,
  NODE_NOADDR = 64, NODE_MEET = 128, NODE_MIGRATE_TO = 256, NODE_NOFAILOVER = 512;
const FLAG0_PAUSED = 1, FLAG0_FORCEACK = 2, FLAG0_EXT_DATA = 4;
const EXT_HOSTNAME = 0;
/** Our own extension type: far from Redis's small numbers (7.2 uses 1..3). */
export const EXT_LATTICE_GROUP = 0x4c4b;
export const EXT_LATTICE_MOVES = 0x4c4d;

/**
 * A group member's migration announcement and answers (group-migration.ts), in extension
 * LATTICE_MOVES: seq f64 | cut f64 | crdtId (u16 length, bytes) | slots (u16 count, u16 each)
 * | acks (u16 count, then per ack: the peer's name[40], seq f64).
 */
export interface WireMoves {
  /** The sender's migration sequence: raised each time a slot starts migrating out. */
  seq: number;
  /** The cut time of the sender's latest CRDT batch (every write it made is at or below it). */
  cut: number;
  /** The sender's CRDT node id (the origin its writes carry). */
  crdtId: string;
  /** Slots the sender is migrating out of its group (SETSLOT MIGRATING). */
  slots: number[];
  /** Per group peer, the latest of that peer's migration sequences the sender has acted on. */
  acks: { peer: string; seq: number }[];
}

export interface WireNode {
  id: string; ip: string; port: number; cport: number;
  /** Suspected or failed, as the sender sees it (PFAIL or FAIL in the entry's flags). */
  pfail?: boolean;
  /** The plain-text port in a TLS cluster (0: none). */
  pport?: number;
  /** CLUSTER_NODE_* flags of a gossip entry (the sender's view of that node). */
  flags?: number;
  /** Seconds (the sender's clock) of its last ping to / pong from the node. */
  pingSent?: number; pongReceived?: number;
}

/** Every message's header: who sends it and the configuration it advertises. */
export interface WireSender extends WireNode {
  /** Its own configEpoch, or its master's if it is a replica (Redis's header does the same). */
  configEpoch: number;
  /** The slots it claims: its own, or its master's if it is a replica. */
  slots: [number, number][];
  /** Its master's id when it is a replica. */
  master: string | null;
  /** Its replication offset. */
  offset: number;
  /** A master paused for a manual failover (CLUSTERMSG_FLAG0_PAUSED). */
  paused?: boolean;
  /** cluster-replica-no-failover yes on the sender (CLUSTER_NODE_NOFAILOVER). */
  noFailover?: boolean;
  /** A failover auth request from a manual failover: vote even though the master is up. */
  forceAck?: boolean;
  /** Its active-active group (cluster-group) and CRDT bus port: group.ts (PING/PONG/MEET only). */
  group?: string;
  crdtPort?: number;
  /** Its group migrations and answers (group-migration.ts; PING/PONG/MEET only). */
  moves?: WireMoves;
  /** Its cluster-announce-hostname (Redis's hostname ping extension; PING/PONG/MEET only). */
  hostname?: string;
  /** The cluster state byte (0 ok, 1 fail) as the sender sees it. */
  state?: number;
}

export interface Message {
  type: MessageType;
  sender: WireSender;
  currentEpoch: number;
  gossip: WireNode[];
  /** fail: the failing node's id. */
  about?: string;
  /** update: a node's newer configuration. */
  update?: { id: string; configEpoch: number; slots: [number, number][] };
  /** publish / publishshard. */
  publish?: { channel: Buffer; message: Buffer };
  /** Whether the message is a PING, PONG or MEET, the ones that carry extensions. */
  carriesExtensions?: boolean;
}

/** What decode found wrong: the link is closed ("fatal") or the message ignored. */
export class WireError extends Error {
  constructor(message: string, readonly fatal: boolean) { super(message); }
}

// ---- encoding -------------------------------------------------------------------------------

function writeName(buf: Buffer, off: number, id: string, len: number): void {
  buf.write(id.slice(0, len), off, len, "latin1");
}

/** Bitmaps of slot-range arrays already encoded (the state hands out the same array until a slot moves). */
const bitmaps = new WeakMap<[number, number][], Buffer>();

function writeSlots(buf: Buffer, off: number, ranges: [number, number][]): void {
  let bm = bitmaps.get(ranges);
  if (!bm) {
    bm = Buffer.alloc(CLUSTER_SLOTS / 8);
    for (const [a, b] of ranges) for (let s = a; s <= b; s++) bm[s >> 3] |= 1 << (s & 7);
    bitmaps.set(ranges, bm);
  }
  bm.copy(buf, off);
}

function pad8(n: number): number { return (n + 7) & ~7; }

interface Extension { type: number; data: Buffer }

function extensionsOf(s: WireSender): Extension[] {
  const out: Extension[] = [];
  if (s.hostname) out.push({ type: EXT_HOSTNAME, data: Buffer.from(s.hostname + "\0", "latin1") });
  if (s.group) {
    const d = Buffer.alloc(2 + Buffer.byteLength(s.group) + 1);
    d.writeUInt16BE(s.crdtPort ?? 0, 0);
    d.write(s.group, 2);
    out.push({ type: EXT_LATTICE_GROUP, data: d });
  }
  if (s.moves) out.push({ type: EXT_LATTICE_MOVES, data: encodeMoves(s.moves) });
  return out;
}

function encodeMoves(m: WireMoves): Buffer {
  const id = Buffer.from(m.crdtId, "latin1");
  const d = Buffer.alloc(16 + 2 + id.length + 2 + 2 * m.slots.length + 2 + (NAMELEN + 8) * m.acks.length);
  let off = d.writeDoubleBE(m.seq, 0);
  off = d.writeDoubleBE(m.cut, off);
  off = d.writeUInt16BE(id.length, off);
  off += id.copy(d, off);
  off = d.writeUInt16BE(m.slots.length, off);
  for (const s of m.slots) off = d.writeUInt16BE(s, off);
  off = d.writeUInt16BE(m.acks.length, off);
  for (const a of m.acks) {
    writeName(d, off, a.peer, NAMELEN);
    off = d.writeDoubleBE(a.seq, off + NAMELEN);
  }
  return d;
}

/** LATTICE_MOVES's data (from `off`, `len` bytes, padding included); undefined if malformed. */
function decodeMoves(buf: Buffer, off: number, len: number): WireMoves | undefined {
  const end = off + len;
  const need = (n: number) => { if (off + n > end) throw new RangeError("short"); };
  try {
    need(18);
    const seq = buf.readDoubleBE(off), cut = buf.readDoubleBE(off + 8);
    const idLen = buf.readUInt16BE(off + 16);
    off += 18;
    need(idLen + 2);
    const crdtId = buf.toString("latin1", off, off + idLen);
    off += idLen;
    const nSlots = buf.readUInt16BE(off);
    off += 2;
    need(2 * nSlots + 2);
    const slots: number[] = [];
    for (let i = 0; i < nSlots; i++, off += 2) slots.push(buf.readUInt16BE(off) % CLUSTER_SLOTS);
    const nAcks = buf.readUInt16BE(off);
    off += 2;
    need((NAMELEN + 8) * nAcks);
    const acks: { peer: string; seq: number }[] = [];
    for (let i = 0; i < nAcks; i++, off += NAMELEN + 8) acks.push({ peer: readName(buf, off), seq: buf.readDoubleBE(off + NAMELEN) });
    return { seq, cut, crdtId, slots, acks };
  } catch {
    return undefined;
  }
}

/** The bytes of a message (clusterBuildMessageHdr + the per-type body). */
export function encode(m: Message, myip: string): Buffer {
  const s = m.sender;
  const isPing = m.type === "ping" || m.type === "pong" || m.type === "meet";
  const exts = isPing ? extensionsOf(s) : [];
  let bodyLen = 0;
  if (isPing) {
    bodyLen = m.gossip.length * GOSSIP_LEN;
    for (const e of exts) bodyLen += 8 + pad8(e.data.length);
  } else if (m.type === "fail") bodyLen = NAMELEN;
  else if (m.type === "update") bodyLen = UPDATE_LEN;
  else if (m.type === "publish" || m.type === "publishshard") bodyLen = 8 + (m.publish?.channel.length ?? 0) + (m.publish?.message.length ?? 0);
  const buf = Buffer.alloc(HEADER_LEN + bodyLen);
  buf.write("RCmb", 0, "latin1");
  buf.writeUInt32BE(buf.length, 4);
  buf.writeUInt16BE(PROTO_VER, 8);
  buf.writeUInt16BE(s.port & 0xffff, 10);
  buf.writeUInt16BE(TYPE_NUMBER[m.type], 12);
  buf.writeUInt16BE(isPing ? m.gossip.length : 0, 14);
  buf.writeBigUInt64BE(BigInt(Math.max(0, m.currentEpoch)), 16);
  buf.writeBigUInt64BE(BigInt(Math.max(0, s.configEpoch)), 24);
  buf.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(s.offset))), 32);
  writeName(buf, 40, s.id, NAMELEN);
  writeSlots(buf, 80, s.slots);
  if (s.master) writeName(buf, 2128, s.master, NAMELEN);
  if (myip) buf.write(myip.slice(0, IPLEN - 1), 2168, "latin1");
  buf.writeUInt16BE(exts.length, 2214);
  buf.writeUInt16BE((s.pport ?? 0) & 0xffff, 2246);
  buf.writeUInt16BE(s.cport & 0xffff, 2248);
  buf.writeUInt16BE((s.flags ?? 0) & 0xffff, 2250);
  buf[2252] = s.state ?? 0;
  buf[2253] = (s.paused ? FLAG0_PAUSED : 0) | (s.forceAck ? FLAG0_FORCEACK : 0) | (exts.length ? FLAG0_EXT_DATA : 0);
  let off = HEADER_LEN;
  if (isPing) {
    for (const g of m.gossip) {
      writeName(buf, off, g.id, NAMELEN);
      buf.writeUInt32BE((g.pingSent ?? 0) >>> 0, off + 40);
      buf.writeUInt32BE((g.pongReceived ?? 0) >>> 0, off + 44);
      buf.write(g.ip.slice(0, IPLEN - 1), off + 48, "latin1");
      buf.writeUInt16BE(g.port & 0xffff, off + 94);
      buf.writeUInt16BE(g.cport & 0xffff, off + 96);
      buf.writeUInt16BE((g.flags ?? (g.pfail ? NODE_PFAIL : 0)) & 0xffff, off + 98);
      buf.writeUInt16BE((g.pport ?? 0) & 0xffff, off + 100);
      off += GOSSIP_LEN;
    }
    for (const e of exts) {
      const len = 8 + pad8(e.data.length);
      buf.writeUInt32BE(len, off);
      buf.writeUInt16BE(e.type, off + 4);
      e.data.copy(buf, off + 8);
      off += len;
    }
  } else if (m.type === "fail") {
    writeName(buf, off, m.about ?? "", NAMELEN);
  } else if (m.type === "update" && m.update) {
    buf.writeBigUInt64BE(BigInt(Math.max(0, m.update.configEpoch)), off);
    writeName(buf, off + 8, m.update.id, NAMELEN);
    writeSlots(buf, off + 8 + NAMELEN, m.update.slots);
  } else if ((m.type === "publish" || m.type === "publishshard") && m.publish) {
    buf.writeUInt32BE(m.publish.channel.length, off);
    buf.writeUInt32BE(m.publish.message.length, off + 4);
    m.publish.channel.copy(buf, off + 8);
    m.publish.message.copy(buf, off + 8 + m.publish.channel.length);
  }
  return buf;
}

// ---- decoding -------------------------------------------------------------------------------

function readName(buf: Buffer, off: number): string {
  return buf.toString("latin1", off, off + NAMELEN);
}

function readCString(buf: Buffer, off: number, max: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString("latin1", off, end < 0 || end > off + max ? off + max : end);
}

function isNullName(buf: Buffer, off: number): boolean {
  for (let i = 0; i < NAMELEN; i++) if (buf[off + i] !== 0) return false;
  return true;
}

/** Per sender id, the last header bitmap read and its ranges (readSenderSlots). */
const lastBitmaps = new Map<string, { bitmap: Buffer; ranges: [number, number][] }>();

/**
 * readSlots of a header from sender `id`: a node sends the same bitmap in message after
 * message, so an equal one (a 2 kB compare) returns the ranges read last time (the same
 * array: callers copy before keeping). In 04-resharding's profile, readSlots was ~2% of the
 * servers' samples; a copy is kept per sender (a bounded number of them).
 */
function readSenderSlots(id: string, buf: Buffer, off: number): [number, number][] {
  const bitmap = buf.subarray(off, off + CLUSTER_SLOTS / 8);
  const last = lastBitmaps.get(id);
  if (last && last.bitmap.equals(bitmap)) return last.ranges;
  const ranges = readSlots(buf, off);
  if (!last && lastBitmaps.size >= 1024) lastBitmaps.clear(); // forged ids must not grow it
  lastBitmaps.set(id, { bitmap: Buffer.from(bitmap), ranges });
  return ranges;
}

/**
 * The bitmap's slot ranges. Every PING/PONG carries one, so whole bytes are skipped: 0x00
 * outside a range, 0xff inside one (a bit-by-bit walk of 16384 slots was most of decode).
 */
export function readSlots(buf: Buffer, off: number): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  for (let i = 0; i < CLUSTER_SLOTS >> 3; i++) {
    const b = buf[off + i];
    if (b === (start < 0 ? 0x00 : 0xff)) continue;
    for (let k = 0; k < 8; k++) {
      const set = (b & (1 << k)) !== 0;
      if (set && start < 0) start = (i << 3) + k;
      else if (!set && start >= 0) { out.push([start, (i << 3) + k - 1]); start = -1; }
    }
  }
  if (start >= 0) out.push([start, CLUSTER_SLOTS - 1]);
  return out;
}

/**
 * The first 8 bytes of a message: its total length, or a fatal WireError for a bad signature
 * or a length below the header's (clusterReadHandler frees the link then).
 */
export function frameLength(buf: Buffer): number {
  const len = buf.readUInt32BE(4);
  if (buf.toString("latin1", 0, 4) !== "RCmb" || len < HEADER_LEN) {
    throw new WireError("Bad message length or signature received from Cluster bus.", true);
  }
  return len;
}

/**
 * One complete message (clusterProcessPacket's sanity checks): a message of another protocol
 * version, or whose length does not match its type's, is ignored (a non-fatal WireError).
 * `fromIp` is the peer's address, used when the sender left myip empty.
 */
export function decode(buf: Buffer, fromIp: string): Message {
  const totlen = buf.readUInt32BE(4);
  const typeNo = buf.readUInt16BE(12);
  const type = TYPE_NAME[typeNo];
  if (buf.readUInt16BE(8) !== PROTO_VER) throw new WireError("Can't handle messages of different versions", false);
  const count = buf.readUInt16BE(14);
  const mflags0 = buf[2253];
  const nExt = buf.readUInt16BE(2214);
  const isPing = type === "ping" || type === "pong" || type === "meet";
  let explen = HEADER_LEN;
  if (isPing) {
    explen += count * GOSSIP_LEN;
    if (mflags0 & FLAG0_EXT_DATA) {
      let off = explen;
      for (let i = 0; i < nExt; i++) {
        if (off + 8 > totlen) throw new WireError(`Received invalid ${type} packet with extension data that exceeds total packet length (${totlen})`, false);
        const extlen = buf.readUInt32BE(off);
        if (extlen % 8 !== 0 || extlen < 8) throw new WireError(`Received a ${type} packet without proper padding (${extlen} bytes)`, false);
        if (totlen - explen < extlen) throw new WireError(`Received invalid ${type} packet with extension data that exceeds total packet length (${totlen})`, false);
        explen += extlen;
        off += extlen;
      }
    }
  } else if (type === "fail") explen += NAMELEN;
  else if (type === "publish" || type === "publishshard") {
    if (totlen < HEADER_LEN + 8) throw new WireError(`Received invalid ${type} packet of length ${totlen}`, false);
    explen += 8 + buf.readUInt32BE(HEADER_LEN) + buf.readUInt32BE(HEADER_LEN + 4);
  } else if (type === "update") explen += UPDATE_LEN;
  else if (type === "module") {
    if (totlen < HEADER_LEN + 16) throw new WireError(`Received invalid ${type} packet of length ${totlen}`, false);
    explen += 13 + buf.readUInt32BE(HEADER_LEN + 8);
  } else if (type === undefined) explen = totlen;
  if (totlen !== explen) throw new WireError(`Received invalid ${type ?? "unknown"} packet of length ${totlen} but expected length ${explen}`, false);
  if (type === undefined) throw new WireError(`Received unknown message type ${typeNo}`, false);
  const flags = buf.readUInt16BE(2250);
  const myip = readCString(buf, 2168, IPLEN);
  const id = readName(buf, 40);
  const sender: WireSender = {
    id, ip: myip || fromIp, port: buf.readUInt16BE(10), cport: buf.readUInt16BE(2248),
    pport: buf.readUInt16BE(2246), flags,
    configEpoch: Number(buf.readBigUInt64BE(24)),
    slots: readSenderSlots(id, buf, 80),
    master: isNullName(buf, 2128) ? null : readName(buf, 2128),
    offset: Number(buf.readBigUInt64BE(32)),
    paused: (mflags0 & FLAG0_PAUSED) !== 0,
    forceAck: (mflags0 & FLAG0_FORCEACK) !== 0,
    noFailover: (flags & NODE_NOFAILOVER) !== 0,
    state: buf[2252],
  };
  const m: Message = { type, sender, currentEpoch: Number(buf.readBigUInt64BE(16)), gossip: [], carriesExtensions: isPing };
  let off = HEADER_LEN;
  if (isPing) {
    for (let i = 0; i < count; i++, off += GOSSIP_LEN) {
      const gflags = buf.readUInt16BE(off + 98);
      m.gossip.push({
        id: readName(buf, off), pingSent: buf.readUInt32BE(off + 40), pongReceived: buf.readUInt32BE(off + 44),
        ip: readCString(buf, off + 48, IPLEN), port: buf.readUInt16BE(off + 94), cport: buf.readUInt16BE(off + 96),
        flags: gflags, pport: buf.readUInt16BE(off + 100), pfail: (gflags & (NODE_PFAIL | NODE_FAIL)) !== 0,
      });
    }
    // Without a hostname extension the sender has no announced hostname (clusterProcessPingExt).
    sender.hostname = "";
    if (mflags0 & FLAG0_EXT_DATA) {
      for (let i = 0; i < nExt; i++) {
        const len = buf.readUInt32BE(off);
        const extType = buf.readUInt16BE(off + 4);
        if (extType === EXT_HOSTNAME) sender.hostname = readCString(buf, off + 8, len - 8);
        else if (extType === EXT_LATTICE_GROUP && len >= 16) {
          sender.crdtPort = buf.readUInt16BE(off + 8);
          sender.group = readCString(buf, off + 10, len - 10);
        } else if (extType === EXT_LATTICE_MOVES) sender.moves = decodeMoves(buf, off + 8, len - 8);
        off += len;
      }
    }
  } else if (type === "fail") {
    m.about = readName(buf, off);
  } else if (type === "update") {
    m.update = { configEpoch: Number(buf.readBigUInt64BE(off)), id: readName(buf, off + 8), slots: readSlots(buf, off + 8 + NAMELEN) };
  } else if (type === "publish" || type === "publishshard") {
    const cl = buf.readUInt32BE(off), ml = buf.readUInt32BE(off + 4);
    m.publish = { channel: Buffer.from(buf.subarray(off + 8, off + 8 + cl)), message: Buffer.from(buf.subarray(off + 8 + cl, off + 8 + cl + ml)) };
  }
  return m;
}

/**
 * Splits a link's byte stream into messages (clusterReadHandler): `onMessage` gets each whole
 * message; a bad signature or length closes the link through `onFatal`.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private have = 0;
  private need = -1;

  constructor(private readonly onFrame: (frame: Buffer) => void, private readonly onFatal: (e: WireError) => void,
              private readonly maxLen = 1 << 30) {}

  push(data: Buffer): void {
    this.chunks.push(data);
    this.have += data.length;
    for (;;) {
      if (this.need < 0) {
        if (this.have < 8) return;
        const head = this.take(8, false);
        try {
          this.need = frameLength(head);
        } catch (e) {
          this.reset();
          this.onFatal(e as WireError);
          return;
        }
        if (this.need > this.maxLen) {
          this.reset();
          this.onFatal(new WireError("Bad message length or signature received from Cluster bus.", true));
          return;
        }
      }
      if (this.have < this.need) return;
      const frame = this.take(this.need, true);
      this.need = -1;
      this.onFrame(frame);
    }
  }

  private reset(): void {
    this.chunks = [];
    this.have = 0;
    this.need = -1;
  }

  /** The first n buffered bytes; consumed when `consume`. */
  private take(n: number, consume: boolean): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    if (!consume) {
      this.chunks = [all];
      return all.subarray(0, n);
    }
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.have = rest.length;
    return out;
  }
}
