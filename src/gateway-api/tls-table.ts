// TLSRoute routing for one socket: SNI → route.
// The SNI picks the most specific listener section (exact > longer wildcard > no hostname; see
// selectSections); among the routes attached to it, the one with the most specific matching
// hostname wins (exact > longer wildcard > a route without hostnames), ties by route order
// (the order of `routes.tls`). A connection without SNI only reaches hostname-less sections and
// routes.

import { BoundedCache, HOST_CACHE_SIZE, routeHostnameScore, selectSections } from './http-table.ts';
import type { AttachedRoute, BackendRef, ListenerRoutes, ListenerSection, TlsRoute } from './model.ts';

export type TlsRouteDecision = { type: 'route'; attached: AttachedRoute<TlsRoute>; backends: BackendRef[] } | { type: 'no-route' };

const NO_ROUTE: TlsRouteDecision = Object.freeze({ type: 'no-route' });

export class TlsRouteTable {
  private readonly sections: ListenerSection[];
  private readonly routes: AttachedRoute<TlsRoute>[];
  /** prebuilt decisions, same index as `routes`; shared between connections: do not mutate */
  private readonly decisions: TlsRouteDecision[];
  private readonly exact = new Map<string, TlsRouteDecision>();
  private readonly cache = new BoundedCache<TlsRouteDecision>(HOST_CACHE_SIZE);
  private readonly noSni: TlsRouteDecision;

  constructor(routes: ListenerRoutes) {
    this.sections = routes.sections.filter((s) => s.protocol !== 'HTTP');
    this.routes = routes.tls;
    this.decisions = this.routes.map((attached) => ({ type: 'route', attached, backends: attached.route.backends }));
    this.noSni = this.build(null);
    for (const s of this.sections) if (s.hostname && !s.hostname.wildcard) this.exact.set(s.hostname.suffix, this.build(s.hostname.suffix));
    for (const r of this.routes) for (const h of r.hostnames) if (!h.wildcard) this.exact.set(h.suffix, this.build(h.suffix));
  }

  route(sni: string | null): TlsRouteDecision {
    if (sni === null || sni === '') return this.noSni;
    let host = sni;
    if (host.endsWith('.')) host = host.slice(0, -1);
    host = host.toLowerCase();
    let d = this.exact.get(host);
    if (d !== undefined) return d;
    d = this.cache.get(host);
    if (d === undefined) {
      d = this.build(host);
      this.cache.set(host, d);
    }
    return d;
  }

  private build(host: string | null): TlsRouteDecision {
    const names = new Set(selectSections(this.sections, host).map((s) => s.name));
    let best = -1;
    let bestIndex = -1;
    this.routes.forEach((r, i) => {
      if (!names.has(r.section)) return;
      const score = routeHostnameScore(r.hostnames, host);
      if (score > best) {
        best = score;
        bestIndex = i;
      }
    });
    return bestIndex < 0 ? NO_ROUTE : this.decisions[bestIndex]!;
  }
}
