// The effective configuration printed by `ugate check`, in the JSON configuration's own shape,
// with every default filled in.

import type { BackendRef, GatewayApiConfig, HttpMatch, HttpRoute, HttpRule, TlsRoute } from '../gateway-api/model.ts';
import { formatHostPort } from '../route/cidr.ts';
import type { HostnamePattern } from '../route/hostname.ts';
import type { Action, Config, ListenerConfig } from './model.ts';

function action(a: Action): unknown {
  return a.type === 'forward' ? { forward: formatHostPort(a.backend.host, a.backend.port) } : a.type;
}

const hostnames = (h: readonly HostnamePattern[]) => h.map((x) => x.source);

function backend(b: BackendRef): string {
  return `${formatHostPort(b.host, b.port)}${b.weight === 1 ? '' : ` weight=${b.weight}`}${b.invalid ? ` (invalid: ${b.invalid})` : ''}`;
}

/** "PathPrefix /api GET header:x-env=prod query:v~^1$" (~ for a regular expression) */
function match(m: HttpMatch): string {
  const values = (kind: string, list: HttpMatch['headers']) => list.map((v) => `${kind}:${v.name}${v.type === 'Exact' ? '=' : '~'}${v.value}`);
  return [`${m.path.type} ${m.path.value}`, ...(m.method ? [m.method] : []), ...values('header', m.headers), ...values('query', m.queryParams)].join(' ');
}

function rule(r: HttpRule): unknown {
  const filters = [r.requestHeaders && 'RequestHeaderModifier', r.responseHeaders && 'ResponseHeaderModifier', r.redirect && 'RequestRedirect', r.rewrite && 'URLRewrite'].filter(Boolean);
  const { requestMs, backendRequestMs } = r.timeouts;
  return {
    ...(r.name ? { name: r.name } : {}),
    matches: r.matches.map(match),
    ...(filters.length > 0 ? { filters } : {}),
    backends: r.backends.map(backend),
    ...(requestMs !== null || backendRequestMs !== null ? { timeouts: { request: requestMs, backendRequest: backendRequestMs } } : {}),
  };
}

/** Where a route got attached: listener, section and effective hostnames ("any" for no restriction). */
function attachments(listeners: readonly ListenerConfig[], route: HttpRoute | TlsRoute): unknown[] {
  return listeners.flatMap((l) =>
    [...(l.gatewayApi?.http ?? []), ...(l.gatewayApi?.tls ?? [])]
      .filter((a) => a.route === route)
      .map((a) => ({ listener: l.name, section: a.section, hostnames: a.hostnames.length === 0 ? 'any' : hostnames(a.hostnames) })),
  );
}

function describeGatewayApi(api: GatewayApiConfig, listeners: readonly ListenerConfig[]): unknown {
  const id = (x: { namespace: string; name: string }) => `${x.namespace}/${x.name}`;
  return {
    gateways: api.gateways.map((g) => ({
      name: id(g),
      ...(g.addresses.length > 0 ? { addresses: g.addresses } : {}),
      listeners: g.listeners.map((l) => ({
        name: l.name,
        port: l.port,
        protocol: l.protocol,
        ...(l.hostname ? { hostname: l.hostname.source } : {}),
        ...(l.allowedNamespaces === 'All' ? { allowedNamespaces: 'All' } : {}),
      })),
    })),
    httpRoutes: api.httpRoutes.map((r) => ({
      name: id(r),
      ...(r.hostnames.length > 0 ? { hostnames: hostnames(r.hostnames) } : {}),
      rules: r.rules.map(rule),
      attachedTo: attachments(listeners, r),
    })),
    tlsRoutes: api.tlsRoutes.map((r) => ({ name: id(r), hostnames: hostnames(r.hostnames), backends: r.backends.map(backend), attachedTo: attachments(listeners, r) })),
    issues: api.issues.length,
  };
}

export function describeConfig(c: Config): unknown {
  return {
    listeners: c.listeners.map((l) => ({
      name: l.name,
      type: l.type,
      listen: l.listen.map((a) => formatHostPort(a.host, a.port)),
      default: action(l.default),
      ...(l.users.length > 0 ? { users: l.users.map((u) => ({ username: u.username, password: '***' })) } : {}),
    })),
    routes: c.routes.map((r) => ({
      name: r.name,
      match: {
        ...(r.match.listeners ? { listeners: r.match.listeners } : {}),
        ...(r.match.protocols ? { protocols: r.match.protocols } : {}),
        ...(r.match.hosts ? { hosts: r.match.hosts.map((h) => h.source) } : {}),
        ...(r.match.dstPorts ? { dstPorts: r.match.dstPorts.map((p) => (p.from === p.to ? p.from : `${p.from}-${p.to}`)) } : {}),
        ...(r.match.dstCidrs ? { dstCidrs: r.match.dstCidrs.map((x) => x.source) } : {}),
        ...(r.match.srcCidrs ? { srcCidrs: r.match.srcCidrs.map((x) => x.source) } : {}),
      },
      action: action(r.action),
      ...(r.allowGatewayHost ? { allowGatewayHost: true } : {}),
    })),
    timeouts: { sniff: c.timeouts.sniffMs, connect: c.timeouts.connectMs, idle: c.timeouts.idleMs, grace: c.timeouts.graceMs, keepAlive: c.timeouts.keepAliveMs },
    limits: {
      connections: c.limits.connections ?? 'auto',
      perSource: c.limits.perSource ?? 'auto',
      handshakes: c.limits.handshakes ?? 'auto',
      handshakesPerSource: c.limits.handshakesPerSource ?? 'auto',
    },
    sniff: { maxBytes: c.sniffMaxBytes },
    accessLog: c.accessLog,
    accessLogFormat: c.accessLogFormat,
    dataPlane: c.dataPlane,
    splice: { ...(c.splice.library ? { library: c.splice.library } : {}), pipeSize: c.splice.pipeSize, pipePool: c.splice.pipePool },
    capture: {
      enabled: c.capture.enabled,
      ...(c.capture.listener ? { listener: c.capture.listener } : {}),
      zones: c.capture.zones,
      devices: c.capture.devices,
      ports: c.capture.ports,
      family: c.capture.family,
      exclude: { sources: c.capture.excludeSources.map((x) => x.source), macs: c.capture.excludeMacs, destinations: c.capture.excludeDestinations.map((x) => x.source) },
      quic: c.capture.quic,
      firewall: c.capture.firewall,
    },
    ...(c.admin ? { admin: { listen: formatHostPort(c.admin.listen.host, c.admin.listen.port) } } : {}),
    ...(c.manifests.length > 0 ? { manifests: c.manifests } : {}),
    ...(c.gatewayApi ? { gatewayApi: describeGatewayApi(c.gatewayApi, c.listeners) } : {}),
  };
}
