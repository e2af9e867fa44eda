// HTTPRoute through `ugate run -c site.yaml`, conformance-style: tables of requests (a real
// client: node:http over keep-alive agents, and raw sockets) against echo backends that say who
// they are and what they received. Matching (path, headers, query, method, AND/OR), precedence,
// hostnames (exact, wildcard, listener ∩ route), 404/500/502, redirects, rewrites, header
// modifiers, weights, timeouts, keep-alive with per-request routing, and pipelining.

import test, { type ExecutionContext } from 'ava';
import type http from 'node:http';
import { startGateway, type RunningGateway } from '../helpers/gateway.ts';
import {
  backendRef,
  chunkedBody,
  freePorts,
  gatewayManifest,
  httpRequest,
  httpRouteManifest,
  keepAliveAgent,
  manifests,
  rawRequest,
  RawHttpConnection,
  startHttpBackend,
  type EchoRecord,
  type HttpBackend,
  type SimpleResponse,
} from '../helpers/http-backends.ts';
import { OWN_LOOPBACK } from '../helpers/servers.ts';

let gw: RunningGateway;
let b1: HttpBackend, b2: HttpBackend, b3: HttpBackend, b4: HttpBackend, b5: HttpBackend;
/** P: the main listener (no hostname); Q: two listeners with hostnames; R: routes attached by port */
let P: number, Q: number, R: number;
let refused: number;

const exact = (value: string) => ({ path: { type: 'Exact', value } });
const prefix = (value: string) => ({ path: { type: 'PathPrefix', value } });
const regex = (value: string) => ({ path: { type: 'RegularExpression', value } });
const hdr = (name: string, value: string, type = 'Exact') => ({ type, name, value });
const to = (...bs: HttpBackend[]) => ({ backendRefs: bs.map((b) => backendRef(b)) });
const onMain = [{ name: 'site', sectionName: 'http' }];

/** The redirect table: scheme × port × hostname, one rule each. */
const SCHEMES = [null, 'http', 'https'] as const;
const REDIRECT_PORTS = [null, 80, 443, 8443] as const;
const REDIRECT_HOSTS = [null, 'target.example.org'] as const;
const redirectKey = (s: string | null, p: number | null, h: string | null) => `/r/${s ?? 'unset'}/${p ?? 'unset'}/${h ? 'host' : 'unset'}`;

/** ReplacePrefixMatch: the (prefix, replacement) pairs of the spec's table, one host each. */
const PREFIX_PAIRS: [prefix: string, replacement: string][] = [
  ['/foo', '/xyz'],
  ['/foo', '/xyz/'],
  ['/foo/', '/xyz'],
  ['/foo/', '/xyz/'],
  ['/foo', ''],
  ['/foo', '/'],
];
/** The spec's table: request path, pair index, modified path. */
const PREFIX_TABLE: [path: string, pair: number, modified: string][] = [
  ['/foo/bar', 0, '/xyz/bar'],
  ['/foo/bar', 1, '/xyz/bar'],
  ['/foo/bar', 2, '/xyz/bar'],
  ['/foo/bar', 3, '/xyz/bar'],
  ['/foo', 0, '/xyz'],
  ['/foo/', 0, '/xyz/'],
  ['/foo/bar', 4, '/bar'],
  ['/foo/', 4, '/'],
  ['/foo', 4, '/'],
  ['/foo/', 5, '/'],
  ['/foo', 5, '/'],
  // beyond the table: deeper paths and a query string
  ['/foo/bar/baz/', 0, '/xyz/bar/baz/'],
  ['/foo/bar?x=1&y=%20', 0, '/xyz/bar?x=1&y=%20'],
];

function siteYaml(): string {
  const docs: object[] = [
    gatewayManifest('site', [
      { name: 'http', port: P, protocol: 'HTTP' },
      { name: 'foo', port: Q, protocol: 'HTTP', hostname: '*.foo.example.com' },
      { name: 'bar', port: Q, protocol: 'HTTP', hostname: 'bar.example.com' },
      { name: 'byport', port: R, protocol: 'HTTP' },
    ]),

    // --- matching
    httpRouteManifest('paths', {
      parentRefs: onMain,
      hostnames: ['paths.example.com'],
      rules: [
        { matches: [prefix('/abc')], ...to(b1) },
        { matches: [exact('/exact')], ...to(b2) },
        { matches: [regex('/re/[0-9]+')], ...to(b3) },
        { matches: [prefix('/trail/')], ...to(b4) },
        { matches: [exact('/abc/exact')], ...to(b5) },
      ],
    }),
    httpRouteManifest('headers', {
      parentRefs: onMain,
      hostnames: ['headers.example.com'],
      rules: [
        { matches: [{ headers: [hdr('X-Env', 'canary')] }], ...to(b1) },
        { matches: [{ headers: [hdr('x-version', 'v[0-9]+', 'RegularExpression')] }], ...to(b2) },
        { ...to(b3) },
      ],
    }),
    httpRouteManifest('query', {
      parentRefs: onMain,
      hostnames: ['query.example.com'],
      rules: [
        { matches: [{ queryParams: [hdr('Tier', 'gold')] }], ...to(b1) },
        { matches: [{ queryParams: [hdr('id', '[0-9]+', 'RegularExpression')] }], ...to(b2) },
        { ...to(b3) },
      ],
    }),
    httpRouteManifest('method', {
      parentRefs: onMain,
      hostnames: ['method.example.com'],
      rules: [
        { matches: [{ method: 'POST' }], ...to(b1) },
        { matches: [{ ...exact('/only-get'), method: 'GET' }], ...to(b2) },
        { ...to(b3) },
      ],
    }),
    httpRouteManifest('andor', {
      parentRefs: onMain,
      hostnames: ['andor.example.com'],
      rules: [
        { matches: [{ ...prefix('/both'), headers: [hdr('x-a', '1')], queryParams: [hdr('q', '1')], method: 'GET' }], ...to(b1) },
        { matches: [exact('/or1'), exact('/or2'), { headers: [hdr('x-or', 'yes')] }], ...to(b2) },
        { ...to(b3) },
      ],
    }),

    // --- precedence across the rules of two routes for one host. The first route in the file
    // sorts last by name: "route order" is the order of the manifests.
    httpRouteManifest('zz-prec-first', {
      parentRefs: onMain,
      hostnames: ['prec.example.com'],
      rules: [
        { matches: [prefix('/p/exact')], ...to(b1) },
        { matches: [prefix('/p/long')], ...to(b1) },
        { matches: [{ ...prefix('/p/len'), headers: [hdr('x-h', '1')] }], ...to(b1) },
        { matches: [{ ...prefix('/p/m'), headers: [hdr('x-h', '1')] }], ...to(b1) },
        { matches: [{ ...prefix('/p/h'), headers: [hdr('x-h1', '1')] }], ...to(b1) },
        { matches: [{ ...prefix('/p/hq'), queryParams: [hdr('q1', '1'), hdr('q2', '1')] }], ...to(b1) },
        { matches: [{ ...prefix('/p/q'), queryParams: [hdr('a', '1')] }], ...to(b1) },
        { matches: [prefix('/p/order')], ...to(b1) },
        { matches: [prefix('/p/rule')], ...to(b1) },
        { matches: [prefix('/p/rule')], ...to(b3) },
      ],
    }),
    httpRouteManifest('aa-prec-second', {
      parentRefs: onMain,
      hostnames: ['prec.example.com'],
      rules: [
        { matches: [exact('/p/exact')], ...to(b2) },
        { matches: [prefix('/p/long/er')], ...to(b2) },
        { matches: [prefix('/p/len/longer')], ...to(b2) },
        { matches: [{ ...prefix('/p/m'), method: 'GET' }], ...to(b2) },
        { matches: [{ ...prefix('/p/h'), headers: [hdr('x-h1', '1'), hdr('x-h2', '1')] }], ...to(b2) },
        { matches: [{ ...prefix('/p/hq'), headers: [hdr('x-h1', '1')] }], ...to(b2) },
        { matches: [{ ...prefix('/p/q'), queryParams: [hdr('a', '1'), hdr('b', '1')] }], ...to(b2) },
        { matches: [prefix('/p/order')], ...to(b2) },
      ],
    }),
    // hostname specificity comes before match precedence (HTTPRouteSpec.Hostnames)
    httpRouteManifest('hp-wild', { parentRefs: onMain, hostnames: ['*.hp.example.com'], rules: [{ matches: [exact('/x')], ...to(b1) }] }),
    httpRouteManifest('hp-exact', { parentRefs: onMain, hostnames: ['a.hp.example.com'], rules: [{ ...to(b2) }] }),
    httpRouteManifest('hp-deep-wild', { parentRefs: onMain, hostnames: ['*.deep.hp.example.com'], rules: [{ ...to(b3) }] }),

    // --- hostnames
    httpRouteManifest('host-exact', { parentRefs: onMain, hostnames: ['exact.example.com'], rules: [to(b1)] }),
    httpRouteManifest('host-wild', { parentRefs: onMain, hostnames: ['*.wild.example.com'], rules: [to(b2)] }),
    httpRouteManifest('host-multi', { parentRefs: onMain, hostnames: ['one.example.com', '*.two.example.com'], rules: [to(b3)] }),

    // --- listener hostname ∩ route hostnames (port Q), attachment by sectionName and by port
    httpRouteManifest('sec-foo-any', { parentRefs: [{ name: 'site', sectionName: 'foo' }], rules: [to(b1)] }),
    httpRouteManifest('sec-foo-list', { parentRefs: [{ name: 'site', sectionName: 'foo' }], hostnames: ['a.foo.example.com', 'foo.example.com', 'b.other.net'], rules: [to(b2)] }),
    httpRouteManifest('sec-bar', { parentRefs: [{ name: 'site', sectionName: 'bar' }], hostnames: ['bar.example.com', '*.example.com', 'other.example.net'], rules: [to(b3)] }),
    httpRouteManifest('sec-foo-wider', { parentRefs: [{ name: 'site', sectionName: 'foo' }], hostnames: ['*.example.com'], rules: [{ matches: [prefix('/wider')], ...to(b4) }] }),
    httpRouteManifest('sec-bar-mismatch', { parentRefs: [{ name: 'site', sectionName: 'bar' }], hostnames: ['nope.example.net'], rules: [to(b5)] }),
    httpRouteManifest('catchall-by-port', { parentRefs: [{ name: 'site', port: R }], rules: [to(b4)] }),
    httpRouteManifest('all-sections', { parentRefs: [{ name: 'site' }], hostnames: ['all.example.com'], rules: [to(b5)] }),

    // --- 500 / 502: each case its own route, so that one rejected route cannot hide another
    httpRouteManifest('err-kind', { parentRefs: onMain, hostnames: ['errors.example.com'], rules: [{ matches: [exact('/kind-foo')], backendRefs: [backendRef(b1, { kind: 'Foo' })] }] }),
    httpRouteManifest('err-group', { parentRefs: onMain, hostnames: ['errors.example.com'], rules: [{ matches: [exact('/group')], backendRefs: [backendRef(b1, { group: 'example.com', kind: 'Service' })] }] }),
    httpRouteManifest('err-dns', { parentRefs: onMain, hostnames: ['errors.example.com'], rules: [{ matches: [exact('/unresolvable')], backendRefs: [{ name: 'nonexistent.invalid', port: 80 }] }] }),
    httpRouteManifest('err-none', { parentRefs: onMain, hostnames: ['errors.example.com'], rules: [{ matches: [exact('/no-backends')] }] }),
    httpRouteManifest('err-namespace', { parentRefs: onMain, hostnames: ['errors.example.com'], rules: [{ matches: [exact('/other-namespace')], backendRefs: [backendRef(b1, { namespace: 'elsewhere' })] }] }),
    httpRouteManifest('err-refused', { parentRefs: onMain, hostnames: ['errors.example.com'], rules: [{ matches: [exact('/refused')], backendRefs: [{ name: OWN_LOOPBACK, port: refused }] }] }),
    httpRouteManifest('err-half', {
      parentRefs: onMain,
      hostnames: ['errors.example.com'],
      rules: [{ matches: [exact('/half-invalid')], backendRefs: [backendRef(b1, { kind: 'Foo', weight: 1 }), backendRef(b2, { weight: 1 })] }],
    }),
    httpRouteManifest('ok-service', { parentRefs: onMain, hostnames: ['errors.example.com'], rules: [{ matches: [exact('/explicit-service')], backendRefs: [backendRef(b1, { group: '', kind: 'Service' })] }] }),
    httpRouteManifest('ok-dns', { parentRefs: onMain, hostnames: ['errors.example.com'], rules: [{ matches: [exact('/dns-name')], backendRefs: [{ name: 'localhost', port: b1.port }] }] }),

    // --- filters
    httpRouteManifest('filters', {
      parentRefs: onMain,
      hostnames: ['filters.example.com'],
      rules: [
        {
          matches: [exact('/reqhdr')],
          filters: [
            {
              type: 'RequestHeaderModifier',
              requestHeaderModifier: {
                set: [{ name: 'X-Set', value: 'new' }],
                add: [
                  { name: 'X-Add', value: 'added' },
                  { name: 'x-fresh', value: 'fresh' },
                ],
                remove: ['X-Remove'],
              },
            },
          ],
          ...to(b1),
        },
        {
          matches: [exact('/resphdr')],
          filters: [
            {
              type: 'ResponseHeaderModifier',
              responseHeaderModifier: {
                set: [{ name: 'X-Resp-Set', value: 'new' }],
                add: [
                  { name: 'X-Resp-Add', value: 'added' },
                  { name: 'x-resp-fresh', value: 'fresh' },
                ],
                remove: ['X-Resp-Remove'],
              },
            },
          ],
          ...to(b1),
        },
        { matches: [prefix('/rewrite-host')], filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'rewritten.example.org' } }], ...to(b1) },
        { matches: [prefix('/rewrite-full')], filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: '/replaced' } } }], ...to(b1) },
        {
          matches: [prefix('/rewrite-both')],
          filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'both.example.org', path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' } } }],
          ...to(b2),
        },
      ],
    }),
    ...PREFIX_PAIRS.map(([p, r], i) =>
      httpRouteManifest(`rewrite-${i}`, {
        parentRefs: onMain,
        hostnames: [`rw${i}.example.com`],
        rules: [{ matches: [prefix(p)], filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: r } } }], ...to(b1) }],
      }),
    ),
    ...PREFIX_PAIRS.map(([p, r], i) =>
      httpRouteManifest(`redirect-prefix-${i}`, {
        parentRefs: onMain,
        hostnames: [`rd${i}.example.com`],
        rules: [{ matches: [prefix(p)], filters: [{ type: 'RequestRedirect', requestRedirect: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: r } } }] }],
      }),
    ),
    httpRouteManifest('redirect-status', {
      parentRefs: onMain,
      hostnames: ['status.example.com'],
      rules: [
        ...[301, 302, 303, 307, 308].map((code) => ({ matches: [prefix(`/s/${code}`)], filters: [{ type: 'RequestRedirect', requestRedirect: { statusCode: code } }] })),
        { matches: [prefix('/s/default')], filters: [{ type: 'RequestRedirect', requestRedirect: {} }] },
      ],
    }),
    httpRouteManifest('redirect-path', {
      parentRefs: onMain,
      hostnames: ['redir-path.example.com'],
      rules: [
        { matches: [prefix('/full')], filters: [{ type: 'RequestRedirect', requestRedirect: { path: { type: 'ReplaceFullPath', replaceFullPath: '/new' } } }] },
        { matches: [prefix('/prefix')], filters: [{ type: 'RequestRedirect', requestRedirect: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new-prefix' } } }] },
        {
          matches: [prefix('/all')],
          filters: [
            {
              type: 'RequestRedirect',
              requestRedirect: { scheme: 'https', hostname: 'secure.example.org', port: 8443, path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/v2' }, statusCode: 308 },
            },
          ],
        },
      ],
    }),

    // --- weights and timeouts
    httpRouteManifest('weights', {
      parentRefs: onMain,
      hostnames: ['weights.example.com'],
      rules: [{ backendRefs: [backendRef(b1, { weight: 1 }), backendRef(b2, { weight: 3 }), backendRef(b3, { weight: 0 })] }],
    }),
    httpRouteManifest('timeouts', {
      parentRefs: onMain,
      hostnames: ['timeouts.example.com'],
      rules: [
        { matches: [exact('/backend')], timeouts: { backendRequest: '500ms' }, ...to(b1) },
        { matches: [exact('/request')], timeouts: { request: '500ms' }, ...to(b1) },
        { matches: [exact('/both')], timeouts: { request: '5s', backendRequest: '2s' }, ...to(b1) },
      ],
    }),
  ];

  // The redirect table, in routes of at most 16 rules.
  const rules: object[] = [];
  for (const s of SCHEMES)
    for (const p of REDIRECT_PORTS)
      for (const h of REDIRECT_HOSTS) {
        const rr: Record<string, unknown> = {};
        if (s) rr.scheme = s;
        if (p) rr.port = p;
        if (h) rr.hostname = h;
        rules.push({ matches: [prefix(redirectKey(s, p, h))], filters: [{ type: 'RequestRedirect', requestRedirect: rr }] });
      }
  for (let i = 0; i < rules.length; i += 12) {
    docs.push(httpRouteManifest(`redirect-table-${i / 12}`, { parentRefs: onMain, hostnames: ['redir.example.com'], rules: rules.slice(i, i + 12) }));
  }
  return manifests(...docs);
}

test.before(async () => {
  [b1, b2, b3, b4, b5] = await Promise.all(['b1', 'b2', 'b3', 'b4', 'b5'].map((n) => startHttpBackend(n)));
  [P, Q, R, refused] = await freePorts(4);
  gw = await startGateway(siteYaml());
});

test.after.always(async () => {
  await gw?.stop();
  await Promise.all([b1, b2, b3, b4, b5].map((b) => b?.close()));
});

// ---------------------------------------------------------------------------------------------

interface Case {
  method?: string;
  host: string;
  path: string;
  headers?: Record<string, string>;
  /** a backend name, or a status code ugate answers itself */
  expect: string | number;
  /** the path (with query) the backend must see */
  url?: string;
  /** the Host header the backend must see (default: as sent) */
  backendHost?: string;
  port?: () => number;
  why?: string;
}

const describe = (c: Case) => `${c.method ?? 'GET'} http://${c.host}${c.path}${c.headers ? ` ${JSON.stringify(c.headers)}` : ''}${c.why ? ` (${c.why})` : ''}`;

/** Sends one case over `agent` and checks where it landed. */
async function check(t: ExecutionContext, c: Case, agent: http.Agent): Promise<SimpleResponse> {
  const res = await httpRequest(c.port?.() ?? P, { method: c.method ?? 'GET', host: c.host, path: c.path, headers: c.headers, agent });
  if (typeof c.expect === 'number') {
    t.is(res.status, c.expect, `${describe(c)}: status; body ${res.body.toString().slice(0, 200)}`);
    t.is(res.headers['x-served-by'], undefined, `${describe(c)}: answered by ugate, not by a backend`);
    return res;
  }
  t.is(res.status, 200, `${describe(c)}: status; body ${res.body.toString().slice(0, 200)}`);
  if (res.status !== 200) return res;
  const echo = res.json();
  t.is(echo.server, c.expect, `${describe(c)}: backend`);
  t.is(res.headers['x-served-by'], echo.server, `${describe(c)}: response headers come from the backend`);
  t.is(echo.method, c.method ?? 'GET', `${describe(c)}: method`);
  t.is(echo.url, c.url ?? c.path, `${describe(c)}: the backend sees the request target unchanged`);
  t.is(echo.host, c.backendHost ?? c.host, `${describe(c)}: Host forwarded unmodified`);
  return res;
}

async function runTable(t: ExecutionContext, cases: Case[]): Promise<void> {
  const agent = keepAliveAgent();
  try {
    for (const c of cases) await check(t, c, agent);
  } finally {
    agent.destroy();
  }
}

test.serial('listeners: one socket per port, named GATEWAY:PORT', (t) => {
  t.deepEqual(gw.addr(`site:${P}`), { host: OWN_LOOPBACK, port: P });
  t.deepEqual(gw.addr(`site:${Q}`), { host: OWN_LOOPBACK, port: Q });
  t.deepEqual(gw.addr(`site:${R}`), { host: OWN_LOOPBACK, port: R });
  t.regex(gw.stderr(), new RegExp(`listening listener=site:${P} type=http addr=${OWN_LOOPBACK.replaceAll('.', '\\.')}:${P}`));
  // two Gateway listeners on port Q share one socket
  t.is(gw.listeners.get(`site:${Q}`)?.length, 1);
});

test.serial('path matching: Exact, PathPrefix element-wise, RegularExpression (anchored)', async (t) => {
  const h = 'paths.example.com';
  await runTable(t, [
    { host: h, path: '/abc', expect: 'b1' },
    { host: h, path: '/abc/', expect: 'b1' },
    { host: h, path: '/abc/x', expect: 'b1' },
    { host: h, path: '/abc/x/y?z=1', expect: 'b1' },
    { host: h, path: '/abc?x=1', expect: 'b1', why: 'the query is not part of the path' },
    { host: h, path: '/abcd', expect: 404, why: 'prefix /abc is element-wise' },
    { host: h, path: '/ABC', expect: 404, why: 'paths are case-sensitive' },
    { host: h, path: '/exact', expect: 'b2' },
    { host: h, path: '/exact?q=1', expect: 'b2' },
    { host: h, path: '/exact/', expect: 404, why: 'Exact does not take a trailing slash' },
    { host: h, path: '/exactly', expect: 404 },
    { host: h, path: '/re/123', expect: 'b3' },
    { host: h, path: '/re/123?x=y', expect: 'b3' },
    { host: h, path: '/re/12a', expect: 404 },
    { host: h, path: '/re/123/x', expect: 404, why: 'a regular expression matches the whole path' },
    { host: h, path: '/x/re/123', expect: 404, why: 'a regular expression matches the whole path' },
    { host: h, path: '/trail', expect: 'b4', why: 'the trailing slash of a configured prefix is ignored' },
    { host: h, path: '/trail/', expect: 'b4' },
    { host: h, path: '/trail/x', expect: 'b4' },
    { host: h, path: '/trailx', expect: 404 },
    { host: h, path: '/abc/exact', expect: 'b5', why: 'Exact beats a prefix' },
    { host: h, path: '/abc/exact/more', expect: 'b1' },
    { host: h, path: '/', expect: 404, why: 'no rule matches' },
    { host: h, path: '/zzz', expect: 404, why: 'no rule matches' },
  ]);
});

test.serial('header matching: names case-insensitive, values exact or regular expression', async (t) => {
  const h = 'headers.example.com';
  await runTable(t, [
    { host: h, path: '/', headers: { 'x-env': 'canary' }, expect: 'b1' },
    { host: h, path: '/', headers: { 'X-ENV': 'canary' }, expect: 'b1', why: 'header names are case-insensitive' },
    { host: h, path: '/', headers: { 'x-env': 'Canary' }, expect: 'b3', why: 'values are case-sensitive' },
    { host: h, path: '/', headers: { 'x-env': 'stable' }, expect: 'b3' },
    { host: h, path: '/', headers: { 'x-version': 'v12' }, expect: 'b2' },
    { host: h, path: '/', headers: { 'X-Version': 'v7' }, expect: 'b2' },
    { host: h, path: '/', headers: { 'x-version': 'beta' }, expect: 'b3' },
    { host: h, path: '/', headers: { 'x-env': 'canary', 'x-version': 'v1' }, expect: 'b1', why: 'a tie goes to the first rule' },
    { host: h, path: '/any/path', expect: 'b3', why: 'a rule without matches is PathPrefix /' },
  ]);
});

test.serial('query matching: names case-sensitive, values exact or regular expression', async (t) => {
  const h = 'query.example.com';
  await runTable(t, [
    { host: h, path: '/?Tier=gold', expect: 'b1' },
    { host: h, path: '/x?a=1&Tier=gold&b=2', expect: 'b1' },
    { host: h, path: '/?tier=gold', expect: 'b3', why: 'query names are case-sensitive' },
    { host: h, path: '/?Tier=GOLD', expect: 'b3', why: 'values are case-sensitive' },
    { host: h, path: '/?Tier=silver', expect: 'b3' },
    { host: h, path: '/?id=42', expect: 'b2' },
    { host: h, path: '/?id=abc', expect: 'b3' },
    { host: h, path: '/', expect: 'b3' },
  ]);
});

test.serial('method matching', async (t) => {
  const h = 'method.example.com';
  await runTable(t, [
    { method: 'POST', host: h, path: '/', expect: 'b1' },
    { method: 'GET', host: h, path: '/', expect: 'b3' },
    { method: 'GET', host: h, path: '/only-get', expect: 'b2' },
    { method: 'POST', host: h, path: '/only-get', expect: 'b1', why: 'the GET rule does not match a POST' },
    { method: 'DELETE', host: h, path: '/only-get', expect: 'b3' },
    { method: 'PUT', host: h, path: '/x', expect: 'b3' },
  ]);
});

test.serial('AND within a match, OR across matches', async (t) => {
  const h = 'andor.example.com';
  await runTable(t, [
    { host: h, path: '/both?q=1', headers: { 'x-a': '1' }, expect: 'b1' },
    { host: h, path: '/both/deeper?q=1', headers: { 'x-a': '1' }, expect: 'b1' },
    { host: h, path: '/both?q=1', expect: 'b3', why: 'header missing' },
    { host: h, path: '/both', headers: { 'x-a': '1' }, expect: 'b3', why: 'query missing' },
    { host: h, path: '/bothx?q=1', headers: { 'x-a': '1' }, expect: 'b3', why: 'path does not match' },
    { method: 'POST', host: h, path: '/both?q=1', headers: { 'x-a': '1' }, expect: 'b3', why: 'method does not match' },
    { host: h, path: '/or1', expect: 'b2' },
    { host: h, path: '/or2', expect: 'b2' },
    { host: h, path: '/or3', expect: 'b3' },
    { host: h, path: '/or3', headers: { 'x-or': 'yes' }, expect: 'b2', why: 'the third match' },
  ]);
});

test.serial('precedence across the rules of all routes: one case per criterion', async (t) => {
  const h = 'prec.example.com';
  await runTable(t, [
    { host: h, path: '/p/exact', expect: 'b2', why: 'Exact (later route) beats PathPrefix (earlier route)' },
    { host: h, path: '/p/exact/x', expect: 'b1' },
    { host: h, path: '/p/long/er/x', expect: 'b2', why: 'the longest prefix wins' },
    { host: h, path: '/p/long/erx', expect: 'b1', why: 'prefixes are element-wise' },
    { host: h, path: '/p/long/x', expect: 'b1' },
    { host: h, path: '/p/len/longer', headers: { 'x-h': '1' }, expect: 'b2', why: 'a longer prefix beats more header matches' },
    { method: 'GET', host: h, path: '/p/m', headers: { 'x-h': '1' }, expect: 'b2', why: 'a method match beats a header match' },
    { method: 'POST', host: h, path: '/p/m', headers: { 'x-h': '1' }, expect: 'b1' },
    { host: h, path: '/p/h', headers: { 'x-h1': '1', 'x-h2': '1' }, expect: 'b2', why: 'more header matches win' },
    { host: h, path: '/p/h', headers: { 'x-h1': '1' }, expect: 'b1' },
    { host: h, path: '/p/hq?q1=1&q2=1', headers: { 'x-h1': '1' }, expect: 'b2', why: 'one header match beats two query matches' },
    { host: h, path: '/p/hq?q1=1&q2=1', expect: 'b1' },
    { host: h, path: '/p/q?a=1&b=1', expect: 'b2', why: 'more query matches win' },
    { host: h, path: '/p/q?a=1', expect: 'b1' },
    { host: h, path: '/p/order', expect: 'b1', why: 'a full tie goes to the route first in the file' },
    { host: h, path: '/p/rule', expect: 'b1', why: 'a tie within a route goes to the first rule' },
  ]);
});

test.serial('precedence: the most specific matching hostname comes before match precedence', async (t) => {
  await runTable(t, [
    { host: 'a.hp.example.com', path: '/x', expect: 'b2', why: 'the exact-host route wins though the wildcard route has an Exact path' },
    { host: 'b.hp.example.com', path: '/x', expect: 'b1' },
    { host: 'b.hp.example.com', path: '/y', expect: 404 },
    { host: 'x.deep.hp.example.com', path: '/x', expect: 'b3', why: 'the longer wildcard wins' },
  ]);
});

test.serial('hostnames: exact, wildcard (one or more labels), never the bare parent; case and port ignored', async (t) => {
  await runTable(t, [
    { host: 'exact.example.com', path: '/', expect: 'b1' },
    { host: 'EXACT.Example.COM', path: '/', expect: 'b1', why: 'hostnames are case-insensitive' },
    { host: `exact.example.com:${P}`, path: '/', expect: 'b1', why: 'the port in Host is ignored' },
    { host: 'exact.example.com:1234', path: '/', expect: 'b1', why: 'the port in Host is ignored' },
    { host: 'x.exact.example.com', path: '/', expect: 404 },
    { host: 'a.wild.example.com', path: '/', expect: 'b2' },
    { host: 'a.b.wild.example.com', path: '/', expect: 'b2', why: 'a wildcard covers several labels' },
    { host: `a.wild.example.com:${P}`, path: '/', expect: 'b2' },
    { host: 'wild.example.com', path: '/', expect: 404, why: 'a wildcard never matches the bare parent' },
    { host: 'xwild.example.com', path: '/', expect: 404 },
    { host: 'one.example.com', path: '/', expect: 'b3' },
    { host: 'x.two.example.com', path: '/', expect: 'b3' },
    { host: 'two.example.com', path: '/', expect: 404 },
    { host: 'unknown.example.org', path: '/', expect: 404, why: 'no route covers the host' },
    { host: '127.0.0.1', path: '/', expect: 404 },
    { host: `127.0.0.1:${P}`, path: '/', expect: 404 },
  ]);
});

test.serial('listener hostname ∩ route hostnames: two listeners on one port, sectionName attachments', async (t) => {
  const q = () => Q;
  await runTable(t, [
    { port: q, host: 'x.foo.example.com', path: '/', expect: 'b1', why: 'a route without hostnames takes the listener’s' },
    { port: q, host: 'deep.x.foo.example.com', path: '/', expect: 'b1' },
    { port: q, host: 'a.foo.example.com', path: '/', expect: 'b2', why: 'the route’s exact name inside the listener wildcard' },
    { port: q, host: 'foo.example.com', path: '/', expect: 404, why: 'outside the listener hostname *.foo.example.com' },
    { port: q, host: 'b.other.net', path: '/', expect: 404, why: 'outside the listener hostname' },
    { port: q, host: 'bar.example.com', path: '/', expect: 'b3' },
    { port: q, host: `bar.example.com:${Q}`, path: '/', expect: 'b3' },
    { port: q, host: 'other.example.net', path: '/', expect: 404, why: 'route hostname outside the bar listener' },
    { port: q, host: 'zzz.example.com', path: '/', expect: 404, why: 'sec-bar *.example.com is cut down to bar.example.com' },
    { port: q, host: 'x.foo.example.com', path: '/wider/1', expect: 'b4', why: '*.example.com ∩ *.foo.example.com' },
    { port: q, host: 'bar.example.com', path: '/wider/1', expect: 'b3', why: 'a route on the foo section does not serve the bar section' },
    { port: q, host: 'y.example.com', path: '/wider/1', expect: 404 },
    { port: q, host: 'nope.example.net', path: '/', expect: 404, why: 'a route whose hostnames miss the listener is not attached' },
    { port: q, host: 'all.example.com', path: '/', expect: 404, why: 'all-sections attaches to no hostname-restricted section' },
    { port: () => R, host: 'anything.example.net', path: '/', expect: 'b4', why: 'attached by parentRef port' },
    { port: () => R, host: 'all.example.com', path: '/', expect: 'b5', why: 'a route with a matching hostname beats a route without hostnames' },
    { host: 'all.example.com', path: '/', expect: 'b5', why: 'parentRef without sectionName attaches to every listener' },
    { host: 'anything.example.net', path: '/', expect: 404, why: 'catchall-by-port is not on port P' },
  ]);
});

test.serial('500 for invalid backends and rules without backends, 502 for a refused backend', async (t) => {
  const h = 'errors.example.com';
  await runTable(t, [
    { host: h, path: '/kind-foo', expect: 500, why: 'kind: Foo' },
    { host: h, path: '/group', expect: 500, why: 'group: example.com' },
    { host: h, path: '/unresolvable', expect: 500, why: 'nonexistent.invalid does not resolve' },
    { host: h, path: '/no-backends', expect: 500, why: 'no backendRefs and no redirect' },
    { host: h, path: '/other-namespace', expect: 500, why: 'another namespace without a ReferenceGrant' },
    { host: h, path: '/refused', expect: 502, why: 'connection refused' },
    { host: h, path: '/explicit-service', expect: 'b1', why: "group '' kind Service is the default" },
    { host: h, path: '/dns-name', expect: 'b1', why: 'a backend by DNS name (localhost)' },
    { host: h, path: '/nothing', expect: 404 },
  ]);
});

test.serial('an invalid backendRef gets its weighted share of 500s', async (t) => {
  const agent = keepAliveAgent();
  t.teardown(() => agent.destroy());
  const counts = new Map<string, number>();
  const N = 300;
  for (let i = 0; i < N; i++) {
    const r = await httpRequest(P, { host: 'errors.example.com', path: '/half-invalid', agent });
    const k = r.status === 200 ? r.json().server : String(r.status);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  // weights 1:1, taken in turn (smooth weighted round-robin): exactly half each
  t.deepEqual(Object.fromEntries(counts), { 500: N / 2, b2: N / 2 });
});

test.serial('keep-alive: after ugate’s own 404 and 500 the connection still works (or was announced closed)', async (t) => {
  const c = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => c.close());
  for (const [path, status] of [
    ['/nothing', 404],
    ['/no-backends', 500],
  ] as const) {
    const r = await c.request(rawRequest({ host: 'errors.example.com', path }));
    t.is(r.status, status);
    if ((r.header('connection') ?? '').toLowerCase().includes('close')) {
      t.true((await c.waitClosed()).closed, 'Connection: close announced, then closed');
      return;
    }
  }
  const ok = await c.request(rawRequest({ host: 'errors.example.com', path: '/explicit-service' }));
  t.is(ok.json().server, 'b1');
});

// ---------------------------------------------------------------------------------------------
// Redirects

function redirectExpectation(s: (typeof SCHEMES)[number], p: (typeof REDIRECT_PORTS)[number], h: (typeof REDIRECT_HOSTS)[number], path: string): string {
  const scheme = s ?? 'http';
  // no port given → the scheme's well-known port when a scheme is given, else the listener port
  const port = p ?? (s === 'http' ? 80 : s === 'https' ? 443 : P);
  const omit = (scheme === 'http' && port === 80) || (scheme === 'https' && port === 443);
  return `${scheme}://${h ?? 'redir.example.com'}${omit ? '' : `:${port}`}${path}`;
}

test.serial('RequestRedirect: every scheme × port × hostname combination, query kept', async (t) => {
  const agent = keepAliveAgent();
  t.teardown(() => agent.destroy());
  for (const s of SCHEMES)
    for (const p of REDIRECT_PORTS)
      for (const h of REDIRECT_HOSTS)
        for (const host of ['redir.example.com', 'redir.example.com:1234']) {
          const path = `${redirectKey(s, p, h)}/x?q=1&b=two`;
          const r = await httpRequest(P, { host, path, agent });
          const what = `scheme=${s} port=${p} hostname=${h} Host: ${host} ${path}`;
          t.is(r.status, 302, `${what}: status`);
          t.is(r.headers.location, redirectExpectation(s, p, h, path), `${what}: Location`);
          t.is(r.headers['x-served-by'], undefined, what);
        }
});

test.serial('RequestRedirect: status codes 301, 302, 303, 307, 308 and the default 302', async (t) => {
  const agent = keepAliveAgent();
  t.teardown(() => agent.destroy());
  for (const code of ['301', '302', '303', '307', '308', 'default']) {
    for (const method of ['GET', 'POST']) {
      const r = await httpRequest(P, { method, host: 'status.example.com', path: `/s/${code}/a?k=v`, agent, body: method === 'POST' ? 'payload' : undefined });
      t.is(r.status, code === 'default' ? 302 : Number(code), `${method} /s/${code}`);
      t.is(r.headers.location, `http://status.example.com:${P}/s/${code}/a?k=v`, `${method} /s/${code}`);
    }
  }
});

test.serial('RequestRedirect: path ReplaceFullPath and ReplacePrefixMatch, with everything at once', async (t) => {
  const agent = keepAliveAgent();
  t.teardown(() => agent.destroy());
  const cases: [path: string, status: number, location: string][] = [
    ['/full', 302, `http://redir-path.example.com:${P}/new`],
    ['/full/x/y?q=1', 302, `http://redir-path.example.com:${P}/new?q=1`],
    ['/prefix', 302, `http://redir-path.example.com:${P}/new-prefix`],
    ['/prefix/a/b?q=1', 302, `http://redir-path.example.com:${P}/new-prefix/a/b?q=1`],
    ['/all/x?y=z', 308, 'https://secure.example.org:8443/v2/x?y=z'],
    ['/all', 308, 'https://secure.example.org:8443/v2'],
  ];
  for (const [path, status, location] of cases) {
    const r = await httpRequest(P, { host: 'redir-path.example.com', path, agent });
    t.is(r.status, status, path);
    t.is(r.headers.location, location, path);
  }
  // every row of the spec's ReplacePrefixMatch table
  for (const [path, pair, modified] of PREFIX_TABLE) {
    const r = await httpRequest(P, { host: `rd${pair}.example.com`, path, agent });
    const [pp, rp] = PREFIX_PAIRS[pair]!;
    t.is(r.status, 302, `${path} prefix ${pp} → ${JSON.stringify(rp)}`);
    t.is(r.headers.location, `http://rd${pair}.example.com:${P}${modified}`, `${path} prefix ${pp} → ${JSON.stringify(rp)}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Rewrites and header modifiers

test.serial('URLRewrite: hostname, ReplaceFullPath, ReplacePrefixMatch (every row of the spec table)', async (t) => {
  await runTable(t, [
    { host: 'filters.example.com', path: '/rewrite-host/a?b=c', expect: 'b1', backendHost: 'rewritten.example.org' },
    { host: `filters.example.com:${P}`, path: '/rewrite-host', expect: 'b1', backendHost: 'rewritten.example.org' },
    { host: 'filters.example.com', path: '/rewrite-full/x/y?q=1', expect: 'b1', url: '/replaced?q=1' },
    { host: 'filters.example.com', path: '/rewrite-full', expect: 'b1', url: '/replaced' },
    { host: 'filters.example.com', path: '/rewrite-both/x?q=1', expect: 'b2', url: '/new/x?q=1', backendHost: 'both.example.org' },
    ...PREFIX_TABLE.map(([path, pair, modified]): Case => ({
      host: `rw${pair}.example.com`,
      path,
      expect: 'b1',
      url: modified,
      why: `prefix ${PREFIX_PAIRS[pair]![0]} → ${JSON.stringify(PREFIX_PAIRS[pair]![1])}`,
    })),
  ]);
});

test.serial('RequestHeaderModifier: set replaces, add appends with a comma, remove; names case-insensitive', async (t) => {
  const c = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => c.close());
  const r = await c.request(
    rawRequest({
      host: 'filters.example.com',
      path: '/reqhdr',
      headers: [
        ['x-set', 'old'],
        ['X-ADD', 'client'],
        ['x-remove', 'gone'],
        ['x-keep', 'kept'],
      ],
    }),
  );
  const echo = r.json();
  const lines = (name: string) => echo.rawHeaders.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);
  t.deepEqual(lines('x-set'), ['new'], JSON.stringify(echo.rawHeaders));
  t.deepEqual(lines('x-add'), ['client,added'], JSON.stringify(echo.rawHeaders));
  t.deepEqual(lines('x-fresh'), ['fresh']);
  t.deepEqual(lines('x-remove'), []);
  t.deepEqual(lines('x-keep'), ['kept']);
  // without the client's values: set and add both just set
  const r2 = await c.request(rawRequest({ host: 'filters.example.com', path: '/reqhdr' }));
  const e2 = r2.json();
  t.is(e2.headers['x-set'], 'new');
  t.is(e2.headers['x-add'], 'added');
  t.false('x-remove' in e2.headers);
});

test.serial('ResponseHeaderModifier: set, add (comma-appended), remove on the backend’s response', async (t) => {
  const c = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => c.close());
  const r = await c.request(
    rawRequest({
      host: 'filters.example.com',
      path: '/resphdr',
      headers: [['x-respond-header', 'x-resp-set=old, X-RESP-ADD=backend, x-resp-remove=gone, x-resp-keep=kept']],
    }),
  );
  t.is(r.status, 200);
  const lines = (name: string) => r.headers.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);
  t.deepEqual(lines('x-resp-set'), ['new'], JSON.stringify(r.headers));
  t.deepEqual(lines('x-resp-add'), ['backend,added'], JSON.stringify(r.headers));
  t.deepEqual(lines('x-resp-fresh'), ['fresh']);
  t.deepEqual(lines('x-resp-remove'), []);
  t.deepEqual(lines('x-resp-keep'), ['kept']);
  t.is(r.json().server, 'b1', 'the body is untouched');
});

// ---------------------------------------------------------------------------------------------
// Weights, timeouts

test.serial('weights 1:3:0 over 1000 requests on four connections: exactly 250 and 750, weight 0 never', async (t) => {
  const agents = [keepAliveAgent(), keepAliveAgent(), keepAliveAgent(), keepAliveAgent()];
  t.teardown(() => agents.forEach((a) => a.destroy()));
  const counts: Record<string, number> = {};
  const N = 1000;
  await Promise.all(
    agents.map(async (agent, k) => {
      for (let i = k; i < N; i += agents.length) {
        const r = await httpRequest(P, { host: 'weights.example.com', path: `/w/${i}`, agent });
        const name = r.status === 200 ? r.json().server : `status ${r.status}`;
        // four connections at once: each response must be the one to its own request
        if (r.status === 200 && r.json().url !== `/w/${i}`) counts.mixedUp = (counts.mixedUp ?? 0) + 1;
        counts[name] = (counts[name] ?? 0) + 1;
      }
    }),
  );
  // Requests take their turns from one rotation, whichever connection they come on: 1000 is a
  // whole number of 1+3 cycles. No b3 (weight 0), no mixed-up responses.
  t.deepEqual(counts, { b1: 250, b2: 750 });
});

test.serial('timeouts: backendRequest and request → 504; within the limits → 200', async (t) => {
  const go = async (path: string, delay: number) => {
    const t0 = Date.now();
    const r = await httpRequest(P, { host: 'timeouts.example.com', path, headers: { 'x-respond-delay-ms': String(delay) } });
    return { status: r.status, ms: Date.now() - t0, from: r.headers['x-served-by'] };
  };
  const [slowBackend, slowRequest, fastBackend, fastRequest, both] = await Promise.all([go('/backend', 2500), go('/request', 2500), go('/backend', 0), go('/request', 0), go('/both', 300)]);
  t.is(slowBackend.status, 504, 'backendRequest 500ms, backend needs 2500 ms');
  t.true(slowBackend.ms >= 450 && slowBackend.ms < 2000, `504 after ${slowBackend.ms} ms`);
  t.is(slowBackend.from, undefined);
  t.is(slowRequest.status, 504, 'request 500ms, backend needs 2500 ms');
  t.true(slowRequest.ms >= 450 && slowRequest.ms < 2000, `504 after ${slowRequest.ms} ms`);
  t.is(fastBackend.status, 200);
  t.is(fastRequest.status, 200);
  t.is(both.status, 200, 'request 5s / backendRequest 2s, backend needs 300 ms');
});

test.serial('after a 504 the late backend response never answers the next request on the connection', async (t) => {
  const c = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => c.close());
  const slow = await c.request(rawRequest({ host: 'timeouts.example.com', path: '/backend?n=1', headers: [['x-respond-delay-ms', '1000']] }));
  t.is(slow.status, 504);
  if ((slow.header('connection') ?? '').toLowerCase().includes('close')) {
    t.true((await c.waitClosed()).closed, '504 with Connection: close, then closed');
    return;
  }
  for (const n of [2, 3]) {
    const r = await c.request(rawRequest({ host: 'timeouts.example.com', path: `/backend?n=${n}` }));
    t.is(r.status, 200);
    t.is(r.json().url, `/backend?n=${n}`, 'the response belongs to this request');
  }
  // and once the late response would have arrived
  await new Promise((r) => setTimeout(r, 800));
  const r4 = await c.request(rawRequest({ host: 'timeouts.example.com', path: '/backend?n=4' }));
  t.is(r4.json().url, '/backend?n=4');
});

// ---------------------------------------------------------------------------------------------
// One connection, many backends

const chunkedBodyOf = (b: Buffer) => chunkedBody(b, 10);
const serverOf = (b: Buffer) => (JSON.parse(b.toString()) as EchoRecord).server;

test.serial('keep-alive: requests on one connection are routed one by one', async (t) => {
  const c = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => c.close());
  const seq: [host: string, path: string, expect: string][] = [
    ['paths.example.com', '/abc', 'b1'],
    ['paths.example.com', '/exact', 'b2'],
    ['headers.example.com', '/', 'b3'],
    ['paths.example.com', '/trail/1', 'b4'],
    ['paths.example.com', '/abc/exact', 'b5'],
    ['exact.example.com', '/again', 'b1'],
    [`a.wild.example.com:${P}`, '/w', 'b2'],
    ['paths.example.com', '/re/9', 'b3'],
  ];
  for (const [host, path, expect] of seq) {
    const r = await c.request(rawRequest({ host, path, headers: [['X-Seq', path]] }));
    t.is(r.status, 200, `${host}${path}`);
    const echo = r.json();
    t.is(echo.server, expect, `${host}${path}`);
    t.is(echo.url, path);
    t.is(echo.host, host);
    t.is(echo.headers['x-seq'], path);
  }
  // a POST with a body in the middle, and the connection goes on
  const body = Buffer.alloc(100_000, 7);
  const p = await c.request(rawRequest({ method: 'POST', host: 'method.example.com', path: '/post', body }));
  t.is(p.json().server, 'b1');
  t.is(p.json().bodyBytes, body.length);
  const last = await c.request(rawRequest({ host: 'paths.example.com', path: '/exact' }));
  t.is(serverOf(last.body), 'b2');
});

test.serial('pipelining: requests to different backends in one write come back in order', async (t) => {
  const c = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => c.close());
  const body = Buffer.from('x'.repeat(5000));
  await c.write(
    Buffer.concat([
      // the first is the slowest: its response must still come first
      rawRequest({ host: 'paths.example.com', path: '/abc/1', headers: [['x-respond-delay-ms', '300']] }),
      rawRequest({ method: 'POST', host: 'paths.example.com', path: '/exact', body }),
      rawRequest({ host: 'paths.example.com', path: '/re/7' }),
      rawRequest({ method: 'HEAD', host: 'paths.example.com', path: '/trail/h' }),
      rawRequest({ host: 'paths.example.com', path: '/nothing-here' }),
      rawRequest({ host: 'paths.example.com', path: '/abc/exact', headers: [['x-respond-chunked', '3']] }),
    ]),
  );
  const r1 = await c.readResponse();
  t.is(r1.json().server, 'b1');
  t.is(r1.json().url, '/abc/1');
  const r2 = await c.readResponse();
  t.is(r2.json().server, 'b2');
  t.is(r2.json().bodyBytes, body.length);
  const r3 = await c.readResponse();
  t.is(r3.json().server, 'b3');
  const r4 = await c.readResponse({ head: true });
  t.is(r4.status, 200);
  t.is(r4.header('x-served-by'), 'b4');
  const r5 = await c.readResponse();
  t.is(r5.status, 404);
  if ((r5.header('connection') ?? '').toLowerCase().includes('close')) {
    t.true((await c.waitClosed()).closed, '404 with Connection: close, then closed');
    return;
  }
  const r6 = await c.readResponse();
  t.is(r6.json().server, 'b5');
  t.is(r6.json().url, '/abc/exact');
});

test.serial('pipelining: 100 requests in one write, alternating over five backends, answered in order', async (t) => {
  const c = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => c.close());
  const targets: [path: string, server: string][] = [
    ['/abc/p', 'b1'],
    ['/exact', 'b2'],
    ['/re/1', 'b3'],
    ['/trail/p', 'b4'],
    ['/abc/exact', 'b5'],
  ];
  const reqs = Array.from({ length: 100 }, (_, i) => {
    const [path, server] = targets[(i * 3) % targets.length]!;
    return { path: `${path}?i=${i}`, server };
  });
  await c.write(Buffer.concat(reqs.map((r) => rawRequest({ host: 'paths.example.com', path: r.path }))));
  for (const [i, r] of reqs.entries()) {
    const res = await c.readResponse();
    const echo = res.json();
    t.is(`${echo.server} ${echo.url}`, `${r.server} ${r.path}`, `response ${i}`);
  }
});

test.serial('a request body is consumed when ugate answers itself (404, 500, redirect): nothing is smuggled', async (t) => {
  const smuggled = rawRequest({ host: 'paths.example.com', path: '/abc/smuggled' });
  const cases: [what: string, host: string, path: string, status: number][] = [
    ['404', 'paths.example.com', '/nothing-here', 404],
    ['500', 'errors.example.com', '/no-backends', 500],
    ['redirect', 'status.example.com', '/s/301', 301],
  ];
  for (const [what, host, path, status] of cases) {
    for (const chunked of [false, true]) {
      const label = `${what}, ${chunked ? 'chunked' : 'Content-Length'} body`;
      const c = await RawHttpConnection.open(OWN_LOOPBACK, P);
      try {
        const head = chunked
          ? rawRequest({ method: 'POST', host, path, headers: [['Transfer-Encoding', 'chunked']], body: chunkedBodyOf(smuggled), contentLength: false })
          : rawRequest({ method: 'POST', host, path, body: smuggled });
        await c.write(Buffer.concat([head, rawRequest({ host: 'paths.example.com', path: '/exact' })]));
        const r1 = await c.readResponse();
        t.is(r1.status, status, label);
        if ((r1.header('connection') ?? '').toLowerCase().includes('close')) {
          t.true((await c.waitClosed()).closed, `${label}: announced close`);
        } else {
          const r2 = await c.readResponse();
          t.is(`${r2.status} ${r2.status === 200 ? r2.json().url : ''}`, '200 /exact', `${label}: the next response is for the next request`);
        }
      } finally {
        c.close();
      }
    }
  }
  t.false(
    [b1, b2, b3, b4, b5].some((b) => b.requests.some((q) => q.path === '/abc/smuggled')),
    'a request hidden in a body reached a backend',
  );
});

test.serial('Expect: 100-continue on a request ugate answers itself: the final status comes without the body', async (t) => {
  const c = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => c.close());
  await c.write(rawRequest({ method: 'PUT', host: 'paths.example.com', path: '/nothing-here', headers: [['Expect', '100-continue'], ['Content-Length', '100000']] }));
  const r = await c.readResponse({ timeoutMs: 5000 });
  t.is(r.status, 404);
});

test.serial('the gateway is still serving at the end', async (t) => {
  const r = await httpRequest(P, { host: 'paths.example.com', path: '/abc/end' });
  t.is(r.status, 200);
  t.is(gw.proc.exitCode, null);
  t.deepEqual(
    [b1, b2, b3, b4, b5].flatMap((b) => b.errors),
    [],
    'no backend received a malformed request from ugate',
  );
});
