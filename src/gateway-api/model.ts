// Gateway API objects (gateway.networking.k8s.io/v1) as ugate runs them, after validation:
// Gateway, HTTPRoute and TLSRoute manifests become these plain values. Only what ugate supports
// has a field here; everything else is reported at load time (see validate.ts), never ignored.

import type { HostnamePattern } from '../route/hostname.ts';

/** Where a manifest came from, for messages: "site.yaml: HTTPRoute default/shop". */
export interface ManifestSource {
  file: string;
  /** 0-based index of the YAML document within the file */
  document: number;
  kind: 'Gateway' | 'HTTPRoute' | 'TLSRoute';
  namespace: string;
  name: string;
}

/** A load-time finding. Routes with one are rejected whole; the rest keep running. */
export interface ManifestIssue {
  /** "site.yaml: HTTPRoute default/shop" or "site.yaml (document 3)" when it has no name */
  manifest: string;
  /** field path within the manifest, e.g. "spec.rules[0].filters[1].type" ("" for the whole) */
  path: string;
  message: string;
}

/** One listener of a Gateway (a "section"). */
export interface GatewayListener {
  name: string;
  port: number;
  protocol: 'HTTP' | 'TLS';
  /** null: any hostname */
  hostname: HostnamePattern | null;
  /** route namespaces allowed to attach: the Gateway's own ("Same", the default) or "All" */
  allowedNamespaces: 'Same' | 'All';
}

export interface Gateway {
  source: ManifestSource;
  namespace: string;
  name: string;
  /** spec.addresses (IPAddress values); empty = all addresses (0.0.0.0 and ::) */
  addresses: string[];
  listeners: GatewayListener[];
}

export interface ParentRef {
  namespace: string;
  name: string;
  sectionName: string | null;
  port: number | null;
}

/**
 * backendRefs[].name is a host (IP literal or DNS name) and port its port: ugate has no Services.
 * A reference ugate cannot use (unknown group/kind, another namespace) stays in the rule with
 * `invalid` set: its share of the traffic gets HTTP 500 (HTTPRoute) or is rejected (TLSRoute).
 */
export interface BackendRef {
  host: string;
  port: number;
  /** 0..1000000; 0 never receives traffic */
  weight: number;
  /** why this reference cannot be used, or null */
  invalid: string | null;
}

export type PathMatch =
  | { type: 'Exact'; value: string }
  /** value without a trailing slash (except "/" itself); matches element-wise */
  | { type: 'PathPrefix'; value: string }
  /** anchored: the whole path must match */
  | { type: 'RegularExpression'; value: string; regex: RegExp };

export type ValueMatch = { type: 'Exact'; name: string; value: string } | { type: 'RegularExpression'; name: string; value: string; regex: RegExp };

export interface HttpMatch {
  path: PathMatch;
  /** header names lowercased */
  headers: ValueMatch[];
  /** parameter names as written (case-sensitive) */
  queryParams: ValueMatch[];
  /** upper-case method, or null for any */
  method: string | null;
}

export interface HeaderModifier {
  /** names as written; compared case-insensitively */
  set: [name: string, value: string][];
  add: [name: string, value: string][];
  remove: string[];
}

export type PathModifier = { type: 'ReplaceFullPath'; value: string } | { type: 'ReplacePrefixMatch'; value: string };

export interface RequestRedirect {
  scheme: 'http' | 'https' | null;
  hostname: string | null;
  port: number | null;
  path: PathModifier | null;
  statusCode: 301 | 302 | 303 | 307 | 308;
}

export interface UrlRewrite {
  hostname: string | null;
  path: PathModifier | null;
}

export interface HttpRule {
  /** position in spec.rules */
  index: number;
  name: string | null;
  /** never empty: no matches in the manifest = one PathPrefix "/" match */
  matches: HttpMatch[];
  requestHeaders: HeaderModifier | null;
  responseHeaders: HeaderModifier | null;
  redirect: RequestRedirect | null;
  rewrite: UrlRewrite | null;
  backends: BackendRef[];
  /** milliseconds; null = no limit */
  timeouts: { requestMs: number | null; backendRequestMs: number | null };
}

export interface HttpRoute {
  source: ManifestSource;
  namespace: string;
  name: string;
  parentRefs: ParentRef[];
  /** empty: any hostname */
  hostnames: HostnamePattern[];
  rules: HttpRule[];
}

export interface TlsRoute {
  source: ManifestSource;
  namespace: string;
  name: string;
  parentRefs: ParentRef[];
  /** at least one */
  hostnames: HostnamePattern[];
  /** TLSRoute v1 has exactly one rule */
  backends: BackendRef[];
}

/**
 * One socket's share of the Gateway API: the Gateway listener sections bound to it (several
 * HTTP sections may share a port, told apart by hostname) and the routes attached to them.
 * A ugate "redirect" listener is a single section that takes both kinds of route.
 */
export interface ListenerSection {
  /** "namespace/gateway" for a Gateway; the ugate listener name for a redirect listener */
  gateway: string;
  name: string;
  /** the Gateway listener port (for redirects without a port); null for a redirect listener */
  port: number | null;
  protocol: 'HTTP' | 'TLS' | 'capture';
  /** null: any hostname */
  hostname: HostnamePattern | null;
}

export interface AttachedRoute<R> {
  route: R;
  /** ListenerSection.name this attachment is to */
  section: string;
  /**
   * Effective hostnames: the route's hostnames intersected with the section's hostname, as the
   * spec defines (a route without hostnames takes the section's; empty = any hostname).
   */
  hostnames: HostnamePattern[];
}

export interface ListenerRoutes {
  sections: ListenerSection[];
  http: AttachedRoute<HttpRoute>[];
  tls: AttachedRoute<TlsRoute>[];
}

/** The result of loading manifests: what runs, and every finding. */
export interface GatewayApiConfig {
  gateways: Gateway[];
  httpRoutes: HttpRoute[];
  tlsRoutes: TlsRoute[];
  issues: ManifestIssue[];
}
