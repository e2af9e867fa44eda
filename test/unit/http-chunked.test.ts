import test from 'ava';
import fc from 'fast-check';
import { ChunkedScanner, LengthCounter, type ChunkedLimits } from '../../src/http/chunked.ts';

const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0)); // latin1

type Outcome = { status: 'more' | 'done'; length: number } | { status: 'error'; code: string; offset: number; field: string | undefined };

/** Feeds `b` in pieces ending at `cuts` (sorted), each as its own buffer or as (buf, from). */
function scanPieces(b: Uint8Array, cuts: number[], limits?: Partial<ChunkedLimits>, useFrom = false): Outcome {
  const s = new ChunkedScanner(limits);
  let at = 0;
  let total = 0;
  for (const end of [...cuts, b.length]) {
    if (end < at) continue;
    const r = useFrom ? s.scan(b.subarray(0, end), at) : s.scan(b.subarray(at, end));
    if (r.status === 'error') return { status: 'error', code: r.error.code, offset: r.error.offset, field: r.error.field };
    if (r.consumed < 0 || r.consumed > end - at) throw new Error(`consumed ${r.consumed} of ${end - at}`);
    total += r.consumed;
    if (r.status === 'done') return { status: 'done', length: total };
    if (r.consumed !== end - at) throw new Error(`'more' must consume the whole piece`);
    at = end;
  }
  return { status: 'more', length: total };
}
const whole = (b: Uint8Array, limits?: Partial<ChunkedLimits>) => scanPieces(b, [], limits);
const byteByByte = (b: Uint8Array, limits?: Partial<ChunkedLimits>) =>
  scanPieces(b, Array.from({ length: b.length }, (_, i) => i), limits);

/** whole, byte by byte, and every single split point (both calling styles) must agree. */
function agree(t: any, s: string | Uint8Array, limits?: Partial<ChunkedLimits>): Outcome {
  const b = typeof s === 'string' ? enc(s) : s;
  const w = whole(b, limits);
  t.deepEqual(byteByByte(b, limits), w, `byte by byte: ${JSON.stringify(s)}`);
  for (let k = 0; k <= b.length; k++) {
    const a = scanPieces(b, [k], limits);
    const f = scanPieces(b, [k], limits, true);
    if (JSON.stringify(a) !== JSON.stringify(w) || JSON.stringify(f) !== JSON.stringify(w))
      t.fail(`split at ${k} of ${JSON.stringify(s)}: ${JSON.stringify(a)} / ${JSON.stringify(f)} vs ${JSON.stringify(w)}`);
  }
  return w;
}

test('valid chunked bodies end exactly at the final CRLF, at every split', (t) => {
  const bodies = [
    '0\r\n\r\n',
    '0\n\n',
    '000\r\n\r\n',
    '5\r\nhello\r\n0\r\n\r\n',
    '5\nhello\n0\n\n',
    'A\r\n0123456789\r\n1\r\nx\r\n0\r\n\r\n',
    'a\r\n0123456789\r\n0\r\n\r\n',
    '00005\r\nhello\r\n0\r\n\r\n',
    '5;name=value\r\nhello\r\n0;last\r\n\r\n',
    '5 ;a ; b = c;d="q \\"x\\" \\\\ y";e\r\nhello\r\n0\r\n\r\n',
    '5;\tq="semi;colon\r\n"\r\n', // a CR inside a quoted string is refused
    '3\r\n\r\n\r\r\n0\r\n\r\n', // data may hold CR/LF
    '0\r\nExpires: never\r\nX-Checksum: abc\t def\r\n\r\n',
    '0\nA:\nB: 1\n\n',
    '0\r\nA: caf\xe9\r\n\r\n',
  ];
  for (const body of bodies) {
    const r = agree(t, body + 'HTTP/1.1 200 OK\r\n');
    if (body.includes('semi;colon')) t.like(r, { status: 'error', field: 'chunk-ext' });
    else t.deepEqual(r, { status: 'done', length: body.length }, JSON.stringify(body));
  }
});

test('incomplete bodies need more and consume everything', (t) => {
  for (const s of ['', '5', '5\r', '5\r\nhel', '5\r\nhello', '5\r\nhello\r', '5\r\nhello\r\n0', '0\r\n', '0\r\nX: 1\r\n', '0\r\n\r', '5;a="x', '5;a="x\\', 'ffffffff\r\nabc']) {
    t.deepEqual(agree(t, s), { status: 'more', length: s.length }, JSON.stringify(s));
  }
});

test('errors carry the offset within the body and the field', (t) => {
  const cases: [string, string, string, number][] = [
    ['x\r\n', 'malformed', 'chunk-size', 0],
    ['\r\n', 'malformed', 'chunk-size', 0],
    [';a\r\n', 'malformed', 'chunk-size', 0],
    [' 5\r\n', 'malformed', 'chunk-size', 0],
    ['-5\r\n', 'malformed', 'chunk-size', 0],
    ['0x5\r\n', 'malformed', 'chunk-size', 1],
    ['abcdefg\r\n', 'malformed', 'chunk-size', 6],
    ['5 \r\nhello\r\n', 'malformed', 'chunk-ext', 2],
    ['5\t\r\n', 'malformed', 'chunk-ext', 2],
    ['5;\r\n', 'malformed', 'chunk-ext', 2],
    ['5;=x\r\n', 'malformed', 'chunk-ext', 2],
    ['5;a=\r\n', 'malformed', 'chunk-ext', 4],
    ['5;a b\r\n', 'malformed', 'chunk-ext', 4],
    ['5;a=b c\r\n', 'malformed', 'chunk-ext', 6],
    ['5;a="x\r\n', 'malformed', 'chunk-ext', 6],
    ['5;a="x"y\r\n', 'malformed', 'chunk-size', 7],
    ['5;a="\\\n"\r\n', 'malformed', 'chunk-ext', 6],
    ['5;a="\x01"\r\n', 'malformed', 'chunk-ext', 5],
    ['5;a@\r\n', 'malformed', 'chunk-ext', 3],
    ['5\rX', 'malformed', 'chunk-size', 2],
    ['5\r\nhelloX', 'malformed', 'chunk-data', 8],
    ['5\r\nhello\rX', 'malformed', 'chunk-data', 9],
    ['5\r\nhello\r\n\r\n', 'malformed', 'chunk-size', 10],
    ['0\r\n folded: x\r\n\r\n', 'malformed', 'trailer', 3],
    ['0\r\nX : y\r\n\r\n', 'malformed', 'trailer', 4],
    ['0\r\n: y\r\n\r\n', 'malformed', 'trailer', 3],
    ['0\r\nX: a\0b\r\n\r\n', 'malformed', 'trailer', 7],
    ['0\r\nX: a\rb\r\n\r\n', 'malformed', 'trailer', 8], // found at the byte after the bare CR
    ['0\r\nX: a\r\n\rb', 'malformed', 'trailer', 10],
    ['0\r\n\rX', 'malformed', 'trailer', 4],
    ['0\r\nNoColon\r\n\r\n', 'malformed', 'trailer', 10],
    // sizes: more than 15 hex digits, or over 2^53 - 1
    ['0000000000000001\r\n', 'too-large', 'chunk-size', 15],
    ['20000000000000\r\n', 'too-large', 'chunk-size', 13],
    ['ffffffffffffffff\r\n', 'too-large', 'chunk-size', 13],
  ];
  for (const [s, code, field, offset] of cases) t.deepEqual(agree(t, s), { status: 'error', code, field, offset }, JSON.stringify(s));
  // the largest size is accepted (and then waits for its data)
  t.deepEqual(whole(enc('1fffffffffffff\r\nabc')), { status: 'more', length: 19 });
  t.deepEqual(whole(enc('000000000000005\r\nhello\r\n0\r\n\r\n')), { status: 'done', length: 29 });
});

test('offsets count bytes of earlier calls; errors and done are sticky', (t) => {
  const s = new ChunkedScanner();
  t.deepEqual(s.scan(enc('5\r\nhel')), { status: 'more', consumed: 6 });
  t.is(s.bytesScanned, 6);
  const r = s.scan(enc('xxlo\r\nZ'), 2);
  t.like(r, { status: 'error', error: { code: 'malformed', offset: 10, field: 'chunk-size' } });
  t.deepEqual(s.scan(enc('0\r\n\r\n')), r);
  s.reset();
  t.deepEqual(s.scan(enc('0\r\n\r\nrest')), { status: 'done', consumed: 5 });
  t.true(s.done);
  t.deepEqual(s.scan(enc('0\r\n\r\n')), { status: 'done', consumed: 0 });
  // `from` past the end or negative is clamped
  const u = new ChunkedScanner();
  t.deepEqual(u.scan(enc('abc'), 10), { status: 'more', consumed: 0 });
  t.deepEqual(u.scan(enc('0\r\n\r\n'), -3), { status: 'done', consumed: 5 });
});

test('size caps: chunk-size line and trailer section → too-large', (t) => {
  const lim = { maxChunkLine: 10, maxTrailerBytes: 20 };
  t.deepEqual(agree(t, '5;aaaaaa\r\nhello\r\n0\r\n\r\n', lim), { status: 'done', length: 22 }); // line of exactly 10
  t.deepEqual(agree(t, '5;aaaaaaa\r\nhello\r\n0\r\n\r\n', lim), { status: 'error', code: 'too-large', field: 'chunk-size', offset: 10 });
  t.deepEqual(agree(t, '5;' + 'a'.repeat(100), lim), { status: 'error', code: 'too-large', field: 'chunk-size', offset: 10 });
  t.deepEqual(agree(t, '0'.repeat(11), lim), { status: 'error', code: 'too-large', field: 'chunk-size', offset: 10 });
  // each line has its own budget
  t.deepEqual(whole(enc('1;aaaaaa\r\nx\r\n1;aaaaaa\r\nx\r\n0;aaaaaa\r\n\r\n'), lim), { status: 'done', length: 38 });
  const trailer = 'X: ' + 'v'.repeat(13) + '\r\n\r\n'; // 20 bytes with the final CRLF
  t.deepEqual(agree(t, '0\r\n' + trailer, lim), { status: 'done', length: 23 });
  t.deepEqual(agree(t, '0\r\nX' + trailer, lim), { status: 'error', code: 'too-large', field: 'trailer', offset: 23 });
  t.deepEqual(whole(enc('0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n'), lim), { status: 'error', code: 'too-large', field: 'trailer', offset: 23 });
  // the defaults: 4096 and 16384
  t.like(whole(enc('1;' + 'a'.repeat(5000))), { status: 'error', code: 'too-large', offset: 4096 });
  t.like(whole(enc('0\r\nX: ' + 'a'.repeat(20000))), { status: 'error', code: 'too-large', offset: 3 + 16384 });
  // chunk data is not limited
  const big = 'fffff\r\n' + 'x'.repeat(0xfffff) + '\r\n0\r\n\r\n';
  t.deepEqual(whole(enc(big), lim), { status: 'done', length: big.length });
});

test('LengthCounter', (t) => {
  const c = new LengthCounter(5);
  t.deepEqual(c.scan(enc('ab')), { status: 'more', consumed: 2 });
  t.is(c.remaining, 3);
  t.deepEqual(c.scan(enc('xxcdefgh'), 2), { status: 'done', consumed: 3 });
  t.deepEqual(c.scan(enc('zz')), { status: 'done', consumed: 0 });
  t.deepEqual(new LengthCounter(0).scan(enc('zz')), { status: 'done', consumed: 0 });
  t.deepEqual(new LengthCounter(3).scan(enc('zz'), 5), { status: 'more', consumed: 0 });
});

// ---- properties

const tokenArb = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,8}$/);
const bwsArb = fc.constantFrom('', ' ', '\t', '  ');
const quotedArb = fc
  .array(fc.oneof(fc.stringMatching(/^[\t !#-[\]-~\x80-\xff]$/), fc.stringMatching(/^\\[\t !-~\x80-\xff]$/)), { maxLength: 8 })
  .map((parts) => `"${parts.join('')}"`);
const extArb = fc
  .tuple(bwsArb, bwsArb, tokenArb, fc.option(fc.tuple(bwsArb, bwsArb, fc.oneof(tokenArb, quotedArb)), { nil: undefined }))
  .map(([w1, w2, name, val]) => `${w1};${w2}${name}` + (val ? `${val[0]}=${val[1]}${val[2]}` : ''));
const eolArb = fc.constantFrom('\r\n', '\r\n', '\n');
const chunkArb = fc.record({
  data: fc.uint8Array({ minLength: 1, maxLength: 200 }),
  upper: fc.boolean(),
  zeros: fc.integer({ min: 0, max: 3 }),
  exts: fc.array(extArb, { maxLength: 3 }),
  eol1: eolArb,
  eol2: eolArb,
});
const trailerArb = fc.tuple(tokenArb, fc.stringMatching(/^[\t !-~\x80-\xff]{0,20}$/), eolArb).map(([n, v, e]) => `${n}:${v}${e}`);
const bodyArb = fc
  .record({
    chunks: fc.array(chunkArb, { maxLength: 6 }),
    lastZeros: fc.integer({ min: 1, max: 3 }),
    lastExts: fc.array(extArb, { maxLength: 2 }),
    lastEol: eolArb,
    trailers: fc.array(trailerArb, { maxLength: 4 }),
    finalEol: eolArb,
  })
  .map((q) => {
    const parts: Uint8Array[] = [];
    for (const c of q.chunks) {
      const size = c.data.length.toString(16);
      parts.push(enc('0'.repeat(c.zeros) + (c.upper ? size.toUpperCase() : size) + c.exts.join('') + c.eol1), c.data, enc(c.eol2));
    }
    parts.push(enc('0'.repeat(q.lastZeros) + q.lastExts.join('') + q.lastEol + q.trailers.join('') + q.finalEol));
    return concat(parts);
  });

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const cutsArb = fc.array(fc.nat(), { maxLength: 12 });
const sortedCuts = (cuts: number[], n: number) => cuts.map((c) => c % (n + 1)).sort((a, b) => a - b);

test('property: random valid bodies + trailing bytes → done at exactly the body length, under any split', (t) => {
  fc.assert(
    fc.property(bodyArb, fc.uint8Array({ maxLength: 30 }), cutsArb, fc.boolean(), (body, tail, cuts, useFrom) => {
      const b = concat([body, tail]);
      const want = { status: 'done', length: body.length };
      const split = scanPieces(b, sortedCuts(cuts, b.length), undefined, useFrom);
      return JSON.stringify(split) === JSON.stringify(want) && JSON.stringify(whole(b)) === JSON.stringify(want);
    }),
    { numRuns: 1500 },
  );
  // and byte by byte, on fewer runs
  fc.assert(
    fc.property(bodyArb, (body) => JSON.stringify(byteByByte(concat([body, enc('NEXT')]))) === JSON.stringify({ status: 'done', length: body.length })),
    { numRuns: 200 },
  );
  t.pass();
});

test('property: truncated valid bodies need more and consume every byte', (t) => {
  fc.assert(
    fc.property(bodyArb, fc.nat(), cutsArb, (body, cut, cuts) => {
      const b = body.subarray(0, cut % body.length);
      const r = scanPieces(b, sortedCuts(cuts, b.length));
      return r.status === 'more' && r.length === b.length;
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

function sane(r: Outcome, n: number): boolean {
  if (r.status === 'error') return r.offset >= 0 && r.offset < n && (r.code === 'malformed' || r.code === 'too-large');
  return r.length >= 0 && r.length <= n && (r.status === 'done' || r.length === n);
}

test('property: random, mutated and truncated input never throws, errors are in range, splits agree', (t) => {
  const lim = { maxChunkLine: 24, maxTrailerBytes: 40 };
  const check = (b: Uint8Array, cuts: number[]) => {
    const w = whole(b, lim);
    const s = scanPieces(b, sortedCuts(cuts, b.length), lim);
    return sane(w, b.length) && JSON.stringify(w) === JSON.stringify(s);
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), cutsArb, check), { numRuns: 1500 });
  const piece = fc.constantFrom('0', '5', 'a', 'F', ';', '=', '"', '\\', ' ', '\t', '\r', '\n', '\r\n', 'x', ':', 'hello', '\0', '\xff');
  fc.assert(fc.property(fc.array(piece, { maxLength: 50 }), cutsArb, (ps, cuts) => check(enc(ps.join('')), cuts)), { numRuns: 2000 });
  fc.assert(
    fc.property(bodyArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), fc.nat(), cutsArb, (body, muts, cut, cuts) => {
      const b = body.slice();
      if (b.length === 0) return true;
      for (const [at, v] of muts) b[at % b.length] = v;
      return check(b, cuts) && check(b.subarray(0, cut % (b.length + 1)), cuts);
    }),
    { numRuns: 1500 },
  );
  t.pass();
});

test('property: oversized chunk lines and trailers → too-large', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 4, max: 64 }), fc.array(extArb, { minLength: 1, maxLength: 10 }), cutsArb, (max, exts, cuts) => {
      const line = '5' + exts.join('');
      const b = enc(line + '\r\nhello\r\n0\r\n\r\n');
      const r = scanPieces(b, sortedCuts(cuts, b.length), { maxChunkLine: max });
      if (line.length + 2 <= max) return r.status === 'done' && r.length === b.length;
      return r.status === 'error' && r.code === 'too-large' && r.field === 'chunk-size' && r.offset === max;
    }),
    { numRuns: 700 },
  );
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 100 }), fc.array(trailerArb, { maxLength: 6 }), cutsArb, (max, trailers, cuts) => {
      const section = trailers.join('') + '\r\n';
      const b = enc('1\r\nx\r\n0\r\n' + section);
      const r = scanPieces(b, sortedCuts(cuts, b.length), { maxTrailerBytes: max });
      if (section.length <= max) return r.status === 'done' && r.length === b.length;
      return r.status === 'error' && r.code === 'too-large' && r.field === 'trailer' && r.offset === 9 + max;
    }),
    { numRuns: 700 },
  );
  t.pass();
});
