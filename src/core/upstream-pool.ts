// Idle upstream HTTP connections, shared by all client connections of the gateway (like nginx's
// upstream keepalive): a request to a backend takes a warm connection instead of dialing, even when
// its client closes after every request. An idle connection is kept briefly — shorter than common
// backends' own keep-alive timeouts (Node 5 s, Apache 5 s) — so it is rarely one the backend has
// already let go; the session retries an idempotent bodiless request once when it was.

import type { Conn } from '../runtime/types.ts';
import type { Inbound } from './inbound.ts';

export interface PooledUpstream {
  /** "host|port" of the backend */
  key: string;
  conn: Conn;
  /** the response side: bytes read from the backend and not yet consumed */
  inbound: Inbound;
  /** ugate's own outbound connection, to recognise it coming back (forwarding loop) */
  outboundKey: string;
  idleSince: number;
}

// (the pool keeps a read pending on each idle connection: bytes or EOF from the backend while it
// sits here evict it at once, so a late byte can never be taken for the next request's response)

export interface UpstreamPoolOptions {
  now: () => number;
  /** closes a connection the pool gives up */
  release: (u: PooledUpstream) => void;
  idleMs?: number;
  maxPerBackend?: number;
  maxTotal?: number;
}

export class UpstreamPool {
  private readonly idle = new Map<string, PooledUpstream[]>();
  private count = 0;
  private sweeper: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly idleMs: number;
  private readonly maxPerBackend: number;
  private readonly maxTotal: number;

  constructor(private readonly o: UpstreamPoolOptions) {
    this.idleMs = o.idleMs ?? 2000;
    this.maxPerBackend = o.maxPerBackend ?? 32;
    this.maxTotal = o.maxTotal ?? 256;
  }

  get size(): number {
    return this.count;
  }

  /** The most recently parked connection to `key` that is still fresh, or null. */
  take(key: string): PooledUpstream | null {
    const list = this.idle.get(key);
    if (!list) return null;
    const now = this.o.now();
    for (let u = list.pop(); u; u = list.pop()) {
      this.count--;
      // Bytes or EOF while idle mean the backend said something unasked (or closed): not reusable.
      if (now - u.idleSince < this.idleMs && u.inbound.buffer.length === 0 && !u.inbound.eof) return u;
      this.o.release(u);
    }
    return null;
  }

  put(u: PooledUpstream): void {
    let list = this.idle.get(u.key);
    if (!list) this.idle.set(u.key, (list = []));
    if (this.closed || list.length >= this.maxPerBackend || this.count >= this.maxTotal) return this.o.release(u);
    u.idleSince = this.o.now();
    list.push(u);
    this.count++;
    // The read is shared with whoever takes the connection next (Inbound.fill), so nothing is lost.
    const evict = () => this.evict(u);
    u.inbound.fill(Infinity, this.o.now).then(evict, evict);
    if (this.sweeper === undefined) this.sweeper = setTimeout(() => this.sweep(), this.idleMs);
  }

  /** The backend spoke or closed while `u` was idle: if it is still parked, it goes. */
  private evict(u: PooledUpstream): void {
    const list = this.idle.get(u.key);
    const i = list ? list.indexOf(u) : -1;
    if (i < 0) return;
    list!.splice(i, 1);
    this.count--;
    this.o.release(u);
  }

  /** Closes expired connections; one timer for the whole pool, re-armed while it holds any. */
  private sweep(): void {
    this.sweeper = undefined;
    const now = this.o.now();
    for (const [key, list] of this.idle) {
      const keep = list.filter((u) => now - u.idleSince < this.idleMs);
      for (const u of list) if (!keep.includes(u)) this.o.release(u);
      this.count -= list.length - keep.length;
      if (keep.length === 0) this.idle.delete(key);
      else this.idle.set(key, keep);
    }
    if (this.count > 0) this.sweeper = setTimeout(() => this.sweep(), this.idleMs);
  }

  closeAll(): void {
    this.closed = true;
    clearTimeout(this.sweeper);
    this.sweeper = undefined;
    for (const list of this.idle.values()) for (const u of list) this.o.release(u);
    this.idle.clear();
    this.count = 0;
  }
}
