import test from 'ava';
import fc from 'fast-check';
import { defaultResponseLimits, isInterimStatus, parseResponseHead } from '../../src/http/response.ts';
import type { SniffResult } from '../../src/sniff/types.ts';

const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0)); // latin1
const parse = (s: string, limits = defaultResponseLimits) => parseResponseHead(enc(s), limits);

function expectError<T>(t: any, r: SniffResult<T>, code: string, field?: string, offset?: number) {
  if (r.status !== 'error') return t.fail(`expected ${code}, got ${JSON.stringify(r)}`);
  t.is(r.error.code, code, r.error.toString());
  if (field !== undefined) t.is(r.error.field, field, r.error.toString());
  if (offset !== undefined) t.is(r.error.offset, offset, r.error.toString());
}

function checkPrefixes(t: any, s: string) {
  const b = enc(s);
  for (let n = 0; n < b.length; n++) {
    const r = parseResponseHead(b.subarray(0, n));
    if (r.status !== 'more') return t.fail(`prefix ${n}: ${JSON.stringify(r)}`);
  }
}

test('parses a response head with headers; length covers the final CRLF', (t) => {
  const head = 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length:  5 \t\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n';
  t.deepEqual(parse(head + 'hello'), {
    status: 'ok',
    length: head.length,
    value: {
      version: '1.1',
      status: 200,
      reason: 'OK',
      headers: [
        ['Content-Type', 'text/html'],
        ['Content-Length', '5'],
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
      ],
    },
  });
  checkPrefixes(t, head);
});

test('status line variants', (t) => {
  const cases: [string, object][] = [
    ['HTTP/1.0 404 Not Found\r\n\r\n', { version: '1.0', status: 404, reason: 'Not Found' }],
    ['HTTP/1.1 200 \r\n\r\n', { status: 200, reason: '' }],
    ['HTTP/1.1 200\r\n\r\n', { status: 200, reason: '' }], // no SP before an empty reason: tolerated
    ['HTTP/1.1 204 No  Content \r\n\r\n', { status: 204, reason: 'No  Content ' }],
    ['HTTP/1.1 100 Continue\r\n\r\n', { status: 100 }],
    ['HTTP/1.1 999 Whatever\r\n\r\n', { status: 999 }],
    ['HTTP/1.1 200 caf\xe9\tok\r\n\r\n', { reason: 'caf\xe9\tok' }],
    ['HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\n\n', { status: 101, headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade']] }],
  ];
  for (const [s, want] of cases) {
    t.like(parse(s), { status: 'ok', length: s.length, value: want }, JSON.stringify(s));
    checkPrefixes(t, s);
  }
  t.like(parse('HTTP/1.1 200 OK\r\nEmpty:\r\nX: caf\xe9\r\n\r\n'), { status: 'ok', value: { headers: [['Empty', ''], ['X', 'café']] } });
});

test('bad status lines', (t) => {
  const cases: [string, string, string, number][] = [
    ['ICY 200 OK\r\n\r\n', 'not-this-protocol', 'version', 0],
    ['<html>', 'not-this-protocol', 'version', 0],
    ['http/1.1 200 OK\r\n\r\n', 'not-this-protocol', 'version', 0],
    ['HTTP/2 200\r\n\r\n', 'malformed', 'version', 5],
    ['HTTP/1.2 200 OK\r\n\r\n', 'malformed', 'version', 7],
    ['HTTP/1.10 200 OK\r\n\r\n', 'malformed', 'version', 8],
    ['HTTP/1.1\t200 OK\r\n\r\n', 'malformed', 'status-line', 8],
    ['HTTP/1.1  200 OK\r\n\r\n', 'malformed', 'status-line', 9],
    ['HTTP/1.1 20 OK\r\n\r\n', 'malformed', 'status-line', 11],
    ['HTTP/1.1 2000 OK\r\n\r\n', 'malformed', 'status-line', 12],
    ['HTTP/1.1 099 Low\r\n\r\n', 'malformed', 'status-line', 9],
    ['HTTP/1.1 000\r\n\r\n', 'malformed', 'status-line', 9],
    ['HTTP/1.1 2a0 OK\r\n\r\n', 'malformed', 'status-line', 10],
    ['HTTP/1.1 200 O\x01K\r\n\r\n', 'malformed', 'status-line', 14],
    ['HTTP/1.1 200 O\x7fK\r\n\r\n', 'malformed', 'status-line', 14],
    ['HTTP/1.1 200 OK\rX\r\n\r\n', 'malformed', 'status-line', 15],
    ['HTTP/1.1 200\rX', 'malformed', 'status-line', 12],
  ];
  for (const [s, code, field, offset] of cases) expectError(t, parse(s), code, field, offset);
});

test('bad header fields', (t) => {
  const l = 'HTTP/1.1 200 OK\r\n'.length;
  expectError(t, parse('HTTP/1.1 200 OK\r\nA: b\r\n  folded\r\n\r\n'), 'malformed', 'headers', l + 6);
  expectError(t, parse('HTTP/1.1 200 OK\r\n folded: x\r\n\r\n'), 'malformed', 'headers', l);
  expectError(t, parse('HTTP/1.1 200 OK\r\nName : x\r\n\r\n'), 'malformed', 'headers', l + 4);
  expectError(t, parse('HTTP/1.1 200 OK\r\n: x\r\n\r\n'), 'malformed', 'headers', l);
  expectError(t, parse('HTTP/1.1 200 OK\r\nNoColon\r\n\r\n'), 'malformed', 'headers', l + 7);
  expectError(t, parse('HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n'), 'malformed', 'headers', l + 4);
  expectError(t, parse('HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n'), 'malformed', 'headers', l + 4);
  expectError(t, parse('HTTP/1.1 200 OK\r\n\rx'), 'malformed', 'headers', l);
  expectError(t, parse('HTTP/1.1 200 OK\r\nA\xff: b\r\n\r\n'), 'malformed', 'headers', l + 1);
});

test('size caps: head bytes and field count, before the head is complete', (t) => {
  const limits = { maxHeadBytes: 64, maxHeaders: 2 };
  const big = 'HTTP/1.1 200 OK\r\nX: ' + 'v'.repeat(100);
  expectError(t, parse(big, limits), 'too-large', 'headers', 64);
  t.is(parse(big.slice(0, 64), limits).status, 'more');
  const fits = 'HTTP/1.1 200 OK\r\nX: ' + 'v'.repeat(64 - 20 - 4) + '\r\n\r\n';
  t.is(fits.length, 64);
  t.like(parse(fits + 'body', limits), { status: 'ok', length: 64 });
  expectError(t, parse(fits.replace('X:', 'XY:'), limits), 'too-large', 'headers', 64);
  // CR as the last byte under the cap and LF over it
  expectError(t, parse('HTTP/1.1 200 OK\r\n' + 'X: ' + 'v'.repeat(64 - 17 - 3 - 1) + '\r\n', limits), 'too-large', 'headers', 64);
  const two = 'HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n';
  t.like(parse(two + '\r\n', limits), { status: 'ok' });
  expectError(t, parse(two + 'C: 3\r\n\r\n', limits), 'too-large', 'headers', two.length);
  expectError(t, parseResponseHead(enc('HTTP/1.1 200 OK\r\nX: ' + 'v'.repeat(20000))), 'too-large', 'headers', 16384);
});

test('isInterimStatus', (t) => {
  t.true(isInterimStatus(100));
  t.true(isInterimStatus(103));
  t.false(isInterimStatus(101));
  t.false(isInterimStatus(200));
  t.false(isInterimStatus(99));
});

// ---- properties

function checkSane(r: SniffResult<unknown>, buf: Uint8Array): boolean {
  if (r.status === 'ok') return r.length > 0 && r.length <= buf.length;
  if (r.status === 'error') return r.error.offset >= 0 && r.error.offset <= buf.length;
  return r.status === 'more';
}

test('property: random bytes and random pieces never throw', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => checkSane(parseResponseHead(b), b)), { numRuns: 1000 });
  const piece = fc.constantFrom('HTTP/1.1', 'HTTP/1.0', ' ', '200', '99', '1000', 'OK', '\r\n', '\n', '\r', 'X', ':', ' v', '\t', '\xff', '\0');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 40 }), (ps) => {
      const b = enc(ps.join(''));
      return checkSane(parseResponseHead(b, { maxHeadBytes: 80, maxHeaders: 3 }), b);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,15}$/);
const value = fc.stringMatching(/^[!-~\x80-\xff]([ !-~\x80-\xff]{0,30}[!-~\x80-\xff])?$/);
const responseArb = fc.record({
  version: fc.constantFrom('1.0', '1.1'),
  status: fc.integer({ min: 100, max: 999 }),
  reason: fc.stringMatching(/^[\t !-~\x80-\xff]{0,20}$/),
  headers: fc.array(fc.tuple(token, fc.option(value, { nil: '' })), { maxLength: 8 }),
  lf: fc.boolean(),
});

test('property: random valid responses round-trip; every prefix needs more', (t) => {
  fc.assert(
    fc.property(responseArb, fc.nat(), fc.uint8Array({ maxLength: 20 }), (q, cut, tail) => {
      const eol = q.lf ? '\n' : '\r\n';
      const head = `HTTP/${q.version} ${q.status} ${q.reason}${eol}` + q.headers.map(([n, v]) => `${n}: ${v}${eol}`).join('') + eol;
      const hb = enc(head);
      const b = new Uint8Array(hb.length + tail.length);
      b.set(hb);
      b.set(tail, hb.length);
      const r = parseResponseHead(b);
      if (r.status !== 'ok' || r.length !== head.length) return false;
      const v = r.value;
      return (
        v.version === q.version &&
        v.status === q.status &&
        v.reason === q.reason &&
        JSON.stringify(v.headers) === JSON.stringify(q.headers) &&
        parseResponseHead(b.subarray(0, cut % head.length)).status === 'more'
      );
    }),
    { numRuns: 700 },
  );
  t.pass();
});

test('property: mutations and truncations of valid responses never throw', (t) => {
  const samples = [
    'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX: y\r\n\r\nabc',
    'HTTP/1.0 301 Moved\nLocation: /x\n\n',
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n',
  ].map(enc);
  fc.assert(
    fc.property(fc.constantFrom(...samples), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (s, at, v, cut) => {
      const b = s.slice();
      b[at % b.length] = v;
      const tr = b.subarray(0, cut % (b.length + 1));
      return checkSane(parseResponseHead(b), b) && checkSane(parseResponseHead(tr), tr) && checkSane(parseResponseHead(tr, { maxHeadBytes: 30, maxHeaders: 1 }), tr);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});
