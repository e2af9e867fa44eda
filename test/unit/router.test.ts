import test from 'ava';
import fc from 'fast-check';
import { isIPv6 } from 'node:net';
import { loadConfig } from '../../src/config/load.ts';
import type { Action, Protocol } from '../../src/config/model.ts';
import { cidrContains, effectiveAddress, effectiveHost, formatHostPort, formatIP, formatIPv6, isIPLiteral, parseCidr, parseIP, parseIPv4, parseIPv6 } from '../../src/route/cidr.ts';
import { hostnameError, matchHostname, parseHostnamePattern } from '../../src/route/hostname.ts';
import { Router, type ConnectionFacts } from '../../src/route/router.ts';

// ---------------------------------------------------------------------------
// helpers

const LISTENERS = [
  { name: 'lan', type: 'redirect', listen: ['0.0.0.0:8080', '[::]:8080'] },
  { name: 'proxy', type: 'mixed', listen: '127.0.0.1:1080', default: 'reject' },
  { name: 'edge', type: 'sni', listen: ['[fd00::1]:443'], default: { forward: 'Backend.LOCAL:8443' } },
];

function routerFor(routes: unknown[], listeners: unknown[] = LISTENERS): Router {
  return new Router(loadConfig([['t.json', JSON.stringify({ listeners, routes })]]));
}

function ip(s: string): Uint8Array {
  const b = parseIP(s);
  if (!b) throw new Error(`bad test address ${s}`);
  return b;
}

interface FactsIn {
  listener?: string;
  protocol?: Protocol;
  host?: string | null;
  dst?: string | null;
  port?: number | null;
  src?: string;
}

const LISTENER_TYPES: Record<string, 'redirect' | 'mixed' | 'sni'> = { lan: 'redirect', proxy: 'mixed', edge: 'sni' };

function facts(f: FactsIn = {}): ConnectionFacts {
  const listener = f.listener ?? 'lan';
  return {
    listener,
    listenerType: LISTENER_TYPES[listener] ?? 'redirect',
    protocol: f.protocol ?? 'tls',
    host: f.host === undefined ? null : f.host,
    dstIp: f.dst === undefined ? ip('93.184.216.34') : f.dst === null ? null : ip(f.dst),
    dstPort: f.port === undefined ? 443 : f.port,
    srcIp: ip(f.src ?? '192.168.1.10'),
  };
}

const PASS: Action = { type: 'passthrough' };
const REJECT: Action = { type: 'reject' };
const fwd = (host: string, port: number): Action => ({ type: 'forward', backend: { host, port } });

function describeFacts(f: FactsIn): string {
  return JSON.stringify(f);
}

// ---------------------------------------------------------------------------
// one rule: does each match field accept exactly what it should?

const SINGLE_RULE: [match: Record<string, unknown>, f: FactsIn, matches: boolean][] = [
  // no match fields at all: everything matches
  [{}, {}, true],
  [{}, { host: null, dst: null, port: null, listener: 'edge', protocol: 'opaque' }, true],
  // listeners
  [{ listeners: ['lan'] }, { listener: 'lan' }, true],
  [{ listeners: ['lan'] }, { listener: 'proxy', protocol: 'socks5' }, false],
  [{ listeners: ['proxy', 'edge'] }, { listener: 'edge' }, true],
  // protocols
  [{ protocols: ['tls'] }, { protocol: 'tls' }, true],
  [{ protocols: ['tls'] }, { protocol: 'http2' }, false],
  [{ protocols: ['http', 'ssh'] }, { protocol: 'ssh' }, true],
  [{ protocols: ['http', 'ssh'] }, { protocol: 'http' }, true],
  [{ protocols: ['http', 'ssh'] }, { protocol: 'opaque' }, false],
  [{ protocols: ['socks5', 'connect'] }, { listener: 'proxy', protocol: 'connect' }, true],
  // dstPorts: single ports and ranges (inclusive), numbers and strings
  [{ dstPorts: [443] }, { port: 443 }, true],
  [{ dstPorts: [443] }, { port: 444 }, false],
  [{ dstPorts: [443] }, { port: null }, false],
  [{ dstPorts: ['443'] }, { port: 443 }, true],
  [{ dstPorts: [22, '8000-8099'] }, { port: 22 }, true],
  [{ dstPorts: [22, '8000-8099'] }, { port: 8000 }, true],
  [{ dstPorts: [22, '8000-8099'] }, { port: 8050 }, true],
  [{ dstPorts: [22, '8000-8099'] }, { port: 8099 }, true],
  [{ dstPorts: [22, '8000-8099'] }, { port: 7999 }, false],
  [{ dstPorts: [22, '8000-8099'] }, { port: 8100 }, false],
  [{ dstPorts: [22, '8000-8099'] }, { port: 23 }, false],
  [{ dstPorts: ['1-65535'] }, { port: 1 }, true],
  [{ dstPorts: ['1-65535'] }, { port: 65535 }, true],
  [{ dstPorts: ['1-65535'] }, { port: null }, false],
  [{ dstPorts: ['80-80'] }, { port: 80 }, true],
  // dstCidrs, IPv4
  [{ dstCidrs: ['10.0.0.0/8'] }, { dst: '10.1.2.3' }, true],
  [{ dstCidrs: ['10.0.0.0/8'] }, { dst: '10.255.255.255' }, true],
  [{ dstCidrs: ['10.0.0.0/8'] }, { dst: '11.0.0.0' }, false],
  [{ dstCidrs: ['10.0.0.0/8'] }, { dst: '9.255.255.255' }, false],
  [{ dstCidrs: ['10.0.0.0/8'] }, { dst: null }, false],
  [{ dstCidrs: ['10.0.0.0/8'] }, { dst: '::ffff:10.1.2.3' }, true],
  [{ dstCidrs: ['10.0.0.0/8'] }, { dst: '::ffff:11.1.2.3' }, false],
  [{ dstCidrs: ['10.0.0.0/8'] }, { dst: '::a01:203' }, false], // v4-compatible (not mapped) is IPv6
  [{ dstCidrs: ['10.0.0.0/8'] }, { dst: '2001:db8::a01:203' }, false],
  [{ dstCidrs: ['10.0.0.0/9'] }, { dst: '10.127.255.255' }, true],
  [{ dstCidrs: ['10.0.0.0/9'] }, { dst: '10.128.0.0' }, false],
  [{ dstCidrs: ['192.168.1.128/25'] }, { dst: '192.168.1.128' }, true],
  [{ dstCidrs: ['192.168.1.128/25'] }, { dst: '192.168.1.255' }, true],
  [{ dstCidrs: ['192.168.1.128/25'] }, { dst: '192.168.1.127' }, false],
  [{ dstCidrs: ['192.168.1.1/31'] }, { dst: '192.168.1.0' }, true], // host bits in the prefix are ignored
  [{ dstCidrs: ['93.184.216.34'] }, { dst: '93.184.216.34' }, true], // bare address: /32
  [{ dstCidrs: ['93.184.216.34'] }, { dst: '93.184.216.35' }, false],
  [{ dstCidrs: ['0.0.0.0/0'] }, { dst: '255.255.255.255' }, true],
  [{ dstCidrs: ['0.0.0.0/0'] }, { dst: '::ffff:1.2.3.4' }, true],
  [{ dstCidrs: ['0.0.0.0/0'] }, { dst: '2001:db8::1' }, false],
  // dstCidrs, IPv6
  [{ dstCidrs: ['2001:db8::/32'] }, { dst: '2001:db8:ffff::1' }, true],
  [{ dstCidrs: ['2001:db8::/32'] }, { dst: '2001:db9::' }, false],
  [{ dstCidrs: ['2001:db8::/32'] }, { dst: '10.0.0.1' }, false],
  [{ dstCidrs: ['2001:db8:8000::/33'] }, { dst: '2001:db8:8000::' }, true],
  [{ dstCidrs: ['2001:db8:8000::/33'] }, { dst: '2001:db8:7fff:ffff::' }, false],
  [{ dstCidrs: ['2001:db8::1'] }, { dst: '2001:db8::1' }, true], // bare address: /128
  [{ dstCidrs: ['2001:db8::1'] }, { dst: '2001:db8::2' }, false],
  [{ dstCidrs: ['fe80::1%eth0/128'] }, { dst: 'fe80::1' }, true], // zone id ignored
  [{ dstCidrs: ['::/0'] }, { dst: 'ffff::1' }, true],
  [{ dstCidrs: ['::/0'] }, { dst: '10.0.0.1' }, false],
  [{ dstCidrs: ['10.0.0.0/8', 'FD00::/8'] }, { dst: 'fdab::1' }, true],
  [{ dstCidrs: ['10.0.0.0/8', 'fd00::/8'] }, { dst: '10.9.9.9' }, true],
  [{ dstCidrs: ['10.0.0.0/8', 'fd00::/8'] }, { dst: 'fe00::1' }, false],
  // an IPv4-mapped CIDR compares as IPv4 too
  [{ dstCidrs: ['::ffff:10.0.0.0/104'] }, { dst: '10.1.2.3' }, true],
  [{ dstCidrs: ['::ffff:10.0.0.0/104'] }, { dst: '::ffff:10.1.2.3' }, true],
  [{ dstCidrs: ['::ffff:10.0.0.0/104'] }, { dst: '11.1.2.3' }, false],
  [{ dstCidrs: ['::ffff:0:0/96'] }, { dst: '1.2.3.4' }, true],
  [{ dstCidrs: ['::ffff:0:0/96'] }, { dst: '2001:db8::1' }, false],
  // srcCidrs
  [{ srcCidrs: ['192.168.1.0/24'] }, { src: '192.168.1.200' }, true],
  [{ srcCidrs: ['192.168.1.0/24'] }, { src: '::ffff:192.168.1.200' }, true],
  [{ srcCidrs: ['192.168.1.0/24'] }, { src: '192.168.2.1' }, false],
  [{ srcCidrs: ['192.168.1.0/24'] }, { src: 'fe80::1' }, false],
  [{ srcCidrs: ['192.168.1.10'] }, { src: '192.168.1.10' }, true],
  [{ srcCidrs: ['fe80::/10'] }, { src: 'fe80::1' }, true],
  [{ srcCidrs: ['fe80::/10'] }, { src: 'febf:ffff::1' }, true],
  [{ srcCidrs: ['fe80::/10'] }, { src: 'fec0::1' }, false],
  [{ srcCidrs: ['fe80::/10'] }, { src: '192.168.1.10' }, false],
  [{ srcCidrs: ['fe80::/10', '10.0.0.0/8'] }, { src: '10.0.0.1', dst: null, port: null }, true],
  // hosts: a host rule never matches facts without a host
  [{ hosts: ['example.com'] }, { host: 'example.com' }, true],
  [{ hosts: ['example.com'] }, { host: null }, false],
  [{ hosts: ['example.com'] }, { host: 'www.example.com' }, false],
  [{ hosts: ['*.example.com'] }, { host: null }, false],
  [{ hosts: ['*.example.com'] }, { host: 'a.example.com' }, true],
  [{ hosts: ['*.example.com'] }, { host: 'a.b.example.com' }, true],
  [{ hosts: ['*.example.com'] }, { host: 'example.com' }, false],
  [{ hosts: ['*.example.com'] }, { host: 'aexample.com' }, false],
  [{ hosts: ['*.example.com'] }, { host: 'a.example.com.evil' }, false],
  [{ hosts: ['*.example.com'] }, { host: '.example.com' }, false],
  [{ hosts: ['*.EXAMPLE.Com.'] }, { host: 'x.example.com' }, true], // patterns are case-insensitive, FQDN dot dropped
  [{ hosts: ['Example.COM'] }, { host: 'example.com' }, true],
  [{ hosts: ['a.test', '*.b.test'] }, { host: 'x.b.test' }, true],
  [{ hosts: ['a.test', '*.b.test'] }, { host: 'a.test' }, true],
  [{ hosts: ['a.test', '*.b.test'] }, { host: 'b.test' }, false],
  [{ hosts: ['*.com'] }, { host: 'com' }, false],
  [{ hosts: ['*.com'] }, { host: 'example.com' }, true],
  // every field must match
  ...(() => {
    const all = { listeners: ['lan'], protocols: ['tls'], hosts: ['*.example.com'], dstPorts: ['443-444'], dstCidrs: ['93.184.216.0/24'], srcCidrs: ['192.168.0.0/16'] };
    const good: FactsIn = { listener: 'lan', protocol: 'tls', host: 'www.example.com', port: 443, dst: '93.184.216.34', src: '192.168.1.10' };
    const rows: [Record<string, unknown>, FactsIn, boolean][] = [[all, good, true]];
    const spoil: FactsIn[] = [
      { listener: 'edge' },
      { protocol: 'http' },
      { host: 'example.com' },
      { host: null },
      { port: 80 },
      { port: null },
      { dst: '93.184.217.1' },
      { dst: null },
      { src: '10.0.0.1' },
    ];
    for (const s of spoil) rows.push([all, { ...good, ...s }, false]);
    return rows;
  })(),
];

test('table: a single rule matches exactly the facts it should', (t) => {
  for (const [match, f, matches] of SINGLE_RULE) {
    const r = routerFor([{ name: 'r', match, action: { forward: '10.9.9.9:1' } }]);
    const d = r.route(facts(f));
    const label = `${JSON.stringify(match)} vs ${describeFacts(f)}`;
    if (matches) t.deepEqual(d, { route: 'r', action: fwd('10.9.9.9', 1) }, label);
    else t.is(d.route, null, label);
  }
});

// ---------------------------------------------------------------------------
// hostname specificity: exact > longer wildcard > shorter wildcard > no host match

const SPECIFICITY_ROUTES = [
  { name: 'any-tls', match: { protocols: ['tls'] }, action: 'passthrough' },
  { name: 'wild-com', match: { hosts: ['*.com'] }, action: 'reject' },
  { name: 'wild-example', match: { hosts: ['*.example.com'] }, action: { forward: 'w1.internal:1' } },
  { name: 'wild-b-example', match: { hosts: ['*.b.example.com'] }, action: { forward: 'w2.internal:2' } },
  { name: 'exact-b', match: { hosts: ['b.example.com'] }, action: { forward: 'e1.internal:3' } },
  { name: 'exact-ab', match: { hosts: ['a.b.example.com', 'other.test'] }, action: { forward: '[2001:db8::e2]:4' } },
];

const SPECIFICITY_TABLE: [f: FactsIn, route: string | null][] = [
  [{ host: 'a.b.example.com' }, 'exact-ab'],
  [{ host: 'x.b.example.com' }, 'wild-b-example'],
  [{ host: 'y.x.b.example.com' }, 'wild-b-example'],
  [{ host: 'b.example.com' }, 'exact-b'],
  [{ host: 'c.example.com' }, 'wild-example'],
  [{ host: 'x.y.c.example.com' }, 'wild-example'],
  [{ host: 'example.com' }, 'wild-com'],
  [{ host: 'notexample.com' }, 'wild-com'],
  [{ host: 'com' }, 'any-tls'],
  [{ host: 'other.test' }, 'exact-ab'],
  [{ host: 'x.other.test' }, 'any-tls'],
  [{ host: null }, 'any-tls'],
  // host rules do not constrain the protocol, the protocol-only rule does
  [{ host: 'c.example.com', protocol: 'http' }, 'wild-example'],
  [{ host: 'a.b.example.com', protocol: 'ssh' }, 'exact-ab'],
  [{ host: 'zzz.org', protocol: 'http' }, null],
  [{ host: null, protocol: 'http2' }, null],
];

const SPECIFICITY_ACTIONS: Record<string, Action> = {
  'any-tls': PASS,
  'wild-com': REJECT,
  'wild-example': fwd('w1.internal', 1),
  'wild-b-example': fwd('w2.internal', 2),
  'exact-b': fwd('e1.internal', 3),
  'exact-ab': fwd('2001:db8::e2', 4),
};

function checkSpecificity(t: import('ava').ExecutionContext, routes: unknown[], label: string): void {
  const r = routerFor(routes);
  for (const [f, route] of SPECIFICITY_TABLE) {
    const d = r.route(facts(f));
    t.deepEqual(d, { route, action: route === null ? PASS : SPECIFICITY_ACTIONS[route]! }, `${label}: ${describeFacts(f)}`);
  }
}

test('table: the most specific hostname wins, in config order', (t) => {
  checkSpecificity(t, SPECIFICITY_ROUTES, 'config order');
});

test('table: the most specific hostname wins, in reverse order', (t) => {
  checkSpecificity(t, [...SPECIFICITY_ROUTES].reverse(), 'reversed');
});

test('property: the most specific hostname wins in any rule order', (t) => {
  fc.assert(
    fc.property(fc.shuffledSubarray(SPECIFICITY_ROUTES, { minLength: SPECIFICITY_ROUTES.length }), (routes) => {
      checkSpecificity(t, routes, routes.map((r) => r.name).join(','));
    }),
    { numRuns: 40 },
  );
});

test('ties go to the first rule in config order', (t) => {
  const a = { name: 'a', match: { hosts: ['*.example.com', 'foo.test'] }, action: 'reject' };
  const b = { name: 'b', match: { hosts: ['*.EXAMPLE.com'] }, action: 'passthrough' };
  const c = { name: 'c', match: { dstPorts: [443] }, action: 'reject' };
  const d = { name: 'd', match: { protocols: ['tls'] }, action: 'passthrough' };
  const rows: [routes: unknown[], f: FactsIn, route: string | null][] = [
    [[a, b], { host: 'x.example.com' }, 'a'],
    [[b, a], { host: 'x.example.com' }, 'b'],
    [[a, b], { host: 'foo.test' }, 'a'],
    [[c, d], { host: null }, 'c'],
    [[d, c], { host: null }, 'd'],
    [[c, d], { host: 'x.example.com' }, 'c'],
    // any host match beats any number of matching non-host fields
    [[c, d, b], { host: 'x.example.com' }, 'b'],
    [[c, d, b], { host: 'example.com' }, 'c'],
    // a non-host rule that does not match never wins over the default
    [[c], { port: 80 }, null],
  ];
  for (const [routes, f, route] of rows) {
    t.is(routerFor(routes).route(facts(f)).route, route, `${(routes as { name: string }[]).map((r) => r.name).join(',')}: ${describeFacts(f)}`);
  }
});

test('a wildcard outranks every shorter wildcard, an exact name every wildcard', (t) => {
  // A long wildcard suffix versus a short exact name on the same host.
  const long = 'a'.repeat(60) + '.' + 'b'.repeat(60) + '.' + 'c'.repeat(60) + '.example';
  const r = routerFor([
    { name: 'wild-long', match: { hosts: [`*.${long}`] }, action: 'reject' },
    { name: 'exact', match: { hosts: [`x.${long}`] }, action: 'passthrough' },
    { name: 'wild-short', match: { hosts: ['*.example'] }, action: 'reject' },
  ]);
  t.is(r.route(facts({ host: `x.${long}` })).route, 'exact');
  t.is(r.route(facts({ host: `y.${long}` })).route, 'wild-long');
  t.is(r.route(facts({ host: `y.example` })).route, 'wild-short');
});

// ---------------------------------------------------------------------------
// listener defaults

test('table: the listener default applies when nothing matches', (t) => {
  const routes = [
    { name: 'lan-only', match: { listeners: ['lan'], hosts: ['blocked.test'] }, action: 'reject' },
    { name: 'ssh', match: { protocols: ['ssh'] }, action: { forward: '192.168.1.2:22' } },
  ];
  const r = routerFor(routes);
  const rows: [FactsIn, string | null, Action][] = [
    [{ listener: 'lan', host: 'blocked.test' }, 'lan-only', REJECT],
    [{ listener: 'lan', host: 'fine.test' }, null, PASS],
    [{ listener: 'proxy', protocol: 'connect', host: 'blocked.test' }, null, REJECT],
    [{ listener: 'proxy', protocol: 'socks5', host: 'fine.test' }, null, REJECT],
    [{ listener: 'edge', host: 'blocked.test' }, null, fwd('backend.local', 8443)],
    [{ listener: 'edge', protocol: 'ssh' }, 'ssh', fwd('192.168.1.2', 22)],
  ];
  for (const [f, route, action] of rows) t.deepEqual(r.route(facts(f)), { route, action }, describeFacts(f));
  // without any routes
  const bare = routerFor([]);
  t.deepEqual(bare.route(facts({ listener: 'lan' })), { route: null, action: PASS });
  t.deepEqual(bare.route(facts({ listener: 'proxy' })), { route: null, action: REJECT });
  t.deepEqual(bare.route(facts({ listener: 'edge' })), { route: null, action: fwd('backend.local', 8443) });
  t.throws(() => bare.route(facts({ listener: 'nope' })), { message: /no listener named "nope"/ });
});

test('IPv6 everywhere: bind addresses, CIDRs, backends and facts', (t) => {
  const listeners = [
    { name: 'v6', type: 'redirect', listen: ['[::]:8080', '[fd00::1]:8443', '[::1]:0'], default: { forward: '[fd00::53]:53' } },
  ];
  const routes = [
    { name: 'ula-from-doc', match: { srcCidrs: ['2001:db8::/32'], dstCidrs: ['fd00::/8'] }, action: { forward: '[2001:DB8::AB]:8443' } },
    { name: 'link-local', match: { dstCidrs: ['fe80::/10'], dstPorts: ['1-1024'] }, action: 'reject' },
    { name: 'by-host', match: { hosts: ['*.v6.test'], srcCidrs: ['::/0'] }, action: 'passthrough' },
  ];
  const config = loadConfig([['t.json', JSON.stringify({ listeners, routes })]]);
  t.deepEqual(config.listeners[0]!.listen, [
    { host: '::', port: 8080 },
    { host: 'fd00::1', port: 8443 },
    { host: '::1', port: 0 },
  ]);
  const r = new Router(config);
  const f = (o: Partial<ConnectionFacts>): ConnectionFacts => ({
    listener: 'v6',
    listenerType: 'redirect',
    protocol: 'tls',
    host: null,
    dstIp: ip('fd12::1'),
    dstPort: 443,
    srcIp: ip('2001:db8:1::5'),
    ...o,
  });
  t.deepEqual(r.route(f({})), { route: 'ula-from-doc', action: fwd('2001:db8::ab', 8443) });
  t.deepEqual(r.route(f({ srcIp: ip('2001:db9::5') })), { route: null, action: fwd('fd00::53', 53) });
  t.deepEqual(r.route(f({ dstIp: ip('fe80::9'), dstPort: 80 })), { route: 'link-local', action: REJECT });
  t.deepEqual(r.route(f({ dstIp: ip('fe80::9'), dstPort: 8080 })), { route: null, action: fwd('fd00::53', 53) });
  t.deepEqual(r.route(f({ host: 'a.v6.test' })), { route: 'by-host', action: PASS });
  // "::/0" is every IPv6 source, not an IPv4 one
  t.deepEqual(r.route(f({ host: 'a.v6.test', srcIp: ip('10.0.0.1') })), { route: null, action: fwd('fd00::53', 53) });
});

// ---------------------------------------------------------------------------
// hostname.ts

test('parseHostnamePattern: exact and wildcard, normalized', (t) => {
  t.deepEqual(parseHostnamePattern('Example.COM'), { suffix: 'example.com', wildcard: false, source: 'Example.COM' });
  t.deepEqual(parseHostnamePattern('*.Example.com.'), { suffix: 'example.com', wildcard: true, source: '*.Example.com.' });
  t.deepEqual(parseHostnamePattern('*.com'), { suffix: 'com', wildcard: true, source: '*.com' });
  t.deepEqual(parseHostnamePattern('localhost'), { suffix: 'localhost', wildcard: false, source: 'localhost' });
  t.is(parseHostnamePattern('a_b.x-y.test').suffix, 'a_b.x-y.test');
  t.is(parseHostnamePattern('10.0.0.1').suffix, '10.0.0.1'); // an HTTP Host may be an address
});

test('parseHostnamePattern: errors', (t) => {
  const bad: [string, RegExp][] = [
    ['', /must be 1 to 253 characters/],
    ['*', /wildcard is only allowed as the whole first label/],
    ['*.', /wildcard is only allowed/],
    ['**.example.com', /wildcard is only allowed/],
    ['a.*.example.com', /wildcard is only allowed/],
    ['foo*.example.com', /wildcard is only allowed/],
    ['*foo.example.com', /wildcard is only allowed/],
    ['*.*.example.com', /wildcard is only allowed/],
    ['a..b', /invalid label ""/],
    ['.a.b', /invalid label ""/],
    ['-a.com', /invalid label "-a"/],
    ['a-.com', /invalid label "a-"/],
    ['a b.com', /invalid label "a b"/],
    ['exa:mple.com', /invalid label/],
    ['[::1]', /invalid label/],
    ['ex\u00e4mple.com', /invalid label/],
    [`${'a'.repeat(64)}.com`, /invalid label/],
    [Array(64).fill('abc').join('.'), /must be 1 to 253 characters/], // 255 characters
  ];
  for (const [s, msg] of bad) {
    const e = t.throws(() => parseHostnamePattern(s), undefined, JSON.stringify(s));
    t.regex(e!.message, msg, JSON.stringify(s));
    t.true(e!.message.startsWith(JSON.stringify(s)), e!.message);
  }
  t.is(hostnameError(`${'a'.repeat(63)}.com`), null);
  t.is(hostnameError(Array(63).fill('abc').join('.') + '.a'), null); // 253 characters
});

test('matchHostname scores', (t) => {
  const exact = parseHostnamePattern('a.example.com');
  const wild = parseHostnamePattern('*.example.com');
  t.is(matchHostname(exact, 'a.example.com'), 100_000 + 'a.example.com'.length);
  t.is(matchHostname(exact, 'b.example.com'), -1);
  t.is(matchHostname(exact, 'x.a.example.com'), -1);
  t.is(matchHostname(wild, 'a.example.com'), 'example.com'.length);
  t.is(matchHostname(wild, 'x.y.example.com'), 'example.com'.length);
  t.is(matchHostname(wild, 'example.com'), -1);
  t.is(matchHostname(wild, 'xexample.com'), -1);
  t.is(matchHostname(wild, '.example.com'), -1);
  const longSuffix = Array(4).fill('x'.repeat(60)).join('.');
  t.is(matchHostname(parseHostnamePattern(`*.${longSuffix}`), `a.${longSuffix}`), longSuffix.length);
  t.true(matchHostname(exact, 'a.example.com') > matchHostname(parseHostnamePattern(`*.${longSuffix}`), `a.${longSuffix}`));
});

test('property: wildcard matching is exactly "one or more labels in front of the suffix"', (t) => {
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
  const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
  fc.assert(
    fc.property(name, name, (suffix, host) => {
      const p = parseHostnamePattern(`*.${suffix}`);
      const expected = host.endsWith(`.${suffix}`);
      t.is(matchHostname(p, host) >= 0, expected, `*.${suffix} vs ${host}`);
      t.is(matchHostname(p, `${host}.${suffix}`), suffix.length);
      t.is(matchHostname(p, suffix), -1);
      t.is(matchHostname(parseHostnamePattern(host), host) > 100_000, true);
    }),
    { numRuns: 300 },
  );
});

// ---------------------------------------------------------------------------
// cidr.ts

const b = (...xs: number[]) => Uint8Array.from(xs);

test('parseIPv4', (t) => {
  t.deepEqual(parseIPv4('1.2.3.4'), b(1, 2, 3, 4));
  t.deepEqual(parseIPv4('0.0.0.0'), b(0, 0, 0, 0));
  t.deepEqual(parseIPv4('255.255.255.255'), b(255, 255, 255, 255));
  t.deepEqual(parseIPv4('10.0.100.200'), b(10, 0, 100, 200));
  for (const s of [
    '',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.',
    '.1.2.3',
    '1..2.3',
    '256.0.0.1',
    '1.2.3.999',
    '01.2.3.4', // leading zeros could be read as octal: rejected
    '1.2.3.04',
    '1.2.3.00',
    '0x1.2.3.4',
    '1e2.2.3.4',
    '+1.2.3.4',
    '-1.2.3.4',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1.2.3.4/8',
    '1.2.3.4:80',
    '1234.1.1.1',
    '\u0661.2.3.4', // Arabic-Indic digit one
    '::1',
  ]) {
    t.is(parseIPv4(s), null, JSON.stringify(s));
  }
});

const v6 = (...groups: number[]): Uint8Array => {
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
};

test('parseIPv6: valid forms', (t) => {
  const rows: [string, Uint8Array][] = [
    ['::', v6()],
    ['::1', v6(0, 0, 0, 0, 0, 0, 0, 1)],
    ['1::', v6(1)],
    ['1:2:3:4:5:6:7:8', v6(1, 2, 3, 4, 5, 6, 7, 8)],
    ['2001:DB8::Ab:0', v6(0x2001, 0xdb8, 0, 0, 0, 0, 0xab, 0)],
    ['1:2:3:4:5:6:7::', v6(1, 2, 3, 4, 5, 6, 7, 0)],
    ['::2:3:4:5:6:7:8', v6(0, 2, 3, 4, 5, 6, 7, 8)],
    ['1::8', v6(1, 0, 0, 0, 0, 0, 0, 8)],
    ['0000:0000:0000:0000:0000:0000:0000:0001', v6(0, 0, 0, 0, 0, 0, 0, 1)],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', v6(...Array(8).fill(0xffff))],
    ['::ffff:1.2.3.4', v6(0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304)],
    ['::FFFF:255.255.255.255', v6(0, 0, 0, 0, 0, 0xffff, 0xffff, 0xffff)],
    ['::1.2.3.4', v6(0, 0, 0, 0, 0, 0, 0x0102, 0x0304)],
    ['64:ff9b::192.0.2.33', v6(0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221)],
    ['1:2:3:4:5:6:1.2.3.4', v6(1, 2, 3, 4, 5, 6, 0x0102, 0x0304)],
    ['fe80::1%eth0', v6(0xfe80, 0, 0, 0, 0, 0, 0, 1)], // zone id dropped
    ['fe80::1%2', v6(0xfe80, 0, 0, 0, 0, 0, 0, 1)],
  ];
  for (const [s, bytes] of rows) t.deepEqual(parseIPv6(s), bytes, s);
});

test('parseIPv6: invalid forms', (t) => {
  for (const s of [
    '',
    ':',
    ':::',
    '1:2:3:4:5:6:7', // too few groups
    '1:2:3:4:5:6:7:8:9', // too many groups
    '1:2:3:4:5:6:7:8::', // "::" must stand for at least one group
    '::1:2:3:4:5:6:7:8',
    '1:2:3:4::5:6:7:8',
    '1::2::3',
    '1:::2',
    ':1::',
    '::1:',
    ':1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7:8:',
    '12345::',
    'g::',
    '::-1',
    '::+1',
    '1.2.3.4', // IPv4 is not IPv6
    '::ffff:1.2.3.256',
    '::ffff:01.2.3.4',
    '::ffff:1.2.3',
    '1:2:3:4:5:6:7:1.2.3.4', // the IPv4 tail takes two groups
    '1.2.3.4::',
    '::1.2.3.4:5',
    '[::1]',
    '%eth0',
    ' ::1',
    '::1 ',
  ]) {
    t.is(parseIPv6(s), null, JSON.stringify(s));
  }
});

test('parseIP / isIPLiteral pick the family by the presence of ":"', (t) => {
  t.is(parseIP('1.2.3.4')!.length, 4);
  t.is(parseIP('::ffff:1.2.3.4')!.length, 16);
  t.true(isIPLiteral('::'));
  t.true(isIPLiteral('127.0.0.1'));
  t.false(isIPLiteral('localhost'));
  t.false(isIPLiteral('1.2.3.4.5'));
  t.false(isIPLiteral(''));
});

test('parseCidr', (t) => {
  t.deepEqual(parseCidr('10.0.0.0/8'), { bytes: b(10, 0, 0, 0), bits: 8, source: '10.0.0.0/8' });
  t.deepEqual(parseCidr('10.1.2.3'), { bytes: b(10, 1, 2, 3), bits: 32, source: '10.1.2.3' });
  t.deepEqual(parseCidr('0.0.0.0/0'), { bytes: b(0, 0, 0, 0), bits: 0, source: '0.0.0.0/0' });
  t.deepEqual(parseCidr('fd00::/8'), { bytes: v6(0xfd00), bits: 8, source: 'fd00::/8' });
  t.deepEqual(parseCidr('::1'), { bytes: v6(0, 0, 0, 0, 0, 0, 0, 1), bits: 128, source: '::1' });
  t.is(parseCidr('::/128').bits, 128);
  // an IPv4-mapped prefix of at least 96 bits is stored as the IPv4 prefix it denotes
  t.deepEqual(parseCidr('::ffff:10.0.0.0/104'), { bytes: b(10, 0, 0, 0), bits: 8, source: '::ffff:10.0.0.0/104' });
  t.deepEqual(parseCidr('::ffff:0:0/96'), { bytes: b(0, 0, 0, 0), bits: 0, source: '::ffff:0:0/96' });
  t.is(parseCidr('::ffff:0:0/95').bytes.length, 16);
  const bad: [string, RegExp][] = [
    ['', /not an IPv4 or IPv6 address/],
    ['/8', /not an IPv4 or IPv6 address/],
    ['example.com/8', /not an IPv4 or IPv6 address/],
    ['10.0.0/8', /not an IPv4 or IPv6 address/],
    ['010.0.0.0/8', /not an IPv4 or IPv6 address/],
    ['10.0.0.0/33', /prefix length must be 0 to 32/],
    ['10.0.0.0/', /prefix length must be 0 to 32/],
    ['10.0.0.0/-1', /prefix length must be 0 to 32/],
    ['10.0.0.0/8/8', /prefix length must be 0 to 32/],
    ['10.0.0.0/ 8', /prefix length must be 0 to 32/],
    ['10.0.0.0/1.5', /prefix length must be 0 to 32/],
    ['10.0.0.0/0x8', /prefix length must be 0 to 32/],
    ['10.0.0.0/1000', /prefix length must be 0 to 32/],
    ['::/129', /prefix length must be 0 to 128/],
    ['fd00::/', /prefix length must be 0 to 128/],
    ['[fd00::]/8', /not an IPv4 or IPv6 address/],
  ];
  for (const [s, msg] of bad) {
    const e = t.throws(() => parseCidr(s), undefined, JSON.stringify(s));
    t.regex(e!.message, msg, JSON.stringify(s));
    t.true(e!.message.startsWith(`"${s}"`), e!.message);
  }
});

test('cidrContains: v4-mapped IPv6 addresses compare as IPv4', (t) => {
  t.true(cidrContains(parseCidr('192.0.2.0/24'), ip('::ffff:192.0.2.7')));
  t.false(cidrContains(parseCidr('192.0.2.0/24'), ip('::ffff:192.0.3.7')));
  t.false(cidrContains(parseCidr('::/0'), ip('::ffff:192.0.2.7')));
  t.true(cidrContains(parseCidr('::/0'), ip('::192.0.2.7'))); // deprecated v4-compatible stays IPv6
  t.true(cidrContains(parseCidr('0.0.0.0/0'), ip('0.0.0.0')));
});

test('formatHostPort brackets IPv6', (t) => {
  t.is(formatHostPort('1.2.3.4', 80), '1.2.3.4:80');
  t.is(formatHostPort('::1', 80), '[::1]:80');
  t.is(formatHostPort('example.com', 443), 'example.com:443');
});

// ---------------------------------------------------------------------------
// IPv6 text ↔ bytes

test('formatIPv6: RFC 5952 canonical text', (t) => {
  const rows: [Uint8Array, string][] = [
    [v6(), '::'],
    [v6(0, 0, 0, 0, 0, 0, 0, 1), '::1'],
    [v6(1), '1::'],
    [v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), '2001:db8::1'],
    [v6(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1), '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    [v6(0x2001, 0, 0, 1, 0, 0, 0, 1), '2001:0:0:1::1'], // the longest run wins
    [v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1), '2001:db8::1:0:0:1'], // first of equal runs
    [v6(0xabcd, 0xef01, 0x0203, 0x0405, 0x0607, 0x0809, 0x0a0b, 0x0c0d), 'abcd:ef01:203:405:607:809:a0b:c0d'],
    [v6(0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304), '::ffff:102:304'],
  ];
  for (const [bytes, s] of rows) t.is(formatIPv6(bytes), s);
});

/** The WHATWG URL serializer also produces RFC 5952 compression: a reference to compare with. */
function urlCanonical(bytes: Uint8Array): string {
  const full = Array.from({ length: 8 }, (_, i) => ((bytes[i * 2]! << 8) | bytes[i * 2 + 1]!).toString(16)).join(':');
  return new URL(`http://[${full}]/`).hostname.slice(1, -1);
}

test('property: parseIPv6(formatIPv6(x)) round-trips, and the text is canonical', (t) => {
  // Bias towards zero groups, where compression happens.
  const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
  const addr = fc.oneof(
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    fc.array(group, { minLength: 8, maxLength: 8 }).map((gs) => v6(...gs)),
  );
  fc.assert(
    fc.property(addr, (bytes) => {
      const text = formatIPv6(bytes);
      t.deepEqual(parseIPv6(text), bytes, text);
      t.is(text, urlCanonical(bytes));
      t.true(isIPv6(text), text);
    }),
    { numRuns: 1000 },
  );
});

test('property: parseIPv6 agrees with node:net isIPv6 on IPv6-like text', (t) => {
  const piece = fc.constantFrom('0', '1', 'f', 'ff', 'ffff', '12345', '', ':', '::', '.', '1.2.3.4', '255', '256', 'g');
  const text = fc.array(piece, { maxLength: 12 }).map((ps) => ps.join(':'));
  fc.assert(
    fc.property(text, (s) => {
      t.is(parseIPv6(s) !== null, isIPv6(s), JSON.stringify(s));
    }),
    { numRuns: 2000 },
  );
});

// ---------------------------------------------------------------------------
// The address the kernel connects to

test('effectiveAddress: the unspecified address is loopback, IPv4-mapped is IPv4, the rest unchanged', (t) => {
  const rows: [string, string][] = [
    ['0.0.0.0', '127.0.0.1'],
    ['::', '::1'],
    ['::ffff:0.0.0.0', '127.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['10.1.2.3', '10.1.2.3'],
    ['0.1.2.3', '0.1.2.3'],
    ['::1', '::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['::0.0.0.1', '::1'], // IPv4-compatible ::1 is ::1 itself
  ];
  for (const [input, out] of rows) {
    t.is(formatIP(effectiveAddress(parseIP(input)!)), out, input);
    t.is(effectiveHost(input), out, input);
  }
  t.is(effectiveHost('example.com'), 'example.com', 'names are left alone');
});

test('dstCidrs match the effective address: 0.0.0.0, [::], [::ffff:0.0.0.0] meet a rule on loopback', (t) => {
  const r = new Router(
    loadConfig([['c', JSON.stringify({ listeners: [{ name: 'l', type: 'mixed', listen: '127.0.0.1:0' }], routes: [{ name: 'lo', match: { dstCidrs: ['127.0.0.0/8', '::1/128'] }, action: 'reject' }] })]]),
  );
  for (const ip of ['0.0.0.0', '::', '::ffff:0.0.0.0', '::ffff:127.0.0.9', '127.1.2.3', '::1']) {
    t.is(r.route({ listener: 'l', listenerType: 'mixed', protocol: 'socks5', host: null, dstIp: parseIP(ip), dstPort: 80, srcIp: parseIP('10.0.0.2')! }).route, 'lo', ip);
  }
  t.is(r.route({ listener: 'l', listenerType: 'mixed', protocol: 'socks5', host: null, dstIp: parseIP('10.0.0.1'), dstPort: 80, srcIp: parseIP('10.0.0.2')! }).route, null);
});

test('property: formatIP and effectiveHost agree with parseIP for any address', (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 })), (bytes) => {
      const text = formatIP(bytes);
      t.deepEqual(parseIP(text), bytes);
      t.deepEqual(parseIP(effectiveHost(text)), effectiveAddress(bytes));
    }),
  );
});
