import test from 'ava';
import fc from 'fast-check';
import { parseClientHello, tlsAlert } from '../../src/sniff/tls.ts';
import type { SniffResult } from '../../src/sniff/types.ts';
import {
  alpnExt,
  ascii,
  buildClientHello,
  buildHandshake,
  concat,
  ext,
  pqClientHello,
  realOpensslHello,
  sniExt,
  toRecords,
  u16,
  u24,
  u8,
  versionsExt,
} from '../helpers/tls-fixtures.ts';

function expectError<T>(t: any, r: SniffResult<T>, code: string, field?: string, offset?: number) {
  if (r.status !== 'error') return t.fail(`expected ${code}, got ${JSON.stringify(r)}`);
  t.is(r.error.code, code, r.error.toString());
  if (field !== undefined) t.is(r.error.field, field, r.error.toString());
  if (offset !== undefined) t.is(r.error.offset, offset, r.error.toString());
}

/** Every proper prefix → 'more'; the whole input → ok spanning all of it. */
function checkPrefixes(t: any, bytes: Uint8Array) {
  for (let n = 0; n < bytes.length; n++) {
    const r = parseClientHello(bytes.subarray(0, n));
    if (r.status !== 'more') return t.fail(`prefix ${n}/${bytes.length}: ${JSON.stringify(r)}`);
  }
  const r = parseClientHello(bytes);
  t.is(r.status, 'ok');
  if (r.status === 'ok') t.is(r.length, bytes.length);
}

test('extracts SNI, ALPN and supported_versions', (t) => {
  const r = parseClientHello(buildClientHello({ sni: 'Example.COM.', alpn: ['h2', 'http/1.1'], versions: [0x0304, 0x0303] }));
  t.deepEqual(r, {
    status: 'ok',
    value: { sni: 'example.com', alpn: ['h2', 'http/1.1'], legacyVersion: 0x0303, supportedVersions: [0x0304, 0x0303] },
    length: r.status === 'ok' ? r.length : -1,
  });
});

test('real openssl s_client hello', (t) => {
  const bytes = realOpensslHello();
  const r = parseClientHello(bytes);
  if (r.status !== 'ok') return t.fail(JSON.stringify(r));
  t.is(r.value.sni, 'real.example');
  t.deepEqual(r.value.alpn, ['h2', 'http/1.1']);
  t.true(r.value.supportedVersions.includes(0x0304));
  t.is(r.length, bytes.length);
  checkPrefixes(t, bytes);
});

test('hello without extensions is valid', (t) => {
  const r = parseClientHello(buildClientHello());
  t.like(r, { status: 'ok', value: { sni: null, alpn: [], supportedVersions: [] } });
});

test('post-quantum 1.8 KB hello (X25519MLKEM768 key share)', (t) => {
  const bytes = pqClientHello();
  t.true(bytes.length > 1700 && bytes.length < 2000, `size ${bytes.length}`);
  const r = parseClientHello(bytes);
  t.like(r, { status: 'ok', length: bytes.length, value: { sni: 'pq.example.com', alpn: ['h2', 'http/1.1'] } });
});

test('hello split across records, fed at every prefix length', (t) => {
  const hs = buildHandshake({ sni: 'split.example', alpn: ['h2'], versions: [0x0304] });
  for (const size of [1, 2, 7, 50, hs.length - 1]) checkPrefixes(t, toRecords(hs, size));
  checkPrefixes(t, pqClientHello(600)); // 4 records
  checkPrefixes(t, pqClientHello(1000)); // 2 records, like a real large-MTU split
  const r = parseClientHello(realOpensslHello().subarray(5)); // sanity: raw handshake isn't a record
  t.is(r.status, 'error');
});

test('trailing bytes after the hello are not consumed', (t) => {
  const hello = buildClientHello({ sni: 'a.example', recordSize: 40 });
  const plain = parseClientHello(hello);
  for (const tail of [u8(22), u8(23, 3, 3, 0, 5, 1, 2, 3, 4, 5), ascii('GET / HTTP/1.1\r\n')]) {
    t.deepEqual(parseClientHello(concat(hello, tail)), plain);
  }
});

test('not TLS: detected on the first bytes', (t) => {
  expectError(t, parseClientHello(ascii('GET / HTTP/1.1\r\n')), 'not-this-protocol', undefined, 0);
  expectError(t, parseClientHello(ascii('SSH-2.0-x')), 'not-this-protocol', undefined, 0);
  expectError(t, parseClientHello(u8(22, 2)), 'not-this-protocol', 'record-version', 1);
  t.is(parseClientHello(u8()).status, 'more');
  t.is(parseClientHello(u8(22)).status, 'more');
  t.is(parseClientHello(u8(22, 3, 1)).status, 'more');
});

test('record framing errors', (t) => {
  expectError(t, parseClientHello(u8(22, 3, 9)), 'malformed', 'record-version', 2);
  expectError(t, parseClientHello(u8(22, 3, 1, 0, 0)), 'malformed', 'record-length', 3);
  expectError(t, parseClientHello(u8(22, 3, 1, 0x48, 0x01)), 'malformed', 'record-length', 3);
  // a non-handshake record between two fragments
  const hs = buildHandshake({ sni: 'x.example' });
  const bytes = toRecords(hs, 20);
  bytes[25] = 21; // second record's type → alert
  expectError(t, parseClientHello(bytes), 'malformed', 'record-type', 25);
  const bytes2 = toRecords(hs, 20);
  bytes2[26] = 4;
  expectError(t, parseClientHello(bytes2), 'malformed', 'record-version', 26);
});

test('handshake type must be ClientHello', (t) => {
  const bytes = buildClientHello();
  bytes[5] = 2;
  expectError(t, parseClientHello(bytes), 'malformed', 'handshake-type', 5);
  expectError(t, parseClientHello(bytes.subarray(0, 6)), 'malformed', 'handshake-type', 5); // early
});

test('ClientHello body errors name the field and offset', (t) => {
  const sidOff = 5 + 4 + 2 + 32;
  expectError(t, parseClientHello(buildClientHello({ sessionId: new Uint8Array(33) })), 'malformed', 'session_id', sidOff);
  const csOff = sidOff + 1 + 32;
  const odd = buildClientHello({ rawExtensions: new Uint8Array(0) });
  odd[csOff + 1] = 7; // odd cipher suites length
  expectError(t, parseClientHello(odd), 'malformed', 'cipher_suites', csOff);
  expectError(t, parseClientHello(buildClientHello({ cipherSuites: [] })), 'malformed', 'cipher_suites', csOff);
  expectError(t, parseClientHello(buildClientHello({ compression: [] })), 'malformed', 'compression_methods', csOff + 2 + 8);
  const extOff = csOff + 2 + 8 + 2;

  const block = (...exts: Uint8Array[]) => {
    const b = concat(...exts);
    return concat(u16(b.length), b);
  };
  const bad = (raw: Uint8Array) => parseClientHello(buildClientHello({ rawExtensions: raw }));
  expectError(t, bad(u8(0)), 'malformed', 'extensions', extOff);
  expectError(t, bad(concat(u16(10), ext(5, u8(1, 2)))), 'malformed', 'extensions', extOff);
  expectError(t, bad(block(concat(u16(5), u16(9), u8(1, 2)))), 'malformed', 'extensions', extOff + 4);
  expectError(t, bad(block(ext(23, u8()), ext(23, u8()))), 'malformed', 'extensions', extOff + 6);
  expectError(t, bad(block(sniExt('a.example'), sniExt('b.example'))), 'malformed', 'extensions');

  // server_name
  for (const name of ['a b.example', 'a..b', '.', '', 'x'.repeat(64) + '.example', 'é.example', 'a.'.repeat(127) + 'ab']) {
    expectError(t, bad(block(sniExt(name))), 'malformed', 'server_name');
  }
  expectError(t, bad(block(ext(0, u8()))), 'malformed', 'server_name');
  expectError(t, bad(block(ext(0, concat(u16(0))))), 'malformed', 'server_name');
  expectError(t, bad(block(ext(0, concat(u16(9), u8(0), u16(9), ascii('a.example'))))), 'malformed', 'server_name');
  const two = concat(u8(0), u16(1), ascii('a'), u8(0), u16(1), ascii('b'));
  expectError(t, bad(block(ext(0, concat(u16(two.length), two)))), 'malformed', 'server_name');
  // unknown name types are skipped
  const other = concat(u8(7), u16(2), ascii('zz'), u8(0), u16(3), ascii('abc'));
  t.like(bad(block(ext(0, concat(u16(other.length), other)))), { status: 'ok', value: { sni: 'abc' } });
  t.like(bad(block(sniExt('Under_Score-1.Example.'))), { status: 'ok', value: { sni: 'under_score-1.example' } });

  // alpn
  expectError(t, bad(block(alpnExt(['h2', '']))), 'malformed', 'alpn');
  expectError(t, bad(block(ext(16, concat(u16(0))))), 'malformed', 'alpn');
  expectError(t, bad(block(ext(16, concat(u16(4), u8(5), ascii('abc'))))), 'malformed', 'alpn');

  // supported_versions
  expectError(t, bad(block(ext(43, u8(3, 3, 4, 3)))), 'malformed', 'supported_versions');
  expectError(t, bad(block(ext(43, u8(0)))), 'malformed', 'supported_versions');
  expectError(t, bad(block(ext(43, u8()))), 'malformed', 'supported_versions');
  t.like(bad(block(versionsExt([0x0304]))), { status: 'ok', value: { supportedVersions: [0x0304] } });

  // truncated body (handshake length shorter than its fields)
  const hs = buildHandshake({ sni: 'a.example' });
  const short = concat(u8(1), u24(20), hs.subarray(4, 24));
  expectError(t, parseClientHello(toRecords(short)), 'malformed', 'client_hello');
});

test('size caps: too-large', (t) => {
  const real = realOpensslHello();
  expectError(t, parseClientHello(real, 200), 'too-large', 'handshake-length', 6);
  // declared length alone is enough to refuse, long before the bytes arrive
  expectError(t, parseClientHello(concat(u8(22, 3, 1, 0x40, 0), u8(1), u24(0xffffff))), 'too-large', 'handshake-length');
  // a message within the cap, but dribbled in 1-byte records, blows the buffering cap
  const hs = buildHandshake();
  t.true(hs.length < 128);
  const dribble = toRecords(hs, 1);
  expectError(t, parseClientHello(dribble, 128), 'too-large', 'record');
  t.is(parseClientHello(dribble).status, 'ok');
  t.is(parseClientHello(pqClientHello(), 1024).status, 'error');
});

test('tlsAlert builds a fatal alert record', (t) => {
  t.deepEqual(tlsAlert(112), u8(21, 3, 3, 0, 2, 2, 112));
  t.deepEqual(tlsAlert(40), u8(21, 3, 3, 0, 2, 2, 40));
});

// ---- properties

function checkSane(r: SniffResult<unknown>, buf: Uint8Array): boolean {
  if (r.status === 'ok') return r.length > 0 && r.length <= buf.length;
  if (r.status === 'error') return r.error.offset >= 0 && r.error.offset <= buf.length;
  return r.status === 'more';
}

test('property: random bytes never throw', (t) => {
  const bytes = fc.uint8Array({ maxLength: 300 });
  fc.assert(fc.property(bytes, (b) => checkSane(parseClientHello(b), b)), { numRuns: 1000 });
  // also start like a TLS record so the deeper code paths get exercised
  fc.assert(
    fc.property(bytes, (b) => {
      const buf = concat(u8(22, 3, 1, b.length >> 8, b.length & 0xff, 1, 0, (b.length - 4) >> 8), b);
      return checkSane(parseClientHello(buf), buf);
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

test('property: mutations and truncations of valid hellos never throw', (t) => {
  const samples = [realOpensslHello(), pqClientHello(700), buildClientHello({ sni: 'm.example', alpn: ['h2'], versions: [0x0304], recordSize: 30 })];
  fc.assert(
    fc.property(fc.constantFrom(...samples), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (s, at, v, cut) => {
      const b = s.slice();
      b[at % b.length] = v;
      const truncated = b.subarray(0, cut % (b.length + 1));
      return checkSane(parseClientHello(b), b) && checkSane(parseClientHello(truncated), truncated);
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

const label = fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,20}$/);
const dnsNameArb = fc.array(label, { minLength: 1, maxLength: 5 }).map((ls) => ls.join('.'));
const alpnArb = fc.array(fc.string({ minLength: 1, maxLength: 12, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }), { maxLength: 4 });

test('property: random valid hellos round-trip', (t) => {
  fc.assert(
    fc.property(
      fc.option(dnsNameArb, { nil: undefined }),
      alpnArb,
      fc.array(fc.integer({ min: 0x0300, max: 0x0304 }), { maxLength: 4 }),
      fc.array(fc.record({ group: fc.integer({ min: 0, max: 0xffff }), len: fc.integer({ min: 1, max: 1300 }) }), { maxLength: 2 }),
      fc.integer({ min: 1, max: 2000 }),
      fc.nat(),
      (sni, alpn, versions, keyShares, recordSize, cut) => {
        const bytes = buildClientHello({
          sni,
          alpn: alpn.length ? alpn : undefined,
          versions: versions.length ? versions : undefined,
          keyShares: keyShares.length ? keyShares : undefined,
          recordSize,
        });
        const r = parseClientHello(bytes);
        if (r.status !== 'ok' || r.length !== bytes.length) return false;
        if (r.value.sni !== (sni === undefined ? null : sni.toLowerCase())) return false;
        if (JSON.stringify(r.value.alpn) !== JSON.stringify(alpn)) return false;
        if (JSON.stringify(r.value.supportedVersions) !== JSON.stringify(versions)) return false;
        return parseClientHello(bytes.subarray(0, cut % bytes.length)).status === 'more';
      },
    ),
    { numRuns: 500 },
  );
  t.pass();
});
