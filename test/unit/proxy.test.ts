import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { httpResponse, interpretProxyRequest, proxyCredentials, rewriteForOrigin } from '../../src/proxy/http-proxy.ts';
import { buildReply, parseGreeting, parseRequest, parseUserPass, Reply } from '../../src/proxy/socks5.ts';
import { parseHttp1Request, type HttpRequestHead } from '../../src/sniff/http1.ts';
import type { SniffErrorCode, SniffResult } from '../../src/sniff/types.ts';

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const text = (b: Uint8Array) => String.fromCharCode(...b);
const utf8 = (s: string) => new TextEncoder().encode(s);
const bytes = (...parts: (number | number[] | Uint8Array | string)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : typeof p === 'string' ? [...utf8(p)] : [...p])));

function okValue<T>(t: ExecutionContext, r: SniffResult<T>, length: number): T {
  if (r.status !== 'ok') {
    t.fail(`expected ok, got ${JSON.stringify(r)}`);
    throw new Error('unreachable');
  }
  t.is(r.length, length);
  return r.value;
}

function expectError<T>(t: ExecutionContext, r: SniffResult<T>, code: SniffErrorCode, field: string, offset: number): void {
  if (r.status !== 'error') return void t.fail(`expected ${code}, got ${JSON.stringify(r)}`);
  t.is(r.error.code, code, r.error.toString());
  t.is(r.error.field, field, r.error.toString());
  t.is(r.error.offset, offset, r.error.toString());
}

/** Every proper prefix of a complete message needs more bytes. */
function prefixesNeedMore<T>(t: ExecutionContext, parse: (b: Uint8Array) => SniffResult<T>, msg: Uint8Array): void {
  for (let n = 0; n < msg.length; n++) {
    const r = parse(msg.subarray(0, n));
    t.is(r.status, 'more', `prefix of ${n} of [${Array.from(msg).join(',')}]: ${JSON.stringify(r)}`);
  }
}

// ---------------------------------------------------------------------------
// SOCKS5 greeting

test('socks5 greeting', (t) => {
  const g = bytes(5, 2, 0, 2);
  t.deepEqual(okValue(t, parseGreeting(g), 4), { methods: [0, 2] });
  t.deepEqual(okValue(t, parseGreeting(bytes(g, 1, 2, 3)), 4), { methods: [0, 2] }, 'trailing bytes are not consumed');
  t.deepEqual(okValue(t, parseGreeting(bytes(5, 1, 0)), 3), { methods: [0] });
  const all = Array.from({ length: 255 }, (_, i) => i);
  t.deepEqual(okValue(t, parseGreeting(bytes(5, 255, all)), 257), { methods: all });
  prefixesNeedMore(t, parseGreeting, g);
  prefixesNeedMore(t, parseGreeting, bytes(5, 255, all));
});

test('socks5 greeting errors', (t) => {
  expectError(t, parseGreeting(bytes(4, 1, 0)), 'not-this-protocol', 'version', 0);
  expectError(t, parseGreeting(bytes(0x47)), 'not-this-protocol', 'version', 0); // "G"ET
  expectError(t, parseGreeting(bytes(5, 0)), 'malformed', 'nmethods', 1);
  expectError(t, parseGreeting(bytes(5, 0, 0, 0)), 'malformed', 'nmethods', 1);
});

// ---------------------------------------------------------------------------
// SOCKS5 username/password

test('socks5 username/password', (t) => {
  const msg = bytes(1, 5, 'alice', 6, 'secret');
  t.deepEqual(okValue(t, parseUserPass(msg), 14), { username: 'alice', password: 'secret' });
  t.deepEqual(okValue(t, parseUserPass(bytes(msg, 9, 9)), 14), { username: 'alice', password: 'secret' });
  t.deepEqual(okValue(t, parseUserPass(bytes(1, 1, 'a', 0)), 4), { username: 'a', password: '' });
  const u = utf8('jörg');
  t.deepEqual(okValue(t, parseUserPass(bytes(1, u.length, u, 3, 'p:w')), 3 + u.length + 3), { username: 'jörg', password: 'p:w' });
  const long = 'x'.repeat(255);
  t.deepEqual(okValue(t, parseUserPass(bytes(1, 255, long, 255, long)), 513), { username: long, password: long });
  prefixesNeedMore(t, parseUserPass, msg);
  prefixesNeedMore(t, parseUserPass, bytes(1, 1, 'a', 0));
});

test('socks5 username/password errors', (t) => {
  expectError(t, parseUserPass(bytes(5, 5, 'alice', 0)), 'malformed', 'version', 0);
  expectError(t, parseUserPass(bytes(0, 1, 'a', 0)), 'malformed', 'version', 0);
  expectError(t, parseUserPass(bytes(1, 0, 0)), 'malformed', 'ulen', 1);
});

// ---------------------------------------------------------------------------
// SOCKS5 request

const REQUESTS: [title: string, msg: Uint8Array, value: { command: number; host: string; port: number; addressType: number }][] = [
  ['IPv4', bytes(5, 1, 0, 1, 93, 184, 216, 34, 0x01, 0xbb), { command: 1, host: '93.184.216.34', port: 443, addressType: 1 }],
  ['IPv4 zeros', bytes(5, 1, 0, 1, 0, 0, 0, 0, 0, 0), { command: 1, host: '0.0.0.0', port: 0, addressType: 1 }],
  ['IPv4 port 65535', bytes(5, 1, 0, 1, 10, 0, 0, 1, 0xff, 0xff), { command: 1, host: '10.0.0.1', port: 65535, addressType: 1 }],
  [
    'IPv6',
    bytes(5, 1, 0, 4, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 0, 80),
    { command: 1, host: '2001:db8::1', port: 80, addressType: 4 },
  ],
  ['IPv6 any', bytes(5, 1, 0, 4, Array(16).fill(0), 0x1f, 0x90), { command: 1, host: '::', port: 8080, addressType: 4 }],
  ['domain', bytes(5, 1, 0, 3, 11, 'example.com', 0x01, 0xbb), { command: 1, host: 'example.com', port: 443, addressType: 3 }],
  ['domain, lowercased', bytes(5, 1, 0, 3, 11, 'Example.COM', 0, 80), { command: 1, host: 'example.com', port: 80, addressType: 3 }],
  // a trailing root dot is the same name: routing must see "example.com"
  ['domain, fully qualified', bytes(5, 1, 0, 3, 12, 'Example.COM.', 0, 80), { command: 1, host: 'example.com', port: 80, addressType: 3 }],
  ['domain, one label', bytes(5, 1, 0, 3, 9, 'localhost', 0, 22), { command: 1, host: 'localhost', port: 22, addressType: 3 }],
  ['domain holding an IPv4 literal', bytes(5, 1, 0, 3, 8, '10.0.0.1', 0, 22), { command: 1, host: '10.0.0.1', port: 22, addressType: 3 }],
  ['domain holding an IPv6 literal', bytes(5, 1, 0, 3, 7, 'FD00::1', 0, 22), { command: 1, host: 'fd00::1', port: 22, addressType: 3 }],
  ['BIND parses (the caller refuses it)', bytes(5, 2, 0, 1, 1, 2, 3, 4, 0, 1), { command: 2, host: '1.2.3.4', port: 1, addressType: 1 }],
  ['UDP ASSOCIATE parses', bytes(5, 3, 0, 1, 1, 2, 3, 4, 0, 1), { command: 3, host: '1.2.3.4', port: 1, addressType: 1 }],
];

test('table: socks5 requests', (t) => {
  for (const [title, msg, value] of REQUESTS) {
    t.deepEqual(okValue(t, parseRequest(msg), msg.length), value, title);
    t.deepEqual(okValue(t, parseRequest(bytes(msg, 0x16, 3, 1)), msg.length), value, `${title}, with trailing bytes`);
    prefixesNeedMore(t, parseRequest, msg);
  }
});

test('socks5 request errors', (t) => {
  expectError(t, parseRequest(bytes(4, 1, 0, 1, 1, 2, 3, 4, 0, 80)), 'malformed', 'version', 0);
  expectError(t, parseRequest(bytes(5, 1, 1, 1, 1, 2, 3, 4, 0, 80)), 'malformed', 'rsv', 2);
  for (const atyp of [0, 2, 5, 255]) {
    expectError(t, parseRequest(bytes(5, 1, 0, atyp)), 'malformed', 'atyp', 3);
    expectError(t, parseRequest(bytes(5, 1, 0, atyp, 1, 2, 3, 4, 0, 80)), 'malformed', 'atyp', 3);
  }
  expectError(t, parseRequest(bytes(5, 1, 0, 3, 0, 0, 80)), 'malformed', 'dst.addr', 4);
  // names that no resolver should be asked for
  for (const bad of ['exa mple.com', 'a..b', '.', 'ex\u00e4mple.com', 'host:80', 'a/b', 'x'.repeat(64) + '.com']) {
    const name = utf8(bad);
    expectError(t, parseRequest(bytes(5, 1, 0, 3, name.length, name, 0, 80)), 'malformed', 'dst.addr', 5);
  }
  expectError(t, parseRequest(bytes(5, 1, 0, 3, 2, 0xff, 0xfe, 0, 80)), 'malformed', 'dst.addr', 5);
});

test('socks5 buildReply', (t) => {
  t.deepEqual(buildReply(Reply.Succeeded), bytes(5, 0, 0, 1, 0, 0, 0, 0, 0, 0));
  t.deepEqual(buildReply(Reply.NotAllowed), bytes(5, 2, 0, 1, 0, 0, 0, 0, 0, 0));
  t.deepEqual(buildReply(Reply.HostUnreachable), bytes(5, 4, 0, 1, 0, 0, 0, 0, 0, 0));
  t.deepEqual(buildReply(Reply.Succeeded, { ip: bytes(192, 168, 1, 1), port: 0x1234 }), bytes(5, 0, 0, 1, 192, 168, 1, 1, 0x12, 0x34));
  const v6 = bytes(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
  t.deepEqual(buildReply(Reply.Succeeded, { ip: v6, port: 65535 }), bytes(5, 0, 0, 4, v6, 0xff, 0xff));
  t.deepEqual(buildReply(Reply.ConnectionRefused, { ip: v6, port: 1 }), bytes(5, 5, 0, 4, v6, 0, 1));
  // a reply is itself a well-formed request-shaped message
  const r = parseRequest(buildReply(Reply.Succeeded, { ip: v6, port: 443 }));
  t.deepEqual(okValue(t, r, 22), { command: 0, host: '2001:db8::1', port: 443, addressType: 4 });
});

// ---------------------------------------------------------------------------
// SOCKS5 properties

function sane<T>(r: SniffResult<T>, b: Uint8Array): boolean {
  if (r.status === 'ok') return r.length > 0 && r.length <= b.length;
  if (r.status === 'error') return r.error.offset >= 0 && r.error.offset < Math.max(b.length, 1);
  return r.status === 'more';
}

test('property: random bytes into the SOCKS5 parsers never throw', (t) => {
  const arbitrary = fc.uint8Array({ maxLength: 300 });
  // mostly well-formed prefixes, so the parsers get past their first checks
  const socksish = fc
    .tuple(fc.constantFrom(1, 5), fc.nat({ max: 3 }), fc.constantFrom(0, 0, 1), fc.nat({ max: 5 }), fc.uint8Array({ maxLength: 300 }))
    .map(([v, c, rsv, atyp, rest]) => bytes(v, c, rsv, atyp, rest));
  fc.assert(
    fc.property(fc.oneof(arbitrary, socksish), (b) => {
      t.true(sane(parseGreeting(b), b));
      t.true(sane(parseUserPass(b), b));
      t.true(sane(parseRequest(b), b));
    }),
    { numRuns: 2000 },
  );
});

test('property: valid requests parse back; their prefixes need more', (t) => {
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
  const address = fc.oneof(
    fc.uint8Array({ minLength: 4, maxLength: 4 }).map((a) => ({ atyp: 1, addr: a, host: Array.from(a).join('.') })),
    fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => {
      const name = ls.join('.');
      return { atyp: 3, addr: bytes(name.length, name), host: name };
    }),
  );
  fc.assert(
    fc.property(address, fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 1, max: 3 }), ({ atyp, addr, host }, port, command) => {
      const msg = bytes(5, command, 0, atyp, addr, port >> 8, port & 0xff);
      t.deepEqual(parseRequest(msg), { status: 'ok', value: { command, host, port, addressType: atyp }, length: msg.length });
      for (let n = 0; n < msg.length; n++) t.is(parseRequest(msg.subarray(0, n)).status, 'more');
    }),
    { numRuns: 200 },
  );
});

// ---------------------------------------------------------------------------
// HTTP proxy

function head(s: string): HttpRequestHead {
  const r = parseHttp1Request(latin1(s));
  if (r.status !== 'ok') throw new Error(`test head does not parse: ${JSON.stringify(r)}`);
  return r.value;
}

const req = (line: string, ...headers: string[]) => head(`${line}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`);

test('table: interpretProxyRequest', (t) => {
  const rows: [HttpRequestHead, unknown][] = [
    [req('CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443'), { kind: 'connect', host: 'example.com', port: 443 }],
    [req('CONNECT Example.COM:443 HTTP/1.1'), { kind: 'connect', host: 'example.com', port: 443 }],
    [req('CONNECT 10.0.0.1:22 HTTP/1.0'), { kind: 'connect', host: '10.0.0.1', port: 22 }],
    [req('CONNECT [2001:db8::1]:443 HTTP/1.1'), { kind: 'connect', host: '2001:db8::1', port: 443 }],
    [req('CONNECT [::ffff:1.2.3.4]:8443 HTTP/1.1'), { kind: 'connect', host: '::ffff:1.2.3.4', port: 8443 }],
    [req('GET http://example.com/path?q=1 HTTP/1.1', 'Host: example.com'), { kind: 'http', host: 'example.com', port: 80, path: '/path?q=1' }],
    [req('GET http://example.com HTTP/1.1'), { kind: 'http', host: 'example.com', port: 80, path: '/' }],
    [req('GET http://example.com/ HTTP/1.0'), { kind: 'http', host: 'example.com', port: 80, path: '/' }],
    [req('GET http://example.com:8080 HTTP/1.1'), { kind: 'http', host: 'example.com', port: 8080, path: '/' }],
    [req('GET http://example.com:8080/a/b HTTP/1.1'), { kind: 'http', host: 'example.com', port: 8080, path: '/a/b' }],
    [req('GET http://example.com?x=1 HTTP/1.1'), { kind: 'http', host: 'example.com', port: 80, path: '/?x=1' }],
    [req('GET http://example.com:81?x=1&y HTTP/1.1'), { kind: 'http', host: 'example.com', port: 81, path: '/?x=1&y' }],
    [req('GET http://example.com/a#frag HTTP/1.1'), { kind: 'http', host: 'example.com', port: 80, path: '/a' }],
    [req('GET HTTP://Example.COM/A HTTP/1.1'), { kind: 'http', host: 'example.com', port: 80, path: '/A' }],
    [req('GET http://user:pw@example.com/ HTTP/1.1'), { kind: 'http', host: 'example.com', port: 80, path: '/' }],
    [req('POST http://[::1]:8080/submit HTTP/1.1'), { kind: 'http', host: '::1', port: 8080, path: '/submit' }],
    [req('GET http://192.168.1.1/ HTTP/1.1'), { kind: 'http', host: '192.168.1.1', port: 80, path: '/' }],
    // the target decides, not a Host header that disagrees
    [req('GET http://a.example/ HTTP/1.1', 'Host: b.example'), { kind: 'http', host: 'a.example', port: 80, path: '/' }],
  ];
  for (const [h, expected] of rows) t.deepEqual(interpretProxyRequest(h), expected, `${h.method} ${h.target}`);
});

test('table: interpretProxyRequest refusals', (t) => {
  const rows: [HttpRequestHead, 400 | 405, RegExp][] = [
    [req('CONNECT example.com HTTP/1.1'), 400, /^CONNECT target "example\.com" is not host:port$/],
    [req('CONNECT example.com: HTTP/1.1'), 400, /is not host:port/],
    [req('CONNECT [::1] HTTP/1.1'), 400, /is not host:port/],
    [req('CONNECT /x HTTP/1.1', 'Host: example.com'), 400, /is not host:port/],
    [req('GET https://example.com/ HTTP/1.1'), 400, /^scheme of "https:\/\/example\.com\/" is not supported by a plain HTTP proxy; use CONNECT$/],
    [req('GET ws://example.com/ HTTP/1.1'), 400, /use CONNECT/],
    [req('GET /index.html HTTP/1.1', 'Host: example.com'), 400, /^request target "\/index\.html" is not an absolute http:\/\/ URI \(this is a proxy\)$/],
    [req('OPTIONS * HTTP/1.1', 'Host: example.com'), 400, /not an absolute http:\/\/ URI/],
    [req('GET http://example.com:0/ HTTP/1.1', 'Host: example.com'), 400, /^bad authority in "http:\/\/example\.com:0\/"$/],
    [req('GET http://exa%20mple.com/ HTTP/1.1', 'Host: example.com'), 400, /bad authority/],
  ];
  for (const [h, status, reason] of rows) {
    const r = interpretProxyRequest(h);
    if (!('status' in r)) {
      t.fail(`expected a refusal for ${h.method} ${h.target}, got ${JSON.stringify(r)}`);
      continue;
    }
    t.is(r.status, status, h.target);
    t.regex(r.reason, reason, h.target);
  }
});

function rewrite(h: HttpRequestHead): string {
  const r = interpretProxyRequest(h);
  if ('status' in r || r.kind !== 'http') throw new Error(`not a plain proxy request: ${JSON.stringify(r)}`);
  return text(rewriteForOrigin(h, r));
}

test('rewriteForOrigin drops hop-by-hop headers and closes', (t) => {
  const h = req(
    'GET http://example.com/a?b=1 HTTP/1.1',
    'Host: example.com',
    'Connection: keep-alive, X-Session , x-trace',
    'User-Agent: curl/8',
    'Keep-Alive: timeout=5',
    'Proxy-Connection: keep-alive',
    'Proxy-Authorization: Basic YTpi',
    'X-Session: 1',
    'X-Trace: 2',
    'Accept: */*',
    'TE: trailers',
    'Trailer: X-Sum',
    'Upgrade: h2c',
    'Cookie: a=b; c=d',
    'connection: Cookie2',
    'Cookie2: x',
  );
  // Trailer is end-to-end (RFC 9110 §6.6.2): it goes on, as with HTTPRoutes (http/head.ts).
  t.is(rewrite(h), 'GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8\r\nAccept: */*\r\nTrailer: X-Sum\r\nCookie: a=b; c=d\r\nConnection: close\r\n\r\n');
});

test('rewriteForOrigin keeps the framing fields that Connection names: the body goes on verbatim', (t) => {
  const h = req('POST http://example.com/ HTTP/1.1', 'Host: example.com', 'Connection: content-length, transfer-encoding, host', 'Content-Length: 5');
  t.is(rewrite(h), 'POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nConnection: close\r\n\r\n');
  const c = req('POST http://example.com/ HTTP/1.1', 'Host: example.com', 'Connection: Transfer-Encoding', 'Transfer-Encoding: chunked');
  t.is(rewrite(c), 'POST / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n');
});

test('rewriteForOrigin adds Host when missing', (t) => {
  t.is(rewrite(req('GET http://example.com HTTP/1.0', 'Accept: x')), 'GET / HTTP/1.0\r\nAccept: x\r\nHost: example.com\r\nConnection: close\r\n\r\n');
  t.is(rewrite(req('GET http://example.com:8080/x HTTP/1.1')), 'GET /x HTTP/1.1\r\nHost: example.com:8080\r\nConnection: close\r\n\r\n');
  t.is(rewrite(req('GET http://[fd00::1]/ HTTP/1.1')), 'GET / HTTP/1.1\r\nHost: [fd00::1]\r\nConnection: close\r\n\r\n');
  t.is(rewrite(req('GET http://[fd00::1]:81/ HTTP/1.1')), 'GET / HTTP/1.1\r\nHost: [fd00::1]:81\r\nConnection: close\r\n\r\n');
  t.is(rewrite(req('DELETE http://u:p@example.com/r HTTP/1.1')), 'DELETE /r HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n');
});

test('rewriteForOrigin sends the Host of the request target, in the client header\'s place', (t) => {
  // RFC 9112 §3.2.2: a proxy replaces the received Host with the target URI's host.
  t.is(
    rewrite(req('GET http://a.example/ HTTP/1.1', 'Accept: 1', 'host: b.example', 'X: 2')),
    'GET / HTTP/1.1\r\nAccept: 1\r\nhost: a.example\r\nX: 2\r\nConnection: close\r\n\r\n',
  );
  t.is(rewrite(req('GET http://a.example:8080/ HTTP/1.1', 'Host: a.example')), 'GET / HTTP/1.1\r\nHost: a.example:8080\r\nConnection: close\r\n\r\n');
});

test('proxyCredentials decodes Basic auth', (t) => {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const creds = (...headers: string[]) => proxyCredentials(req('CONNECT example.com:443 HTTP/1.1', ...headers));
  t.deepEqual(creds(`Proxy-Authorization: Basic ${b64('alice:secret')}`), { username: 'alice', password: 'secret' });
  t.deepEqual(creds(`proxy-authorization: basic ${b64('alice:secret')}`), { username: 'alice', password: 'secret' });
  t.deepEqual(creds(`Proxy-Authorization: BASIC   ${b64('bob:pa:ss word')}`), { username: 'bob', password: 'pa:ss word' });
  t.deepEqual(creds(`Proxy-Authorization: Basic ${b64('alice:')}`), { username: 'alice', password: '' });
  t.deepEqual(creds(`Proxy-Authorization: Basic ${b64(':x')}`), { username: '', password: 'x' });
  t.deepEqual(creds(`Proxy-Authorization: Basic ${b64('jörg:pässwörd')}`), { username: 'jörg', password: 'pässwörd' });
  t.deepEqual(creds(`Proxy-Authorization: Basic ${b64('ab:c').replace(/=+$/, '')}`), { username: 'ab', password: 'c' }, 'padding is optional');
  t.deepEqual(creds('Authorization: Basic YTpi', `Proxy-Authorization: Basic ${b64('p:q')}`), { username: 'p', password: 'q' });
  for (const bad of [
    [],
    ['Authorization: Basic YWxpY2U6c2VjcmV0'], // origin credentials are not proxy credentials
    ['Proxy-Authorization: Bearer YWxpY2U6c2VjcmV0'],
    ['Proxy-Authorization: Basic'],
    ['Proxy-Authorization: Basic !!!!'],
    ['Proxy-Authorization: Basic YWxp Y2U6'],
    ['Proxy-Authorization: Basic YWxpY2U6c2VjcmV0a'], // length 4n+1 cannot be base64
    [`Proxy-Authorization: Basic ${b64('alice')}`], // no colon
    ['Proxy-Authorization: Basic ='],
  ]) {
    t.is(creds(...bad), null, JSON.stringify(bad));
  }
});

/** Splits a response into its head lines and body bytes. */
function splitResponse(b: Uint8Array): { lines: string[]; body: Uint8Array } {
  const s = text(b);
  const end = s.indexOf('\r\n\r\n');
  return { lines: s.slice(0, end).split('\r\n'), body: b.subarray(end + 4) };
}

test('httpResponse', (t) => {
  t.is(text(httpResponse(200)), 'HTTP/1.1 200 Connection Established\r\n\r\n');
  const cases: [number, string, string][] = [
    [400, '', '400 Bad Request\n'],
    [403, 'blocked by ugate route', '403 Forbidden: blocked by ugate route\n'],
    [502, 'connect ECONNREFUSED — 10.0.0.1:80 “down”', '502 Bad Gateway: connect ECONNREFUSED — 10.0.0.1:80 “down”\n'],
    [418, 'x', '418 Error: x\n'],
  ];
  for (const [status, body, expected] of cases) {
    const { lines, body: got } = splitResponse(httpResponse(status, body));
    t.is(new TextDecoder().decode(got), expected);
    t.is(lines[0], `HTTP/1.1 ${status} ${expected.split(':')[0]!.slice(4).trim()}`);
    t.true(lines.includes(`Content-Length: ${got.length}`), lines.join(' | '));
    t.true(lines.includes('Connection: close'));
    t.true(lines.includes('Content-Type: text/plain; charset=utf-8'));
  }
  const { lines } = splitResponse(httpResponse(407, 'auth', ['Proxy-Authenticate: Basic realm="ugate"']));
  t.is(lines[0], 'HTTP/1.1 407 Proxy Authentication Required');
  t.is(lines[lines.length - 1], 'Proxy-Authenticate: Basic realm="ugate"');
  t.is(utf8('é').length, 2);
  t.true(splitResponse(httpResponse(400, 'é')).lines.includes(`Content-Length: ${utf8('400 Bad Request: é\n').length}`));
});
