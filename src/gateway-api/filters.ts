// HTTPRoute filters as pure functions (Gateway API v1 HTTPHeaderFilter, HTTPPathModifier,
// HTTPRequestRedirectFilter, HTTPURLRewriteFilter) and weighted backend choice.

import type { BackendRef, HeaderModifier, HttpMatch, PathModifier, RequestRedirect } from './model.ts';

/**
 * Applies a header modifier to a header list (request or response) and returns a new list; the
 * input is not modified. The spec allows one action per header name; for configurations that
 * name a header in several actions, the steps run in this order:
 *   1. remove: every line of each named header goes;
 *   2. set: the first line of the name is replaced (keeping its position) and the others go; an
 *      absent header is appended;
 *   3. add: the value is appended to the last line of the name with "," (the spec's example:
 *      `my-header: foo` + add `bar,baz` → `my-header: foo,bar,baz`); an absent header is
 *      appended as a new line.
 * Names compare case-insensitively; a header set or added is written with the name as
 * configured. Of several set (or add) entries with equivalent names, only the first counts.
 */
export function applyHeaderModifier(headers: readonly (readonly [string, string])[], mod: HeaderModifier): [string, string][] {
  let out: [string, string][];
  if (mod.remove.length > 0) {
    const remove = new Set(mod.remove.map((n) => n.toLowerCase()));
    out = [];
    for (const [n, v] of headers) if (!remove.has(n.toLowerCase())) out.push([n, v]);
  } else {
    out = headers.map(([n, v]) => [n, v]);
  }

  const seenSet = new Set<string>();
  for (const [name, value] of mod.set) {
    const lower = name.toLowerCase();
    if (seenSet.has(lower)) continue;
    seenSet.add(lower);
    let first = -1;
    for (let i = 0; i < out.length; i++) {
      if (out[i]![0].toLowerCase() !== lower) continue;
      if (first < 0) {
        first = i;
        out[i] = [name, value];
      } else {
        out.splice(i, 1);
        i--;
      }
    }
    if (first < 0) out.push([name, value]);
  }

  const seenAdd = new Set<string>();
  for (const [name, value] of mod.add) {
    const lower = name.toLowerCase();
    if (seenAdd.has(lower)) continue;
    seenAdd.add(lower);
    let last = -1;
    for (let i = out.length - 1; i >= 0; i--) {
      if (out[i]![0].toLowerCase() === lower) {
        last = i;
        break;
      }
    }
    if (last < 0) out.push([name, value]);
    else {
      const [n, v] = out[last]!;
      out[last] = [n, v === '' ? value : `${v},${value}`];
    }
  }
  return out;
}

/**
 * URLRewrite hostname: the Host header becomes exactly `hostname` (any port the client sent is
 * dropped, as the spec says the value replaces the Host header value); other headers are kept.
 */
export function rewriteHost(headers: readonly (readonly [string, string])[], hostname: string): [string, string][] {
  return applyHeaderModifier(headers, { set: [['Host', hostname]], add: [], remove: [] });
}

/** Whether the path matches PathPrefix `prefix` (normalized, without trailing slash) element-wise. */
function prefixMatches(path: string, prefix: string): boolean {
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47);
}

function trimTrailingSlashes(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 47) end--;
  return s.slice(0, end);
}

/**
 * The path after a path modifier (`path` without the query).
 *
 * ReplaceFullPath: the value ("/" when empty).
 *
 * ReplacePrefixMatch, per the spec's table (trailing slashes of the matched prefix and of the
 * replacement do not count; what followed the prefix is kept, including a trailing slash; an
 * empty result is "/"):
 *
 *   Request Path | Prefix Match | Replace Prefix | Modified Path
 *   /foo/bar     | /foo         | /xyz           | /xyz/bar
 *   /foo/bar     | /foo         | /xyz/          | /xyz/bar
 *   /foo/bar     | /foo/        | /xyz           | /xyz/bar
 *   /foo/bar     | /foo/        | /xyz/          | /xyz/bar
 *   /foo         | /foo         | /xyz           | /xyz
 *   /foo/        | /foo         | /xyz           | /xyz/
 *   /foo/bar     | /foo         | <empty>        | /bar
 *   /foo/        | /foo         | <empty>        | /
 *   /foo         | /foo         | <empty>        | /
 *   /foo/        | /foo         | /              | /
 *   /foo         | /foo         | /              | /
 *
 * Prefix "/" is the empty element list, so the replacement goes in front of the whole path:
 * "/a/b" with "/xyz" → "/xyz/a/b", "/" with "/xyz" → "/xyz/" (like "/foo/" above).
 * The matched prefix is the request's PathPrefix match (an Exact match counts as a prefix equal
 * to the whole path). Validation only allows ReplacePrefixMatch with a single PathPrefix match;
 * for a RegularExpression match, or a path the prefix does not match, the path is unchanged.
 */
export function rewritePath(path: string, mod: PathModifier, match: HttpMatch): string {
  if (mod.type === 'ReplaceFullPath') return mod.value === '' ? '/' : mod.value;
  if (match.path.type === 'RegularExpression') return path;
  const prefix = trimTrailingSlashes(match.path.value);
  if (!prefixMatches(path, prefix)) return path;
  const rest = path.slice(prefix.length);
  const out = trimTrailingSlashes(mod.value) + rest;
  if (out === '') return '/';
  return out.charCodeAt(0) === 47 ? out : `/${out}`;
}

/**
 * The Location URL of a RequestRedirect:
 * - scheme: the filter's, else the request's;
 * - host: the filter's hostname, else the request host (an IPv6 literal in brackets);
 * - port: the filter's; else, when the filter sets a scheme, that scheme's well-known port (80,
 *   443); else the listener port. It is left out for http:80 and https:443;
 * - path: rewritten by the filter's path modifier, else the request path;
 * - query: the request's query string is kept unchanged (the spec does not say; Envoy and most
 *   proxies keep it).
 * The status code does not affect the URL.
 */
export function redirectLocation(
  r: RequestRedirect,
  req: { scheme: 'http' | 'https'; host: string; listenerPort: number; path: string; query: string },
  match: HttpMatch,
): string {
  const scheme = r.scheme ?? req.scheme;
  const port = r.port ?? (r.scheme !== null ? (r.scheme === 'https' ? 443 : 80) : req.listenerPort);
  let host = r.hostname ?? req.host;
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  const defaultPort = (scheme === 'http' && port === 80) || (scheme === 'https' && port === 443);
  const path = r.path ? rewritePath(req.path, r.path, match) : req.path;
  return `${scheme}://${host}${defaultPort ? '' : `:${port}`}${path}${req.query === '' ? '' : `?${req.query}`}`;
}

/** Per backend list (a rule's, a TLSRoute's), the current weights of its weighted round-robin. */
const roundRobin = new WeakMap<readonly BackendRef[], number[]>();

/**
 * The next backend of a list, each taking weight / sum of weights of the picks: smooth weighted
 * round-robin (as nginx's upstreams), which spreads a backend's turns evenly over every cycle of
 * sum-of-weights picks, so shares are exact rather than probable. Weight 0 is never picked; null
 * when the sum is 0 (or there are none). Invalid references are picked by weight like valid
 * ones (the caller answers 500 or rejects for them). State lives with the list, so a new
 * configuration starts afresh.
 */
export function nextBackend(backends: readonly BackendRef[]): BackendRef | null {
  let current = roundRobin.get(backends);
  if (!current) roundRobin.set(backends, (current = backends.map(() => 0)));
  let total = 0;
  let best = -1;
  for (let i = 0; i < backends.length; i++) {
    const w = backends[i]!.weight;
    if (w <= 0) continue;
    total += w;
    current[i]! += w;
    if (best < 0 || current[i]! > current[best]!) best = i;
  }
  if (best < 0) return null;
  current[best]! -= total;
  return backends[best]!;
}
