import test from 'ava';
import {
  bodyScanner,
  connectionTokens,
  expectsContinue,
  isFramingError,
  isUpgradeRequest,
  requestBodyFraming,
  responseBodyFraming,
  wantsKeepAlive,
} from '../../src/http/framing.ts';
import { requestErrorStatus } from '../../src/http/request.ts';
import { parseHttp1Request } from '../../src/sniff/http1.ts';

type H = [string, string][];
const h = (...pairs: string[]): H => {
  const out: H = [];
  for (let i = 0; i < pairs.length; i += 2) out.push([pairs[i]!, pairs[i + 1]!]);
  return out;
};

test('requestBodyFraming: table', (t) => {
  const cases: [H, object][] = [
    [h(), { type: 'none' }],
    [h('Host', 'a'), { type: 'none' }],
    [h('Content-Length', '0'), { type: 'length', length: 0 }],
    [h('content-length', '42'), { type: 'length', length: 42 }],
    [h('Content-Length', ' 0042 '), { type: 'length', length: 42 }],
    [h('Content-Length', '42, 42'), { type: 'length', length: 42 }],
    [h('Content-Length', '42', 'CONTENT-LENGTH', '42'), { type: 'length', length: 42 }],
    [h('Content-Length', '9007199254740991'), { type: 'length', length: 9007199254740991 }],
    [h('Transfer-Encoding', 'chunked'), { type: 'chunked' }],
    [h('Transfer-Encoding', 'Chunked'), { type: 'chunked' }],
    [h('Transfer-Encoding', 'gzip, chunked'), { type: 'chunked' }],
    [h('Transfer-Encoding', 'gzip', 'Transfer-Encoding', 'chunked'), { type: 'chunked' }],
    [h('Transfer-Encoding', ' , chunked ,'), { type: 'chunked' }], // empty list elements are ignored
    [h('Transfer-Encoding', 'chunked;foo=bar'), { type: 'chunked' }],
    // errors
    [h('Transfer-Encoding', 'chunked', 'Content-Length', '5'), { status: 400 }],
    [h('Content-Length', '5', 'Transfer-Encoding', 'identity'), { status: 400 }],
    [h('Transfer-Encoding', 'gzip'), { status: 400 }],
    [h('Transfer-Encoding', 'chunked, gzip'), { status: 400 }],
    [h('Transfer-Encoding', 'chunked, chunked'), { status: 400 }],
    [h('Transfer-Encoding', ''), { status: 400 }],
    [h('Transfer-Encoding', 'chun ked'), { status: 400 }],
    [h('Transfer-Encoding', 'identity'), { status: 501 }],
    [h('Transfer-Encoding', 'br, chunked'), { status: 501 }],
    [h('Transfer-Encoding', 'xchunked'), { status: 501 }],
    [h('Content-Length', ''), { status: 400 }],
    [h('Content-Length', '-1'), { status: 400 }],
    [h('Content-Length', '+1'), { status: 400 }],
    [h('Content-Length', '1.0'), { status: 400 }],
    [h('Content-Length', '0x10'), { status: 400 }],
    [h('Content-Length', '1 2'), { status: 400 }],
    [h('Content-Length', '5,'), { status: 400 }],
    [h('Content-Length', ',5'), { status: 400 }],
    [h('Content-Length', '5, 6'), { status: 400 }],
    [h('Content-Length', '5', 'Content-Length', '6'), { status: 400 }],
    [h('Content-Length', '9007199254740992'), { status: 400 }],
    [h('Content-Length', '99999999999999999999999'), { status: 400 }],
  ];
  for (const [headers, want] of cases) t.like(requestBodyFraming(headers) as object, want, JSON.stringify(headers));
  for (const [headers] of cases) {
    const f = requestBodyFraming(headers);
    if (isFramingError(f)) t.true(f.error.length > 0);
  }
  t.like(requestBodyFraming(h('Transfer-Encoding', 'chunked'), '1.0') as object, { status: 400 });
  t.like(requestBodyFraming(h('Transfer-Encoding', 'chunked'), '1.1') as object, { type: 'chunked' });
  t.like(requestBodyFraming(h('Content-Length', '3'), '1.0') as object, { type: 'length', length: 3 });
});

test('responseBodyFraming: table', (t) => {
  const cl = h('Content-Length', '10');
  const ch = h('Transfer-Encoding', 'chunked');
  const cases: [string, number, H, object][] = [
    ['HEAD', 200, cl, { type: 'none' }],
    ['HEAD', 200, ch, { type: 'none' }],
    ['HEAD', 404, h(), { type: 'none' }],
    ['GET', 100, h(), { type: 'none' }],
    ['GET', 101, h('Upgrade', 'websocket'), { type: 'none' }],
    ['GET', 103, cl, { type: 'none' }],
    ['GET', 204, cl, { type: 'none' }],
    ['GET', 304, cl, { type: 'none' }],
    ['CONNECT', 200, cl, { type: 'close' }],
    ['CONNECT', 299, h(), { type: 'close' }],
    ['CONNECT', 407, cl, { type: 'length', length: 10 }],
    ['GET', 200, ch, { type: 'chunked' }],
    ['GET', 200, h('Transfer-Encoding', 'gzip, chunked'), { type: 'chunked' }],
    ['GET', 200, h('Transfer-Encoding', 'br, chunked'), { type: 'chunked' }], // verbatim: the client decodes
    ['GET', 200, h('Transfer-Encoding', 'gzip'), { type: 'close' }],
    ['GET', 200, h('Transfer-Encoding', 'chunked, gzip'), { type: 'close' }],
    ['GET', 200, h('Transfer-Encoding', ''), { type: 'close' }],
    ['POST', 500, cl, { type: 'length', length: 10 }],
    ['GET', 200, h('Content-Length', '0'), { type: 'length', length: 0 }],
    ['GET', 200, h('Content-Length', '7, 7'), { type: 'length', length: 7 }],
    ['GET', 200, h(), { type: 'close' }],
    ['GET', 404, h('Content-Type', 'text/plain'), { type: 'close' }],
    ['GET', 999, cl, { type: 'length', length: 10 }],
    // errors
    ['GET', 200, h('Transfer-Encoding', 'chunked', 'Content-Length', '10'), { status: 502 }],
    ['GET', 200, h('Transfer-Encoding', 'chunked, chunked'), { status: 502 }],
    ['GET', 200, h('Transfer-Encoding', 'ch@nked'), { status: 502 }],
    ['GET', 200, h('Content-Length', '10', 'Content-Length', '11'), { status: 502 }],
    ['GET', 200, h('Content-Length', 'ten'), { status: 502 }],
    ['GET', 200, h('Content-Length', ''), { status: 502 }],
  ];
  for (const [m, s, headers, want] of cases) t.like(responseBodyFraming(m, s, headers) as object, want, `${m} ${s} ${JSON.stringify(headers)}`);
  t.like(responseBodyFraming('GET', 200, ch, '1.0') as object, { status: 502 });
  t.like(responseBodyFraming('GET', 200, cl, '1.0') as object, { type: 'length', length: 10 });
  t.like(responseBodyFraming('GET', 200, h(), '1.0') as object, { type: 'close' });
});

test('connectionTokens and wantsKeepAlive', (t) => {
  t.deepEqual([...connectionTokens(h('Connection', 'Keep-Alive, X-Foo', 'connection', ' ,close,'))], ['keep-alive', 'x-foo', 'close']);
  t.deepEqual([...connectionTokens(h('X', 'close'))], []);
  const cases: ['1.0' | '1.1', H, boolean][] = [
    ['1.1', h(), true],
    ['1.1', h('Connection', 'keep-alive'), true],
    ['1.1', h('Connection', 'close'), false],
    ['1.1', h('Connection', 'Upgrade, CLOSE'), false],
    ['1.1', h('Connection', 'x', 'Connection', 'close'), false],
    ['1.0', h(), false],
    ['1.0', h('Connection', 'Keep-Alive'), true],
    ['1.0', h('Connection', 'keep-alive, close'), false],
    ['1.0', h('Keep-Alive', 'timeout=5'), false],
    ['1.0', h('Proxy-Connection', 'keep-alive'), false],
  ];
  for (const [v, headers, want] of cases) t.is(wantsKeepAlive(v, headers), want, `${v} ${JSON.stringify(headers)}`);
});

test('isUpgradeRequest and expectsContinue', (t) => {
  t.true(isUpgradeRequest(h('Connection', 'Upgrade', 'Upgrade', 'websocket')));
  t.true(isUpgradeRequest(h('connection', 'keep-alive, upgrade', 'upgrade', 'h2c')));
  t.true(isUpgradeRequest(h('Connection', 'Upgrade', 'Upgrade', 'websocket'), '1.1'));
  t.false(isUpgradeRequest(h('Connection', 'Upgrade', 'Upgrade', 'websocket'), '1.0'));
  t.false(isUpgradeRequest(h('Upgrade', 'websocket')));
  t.false(isUpgradeRequest(h('Connection', 'upgrade')));
  t.false(isUpgradeRequest(h('Connection', 'upgrade', 'Upgrade', '')));
  t.false(isUpgradeRequest(h('Connection', 'upgraded', 'Upgrade', 'websocket')));

  t.true(expectsContinue(h('Expect', '100-continue')));
  t.true(expectsContinue(h('expect', '100-Continue')));
  t.true(expectsContinue(h('Expect', ' 100-CONTINUE ')));
  t.false(expectsContinue(h()));
  t.false(expectsContinue(h('Expect', '100-continued')));
  t.false(expectsContinue(h('X-Expect', '100-continue')));
});

test('bodyScanner follows the framing', (t) => {
  const b = Uint8Array.from('5\r\nhello\r\n0\r\n\r\nNEXT', (c) => c.charCodeAt(0));
  t.deepEqual(bodyScanner({ type: 'none' }).scan(b), { status: 'done', consumed: 0 });
  t.deepEqual(bodyScanner({ type: 'length', length: 3 }).scan(b, 2), { status: 'done', consumed: 3 });
  t.deepEqual(bodyScanner({ type: 'length', length: 300 }).scan(b, 2), { status: 'more', consumed: b.length - 2 });
  t.deepEqual(bodyScanner({ type: 'chunked' }).scan(b), { status: 'done', consumed: b.length - 4 });
  t.deepEqual(bodyScanner({ type: 'close' }).scan(b, 4), { status: 'more', consumed: b.length - 4 });
  t.deepEqual(bodyScanner({ type: 'close' }).scan(b, 400), { status: 'more', consumed: 0 });
});

test('requestErrorStatus maps request-head errors to 400/414/431/505', (t) => {
  const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  const status = (s: string) => {
    const r = parseHttp1Request(enc(s), { maxRequestLine: 64, maxHeadBytes: 128, maxHeaders: 2 });
    return r.status === 'error' ? requestErrorStatus(r.error) : r.status;
  };
  t.is(status('GET /' + 'a'.repeat(100)), 414);
  t.is(status('GET / HTTP/1.1\r\nX: ' + 'a'.repeat(200)), 431);
  t.is(status('GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n'), 431);
  t.is(status('GET / HTTP/2.0\r\n\r\n'), 505);
  t.is(status('GET / HTTP/1.1\r\nA : 1\r\n\r\n'), 400);
  t.is(status('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'), 400);
});
