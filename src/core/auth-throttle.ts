// Slows password guessing at the proxy (SOCKS5 username/password, HTTP Proxy-Authorization) per
// source address, without locking anyone out: a source's first few failures are answered at once;
// after that its failed attempts are answered one per interval, in turn, each holding its
// connection (and so a slot under the per-source handshake cap) until its turn. Parallel
// connections therefore gain a guesser nothing. Successful logins are never delayed, so a user
// who knows the password gets in even while someone else guesses from elsewhere, and a source
// that stops failing is forgotten after a quiet spell. Runtime-free.

export interface AuthThrottleOptions {
  /** failures answered at once (typos) before the pace applies */
  free: number;
  /** one failed attempt answered per this many ms, per source */
  intervalMs: number;
  /** a source with no failure for this long starts afresh */
  forgetMs: number;
  /** sources remembered at most (the oldest goes first): memory stays bounded */
  maxSources: number;
}

const DEFAULTS: AuthThrottleOptions = { free: 5, intervalMs: 1000, forgetMs: 60_000, maxSources: 4096 };

interface SourceState {
  failures: number;
  /** when the next failed attempt may be answered */
  nextAt: number;
  lastAt: number;
}

export class AuthThrottle {
  private readonly sources = new Map<string, SourceState>();
  private readonly o: AuthThrottleOptions;

  constructor(
    private readonly now: () => number,
    options: Partial<AuthThrottleOptions> = {},
  ) {
    this.o = { ...DEFAULTS, ...options };
  }

  /** Records a failed attempt from `source`; returns how many ms to wait before answering it. */
  failed(source: string): number {
    const now = this.now();
    let s = this.sources.get(source);
    if (s && now - s.lastAt > this.o.forgetMs) s = undefined;
    if (!s) {
      if (this.sources.size >= this.o.maxSources) this.sources.delete(this.sources.keys().next().value!);
      s = { failures: 0, nextAt: now, lastAt: now };
    }
    // (Re)inserted, so that the map's order is oldest activity first.
    this.sources.delete(source);
    this.sources.set(source, s);
    s.failures++;
    s.lastAt = now;
    if (s.failures <= this.o.free) {
      // the first paced answer comes an interval after the last free one
      s.nextAt = now + this.o.intervalMs;
      return 0;
    }
    const at = Math.max(now, s.nextAt);
    s.nextAt = at + this.o.intervalMs;
    return at - now;
  }
}
