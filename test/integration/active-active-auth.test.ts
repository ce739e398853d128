// crdt-secret: peers prove a shared secret in their HELLO (src/replication/peer-link.ts).
// Nodes with the same secret replicate; a node with a different secret (or none) gets no
// link in either direction, and a bare HELLO on the bus is refused.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import net from "node:net";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { until } from "../helpers/wait.js";

describe("active-active peer authentication (crdt-secret)", () => {
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];
  const bus: number[] = [];
  const secrets = ["s3cret", "s3cret", "wrong"];

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) bus.push(await freePort());
    for (let i = 0; i < 3; i++) {
      const peers = bus.filter((_, j) => j !== i).flatMap((p) => ["--peer", `127.0.0.1:${p}`]);
      servers.push(await startServer(["--crdt-node-id", `a${i}`, "--crdt-bus-port", String(bus[i]), "--crdt-secret", secrets[i], ...peers]));
    }
    for (const s of servers) clients.push(await connectClient(s.port));
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const s of servers) await s.stop();
  });

  it("nodes sharing the secret replicate; a node with another secret is linked to nobody", async () => {
    await clients[0].set("shared", "yes");
    await clients[2].set("outsider", "yes");
    await until("shared reached a1", async () => (await clients[1].get("shared")) === "yes");
    await new Promise((r) => setTimeout(r, 1500)); // anti-entropy rounds would have carried it
    expect(await clients[2].get("shared")).toBeNull();
    expect(await clients[0].get("outsider")).toBeNull();
    expect(await clients[1].get("outsider")).toBeNull();
    const info0 = await clients[0].info("crdt");
    expect(info0).toMatch(new RegExp(`addr=127\\.0\\.0\\.1:${bus[1]},id=a1~\\w+,link=up`));
    expect(info0).toMatch(new RegExp(`addr=127\\.0\\.0\\.1:${bus[2]},id=,link=down`));
    expect(await clients[2].info("crdt")).not.toMatch(/link=up/);
  });

  it("a HELLO without a proof is refused: the bus closes the connection", async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const sock = net.connect(bus[0], "127.0.0.1", () => {
        const p = Buffer.concat([Buffer.from([0, 4]), Buffer.from("evil")]);
        const h = Buffer.alloc(4); h.writeUInt32LE(p.length);
        sock.write(Buffer.concat([h, p]));
      });
      let got = 0;
      sock.on("data", (d) => (got += d.length));
      sock.on("close", () => resolve(got === 0));
      sock.on("error", () => {});
      setTimeout(() => { sock.destroy(); resolve(false); }, 3000);
    });
    expect(closed).toBe(true);
    expect(await clients[0].ping()).toBe("PONG");
  });
});

/** A HELLO frame with ACL credentials (peer-link.ts: type 0, node id, flags 2, user, password). */
function helloWithUser(id: string, user?: string, password?: string): Buffer {
  const parts = [Buffer.from([0, id.length]), Buffer.from(id), Buffer.from([user === undefined ? 0 : 2])];
  if (user !== undefined) {
    for (const s of [user, password ?? ""]) { const l = Buffer.alloc(4); l.writeUInt32LE(Buffer.byteLength(s)); parts.push(l, Buffer.from(s)); }
  }
  const p = Buffer.concat(parts);
  const h = Buffer.alloc(4); h.writeUInt32LE(p.length);
  return Buffer.concat([h, p]);
}

/** "answered" when the bus sent its HELLO back, "closed" when it closed the connection without a byte. */
function busProbe(port: number, frame: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1", () => sock.write(frame));
    let got = 0;
    const done = (v: string) => { clearTimeout(t); sock.destroy(); resolve(v); };
    const t = setTimeout(() => done(got ? "answered" : "silent"), 3000);
    sock.on("data", (d) => { got += d.length; done("answered"); });
    sock.on("close", () => done(got ? "answered" : "closed"));
    sock.on("error", () => {});
  });
}

describe("active-active peer authentication (ACL user: crdt-user / crdt-password)", () => {
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];
  const bus: number[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) bus.push(await freePort());
    // n0's clients must authenticate (requirepass), so must its peers: n1 logs in as 'peer'
    servers.push(await startServer(["--crdt-node-id", "u0", "--crdt-bus-port", String(bus[0]), "--peer", `127.0.0.1:${bus[1]}`,
      "--requirepass", "clientpw", "--user", "peer", "on", ">peerpw", "~*", "&*", "+@all",
      "--user", "reader", "on", ">readpw", "~*", "+get"]));
    servers.push(await startServer(["--crdt-node-id", "u1", "--crdt-bus-port", String(bus[1]), "--peer", `127.0.0.1:${bus[0]}`,
      "--crdt-user", "peer", "--crdt-password", "peerpw"]));
    clients.push(await connectClient(servers[0].port, { password: "clientpw" }));
    clients.push(await connectClient(servers[1].port));
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const s of servers) await s.stop();
  });

  it("a peer logging in as an ACL user with its password replicates both ways", async () => {
    await clients[0].set("acl-a", "1");
    await clients[1].set("acl-b", "2");
    await until("both keys on both nodes", async () =>
      (await clients[1].get("acl-a")) === "1" && (await clients[0].get("acl-b")) === "2");
    expect(await clients[1].info("crdt")).toMatch(/id=u0~\w+,link=up/);
  });

  it("the bus refuses no credentials (the default user needs a password), a wrong password, and a user that may not run CRDT.PEER", async () => {
    expect(await busProbe(bus[0], helloWithUser("x"))).toBe("closed");
    expect(await busProbe(bus[0], helloWithUser("x", "peer", "wrong"))).toBe("closed");
    expect(await busProbe(bus[0], helloWithUser("x", "nobody", "peerpw"))).toBe("closed");
    expect(await busProbe(bus[0], helloWithUser("x", "reader", "readpw"))).toBe("closed");
    expect(await busProbe(bus[0], helloWithUser("x", "peer", "peerpw"))).toBe("answered");
    // n1's default user is nopass, as its clients need no password: no credentials pass there
    expect(await busProbe(bus[1], helloWithUser("x"))).toBe("answered");
    expect(await clients[0].ping()).toBe("PONG");
  });
});
