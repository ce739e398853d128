// A "master" for replication tests that is only a socket: it answers a replica's handshake,
// sends an empty RDB with +FULLRESYNC, then, 300 ms later, the exact stream bytes under
// test. Later connections get no answer to their PSYNC (what they ask is kept). The
// replica's REPLCONF ACK offsets are kept too.
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { crc64 } from "../../src/persistence/crc64.js";
import { takeCommand } from "./resp-commands.js";

/** An RDB with no keys: header, EOF opcode, checksum. */
function emptyRdb(): Buffer {
  const body = Buffer.concat([Buffer.from("REDIS0009", "latin1"), Buffer.from([0xff])]);
  return Buffer.concat([body, crc64(body).bytesLE()]);
}

/** A master whose stream, after the full sync, is `stream`; later connections get no answer to PSYNC. */
export function scriptedMaster(stream: Buffer): Promise<{ net: NetServer; port: number; psyncs: string[]; acks: number[]; close: () => void }> {
  const psyncs: string[] = [];
  const acks: number[] = [];
  const socks: Socket[] = [];
  let first = true;
  const net = createServer((s) => {
    socks.push(s);
    const mine = first;
    first = false;
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString("latin1");
      for (let c = takeCommand(buf); c !== null; c = takeCommand(buf)) {
        buf = c.rest;
        const argv = c.argv;
        const cmd = argv[0].toUpperCase();
        if (cmd === "PING") s.write("+PONG\r\n");
        else if (cmd === "REPLCONF") {
          if (argv[1].toUpperCase() === "ACK") acks.push(Number(argv[2]));
          else s.write("+OK\r\n");
        }
        else if (cmd === "PSYNC") {
          psyncs.push(`${argv[1]} ${argv[2]}`);
          // Later connections only show what the replica asks for (the data stays to look at).
          if (!mine) continue;
          const rdb = emptyRdb();
          s.write(Buffer.concat([Buffer.from(`+FULLRESYNC ${"a".repeat(40)} 0\r\n$${rdb.length}\r\n`), rdb]));
          setTimeout(() => s.write(stream), 300);
        }
      }
    });
    s.on("error", () => {});
  });
  return new Promise((resolve) => net.listen(0, "127.0.0.1", () => resolve({
    net, port: (net.address() as { port: number }).port, psyncs, acks,
    close: () => { for (const s of socks) s.destroy(); net.close(); },
  })));
}
