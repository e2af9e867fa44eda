import test from 'ava';
import fc from 'fast-check';
import {
  deleteHeader,
  getHeader,
  getHeaderValues,
  hasHeader,
  reasonPhrase,
  removeHopByHop,
  serializeRequestHead,
  serializeResponseHead,
  setHeader,
  simpleResponse,
} from '../../src/http/head.ts';
import { latin1Decode, latin1Encode, utf8Encode } from '../../src/http/bytes.ts';
import { parseResponseHead } from '../../src/http/response.ts';
import { parseHttp1Request } from '../../src/sniff/http1.ts';

const dec = (b: Uint8Array) => latin1Decode(b, 0, b.length);
const utf8 = (b: Uint8Array) => new TextDecoder().decode(b);

test('getHeader, getHeaderValues, hasHeader, setHeader, deleteHeader', (t) => {
  const hs: [string, string][] = [
    ['Accept', 'a'],
    ['X', '1'],
    ['accept', 'b'],
    ['Set-Cookie', 'k=v; Expires=Wed, 21 Oct 2015 07:28:00 GMT'],
  ];
  t.is(getHeader(hs, 'ACCEPT'), 'a, b');
  t.is(getHeader(hs, 'x'), '1');
  t.is(getHeader(hs, 'missing'), undefined);
  t.deepEqual(getHeaderValues(hs, 'accept'), ['a', 'b']);
  t.deepEqual(getHeaderValues(hs, 'nope'), []);
  t.true(hasHeader(hs, 'set-cookie'));
  t.false(hasHeader(hs, 'cookie'));
  t.deepEqual(setHeader(hs, 'accept', 'c'), [['Accept', 'c'], ['X', '1'], ['Set-Cookie', hs[3]![1]]]);
  t.deepEqual(setHeader(hs, 'Y', '2').at(-1), ['Y', '2']);
  t.deepEqual(deleteHeader(hs, 'ACCEPT'), [['X', '1'], ['Set-Cookie', hs[3]![1]]]);
  t.is(hs.length, 4); // inputs are not changed
});

test('removeHopByHop: RFC 9110 §7.6.1, framing fields protected', (t) => {
  const hs: [string, string][] = [
    ['Host', 'a.example'],
    ['Connection', 'keep-alive, X-Secret, Upgrade'],
    ['Keep-Alive', 'timeout=5'],
    ['Proxy-Connection', 'keep-alive'],
    ['TE', 'trailers'],
    ['Upgrade', 'websocket'],
    ['X-Secret', 'hop'],
    ['x-secret', 'hop2'],
    ['Transfer-Encoding', 'chunked'],
    ['Accept', '*/*'],
  ];
  t.deepEqual(removeHopByHop(hs), [
    ['Host', 'a.example'],
    ['Transfer-Encoding', 'chunked'],
    ['Accept', '*/*'],
  ]);
  t.deepEqual(removeHopByHop(hs, { keepTransferEncoding: false }), [
    ['Host', 'a.example'],
    ['Accept', '*/*'],
  ]);
  t.deepEqual(removeHopByHop(hs, { keepUpgrade: true }), [
    ['Host', 'a.example'],
    ['Connection', 'upgrade'],
    ['Upgrade', 'websocket'],
    ['Transfer-Encoding', 'chunked'],
    ['Accept', '*/*'],
  ]);
  // Connection naming framing or target fields is ignored for them
  const abuse: [string, string][] = [
    ['Host', 'h'],
    ['Content-Length', '5'],
    ['Connection', 'Content-Length, Host, Transfer-Encoding, Cookie'],
    ['Cookie', 'c'],
  ];
  t.deepEqual(removeHopByHop(abuse), [
    ['Host', 'h'],
    ['Content-Length', '5'],
  ]);
  // keepUpgrade without an upgrade token: Connection dropped
  t.deepEqual(removeHopByHop([['Connection', 'close'], ['A', 'b']], { keepUpgrade: true }), [['A', 'b']]);
});

test('serializeRequestHead round-trips through parseHttp1Request', (t) => {
  const hs: [string, string][] = [
    ['Host', 'a.example:8080'],
    ['X-Name', 'caf\xe9'],
    ['Empty', ''],
  ];
  const b = serializeRequestHead('POST', '/p?q=1', '1.1', hs);
  t.is(dec(b), 'POST /p?q=1 HTTP/1.1\r\nHost: a.example:8080\r\nX-Name: caf\xe9\r\nEmpty: \r\n\r\n');
  t.like(parseHttp1Request(b), { status: 'ok', length: b.length, value: { method: 'POST', target: '/p?q=1', version: '1.1', headers: hs, host: 'a.example', port: 8080 } });
  t.is(dec(serializeRequestHead('GET', '/', '1.0', [])), 'GET / HTTP/1.0\r\n\r\n');
});

test('serializeResponseHead round-trips through parseResponseHead', (t) => {
  const hs: [string, string][] = [['Content-Length', '0']];
  const b = serializeResponseHead('1.1', 404, 'Not Found', hs);
  t.is(dec(b), 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
  t.deepEqual(parseResponseHead(b), { status: 'ok', length: b.length, value: { version: '1.1', status: 404, reason: 'Not Found', headers: hs } });
  t.is(dec(serializeResponseHead('1.0', 200, '', [])), 'HTTP/1.0 200 \r\n\r\n');
  t.is(dec(serializeResponseHead('1.1', 42, 'X', [])), 'HTTP/1.1 500 X\r\n\r\n');
});

test('serializers never emit injected lines', (t) => {
  const b = serializeResponseHead('1.1', 200, 'OK\r\nSet-Cookie: evil', [['X', 'a\r\nInjected: 1'], ['Y', 'b\0c'], ['Z', 'snow\u2603']]);
  const r = parseResponseHead(b);
  t.like(r, { status: 'ok', length: b.length, value: { reason: 'OK  Set-Cookie: evil' } });
  if (r.status === 'ok') t.deepEqual(r.value.headers.map(([n]) => n), ['X', 'Y', 'Z']);
  if (r.status === 'ok') t.is(r.value.headers[2]![1], 'snow?');
  const q = serializeRequestHead('GET', '/a\r\nX: y', '1.1', [['Host', 'h\r\n\r\nGET /smuggled HTTP/1.1']]);
  t.is(dec(q).split('\n').length, 4); // request line, Host, empty line, ''
  t.is(dec(serializeResponseHead('1.1', 200, 'OK', [['Y\r\n', 'v']])).split('\n').length, 4);
});

test('property: serialized heads parse back to the same fields', (t) => {
  const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,15}$/);
  const value = fc.stringMatching(/^([!-~\x80-\xff]([ \t!-~\x80-\xff]{0,30}[!-~\x80-\xff])?)?$/);
  fc.assert(
    fc.property(
      fc.constantFrom('1.0', '1.1'),
      fc.integer({ min: 100, max: 999 }),
      fc.stringMatching(/^[\t !-~\x80-\xff]{0,20}$/),
      fc.array(fc.tuple(token, value), { maxLength: 10 }),
      (version, status, reason, hs) => {
        const b = serializeResponseHead(version as '1.0' | '1.1', status, reason, hs);
        const r = parseResponseHead(b);
        if (r.status !== 'ok' || r.length !== b.length) return false;
        const q = serializeRequestHead('GET', '/x', version as '1.0' | '1.1', hs.filter(([n]) => n.toLowerCase() !== 'host'));
        const rq = parseHttp1Request(q);
        return (
          r.value.status === status &&
          r.value.reason === reason &&
          JSON.stringify(r.value.headers) === JSON.stringify(hs) &&
          rq.status === 'ok' &&
          rq.length === q.length
        );
      },
    ),
    { numRuns: 500 },
  );
  t.pass();
});

test('simpleResponse: errors, redirects, close, bodiless statuses', (t) => {
  const r404 = simpleResponse(404);
  t.is(utf8(r404), 'HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\n404 Not Found\n');
  for (const s of [400, 414, 431, 500, 502, 504, 505]) {
    const b = simpleResponse(s, { close: true });
    const r = parseResponseHead(b);
    if (r.status !== 'ok') return t.fail(String(s));
    t.is(r.value.status, s);
    t.is(r.value.reason, reasonPhrase(s));
    t.not(r.value.reason, '');
    t.is(getHeader(r.value.headers, 'connection'), 'close');
    t.is(Number(getHeader(r.value.headers, 'content-length')), b.length - r.length);
  }
  for (const s of [301, 302, 303, 307, 308]) {
    const b = simpleResponse(s, { headers: [['Location', 'https://a.example/x']] });
    const r = parseResponseHead(b);
    if (r.status !== 'ok') return t.fail(String(s));
    t.is(r.value.reason, reasonPhrase(s));
    t.is(getHeader(r.value.headers, 'location'), 'https://a.example/x');
    t.is(getHeader(r.value.headers, 'connection'), undefined);
  }
  // a UTF-8 body: Content-Length counts bytes
  const u = simpleResponse(502, { body: 'caf\u00e9 \u2603\n', close: true, headers: [['Connection', 'keep-alive'], ['Content-Length', '1'], ['Retry-After', '5']] });
  t.is(
    utf8(u),
    'HTTP/1.1 502 Bad Gateway\r\nRetry-After: 5\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\nConnection: close\r\n\r\ncaf\u00e9 \u2603\n',
  );
  // the caller's Content-Type wins; HEAD gets the head only
  const h = simpleResponse(200, { body: '{}', headers: [['Content-Type', 'application/json']], head: true });
  t.is(dec(h), 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n');
  t.is(dec(simpleResponse(204, { body: 'ignored' })), 'HTTP/1.1 204 No Content\r\n\r\n');
  t.is(dec(simpleResponse(304, { close: true })), 'HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n');
  t.is(dec(simpleResponse(200, { body: '' })), 'HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 0\r\n\r\n');
  t.true(dec(simpleResponse(7)).startsWith('HTTP/1.1 500 Internal Server Error\r\n'));
  t.is(reasonPhrase(799), '');
  t.is(dec(simpleResponse(799)), 'HTTP/1.1 799 \r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n\r\n799 \n');
});

test('latin1 helpers', (t) => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const big = new Uint8Array(10000).map((_, i) => (i * 7) & 0xff);
  for (const b of [all, big, all.subarray(0, 5), new Uint8Array(0)]) {
    const s = latin1Decode(b, 0, b.length);
    t.is(s.length, b.length);
    t.deepEqual(latin1Encode(s), b);
  }
  t.is(latin1Decode(all, 65, 68), 'ABC');
  t.is(latin1Decode(all, 68, 65), '');
});

test('property: utf8Encode matches TextEncoder', (t) => {
  const te = new TextEncoder();
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }), (a, b) => {
      return JSON.stringify(Array.from(utf8Encode(a + b))) === JSON.stringify(Array.from(te.encode(a + b)));
    }),
    { numRuns: 1000 },
  );
  t.deepEqual(utf8Encode('\ud800x\udc00'), te.encode('\ud800x\udc00'));
  t.deepEqual(utf8Encode('a\u00e9\u2603\ud83d\ude00'), te.encode('a\u00e9\u2603\ud83d\ude00'));
});
