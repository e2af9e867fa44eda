import test from 'ava';
import fc from 'fast-check';
import { defaultHttp1Limits, parseAuthority, parseHttp1Request } from '../../src/sniff/http1.ts';
import type { SniffResult } from '../../src/sniff/types.ts';

const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0)); // latin1
const parse = (s: string, limits = defaultHttp1Limits) => parseHttp1Request(enc(s), limits);

function expectError<T>(t: any, r: SniffResult<T>, code: string, field?: string, offset?: number) {
  if (r.status !== 'error') return t.fail(`expected ${code}, got ${JSON.stringify(r)}`);
  t.is(r.error.code, code, r.error.toString());
  if (field !== undefined) t.is(r.error.field, field, r.error.toString());
  if (offset !== undefined) t.is(r.error.offset, offset, r.error.toString());
}

function checkPrefixes(t: any, s: string) {
  const b = enc(s);
  for (let n = 0; n < b.length; n++) {
    const r = parseHttp1Request(b.subarray(0, n));
    if (r.status !== 'more') return t.fail(`prefix ${n}: ${JSON.stringify(r)}`);
  }
}

test('parses a request head with headers', (t) => {
  const head = 'GET /index.html?q=1 HTTP/1.1\r\nHost: Example.COM.:8080\r\nUser-Agent:  curl/8 \t\r\nAccept: */*\r\n\r\n';
  const r = parse(head + 'BODY');
  t.deepEqual(r, {
    status: 'ok',
    length: head.length,
    value: {
      method: 'GET',
      target: '/index.html?q=1',
      version: '1.1',
      headers: [
        ['Host', 'Example.COM.:8080'],
        ['User-Agent', 'curl/8'],
        ['Accept', '*/*'],
      ],
      host: 'example.com',
      port: 8080,
    },
  });
  checkPrefixes(t, head);
});

test('bare LF line ends are accepted; bare CR is not', (t) => {
  const head = 'GET / HTTP/1.0\nhost: a.example\n\n';
  t.like(parse(head), { status: 'ok', length: head.length, value: { version: '1.0', host: 'a.example', port: null } });
  checkPrefixes(t, head);
  expectError(t, parse('GET / HTTP/1.1\rX'), 'malformed', 'request-line', 14);
  expectError(t, parse('GET / HTTP/1.1\r\nA: b\rc\r\n\r\n'), 'malformed', 'headers', 20);
  expectError(t, parse('GET / HTTP/1.1\r\n\rx'), 'malformed', 'headers', 16);
});

test('no Host and origin-form target → host null; obs-text decoded as latin1', (t) => {
  t.like(parse('GET / HTTP/1.1\r\nX-Name: caf\xe9\r\nEmpty:\r\n\r\n'), {
    status: 'ok',
    value: { host: null, port: null, headers: [['X-Name', 'café'], ['Empty', '']] },
  });
});

test('non-HTTP bytes are rejected on the first bytes', (t) => {
  expectError(t, parseHttp1Request(Uint8Array.of(0x16, 3, 1)), 'not-this-protocol', 'method', 0);
  expectError(t, parse(' GET'), 'not-this-protocol', 'method', 0);
  expectError(t, parse('GET\0'), 'not-this-protocol', 'method', 3);
  expectError(t, parse('GET\t/'), 'not-this-protocol', 'method', 3);
  expectError(t, parse('\r\nGET / HTTP/1.1'), 'not-this-protocol', 'method', 0);
  // SSH's banner is all token bytes up to here, so it is told apart by length or a CR
  expectError(t, parse('SSH-2.0-OpenSSH_9.6p1 Ubuntu'), 'not-this-protocol', 'method', 20);
  expectError(t, parse('SSH-2.0-Go\r\n'), 'not-this-protocol', 'method', 10);
  expectError(t, parse('A'.repeat(21)), 'not-this-protocol', 'method', 20);
  t.is(parse('A'.repeat(20)).status, 'more');
  t.like(parse('A'.repeat(20) + ' / HTTP/1.1\r\n\r\n'), { status: 'ok' });
  t.is(parse('').status, 'more');
  t.is(parse('GET').status, 'more');
});

test('request line errors', (t) => {
  expectError(t, parse('GET  / HTTP/1.1\r\n\r\n'), 'malformed', 'request-line', 4);
  expectError(t, parse('GET /\x01 HTTP/1.1\r\n\r\n'), 'malformed', 'request-line', 5);
  expectError(t, parse('GET /\r\n'), 'malformed', 'request-line', 5); // HTTP/0.9
  expectError(t, parse('GET / HTTP/2.0\r\n\r\n'), 'malformed', 'version', 11);
  expectError(t, parse('GET / HTTP/1.2\r\n\r\n'), 'malformed', 'version', 13);
  expectError(t, parse('GET / http/1.1\r\n\r\n'), 'malformed', 'version', 6);
  expectError(t, parse('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), 'malformed', 'version');
  expectError(t, parse('GET / HTTP/1.1 \r\n\r\n'), 'malformed', 'request-line', 14);
});

test('too-long request line → too-large request-line, even before the line ends', (t) => {
  const limits = { ...defaultHttp1Limits, maxRequestLine: 64 };
  const line = 'GET /' + 'a'.repeat(70);
  expectError(t, parse(line, limits), 'too-large', 'request-line', 64);
  t.is(parse(line.slice(0, 64), limits).status, 'more');
  const exact = 'GET /' + 'a'.repeat(64 - 5 - 9) + ' HTTP/1.1'; // exactly 64 bytes
  t.is(exact.length, 64);
  t.like(parse(exact + '\r\n\r\n', limits), { status: 'ok' });
  expectError(t, parse(exact.replace('GET', 'GETX') + '\r\n\r\n', limits), 'too-large', 'request-line', 64);
  expectError(t, parse('GET /' + 'a'.repeat(9000)), 'too-large', 'request-line', 8192);
});

test('oversized head or too many headers → too-large headers', (t) => {
  const limits = { maxRequestLine: 100, maxHeadBytes: 100, maxHeaders: 3 };
  const big = 'GET / HTTP/1.1\r\nX: ' + 'v'.repeat(200);
  expectError(t, parse(big, limits), 'too-large', 'headers', 100);
  t.is(parse(big.slice(0, 100), limits).status, 'more');
  const fits = 'GET / HTTP/1.1\r\nX: ' + 'v'.repeat(100 - 19 - 4) + '\r\n\r\n';
  t.is(fits.length, 100);
  t.like(parse(fits, limits), { status: 'ok', length: 100 });
  expectError(t, parse(fits.replace('X:', 'XY:'), limits), 'too-large', 'headers', 100);
  const many = 'GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n';
  t.is(parse(many, limits).status, 'more');
  t.like(parse(many + '\r\n', limits), { status: 'ok' });
  expectError(t, parse(many + 'D', limits), 'too-large', 'headers', many.length);
});

test('header syntax errors', (t) => {
  expectError(t, parse('GET / HTTP/1.1\r\nHost : a\r\n\r\n'), 'malformed', 'headers', 20);
  expectError(t, parse('GET / HTTP/1.1\r\nA: b\r\n  folded\r\n\r\n'), 'malformed', 'headers', 22);
  expectError(t, parse('GET / HTTP/1.1\r\n leading: x\r\n\r\n'), 'malformed', 'headers', 16);
  expectError(t, parse('GET / HTTP/1.1\r\n: x\r\n\r\n'), 'malformed', 'headers', 16);
  expectError(t, parse('GET / HTTP/1.1\r\nNoColon\r\n\r\n'), 'malformed', 'headers', 23);
  expectError(t, parse('GET / HTTP/1.1\r\nA: b\0c\r\n\r\n'), 'malformed', 'headers', 20);
  expectError(t, parse('GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n'), 'malformed', 'headers', 20);
});

test('Host header: duplicates, IPv6, bad ports', (t) => {
  expectError(t, parse('GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n'), 'malformed', 'host', 31);
  t.like(parse('GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n'), { status: 'ok', value: { host: '::1', port: 80 } });
  t.like(parse('GET / HTTP/1.1\r\nHOST: [2001:DB8::1]\r\n\r\n'), { status: 'ok', value: { host: '2001:db8::1', port: null } });
  for (const bad of ['a.example:99999', 'a.example:0', 'a.example:x', '[::1', '::1', 'a b', '[zz::1]:80', 'a..example', '']) {
    expectError(t, parse(`GET / HTTP/1.1\r\nHost: ${bad}\r\n\r\n`), 'malformed', 'host', 22);
  }
});

test('absolute-form and authority-form targets give the destination', (t) => {
  t.like(parse('GET http://Example.com:8080/x?y HTTP/1.1\r\n\r\n'), { status: 'ok', value: { host: 'example.com', port: 8080 } });
  t.like(parse('GET http://user:pw@h.example/ HTTP/1.1\r\n\r\n'), { status: 'ok', value: { host: 'h.example', port: null } });
  t.like(parse('GET https://[::1]:8443 HTTP/1.1\r\n\r\n'), { status: 'ok', value: { host: '::1', port: 8443 } });
  t.like(parse('CONNECT example.com:443 HTTP/1.1\r\n\r\n'), { status: 'ok', value: { method: 'CONNECT', host: 'example.com', port: 443 } });
  t.like(parse('CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n'), { status: 'ok', value: { host: '2001:db8::1', port: 443 } });
  // the Host header wins when both are present
  t.like(parse('GET http://a.example/ HTTP/1.1\r\nHost: b.example:81\r\n\r\n'), { status: 'ok', value: { host: 'b.example', port: 81 } });
  expectError(t, parse('CONNECT a.example:x HTTP/1.1\r\n\r\n'), 'malformed', 'target', 8);
  expectError(t, parse('GET http:///x HTTP/1.1\r\n\r\n'), 'malformed', 'target', 4);
});

test('parseAuthority', (t) => {
  t.deepEqual(parseAuthority('example.com:8080'), { host: 'example.com', port: 8080 });
  t.deepEqual(parseAuthority('EXAMPLE.com.'), { host: 'example.com', port: null });
  t.deepEqual(parseAuthority('example.com:'), { host: 'example.com', port: null });
  t.deepEqual(parseAuthority('10.0.0.1:53'), { host: '10.0.0.1', port: 53 });
  t.deepEqual(parseAuthority('[::1]:80'), { host: '::1', port: 80 });
  t.deepEqual(parseAuthority('[::ffff:192.0.2.1]'), { host: '::ffff:192.0.2.1', port: null });
  t.deepEqual(parseAuthority('[1:2:3:4:5:6:7:8]:1'), { host: '1:2:3:4:5:6:7:8', port: 1 });
  t.deepEqual(parseAuthority('[::1]:'), { host: '::1', port: null });
  for (const bad of ['', ':80', '[::1]x', '[1:2:3:4:5:6:7:8:9]', '[1::2::3]', '[::1.2.3.999]', 'a:b:c', 'a:65536', 'a:+1', 'a:01234567'])
    t.is(parseAuthority(bad), null, bad);
});

// ---- properties

function checkSane(r: SniffResult<unknown>, buf: Uint8Array): boolean {
  if (r.status === 'ok') return r.length > 0 && r.length <= buf.length;
  if (r.status === 'error') return r.error.offset >= 0 && r.error.offset <= buf.length;
  return r.status === 'more';
}

test('property: random bytes and random text never throw', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => checkSane(parseHttp1Request(b), b)), { numRuns: 1000 });
  const piece = fc.constantFrom('GET', ' ', '/', 'HTTP/1.1', '\r\n', '\n', '\r', 'Host', ':', ' a.example', '[::1]:8', 'x', '\t', '\xff');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 40 }), (ps) => {
      const b = enc(ps.join(''));
      return checkSane(parseHttp1Request(b, { maxRequestLine: 40, maxHeadBytes: 120, maxHeaders: 4 }), b);
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,15}$/);
const value = fc.stringMatching(/^[!-~\x80-\xff]([ !-~\x80-\xff]{0,30}[!-~\x80-\xff])?$/);
const requestArb = fc.record({
  method: token,
  target: fc.stringMatching(/^\/[!-~]{0,40}$/),
  version: fc.constantFrom('1.0', '1.1'),
  headers: fc.array(fc.tuple(token.filter((n) => n.toLowerCase() !== 'host'), fc.option(value, { nil: '' })), { maxLength: 8 }),
  host: fc.option(fc.constantFrom('a.example', 'B.example:8080', '[::1]:443', '10.1.2.3'), { nil: undefined }),
  lf: fc.boolean(),
});

test('property: random valid requests round-trip; prefixes need more', (t) => {
  fc.assert(
    fc.property(requestArb, fc.nat(), (q, cut) => {
      const eol = q.lf ? '\n' : '\r\n';
      const headers: [string, string][] = q.host === undefined ? q.headers : [['Host', q.host], ...q.headers];
      const head = `${q.method} ${q.target} HTTP/${q.version}${eol}` + headers.map(([n, v]) => `${n}: ${v}${eol}`).join('') + eol;
      const b = enc(head + 'trailing body');
      const r = parseHttp1Request(b);
      if (r.status !== 'ok' || r.length !== head.length) return false;
      const want = q.host === undefined ? null : parseAuthority(q.host);
      const v = r.value;
      return (
        v.method === q.method &&
        v.target === q.target &&
        v.version === q.version &&
        JSON.stringify(v.headers) === JSON.stringify(headers) &&
        v.host === (want ? want.host : null) &&
        v.port === (want ? want.port : null) &&
        parseHttp1Request(b.subarray(0, cut % head.length)).status === 'more'
      );
    }),
    { numRuns: 700 },
  );
  t.pass();
});

test('property: mutations and truncations of valid requests never throw', (t) => {
  const samples = [
    'GET /a HTTP/1.1\r\nHost: [::1]:80\r\nAccept: */*\r\n\r\n',
    'CONNECT a.example:443 HTTP/1.1\r\n\r\n',
    'POST http://x.example/ HTTP/1.0\nContent-Length: 3\n\nabc',
  ].map(enc);
  fc.assert(
    fc.property(fc.constantFrom(...samples), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (s, at, v, cut) => {
      const b = s.slice();
      b[at % b.length] = v;
      const tr = b.subarray(0, cut % (b.length + 1));
      return checkSane(parseHttp1Request(b), b) && checkSane(parseHttp1Request(tr), tr);
    }),
    { numRuns: 1000 },
  );
  t.pass();
});
