// Redis Cluster's bus format (src/cluster/wire.ts): field offsets as cluster.h's static_asserts,
// lengths as clusterProcessPacket checks them, and the framing clusterReadHandler does.
import { describe, it, expect } from "vitest";
import { decode, encode, readSlots, FrameReader, HEADER_LEN, WireError, NODE_MASTER, NODE_PFAIL, NODE_SLAVE, type Message } from "../../src/cluster/wire.js";

const A = "a".repeat(40), B = "b".repeat(40), C = "c".repeat(40);

function ping(over: Partial<Message> = {}): Message {
  return {
    type: "ping", currentEpoch: 7, gossip: [],
    sender: { id: A, ip: "", port: 7000, cport: 17000, pport: 0, configEpoch: 3, slots: [[0, 5], [100, 100]], master: null, offset: 1234, flags: NODE_MASTER },
    ...over,
  };
}

describe("cluster bus wire format", () => {
  it("puts the header fields at Redis's offsets (sig, totlen, ver, port, type, epochs, sender, slots, cport, flags)", () => {
    const buf = encode(ping(), "");
    expect(buf.length).toBe(HEADER_LEN);
    expect(buf.toString("latin1", 0, 4)).toBe("RCmb");
    expect(buf.readUInt32BE(4)).toBe(2256);
    expect(buf.readUInt16BE(8)).toBe(1);
    expect(buf.readUInt16BE(10)).toBe(7000);
    expect(buf.readUInt16BE(12)).toBe(0);
    expect(buf.readBigUInt64BE(16)).toBe(7n);
    expect(buf.readBigUInt64BE(24)).toBe(3n);
    expect(buf.readBigUInt64BE(32)).toBe(1234n);
    expect(buf.toString("latin1", 40, 80)).toBe(A);
    expect(buf[80]).toBe(0b0011_1111); // slots 0..5
    expect(buf[80 + 12]).toBe(0b0001_0000); // slot 100 = byte 12 bit 4
    expect(buf.subarray(2128, 2168).every((x) => x === 0)).toBe(true); // no master
    expect(buf[2168]).toBe(0); // no announced ip: the receiver takes the socket's
    expect(buf.readUInt16BE(2248)).toBe(17000);
    expect(buf.readUInt16BE(2250)).toBe(NODE_MASTER);
  });

  it("round-trips PING with gossip and the hostname extension (8-byte padded), taking the ip from the socket when myip is empty", () => {
    const m = ping({
      gossip: [{ id: B, ip: "10.0.0.2", port: 7001, cport: 17001, pport: 0, flags: NODE_MASTER | NODE_PFAIL, pingSent: 5, pongReceived: 4 }],
    });
    m.sender.hostname = "host-1.example";
    const buf = encode(m, "");
    expect(buf.length).toBe(2256 + 104 + 8 + 16); // "host-1.example\0" is 15 bytes, padded to 16
    expect(buf[2253] & 4).toBe(4); // CLUSTERMSG_FLAG0_EXT_DATA
    const d = decode(buf, "192.168.1.9");
    expect(d.type).toBe("ping");
    expect(d.sender.ip).toBe("192.168.1.9");
    expect(d.sender.hostname).toBe("host-1.example");
    expect(d.sender.slots).toEqual([[0, 5], [100, 100]]);
    expect(d.sender.master).toBeNull();
    expect(d.gossip).toHaveLength(1);
    expect(d.gossip[0]).toMatchObject({ id: B, ip: "10.0.0.2", port: 7001, cport: 17001, pfail: true, pingSent: 5, pongReceived: 4 });
  });

  it("round-trips FAIL, UPDATE, PUBLISH (binary payload), AUTH_REQUEST with FORCEACK, and a replica's header", () => {
    const fail = decode(encode(ping({ type: "fail", about: C }), "1.2.3.4"), "9.9.9.9");
    expect(fail.about).toBe(C);
    expect(fail.sender.ip).toBe("1.2.3.4");
    const upd = decode(encode(ping({ type: "update", update: { id: C, configEpoch: 9, slots: [[16000, 16383]] } }), ""), "x");
    expect(upd.update).toEqual({ id: C, configEpoch: 9, slots: [[16000, 16383]] });
    const payload = Buffer.from([0, 255, 10, 13]);
    const pub = encode(ping({ type: "publishshard", publish: { channel: Buffer.from("ch"), message: payload } }), "");
    expect(pub.length).toBe(2256 + 8 + 2 + 4);
    const dp = decode(pub, "x");
    expect(dp.publish?.channel.toString()).toBe("ch");
    expect(dp.publish?.message.equals(payload)).toBe(true);
    const req = ping({ type: "auth-req" });
    req.sender = { ...req.sender, master: B, forceAck: true, flags: NODE_SLAVE };
    const dr = decode(encode(req, ""), "x");
    expect(dr.type).toBe("auth-req");
    expect(dr.sender.master).toBe(B);
    expect(dr.sender.forceAck).toBe(true);
  });

  it("carries an active-active group and CRDT port in our own extension, next to the hostname", () => {
    const m = ping();
    m.sender.group = "g1";
    m.sender.crdtPort = 4242;
    m.sender.hostname = "h";
    const d = decode(encode(m, ""), "x");
    expect(d.sender.group).toBe("g1");
    expect(d.sender.crdtPort).toBe(4242);
    expect(d.sender.hostname).toBe("h");
  });

  it("carries a group member's migrations and answers in our LATTICE_MOVES extension; a short one is ignored", () => {
    const m = ping();
    m.sender.group = "g1";
    m.sender.crdtPort = 4242;
    const moves = { seq: 1764294000123, cut: 1764294000456.5, crdtId: "node-7f", slots: [0, 100, 16383], acks: [{ peer: B, seq: 42 }, { peer: C, seq: 7 }] };
    m.sender.moves = moves;
    const bytes = encode(m, "");
    expect(decode(bytes, "x").sender.moves).toEqual(moves);
    expect(decode(bytes, "x").sender.group).toBe("g1");
    // Nothing migrating, no answers: still sent (a peer reads "nothing listed").
    m.sender.moves = { seq: 0, cut: 0, crdtId: "", slots: [], acks: [] };
    expect(decode(encode(m, ""), "x").sender.moves).toEqual(m.sender.moves);
    // An ack count past the extension's end: the extension is dropped, the message kept.
    m.sender.moves = moves;
    const bad = encode(m, "");
    const ext = bad.indexOf(Buffer.from("node-7f", "latin1"));
    bad.writeUInt16BE(60000, ext + 7 + 2 + 2 * 3);
    const d = decode(bad, "x");
    expect(d.sender.moves).toBeUndefined();
    expect(d.sender.group).toBe("g1");
  });

  it("ignores a message whose length does not match its type, or of another version (non-fatal)", () => {
    const buf = encode(ping({ type: "fail", about: C }), "");
    const short = Buffer.concat([buf.subarray(0, 2256 + 10)]);
    short.writeUInt32BE(short.length, 4);
    expect(() => decode(short, "x")).toThrow(/expected length 2296/);
    const v2 = Buffer.from(buf);
    v2.writeUInt16BE(2, 8);
    try { decode(v2, "x"); expect.unreachable(); } catch (e) { expect((e as WireError).fatal).toBe(false); }
    // An extension length that is not a multiple of 8.
    const m = ping();
    m.sender.hostname = "abc";
    const bad = encode(m, "");
    bad.writeUInt32BE(12, 2256);
    expect(() => decode(bad, "x")).toThrow(/without proper padding/);
  });

  it("frames messages split across reads and several in one read; a bad signature closes the link", () => {
    const frames: Buffer[] = [];
    const fatal: WireError[] = [];
    const r = new FrameReader((f) => frames.push(f), (e) => fatal.push(e));
    const one = encode(ping(), ""), two = encode(ping({ type: "fail", about: B }), "");
    const all = Buffer.concat([one, two, one]);
    r.push(all.subarray(0, 3));
    r.push(all.subarray(3, 2300));
    expect(frames).toHaveLength(1);
    r.push(all.subarray(2300));
    expect(frames.map((f) => decode(f, "x").type)).toEqual(["ping", "fail", "ping"]);
    r.push(Buffer.from("GET foo\r\n"));
    expect(fatal).toHaveLength(1);
    expect(fatal[0].fatal).toBe(true);
  });
});

describe("readSlots (a header's slot bitmap as ranges)", () => {
  it("equals a bit-by-bit walk for random bitmaps, runs over byte edges and the ends included", () => {
    const walk = (bm: Buffer): [number, number][] => {
      const out: [number, number][] = [];
      let start = -1;
      for (let s = 0; s <= 16384; s++) {
        const set = s < 16384 && (bm[s >> 3] & (1 << (s & 7))) !== 0;
        if (set && start < 0) start = s;
        else if (!set && start >= 0) { out.push([start, s - 1]); start = -1; }
      }
      return out;
    };
    let seed = 7;
    const rand = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    const cases: Buffer[] = [Buffer.alloc(2048), Buffer.alloc(2048, 0xff)];
    for (let c = 0; c < 200; c++) {
      const bm = Buffer.alloc(2048);
      for (let r = rand(20); r > 0; r--) {
        const a = rand(16384), b = Math.min(16383, a + rand(c % 2 ? 5 : 3000));
        for (let s = a; s <= b; s++) bm[s >> 3] |= 1 << (s & 7);
      }
      if (c % 7 === 0) bm[0] |= 1;
      if (c % 5 === 0) bm[2047] |= 0x80;
      cases.push(bm);
    }
    for (const bm of cases) expect(readSlots(Buffer.concat([Buffer.alloc(80), bm]), 80)).toEqual(walk(bm));
  });

  it("decode reads each header's slots, one sender's bitmap changing, repeating or coming back", () => {
    const seq: [number, number][][] = [[[0, 5]], [[0, 5]], [[0, 6]], [], [[0, 5]], [[16383, 16383]], [[0, 5]]];
    for (const slots of seq) {
      for (const id of [A, B]) {
        const m = decode(encode(ping({ sender: { ...ping().sender, id, slots } }), ""), "127.0.0.1");
        expect(m.sender.slots).toEqual(slots);
      }
    }
  });
});
