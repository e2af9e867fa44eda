// HTTPRoute routing for one socket: a pure function of request facts → decision, precomputed
// so that a request costs a map lookup and a scan of a pre-sorted candidate list.
//
// Semantics (Gateway API v1):
// - Listener section: the request belongs to the most specific section whose hostname matches
//   (exact > longer wildcard suffix > no hostname); only routes attached to it count. Sections
//   tied at the best specificity (indistinct listeners, which validation should reject) are
//   taken together. A request no section takes is 'no-host'.
// - Candidates are (route, rule, match) triples of every attached route that covers the host,
//   tried in this order, first match wins:
//     1. route hostname specificity: a matching exact hostname (more characters first), then a
//        matching wildcard (longer first), then routes without hostnames;
//     2. path: Exact, then RegularExpression (longer pattern first; the spec leaves its place to
//        the implementation), then PathPrefix (more characters first);
//     3. a method condition before none;
//     4. more header conditions first;
//     5. more query-parameter conditions first;
//     6. route order (the order of `routes.http`, i.e. manifest order), rule order, match order.
// - Path: matched on the path as sent (percent-encoded, not normalized). Exact is string
//   equality; PathPrefix is element-wise ("/abc" matches "/abc", "/abc/", "/abc/x", not "/abcd";
//   "/" matches every request); RegularExpression must match the whole path.
// - Headers: names case-insensitive; a repeated request header is matched as its values joined
//   with "," (Envoy's choice; RFC 9110 recommends ", " but also allows ","), "cookie" lines
//   with "; " (RFC 9113 §8.2.3). Only the first condition per name counts.
// - Query parameters: names case-sensitive; the first occurrence of a name counts; names and
//   values are percent-decoded ("+" stays "+"), a malformed escape compares raw. Only the
//   first condition per name counts. A parameter without "=" has the value "".
// - Regular expressions (headers, query parameters, path) are full matches: the pattern is
//   anchored as ^(?:pattern)$ whatever the model's RegExp looks like.
// - Method: compared as sent (methods are case-sensitive).

import { matchHostname, type HostnamePattern } from '../route/hostname.ts';
import type { AttachedRoute, BackendRef, HttpMatch, HttpRoute, HttpRule, ListenerRoutes, ListenerSection, ValueMatch } from './model.ts';

export interface HttpRequestFacts {
  /** lowercase, no port, no trailing dot; null (or "") when the request has none */
  host: string | null;
  method: string;
  /** request path without query, as sent (percent-encoded) */
  path: string;
  /** raw text after '?', '' if none */
  query: string;
  headers: [name: string, value: string][];
}

/**
 * 'rule' decisions are built once per candidate and shared between requests: do not mutate.
 */
export type HttpRouteDecision =
  | { type: 'rule'; attached: AttachedRoute<HttpRoute>; rule: HttpRule; match: HttpMatch; section: ListenerSection }
  /** some attached route covers the host, but no rule matches → ugate answers 404 */
  | { type: 'no-rule' }
  /** no attached route covers this host (or host null and every route needs one) → 404 on a Gateway listener; passthrough on a capture listener */
  | { type: 'no-host' };

type RuleDecision = Extract<HttpRouteDecision, { type: 'rule' }>;

const NO_RULE: HttpRouteDecision = Object.freeze({ type: 'no-rule' });
const NO_HOST: HttpRouteDecision = Object.freeze({ type: 'no-host' });

/** Hosts seen at runtime that no exact hostname names are cached up to this many. */
export const HOST_CACHE_SIZE = 1024;

// ---------------------------------------------------------------------------
// hostnames and sections (shared with the TLS table)

/**
 * Specificity of an optional hostname pattern for an optional host: -1 no match, 0 for "any
 * hostname" (null pattern, which also takes a request without a host), otherwise matchHostname.
 */
export function hostnameScore(pattern: HostnamePattern | null, host: string | null): number {
  if (pattern === null) return 0;
  if (host === null) return -1;
  return matchHostname(pattern, host);
}

/** Best score of a route's effective hostnames (empty = any hostname → 0), -1 when none matches. */
export function routeHostnameScore(hostnames: readonly HostnamePattern[], host: string | null): number {
  if (hostnames.length === 0) return 0;
  if (host === null) return -1;
  let best = -1;
  for (const h of hostnames) {
    const s = matchHostname(h, host);
    if (s > best) best = s;
  }
  return best;
}

/** The sections a request for `host` belongs to: all those with the best score (normally one). */
export function selectSections(sections: readonly ListenerSection[], host: string | null): ListenerSection[] {
  let best = -1;
  let out: ListenerSection[] = [];
  for (const s of sections) {
    const score = hostnameScore(s.hostname, host);
    if (score < 0 || score < best) continue;
    if (score > best) {
      best = score;
      out = [];
    }
    out.push(s);
  }
  return out;
}

/** Whether every host `inner` matches is matched by `outer`. */
export function patternCovers(outer: HostnamePattern, inner: HostnamePattern): boolean {
  if (!outer.wildcard) return !inner.wildcard && inner.suffix === outer.suffix;
  if (!inner.wildcard) return matchHostname(outer, inner.suffix) >= 0;
  return inner.suffix === outer.suffix || inner.suffix.endsWith(`.${outer.suffix}`);
}

/** A small FIFO-bounded map for per-host results of hosts known only at runtime. */
export class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly limit: number) {}
  get(key: string): V | undefined {
    return this.map.get(key);
  }
  set(key: string, value: V): void {
    if (this.map.size >= this.limit) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(key, value);
  }
  get size(): number {
    return this.map.size;
  }
}

// ---------------------------------------------------------------------------
// compiled matches

const PATH_EXACT = 0;
const PATH_PREFIX = 1;
const PATH_REGEX = 2;
/** rank of a path kind in the precedence order (higher first) */
const PATH_RANK = [3, 1, 2];

interface ValueCond {
  name: string;
  exact: string | null;
  regex: RegExp | null;
}

interface Candidate {
  decision: RuleDecision;
  routeIndex: number;
  ruleIndex: number;
  matchIndex: number;
  pathKind: number;
  /** Exact value, or PathPrefix value without trailing slash ("" for "/") */
  pathValue: string;
  pathRegex: RegExp | null;
  /** PathPrefix "/": matches every path */
  pathAll: boolean;
  method: string | null;
  headers: ValueCond[];
  query: ValueCond[];
  /** position in the host-independent precedence order (criteria 2–6) */
  rank: number;
}

/** ^(?:source)$ with the model's flags minus g/y/m (stateful or line-anchoring). */
export function fullMatchRegex(re: RegExp): RegExp {
  const flags = re.flags.replace(/[gym]/g, '');
  return new RegExp(`^(?:${re.source})$`, flags);
}

function compileValues(list: readonly ValueMatch[], lower: boolean): ValueCond[] {
  const seen = new Set<string>();
  const out: ValueCond[] = [];
  for (const v of list) {
    const name = lower ? v.name.toLowerCase() : v.name;
    if (seen.has(name)) continue; // only the first condition per name counts
    seen.add(name);
    out.push(v.type === 'Exact' ? { name, exact: v.value, regex: null } : { name, exact: null, regex: fullMatchRegex(v.regex) });
  }
  return out;
}

/** PathPrefix value without trailing slashes; "/" becomes "". */
export function normalizePrefix(value: string): string {
  let end = value.length;
  while (end > 0 && value.charCodeAt(end - 1) === 47) end--;
  return end === value.length ? value : value.slice(0, end);
}

function pathLength(c: Candidate): number {
  if (c.pathKind === PATH_PREFIX) return c.pathAll ? 1 : c.pathValue.length;
  if (c.pathKind === PATH_REGEX) return c.pathValue.length;
  return 0;
}

/** Host-independent precedence: negative when `a` goes first. */
function compareStatic(a: Candidate, b: Candidate): number {
  return (
    PATH_RANK[b.pathKind]! - PATH_RANK[a.pathKind]! ||
    pathLength(b) - pathLength(a) ||
    (b.method !== null ? 1 : 0) - (a.method !== null ? 1 : 0) ||
    b.headers.length - a.headers.length ||
    b.query.length - a.query.length ||
    a.routeIndex - b.routeIndex ||
    a.ruleIndex - b.ruleIndex ||
    a.matchIndex - b.matchIndex
  );
}

// ---------------------------------------------------------------------------
// per-request matching (allocation-free unless a header repeats or a query part is escaped)

/** `name` equals the lower-case `lower`, ASCII case-insensitively. */
function eqLower(name: string, lower: string): boolean {
  const n = name.length;
  if (n !== lower.length) return false;
  if (name === lower) return true;
  for (let i = 0; i < n; i++) {
    let c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** The value of header `lower` (repeated lines joined), or null when absent. */
export function headerValue(headers: readonly (readonly [string, string])[], lower: string): string | null {
  let found: string | null = null;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (!eqLower(h[0], lower)) continue;
    found = found === null ? h[1] : found + (lower === 'cookie' ? '; ' : ',') + h[1];
  }
  return found;
}

function decodeComponent(s: string): string {
  if (s.indexOf('%') < 0) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The percent-decoded value of the first query parameter named `name`, or null. */
export function queryValue(query: string, name: string): string | null {
  const n = query.length;
  let start = 0;
  while (start < n) {
    let amp = query.indexOf('&', start);
    if (amp < 0) amp = n;
    if (amp > start) {
      let eq = query.indexOf('=', start);
      if (eq < 0 || eq > amp) eq = amp;
      const pct = query.indexOf('%', start);
      const nameEscaped = pct >= 0 && pct < eq;
      const hit = nameEscaped ? decodeComponent(query.slice(start, eq)) === name : eq - start === name.length && query.startsWith(name, start);
      if (hit) return eq < amp ? decodeComponent(query.slice(eq + 1, amp)) : '';
    }
    start = amp + 1;
  }
  return null;
}

function valueOk(c: ValueCond, value: string | null): boolean {
  if (value === null) return false;
  return c.regex !== null ? c.regex.test(value) : value === c.exact;
}

function matches(c: Candidate, req: HttpRequestFacts): boolean {
  const path = req.path;
  switch (c.pathKind) {
    case PATH_EXACT:
      if (path !== c.pathValue) return false;
      break;
    case PATH_PREFIX:
      if (!c.pathAll) {
        const v = c.pathValue;
        if (!path.startsWith(v) || (path.length !== v.length && path.charCodeAt(v.length) !== 47)) return false;
      }
      break;
    default:
      if (!c.pathRegex!.test(path)) return false;
  }
  if (c.method !== null && c.method !== req.method) return false;
  const hs = c.headers;
  for (let i = 0; i < hs.length; i++) {
    const h = hs[i]!;
    if (!valueOk(h, headerValue(req.headers, h.name))) return false;
  }
  const qs = c.query;
  for (let i = 0; i < qs.length; i++) {
    const q = qs[i]!;
    if (!valueOk(q, queryValue(req.query, q.name))) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// the table

/** Candidates for one host, in precedence order; null: no route covers the host. */
type HostEntry = Candidate[] | null;

function isCatchAll(m: HttpMatch): boolean {
  return m.path.type === 'PathPrefix' && normalizePrefix(m.path.value) === '' && m.method === null && m.headers.length === 0 && m.queryParams.length === 0;
}

function sameBackend(a: BackendRef, b: BackendRef): boolean {
  return a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port;
}

/** The one valid backend every request matching `rule` goes to, unmodified, or null. */
function plainBackend(rule: HttpRule): BackendRef | null {
  if (rule.requestHeaders || rule.responseHeaders || rule.redirect || rule.rewrite) return null;
  if (rule.timeouts.requestMs !== null || rule.timeouts.backendRequestMs !== null) return null;
  let found: BackendRef | null = null;
  for (const b of rule.backends) {
    if (b.invalid !== null) return null;
    if (b.weight <= 0) continue;
    if (found !== null) return null;
    found = b;
  }
  return found;
}

export class HttpRouteTable {
  /** the one backend every possible request goes to, unmodified, or null */
  readonly constantBackend: BackendRef | null;

  private readonly sections: ListenerSection[];
  private readonly routes: AttachedRoute<HttpRoute>[];
  /** candidates per attached route (same index as `routes`) */
  private readonly byRoute: Candidate[][];
  private readonly exact = new Map<string, HostEntry>();
  private readonly cache = new BoundedCache<HostEntry>(HOST_CACHE_SIZE);
  /** identical candidate lists shared between hosts */
  private readonly interned = new Map<string, HostEntry>();
  private readonly nullHost: HostEntry;

  constructor(routes: ListenerRoutes) {
    this.sections = routes.sections.filter((s) => s.protocol !== 'TLS');
    this.routes = routes.http;
    const all: Candidate[] = [];
    this.byRoute = this.routes.map((attached, routeIndex) => {
      const section = this.sections.find((s) => s.name === attached.section);
      const list: Candidate[] = [];
      if (!section) return list; // attached to no section of this socket: never reached
      attached.route.rules.forEach((rule, ruleIndex) => {
        rule.matches.forEach((match, matchIndex) => {
          const p = match.path;
          const prefix = p.type === 'PathPrefix' ? normalizePrefix(p.value) : '';
          const c: Candidate = {
            decision: { type: 'rule', attached, rule, match, section },
            routeIndex,
            ruleIndex,
            matchIndex,
            pathKind: p.type === 'Exact' ? PATH_EXACT : p.type === 'PathPrefix' ? PATH_PREFIX : PATH_REGEX,
            pathValue: p.type === 'PathPrefix' ? prefix : p.value,
            pathRegex: p.type === 'RegularExpression' ? fullMatchRegex(p.regex) : null,
            pathAll: p.type === 'PathPrefix' && prefix === '',
            method: match.method,
            headers: compileValues(match.headers, true),
            query: compileValues(match.queryParams, false),
            rank: 0,
          };
          list.push(c);
          all.push(c);
        });
      });
      return list;
    });
    all.sort(compareStatic);
    all.forEach((c, i) => (c.rank = i));

    this.nullHost = this.build(null);
    const names = new Set<string>();
    for (const s of this.sections) if (s.hostname && !s.hostname.wildcard) names.add(s.hostname.suffix);
    for (const r of this.routes) for (const h of r.hostnames) if (!h.wildcard) names.add(h.suffix);
    for (const n of names) this.exact.set(n, this.build(n));
    this.constantBackend = this.computeConstantBackend();
  }

  route(req: HttpRequestFacts): HttpRouteDecision {
    const host = req.host;
    let entry: HostEntry | undefined;
    if (host === null || host === '') entry = this.nullHost;
    else {
      entry = this.exact.get(host);
      if (entry === undefined) {
        entry = this.cache.get(host);
        if (entry === undefined) {
          entry = this.build(host);
          this.cache.set(host, entry);
        }
      }
    }
    if (entry === null) return NO_HOST;
    for (let i = 0; i < entry.length; i++) {
      const c = entry[i]!;
      if (matches(c, req)) return c.decision;
    }
    return NO_RULE;
  }

  /** The candidate list for `host`, computed from scratch (then interned). */
  private build(host: string | null): HostEntry {
    const selected = selectSections(this.sections, host);
    if (selected.length === 0) return null;
    const names = new Set(selected.map((s) => s.name));
    const covering: { index: number; score: number }[] = [];
    this.routes.forEach((r, index) => {
      if (!names.has(r.section)) return;
      const score = routeHostnameScore(r.hostnames, host);
      if (score >= 0) covering.push({ index, score });
    });
    if (covering.length === 0) return null;
    const key = covering.map((c) => `${c.index}:${c.score}`).join(',');
    const known = this.interned.get(key);
    if (known !== undefined) return known;
    const scoreOf = new Map<number, number>();
    const list: Candidate[] = [];
    for (const c of covering) {
      scoreOf.set(c.index, c.score);
      list.push(...this.byRoute[c.index]!);
    }
    list.sort((a, b) => scoreOf.get(b.routeIndex)! - scoreOf.get(a.routeIndex)! || a.rank - b.rank);
    this.interned.set(key, list);
    return list;
  }

  /**
   * Conservative proof that every request (any host or none, any method, path, header, query)
   * gets the same single valid backend, unmodified: a hostname-less section exists; every rule
   * of every route attached to any section of this socket sends to that one backend (weight >
   * 0, no invalid reference, no filter, no timeout); and every section has a route covering all
   * of its hostnames with a catch-all match (PathPrefix "/" and no other condition).
   */
  private computeConstantBackend(): BackendRef | null {
    if (!this.sections.some((s) => s.hostname === null)) return null;
    let backend: BackendRef | null = null;
    for (const r of this.routes) {
      if (!this.sections.some((s) => s.name === r.section)) continue;
      for (const rule of r.route.rules) {
        const b = plainBackend(rule);
        if (b === null) return null;
        if (backend === null) backend = b;
        else if (!sameBackend(backend, b)) return null;
      }
    }
    if (backend === null) return null;
    for (const s of this.sections) {
      const covered = this.routes.some(
        (r) =>
          r.section === s.name &&
          (r.hostnames.length === 0 || (s.hostname !== null && r.hostnames.some((h) => patternCovers(h, s.hostname!)))) &&
          r.route.rules.some((rule) => rule.matches.some(isCatchAll)),
      );
      if (!covered) return null;
    }
    return backend;
  }
}
