// Routing is a pure function of connection facts → decision.
// Among the rules whose every given field matches, the most specific hostname wins
// (exact over wildcard, longer wildcard suffix over shorter, any hostname over none); ties go to config order.

import type { Action, Config, ListenerType, Protocol, RouteConfig } from '../config/model.ts';
import { cidrContains, effectiveAddress } from './cidr.ts';
import { matchHostname } from './hostname.ts';

export interface ConnectionFacts {
  listener: string;
  listenerType: ListenerType;
  protocol: Protocol;
  /** SNI, HTTP Host, or the host a proxy client asked for; lowercase, no port */
  host: string | null;
  /**
   * destination address when known (original destination, or a request by IP literal); dstCidrs
   * match the address the kernel connects to (cidr.ts effectiveAddress)
   */
  dstIp: Uint8Array | null;
  dstPort: number | null;
  srcIp: Uint8Array;
}

export interface Decision {
  /** matching route name, or null for the listener's default */
  route: string | null;
  action: Action;
  /** the route lets clients elsewhere reach destinations on the gateway host */
  allowGatewayHost?: boolean;
}

/** Specificity of `route` for `facts`, or -1 when a field does not match. */
function score(route: RouteConfig, f: ConnectionFacts): number {
  const m = route.match;
  if (m.listeners && !m.listeners.includes(f.listener)) return -1;
  if (m.protocols && !m.protocols.includes(f.protocol)) return -1;
  if (m.dstPorts && (f.dstPort === null || !m.dstPorts.some((r) => f.dstPort! >= r.from && f.dstPort! <= r.to))) return -1;
  if (m.dstCidrs) {
    if (f.dstIp === null) return -1;
    const dst = effectiveAddress(f.dstIp);
    if (!m.dstCidrs.some((c) => cidrContains(c, dst))) return -1;
  }
  if (m.srcCidrs && !m.srcCidrs.some((c) => cidrContains(c, f.srcIp))) return -1;
  if (!m.hosts) return 0;
  if (f.host === null) return -1;
  let best = -1;
  for (const h of m.hosts) best = Math.max(best, matchHostname(h, f.host));
  return best < 0 ? -1 : best + 1;
}

export class Router {
  private readonly defaults = new Map<string, Action>();
  /** Whether any route matches on the destination address, which a request by name must resolve first. */
  readonly usesDstCidrs: boolean;
  constructor(private readonly config: Pick<Config, 'listeners' | 'routes'>) {
    for (const l of config.listeners) this.defaults.set(l.name, l.default);
    this.usesDstCidrs = config.routes.some((r) => r.match.dstCidrs !== undefined);
  }

  route(facts: ConnectionFacts): Decision {
    let best: RouteConfig | null = null;
    let bestScore = -1;
    for (const r of this.config.routes) {
      const s = score(r, facts);
      if (s > bestScore) {
        best = r;
        bestScore = s;
      }
    }
    if (best) return best.allowGatewayHost ? { route: best.name, action: best.action, allowGatewayHost: true } : { route: best.name, action: best.action };
    const fallback = this.defaults.get(facts.listener);
    if (!fallback) throw new Error(`no listener named "${facts.listener}"`);
    return { route: null, action: fallback };
  }
}
