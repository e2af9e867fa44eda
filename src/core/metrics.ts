// Live counters of the running service, by listener, route and backend, plus the hostnames seen
// recently. Updated once per connection event (accept, sniff, routing decision, HTTP request,
// close), never per byte, so counting costs nothing on the data path. Bytes are added when a
// connection (or an HTTP request) ends: the splice engine moves them without the JavaScript.
//
// Label sets stay bounded whatever the LAN sends: listeners and routes come from the
// configuration; backends are configured ones only (a passthrough destination is not a label);
// hostnames are kept in a small time window with a cap per slice.

import type { ConnectionRecord, RequestRecord } from './access-log.ts';

export interface Traffic {
  /** connections open now */
  open: number;
  /** connections since start */
  total: number;
  /** bytes client → upstream */
  up: number;
  /** bytes upstream → client */
  down: number;
  /** HTTP requests (listeners with HTTPRoutes) */
  requests: number;
}

export interface ListenerCounters extends Traffic {
  /** ended connections by the protocol sniffed (or asked for, on a mixed listener); "none" before any */
  sniffed: Map<string, number>;
  /** sniffing that ended without a protocol: deadline, malformed, too-large */
  sniffFailures: Map<string, number>;
  /** connections by how they ended (the access log's `close`) */
  closes: Map<string, number>;
  /** connections that ended with an error (the access log's `error`) */
  errors: number;
}

export interface RouteCounters extends Traffic {
  /** HTTP responses by class: 1xx … 5xx, and "none" when no response was sent */
  responses: Map<string, number>;
}

export interface BackendCounters extends Traffic {
  /** connects that failed, and requests that got no response from it */
  errors: number;
}

/**
 * What a connection was counted on: the route and backend it is open on (so its close undoes
 * exactly that), and the bytes its HTTP requests already counted on their own routes.
 */
export interface Metered {
  route?: string;
  backend?: string;
  requestUp: number;
  requestDown: number;
}

export const newMetered = (): Metered => ({ requestUp: 0, requestDown: 0 });

const newTraffic = (): Traffic => ({ open: 0, total: 0, up: 0, down: 0, requests: 0 });

function bump(m: Map<string, number>, key: string, by = 1): void {
  m.set(key, (m.get(key) ?? 0) + by);
}

function get<T>(m: Map<string, T>, key: string, make: () => T): T {
  let v = m.get(key);
  if (v === undefined) m.set(key, (v = make()));
  return v;
}

/** A hostname as a client sent it, made safe to keep and show: lower case, bounded length. */
function hostKey(name: string | null | undefined): string | null {
  if (!name) return null;
  return name.length > 253 ? `${name.slice(0, 253).toLowerCase()}…` : name.toLowerCase();
}

export interface HostCount {
  host: string;
  connections: number;
  requests: number;
  bytes: number;
}

/**
 * Hostnames (SNI, Host) seen in the last `slices × sliceMs`, counted per time slice. A slice keeps
 * at most `maxPerSlice` names; the rest are counted as `others`, so a client inventing names
 * cannot grow memory.
 */
export class HostWindow {
  private slices: { start: number; names: Map<string, HostCount>; others: number }[] = [];

  constructor(
    private readonly now: () => number,
    readonly sliceMs = 60_000,
    readonly slices_ = 5,
    readonly maxPerSlice = 1000,
  ) {}

  get windowSeconds(): number {
    return (this.sliceMs * this.slices_) / 1000;
  }

  private current(): { names: Map<string, HostCount>; others: number } {
    const start = Math.floor(this.now() / this.sliceMs) * this.sliceMs;
    let s = this.slices[this.slices.length - 1];
    if (!s || s.start !== start) {
      s = { start, names: new Map(), others: 0 };
      this.slices.push(s);
      this.expire();
    }
    return s;
  }

  private expire(): void {
    const oldest = Math.floor(this.now() / this.sliceMs) * this.sliceMs - (this.slices_ - 1) * this.sliceMs;
    while (this.slices.length > 0 && this.slices[0]!.start < oldest) this.slices.shift();
  }

  note(name: string | null | undefined, connections: number, requests: number, bytes: number): void {
    const host = hostKey(name);
    if (host === null) return;
    const s = this.current();
    let c = s.names.get(host);
    if (!c) {
      if (s.names.size >= this.maxPerSlice) {
        s.others += connections + requests;
        return;
      }
      s.names.set(host, (c = { host, connections: 0, requests: 0, bytes: 0 }));
    }
    c.connections += connections;
    c.requests += requests;
    c.bytes += bytes;
  }

  /** The `limit` busiest names of the window (by connections plus requests, then bytes), and how many were left out. */
  top(limit: number): { hosts: HostCount[]; others: number } {
    this.expire();
    const merged = new Map<string, HostCount>();
    let others = 0;
    for (const s of this.slices) {
      others += s.others;
      for (const c of s.names.values()) {
        const m = get(merged, c.host, () => ({ host: c.host, connections: 0, requests: 0, bytes: 0 }));
        m.connections += c.connections;
        m.requests += c.requests;
        m.bytes += c.bytes;
      }
    }
    const all = [...merged.values()].sort((a, b) => b.connections + b.requests - (a.connections + a.requests) || b.bytes - a.bytes || (a.host < b.host ? -1 : 1));
    for (const c of all.slice(limit)) others += c.connections + c.requests;
    return { hosts: all.slice(0, limit), others };
  }
}

export class Metrics {
  readonly listeners = new Map<string, ListenerCounters>();
  readonly routes = new Map<string, RouteCounters>();
  readonly backends = new Map<string, BackendCounters>();
  readonly hosts: HostWindow;

  constructor(now: () => number) {
    this.hosts = new HostWindow(now);
  }

  /** connections accepted since start and open now, all listeners together */
  get connections(): { open: number; total: number } {
    let open = 0;
    let total = 0;
    for (const l of this.listeners.values()) {
      open += l.open;
      total += l.total;
    }
    return { open, total };
  }

  listener(name: string): ListenerCounters {
    return get(this.listeners, name, () => ({ ...newTraffic(), sniffed: new Map(), sniffFailures: new Map(), closes: new Map(), errors: 0 }));
  }

  private route(name: string): RouteCounters {
    return get(this.routes, name, () => ({ ...newTraffic(), responses: new Map() }));
  }

  private backend(name: string): BackendCounters {
    return get(this.backends, name, () => ({ ...newTraffic(), errors: 0 }));
  }

  accepted(listener: string): void {
    const l = this.listener(listener);
    l.open++;
    l.total++;
  }

  /**
   * A routing decision for the whole connection: counted open on its route and, when the route
   * forwards to a configured backend, on that backend. `metered` remembers it for closed().
   */
  routed(route: string, backend: string | null, metered: Metered): void {
    if (metered.route === undefined) {
      const r = this.route(route);
      r.open++;
      r.total++;
      metered.route = route;
    }
    if (backend !== null && metered.backend === undefined) {
      const b = this.backend(backend);
      b.open++;
      b.total++;
      metered.backend = backend;
    }
  }

  /** One HTTP request finished (its request-log line) on the connection `metered` stands for. */
  request(req: RequestRecord, metered: Metered): void {
    metered.requestUp += req.up;
    metered.requestDown += req.down;
    this.listener(req.listener).requests++;
    const bytes = req.up + req.down;
    if (req.route !== undefined) {
      const r = this.route(req.route);
      r.requests++;
      r.up += req.up;
      r.down += req.down;
      bump(r.responses, req.status === undefined ? 'none' : `${Math.floor(req.status / 100)}xx`);
    }
    // A passed-through request's destination is the client's choice, not a backend to count.
    if (req.backend !== undefined && req.action !== 'passthrough') {
      const b = this.backend(req.backend);
      b.requests++;
      b.up += req.up;
      b.down += req.down;
      if (req.status === undefined || req.status === 502 || req.status === 504) b.errors++;
    }
    this.hosts.note(req.host, 0, 1, bytes);
  }

  /**
   * The connection ended: its protocol, bytes, how it ended, its hostname. Bytes its HTTP requests
   * counted on their routes already are not counted again on the connection's route.
   */
  closed(rec: ConnectionRecord, metered: Metered): void {
    const l = this.listener(rec.listener);
    l.open--;
    l.up += rec.up;
    l.down += rec.down;
    bump(l.sniffed, rec.proto ?? 'none');
    if (rec.sniffFailure !== undefined) bump(l.sniffFailures, rec.sniffFailure);
    bump(l.closes, rec.close ?? 'unknown');
    if (rec.error !== undefined) l.errors++;
    const up = rec.up - metered.requestUp;
    const down = rec.down - metered.requestDown;
    if (metered.route !== undefined) {
      const r = this.route(metered.route);
      r.open--;
      r.up += up;
      r.down += down;
    }
    if (metered.backend !== undefined) {
      const b = this.backend(metered.backend);
      b.open--;
      b.up += up;
      b.down += down;
      if (rec.close?.startsWith('connect-')) b.errors++;
    }
    this.hosts.note(rec.sni ?? rec.host, 1, 0, rec.requests === undefined ? rec.up + rec.down : 0);
  }
}
