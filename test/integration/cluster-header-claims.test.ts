// A node takes a sender's role and slot claims only from a PING, PONG or MEET header, as
// Redis's clusterProcessPacket ("PING, PONG, MEET: process config information"); the epochs
// come from every message's header. The test speaks the bus itself: it connects to A's bus
// port and sends messages under B's name (src/cluster/wire.ts encodes them as a node would).
// Real redis-server 7.0.15 in this layout (/tmp/cl16/hdr.mjs, session 16): after such a
// PUBLISH claiming slots 0-99 with configEpoch 50, A still gives 0-99 to itself and B stays a
// master, while B's configEpoch and A's currentEpoch become 50; a PING with that header then
// moves 0-99 to B (A keeps 100-8191). Ours took the slots and the role from any message's
// header (this file failed: A gave 0-99 to B on the PUBLISH).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import net from "node:net";
import type Redis from "ioredis";
import { serverGroup, connectClient, type RunningServer } from "../helpers/server.js";
import { until } from "../helpers/wait.js";
import { encode, NODE_MASTER, NODE_SLAVE, type Message, type WireSender } from "../../src/cluster/wire.js";

const group = serverGroup(["--cluster-enabled", "yes", "--cluster-node-timeout", "30000"]);

/** CLUSTER NODES as id -> its fields (address, flags, master, config epoch, slots). */
async function nodes(r: Redis): Promise<Map<string, { addr: string; flags: string; master: string; epoch: number; slots: string[] }>> {
  const out = new Map();
  for (const line of String(await r.cluster("NODES")).trim().split("\n")) {
    const f = line.split(" ");
    out.set(f[0], { addr: f[1], flags: f[2], master: f[3], epoch: Number(f[6]), slots: f.slice(8) });
  }
  return out;
}

describe("cluster bus: role and slots only from PING/PONG/MEET headers (2 nodes)", () => {
  let a: { srv: RunningServer; r: Redis };
  let b: { srv: RunningServer; r: Redis };
  let aId: string, bId: string, aBusPort: number, bCport: number;
  let sub: Redis;
  const received: string[] = [];
  const links: net.Socket[] = [];

  beforeAll(async () => {
    a = await group.start();
    b = await group.start();
    expect(await a.r.cluster("ADDSLOTSRANGE", "0", "8191")).toBe("OK");
    expect(await b.r.cluster("ADDSLOTSRANGE", "8192", "16383")).toBe("OK");
    expect(await a.r.cluster("SET-CONFIG-EPOCH", "1")).toBe("OK");
    expect(await b.r.cluster("SET-CONFIG-EPOCH", "2")).toBe("OK");
    aId = String(await a.r.cluster("MYID"));
    bId = String(await b.r.cluster("MYID"));
    await a.r.cluster("MEET", "127.0.0.1", String(b.srv.port));
    await until("A and B see each other's slots", async () => {
      const [va, vb] = [await nodes(a.r), await nodes(b.r)];
      return va.get(bId)?.slots.join() === "8192-16383" && vb.get(aId)?.slots.join() === "0-8191";
    }, 30_000);
    const va = await nodes(a.r);
    aBusPort = Number(va.get(aId)!.addr.split("@")[1].split(",")[0]);
    bCport = Number(va.get(bId)!.addr.split("@")[1].split(",")[0]);
    sub = await connectClient(a.srv.port);
    await sub.subscribe("hdr");
    sub.on("message", (_ch: string, m: string) => received.push(m));
  }, 60_000);

  afterAll(async () => {
    for (const l of links) l.destroy();
    sub?.disconnect();
    await group.stopAll();
  });

  /** B's header as the test forges it: configEpoch 50, the given slots and master. */
  const header = (slots: [number, number][], master: string | null): WireSender => ({
    id: bId, ip: "127.0.0.1", port: b.srv.port, cport: bCport, configEpoch: 50, slots, master, offset: 0,
    flags: master ? NODE_SLAVE : NODE_MASTER,
  });
  /**
   * Messages in one write on a new connection to A's bus: A takes it as B's inbound link and
   * closes the one it had (so does Redis), and B's own reconnection then closes ours.
   */
  const send = async (...msgs: Message[]) => {
    const link = net.connect(aBusPort, "127.0.0.1");
    links.push(link);
    link.on("data", () => {}); // A's PONG to a PING
    link.on("error", () => {});
    await new Promise<void>((res) => link.once("connect", res));
    link.write(Buffer.concat(msgs.map((m) => encode(m, ""))));
  };

  it("a PUBLISH's header claiming A's slots moves none, and one naming a master makes B no replica; its epochs are taken", async () => {
    await send({ type: "publish", sender: header([[0, 99]], null), currentEpoch: 50, gossip: [],
      publish: { channel: Buffer.from("hdr"), message: Buffer.from("claims") } },
    { type: "publish", sender: header([[0, 8191]], aId), currentEpoch: 50, gossip: [],
      publish: { channel: Buffer.from("hdr"), message: Buffer.from("replica") } });
    // Both were processed: their messages were published on A.
    await until("both PUBLISHes delivered on A", () => received.length === 2, 10_000);
    expect(received).toEqual(["claims", "replica"]);
    const v = await nodes(a.r);
    expect(v.get(aId)!.slots).toEqual(["0-8191"]);
    expect(v.get(bId)!.slots).toEqual(["8192-16383"]);
    expect(v.get(bId)!.flags).toBe("master");
    expect(v.get(bId)!.master).toBe("-");
    // Every header's epochs are taken (Redis: senderConfigEpoch, senderCurrentEpoch).
    expect(v.get(bId)!.epoch).toBe(50);
    expect(String(await a.r.cluster("INFO"))).toMatch(/cluster_current_epoch:50\r\n/);
  });

  it("a PING with the same header moves the claimed slots (the header is one A would act on)", async () => {
    await send({ type: "ping", sender: header([[0, 99]], null), currentEpoch: 50, gossip: [] });
    await until("A gives slots 0-99 to B", async () => (await nodes(a.r)).get(bId)!.slots.includes("0-99"), 10_000);
    expect((await nodes(a.r)).get(aId)!.slots).toEqual(["100-8191"]);
  });
});
