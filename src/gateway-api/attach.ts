// Attachment (Gateway API): which listener sections each route's parentRefs reach, with the
// effective hostnames there; and the ugate listeners that Gateways become — one per (Gateway,
// port), bound on each Gateway address. Pure: validated manifests and configured listeners in,
// listeners with their routes and the findings out.
//
// A parentRef may also name a ugate "redirect" listener (when no Gateway has that name): the
// listener is then one "capture" section that takes HTTPRoutes and TLSRoutes alike.

import type { HostPort, ListenerConfig } from '../config/model.ts';
import { formatHostPort, parseIP } from '../route/cidr.ts';
import type { HostnamePattern } from '../route/hostname.ts';
import type { AttachedRoute, Gateway, GatewayApiConfig, HttpRoute, ListenerRoutes, ListenerSection, ManifestIssue, ParentRef, TlsRoute } from './model.ts';
import { manifestLabel } from './validate.ts';

/** Whether every name that `inner` matches is matched by `outer` too. */
function covers(outer: HostnamePattern, inner: HostnamePattern): boolean {
  if (!outer.wildcard) return !inner.wildcard && inner.suffix === outer.suffix;
  return inner.suffix.endsWith(`.${outer.suffix}`) || (inner.wildcard && inner.suffix === outer.suffix);
}

/**
 * The route hostnames that apply on a listener with hostname `listener` (null: any): a route
 * without hostnames takes the listener's; each route hostname that overlaps the listener's is
 * narrowed to the more specific of the two ("*.example.com" on a "test.example.com" listener is
 * "test.example.com"); the others are dropped. Returns [] for any hostname, null when none is left.
 */
export function intersectHostnames(listener: HostnamePattern | null, route: readonly HostnamePattern[]): HostnamePattern[] | null {
  if (listener === null) return [...route];
  if (route.length === 0) return [listener];
  const out: HostnamePattern[] = [];
  for (const h of route) {
    const effective = covers(listener, h) ? h : covers(h, listener) ? listener : null;
    if (effective && !out.some((o) => o.wildcard === effective.wildcard && o.suffix === effective.suffix)) out.push(effective);
  }
  return out.length > 0 ? out : null;
}

/** Two bind addresses collide: same port, and the same address or a wildcard of its family. */
function collide(a: HostPort, b: HostPort): boolean {
  if (a.port === 0 || a.port !== b.port) return false;
  const x = parseIP(a.host);
  const y = parseIP(b.host);
  if (!x || !y || x.length !== y.length) return false; // IPv6 sockets are bound v6-only
  const any = (ip: Uint8Array) => ip.every((byte) => byte === 0);
  return any(x) || any(y) || x.every((byte, i) => byte === y[i]);
}

/** The first address of `added` that collides with one bound before it (by `bound` or `added` itself). */
function firstClash(bound: readonly ListenerConfig[], added: readonly ListenerConfig[]): { address: HostPort; owner: string } | null {
  const taken = bound.flatMap((l) => l.listen.map((address) => ({ address, owner: l.name })));
  for (const l of added) {
    for (const address of l.listen) {
      const other = taken.find((t) => collide(address, t.address));
      if (other) return { address, owner: other.owner };
      taken.push({ address, owner: l.name });
    }
  }
  return null;
}

/** "web:80", or "infra/web:80" outside the default namespace. */
export function gatewayListenerName(g: Pick<Gateway, 'namespace' | 'name'>, port: number): string {
  return `${g.namespace === 'default' ? '' : `${g.namespace}/`}${g.name}:${port}`;
}

export interface AttachResult {
  /** the configured listeners (redirect listeners with routes get `gatewayApi`), then the Gateways' */
  listeners: ListenerConfig[];
  /** `api` less the Gateways that could not bind, with the attachment findings added */
  gatewayApi: GatewayApiConfig;
}

interface Target {
  listener: ListenerConfig & { gatewayApi: ListenerRoutes };
  section: ListenerSection;
  /** who may attach: the Gateway listener's allowedRoutes.namespaces.from (null: a capture section, anyone) */
  allowedNamespaces: 'Same' | 'All' | null;
}

export function attachRoutes(api: GatewayApiConfig, configured: readonly ListenerConfig[]): AttachResult {
  const issues: ManifestIssue[] = [...api.issues];
  const bound: ListenerConfig[] = [...configured]; // every listener that will bind, so far
  const gateways: Gateway[] = [];
  const targets = new Map<string, Target[]>(); // "namespace/name" of a Gateway → its sections
  const gatewayListeners: ListenerConfig[] = [];

  for (const g of api.gateways) {
    const ports = [...new Set(g.listeners.map((l) => l.port))];
    const hosts = g.addresses.length > 0 ? g.addresses : ['0.0.0.0', '::'];
    const made = ports.map((port): ListenerConfig & { gatewayApi: ListenerRoutes } => ({
      name: gatewayListenerName(g, port),
      type: g.listeners.find((l) => l.port === port)!.protocol === 'HTTP' ? 'http' : 'tls',
      listen: hosts.map((host) => ({ host, port })),
      default: { type: 'reject' },
      users: [],
      gatewayApi: {
        sections: g.listeners.filter((l) => l.port === port).map((l) => ({ gateway: `${g.namespace}/${g.name}`, name: l.name, port, protocol: l.protocol, hostname: l.hostname })),
        http: [],
        tls: [],
      },
    }));
    const clash = firstClash(bound, made);
    if (clash) {
      const index = g.listeners.findIndex((l) => l.port === clash.address.port);
      issues.push({ manifest: manifestLabel(g.source), path: `spec.listeners[${index}].port`, message: `${formatHostPort(clash.address.host, clash.address.port)} is already bound by listener "${clash.owner}"` });
      continue;
    }
    gateways.push(g);
    bound.push(...made);
    gatewayListeners.push(...made);
    targets.set(
      `${g.namespace}/${g.name}`,
      made.flatMap((listener) => listener.gatewayApi.sections.map((section) => ({ listener, section, allowedNamespaces: g.listeners.find((l) => l.name === section.name)!.allowedNamespaces }))),
    );
  }

  // Redirect listeners become a capture section when a route names them.
  const captured = new Map<string, ListenerConfig & { gatewayApi: ListenerRoutes }>();
  const captureTarget = (l: ListenerConfig): Target => {
    let c = captured.get(l.name);
    if (!c) {
      c = { ...l, gatewayApi: { sections: [{ gateway: l.name, name: l.name, port: null, protocol: 'capture', hostname: null }], http: [], tls: [] } };
      captured.set(l.name, c);
    }
    return { listener: c, section: c.gatewayApi.sections[0]!, allowedNamespaces: null };
  };

  /** The sections `ref` reaches, or why it reaches none. */
  const resolve = (ref: ParentRef, routeNs: string, protocol: 'HTTP' | 'TLS'): Target[] | string => {
    const gatewayTargets = targets.get(`${ref.namespace}/${ref.name}`);
    if (!gatewayTargets) {
      const l = configured.find((x) => x.name === ref.name);
      if (!l) return `no Gateway ${ref.namespace}/${ref.name} (or it was rejected) and no ugate listener "${ref.name}"`;
      if (l.type !== 'redirect') return `ugate listener "${ref.name}" is a ${l.type} listener; only redirect listeners take routes`;
      if (ref.sectionName !== null && ref.sectionName !== l.name) return `ugate listener "${l.name}" has one section, named "${l.name}"`;
      if (ref.port !== null) return `ugate listener "${l.name}" captures every port: a parentRef to it takes no port`;
      return [captureTarget(l)];
    }
    const where = `Gateway ${ref.namespace}/${ref.name}`;
    const selected = gatewayTargets.filter((t) => (ref.sectionName === null || t.section.name === ref.sectionName) && (ref.port === null || t.section.port === ref.port));
    if (selected.length === 0) return `${where} has no listener${ref.sectionName === null ? '' : ` named "${ref.sectionName}"`}${ref.port === null ? '' : ` on port ${ref.port}`}`;
    const fitting = selected.filter((t) => t.section.protocol === protocol);
    if (fitting.length === 0) return `no selected listener of ${where} has protocol ${protocol}`;
    const allowed = fitting.filter((t) => t.allowedNamespaces === 'All' || routeNs === ref.namespace);
    if (allowed.length === 0) return `the selected listeners of ${where} do not allow routes from namespace "${routeNs}" (allowedRoutes.namespaces.from: Same)`;
    return allowed;
  };

  const attach = <R extends HttpRoute | TlsRoute>(route: R, protocol: 'HTTP' | 'TLS', into: (r: ListenerRoutes) => AttachedRoute<R>[]) => {
    const manifest = manifestLabel(route.source);
    if (route.parentRefs.length === 0) issues.push({ manifest, path: 'spec.parentRefs', message: 'not attached: the route names no parent' });
    route.parentRefs.forEach((ref, i) => {
      const reached = resolve(ref, route.namespace, protocol);
      let attached = 0;
      if (typeof reached !== 'string') {
        for (const t of reached) {
          const hostnames = intersectHostnames(t.section.hostname, route.hostnames);
          if (hostnames === null) continue;
          attached++;
          const list = into(t.listener.gatewayApi);
          if (!list.some((a) => a.route === route && a.section === t.section.name)) list.push({ route, section: t.section.name, hostnames });
        }
      }
      if (attached === 0) {
        const reason = typeof reached === 'string' ? reached : `no hostname of the route intersects the listener hostname${reached.length > 1 ? 's' : ''} (${reached.map((t) => t.section.hostname?.source).join(', ')})`;
        issues.push({ manifest, path: `spec.parentRefs[${i}]`, message: `not attached: ${reason}` });
      }
    });
  };
  // Routes keep manifest order within each list: it breaks precedence ties.
  for (const r of api.httpRoutes) attach(r, 'HTTP', (l) => l.http);
  for (const r of api.tlsRoutes) attach(r, 'TLS', (l) => l.tls);

  return {
    listeners: [...configured.map((l) => captured.get(l.name) ?? l), ...gatewayListeners],
    gatewayApi: { gateways, httpRoutes: api.httpRoutes, tlsRoutes: api.tlsRoutes, issues },
  };
}
