// Host fault points (src/util/buggify.ts). Inert unless buggify is enabled; then:
//   short-write  a reply leaves in several pieces, a millisecond apart (client parsers must
//                reassemble RESP split anywhere, as TCP may split it)
//   reply-delay  a reply (and everything after it on that connection) waits 1–20 ms
//   clock-jump   the server clock jumps forward 1–250 ms (as after an NTP step); it never
//                goes back, so a key's TTL can only run out early, never come back to life
//   slow-disk    a write to the AOF or an RDB file stalls 1–50 ms first: the AOF write
//                blocks the event loop, as a stalled write(2)/fsync blocks Redis's main
//                thread; a background save's write just finishes later
// Order on a connection is kept: once a write is held back, later writes queue behind it,
// and end() waits for the queue.
import type { Socket } from "node:net";
import { buggify, buggifyEnabled, buggifyInt, buggifySeed, definePoint, faultPoints, pointActive } from "../util/buggify.js";
import { log } from "./log.js";

definePoint("short-write", "a reply is written in 2-4 pieces, 1 ms apart", 0.1);
definePoint("reply-delay", "a reply and those after it on the connection wait 1-20 ms", 0.05);
definePoint("clock-jump", "the server clock jumps forward 1-250 ms", 0.001);
definePoint("slow-disk", "a write to the AOF or an RDB file stalls 1-50 ms first", 0.05);

/** The slow-disk point before a synchronous file write: blocks the thread 1–50 ms. */
export function slowDisk(): void {
  if (!buggify("slow-disk")) return;
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, buggifyInt(1, 50));
}

/** The slow-disk point before an asynchronous file write: resolves 1–50 ms later. */
export function slowDiskAsync(): Promise<void> | undefined {
  if (!buggify("slow-disk")) return undefined;
  return new Promise((resolve) => setTimeout(resolve, buggifyInt(1, 50)));
}

/** Wraps one accepted socket's write/end with the short-write and reply-delay points. */
export function injectSocketFaults(sock: Socket): void {
  if (!buggifyEnabled()) return;
  const write = sock.write.bind(sock) as (b: Buffer | string) => boolean;
  const end = sock.end.bind(sock) as (b?: Buffer | string) => Socket;
  const queue: { data: Buffer; delay: number }[] = [];
  let ending: { data?: Buffer | string } | null = null;
  let busy = false;

  const pump = () => {
    const next = queue.shift();
    if (!next || sock.destroyed) {
      queue.length = 0;
      busy = false;
      if (ending && !sock.destroyed) end(ending.data);
      return;
    }
    setTimeout(() => {
      if (!sock.destroyed) write(next.data);
      pump();
    }, next.delay);
  };

  sock.write = ((chunk: Buffer | string, ...rest: unknown[]) => {
    const short = buggify("short-write");
    const delayed = buggify("reply-delay");
    if (!busy && !short && !delayed) return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    // A copy: the caller may reuse its buffer once write() returns with nothing left in the
    // socket (src/server/reply-batch.ts's scratch area), but this queue sends it later.
    const b = Buffer.isBuffer(chunk) ? Buffer.from(chunk) : Buffer.from(chunk as string, "latin1");
    const first = delayed ? buggifyInt(1, 20) : 0;
    if (short && b.length > 1) {
      const cuts = [...new Set(Array.from({ length: buggifyInt(1, 3) }, () => buggifyInt(1, b.length - 1)))].sort((x, y) => x - y);
      let at = 0;
      cuts.forEach((c, i) => {
        queue.push({ data: b.subarray(at, c), delay: i === 0 ? first : 1 });
        at = c;
      });
      queue.push({ data: b.subarray(at), delay: 1 });
    } else queue.push({ data: b, delay: first });
    if (!busy) {
      busy = true;
      pump();
    }
    return true;
  }) as Socket["write"];

  sock.end = ((data?: Buffer | string) => {
    if (!busy) return end(data);
    ending = { data };
    return sock;
  }) as Socket["end"];
}

/** Wraps the server clock with the clock-jump point (forward only). */
export function injectClockFaults(server: { now: () => number }): void {
  if (!buggifyEnabled()) return;
  const active = faultPoints().filter((p) => pointActive(p.name)).map((p) => p.name);
  log("warning", `buggify enabled (seed ${buggifySeed()}): active fault points: ${active.join(", ") || "none"}`);
  const base = server.now;
  let skew = 0;
  server.now = () => {
    if (buggify("clock-jump")) skew += buggifyInt(1, 250);
    return base() + skew;
  };
}
