// A client's static reply buffer as Redis sizes it (c->buf, networking.c and server.c's
// clientsCronResizeOutputBuffer): CLIENT LIST's rbs (its usable size) and rbp (its peak),
// INFO's reply_buffer_shrinks/expands, and the buffer's share of the client's tot-mem.
//
// We write a read's replies to the socket as one batch (src/server/reply-batch.ts), not
// through a fixed per-client buffer, so the buffer Redis would have is modelled:
//   - it starts at PROTO_REPLY_CHUNK_BYTES (16 KB);
//   - each write fills it with up to its size of that write's bytes (Redis's bufpos, reset
//     once the socket took them), and the peak is the most it ever held;
//   - serverCron shrinks a buffer whose peak stays under half its size (to the peak, at
//     least PROTO_REPLY_MIN_BYTES) and doubles a full one (up to 16 KB), then resets the
//     peak every reply-buffer-peak-reset-time ms (DEBUG REPLYBUFFER PEAK-RESET-TIME);
//   - sizes are jemalloc's usable sizes, as zmalloc_usable reports them.
// Redis's clientsCron visits each client at least once a second, every one per tick when
// there are few; we visit every client each tick (the cost is a few comparisons each).
import type { Client } from "./client.js";
import type { Server } from "./server.js";
import { jemallocUsable } from "./querybuf.js";

const PROTO_REPLY_CHUNK_BYTES = 16 * 1024;
const PROTO_REPLY_MIN_BYTES = 1024;
const REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME = 5000;

export class ReplyBuffer {
  /** buf_usable_size. */
  usable = PROTO_REPLY_CHUNK_BYTES;
  /** buf_peak: the most the buffer held since the last reset; a new client's is its size. */
  peak = PROTO_REPLY_CHUNK_BYTES;
  /**
   * When the peak was last reset. Redis starts it at server.unixtime, in seconds, and compares
   * it with a time in ms: a new client's peak is reset at its first cron pass. So is ours.
   */
  peakResetAt = 0;

  /** A write of `bytes` reply bytes: the buffer takes what fits. */
  noteWrite(bytes: number): void {
    if (bytes > this.peak) this.peak = bytes < this.usable ? bytes : this.usable;
  }
}

/** DEBUG REPLYBUFFER's settings (server.reply_buffer_peak_reset_time, reply_buffer_resizing_enabled). */
interface Settings { peakResetTime: number; resizing: boolean }
const settings = new WeakMap<Server, Settings>();

function settingsOf(server: Server): Settings {
  let s = settings.get(server);
  if (!s) settings.set(server, (s = { peakResetTime: REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME, resizing: true }));
  return s;
}

/** DEBUG REPLYBUFFER PEAK-RESET-TIME never|reset|<ms>; false when the value is not an integer. */
export function setPeakResetTime(server: Server, arg: string): boolean {
  const s = settingsOf(server);
  const v = arg.toLowerCase();
  if (v === "never") s.peakResetTime = -1;
  else if (v === "reset") s.peakResetTime = REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME;
  else if (/^-?\d+$/.test(arg)) s.peakResetTime = Number(arg);
  else return false;
  return true;
}

/** DEBUG REPLYBUFFER RESIZING <0|1>. */
export function setResizing(server: Server, on: boolean): void {
  settingsOf(server).resizing = on;
}

/** serverCron: clientsCronResizeOutputBuffer for every client. */
export function resizeReplyBuffers(server: Server, now: number): void {
  const s = settingsOf(server);
  if (!s.resizing) return;
  for (const c of server.clients.values()) resizeOne(server, s, c, now);
}

function resizeOne(server: Server, s: Settings, c: Client, now: number): void {
  const b = c.replyBuffer;
  let size = 0;
  if (b.usable / 2 >= PROTO_REPLY_MIN_BYTES && b.peak < b.usable / 2) {
    size = Math.max(PROTO_REPLY_MIN_BYTES, b.peak + 1);
    server.stats.replyBufferShrinks++;
  } else if (b.usable * 2 < PROTO_REPLY_CHUNK_BYTES * 2 && b.peak === b.usable) {
    size = Math.min(PROTO_REPLY_CHUNK_BYTES, b.usable * 2);
    server.stats.replyBufferExpands++;
  }
  if (s.peakResetTime >= 0 && now - b.peakResetAt >= s.peakResetTime) {
    // Redis's bufpos: what the buffer still holds, not yet taken by the socket.
    const unsent = c.outputBufferLength;
    b.peak = Math.min(unsent, b.usable);
    b.peakResetAt = now;
  }
  if (size) b.usable = jemallocUsable(size);
}
