import test from 'ava';
import fc from 'fast-check';
import { applyHeaderModifier, nextBackend, redirectLocation, rewriteHost, rewritePath } from '../../src/gateway-api/filters.ts';
import { HttpRouteTable, patternCovers, queryValue, type HttpRequestFacts, type HttpRouteDecision } from '../../src/gateway-api/http-table.ts';
import type {
  AttachedRoute,
  BackendRef,
  HttpMatch,
  HttpRoute,
  HttpRule,
  ListenerSection,
  PathModifier,
  RequestRedirect,
  TlsRoute,
  ValueMatch,
} from '../../src/gateway-api/model.ts';
import { TlsRouteTable } from '../../src/gateway-api/tls-table.ts';
import { parseHostnamePattern, type HostnamePattern } from '../../src/route/hostname.ts';

// ---------------------------------------------------------------------------
// builders

const P = (s: string): HostnamePattern => parseHostnamePattern(s);

function section(name: string, hostname: string | null = null, protocol: ListenerSection['protocol'] = 'HTTP', port: number | null = 80): ListenerSection {
  return { gateway: 'default/gw', name, port, protocol, hostname: hostname === null ? null : P(hostname) };
}

function be(host: string, weight = 1, invalid: string | null = null, port = 8080): BackendRef {
  return { host, port, weight, invalid };
}

type ValueSpec = [name: string, value: string] | [name: string, value: string, 'regex'];

interface MatchSpec {
  exact?: string;
  prefix?: string;
  regex?: string;
  headers?: ValueSpec[];
  query?: ValueSpec[];
  method?: string;
}

function values(list: ValueSpec[] | undefined, lower: boolean): ValueMatch[] {
  return (list ?? []).map(([name, value, kind]) => {
    const n = lower ? name.toLowerCase() : name;
    return kind === 'regex' ? { type: 'RegularExpression', name: n, value, regex: new RegExp(value) } : { type: 'Exact', name: n, value };
  });
}

function m(spec: MatchSpec = {}): HttpMatch {
  const path: HttpMatch['path'] =
    spec.exact !== undefined
      ? { type: 'Exact', value: spec.exact }
      : spec.regex !== undefined
        ? { type: 'RegularExpression', value: spec.regex, regex: new RegExp(`^(?:${spec.regex})$`) }
        : { type: 'PathPrefix', value: spec.prefix ?? '/' };
  return { path, headers: values(spec.headers, true), queryParams: values(spec.query, false), method: spec.method ?? null };
}

function rule(matches: HttpMatch[] | HttpMatch | null, backends: BackendRef[] | string, extra: Partial<HttpRule> = {}): HttpRule {
  return {
    index: 0,
    name: null,
    matches: matches === null ? [m()] : Array.isArray(matches) ? matches : [matches],
    requestHeaders: null,
    responseHeaders: null,
    redirect: null,
    rewrite: null,
    backends: typeof backends === 'string' ? [be(backends)] : backends,
    timeouts: { requestMs: null, backendRequestMs: null },
    ...extra,
  };
}

function route(name: string, hostnames: string[], rules: HttpRule[]): HttpRoute {
  return {
    source: { file: 't.yaml', document: 0, kind: 'HTTPRoute', namespace: 'default', name },
    namespace: 'default',
    name,
    parentRefs: [{ namespace: 'default', name: 'gw', sectionName: null, port: null }],
    hostnames: hostnames.map(P),
    rules: rules.map((r, index) => ({ ...r, index })),
  };
}

/** Effective hostnames as the spec defines them (route ∩ section). */
function effective(hostnames: HostnamePattern[], s: ListenerSection): HostnamePattern[] {
  if (hostnames.length === 0) return s.hostname ? [s.hostname] : [];
  if (!s.hostname) return hostnames;
  const out: HostnamePattern[] = [];
  for (const h of hostnames) {
    if (patternCovers(s.hostname, h)) out.push(h);
    else if (patternCovers(h, s.hostname)) out.push(s.hostname);
  }
  return out;
}

function attach<R extends { hostnames: HostnamePattern[] }>(r: R, s: ListenerSection): AttachedRoute<R> {
  return { route: r, section: s.name, hostnames: effective(r.hostnames, s) };
}

function table(sections: ListenerSection[], routes: HttpRoute[] | AttachedRoute<HttpRoute>[]): HttpRouteTable {
  const http = (routes as (HttpRoute | AttachedRoute<HttpRoute>)[]).map((r) => ('route' in r ? r : attach(r, sections[0]!)));
  return new HttpRouteTable({ sections, http, tls: [] });
}

/** Single null-hostname HTTP section with these routes. */
function simple(...routes: HttpRoute[]): HttpRouteTable {
  return table([section('http')], routes);
}

interface ReqSpec {
  host?: string | null;
  method?: string;
  headers?: [string, string][];
}

function req(pathAndQuery: string, spec: ReqSpec = {}): HttpRequestFacts {
  const q = pathAndQuery.indexOf('?');
  return {
    host: spec.host === undefined ? 'example.com' : spec.host,
    method: spec.method ?? 'GET',
    path: q < 0 ? pathAndQuery : pathAndQuery.slice(0, q),
    query: q < 0 ? '' : pathAndQuery.slice(q + 1),
    headers: spec.headers ?? [],
  };
}

/** The first backend host of the decision's rule, or the decision type. */
function outcome(d: HttpRouteDecision): string {
  return d.type === 'rule' ? d.rule.backends[0]!.host : d.type;
}

function go(t: HttpRouteTable, pathAndQuery: string, spec: ReqSpec = {}): string {
  return outcome(t.route(req(pathAndQuery, spec)));
}

/** One route, one rule with this match: does the request match? */
function matchesOne(spec: MatchSpec, pathAndQuery: string, r: ReqSpec = {}): boolean {
  const d = simple(route('r', [], [rule(m(spec), 'hit')])).route(req(pathAndQuery, r));
  return d.type === 'rule';
}

// ---------------------------------------------------------------------------
// path matching

const PATH_CASES: [MatchSpec, string, boolean][] = [
  [{ exact: '/abc' }, '/abc', true],
  [{ exact: '/abc' }, '/abc/', false],
  [{ exact: '/abc' }, '/Abc', false],
  [{ exact: '/abc' }, '/abcd', false],
  [{ exact: '/abc' }, '/ab', false],
  [{ exact: '/a%20b' }, '/a%20b', true],
  [{ exact: '/a%20b' }, '/a b', false],
  [{ prefix: '/abc' }, '/abc', true],
  [{ prefix: '/abc' }, '/abc/', true],
  [{ prefix: '/abc' }, '/abc/def', true],
  [{ prefix: '/abc' }, '/abc/def/', true],
  [{ prefix: '/abc' }, '/abcd', false],
  [{ prefix: '/abc' }, '/ab', false],
  [{ prefix: '/abc' }, '/ABC', false],
  [{ prefix: '/abc' }, '/', false],
  [{ prefix: '/abc' }, '/x/abc', false],
  [{ prefix: '/abc/' }, '/abc', true], // a trailing slash in the prefix is ignored
  [{ prefix: '/abc/' }, '/abcd', false],
  [{ prefix: '/a/b' }, '/a/b/c', true],
  [{ prefix: '/a/b' }, '/a/bc', false],
  [{ prefix: '/' }, '/', true],
  [{ prefix: '/' }, '/anything/at/all', true],
  [{ prefix: '/' }, '*', true],
  [{}, '/x', true], // no path = PathPrefix "/"
  [{ regex: '/v[0-9]+/.*' }, '/v1/x', true],
  [{ regex: '/v[0-9]+/.*' }, '/v12/', true],
  [{ regex: '/v[0-9]+/.*' }, '/v1', false],
  [{ regex: '/v[0-9]+/.*' }, '/x/v1/x', false],
  [{ regex: '/v[0-9]+' }, '/v1/extra', false], // whole path must match
  [{ regex: '/[a-z]+' }, '/ABC', false], // case-sensitive
];

for (const [spec, path, expected] of PATH_CASES) {
  test(`path ${JSON.stringify(spec)} vs ${path} → ${expected}`, (t) => {
    t.is(matchesOne(spec, path), expected);
  });
}

test('path: a RegExp in the model that is not anchored still has to match the whole path', (t) => {
  const match: HttpMatch = { path: { type: 'RegularExpression', value: '/v1', regex: /\/v1/g }, headers: [], queryParams: [], method: null };
  const tb = simple(route('r', [], [rule(match, 'hit')]));
  t.is(go(tb, '/v1'), 'hit');
  t.is(go(tb, '/v1'), 'hit'); // no lastIndex state from a "g" flag
  t.is(go(tb, '/v1/x'), 'no-rule');
  t.is(go(tb, '/x/v1'), 'no-rule');
});

// ---------------------------------------------------------------------------
// headers, query parameters, method

const HEADER_CASES: [string, MatchSpec, ReqSpec, boolean][] = [
  ['exact', { headers: [['version', 'one']] }, { headers: [['version', 'one']] }, true],
  ['name case-insensitive (request)', { headers: [['version', 'one']] }, { headers: [['VERSION', 'one']] }, true],
  ['name case-insensitive (config)', { headers: [['Version', 'one']] }, { headers: [['vErSiOn', 'one']] }, true],
  ['value case-sensitive', { headers: [['version', 'one']] }, { headers: [['version', 'One']] }, false],
  ['absent', { headers: [['version', 'one']] }, { headers: [['other', 'one']] }, false],
  ['repeated joined with ","', { headers: [['x', '1,2']] }, { headers: [['x', '1'], ['X', '2']] }, true],
  ['repeated: one line alone does not match', { headers: [['x', '1']] }, { headers: [['x', '1'], ['x', '2']] }, false],
  ['cookie lines joined with "; "', { headers: [['cookie', 'a=1; b=2']] }, { headers: [['cookie', 'a=1'], ['cookie', 'b=2']] }, true],
  ['regex full match', { headers: [['x', 'v[0-9]', 'regex']] }, { headers: [['x', 'v1']] }, true],
  ['regex is anchored', { headers: [['x', 'v[0-9]', 'regex']] }, { headers: [['x', 'v12']] }, false],
  ['regex on absent header', { headers: [['x', '.*', 'regex']] }, { headers: [] }, false],
  ['regex on empty value', { headers: [['x', '.*', 'regex']] }, { headers: [['x', '']] }, true],
  ['AND of two headers', { headers: [['a', '1'], ['b', '2']] }, { headers: [['a', '1'], ['b', '2']] }, true],
  ['AND: one missing', { headers: [['a', '1'], ['b', '2']] }, { headers: [['a', '1']] }, false],
  ['only the first condition per name counts', { headers: [['v', 'one'], ['V', 'two']] }, { headers: [['v', 'one']] }, true],
];

for (const [name, spec, r, expected] of HEADER_CASES) {
  test(`headers: ${name}`, (t) => {
    t.is(matchesOne(spec, '/', r), expected);
  });
}

const QUERY_CASES: [string, ValueSpec[], string, boolean][] = [
  ['exact', [['animal', 'whale']], '/?animal=whale', true],
  ['name case-sensitive', [['animal', 'whale']], '/?ANIMAL=whale', false],
  ['value case-sensitive', [['animal', 'whale']], '/?animal=Whale', false],
  ['among others', [['animal', 'whale']], '/?x=1&animal=whale&y', true],
  ['first occurrence counts', [['animal', 'whale']], '/?animal=dolphin&animal=whale', false],
  ['first occurrence counts (2)', [['animal', 'whale']], '/?animal=whale&animal=dolphin', true],
  ['not a substring', [['animal', 'whale']], '/?animal=whaledolphin', false],
  ['name is not a prefix', [['animal', 'whale']], '/?animals=whale', false],
  ['absent', [['animal', 'whale']], '/', false],
  ['value percent-decoded', [['q', 'a b/c']], '/?q=a%20b%2Fc', true],
  ['name percent-decoded', [['a b', '1']], '/?a%20b=1', true],
  ['"+" is not a space', [['q', 'a b']], '/?q=a+b', false],
  ['"+" literal', [['q', 'a+b']], '/?q=a+b', true],
  ['malformed escape compared raw', [['q', '%zz']], '/?q=%zz', true],
  ['value with "="', [['q', 'a=b']], '/?q=a=b', true],
  ['empty pairs skipped', [['q', '1']], '/?&&q=1&', true],
  ['regex full match', [['n', '[0-9]+', 'regex']], '/?n=42', true],
  ['regex anchored', [['n', '[0-9]+', 'regex']], '/?n=42a', false],
  ['regex matches empty value of a bare name', [['flag', '.*', 'regex']], '/?flag', true],
  ['AND of two', [['a', '1'], ['b', '2']], '/?b=2&a=1', true],
  ['AND: one wrong', [['a', '1'], ['b', '2']], '/?b=3&a=1', false],
];

for (const [name, q, url, expected] of QUERY_CASES) {
  test(`query: ${name}`, (t) => {
    t.is(matchesOne({ query: q }, url), expected);
  });
}

test('queryValue helper', (t) => {
  t.is(queryValue('', 'a'), null);
  t.is(queryValue('a', 'a'), '');
  t.is(queryValue('a=', 'a'), '');
  t.is(queryValue('b=1&a=2', 'a'), '2');
  t.is(queryValue('a%3D=1', 'a='), '1');
  t.is(queryValue('a=%E2%82%AC', 'a'), '€');
});

test('method', (t) => {
  t.true(matchesOne({ method: 'POST' }, '/', { method: 'POST' }));
  t.false(matchesOne({ method: 'POST' }, '/', { method: 'GET' }));
  t.false(matchesOne({ method: 'POST' }, '/', { method: 'post' })); // methods are case-sensitive
  t.true(matchesOne({}, '/', { method: 'DELETE' }));
});

test('fields of a match are ANDed, matches of a rule ORed', (t) => {
  const tb = simple(route('r', [], [rule([m({ prefix: '/foo', headers: [['version', 'v2']] }), m({ prefix: '/v2/foo' })], 'hit')]));
  t.is(go(tb, '/foo', { headers: [['version', 'v2']] }), 'hit');
  t.is(go(tb, '/foo'), 'no-rule');
  t.is(go(tb, '/bar', { headers: [['version', 'v2']] }), 'no-rule');
  t.is(go(tb, '/v2/foo/x'), 'hit');
  const both = simple(route('r', [], [rule(m({ prefix: '/p', method: 'PUT', headers: [['h', '1']], query: [['q', '1']] }), 'hit')]));
  t.is(go(both, '/p?q=1', { method: 'PUT', headers: [['h', '1']] }), 'hit');
  t.is(go(both, '/p?q=1', { method: 'GET', headers: [['h', '1']] }), 'no-rule');
  t.is(go(both, '/p?q=2', { method: 'PUT', headers: [['h', '1']] }), 'no-rule');
  t.is(go(both, '/p?q=1', { method: 'PUT', headers: [['h', '2']] }), 'no-rule');
  t.is(go(both, '/x?q=1', { method: 'PUT', headers: [['h', '1']] }), 'no-rule');
});

test('a rule without matches in the manifest (one PathPrefix "/") takes every request', (t) => {
  const tb = simple(route('r', [], [rule(null, 'all')]));
  for (const p of ['/', '/a', '/a/b?c=d', '*']) t.is(go(tb, p, { method: 'OPTIONS' }), 'all');
});

// ---------------------------------------------------------------------------
// conformance suites, as tables

test('conformance HTTPRouteMatching', (t) => {
  const tb = simple(
    route('matching', [], [rule([m({ prefix: '/' }), m({ headers: [['version', 'one']] })], 'v1'), rule([m({ prefix: '/v2' }), m({ headers: [['version', 'two']] })], 'v2')]),
  );
  const cases: [string, [string, string][], string][] = [
    ['/', [], 'v1'],
    ['/example', [], 'v1'],
    ['/', [['Version', 'one']], 'v1'],
    ['/v2', [], 'v2'],
    ['/v2/example', [], 'v2'],
    ['/', [['Version', 'two']], 'v2'],
    ['/v2/', [], 'v2'],
    ['/v2example', [], 'v1'],
    ['/foo/v2/example', [], 'v1'],
  ];
  for (const [p, h, want] of cases) t.is(go(tb, p, { headers: h }), want, `${p} ${JSON.stringify(h)}`);
});

test('conformance HTTPRouteMatchingAcrossRoutes', (t) => {
  const s = section('http');
  const tb = table(
    [s],
    [
      route('matching-part1', ['example.com', 'example.net'], [rule([m({ prefix: '/' }), m({ headers: [['version', 'one']] })], 'v1')]),
      route('matching-part2', ['example.com'], [rule([m({ prefix: '/v2' }), m({ headers: [['version', 'two']] })], 'v2')]),
    ],
  );
  const cases: [string, string, [string, string][], string][] = [
    ['example.com', '/', [], 'v1'],
    ['example.com', '/example', [], 'v1'],
    ['example.net', '/example', [], 'v1'],
    ['example.com', '/example', [['Version', 'one']], 'v1'],
    ['example.com', '/v2', [], 'v2'],
    ['example.net', '/v2', [], 'v1'],
    ['example.com', '/v2/example', [], 'v2'],
    ['example.com', '/', [['Version', 'two']], 'v2'],
    ['example.org', '/', [], 'no-host'],
  ];
  for (const [host, p, h, want] of cases) t.is(go(tb, p, { host, headers: h }), want, `${host}${p} ${JSON.stringify(h)}`);
});

test('conformance HTTPRouteQueryParamMatching', (t) => {
  const tb = simple(
    route('query-param-matching', [], [
      rule(m({ query: [['animal', 'whale']] }), 'v1'),
      rule(m({ query: [['animal', 'dolphin']] }), 'v2'),
      rule([m({ query: [['animal', 'dolphin'], ['color', 'blue']] }), m({ query: [['ANIMAL', 'Whale']] })], 'v3'),
      rule(m({ prefix: '/path1', query: [['animal', 'whale']] }), 'v1'),
      rule(m({ headers: [['version', 'one']], query: [['animal', 'whale']] }), 'v2'),
      rule(m({ prefix: '/path2', headers: [['version', 'two']], query: [['animal', 'whale']] }), 'v3'),
      rule([m({ prefix: '/path3', query: [['animal', 'shark']] }), m({ prefix: '/path4', headers: [['version', 'three']], query: [['animal', 'kraken']] })], 'v1'),
      rule(m({ prefix: '/path5' }), 'v1'),
      rule(m({ query: [['animal', 'hydra']] }), 'v2'),
      rule(m({ headers: [['version', 'four']] }), 'v3'),
    ]),
  );
  const cases: [string, [string, string][], string][] = [
    ['/?animal=whale', [], 'v1'],
    ['/?animal=dolphin', [], 'v2'],
    ['/?animal=dolphin&color=blue', [], 'v3'],
    ['/?ANIMAL=Whale', [], 'v3'],
    ['/?animal=whale&otherparam=irrelevant', [], 'v1'],
    ['/?animal=dolphin&color=yellow', [], 'v2'],
    ['/?color=blue', [], 'no-rule'],
    ['/?animal=dog', [], 'no-rule'],
    ['/?animal=whaledolphin', [], 'no-rule'],
    ['/', [], 'no-rule'],
    ['/path1?animal=whale', [], 'v1'],
    ['/?animal=whale', [['version', 'one']], 'v2'],
    ['/path2?animal=whale', [['version', 'two']], 'v3'],
    ['/path3?animal=shark', [], 'v1'],
    ['/path4?animal=kraken', [['version', 'three']], 'v1'],
    ['/?animal=shark', [], 'no-rule'],
    ['/path4?animal=kraken', [], 'no-rule'],
    ['/path5?animal=hydra', [], 'v1'],
    ['/?animal=hydra', [['version', 'four']], 'v3'],
  ];
  for (const [p, h, want] of cases) t.is(go(tb, p, { headers: h }), want, `${p} ${JSON.stringify(h)}`);
});

test('conformance HTTPRouteHostnameIntersection (listener isolation)', (t) => {
  const l1 = section('listener-1', 'very.specific.com');
  const l2 = section('listener-2', '*.wildcard.io');
  const l3 = section('listener-3', '*.anotherwildcard.io');
  const r1 = route('specific-host-matches-listener-specific-host', ['non.matching.com', '*.nonmatchingwildcard.io', 'very.specific.com'], [rule(m({ prefix: '/s1' }), 'v1')]);
  const r2 = route('specific-host-matches-listener-wildcard-host', ['non.matching.com', 'wildcard.io', 'foo.wildcard.io', 'bar.wildcard.io', 'foo.bar.wildcard.io'], [
    rule(m({ prefix: '/s2' }), 'v2'),
  ]);
  const r3 = route('wildcard-host-matches-listener-specific-host', ['non.matching.com', '*.specific.com'], [rule(m({ prefix: '/s3' }), 'v3')]);
  const r4 = route('wildcard-host-matches-listener-wildcard-host', ['*.anotherwildcard.io'], [rule(m({ prefix: '/s4' }), 'v1-s4')]);
  const http = [attach(r1, l1), attach(r2, l2), attach(r3, l1), attach(r4, l3)];
  const tb = new HttpRouteTable({ sections: [l1, l2, l3], http, tls: [] });
  const cases: [string, string, string][] = [
    ['very.specific.com', '/s1', 'v1'],
    ['non.matching.com', '/s1', 'no-host'],
    ['foo.nonmatchingwildcard.io', '/s1', 'no-host'],
    ['foo.wildcard.io', '/s1', 'no-rule'],
    ['very.specific.com', '/non-matching-prefix', 'no-rule'],
    ['foo.wildcard.io', '/s2', 'v2'],
    ['bar.wildcard.io', '/s2', 'v2'],
    ['foo.bar.wildcard.io', '/s2', 'v2'],
    ['non.matching.com', '/s2', 'no-host'],
    ['wildcard.io', '/s2', 'no-host'],
    ['very.specific.com', '/s2', 'no-rule'],
    ['baz.wildcard.io', '/s2', 'no-host'], // the section takes it, no attached route covers it
    ['very.specific.com', '/s3', 'v3'],
    ['foo.specific.com', '/s3', 'no-host'],
    ['foo.anotherwildcard.io', '/s4', 'v1-s4'],
    ['foo.bar.anotherwildcard.io', '/s4', 'v1-s4'],
    ['anotherwildcard.io', '/s4', 'no-host'],
    ['very.specific.com', '/s4', 'no-rule'],
  ];
  for (const [host, p, want] of cases) t.is(go(tb, p, { host }), want, `${host}${p}`);
});

// ---------------------------------------------------------------------------
// precedence, one criterion at a time (the winner is always listed last)

test('precedence: Exact path over a PathPrefix of the same or greater length', (t) => {
  t.is(go(simple(route('r', [], [rule(m({ prefix: '/a/b' }), 'prefix'), rule(m({ exact: '/a/b' }), 'exact')])), '/a/b'), 'exact');
  t.is(go(simple(route('r', [], [rule(m({ prefix: '/a/b' }), 'prefix'), rule(m({ exact: '/a/b' }), 'exact')])), '/a/b/c'), 'prefix');
});

test('precedence: longest PathPrefix wins, by characters', (t) => {
  const tb = simple(route('r', [], [rule(m({ prefix: '/' }), 'root'), rule(m({ prefix: '/a' }), 'a'), rule(m({ prefix: '/a/bc' }), 'abc'), rule(m({ prefix: '/a/b' }), 'ab')]));
  t.is(go(tb, '/a/bc/d'), 'abc');
  t.is(go(tb, '/a/b/d'), 'ab');
  t.is(go(tb, '/a/x'), 'a');
  t.is(go(tb, '/x'), 'root');
});

test('precedence: RegularExpression after Exact, before PathPrefix (implementation-specific), longer pattern first', (t) => {
  const tb = simple(
    route('r', [], [
      rule(m({ prefix: '/api/users/list' }), 'prefix'),
      rule(m({ regex: '/api/.*' }), 'short-regex'),
      rule(m({ regex: '/api/users/.*' }), 'long-regex'),
      rule(m({ exact: '/api/users/list' }), 'exact'),
    ]),
  );
  t.is(go(tb, '/api/users/list'), 'exact');
  t.is(go(tb, '/api/users/list/x'), 'long-regex'); // beats the longer PathPrefix
  t.is(go(tb, '/api/other'), 'short-regex');
});

test('precedence: method match over header matches', (t) => {
  const tb = simple(route('r', [], [rule(m({ headers: [['a', '1'], ['b', '2']] }), 'headers'), rule(m({ method: 'GET' }), 'method')]));
  t.is(go(tb, '/', { headers: [['a', '1'], ['b', '2']] }), 'method');
  t.is(go(tb, '/', { method: 'POST', headers: [['a', '1'], ['b', '2']] }), 'headers');
});

test('precedence: path before method', (t) => {
  const tb = simple(route('r', [], [rule(m({ method: 'GET' }), 'method'), rule(m({ prefix: '/a' }), 'longer-path')]));
  t.is(go(tb, '/a'), 'longer-path');
});

test('precedence: more header matches first', (t) => {
  const tb = simple(route('r', [], [rule(m({ headers: [['a', '1']] }), 'one'), rule(m({ headers: [['a', '1'], ['b', '2']] }), 'two')]));
  t.is(go(tb, '/', { headers: [['a', '1'], ['b', '2']] }), 'two');
  t.is(go(tb, '/', { headers: [['a', '1']] }), 'one');
});

test('precedence: header matches over query-param matches', (t) => {
  const tb = simple(route('r', [], [rule(m({ query: [['x', '1'], ['y', '2']] }), 'query'), rule(m({ headers: [['a', '1']] }), 'header')]));
  t.is(go(tb, '/?x=1&y=2', { headers: [['a', '1']] }), 'header');
});

test('precedence: more query-param matches first', (t) => {
  const tb = simple(route('r', [], [rule(m({ query: [['x', '1']] }), 'one'), rule(m({ query: [['x', '1'], ['y', '2']] }), 'two')]));
  t.is(go(tb, '/?x=1&y=2'), 'two');
  t.is(go(tb, '/?x=1'), 'one');
});

test('precedence: ties go to route order, then rule order, then match order', (t) => {
  const tb = simple(route('first', [], [rule(m(), 'first-r0'), rule(m(), 'first-r1')]), route('second', [], [rule(m(), 'second-r0')]));
  t.is(go(tb, '/'), 'first-r0');
  const swapped = simple(route('second', [], [rule(m(), 'second-r0')]), route('first', [], [rule(m(), 'first-r0')]));
  t.is(go(swapped, '/'), 'second-r0');
  const a = m({ prefix: '/x' });
  const b = m({ prefix: '/x' });
  const d = simple(route('r', [], [rule([a, b], 'hit')])).route(req('/x'));
  t.true(d.type === 'rule' && d.match === a);
});

test('precedence: match criteria apply across routes before route order', (t) => {
  const tb = simple(route('early', [], [rule(m({ prefix: '/' }), 'early')]), route('late', [], [rule(m({ prefix: '/api' }), 'late')]));
  t.is(go(tb, '/api/x'), 'late');
  t.is(go(tb, '/other'), 'early');
  const hdr = simple(route('early', [], [rule(m({ prefix: '/' }), 'early')]), route('late', [], [rule(m({ headers: [['v', '2']] }), 'late')]));
  t.is(go(hdr, '/', { headers: [['v', '2']] }), 'late');
});

test('precedence: route hostname specificity first (exact > longer wildcard > shorter wildcard > none)', (t) => {
  const s = section('http');
  const tb = table(
    [s],
    [
      route('any', [], [rule(m({ exact: '/x' }), 'any')]),
      route('wild', ['*.example.com'], [rule(m({ exact: '/x' }), 'wild')]),
      route('longer-wild', ['*.b.example.com'], [rule(m({ exact: '/x' }), 'longer-wild')]),
      route('exact', ['a.b.example.com'], [rule(m({ prefix: '/' }), 'exact')]),
    ],
  );
  t.is(go(tb, '/x', { host: 'a.b.example.com' }), 'exact'); // even against an Exact path elsewhere
  t.is(go(tb, '/x', { host: 'c.b.example.com' }), 'longer-wild');
  t.is(go(tb, '/x', { host: 'c.example.com' }), 'wild');
  t.is(go(tb, '/x', { host: 'example.com' }), 'any');
  t.is(go(tb, '/x', { host: null }), 'any');
});

test('precedence: a more specific route that has no matching rule falls through to less specific ones', (t) => {
  const tb = table(
    [section('http')],
    [route('wild', ['*.example.com'], [rule(m(), 'wild')]), route('exact', ['foo.example.com'], [rule(m({ prefix: '/api' }), 'exact')])],
  );
  t.is(go(tb, '/api/1', { host: 'foo.example.com' }), 'exact');
  t.is(go(tb, '/other', { host: 'foo.example.com' }), 'wild');
});

test('precedence: a route with several hostnames ranks by its best matching one', (t) => {
  const tb = table(
    [section('http')],
    [route('wild', ['*.example.com'], [rule(m({ exact: '/x' }), 'wild')]), route('mixed', ['*.com', 'foo.example.com'], [rule(m(), 'mixed')])],
  );
  t.is(go(tb, '/x', { host: 'foo.example.com' }), 'mixed');
  t.is(go(tb, '/x', { host: 'bar.example.com' }), 'wild');
});

// ---------------------------------------------------------------------------
// sections, no-rule vs no-host

test('section selection: exact > longer wildcard > wildcard > none; only that section’s routes count', (t) => {
  const sExact = section('exact', 'foo.b.example.com');
  const sLong = section('long', '*.b.example.com');
  const sWild = section('wild', '*.example.com');
  const sAny = section('any');
  const sTls = section('tls', null, 'TLS', 443);
  const http = [
    attach(route('r-exact', [], [rule(m({ prefix: '/only' }), 'exact')]), sExact),
    attach(route('r-long', [], [rule(m(), 'long')]), sLong),
    attach(route('r-wild', [], [rule(m(), 'wild')]), sWild),
    attach(route('r-any', [], [rule(m(), 'any')]), sAny),
    { route: route('r-tls', [], [rule(m(), 'tls')]), section: 'tls', hostnames: [] },
  ];
  const tb = new HttpRouteTable({ sections: [sAny, sWild, sTls, sLong, sExact], http, tls: [] });
  t.is(go(tb, '/only', { host: 'foo.b.example.com' }), 'exact');
  t.is(go(tb, '/', { host: 'foo.b.example.com' }), 'no-rule'); // no fall-through to other sections
  t.is(go(tb, '/', { host: 'bar.b.example.com' }), 'long');
  t.is(go(tb, '/', { host: 'b.example.com' }), 'wild');
  t.is(go(tb, '/', { host: 'example.com' }), 'any');
  t.is(go(tb, '/', { host: '10.0.0.1' }), 'any');
  t.is(go(tb, '/', { host: null }), 'any');
  t.is(go(tb, '/', { host: '' }), 'any');
  const d = tb.route(req('/', { host: 'x.b.example.com' }));
  t.true(d.type === 'rule' && d.section === sLong);
});

test('section selection: no matching section → no-host', (t) => {
  const s = section('a', 'a.example.com');
  const tb = new HttpRouteTable({ sections: [s], http: [attach(route('r', [], [rule(m(), 'a')]), s)], tls: [] });
  t.is(go(tb, '/', { host: 'a.example.com' }), 'a');
  t.is(go(tb, '/', { host: 'b.example.com' }), 'no-host');
  t.is(go(tb, '/', { host: null }), 'no-host');
});

test('no-rule vs no-host', (t) => {
  const tb = table([section('http')], [route('r', ['shop.example.com'], [rule(m({ prefix: '/cart' }), 'cart')])]);
  t.is(go(tb, '/cart', { host: 'shop.example.com' }), 'cart');
  t.is(go(tb, '/other', { host: 'shop.example.com' }), 'no-rule');
  t.is(go(tb, '/cart', { host: 'www.example.com' }), 'no-host');
  t.is(go(tb, '/cart', { host: null }), 'no-host'); // every route needs a host
  const empty = new HttpRouteTable({ sections: [section('http')], http: [], tls: [] });
  t.is(go(empty, '/'), 'no-host');
  const noSections = new HttpRouteTable({ sections: [], http: [], tls: [] });
  t.is(go(noSections, '/'), 'no-host');
  const anyHost = simple(route('r', [], [rule(m({ prefix: '/cart' }), 'cart')]));
  t.is(go(anyHost, '/x', { host: null }), 'no-rule');
  t.is(go(anyHost, '/cart', { host: null }), 'cart');
});

test('capture sections take HTTP routes; a route attached to another socket’s section is ignored', (t) => {
  const cap = section('lan', null, 'capture', null);
  const tb = new HttpRouteTable({
    sections: [cap],
    http: [{ route: route('elsewhere', [], [rule(m(), 'elsewhere')]), section: 'other', hostnames: [] }, attach(route('r', ['*.lan'], [rule(m(), 'lan')]), cap)],
    tls: [],
  });
  t.is(go(tb, '/', { host: 'nas.lan' }), 'lan');
  t.is(go(tb, '/', { host: 'example.com' }), 'no-host');
});

test('hosts seen at runtime are cached within the bound and answered consistently', (t) => {
  const tb = table([section('http')], [route('w', ['*.example.com'], [rule(m(), 'w')]), route('any', [], [rule(m({ prefix: '/any' }), 'any')])]);
  for (let i = 0; i < 3000; i++) {
    t.is(go(tb, '/', { host: `h${i}.example.com` }), 'w');
    t.is(go(tb, '/any', { host: `h${i}.example.org` }), 'any');
  }
  t.true((tb as unknown as { cache: { size: number } }).cache.size <= 1024);
  t.is(go(tb, '/', { host: 'h1.example.com' }), 'w');
});

// ---------------------------------------------------------------------------
// constantBackend

const catchAll = (name = 'B', extra: Partial<HttpRule> = {}) => rule(m(), name, extra);

test('constantBackend: a catch-all route with one backend', (t) => {
  const tb = simple(route('r', [], [catchAll()]));
  t.is(tb.constantBackend?.host, 'B');
  t.is(tb.route(req('/x')).type, 'rule');
});

test('constantBackend: other rules to the same backend and weight-0 backends do not matter', (t) => {
  t.is(simple(route('r', [], [rule(m({ prefix: '/api', method: 'POST' }), 'B'), catchAll()])).constantBackend?.host, 'B');
  t.is(simple(route('r', [], [rule(m(), [be('B'), be('C', 0)])])).constantBackend?.host, 'B');
  t.is(simple(route('r1', [], [catchAll()]), route('r2', ['x.example.com'], [rule(m({ exact: '/x' }), 'B')])).constantBackend?.host, 'B');
  // sections with hostnames, each covered
  const sAny = section('any');
  const sWild = section('wild', '*.example.com');
  const tb = new HttpRouteTable({
    sections: [sAny, sWild],
    http: [attach(route('a', [], [catchAll()]), sAny), attach(route('w', ['*.com'], [catchAll()]), sWild)],
    tls: [],
  });
  t.is(tb.constantBackend?.host, 'B');
});

const NOT_CONSTANT: [string, () => HttpRouteTable][] = [
  ['no routes', () => simple()],
  ['the route needs a hostname', () => table([section('http')], [route('r', ['example.com'], [catchAll()])])],
  ['the catch-all has a method', () => simple(route('r', [], [rule(m({ method: 'GET' }), 'B')]))],
  ['the catch-all has a header', () => simple(route('r', [], [rule(m({ headers: [['a', '1']] }), 'B')]))],
  ['only a narrower prefix', () => simple(route('r', [], [rule(m({ prefix: '/api' }), 'B')]))],
  ['another rule goes elsewhere', () => simple(route('r', [], [rule(m({ prefix: '/api' }), 'C'), catchAll()]))],
  ['another route goes elsewhere', () => simple(route('r', [], [catchAll()]), route('r2', ['x.example.com'], [catchAll('C')]))],
  ['two weighted backends', () => simple(route('r', [], [rule(m(), [be('B'), be('C')])]))],
  ['same host, other port', () => simple(route('r', [], [rule(m({ prefix: '/a' }), [be('B', 1, null, 1)]), catchAll()]))],
  ['an invalid backend (even weight 0)', () => simple(route('r', [], [rule(m(), [be('B'), be('X', 0, 'unknown kind')])]))],
  ['the only backend is invalid', () => simple(route('r', [], [rule(m(), [be('B', 1, 'unknown kind')])]))],
  ['all weights 0', () => simple(route('r', [], [rule(m(), [be('B', 0)])]))],
  ['no backends', () => simple(route('r', [], [rule(m(), [])]))],
  ['request header filter', () => simple(route('r', [], [catchAll('B', { requestHeaders: { set: [], add: [['x', '1']], remove: [] } })]))],
  ['response header filter', () => simple(route('r', [], [catchAll('B', { responseHeaders: { set: [], add: [], remove: ['server'] } })]))],
  ['rewrite', () => simple(route('r', [], [catchAll('B', { rewrite: { hostname: 'x', path: null } })]))],
  ['redirect', () => simple(route('r', [], [rule(m(), [], { redirect: { scheme: 'https', hostname: null, port: null, path: null, statusCode: 301 } })]))],
  ['request timeout', () => simple(route('r', [], [catchAll('B', { timeouts: { requestMs: 1000, backendRequestMs: null } })]))],
  ['backend timeout', () => simple(route('r', [], [catchAll('B', { timeouts: { requestMs: null, backendRequestMs: 1000 } })]))],
  [
    'no hostname-less section',
    () => {
      const s = section('w', '*.example.com');
      return new HttpRouteTable({ sections: [s], http: [attach(route('r', [], [catchAll()]), s)], tls: [] });
    },
  ],
  [
    'a section with an uncovered hostname',
    () => {
      const sAny = section('any');
      const sWild = section('wild', '*.example.com');
      return new HttpRouteTable({ sections: [sAny, sWild], http: [attach(route('a', [], [catchAll()]), sAny), attach(route('w', ['a.example.com'], [catchAll()]), sWild)], tls: [] });
    },
  ],
];

for (const [name, make] of NOT_CONSTANT) {
  test(`constantBackend null: ${name}`, (t) => {
    t.is(make().constantBackend, null);
  });
}

// ---------------------------------------------------------------------------
// filters: path rewrite

const prefixMatch = (value: string): HttpMatch => m({ prefix: value.length > 1 ? value.replace(/\/+$/, '') : value });
const RPM = (value: string): PathModifier => ({ type: 'ReplacePrefixMatch', value });

// The spec's table (HTTPPathModifier.ReplacePrefixMatch), row by row.
const PREFIX_TABLE: [path: string, prefix: string, replace: string, out: string][] = [
  ['/foo/bar', '/foo', '/xyz', '/xyz/bar'],
  ['/foo/bar', '/foo', '/xyz/', '/xyz/bar'],
  ['/foo/bar', '/foo/', '/xyz', '/xyz/bar'],
  ['/foo/bar', '/foo/', '/xyz/', '/xyz/bar'],
  ['/foo', '/foo', '/xyz', '/xyz'],
  ['/foo/', '/foo', '/xyz', '/xyz/'],
  ['/foo/bar', '/foo', '', '/bar'],
  ['/foo/', '/foo', '', '/'],
  ['/foo', '/foo', '', '/'],
  ['/foo/', '/foo', '/', '/'],
  ['/foo', '/foo', '/', '/'],
  // conformance HTTPRouteRewritePath
  ['/prefix/one/two', '/prefix/one', '/one', '/one/two'],
  ['/strip-prefix/three', '/strip-prefix', '/', '/three'],
  ['/strip-prefix', '/strip-prefix', '/', '/'],
  ['/prefix/rewrite-path-and-modify-headers/one', '/prefix/rewrite-path-and-modify-headers', '/prefix', '/prefix/one'],
  // prefix "/"
  ['/a/b', '/', '/xyz', '/xyz/a/b'],
  ['/', '/', '/xyz', '/xyz/'],
  ['/a/b', '/', '/', '/a/b'],
  ['/', '/', '/', '/'],
  ['/a', '/', '', '/a'],
  ['/', '/', '', '/'],
  // deeper prefixes and replacements
  ['/a/b/c', '/a/b', '/x/y', '/x/y/c'],
  ['/a/b/', '/a/b', '/x', '/x/'],
];

for (const [path, prefix, replace, out] of PREFIX_TABLE) {
  test(`ReplacePrefixMatch ${path} | ${prefix} | ${JSON.stringify(replace)} → ${out}`, (t) => {
    // with the prefix as the model stores it (without the trailing slash) and as written
    t.is(rewritePath(path, RPM(replace), prefixMatch(prefix)), out);
    t.is(rewritePath(path, RPM(replace), { ...prefixMatch(prefix), path: { type: 'PathPrefix', value: prefix } }), out);
  });
}

test('ReplaceFullPath and odd inputs', (t) => {
  t.is(rewritePath('/full/one/two', { type: 'ReplaceFullPath', value: '/one' }, prefixMatch('/full/one')), '/one');
  t.is(rewritePath('/anything', { type: 'ReplaceFullPath', value: '/' }, m({ regex: '/.*' })), '/');
  t.is(rewritePath('/x/y', RPM('/z'), m({ regex: '/x/.*' })), '/x/y'); // not a prefix match: unchanged
  t.is(rewritePath('/x/y', RPM('/z'), m({ exact: '/x/y' })), '/z');
  t.is(rewritePath('/other', RPM('/z'), prefixMatch('/x')), '/other');
});

// ---------------------------------------------------------------------------
// filters: redirects

const redirect = (r: Partial<RequestRedirect>): RequestRedirect => ({ scheme: null, hostname: null, port: null, path: null, statusCode: 302, ...r });

// [request scheme, listener port, filter scheme, filter port, expected origin]
const REDIRECT_PORTS: ['http' | 'https', number, 'http' | 'https' | null, number | null, string][] = [
  // conformance HTTPRouteRedirectPortAndScheme: HTTP listener on 80
  ['http', 80, null, null, 'http://example.org'],
  ['http', 80, null, 80, 'http://example.org'],
  ['http', 80, null, 8080, 'http://example.org:8080'],
  ['http', 80, 'https', null, 'https://example.org'],
  ['http', 80, 'https', 443, 'https://example.org'],
  ['http', 80, 'https', 8443, 'https://example.org:8443'],
  // HTTP listener on 8080
  ['http', 8080, null, null, 'http://example.org:8080'],
  ['http', 8080, null, 80, 'http://example.org'],
  ['http', 8080, 'https', null, 'https://example.org'],
  // HTTPS listener on 443
  ['https', 443, null, null, 'https://example.org'],
  ['https', 443, null, 443, 'https://example.org'],
  ['https', 443, null, 8443, 'https://example.org:8443'],
  ['https', 443, 'http', null, 'http://example.org'],
  ['https', 443, 'http', 80, 'http://example.org'],
  ['https', 443, 'http', 8080, 'http://example.org:8080'],
  // the rest of the grid
  ['http', 80, 'http', null, 'http://example.org'],
  ['http', 8080, 'http', null, 'http://example.org'], // a scheme means its well-known port
  ['http', 80, null, 443, 'http://example.org:443'],
  ['http', 80, 'https', 80, 'https://example.org:80'],
  ['https', 8443, null, null, 'https://example.org:8443'],
  ['https', 8443, 'https', null, 'https://example.org'],
  ['https', 443, null, 80, 'https://example.org:80'],
  ['https', 443, 'https', 8443, 'https://example.org:8443'],
];

for (const [reqScheme, listenerPort, scheme, port, origin] of REDIRECT_PORTS) {
  for (const statusCode of [301, 302, 303, 307, 308] as const) {
    test(`redirect ${reqScheme}:${listenerPort} scheme=${scheme} port=${port} ${statusCode} → ${origin}`, (t) => {
      const loc = redirectLocation(redirect({ scheme, port, hostname: 'example.org', statusCode }), { scheme: reqScheme, host: 'gw.example.com', listenerPort, path: '/p', query: '' }, m());
      t.is(loc, `${origin}/p`);
    });
  }
}

test('redirect: hostname, path and query', (t) => {
  const base = { scheme: 'http' as const, host: 'shop.example.com', listenerPort: 80, path: '/original-prefix/lemon', query: 'a=1&b' };
  t.is(redirectLocation(redirect({}), base, m()), 'http://shop.example.com/original-prefix/lemon?a=1&b');
  t.is(redirectLocation(redirect({}), { ...base, query: '' }, m()), 'http://shop.example.com/original-prefix/lemon');
  t.is(
    redirectLocation(redirect({ path: RPM('/replacement-prefix') }), base, prefixMatch('/original-prefix')),
    'http://shop.example.com/replacement-prefix/lemon?a=1&b',
  );
  t.is(redirectLocation(redirect({ hostname: 'example.org', path: { type: 'ReplaceFullPath', value: '/replacement-full' } }), base, prefixMatch('/original-prefix')), 'http://example.org/replacement-full?a=1&b');
  t.is(redirectLocation(redirect({ scheme: 'https' }), { ...base, listenerPort: 8080 }, m()), 'https://shop.example.com/original-prefix/lemon?a=1&b');
  t.is(redirectLocation(redirect({}), { ...base, host: '2001:db8::1', listenerPort: 8080, query: '' }, m()), 'http://[2001:db8::1]:8080/original-prefix/lemon');
  t.is(redirectLocation(redirect({}), { ...base, host: '[2001:db8::1]', query: '' }, m()), 'http://[2001:db8::1]/original-prefix/lemon');
  t.is(redirectLocation(redirect({}), { ...base, host: '192.0.2.1', listenerPort: 81, query: '' }, m()), 'http://192.0.2.1:81/original-prefix/lemon');
});

// ---------------------------------------------------------------------------
// filters: headers

const H = (set: [string, string][] = [], add: [string, string][] = [], remove: string[] = []) => ({ set, add, remove });

test('header modifier: the spec examples', (t) => {
  t.deepEqual(applyHeaderModifier([['my-header', 'foo']], H([['my-header', 'bar']])), [['my-header', 'bar']]);
  t.deepEqual(applyHeaderModifier([['my-header', 'foo']], H([], [['my-header', 'bar,baz']])), [['my-header', 'foo,bar,baz']]);
  t.deepEqual(
    applyHeaderModifier(
      [
        ['my-header1', 'foo'],
        ['my-header2', 'bar'],
        ['my-header3', 'baz'],
      ],
      H([], [], ['my-header1', 'my-header3']),
    ),
    [['my-header2', 'bar']],
  );
});

test('header modifier: conformance HTTPRouteRewritePath headers', (t) => {
  const out = applyHeaderModifier(
    [
      ['X-Header-Remove', 'remove-val'],
      ['X-Header-Add-Append', 'append-val-1'],
      ['X-Header-Set', 'set-val'],
    ],
    H([['X-Header-Set', 'set-overwrites-values']], [['X-Header-Add', 'header-val-1'], ['X-Header-Add-Append', 'header-val-2']], ['X-Header-Remove']),
  );
  t.deepEqual(out, [
    ['X-Header-Add-Append', 'append-val-1,header-val-2'],
    ['X-Header-Set', 'set-overwrites-values'],
    ['X-Header-Add', 'header-val-1'],
  ]);
});

test('header modifier: case-insensitive names, repeated lines, order of steps', (t) => {
  const input: [string, string][] = [
    ['Host', 'a'],
    ['X-A', '1'],
    ['accept', '*/*'],
    ['x-a', '2'],
  ];
  const copy = JSON.parse(JSON.stringify(input));
  // set replaces every line of the name, at the first one's position
  t.deepEqual(applyHeaderModifier(input, H([['x-A', 'new']])), [
    ['Host', 'a'],
    ['x-A', 'new'],
    ['accept', '*/*'],
  ]);
  // add appends to the last line
  t.deepEqual(applyHeaderModifier(input, H([], [['X-a', '3']])), [
    ['Host', 'a'],
    ['X-A', '1'],
    ['accept', '*/*'],
    ['x-a', '2,3'],
  ]);
  // remove every line, any case
  t.deepEqual(applyHeaderModifier(input, H([], [], ['X-A'])), [
    ['Host', 'a'],
    ['accept', '*/*'],
  ]);
  // absent: set and add append new lines
  t.deepEqual(applyHeaderModifier([], H([['s', '1']], [['a', '2']])), [
    ['s', '1'],
    ['a', '2'],
  ]);
  // remove → set → add when a configuration names one header in several actions
  t.deepEqual(applyHeaderModifier([['x', 'old']], H([['x', 'set']], [['x', 'add']], ['x'])), [['x', 'set,add']]);
  // only the first entry per name counts
  t.deepEqual(applyHeaderModifier([], H([['x', '1'], ['X', '2']], [['y', '1'], ['Y', '2']])), [
    ['x', '1'],
    ['y', '1'],
  ]);
  // appending to an empty value
  t.deepEqual(applyHeaderModifier([['x', '']], H([], [['x', 'v']])), [['x', 'v']]);
  // the input is untouched
  t.deepEqual(input, copy);
});

test('rewriteHost replaces every Host line, port dropped', (t) => {
  t.deepEqual(
    rewriteHost(
      [
        ['host', 'a.example.com:8080'],
        ['x', '1'],
      ],
      'b.example.org',
    ),
    [
      ['Host', 'b.example.org'],
      ['x', '1'],
    ],
  );
  t.deepEqual(rewriteHost([['x', '1']], 'b.example.org'), [
    ['x', '1'],
    ['Host', 'b.example.org'],
  ]);
});

// ---------------------------------------------------------------------------
// filters: backend choice

test('nextBackend: weights 1:3, exact in every cycle of 4 picks; weight 0 never', (t) => {
  const a = be('a', 1);
  const z = be('z', 0);
  const b = be('b', 3);
  const list = [z, a, z, b];
  const picks = Array.from({ length: 4000 }, () => nextBackend(list)!.host);
  for (let i = 0; i < picks.length; i += 4) t.deepEqual(picks.slice(i, i + 4).sort(), ['a', 'b', 'b', 'b'], `cycle at ${i}`);
  // and whatever the starting point, any 4 in a row: the turns are spread, not bunched
  for (let i = 0; i + 4 <= picks.length; i += 1) t.is(picks.slice(i, i + 4).filter((p) => p === 'a').length, 1);
});

test('nextBackend: shares are weight / sum over every cycle, for any weights', (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 6 }), (weights) => {
      const list = weights.map((w, i) => be(`b${i}`, w));
      const total = weights.reduce((x, y) => x + y, 0);
      if (total === 0) return nextBackend(list) === null;
      for (let cycle = 0; cycle < 3; cycle++) {
        const counts = weights.map(() => 0);
        for (let k = 0; k < total; k++) counts[list.indexOf(nextBackend(list)!)]!++;
        if (counts.some((c, i) => c !== weights[i])) return false;
      }
      return true;
    }),
  );
  t.pass();
});

test('nextBackend: edge cases', (t) => {
  t.is(nextBackend([]), null);
  t.is(nextBackend([be('a', 0), be('b', 0)]), null);
  t.is(nextBackend([be('a', 0), be('b', 2), be('c', 0)])!.host, 'b');
  t.is(nextBackend([be('bad', 1, 'unknown kind')])!.host, 'bad'); // invalid ones are picked too
  // the largest weights the spec allows: the light one gets exactly its one turn per cycle
  const heavy = [be('a', 1_000_000), be('b', 1)];
  let b = 0;
  for (let i = 0; i < 1_000_001; i++) if (nextBackend(heavy)!.host === 'b') b++;
  t.is(b, 1);
  // each list keeps its own turn: two lists of the same backends do not share state
  const one = [be('x', 1), be('y', 1)];
  const two = [be('x', 1), be('y', 1)];
  t.deepEqual([nextBackend(one)!.host, nextBackend(two)!.host, nextBackend(one)!.host, nextBackend(two)!.host], ['x', 'x', 'y', 'y']);
});

// ---------------------------------------------------------------------------
// TLS

function tlsRoute(name: string, hostnames: string[], backend = name): TlsRoute {
  return {
    source: { file: 't.yaml', document: 0, kind: 'TLSRoute', namespace: 'default', name },
    namespace: 'default',
    name,
    parentRefs: [{ namespace: 'default', name: 'gw', sectionName: null, port: null }],
    hostnames: hostnames.map(P),
    backends: [be(backend)],
  };
}

function tlsOutcome(tb: TlsRouteTable, sni: string | null): string {
  const d = tb.route(sni);
  return d.type === 'route' ? d.attached.route.name : d.type;
}

test('TLS: most specific route hostname wins, ties by route order', (t) => {
  const s = section('tls', null, 'TLS', 443);
  const routes = [
    tlsRoute('wild', ['*.example.com']),
    tlsRoute('wild-again', ['*.example.com']),
    tlsRoute('longer-wild', ['*.b.example.com']),
    tlsRoute('exact', ['a.b.example.com', 'other.net']),
  ];
  const tb = new TlsRouteTable({ sections: [s], http: [], tls: routes.map((r) => attach(r, s)) });
  t.is(tlsOutcome(tb, 'a.b.example.com'), 'exact');
  t.is(tlsOutcome(tb, 'other.net'), 'exact');
  t.is(tlsOutcome(tb, 'c.b.example.com'), 'longer-wild');
  t.is(tlsOutcome(tb, 'c.example.com'), 'wild');
  t.is(tlsOutcome(tb, 'A.B.Example.COM.'), 'exact');
  t.is(tlsOutcome(tb, 'example.com'), 'no-route');
  t.is(tlsOutcome(tb, null), 'no-route');
  const d = tb.route('a.b.example.com');
  t.true(d.type === 'route' && d.backends[0]!.host === 'exact');
});

test('TLS: sections by SNI, routes only of that section; capture sections count, HTTP ones do not', (t) => {
  const sExact = section('exact', 'a.example.com', 'TLS', 443);
  const sWild = section('wild', '*.example.com', 'TLS', 443);
  const sHttp = section('http', null, 'HTTP', 443);
  const sCap = section('cap', null, 'capture', null);
  const tb = new TlsRouteTable({
    sections: [sHttp, sWild, sExact, sCap],
    http: [],
    tls: [
      attach(tlsRoute('r-wild', ['*.example.com']), sWild),
      attach(tlsRoute('r-exact-other', ['b.example.com']), sExact), // does not intersect: no hostnames left
      { route: tlsRoute('r-exact', ['*.example.com']), section: 'exact', hostnames: [P('a.example.com')] },
      { route: tlsRoute('r-http', []), section: 'http', hostnames: [] },
      attach(tlsRoute('r-cap', ['*.net']), sCap),
    ],
  });
  t.is(tlsOutcome(tb, 'a.example.com'), 'r-exact');
  t.is(tlsOutcome(tb, 'b.example.com'), 'r-wild');
  t.is(tlsOutcome(tb, 'x.net'), 'r-cap');
  t.is(tlsOutcome(tb, 'x.org'), 'no-route');
  t.is(tlsOutcome(tb, null), 'no-route');
  const anyTb = new TlsRouteTable({ sections: [sCap], http: [], tls: [{ route: tlsRoute('any', []), section: 'cap', hostnames: [] }] });
  t.is(tlsOutcome(anyTb, null), 'any');
  t.is(tlsOutcome(anyTb, 'whatever.org'), 'any');
  const noSection = new TlsRouteTable({ sections: [sExact], http: [], tls: [{ route: tlsRoute('r', ['a.example.com']), section: 'exact', hostnames: [P('a.example.com')] }] });
  t.is(tlsOutcome(noSection, 'b.example.com'), 'no-route');
});

// ---------------------------------------------------------------------------
// properties

const segment = fc.constantFrom('a', 'b', 'ab', 'abc', 'x', '', '%2F');
const pathArb = fc.array(segment, { minLength: 0, maxLength: 4 }).map((s) => `/${s.join('/')}`);
const prefixArb = fc.array(fc.constantFrom('a', 'b', 'ab', 'abc', 'x'), { minLength: 0, maxLength: 3 }).map((s) => `/${s.join('/')}`);

test('property: PathPrefix matches exactly when the prefix elements lead the path elements', (t) => {
  fc.assert(
    fc.property(prefixArb, pathArb, (prefix, path) => {
      const pre = prefix === '/' ? [] : prefix.slice(1).split('/');
      const segs = path.slice(1).split('/');
      // reference: element-wise, a trailing "/" of the path is an empty last element
      const expected = pre.length === 0 || (pre.length <= segs.length && pre.every((p, i) => p === segs[i]));
      return matchesOne({ prefix }, path) === expected;
    }),
  );
  t.pass();
});

test('property: ReplacePrefixMatch with the prefix itself is the identity', (t) => {
  fc.assert(
    fc.property(prefixArb, pathArb, (prefix, path) => {
      fc.pre(matchesOne({ prefix }, path));
      return rewritePath(path, RPM(prefix), prefixMatch(prefix)) === path;
    }),
  );
  t.pass();
});

test('property: route() never throws and answers deterministically for random request facts', (t) => {
  const s0 = section('any');
  const s1 = section('wild', '*.example.com');
  const tb = new HttpRouteTable({
    sections: [s0, s1],
    http: [
      attach(route('a', [], [rule([m({ prefix: '/a', headers: [['x', 'y.*', 'regex']] }), m({ query: [['q', '%', 'regex']] })], 'a'), rule(m({ exact: '/' }), 'root')]), s0),
      attach(route('w', ['foo.example.com'], [rule([m({ regex: '/[^/]*' }), m({ method: 'POST', query: [['k', 'v']] })], 'w')]), s1),
      attach(route('w2', [], [rule(m({ prefix: '/b' }), 'w2')]), s1),
    ],
    tls: [],
  });
  const str = fc.string({ maxLength: 12, unit: fc.constantFrom('a', '/', '%', '2', 'F', '=', '&', '+', '.', 'é', 'X', 'q', 'k', 'v') });
  const hostArb = fc.option(fc.oneof(fc.constantFrom('foo.example.com', 'example.com', 'a.example.com', ''), fc.domain()), { nil: null });
  fc.assert(
    fc.property(hostArb, fc.constantFrom('GET', 'POST', 'get', ''), str, str, fc.array(fc.tuple(fc.constantFrom('x', 'X', 'cookie', 'q'), str), { maxLength: 4 }), (host, method, path, query, headers) => {
      const facts: HttpRequestFacts = { host: host === null ? null : host.toLowerCase(), method, path, query, headers };
      const a = tb.route(facts);
      const b = tb.route(facts);
      return a === b && ['rule', 'no-rule', 'no-host'].includes(a.type);
    }),
  );
  t.pass();
});
