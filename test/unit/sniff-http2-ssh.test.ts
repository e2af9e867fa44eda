import test from 'ava';
import fc from 'fast-check';
import { parseHttp2Preface } from '../../src/sniff/http2.ts';
import { parseSshBanner } from '../../src/sniff/ssh.ts';
import type { SniffResult } from '../../src/sniff/types.ts';

const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

function expectError<T>(t: any, r: SniffResult<T>, code: string, field?: string, offset?: number) {
  if (r.status !== 'error') return t.fail(`expected ${code}, got ${JSON.stringify(r)}`);
  t.is(r.error.code, code, r.error.toString());
  if (field !== undefined) t.is(r.error.field, field, r.error.toString());
  if (offset !== undefined) t.is(r.error.offset, offset, r.error.toString());
}

function sane(r: SniffResult<unknown>, b: Uint8Array): boolean {
  if (r.status === 'ok') return r.length > 0 && r.length <= b.length;
  if (r.status === 'error') return r.error.offset >= 0 && r.error.offset <= b.length;
  return r.status === 'more';
}

test('HTTP/2 preface: every prefix needs more, the whole is ok, trailing frames excluded', (t) => {
  const b = enc(PREFACE + '\0\0\0\x04\0\0\0\0\0');
  for (let n = 0; n < 24; n++) t.is(parseHttp2Preface(b.subarray(0, n)).status, 'more');
  t.deepEqual(parseHttp2Preface(b.subarray(0, 24)), { status: 'ok', value: {}, length: 24 });
  t.deepEqual(parseHttp2Preface(b), { status: 'ok', value: {}, length: 24 });
});

test('HTTP/2 preface: first mismatch is not-this-protocol at its offset', (t) => {
  expectError(t, parseHttp2Preface(enc('GET / HTTP/1.1\r\n')), 'not-this-protocol', undefined, 0);
  expectError(t, parseHttp2Preface(enc('PRI * HTTP/1.1')), 'not-this-protocol', undefined, 11);
  expectError(t, parseHttp2Preface(enc('PRI * HTTP/2.0\r\n\r\nSM\r\n\n')), 'not-this-protocol', undefined, 22);
});

test('SSH banners', (t) => {
  const s = 'SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n';
  t.deepEqual(parseSshBanner(enc(s + '\0\0\x01\x0c')), {
    status: 'ok',
    length: s.length,
    value: { protoVersion: '2.0', software: 'OpenSSH_9.6p1', comments: 'Ubuntu-3ubuntu13' },
  });
  t.like(parseSshBanner(enc('SSH-1.99-libssh-0.6.0\n')), {
    status: 'ok',
    length: 22,
    value: { protoVersion: '1.99', software: 'libssh-0.6.0', comments: null },
  });
  t.like(parseSshBanner(enc('SSH-2.0-Go \r\n')), { status: 'ok', value: { software: 'Go', comments: null } });
  for (let n = 0; n < s.length; n++) t.is(parseSshBanner(enc(s.slice(0, n))).status, 'more', `prefix ${n}`);
});

test('SSH banner errors', (t) => {
  expectError(t, parseSshBanner(enc('GET / HTTP/1.1')), 'not-this-protocol', 'banner', 0);
  expectError(t, parseSshBanner(enc('SSX')), 'not-this-protocol', 'banner', 2);
  expectError(t, parseSshBanner(Uint8Array.of(0x16, 3, 1)), 'not-this-protocol', 'banner', 0);
  expectError(t, parseSshBanner(enc('SSH--x\r\n')), 'malformed', 'version', 4);
  expectError(t, parseSshBanner(enc('SSH-2 0-x\r\n')), 'malformed', 'version', 5);
  expectError(t, parseSshBanner(enc('SSH-2.0\r\n')), 'malformed', 'version', 7);
  expectError(t, parseSshBanner(enc('SSH-2.0-\r\n')), 'malformed', 'software', 8);
  expectError(t, parseSshBanner(enc('SSH-2.0-x\ry')), 'malformed', 'banner', 9);
  expectError(t, parseSshBanner(enc('SSH-2.0-x c\0\r\n')), 'malformed', 'comments', 11);
  // 255 bytes including CR LF is the most allowed
  const max = 'SSH-2.0-' + 'a'.repeat(255 - 8 - 2) + '\r\n';
  t.like(parseSshBanner(enc(max)), { status: 'ok', length: 255 });
  expectError(t, parseSshBanner(enc('SSH-2.0-a' + max.slice(8))), 'too-large', 'banner', 255);
  expectError(t, parseSshBanner(enc('SSH-2.0-x ' + 'c'.repeat(300))), 'too-large', 'banner', 255);
});

test('property: random bytes never throw (HTTP/2, SSH)', (t) => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }).map((b) => new Uint8Array([...enc('SSH-2.0-'), ...b])),
  );
  fc.assert(fc.property(bytes, (b) => sane(parseHttp2Preface(b), b) && sane(parseSshBanner(b), b)), { numRuns: 1000 });
  t.pass();
});

test('property: mutations and truncations of valid banners never throw', (t) => {
  const samples = ['SSH-2.0-OpenSSH_9.6 comment here\r\n', 'SSH-2.0-Go\n', PREFACE].map(enc);
  fc.assert(
    fc.property(fc.constantFrom(...samples), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (s, at, v, cut) => {
      const b = s.slice();
      b[at % b.length] = v;
      const tr = b.subarray(0, cut % (b.length + 1));
      return [b, tr].every((x) => sane(parseSshBanner(x), x) && sane(parseHttp2Preface(x), x));
    }),
    { numRuns: 1000 },
  );
  t.pass();
});
