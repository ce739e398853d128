// The TLS listener's server-side session cache (Redis: SSL_SESS_CACHE_SERVER with
// tls-session-cache-size entries that live tls-session-cache-timeout seconds). node:tls
// keeps no session-ID cache of its own: it asks the 'newSession' / 'resumeSession' events,
// which src/server/tls.ts answers from here. With tls-session-caching no, nothing is stored
// and nothing resumes (tickets are switched off too, src/server/tls.ts).
export class TlsSessionCache {
  /** Session ID (hex) -> the session and when it stops being resumable. Map order = age. */
  private readonly sessions = new Map<string, { data: Buffer; expiresAt: number }>();

  constructor(
    private readonly settings: () => { enabled: boolean; size: number; timeoutSec: number },
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number { return this.sessions.size; }

  store(id: Buffer, data: Buffer): void {
    const { enabled, size, timeoutSec } = this.settings();
    if (!enabled) return;
    const key = id.toString("hex");
    this.sessions.delete(key);
    this.sessions.set(key, { data, expiresAt: this.now() + timeoutSec * 1000 });
    // OpenSSL's cache size 0 means no limit; when full, the oldest session goes.
    while (size > 0 && this.sessions.size > size) {
      this.sessions.delete(this.sessions.keys().next().value as string);
    }
  }

  /** The stored session for a resumption attempt, or null (unknown, expired, caching off). */
  fetch(id: Buffer): Buffer | null {
    if (!this.settings().enabled) return null;
    const key = id.toString("hex");
    const s = this.sessions.get(key);
    if (!s) return null;
    if (s.expiresAt <= this.now()) {
      this.sessions.delete(key);
      return null;
    }
    return s.data;
  }

  clear(): void { this.sessions.clear(); }
}
