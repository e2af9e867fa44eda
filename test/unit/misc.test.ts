import test from 'ava';
import fc from 'fast-check';
import { formatAccessLog, type ConnectionRecord, formatRequestLog } from '../../src/core/access-log.ts';
import { formatIPv6, parseIPv6 } from '../../src/route/cidr.ts';
import { AF_INET, AF_INET6, decodeSockaddr, encodeSockaddr, SOCKADDR_IN6_SIZE, SOCKADDR_IN_SIZE } from '../../src/runtime/sockaddr.ts';
import { requestBodyFraming } from '../../src/http/framing.ts';
import { parseRequest } from '../../src/proxy/socks5.ts';
import { detect } from '../../src/sniff/detect.ts';
import { parseAuthority } from '../../src/sniff/http1.ts';

// ---------------------------------------------------------------------------
// sockaddr

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

test('encodeSockaddr: IPv4 layout (family in host order, port and address in network order)', (t) => {
  const b = encodeSockaddr('192.168.1.2', 0x1f90);
  t.is(b.length, SOCKADDR_IN_SIZE);
  t.is(new Uint16Array(b.buffer, b.byteOffset, 1)[0], AF_INET);
  t.deepEqual(Array.from(b.subarray(2, 8)), [0x1f, 0x90, 192, 168, 1, 2]);
  t.deepEqual(Array.from(b.subarray(8)), Array(8).fill(0));
});

test('encodeSockaddr: IPv6 layout', (t) => {
  const b = encodeSockaddr('2001:db8::1', 443);
  t.is(b.length, SOCKADDR_IN6_SIZE);
  t.is(new Uint16Array(b.buffer, b.byteOffset, 1)[0], AF_INET6);
  t.deepEqual(Array.from(b.subarray(2, 4)), [0x01, 0xbb]);
  t.deepEqual(Array.from(b.subarray(4, 8)), [0, 0, 0, 0], 'flowinfo');
  t.deepEqual(b.subarray(8, 24), parseIPv6('2001:db8::1'));
  t.deepEqual(Array.from(b.subarray(24)), [0, 0, 0, 0], 'scope id');
});

test('encodeSockaddr refuses names', (t) => {
  for (const host of ['localhost', '', '1.2.3', '[::1]', '01.2.3.4']) {
    t.throws(() => encodeSockaddr(host, 80), { message: /is not an IP literal/ }, host);
  }
});

test('sockaddr round trips', (t) => {
  const rows: [string, number, { host: string; port: number; family: 4 | 6 }][] = [
    ['0.0.0.0', 0, { host: '0.0.0.0', port: 0, family: 4 }],
    ['127.0.0.1', 1080, { host: '127.0.0.1', port: 1080, family: 4 }],
    ['255.255.255.255', 65535, { host: '255.255.255.255', port: 65535, family: 4 }],
    ['::', 0, { host: '::', port: 0, family: 6 }],
    ['::1', 8080, { host: '::1', port: 8080, family: 6 }],
    ['FD00:0:0::0001', 443, { host: 'fd00::1', port: 443, family: 6 }],
    ['2001:db8:0:1:1:1:1:1', 1, { host: '2001:db8:0:1:1:1:1:1', port: 1, family: 6 }],
    // a v4-mapped peer on a dual-stack socket is an IPv4 client
    ['::ffff:10.1.2.3', 5555, { host: '10.1.2.3', port: 5555, family: 4 }],
    ['::ffff:0.0.0.0', 1, { host: '0.0.0.0', port: 1, family: 4 }],
    // v4-compatible and NAT64 addresses stay IPv6
    ['::10.1.2.3', 2, { host: '::a01:203', port: 2, family: 6 }],
    ['64:ff9b::10.1.2.3', 3, { host: '64:ff9b::a01:203', port: 3, family: 6 }],
    ['::fffe:10.1.2.3', 4, { host: '::fffe:a01:203', port: 4, family: 6 }],
  ];
  for (const [host, port, expected] of rows) t.deepEqual(decodeSockaddr(encodeSockaddr(host, port)), expected, host);
});

test('decodeSockaddr: either byte order of the family, short buffers, unknown families', (t) => {
  const v4 = new Uint8Array(SOCKADDR_IN_SIZE);
  v4.set([0, 80, 10, 0, 0, 1], 2);
  for (const [lo, hi] of [
    [AF_INET, 0],
    [0, AF_INET],
  ]) {
    v4[0] = lo!;
    v4[1] = hi!;
    t.deepEqual(decodeSockaddr(v4), { host: '10.0.0.1', port: 80, family: 4 });
  }
  const v6 = encodeSockaddr('fe80::1', 22);
  [v6[0], v6[1]] = [v6[1]!, v6[0]!];
  t.deepEqual(decodeSockaddr(v6), { host: 'fe80::1', port: 22, family: 6 });
  t.is(decodeSockaddr(new Uint8Array(0)), null);
  t.is(decodeSockaddr(new Uint8Array(1)), null);
  t.is(decodeSockaddr(encodeSockaddr('10.0.0.1', 80).subarray(0, SOCKADDR_IN_SIZE - 1)), null);
  t.is(decodeSockaddr(encodeSockaddr('::1', 80).subarray(0, SOCKADDR_IN6_SIZE - 1)), null);
  const unix = new Uint8Array(110);
  unix[LITTLE_ENDIAN ? 0 : 1] = 1; // AF_UNIX
  t.is(decodeSockaddr(unix), null);
  // a longer buffer (sockaddr_storage) decodes the same
  const storage = new Uint8Array(128);
  storage.set(encodeSockaddr('::1', 9));
  t.deepEqual(decodeSockaddr(storage), { host: '::1', port: 9, family: 6 });
});

test('property: sockaddr round trips for any address and port', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 65535 }), (a, port) => {
      const host = Array.from(a).join('.');
      t.deepEqual(decodeSockaddr(encodeSockaddr(host, port)), { host, port, family: 4 });
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 65535 }), (a, port) => {
      const mapped = a.subarray(0, 10).every((x) => x === 0) && a[10] === 0xff && a[11] === 0xff;
      fc.pre(!mapped);
      const host = formatIPv6(a);
      t.deepEqual(decodeSockaddr(encodeSockaddr(host, port)), { host, port, family: 6 });
    }),
    { numRuns: 300 },
  );
});

// ---------------------------------------------------------------------------
// access log

const START = new Date('2024-05-06T07:08:09.010Z');
const BASE: ConnectionRecord = { listener: 'lan', client: { host: '192.168.1.10', port: 50000, family: 4 }, up: 0, down: 0 };

test('access log: minimal record omits empty fields', (t) => {
  t.is(formatAccessLog(BASE, START, 12.4), 'access time=2024-05-06T07:08:09.022Z start=2024-05-06T07:08:09.010Z listener=lan client=192.168.1.10:50000 up=0 down=0 ms=12 close=unknown');
});

test('access log: every field, in order', (t) => {
  const rec: ConnectionRecord = {
    listener: 'lan',
    client: { host: 'fd00::10', port: 1234, family: 6 },
    dst: '[2001:db8::1]:443',
    proto: 'tls',
    sni: 'example.com',
    alpn: ['h2', 'http/1.1'],
    host: 'example.com',
    route: 'r1',
    action: 'forward',
    backend: 'backend.lan:8443',
    up: 517,
    down: 4096,
    close: 'client-eof',
    error: 'none',
  };
  t.is(
    formatAccessLog(rec, START, 1500.6),
    'access time=2024-05-06T07:08:10.510Z start=2024-05-06T07:08:09.010Z listener=lan client=[fd00::10]:1234 dst=[2001:db8::1]:443 proto=tls sni=example.com alpn_offered=h2,http/1.1 host=example.com route=r1 action=forward backend=backend.lan:8443 up=517 down=4096 ms=1501 close=client-eof error=none',
  );
});

test('access log: null and empty optional fields are omitted', (t) => {
  const line = formatAccessLog({ ...BASE, sni: null, host: null, alpn: [], dst: undefined, route: undefined }, START, 0);
  t.is(line, 'access time=2024-05-06T07:08:09.010Z start=2024-05-06T07:08:09.010Z listener=lan client=192.168.1.10:50000 up=0 down=0 ms=0 close=unknown');
});

test('access log: values that need it are quoted', (t) => {
  const line = (error: string) => formatAccessLog({ ...BASE, close: 'error', error }, START, 0).replace(/^.* close=error error=/, '');
  t.is(line('connect ECONNREFUSED 10.0.0.1:80'), '"connect ECONNREFUSED 10.0.0.1:80"');
  t.is(line('tab\there'), '"tab\\there"');
  t.is(line('two\nlines'), '"two\\nlines"');
  t.is(line('say "hi"'), '"say \\"hi\\""');
  t.is(line('a=b'), '"a=b"');
  t.is(line('back\\slash'), '"back\\\\slash"');
  t.is(line(''), '""');
  t.is(line('plain-value:1/2'), 'plain-value:1/2');
  // control characters could rewrite a terminal, so they are escaped too
  t.is(line('esc\u001b[31mred'), '"esc\\u001b[31mred"');
  t.is(line('nul\u0000'), '"nul\\u0000"');
  t.is(line('del\u007f'), '"del\u007f"');
  t.is(line('ünïcode'), 'ünïcode');
});

test('property: an access log line is one line of key=value pairs', (t) => {
  const keys = new Set(['time', 'start', 'listener', 'client', 'dst', 'proto', 'sni', 'alpn_offered', 'host', 'route', 'action', 'backend', 'up', 'down', 'ms', 'close', 'error']);
  // unquoted values have no spaces or quotes, quoted ones are JSON strings
  const pair = /(\w+)=("(?:[^"\\]|\\.)*"|[^\s"]+)( |$)/y;
  const parse = (line: string): Record<string, string> | null => {
    const rest = line.slice('access '.length);
    const out: Record<string, string> = {};
    pair.lastIndex = 0;
    while (pair.lastIndex < rest.length) {
      const m = pair.exec(rest);
      if (!m || !keys.has(m[1]!)) return null;
      out[m[1]!] = m[2]!.startsWith('"') ? JSON.parse(m[2]!) : m[2]!;
    }
    return out;
  };
  const char = fc.oneof(fc.constantFrom(' ', '\t', '\n', '\r', '"', "'", '\\', '=', '\u0000', '\u001b', '\u007f', '\u00e9', '\u2028', '\ud83d\ude00', '\ud800'), fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)));
  fc.assert(
    fc.property(fc.string({ maxLength: 20, unit: char }), fc.string({ maxLength: 20 }), (error, route) => {
      const line = formatAccessLog({ ...BASE, error, route }, START, 1);
      const back = parse(line);
      return !/[\n\r\u0000-\u001f\u007f]/.test(line.replace(/"(?:[^"\\]|\\.)*"/g, '""')) && back !== null && back.error === error && back.route === route;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

// ---------------------------------------------------------------------------
// Parser bugs the fuzzer found (test/fuzz), each pinned by its counterexample

test('detect: every prefix of an HTTP/2 preface or an SSH banner is "more", never an error', (t) => {
  const preface = new TextEncoder().encode('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  for (let k = 1; k < preface.length; k++) t.is(detect(preface.subarray(0, k), 16384).status, 'more', `${k} bytes`);
  t.like(detect(preface, 16384), { status: 'ok', value: { protocol: 'http2' } });
  const banner = new TextEncoder().encode('SSH-2.0-a b\x80\r\n');
  t.is(detect(banner.subarray(0, banner.length - 2), 16384).status, 'more');
});

test('framing: only spaces and tabs are trimmed before transfer-coding parameters', (t) => {
  t.like(requestBodyFraming([['Transfer-Encoding', 'chunked ;a=b']], '1.1'), { type: 'chunked' });
  t.true('error' in requestBodyFraming([['Transfer-Encoding', 'chunked\xa0;a=b']], '1.1'));
  t.true('error' in requestBodyFraming([['Transfer-Encoding', 'chunked\xa0']], '1.1'));
});

test('parseAuthority: an IPv6 literal is one the router accepts (no leading zeros in an embedded IPv4, no zone)', (t) => {
  t.deepEqual(parseAuthority('[::ffff:127.0.0.1]:80'), { host: '::ffff:127.0.0.1', port: 80 });
  t.is(parseAuthority('[::ffff:127.000.000.001]'), null);
  t.is(parseAuthority('[::ffff:0.0.00.0]'), null);
  t.is(parseAuthority('[fe80::1%25eth0]'), null);
});

test('parseIPv6: a zone is an interface name; anything else after "%" is no address', (t) => {
  t.deepEqual(parseIPv6('fe80::1%br-lan'), parseIPv6('fe80::1'));
  for (const s of ['::1%', '::1%\r\nforged', '0:0:0:0:0:0:0:0%', '::%eth0::', '::1%a b', '::%_a']) t.is(parseIPv6(s), null, JSON.stringify(s));
  // so SOCKS5 by name cannot pass such a string off as an address
  const name = '::1%\r\nforged';
  const req = new Uint8Array([5, 1, 0, 3, name.length, ...new TextEncoder().encode(name), 0, 80]);
  t.is(parseRequest(req).status, 'error');
});

test('request log: time is when the line is written, start when the request began', (t) => {
  const before = Date.now();
  const line = formatRequestLog({ listener: 'web', client: { host: '10.0.0.1', port: 1, family: 4 }, method: 'GET', host: 'a.test', target: '/', up: 1, down: 2 }, 250);
  const after = Date.now();
  const time = Date.parse(/ time=(\S+)/.exec(line)![1]!);
  const start = Date.parse(/ start=(\S+)/.exec(line)![1]!);
  t.true(time >= before && time <= after, line);
  t.is(time - start, 250);
});
