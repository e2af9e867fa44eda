// The fast paths (built-in calls instead of byte loops; used where NATIVE_FAST, i.e. txiki.js) must
// give exactly what the exact byte-loop code gives: the same value, the same 'more', the same error
// code, offset, message and field, the same bytes. Each property compares the two on many inputs:
// valid heads, their mutations and truncations under limits near their sizes, random pieces and
// random bytes. A fast path may decline (null); then the exact code answers, so only a non-null
// fast result is compared, and separate properties check that it does not decline the common case.
//
// Also runs on txiki.js: `node bench/http-parse.mjs --verify` bundles this file with a small
// stand-in for ava and runs it under tjs, where the fast paths use QuickJS's own built-ins.
import test from 'ava';
import fc from 'fast-check';
import { same } from '../helpers/same.ts';

// The fast paths decode and encode with Uint8Array.prototype.toBase64 / Uint8Array.fromBase64 when
// present (txiki.js has them). On a Node without them, add them (from Buffer) before the modules
// load, so the paths that run on txiki.js are the ones tested here.
const U8 = Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array; prototype: { toBase64?: () => string } };
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
if (typeof U8.prototype.toBase64 !== 'function' && NodeBuffer) {
  U8.prototype.toBase64 = function (this: Uint8Array) {
    return NodeBuffer.from(this.buffer, this.byteOffset, this.byteLength).toString('base64');
  };
  U8.fromBase64 = (s: string) => new Uint8Array(NodeBuffer.from(s, 'base64'));
}

const { defaultHttp1Limits, parseHttp1Request, parseHttp1RequestExact, parseHttp1RequestFast } = await import('../../src/sniff/http1.ts');
const { defaultResponseLimits, parseResponseHead, parseResponseHeadExact, parseResponseHeadFast } = await import('../../src/http/response.ts');
const head = await import('../../src/http/head.ts');
const { asciiEncodeNative, latin1Decode, latin1DecodeAll, latin1Encode, latin1EncodeNative, listElements } = await import('../../src/http/bytes.ts');
const { scanPlainHead } = await import('../../src/http/fields.ts');

type Limits = { maxRequestLine: number; maxHeadBytes: number; maxHeaders: number };

const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff); // latin1
const show = (x: unknown) => JSON.stringify(x, (_k, v) => (v instanceof Uint8Array ? latin1Decode(v, 0, v.length) : v));

/** Fast and exact agree on `b` (the fast path may decline), and the public function is the exact one. */
function requestAgrees(b: Uint8Array, limits: Limits): boolean {
  const exact = parseHttp1RequestExact(b, limits);
  const fast = parseHttp1RequestFast(b, limits);
  if (fast !== null && !same(fast, exact)) throw new Error(`request ${show(b)} ${show(limits)}: fast ${show(fast)} ≠ exact ${show(exact)}`);
  return same(parseHttp1Request(b, limits), exact);
}

function responseAgrees(b: Uint8Array, limits: { maxHeadBytes: number; maxHeaders: number }): boolean {
  const exact = parseResponseHeadExact(b, limits);
  const fast = parseResponseHeadFast(b, limits);
  if (fast !== null && !same(fast, exact)) throw new Error(`response ${show(b)} ${show(limits)}: fast ${show(fast)} ≠ exact ${show(exact)}`);
  return same(parseResponseHead(b, limits), exact);
}

// ---- arbitraries

const tokenChars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const token = (max: number) => fc.string({ unit: fc.constantFrom(...tokenChars), minLength: 1, maxLength: max });
const commonName = fc.constantFrom(
  'Host', 'host', 'HOST', 'User-Agent', 'Accept', 'Accept-Encoding', 'Connection', 'Content-Length', 'Transfer-Encoding',
  'Cookie', 'Set-Cookie', 'Content-Type', 'Date', 'Server', 'ETag', 'X-Forwarded-For', 'Hos', 'Hostx', 'Upgrade',
);
const name = fc.oneof({ weight: 20, arbitrary: commonName }, { weight: 20, arbitrary: token(24) }, {
  weight: 1,
  arbitrary: fc.string({ unit: fc.constantFrom('a', 'B', '-', ' ', '\t', '"', '(', '/', '@', '\x80', '\xe9', ':'), minLength: 0, maxLength: 6 }),
});
const vchar = fc.constantFrom(...'abcXYZ019 -_.,;:=/"()@?[]{}\\~!*'.split(''), '\x80', '\xa0', '\xe9', '\xff');
const ows = fc.constantFrom('', '', ' ', '  ', '\t', ' \t ');
const plainValue = fc.tuple(ows, fc.string({ unit: vchar, maxLength: 40 }), ows).map(([a, v, b]) => a + v + b);
const oddValue = fc.string({ unit: fc.constantFrom('a', ' ', '\t', '\0', '\x01', '\x1f', '\x7f', '\r', '\n', '\xff', ':'), maxLength: 8 });
const value = fc.oneof({ weight: 40, arbitrary: plainValue }, { weight: 1, arbitrary: oddValue });
const hostValue = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('www.example.com', 'Example.COM.:8080', 'a.example:443', '[::1]:80', '[2001:DB8::1]', '10.0.0.1', 'a_b.lan', 'a.example:') },
  { weight: 1, arbitrary: fc.constantFrom('', 'a..b', 'a.example:0', 'a.example:99999', 'a.example:x', '[::1', 'a b', 'x'.repeat(70) + '.example') },
);
const method = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT') },
  { weight: 6, arbitrary: token(22) },
  { weight: 1, arbitrary: fc.constantFrom('', 'G T', 'GET\t', 'G\xe9T', '\x16\x03') },
);
const target = fc.oneof(
  { weight: 15, arbitrary: fc.string({ unit: fc.constantFrom(...'/abc09.-_~%?&=+:@!$*,;'.split('')), maxLength: 40 }).map((s) => '/' + s) },
  { weight: 1, arbitrary: fc.constantFrom('*', 'http://a.example/x', 'HTTP://User:pw@B.example:81/', 'https://[::1]:8443', 'http:///x', 'ftp://h/', 'a.example:443', '[::1]:443', 'a.example:x') },
  { weight: 1, arbitrary: fc.constantFrom('', '/a b', '/\t', '/caf\xe9', '/\x7f', '/\x01', '//') },
);
const version = fc.oneof({ weight: 30, arbitrary: fc.constantFrom('HTTP/1.1', 'HTTP/1.0') }, { weight: 1, arbitrary: fc.constantFrom('HTTP/1.2', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 ', 'HTTP/1.', '') });
const eol = fc.oneof({ weight: 60, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: fc.constantFrom('\n', '\r', '\r\r\n', ' \r\n') });
const trailing = fc.oneof(fc.constant(''), fc.constant('body bytes'), fc.uint8Array({ maxLength: 40 }).map((b) => latin1Decode(b, 0, b.length)));

const requestText = fc
  .record({
    method,
    target,
    version,
    eol1: eol,
    hosts: fc.oneof({ weight: 8, arbitrary: fc.array(hostValue, { maxLength: 1 }) }, { weight: 1, arbitrary: fc.array(hostValue, { minLength: 2, maxLength: 2 }) }),
    fields: fc.array(fc.tuple(name, value, eol), { maxLength: 12 }),
    end: eol,
    trailing,
  })
  .map((q) => {
    const fields = [...q.hosts.map((h) => ['Host', ` ${h}`, '\r\n'] as const), ...q.fields];
    const lines = fields.map(([n, v, e]) => `${n}:${v}${e}`).join('');
    return { text: `${q.method} ${q.target} ${q.version}${q.eol1}${lines}${q.end}`, trailing: q.trailing, fields: fields.length };
  });

/** Limits near the head's own sizes, so that every cap is hit just below, at and just above. */
function limitsFor(text: string, fields: number, pick: [number, number, number, boolean]): Limits {
  if (pick[3]) return defaultHttp1Limits;
  const firstLine = Math.max(0, text.indexOf('\n'));
  return {
    maxRequestLine: Math.max(1, firstLine - 2 + (pick[0] % 5)),
    maxHeadBytes: Math.max(1, text.length - 3 + (pick[1] % 7)),
    maxHeaders: Math.max(0, fields - 1 + (pick[2] % 3)),
  };
}
const limitPick = fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.boolean());

/** One edit of a byte string: replace, insert or delete a byte, or cut it. */
const edit = fc.tuple(fc.constantFrom('set', 'insert', 'delete', 'cut', 'none'), fc.nat(), fc.oneof(fc.constantFrom(0, 9, 10, 13, 32, 34, 58, 0x7f, 0x80, 0xa0, 0xff, 65, 47), fc.integer({ min: 0, max: 255 })));
function applyEdit(b: Uint8Array, [kind, at, v]: [string, number, number]): Uint8Array {
  const i = b.length === 0 ? 0 : at % b.length;
  if (kind === 'set' && b.length > 0) {
    const c = b.slice();
    c[i] = v;
    return c;
  }
  if (kind === 'insert') return Uint8Array.from([...b.subarray(0, i), v, ...b.subarray(i)]);
  if (kind === 'delete' && b.length > 0) return Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + 1)]);
  if (kind === 'cut') return b.subarray(0, at % (b.length + 1));
  return b;
}

// ---- request heads

test('request: fast path = exact parser on generated heads, edits, cuts and limits near their sizes', (t) => {
  fc.assert(
    fc.property(requestText, limitPick, fc.array(edit, { maxLength: 2 }), (q, pick, edits) => {
      let b: Uint8Array = enc(q.text + q.trailing);
      for (const e of edits) b = applyEdit(b, e as [string, number, number]);
      return requestAgrees(b, limitsFor(q.text, q.fields, pick));
    }),
    { numRuns: 4000 },
  );
  t.pass();
});

test('request: fast path = exact parser on every prefix of generated heads', (t) => {
  fc.assert(
    fc.property(requestText, limitPick, (q, pick) => {
      const b = enc(q.text + q.trailing);
      const limits = limitsFor(q.text, q.fields, pick);
      for (let n = 0; n <= b.length; n++) if (!requestAgrees(b.subarray(0, n), limits)) return false;
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('request: fast path = exact parser on random pieces and random bytes', (t) => {
  const piece = fc.constantFrom('GET', 'CONNECT', ' ', '/', 'http://a.example', 'HTTP/1.1', 'HTTP/1.0', '\r\n', '\n', '\r', 'Host', 'host', ':', ' a.example', '[::1]:8', 'x', '\t', '\xff', '\0', 'Content-Length: 5');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 40 }), limitPick, (ps, pick) => {
      const s = ps.join('');
      return requestAgrees(enc(s), limitsFor(s, 4, pick));
    }),
    { numRuns: 3000 },
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => requestAgrees(b, defaultHttp1Limits)), { numRuns: 1000 });
  t.pass();
});

test('request: the fast path takes plain heads (browser-like, obs-text, OWS, HTAB in values, body after)', (t) => {
  const plainName = fc.oneof(commonName.filter((n) => n.toLowerCase() !== 'host'), token(20).filter((n) => n.toLowerCase() !== 'host'));
  fc.assert(
    fc.property(
      fc.constantFrom('GET', 'POST', 'PATCH', 'M-SEARCH'),
      fc.string({ unit: fc.constantFrom(...'/abc09.-_~%?&=+:@'.split('')), maxLength: 60 }),
      fc.constantFrom('1.0', '1.1'),
      fc.option(fc.constantFrom('www.example.com', 'a.example:8080', '[::1]:443', '10.0.0.1'), { nil: undefined }),
      fc.array(fc.tuple(plainName, plainValue), { maxLength: 20 }),
      trailing,
      (m, path, v, host, fields, body) => {
        const all = host === undefined ? fields : [['Host', host] as [string, string], ...fields];
        const text = `${m} /${path} HTTP/${v}\r\n${all.map(([n, x]) => `${n}:${x}\r\n`).join('')}\r\n`;
        const b = enc(text + body);
        const fast = parseHttp1RequestFast(b);
        if (fast === null) throw new Error(`declined ${show(text)}`);
        return fast.status === 'ok' && fast.length === text.length && same(fast, parseHttp1RequestExact(b));
      },
    ),
    { numRuns: 1500 },
  );
  t.pass();
});

test('request: fixed cases, fast and exact', (t) => {
  const cases = [
    'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a..b\r\n\r\n',
    'GET / HTTP/1.1\r\nHost : a\r\n\r\n',
    'GET / HTTP/1.1\r\nA: b\r\n  folded\r\n\r\n',
    'GET / HTTP/1.1\r\nA: b\rc\r\n\r\n',
    'GET / HTTP/1.1\r\nA: b\nc\r\n\r\n',
    'GET / HTTP/1.1\r\n\n',
    'GET / HTTP/1.1\r\n\r',
    'GET /\t HTTP/1.1\r\n\r\n',
    'GET /caf\xe9 HTTP/1.1\r\n\r\n',
    'GET  / HTTP/1.1\r\n\r\n',
    'GET / HTTP/1.1 \r\n\r\n',
    'GET / HTTP/1.1\r\nX: \t\r\n\r\n',
    'GET / HTTP/1.1\r\nX:\xa0v\xa0\r\n\r\n',
    'CONNECT a.example:443 HTTP/1.1\r\n\r\n',
    'CONNECT a.example:x HTTP/1.1\r\n\r\n',
    'GET http://u@A.example:81/x HTTP/1.0\r\n\r\n',
    'A'.repeat(20) + ' / HTTP/1.1\r\n\r\n',
    'A'.repeat(21) + ' / HTTP/1.1\r\n\r\n',
    'GET\r\n\r\n',
    '\r\n\r\n',
    'HTTP/1.1\r\nA: b\r\n\r\n',
    'ABCDEFGH\r\nA: b\r\n\r\n',
  ];
  for (const s of cases) {
    for (const limits of [defaultHttp1Limits, { maxRequestLine: 14, maxHeadBytes: s.length, maxHeaders: 1 }, { maxRequestLine: 15, maxHeadBytes: s.length - 1, maxHeaders: 0 }]) {
      const b = enc(s);
      t.true(requestAgrees(b, limits), s);
      t.true(requestAgrees(enc(s + 'tail\0'), limits), s);
    }
  }
});

test('request: every byte value set, inserted or deleted at every position of sample heads', (t) => {
  const samples = [
    'GET /a?b=c HTTP/1.1\r\nHost: a.example:80\r\nX-Y:  v w\t\r\nE:\r\n\r\n',
    'CONNECT a.example:443 HTTP/1.0\r\nhost: [::1]:8\r\n\r\n',
    'GET http://u@b.example/ HTTP/1.1\r\nA: \xe9\r\n\r\n',
  ];
  for (const s of samples) {
    const b = enc(s + 'z');
    const lines = s.split('\n').length - 3;
    const tight = { maxRequestLine: s.indexOf('\r'), maxHeadBytes: s.length, maxHeaders: lines };
    for (let i = 0; i <= b.length; i++) {
      if (i < b.length && !requestAgrees(Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + 1)]), defaultHttp1Limits)) return t.fail();
      for (let v = 0; v < 256; v++) {
        const c = Uint8Array.from([...b.subarray(0, i), v, ...b.subarray(i + 1)]);
        const d = Uint8Array.from([...b.subarray(0, i), v, ...b.subarray(i)]);
        if (!requestAgrees(c, defaultHttp1Limits) || !requestAgrees(c, tight) || !requestAgrees(d, defaultHttp1Limits)) return t.fail(`${i} ${v}`);
      }
    }
  }
  t.pass();
});

// ---- response heads

const responseText = fc
  .record({
    version: fc.oneof({ weight: 30, arbitrary: fc.constantFrom('HTTP/1.1', 'HTTP/1.0') }, { weight: 1, arbitrary: fc.constantFrom('HTTP/1.2', 'HTTP/2', 'HTTP/1.10', 'http/1.1', 'ICY', '') }),
    status: fc.oneof({ weight: 30, arbitrary: fc.integer({ min: 100, max: 999 }).map(String) }, { weight: 1, arbitrary: fc.constantFrom('099', '000', '20', '2000', 'abc', ' 200', '') }),
    reason: fc.oneof(
      { weight: 20, arbitrary: fc.constantFrom(' OK', ' Not Found', '', ' ', ' \tx\t', ' caf\xe9') },
      { weight: 1, arbitrary: fc.constantFrom('x', ' a\0', ' a\x7f', ' a\rb', '\t') },
    ),
    eol1: eol,
    fields: fc.array(fc.tuple(name, value, eol), { maxLength: 12 }),
    end: eol,
    trailing,
  })
  .map((r) => {
    const lines = r.fields.map(([n, v, e]) => `${n}:${v}${e}`).join('');
    return { text: `${r.version} ${r.status}${r.reason}${r.eol1}${lines}${r.end}`, trailing: r.trailing, fields: r.fields.length };
  });

test('response: fast path = exact parser on generated heads, edits, cuts, prefixes and limits near their sizes', (t) => {
  fc.assert(
    fc.property(responseText, limitPick, fc.array(edit, { maxLength: 2 }), (r, pick, edits) => {
      let b: Uint8Array = enc(r.text + r.trailing);
      for (const e of edits) b = applyEdit(b, e as [string, number, number]);
      const l = limitsFor(r.text, r.fields, pick);
      return responseAgrees(b, pick[3] ? defaultResponseLimits : { maxHeadBytes: l.maxHeadBytes, maxHeaders: l.maxHeaders });
    }),
    { numRuns: 4000 },
  );
  fc.assert(
    fc.property(responseText, (r) => {
      const b = enc(r.text + r.trailing);
      for (let n = 0; n <= b.length; n++) if (!responseAgrees(b.subarray(0, n), defaultResponseLimits)) return false;
      return true;
    }),
    { numRuns: 300 },
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => responseAgrees(b, defaultResponseLimits)), { numRuns: 1000 });
  t.pass();
});

test('response: every byte value set, inserted or deleted at every position of sample heads', (t) => {
  for (const s of ['HTTP/1.1 200 OK\r\nA: b c\r\nX:\t\xe9 \r\n\r\n', 'HTTP/1.0 404\r\n\r\n']) {
    const b = enc(s + 'z');
    const tight = { maxHeadBytes: s.length, maxHeaders: s.split('\n').length - 3 };
    for (let i = 0; i <= b.length; i++) {
      if (i < b.length && !responseAgrees(Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + 1)]), defaultResponseLimits)) return t.fail();
      for (let v = 0; v < 256; v++) {
        const c = Uint8Array.from([...b.subarray(0, i), v, ...b.subarray(i + 1)]);
        const d = Uint8Array.from([...b.subarray(0, i), v, ...b.subarray(i)]);
        if (!responseAgrees(c, defaultResponseLimits) || !responseAgrees(c, tight) || !responseAgrees(d, defaultResponseLimits)) return t.fail(`${i} ${v}`);
      }
    }
  }
  t.pass();
});

test('response: the fast path takes plain heads', (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom('1.0', '1.1'),
      fc.integer({ min: 100, max: 999 }),
      fc.constantFrom('', ' ', ' OK', ' Not Found', ' caf\xe9 \t'),
      fc.array(fc.tuple(fc.oneof(commonName, token(20)), plainValue), { maxLength: 20 }),
      trailing,
      (v, status, reason, fields, body) => {
        const text = `HTTP/${v} ${status}${reason}\r\n${fields.map(([n, x]) => `${n}:${x}\r\n`).join('')}\r\n`;
        const b = enc(text + body);
        const fast = parseResponseHeadFast(b);
        if (fast === null) throw new Error(`declined ${show(text)}`);
        return fast.status === 'ok' && fast.length === text.length && same(fast, parseResponseHeadExact(b));
      },
    ),
    { numRuns: 1500 },
  );
  t.pass();
});

// ---- serialization

const anyUnit = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...'aZ0 -_/:;=.,"'.split('')) },
  { weight: 1, arbitrary: fc.constantFrom('\r', '\n', '\0', '\t', '\x7f', '\x80', '\xe9', '\xff', '\u0100', '\u2603', '\ud83d', '\ude00', '\ud83d\ude00') },
);
const anyString = fc.oneof({ weight: 3, arbitrary: fc.string({ unit: anyUnit, maxLength: 20 }) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) });
const headerList = fc.array(fc.tuple(anyString, anyString), { maxLength: 10 });

test('serializers: fast = exact bytes on arbitrary parts (CR/LF/NUL injection, latin1, > 0xff, odd statuses)', (t) => {
  fc.assert(
    fc.property(anyString, anyString, fc.constantFrom('1.0', '1.1'), headerList, (m, tg, v, hs) => {
      const exact = head.serializeRequestHeadExact(m, tg, v as '1.0' | '1.1', hs);
      const fast = head.serializeRequestHeadFast(m, tg, v as '1.0' | '1.1', hs);
      if (fast !== null && !same(fast, exact)) throw new Error(`request ${show([m, tg, v, hs])}`);
      return same(head.serializeRequestHead(m, tg, v as '1.0' | '1.1', hs), exact);
    }),
    { numRuns: 3000 },
  );
  const status = fc.oneof(fc.integer({ min: 100, max: 999 }), fc.constantFrom(0, 99, 1000, -5, 200.7, 999.9, NaN, Infinity));
  fc.assert(
    fc.property(fc.constantFrom('1.0', '1.1'), status, anyString, headerList, (v, st, reason, hs) => {
      const exact = head.serializeResponseHeadExact(v as '1.0' | '1.1', st, reason, hs);
      const fast = head.serializeResponseHeadFast(v as '1.0' | '1.1', st, reason, hs);
      if (fast !== null && !same(fast, exact)) throw new Error(`response ${show([v, st, reason, hs])}`);
      return same(head.serializeResponseHead(v as '1.0' | '1.1', st, reason, hs), exact);
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('serializers: the fast path takes plain heads, latin1 included', (t) => {
  const part = fc.string({ unit: fc.constantFrom(...'aZ0 -_/:;=.,"\t'.split(''), '\x80', '\xe9', '\xff'), maxLength: 30 });
  fc.assert(
    fc.property(part, part, fc.array(fc.tuple(part, part), { maxLength: 12 }), (a, b, hs) => {
      const q = head.serializeRequestHeadFast(a, b, '1.1', hs);
      const r = head.serializeResponseHeadFast('1.0', 204, a, hs);
      if (q === null || r === null) throw new Error(`declined ${show([a, b, hs])}`);
      return same(q, head.serializeRequestHeadExact(a, b, '1.1', hs)) && same(r, head.serializeResponseHeadExact('1.0', 204, a, hs));
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

// ---- helpers

test('latin1DecodeAll and latin1EncodeNative agree with the byte loops', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 5000 }), (b) => latin1DecodeAll(b) === latin1Decode(b, 0, b.length)),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(anyString, (s) => {
      const n = latin1EncodeNative(s);
      const a = asciiEncodeNative(s);
      return (
        (n === null ? /[^\x00-\xff]/.test(s) : same(n, latin1Encode(s))) &&
        (a === null ? /[^\x00-\x7f]/.test(s) : same(a, latin1Encode(s)))
      );
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('scanPlainHead: fields as the exact parser makes them, or null', (t) => {
  fc.assert(
    fc.property(responseText, (r) => {
      const b = enc(r.text + r.trailing);
      const h = scanPlainHead(b, b.length, 100);
      if (h === null) return true;
      // the head it found (the trailing bytes may complete it), with a status line the exact parser takes
      const head = latin1Decode(b, 0, h.end);
      const exact = parseResponseHeadExact(enc('HTTP/1.1 200 OK\r\n' + head.slice(head.indexOf('\n') + 1)));
      return exact.status === 'ok' && same(h.headers, exact.value.headers) && h.text === head;
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

test('scanPlainHead: the text is the head alone, also when the buffer ends in an empty line of its own', (t) => {
  // found by a property run (seed 1778379342): a second empty line after the head's
  for (const [buf, head] of [
    ['HTTP/1.1 100 OK\r\n!:\r\n\r\n\r\n', 'HTTP/1.1 100 OK\r\n!:\r\n\r\n'],
    ['GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: b\r\n\r\n', 'GET /a HTTP/1.1\r\nHost: a\r\n\r\n'],
  ]) {
    const b = enc(buf!);
    const h = scanPlainHead(b, b.length, 100);
    t.is(h?.text, head);
    t.is(h?.end, head!.length);
  }
});

test('listElements = split on commas, OWS trimmed, empties dropped', (t) => {
  const ref = (v: string) => v.split(',').map((e) => e.replace(/^[ \t]+|[ \t]+$/g, '')).filter((e) => e !== '');
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('a', 'B', '-', ',', ' ', '\t', '\xa0', '='), maxLength: 12 }), (v) => same(listElements(v), ref(v))),
    { numRuns: 2000 },
  );
  t.pass();
});

test('removeHopByHop (names filtered by length before lowercasing) = the plain version', (t) => {
  // The version before the length filter, as the reference.
  const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'transfer-encoding']);
  const PROTECTED = new Set(['content-length', 'transfer-encoding', 'host']);
  const tokens = (hs: [string, string][]) => {
    const out = new Set<string>();
    for (const [n, v] of hs) if (n.toLowerCase() === 'connection') for (const e of v.split(',')) {
      const x = e.replace(/^[ \t]+|[ \t]+$/g, '');
      if (x !== '') out.add(x.toLowerCase());
    }
    return out;
  };
  const reference = (hs: [string, string][], keepTe: boolean, keepUpgrade: boolean) => {
    const named = tokens(hs);
    const out: [string, string][] = [];
    let upgradeConn = false;
    for (const [n, v] of hs) {
      const lower = n.toLowerCase();
      if (lower === 'transfer-encoding') {
        if (keepTe) out.push([n, v]);
        continue;
      }
      if (keepUpgrade && lower === 'upgrade') {
        out.push([n, v]);
        continue;
      }
      if (keepUpgrade && lower === 'connection') {
        if (!upgradeConn && named.has('upgrade')) out.push([n, 'upgrade']);
        upgradeConn = true;
        continue;
      }
      if (HOP.has(lower) || (named.has(lower) && !PROTECTED.has(lower))) continue;
      out.push([n, v]);
    }
    return out;
  };
  // U+212A KELVIN SIGN lowercases to "k"; U+0130 lowercases to two units ("i" U+0307)
  const names = ['Connection', 'connection', 'Keep-Alive', '\u212aeep-Alive', 'TE', 'Te', 'Upgrade', 'Transfer-Encoding', 'Proxy-Connection', 'Content-Length', 'Host', 'X-A', 'x-a', 'X-Long-Name-Of-More-Than-Thirty-Chars', '\u0130', 'i\u0307', 'X\u0130', 'A'.repeat(31), 'a'.repeat(40)];
  const named = ['keep-alive', 'close', 'upgrade', 'X-A', 'x-long-name-of-more-than-thirty-chars', '\u0130', 'i\u0307', 'x\u0130', 'a'.repeat(31), 'a'.repeat(40), 'content-length', 'Host', 'te'];
  const connValue = fc.array(fc.tuple(fc.constantFrom(...named), fc.constantFrom('', ' ', '\t')), { maxLength: 3 }).map((xs) => xs.map(([x, w]) => w + x + w).join(','));
  const field = fc.oneof(fc.tuple(fc.constantFrom(...names), fc.constantFrom('v', '')), fc.tuple(fc.constant('Connection'), connValue));
  fc.assert(
    fc.property(fc.array(field, { maxLength: 8 }), fc.boolean(), fc.boolean(), (hs, keepTe, keepUpgrade) =>
      same(head.removeHopByHop(hs, { keepTransferEncoding: keepTe, keepUpgrade }), reference(hs, keepTe, keepUpgrade)),
    ),
    { numRuns: 3000 },
  );
  t.pass();
});
