// Caps on client connections, so that one LAN client cannot starve the others: open connections
// in all and per source address, and connections still in their handshake (sniffing, proxy
// negotiation), in all and per source. A connection over a cap is reset at accept, counted, and
// summarised in a rate-limited log line. Runtime-free.

import type { Limits } from '../config/model.ts';

export interface EffectiveLimits {
  connections: number;
  perSource: number;
  handshakes: number;
  handshakesPerSource: number;
}

export type Refusal = 'connections' | 'per-source' | 'handshakes' | 'handshakes-per-source';

/** File descriptors kept out of the connection budget: listeners, the splice engine's pipes, logs. */
const RESERVED_FDS = 64;
/**
 * A forwarded connection holds two sockets; the splice engine borrows pipes (two fds each way)
 * only while bytes are in flight, and the HTTP upstream pool keeps some idle sockets: three fds
 * per connection on average keeps the process clear of its limit.
 */
const FDS_PER_CONNECTION = 3;
/** Without a known open-files limit (none, or "unlimited"). */
const CONNECTIONS_WITHOUT_FD_LIMIT = 16_384;

/** The soft "Max open files" of /proc/self/limits; null when unlimited or not found. */
export function openFilesLimit(procLimits: string): number | null {
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(procLimits);
  return m && m[1] !== 'unlimited' ? Number(m[1]) : null;
}

/** Configured caps, with "auto" ones derived from the open-files limit. */
export function effectiveLimits(l: Limits, openFiles: number | null): EffectiveLimits {
  const connections = l.connections ?? (openFiles === null ? CONNECTIONS_WITHOUT_FD_LIMIT : Math.max(16, Math.floor((openFiles - RESERVED_FDS) / FDS_PER_CONNECTION)));
  // One source may use a quarter of all connections (at most 256: more than a browser opens).
  const perSource = l.perSource ?? Math.min(256, Math.max(4, Math.floor(connections / 4)));
  // Most connections may be new at once (a burst of devices), but some room stays for the rest.
  const handshakes = l.handshakes ?? Math.max(8, Math.floor((connections * 3) / 4));
  // A handshake takes milliseconds; a source with many at once is slow or hostile.
  const handshakesPerSource = l.handshakesPerSource ?? Math.min(64, Math.max(2, Math.floor(handshakes / 8)));
  return { connections, perSource, handshakes, handshakesPerSource };
}

interface SourceCount {
  open: number;
  handshaking: number;
}

/** Admission control at accept: counts per source, released when the connection ends. */
export class Admission {
  private open = 0;
  private handshaking = 0;
  private readonly sources = new Map<string, SourceCount>();

  constructor(readonly limits: EffectiveLimits) {}

  /** connections still in their handshake */
  get inHandshake(): number {
    return this.handshaking;
  }

  /** source addresses with an open connection */
  get sourceCount(): number {
    return this.sources.size;
  }

  get openConnections(): number {
    return this.open;
  }

  /** Takes a slot for a new connection from `source`, or names the cap that refuses it. */
  admit(source: string): Refusal | null {
    const s = this.sources.get(source);
    if (this.open >= this.limits.connections) return 'connections';
    if (s && s.open >= this.limits.perSource) return 'per-source';
    if (this.handshaking >= this.limits.handshakes) return 'handshakes';
    if (s && s.handshaking >= this.limits.handshakesPerSource) return 'handshakes-per-source';
    this.open++;
    this.handshaking++;
    if (s) {
      s.open++;
      s.handshaking++;
    } else this.sources.set(source, { open: 1, handshaking: 1 });
    return null;
  }

  /** The connection from `source` finished its handshake (call at most once per connection). */
  handshakeDone(source: string): void {
    const s = this.sources.get(source);
    if (!s || s.handshaking === 0) return;
    s.handshaking--;
    this.handshaking--;
  }

  /** The connection ended; `handshaking`: it ended before handshakeDone(). */
  release(source: string, handshaking: boolean): void {
    const s = this.sources.get(source);
    if (!s) return;
    s.open--;
    this.open--;
    if (handshaking && s.handshaking > 0) {
      s.handshaking--;
      this.handshaking--;
    }
    if (s.open === 0) this.sources.delete(source);
  }
}

const LOG_INTERVAL_MS = 10_000;
/** Sources remembered per log interval (a flood of spoofed IPv6 sources must not grow memory). */
const MAX_SOURCES_PER_INTERVAL = 1024;

/**
 * Refusals for the log: the first one of a quiet spell is logged at once, the rest summarised at
 * most once per interval (counts by cap, and the source refused most), so a flood costs one line
 * every 10 s, not one per connection.
 */
export class RefusalLog {
  readonly total: Record<Refusal, number> = { connections: 0, 'per-source': 0, handshakes: 0, 'handshakes-per-source': 0 };
  private window: Partial<Record<Refusal, number>> = {};
  private bySource = new Map<string, number>();
  private lastLine = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly limits: EffectiveLimits,
    private readonly now: () => number,
    private readonly log: (line: string) => void,
  ) {}

  get count(): number {
    return Object.values(this.total).reduce((a, b) => a + b, 0);
  }

  note(cap: Refusal, source: string): void {
    this.total[cap]++;
    const now = this.now();
    if (now - this.lastLine >= LOG_INTERVAL_MS && this.timer === undefined) {
      this.lastLine = now;
      this.log(`ugate: refusing connections: ${describe(cap, this.limits)} reached (source ${source}); further refusals summarised every ${LOG_INTERVAL_MS / 1000} s`);
      return;
    }
    this.window[cap] = (this.window[cap] ?? 0) + 1;
    if (this.bySource.has(source) || this.bySource.size < MAX_SOURCES_PER_INTERVAL) this.bySource.set(source, (this.bySource.get(source) ?? 0) + 1);
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.lastLine + LOG_INTERVAL_MS - now));
  }

  private flush(): void {
    this.timer = undefined;
    this.lastLine = this.now();
    const parts = Object.entries(this.window).map(([cap, n]) => `${cap}=${n}`);
    let top = '';
    let topCount = 0;
    for (const [s, n] of this.bySource) if (n > topCount) [top, topCount] = [s, n];
    const sum = Object.values(this.window).reduce((a, b) => a + b, 0);
    this.log(`ugate: refused ${sum} connection(s) in the last ${LOG_INTERVAL_MS / 1000} s (${parts.join(' ')}); most from ${top} (${topCount})`);
    this.window = {};
    this.bySource.clear();
  }

  /** Writes what is pending now (at shutdown). */
  close(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.flush();
  }
}

function describe(cap: Refusal, l: EffectiveLimits): string {
  switch (cap) {
    case 'connections':
      return `the connection limit (${l.connections})`;
    case 'per-source':
      return `the per-source connection limit (${l.perSource})`;
    case 'handshakes':
      return `the limit of connections in handshake (${l.handshakes})`;
    case 'handshakes-per-source':
      return `the per-source limit of connections in handshake (${l.handshakesPerSource})`;
  }
}
