// Fuzz properties for every pure parser in src/: per parser, one arbitrary of inputs (random bytes,
// protocol-shaped pieces, valid messages built by generators, and those mutated, truncated and
// oversized) and the invariants every input must keep. One definition, two users:
//   - the long pass, `npm run fuzz` (test/fuzz/run.ts): FUZZ_RUNS cases per parser, 1,000,000 by default;
//   - the short pass in CI, test/unit/fuzz.test.ts: a few thousand cases per parser.
// A failure prints fast-check's seed, path and shrunk counterexample, and how to run it again.
//
// Invariants shared by the byte sniffers (SniffResult: ok / more / error with a SniffError):
//   - never throws, never writes to its input;
//   - the result is one of the three statuses; ok spans 1..input length bytes; an error has one of
//     the three codes, a byte offset inside the input and a field from the parser's own list;
//   - deterministic, and blind to where the view sits in its ArrayBuffer (same result on a copy at
//     another byteOffset with other bytes around it);
//   - an ok is stable: the same with more bytes appended, and on the input cut to its length;
//   - monotone: a prefix gives 'more' or exactly the result of the whole input (so a prefix of a
//     valid message is 'more', never an error or another value);
//   - capped: past the parser's size cap the answer is never 'more' (too-large, not a runaway);
//   - valid messages built by the generators parse to the generator's own model, or to too-large
//     when they exceed the limits in force.
// The parsers of text and the other decoders have their own lists (see each target's `invariants`).

import fc from 'fast-check';
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { same } from '../helpers/same.ts';

import { parseClientHello, dnsName, type ClientHello } from '../../src/sniff/tls.ts';
import { parseHttp1Request, parseHttp1RequestExact, parseHttp1RequestFast, parseAuthority, defaultHttp1Limits, type Http1Limits, type HttpRequestHead } from '../../src/sniff/http1.ts';
import { parseHttp2Preface } from '../../src/sniff/http2.ts';
import { parseSshBanner, type SshBanner } from '../../src/sniff/ssh.ts';
import { detect, type Sniffed } from '../../src/sniff/detect.ts';
import { SniffError, type SniffResult } from '../../src/sniff/types.ts';
import { parseGreeting, parseUserPass, parseRequest } from '../../src/proxy/socks5.ts';
import { interpretProxyRequest, rewriteForOrigin, proxyCredentials } from '../../src/proxy/http-proxy.ts';
import { parseResponseHead, parseResponseHeadExact, parseResponseHeadFast, defaultResponseLimits, type ResponseLimits, type ResponseHead } from '../../src/http/response.ts';
import { parseFieldSection, scanPlainHead } from '../../src/http/fields.ts';
import { serializeRequestHead, serializeRequestHeadExact, serializeRequestHeadFast, serializeResponseHead, serializeResponseHeadExact, serializeResponseHeadFast } from '../../src/http/head.ts';
import { ChunkedScanner, LengthCounter, defaultChunkedLimits, type ChunkedLimits, type ScanResult } from '../../src/http/chunked.ts';
import { requestBodyFraming, responseBodyFraming, connectionTokens, wantsKeepAlive, isUpgradeRequest, expectsContinue, isFramingError, type BodyFraming, type FramingError } from '../../src/http/framing.ts';
import { parseUci, type UciParseResult } from '../../src/config/uci.ts';
import { parseDuration, splitHostPort } from '../../src/config/schema.ts';
import { parseIP, parseIPv4, parseIPv6, isIPLiteral, parseCidr, cidrContains } from '../../src/route/cidr.ts';
import { hostnameError, parseHostnamePattern, matchHostname } from '../../src/route/hostname.ts';
import { decodeSockaddr, encodeSockaddr } from '../../src/runtime/sockaddr.ts';
import { decodeEvents, decodeStats, EVENT_SIZE, STAT_NAMES } from '../../src/core/splice.ts';
import { queryValue } from '../../src/gateway-api/http-table.ts';
import { buildHandshake, concat, toRecords } from '../helpers/tls-fixtures.ts';

// ---------------------------------------------------------------------------------------------
// targets and how they run

export interface FuzzTarget {
  /** "src file: function(s)", as printed by both runners and matched by FUZZ_ONLY */
  name: string;
  /** the invariants checked on every case, one line each */
  invariants: readonly string[];
  property(): fc.IProperty<[any]>;
}

function target<T>(name: string, invariants: string[], arb: fc.Arbitrary<T>, check: (c: T) => void): FuzzTarget {
  return {
    name,
    invariants,
    property: () =>
      fc.property(arb, (c) => {
        check(c);
      }),
  };
}

export interface TargetResult {
  name: string;
  /** cases run (on a failure: up to and including the first failing one) */
  runs: number;
  failures: number;
  seconds: number;
  details: fc.RunDetails<[any]>;
}

/** Runs one target for `numRuns` cases; FC_SEED / FC_PATH (test/helpers/fast-check-seed.ts) apply through fc.configureGlobal. */
export function runTarget(t: FuzzTarget, numRuns: number): TargetResult {
  const start = performance.now();
  const details = fc.check(t.property(), { numRuns });
  const seconds = (performance.now() - start) / 1000;
  return { name: t.name, runs: details.numRuns, failures: details.failed ? 1 : 0, seconds, details };
}

/** The failure as fast-check reports it, plus the commands that run exactly this case again. */
export function failureReport(r: TargetResult): string {
  const d = r.details;
  const path = d.counterexamplePath ?? '';
  return [
    `FAILED: ${r.name}`,
    fc.defaultReportMessage(d) ?? '(no report)',
    `error: ${d.errorInstance instanceof Error ? d.errorInstance.message : String(d.errorInstance)}`,
    `seed: ${d.seed}  path: "${path}"`,
    'run it again (path replays the shrunk counterexample; without FC_PATH the run starts from the seed and shrinks again):',
    `  FC_SEED=${d.seed} FC_PATH="${path}" FUZZ_ONLY='${r.name}' npm run fuzz`,
    `  FC_SEED=${d.seed} FC_PATH="${path}" npx ava test/unit/fuzz.test.ts --match 'fuzz: ${r.name}'`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// helpers

/** latin1 bytes of a string */
function enc(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

/** latin1 string of bytes */
function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** Short readable text of a value for failure messages (bytes as latin1, Maps as entries). */
export function show(x: unknown): string {
  const s = JSON.stringify(x, (_k, v: unknown) =>
    v instanceof Uint8Array ? `bytes(${v.length}):${JSON.stringify(latin1(v))}` : v instanceof Map ? [...v.entries()] : v,
  );
  return s === undefined ? String(x) : s.length > 1500 ? `${s.slice(0, 1500)}…` : s;
}

class Violation extends Error {
  override name = 'InvariantViolation';
}

/** Asserts an invariant; the message is only built on failure. */
function must(cond: unknown, what: () => string): asserts cond {
  if (!cond) throw new Violation(what());
}

/** Calls `f`; a throw becomes a violation that names the call. */
function noThrow<R>(what: string, f: () => R): R {
  try {
    return f();
  } catch (e) {
    if (e instanceof Violation) throw e;
    throw new Violation(`${what} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
}

/** The same bytes in a larger ArrayBuffer at byteOffset 3, with 0xa5 bytes around them. */
function elsewhere(b: Uint8Array): Uint8Array {
  const big = new Uint8Array(b.length + 11).fill(0xa5);
  big.set(b, 3);
  return big.subarray(3, 3 + b.length);
}

/** A string of `min..max` units drawn from `chars` (lengths uniform over the whole range). */
function str(chars: string | readonly string[], min: number, max: number): fc.Arbitrary<string> {
  const units = typeof chars === 'string' ? [...chars] : chars;
  return fc.string({ unit: fc.constantFrom(...units), minLength: min, maxLength: max, size: 'max' });
}

function arr<T>(a: fc.Arbitrary<T>, min: number, max: number): fc.Arbitrary<T[]> {
  return fc.array(a, { minLength: min, maxLength: max, size: 'max' });
}

function bytes(min: number, max: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: min, maxLength: max, size: 'max' });
}

/** Concatenation of up to `max` pieces (protocol tokens and odd bytes), as latin1 bytes. */
function piecesOf(pieces: readonly string[], max = 40): fc.Arbitrary<Uint8Array> {
  return arr(fc.constantFrom(...pieces), 0, max).map((ps) => enc(ps.join('')));
}

// --- mutations: overwrite, insert, delete a run, duplicate a run, flip a bit, truncate

type Edit = [kind: number, at: number, v: number, n: number];
const editArb: fc.Arbitrary<Edit> = fc.tuple(
  fc.integer({ min: 0, max: 5 }),
  fc.nat(),
  fc.oneof(fc.constantFrom(0, 9, 10, 13, 32, 0x22, 0x2c, 0x2f, 0x30, 0x3a, 0x3b, 0x3d, 0x5b, 0x5d, 0x7f, 0x80, 0xff, 0x16, 0x03, 0x05, 0x01), fc.integer({ min: 0, max: 255 })),
  fc.integer({ min: 1, max: 16 }),
);
const editsArb = arr(editArb, 1, 3);

function mutate(b: Uint8Array, edits: readonly Edit[]): Uint8Array {
  for (const [kind, at, v, n] of edits) {
    const len = b.length;
    const i = len === 0 ? 0 : at % len;
    switch (kind) {
      case 0:
        if (len > 0) {
          b = b.slice();
          b[i] = v;
        }
        break;
      case 1:
        b = concat(b.subarray(0, i), Uint8Array.of(v), b.subarray(i));
        break;
      case 2:
        if (len > 0) b = concat(b.subarray(0, i), b.subarray(Math.min(len, i + n)));
        break;
      case 3:
        b = concat(b.subarray(0, Math.min(len, i + n)), b.subarray(i));
        break;
      case 4:
        if (len > 0) {
          b = b.slice();
          b[i] = b[i]! ^ (1 << (v & 7));
        }
        break;
      default:
        b = b.subarray(0, at % (len + 1));
    }
  }
  return b;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();
/** Mutations of a string, made on its UTF-8 bytes (a broken sequence decodes to U+FFFD). */
function mutateText(s: string, edits: readonly Edit[]): string {
  return utf8Decoder.decode(mutate(utf8.encode(s), edits));
}

// --- shared character sets and text generators

const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const LABEL_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
const PATH_CHARS = "abcXYZ019/.-_~%?&=+:@!$*,;'()[]";
const USERINFO_CHARS = "abcXYZ019-._~%!$&'()*+,;=:";
const VCHARS = [...'abcXYZ019 -_.,;:=/"()@?[]{}\\~!*\t', '\x80', '\xa0', '\xe9', '\xff'];
const TOKEN_NAMES = ['Host', 'User-Agent', 'Accept', 'Content-Type', 'Cookie', 'X-Forwarded-For', 'Hostx', 'Hos', 'Upgrade', 'Date'];

const tokenArb = (max: number) => str(TCHARS, 1, max);
const oneOfWeighted = <T>(...xs: [number, fc.Arbitrary<T>][]) => fc.oneof(...xs.map(([weight, arbitrary]) => ({ weight, arbitrary })));

/** A DNS label; sometimes of the maximum 63 bytes. */
const labelArb = oneOfWeighted([12, str(LABEL_CHARS, 1, 12)], [1, str(LABEL_CHARS, 63, 63)]);
/** A valid DNS name as sent (any case, maybe a trailing dot) and its canonical form. */
const dnsNameArb = fc.tuple(arr(labelArb, 1, 4), fc.boolean()).map(([ls, dot]) => ({ text: ls.join('.') + (dot ? '.' : ''), canon: ls.join('.').toLowerCase() })).filter((n) => n.canon.length <= 253);

const hex4 = (n: number) => n.toString(16);
function groupsOf(b: Uint8Array): number[] {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  return g;
}
/** RFC 5952 text of 16 bytes by the WHATWG URL serializer (independent of src/). */
function canonicalV6(b: Uint8Array): string {
  return new URL(`http://[${groupsOf(b).map(hex4).join(':')}]/`).hostname.slice(1, -1);
}

/** 16 bytes biased towards zero groups, and a textual form of them: full, canonical, embedded IPv4, upper case. */
const v6Arb = fc
  .tuple(
    arr(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), 8, 8),
    fc.integer({ min: 0, max: 3 }),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([gs, form, upper, pad]) => {
    const b = new Uint8Array(16);
    gs.forEach((g, i) => {
      b[2 * i] = g >> 8;
      b[2 * i + 1] = g & 0xff;
    });
    let text: string;
    if (form === 0) text = gs.map((g) => (pad ? hex4(g).padStart(4, '0') : hex4(g))).join(':');
    else if (form === 1) text = canonicalV6(b);
    else if (form === 2) text = `${gs.slice(0, 6).map(hex4).join(':')}:${b.subarray(12).join('.')}`;
    else text = `::ffff:${b.subarray(12).join('.')}`;
    if (form === 3) b.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 0);
    return { bytes: b, text: upper ? text.toUpperCase() : text };
  });

const v4Arb = bytes(4, 4).map((b) => ({ bytes: b, text: b.join('.') }));

interface Authority {
  text: string;
  host: string;
  port: number | null;
}
/** "host[:port]" with a DNS name, an IPv4 address or a bracketed IPv6 address; the parsed form. */
const authorityArb: fc.Arbitrary<Authority> = fc
  .tuple(
    oneOfWeighted<{ text: string; host: string }>(
      [6, dnsNameArb.map((n) => ({ text: n.text, host: n.canon }))],
      [2, v6Arb.map((a) => ({ text: `[${a.text}]`, host: a.text.toLowerCase() }))],
      [1, v4Arb.map((a) => ({ text: a.text, host: a.text }))],
    ),
    oneOfWeighted<{ text: string; port: number | null }>(
      [2, fc.constant({ text: '', port: null })],
      [1, fc.constant({ text: ':', port: null })],
      [4, fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.nat(3)).map(([p, z]) => ({ text: `:${String(p).padStart(Math.min(5, String(p).length + z), '0')}`, port: p }))],
    ),
  )
  .map(([h, p]) => ({ text: h.text + p.text, host: h.host, port: p.port }));

/** A field line: token name (never Host), OWS, value, OWS, line end; and the value the parsers give. */
interface FieldLine {
  name: string;
  raw: string;
  value: string;
  eol: string;
}
const eolArb = oneOfWeighted([4, fc.constant('\r\n')], [1, fc.constant('\n')]);
const owsArb = fc.constantFrom('', '', ' ', '  ', '\t', ' \t');
const fieldLineArb: fc.Arbitrary<FieldLine> = fc
  .tuple(oneOfWeighted([2, fc.constantFrom(...TOKEN_NAMES)], [3, tokenArb(16)]), owsArb, str(VCHARS, 0, 30), owsArb, eolArb)
  .filter(([n]) => n.toLowerCase() !== 'host')
  .map(([name, a, v, b, eol]) => {
    const raw = a + v + b;
    return { name, raw, value: raw.replace(/^[ \t]+|[ \t]+$/g, ''), eol };
  });

// ---------------------------------------------------------------------------------------------
// the sniffer contract (src/sniff/types.ts), checked the same way for every byte parser

const CODES: ReadonlySet<string> = new Set(['not-this-protocol', 'malformed', 'too-large']);

interface SniffSpec<T, O> {
  parse(buf: Uint8Array, o: O): SniffResult<T>;
  /** every SniffError.field the parser may name */
  fields: readonly string[];
  /** longer inputs never give 'more' */
  cap?(o: O): number;
  /** smallest ok length (0 for detect's "opaque") */
  minOk?: number;
  /** invariants of an ok value */
  value?(v: T, buf: Uint8Array, length: number, o: O): void;
  /** further checks on every case (differential ones) */
  also?(buf: Uint8Array, o: O, r: SniffResult<T>): void;
}

/** A valid message built by a generator. */
interface Sample {
  buf: Uint8Array;
  /** the parsed value the generator expects */
  value: unknown;
  /** bytes the message spans in `buf` (the rest is what follows it) */
  length: number;
  /** false when the message exceeds the limits in `o`: then too-large is expected */
  fits?(o: any): boolean;
  /** the same message in other bytes (e.g. other TLS record boundaries): same value when it fits `o` */
  alt?: { buf: Uint8Array; fits(o: any): boolean };
}

interface SniffCase<O> {
  buf: Uint8Array;
  o: O;
  /** unmutated valid message */
  sample: Sample | null;
  /** an oversized input: 'more' below the cap, then too-large */
  over: boolean;
  cut: number;
  junk: Uint8Array;
}

type Sources = {
  pieces: readonly string[];
  valid: fc.Arbitrary<Sample>;
  /** protocol-shaped input that need not be valid */
  shaped?: fc.Arbitrary<Uint8Array>;
  /** inputs that keep looking valid past the parser's cap */
  over?: fc.Arbitrary<Uint8Array>;
};

type Input = { buf: Uint8Array; sample: Sample | null; over: boolean };

function sniffCases<O>(src: Sources, opts: (pick: number[], input: Input) => O): fc.Arbitrary<SniffCase<O>> {
  const kinds: { weight: number; arbitrary: fc.Arbitrary<Input> }[] = [
    { weight: 3, arbitrary: bytes(0, 48).map((b) => ({ buf: b, sample: null, over: false })) },
    { weight: 1, arbitrary: bytes(0, 400).map((b) => ({ buf: b, sample: null, over: false })) },
    { weight: 3, arbitrary: piecesOf(src.pieces).map((b) => ({ buf: b, sample: null, over: false })) },
    { weight: 4, arbitrary: src.valid.map((s) => ({ buf: s.buf, sample: s, over: false })) },
    { weight: 6, arbitrary: fc.tuple(src.valid, editsArb).map(([s, e]) => ({ buf: mutate(s.buf, e), sample: null, over: false })) },
  ];
  if (src.shaped) kinds.push({ weight: 3, arbitrary: src.shaped.map((b) => ({ buf: b, sample: null, over: false })) });
  if (src.over) kinds.push({ weight: 1, arbitrary: src.over.map((b) => ({ buf: b, sample: null, over: true })) });
  return fc
    .tuple(fc.oneof(...kinds), arr(fc.nat(), 4, 4), fc.nat(), bytes(0, 8))
    .map(([input, pick, cut, junk]) => ({ ...input, o: opts(pick, input), cut, junk }));
}

function checkShape(fields: readonly string[], minOk: number, r: SniffResult<unknown>, n: number, what: string): void {
  must(typeof r === 'object' && r !== null, () => `${what}: result ${show(r)} is not an object`);
  if (r.status === 'ok') {
    must(Number.isInteger(r.length) && r.length >= minOk && r.length <= n, () => `${what}: ok length ${r.length} outside ${minOk}..${n} (input length)`);
  } else if (r.status === 'error') {
    const e = r.error;
    must(e instanceof SniffError, () => `${what}: error ${show(e)} is not a SniffError`);
    must(CODES.has(e.code), () => `${what}: unknown error code ${show(e.code)}`);
    must(Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= n, () => `${what}: error offset ${e.offset} outside 0..${n} (${e})`);
    must(typeof e.message === 'string' && e.message.length > 0, () => `${what}: empty error message`);
    must(e.field !== undefined && fields.includes(e.field), () => `${what}: error field ${show(e.field)} not one of ${show(fields)} (${e})`);
  } else {
    must(r.status === 'more' && Object.keys(r).length === 1, () => `${what}: status ${show(r)} is not ok, more or error`);
  }
}

function checkSniff<T, O>(spec: SniffSpec<T, O>, c: SniffCase<O>): void {
  const { buf, o } = c;
  const minOk = spec.minOk ?? 1;
  const parse = (b: Uint8Array, what: string) => noThrow(`${what} (${b.length} bytes)`, () => spec.parse(b, o));
  const before = buf.slice();
  const r = parse(buf, 'parse');
  must(same(buf, before), () => 'the parser wrote to its input');
  checkShape(spec.fields, minOk, r, buf.length, 'input');

  const r2 = parse(elsewhere(buf), 'parse of a copy');
  must(same(r, r2), () => `not deterministic, or depends on bytes outside the view: ${show(r)} then ${show(r2)}`);

  const cap = spec.cap?.(o);
  if (cap !== undefined && buf.length > cap) must(r.status !== 'more', () => `'more' for ${buf.length} bytes, past the cap of ${cap}`);
  if (c.over)
    must(
      r.status === 'error' ? r.error.code === 'too-large' : r.status === 'more' && (cap === undefined || buf.length <= cap),
      () => `oversized input of ${buf.length} bytes (cap ${cap}): ${show(r)}, expected too-large (or 'more' below the cap)`,
    );

  if (r.status === 'ok') {
    spec.value?.(r.value, buf, r.length, o);
    if (c.junk.length > 0) {
      const rj = parse(concat(buf, c.junk), 'parse with bytes appended');
      must(same(rj, r), () => `ok changed when bytes were appended: ${show(r)} then ${show(rj)}`);
    }
    if (r.length > 0 && r.length < buf.length) {
      const rt = parse(buf.subarray(0, r.length), 'parse of the ok span');
      must(same(rt, r), () => `ok changed on the input cut to its length ${r.length}: ${show(rt)}`);
    }
  }

  const k = c.cut % (buf.length + 1);
  if (k < buf.length) {
    const p = parse(buf.subarray(0, k), 'parse of a prefix');
    checkShape(spec.fields, minOk, p, k, `prefix of ${k} bytes`);
    // (where a size cap is noticed depends on how much input there is: a too-large error may name
    // another offset, e.g. the ClientHello record cap at the cap or at the next record start)
    const sameCap = p.status === 'error' && r.status === 'error' && p.error.code === 'too-large' && r.error.code === 'too-large' && p.error.field === r.error.field;
    if (!(p.status === 'more' || same(p, r) || sameCap)) {
      const what = () => `not monotone: the prefix of ${k} bytes gives ${show(p)} but the whole input ${show(r)}`;
      throw new Violation(what());
    }
  }

  const s = c.sample;
  if (s) {
    if (s.fits && !s.fits(o)) {
      must(r.status === 'error' && r.error.code === 'too-large', () => `valid message over the limits ${show(o)}: ${show(r)}, expected too-large`);
    } else {
      must(r.status === 'ok' && r.length === s.length && same(r.value, s.value), () => `valid message: expected ok ${show(s.value)} length ${s.length}, got ${show(r)}`);
      if (k < s.length) {
        const p = parse(buf.subarray(0, k), 'parse of a prefix');
        if (p.status !== 'more') {
          const what = () => `prefix of ${k} bytes of a valid message: ${show(p)}, expected 'more'`;
          throw new Violation(what());
        }
      }
      if (s.alt && s.alt.fits(o)) {
        const ra = parse(s.alt.buf, 'parse of the same message in other bytes');
        must(ra.status === 'ok' && same(ra.value, s.value), () => `the same message in other bytes (${s.alt!.buf.length}): ${show(ra)}`);
      }
    }
  }
  spec.also?.(buf, o, r);
}

const SNIFF_INVARIANTS = [
  'never throws, never writes to its input',
  'status ok (1 ≤ length ≤ input length) / more / error (SniffError: known code, 0 ≤ offset ≤ input length, field from the parser\'s list)',
  'deterministic; same result on a copy at another byteOffset with other bytes around it (reads only its view)',
  'ok is unchanged with bytes appended and on the input cut to its length',
  'monotone: a prefix gives more or exactly the whole input\'s result (a truncated valid message is more); a too-large may name another offset, same field',
  'oversized input: too-large past the cap, never more',
  'generated valid messages parse to the generator\'s model (or too-large over the limits in force)',
];

// ---------------------------------------------------------------------------------------------
// sniff/tls.ts: parseClientHello

const maxBuffered = (maxBytes: number) => maxBytes + 5 * Math.ceil(maxBytes / 16) + 5;

interface Hello {
  hs: Uint8Array;
  value: ClientHello;
  recordSize: number;
  recordVersion: number;
}

const helloArb: fc.Arbitrary<Hello> = fc
  .record({
    sni: fc.option(dnsNameArb, { freq: 3 }),
    alpn: fc.option(arr(bytes(1, 12).map(latin1), 1, 4), { freq: 3 }),
    versions: fc.option(arr(fc.integer({ min: 0, max: 0xffff }), 1, 5), { freq: 3 }),
    keyShares: fc.option(arr(fc.record({ group: fc.integer({ min: 0, max: 0xffff }), len: fc.integer({ min: 1, max: 80 }) }), 1, 2), { freq: 3 }),
    extra: fc.uniqueArray(fc.record({ type: fc.integer({ min: 1, max: 0xffff }).filter((t) => t !== 16 && t !== 43 && t !== 51), data: bytes(0, 16) }), { maxLength: 3, selector: (e) => e.type }),
    sessionId: bytes(0, 32),
    suites: arr(fc.integer({ min: 0, max: 0xffff }), 1, 6),
    compression: arr(fc.integer({ min: 0, max: 255 }), 1, 3),
    legacyVersion: fc.integer({ min: 0, max: 0xffff }),
    recordSize: oneOfWeighted([2, fc.integer({ min: 1, max: 8 })], [3, fc.integer({ min: 9, max: 100 })], [5, fc.constant(16384)]),
    recordVersion: fc.integer({ min: 0x0300, max: 0x0304 }),
  })
  .map((h) => {
    const hs = buildHandshake({
      sni: h.sni?.text,
      alpn: h.alpn ?? undefined,
      versions: h.versions ?? undefined,
      keyShares: h.keyShares ?? undefined,
      extraExtensions: h.extra,
      sessionId: h.sessionId,
      cipherSuites: h.suites,
      compression: h.compression,
      legacyVersion: h.legacyVersion,
    });
    const value: ClientHello = { sni: h.sni ? h.sni.canon : null, alpn: h.alpn ?? [], legacyVersion: h.legacyVersion, supportedVersions: h.versions ?? [] };
    return { hs, value, recordSize: h.recordSize, recordVersion: h.recordVersion };
  });

/** A ClientHello in records, then what follows it (e.g. the next record). */
const tlsSampleArb: fc.Arbitrary<Sample> = fc.tuple(helloArb, bytes(0, 8), fc.integer({ min: 1, max: 300 })).map(([h, after, altSize]) => {
  const recs = toRecords(h.hs, h.recordSize, h.recordVersion);
  const alt = toRecords(h.hs, altSize, h.recordVersion);
  return {
    buf: concat(recs, after),
    value: h.value,
    length: recs.length,
    fits: (o: { maxBytes: number }) => h.hs.length <= o.maxBytes && recs.length <= maxBuffered(o.maxBytes),
    alt: { buf: alt, fits: (o: { maxBytes: number }) => h.hs.length <= o.maxBytes && alt.length <= maxBuffered(o.maxBytes) },
  };
});

/** Handshake records with a plausible header and random content: the deeper paths. */
const tlsShapedArb: fc.Arbitrary<Uint8Array> = fc
  .tuple(arr(fc.tuple(fc.integer({ min: 0, max: 5 }), bytes(0, 60), fc.integer({ min: -2, max: 2 })), 1, 4), fc.integer({ min: -8, max: 8 }), fc.boolean())
  .map(([recs, skew, claimHello]) => {
    const total = recs.reduce((n, [, p]) => n + p.length, 0);
    const parts: Uint8Array[] = [];
    recs.forEach(([minor, payload, lenSkew], i) => {
      let p = payload;
      if (i === 0 && claimHello) {
        const n = Math.max(0, total - 4 + skew);
        p = concat(Uint8Array.of(1, n >> 16, (n >> 8) & 0xff, n & 0xff), payload);
      }
      const len = Math.max(0, p.length + lenSkew);
      parts.push(Uint8Array.of(22, 3, minor, len >> 8, len & 0xff), p);
    });
    return concat(...parts);
  });

/** A hello of many tiny records, past the cap on buffered record bytes. */
const tlsOverArb: fc.Arbitrary<Uint8Array> = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 100, max: 900 })).map(([size, n]) => {
  const recs = toRecords(concat(Uint8Array.of(1, n >> 16, (n >> 8) & 0xff, n & 0xff), new Uint8Array(n)), size);
  return recs.subarray(0, recs.length - 1); // one byte short: never a whole message
});

const TLS_FIELDS = ['record-type', 'record-version', 'record-length', 'record', 'handshake-type', 'handshake-length', 'client_hello', 'session_id', 'cipher_suites', 'compression_methods', 'extensions', 'server_name', 'alpn', 'supported_versions'];

const tlsSpec: SniffSpec<ClientHello, { maxBytes: number }> = {
  parse: (b, o) => parseClientHello(b, o.maxBytes),
  fields: TLS_FIELDS,
  cap: (o) => maxBuffered(o.maxBytes),
  value(v) {
    must(v.sni === null || dnsName(v.sni) === v.sni, () => `sni ${show(v.sni)} is not a canonical DNS name`);
    must(v.alpn.every((p) => typeof p === 'string' && p.length >= 1 && p.length <= 255), () => `bad alpn ${show(v.alpn)}`);
    must(Number.isInteger(v.legacyVersion) && v.legacyVersion >= 0 && v.legacyVersion <= 0xffff, () => `legacyVersion ${v.legacyVersion}`);
    must(v.supportedVersions.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffff), () => `supportedVersions ${show(v.supportedVersions)}`);
  },
};

const tlsMaxBytes = (pick: number[]) => {
  const m = pick[0]! % 10;
  return m < 4 ? 16384 : m < 9 ? 16 + (pick[1]! % 700) : 16 + (pick[1]! % 20000);
};

const tlsTarget = target(
  'sniff/tls.ts parseClientHello',
  [...SNIFF_INVARIANTS, 'ok: sni canonical (dnsName(sni) === sni), alpn 1..255 bytes each, versions u16', 'the same hello split into other records gives the same value', 'inputs: random bytes, record pieces, generated hellos (SNI, ALPN, versions, key shares, extensions; 1-byte to 16 KB records), mutated, truncated, shaped records, floods of tiny records; maxBytes 16..20016'],
  sniffCases<{ maxBytes: number }>(
    { pieces: ['\x16', '\x03', '\x01', '\x03\x01', '\x00', '\x01\x00', '\x16\x03\x01\x00', '\x00\x00', '\xff', '\x10', '\x2b', '\x00\x05', 'example'], valid: tlsSampleArb, shaped: tlsShapedArb, over: tlsOverArb },
    (pick) => ({ maxBytes: tlsMaxBytes(pick) }),
  ),
  (c) => checkSniff(tlsSpec, c),
);

// ---------------------------------------------------------------------------------------------
// sniff/http1.ts: parseHttp1Request (and its fast path), parseAuthority

interface RequestModel {
  text: string;
  value: HttpRequestHead;
  lineLength: number;
  fields: number;
}

const requestArb: fc.Arbitrary<RequestModel> = fc
  .record({
    form: fc.constantFrom(0, 0, 0, 1, 1, 2, 3),
    method: oneOfWeighted([4, fc.constantFrom('GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'PRI')], [1, tokenArb(20)]).filter((m) => m !== 'CONNECT' && !m.startsWith('SSH-')),
    path: str(PATH_CHARS, 0, 30),
    pathForm: fc.integer({ min: 0, max: 2 }),
    auth: authorityArb,
    scheme: fc.constantFrom('http', 'HTTP', 'https', 'ws', 'h2+x.y-z'),
    userinfo: fc.option(str(USERINFO_CHARS, 0, 10), { freq: 4 }),
    version: fc.constantFrom<'1.0' | '1.1'>('1.0', '1.1'),
    host: fc.option(authorityArb, { freq: 3 }),
    hostAt: fc.nat(),
    hostName: fc.constantFrom('Host', 'host', 'HOST'),
    hostOws: fc.tuple(owsArb, owsArb),
    fields: arr(fieldLineArb, 0, 8),
    eol: eolArb,
    end: eolArb,
  })
  .map((q) => {
    let method = q.method;
    let target: string;
    const pathPart = q.pathForm === 0 ? `/${q.path}` : q.pathForm === 1 ? '' : `?${q.path}`;
    if (q.form === 0) target = `/${q.path}`;
    else if (q.form === 1) target = `${q.scheme}://${q.userinfo !== null ? `${q.userinfo}@` : ''}${q.auth.text}${pathPart}`;
    else if (q.form === 2) {
      method = 'CONNECT';
      target = q.auth.text;
    } else {
      method = 'OPTIONS';
      target = '*';
    }
    const lines: FieldLine[] = [...q.fields];
    if (q.host) {
      const raw = q.hostOws[0] + q.host.text + q.hostOws[1];
      lines.splice(q.hostAt % (lines.length + 1), 0, { name: q.hostName, raw, value: q.host.text, eol: '\r\n' });
    }
    const dest = q.host ?? (q.form === 1 || q.form === 2 ? q.auth : null);
    const line = `${method} ${target} HTTP/${q.version}`;
    const text = `${line}${q.eol}${lines.map((f) => `${f.name}:${f.raw}${f.eol}`).join('')}${q.end}`;
    const value: HttpRequestHead = {
      method,
      target,
      version: q.version,
      headers: lines.map((f) => [f.name, f.value]),
      host: dest ? dest.host : null,
      port: dest ? dest.port : null,
    };
    return { text, value, lineLength: line.length, fields: lines.length };
  });

const fitsHttp1 = (m: RequestModel) => (o: Http1Limits) => m.lineLength <= o.maxRequestLine && m.fields <= o.maxHeaders && m.text.length <= o.maxHeadBytes;

const http1SampleArb: fc.Arbitrary<Sample> = fc.tuple(requestArb, bytes(0, 12)).map(([m, body]) => {
  const head = enc(m.text);
  return { buf: concat(head, body), value: m.value, length: head.length, fits: fitsHttp1(m) };
});

const HTTP_PIECES = ['GET', 'CONNECT', ' ', '/', '*', 'http://', 'a.example', ':80', '[::1]', ':', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', '\r\n', '\n', '\r', 'Host', 'Host: a.example', 'Content-Length: 5', ' v', '\t', '\xff', '\x00', 'x'];

/** Valid so far but never ending: a target, a header name, a header value that go on and on. */
const http1OverArb: fc.Arbitrary<Uint8Array> = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 700 }), fc.integer({ min: 0, max: 30 })).map(([where, n, big]) => {
  const fill = 'a'.repeat(big === 0 ? 17000 + n : n);
  return enc(where === 0 ? `GET /${fill}` : where === 1 ? `GET / HTTP/1.1\r\nX-${fill}` : `GET / HTTP/1.1\r\nX: ${fill}`);
});

/** Limits: the defaults, near the input's own sizes (each cap hit just below, at and above), or small. */
function http1Limits(pick: number[], input: Input): Http1Limits {
  const mode = pick[3]! % 8;
  if (mode < 3) return defaultHttp1Limits;
  const b = input.buf;
  if (mode < 7) {
    const lf = b.indexOf(10);
    let lines = 0;
    for (let i = 0; i < b.length; i++) if (b[i] === 10) lines++;
    return {
      maxRequestLine: Math.max(1, (lf < 0 ? b.length : lf) - 3 + (pick[0]! % 5)),
      maxHeadBytes: Math.max(1, b.length - 15 + (pick[1]! % 17)),
      maxHeaders: Math.max(0, lines - 3 + (pick[2]! % 4)),
    };
  }
  return { maxRequestLine: 1 + (pick[0]! % 64), maxHeadBytes: 1 + (pick[1]! % 300), maxHeaders: pick[2]! % 8 };
}

const HTTP1_FIELDS = ['method', 'request-line', 'version', 'headers', 'host', 'target'];
const tokenRe = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** host as the sniffers give it: a canonical DNS name, or an IPv6 literal (from brackets) in lower case. */
function canonicalHost(h: string): boolean {
  return h.includes(':') ? h === h.toLowerCase() && parseIPv6(h) !== null : dnsName(h) === h;
}

/** Fails unless `h` is canonical; a known bug when it is an IPv6 text with a leading-zero IPv4 tail. */
function mustBeCanonicalHost(h: string, what: () => string): void {
  if (!canonicalHost(h)) throw new Violation(what());
}

const http1Spec: SniffSpec<HttpRequestHead, Http1Limits> = {
  parse: (b, o) => parseHttp1Request(b, o),
  fields: HTTP1_FIELDS,
  cap: (o) => o.maxHeadBytes,
  value(v, _buf, length, o) {
    must(tokenRe.test(v.method) && v.method.length <= 20, () => `method ${show(v.method)}`);
    must(/^[\x21-\x7e]+$/.test(v.target), () => `target ${show(v.target)}`);
    must(v.version === '1.0' || v.version === '1.1', () => `version ${show(v.version)}`);
    must(v.headers.length <= o.maxHeaders && length <= o.maxHeadBytes, () => `${v.headers.length} fields / ${length} bytes over the limits ${show(o)}`);
    for (const [n, val] of v.headers) {
      must(tokenRe.test(n), () => `field name ${show(n)}`);
      must(!/[\0-\x08\n-\x1f\x7f]/.test(val) && !/^[ \t]|[ \t]$/.test(val), () => `field value ${show(val)} has a control byte or untrimmed OWS`);
    }
    must(v.port === null || (Number.isInteger(v.port) && v.port >= 1 && v.port <= 65535), () => `port ${v.port}`);
    must(v.host !== null || v.port === null, () => `a port ${v.port} without a host`);
    if (v.host !== null) mustBeCanonicalHost(v.host, () => `host ${show(v.host)} is not canonical`);
    // the destination: the Host field, else an absolute-form or CONNECT target
    const hosts = v.headers.filter(([n]) => n.toLowerCase() === 'host');
    must(hosts.length <= 1, () => 'more than one Host field accepted');
    const abs = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(v.target);
    const from = hosts.length === 1 ? hosts[0]![1] : abs ? abs[1]!.slice(abs[1]!.lastIndexOf('@') + 1) : v.method === 'CONNECT' ? v.target : null;
    const want = from === null ? null : parseAuthority(from);
    must(from === null ? v.host === null : want !== null && want.host === v.host && want.port === v.port, () => `destination ${show([v.host, v.port])} does not follow from ${show(from)}`);
    // a canonical re-serialization (CRLF, "Name: value") parses back to the same head
    const again = serializeRequestHead(v.method, v.target, v.version, v.headers);
    const r = parseHttp1Request(again, { maxRequestLine: o.maxRequestLine, maxHeadBytes: 1 << 20, maxHeaders: o.maxHeaders });
    must(r.status === 'ok' && r.length === again.length && same(r.value, v), () => `re-serialized head ${show(again)} parses to ${show(r)}`);
  },
  also(buf, o, r) {
    const exact = parseHttp1RequestExact(buf, o);
    must(same(exact, r), () => `parseHttp1Request ≠ parseHttp1RequestExact: ${show(exact)}`);
    const fast = noThrow('parseHttp1RequestFast', () => parseHttp1RequestFast(buf, o));
    must(fast === null || same(fast, exact), () => `fast path ${show(fast)} ≠ exact parser ${show(exact)}`);
  },
};

const http1Target = target(
  'sniff/http1.ts parseHttp1Request',
  [
    ...SNIFF_INVARIANTS,
    'ok: method a token of ≤ 20, target visible ASCII, token names, trimmed values without controls, fields/bytes within the limits',
    'ok: host canonical, port 1..65535, and they follow from the Host field or the absolute/CONNECT target',
    'ok: the head serialized again (serializeRequestHead) parses back to the same value',
    'parseHttp1RequestFast (txiki.js path), when it answers, equals parseHttp1RequestExact',
    'inputs: random bytes, HTTP pieces, generated requests (origin/absolute/authority/asterisk forms, userinfo, IPv4/IPv6/DNS hosts, ports, CRLF or LF, OWS, obs-text), mutated, truncated, endless lines; limits default, near the input size, or small',
  ],
  sniffCases({ pieces: HTTP_PIECES, valid: http1SampleArb, over: http1OverArb }, http1Limits),
  (c) => checkSniff(http1Spec, c),
);

// parseAuthority on its own: text in, {host, port} or null

const AUTH_PIECES = ['[', ']', ':', '::', '.', 'a', 'Z', '0', '1', 'ff', 'FFFF', '1.2.3.4', '04', '255', '256', '65535', '65536', '%', '@', ' ', '-', '_', 'example', 'x'.repeat(63)];

/** An IPv6 literal with an embedded IPv4 part whose octets may carry leading zeros. */
const paddedV4TailArb = fc.tuple(v4Arb, arr(fc.nat(2), 4, 4), fc.constantFrom('::ffff:', '::', '64:ff9b::', '1:2:3:4:5:6:')).map(([a, pads, head]) => `${head}${[...a.bytes].map((x, i) => String(x).padStart(String(x).length + pads[i]!, '0')).join('.')}`);

const authorityInputArb = oneOfWeighted<{ s: string; want: Authority | null }>(
  [3, authorityArb.map((a) => ({ s: a.text, want: a }))],
  [1, fc.tuple(paddedV4TailArb, fc.constantFrom('', ':80', ':')).map(([v6, port]) => ({ s: `[${v6}]${port}`, want: null }))],
  [3, fc.tuple(authorityArb, editsArb).map(([a, e]) => ({ s: mutateText(a.text, e), want: null }))],
  [3, arr(fc.constantFrom(...AUTH_PIECES), 0, 12).map((ps) => ({ s: ps.join(''), want: null }))],
  [1, fc.string({ unit: 'binary', maxLength: 20 }).map((s) => ({ s, want: null }))],
);

const authorityTarget = target(
  'sniff/http1.ts parseAuthority',
  [
    'never throws; deterministic; null or {host, port}',
    'host canonical: a DNS name as dnsName gives it, or an IPv6 literal (lower case) that route/cidr parseIPv6 — the router — also accepts',
    'a bracketed literal is accepted exactly when route/cidr parseIPv6 accepts it (both IPv6 parsers agree)',
    'port null or 1..65535; a bare name (no ":" or "[") is accepted exactly when dnsName accepts it',
    'the result formatted again ("host:port", IPv6 in brackets) parses to itself; generated authorities parse to their model',
  ],
  authorityInputArb,
  ({ s, want }) => {
    const r = noThrow('parseAuthority', () => parseAuthority(s));
    must(same(r, parseAuthority(s)), () => 'not deterministic');
    if (want) must(r !== null && r.host === want.host && r.port === want.port, () => `${show(s)}: expected ${show(want)}, got ${show(r)}`);
    if (!s.includes(':') && !s.startsWith('[')) {
      const d = dnsName(s);
      must(same(r, d === null ? null : { host: d, port: null }), () => `bare name ${show(s)}: ${show(r)} but dnsName gives ${show(d)}`);
    }
    const close = s.indexOf(']');
    if (s.startsWith('[') && close > 0 && !s.includes('%') && /^(:\d{0,5})?$/.test(s.slice(close + 1))) {
      const inner = s.slice(1, close);
      const portText = s.slice(close + 2);
      const portOk = portText === '' || (Number(portText) >= 1 && Number(portText) <= 65535);
      const router = parseIPv6(inner) !== null;
      if ((r !== null) !== (router && portOk)) {
        const what = () => `IPv6 literal ${show(inner)}: parseAuthority says ${r !== null ? 'valid' : 'invalid'}, route/cidr parseIPv6 says ${router ? 'valid' : 'invalid'}`;
        throw new Violation(what());
      }
    }
    if (r === null) return;
    mustBeCanonicalHost(r.host, () => `${show(s)}: host ${show(r.host)} is neither a canonical DNS name nor an IPv6 literal the router accepts`);
    must(r.port === null || (Number.isInteger(r.port) && r.port >= 1 && r.port <= 65535), () => `port ${r.port}`);
    const again = `${r.host.includes(':') ? `[${r.host}]` : r.host}${r.port === null ? '' : `:${r.port}`}`;
    must(same(parseAuthority(again), r), () => `formatted again as ${show(again)}: ${show(parseAuthority(again))}`);
  },
);

// ---------------------------------------------------------------------------------------------
// sniff/http2.ts: parseHttp2Preface

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const http2Target = target(
  'sniff/http2.ts parseHttp2Preface',
  [...SNIFF_INVARIANTS, 'ok only for the exact 24-byte preface, spanning 24 bytes'],
  sniffCases(
    { pieces: ['PRI', ' * ', 'HTTP/2.0', 'HTTP/1.1', '\r\n', '\r\n\r\n', 'SM', 'P', '\x00'], valid: bytes(0, 12).map((after) => ({ buf: concat(enc(PREFACE), after), value: {}, length: 24 })) },
    () => null,
  ),
  (c) =>
    checkSniff<{}, null>(
      {
        parse: (b) => parseHttp2Preface(b),
        fields: ['preface'],
        cap: () => 24,
        value: (_v, buf) => must(latin1(buf.subarray(0, 24)) === PREFACE, () => 'ok without the preface'),
      },
      c,
    ),
);

// ---------------------------------------------------------------------------------------------
// sniff/ssh.ts: parseSshBanner

const PRINTABLE = Array.from({ length: 0x7e - 0x20 }, (_, i) => String.fromCharCode(0x21 + i)); // 0x21..0x7e
const sshSampleArb: fc.Arbitrary<Sample> = fc
  .tuple(
    oneOfWeighted([3, fc.constantFrom('2.0', '1.99')], [1, str(PRINTABLE.filter((c) => c !== '-'), 1, 6)]),
    oneOfWeighted([2, fc.constantFrom('OpenSSH_9.6p1', 'PuTTY_Release_0.80', 'libssh-0.6.0', 'Go', 'dropbear')], [3, str(PRINTABLE, 1, 40)]),
    fc.option(str([...PRINTABLE, ' ', '\x80', '\xff'], 0, 60), { freq: 2 }),
    eolArb,
    oneOfWeighted([3, bytes(0, 8)], [1, fc.integer({ min: 200, max: 260 }).map((n) => new Uint8Array(n).fill(0x78))]),
  )
  .map(([proto, software, comments, eol, after]) => {
    const line = `SSH-${proto}-${software}${comments === null ? '' : ` ${comments}`}${eol}`;
    const value: SshBanner = { protoVersion: proto, software, comments: comments === null || comments === '' ? null : comments };
    return { buf: concat(enc(line), after), value, length: line.length, fits: () => line.length <= 255 };
  });

const sshTarget = target(
  'sniff/ssh.ts parseSshBanner',
  [...SNIFF_INVARIANTS, 'ok: protoVersion printable without "-", software printable, comments without controls; ok length ≤ 255', 'a banner over 255 bytes (line end included) is too-large'],
  sniffCases(
    {
      pieces: ['SSH-', '2.0', '-', 'OpenSSH_9.6', ' ', 'comment', '\r\n', '\n', '\r', '\t', '\x7f', '\x80', 'S'],
      valid: sshSampleArb,
      over: fc.integer({ min: 0, max: 400 }).map((n) => enc(`SSH-2.0-${'x'.repeat(n)}`)),
    },
    () => null,
  ),
  (c) =>
    checkSniff<SshBanner, null>(
      {
        parse: (b) => parseSshBanner(b),
        fields: ['banner', 'version', 'software', 'comments'],
        cap: () => 254,
        value(v, _buf, length) {
          must(length <= 255, () => `ok length ${length} over 255`);
          must(/^[\x21-\x2c\x2e-\x7e]+$/.test(v.protoVersion) && /^[\x21-\x7e]+$/.test(v.software), () => `bad version/software ${show(v)}`);
          must(v.comments === null || (v.comments.length > 0 && !/[\0-\x1f\x7f]/.test(v.comments)), () => `bad comments ${show(v.comments)}`);
        },
      },
      c,
    ),
);

// ---------------------------------------------------------------------------------------------
// sniff/detect.ts: detect

const detectSampleArb: fc.Arbitrary<Sample> = oneOfWeighted<Sample>(
  [3, tlsSampleArb.map((s) => ({ ...s, value: { protocol: 'tls', hello: s.value }, alt: undefined }))],
  [3, http1SampleArb.map((s) => ({ ...s, value: { protocol: 'http', head: s.value }, fits: () => s.fits!(defaultHttp1Limits) }))],
  [2, sshSampleArb.map((s) => ({ ...s, value: { protocol: 'ssh', banner: s.value } }))],
  [1, bytes(0, 8).map((after) => ({ buf: concat(enc(PREFACE), after), value: { protocol: 'http2' }, length: 24 }))],
);

const detectTarget = target(
  'sniff/detect.ts detect',
  [
    ...SNIFF_INVARIANTS.map((s) => s.replace('1 ≤ length', '0 ≤ length')),
    'consistent with the four sniffers: ok(p) is sniffer p\'s ok (the first in order); opaque (length 0) only when all four say not-this-protocol; more only when one says more and none ok; an error is one sniffer\'s own, never not-this-protocol',
    'cap: past max(ClientHello record cap, 16384 HTTP head bytes) never more',
  ],
  sniffCases<{ maxBytes: number }>(
    { pieces: [...HTTP_PIECES, 'SSH-2.0-', 'PRI * HTTP/2.0', '\x16\x03\x01', 'SSH-2.0-a b\x80'], valid: detectSampleArb, shaped: tlsShapedArb },
    (pick) => ({ maxBytes: pick[0]! % 3 === 0 ? 16384 : 64 + (pick[1]! % 2000) }),
  ),
  (c) =>
    checkSniff<Sniffed, { maxBytes: number }>(
      {
        parse: (b, o) => detect(b, o.maxBytes),
        fields: [...new Set([...TLS_FIELDS, ...HTTP1_FIELDS, 'preface', 'banner', 'version', 'software', 'comments'])],
        minOk: 0,
        cap: (o) => Math.max(maxBuffered(o.maxBytes), defaultHttp1Limits.maxHeadBytes),
        also(buf, o, r) {
          const each: [string, SniffResult<unknown>][] = [
            ['tls', parseClientHello(buf, o.maxBytes)],
            ['http2', parseHttp2Preface(buf)],
            ['ssh', parseSshBanner(buf)],
            ['http', parseHttp1Request(buf)],
          ];
          const firstOk = each.find(([, x]) => x.status === 'ok');
          if (r.status === 'ok') {
            if (r.value.protocol === 'opaque') {
              must(r.length === 0 && each.every(([, x]) => x.status === 'error' && x.error.code === 'not-this-protocol'), () => `opaque, but the sniffers say ${show(each)}`);
            } else {
              must(firstOk !== undefined && firstOk[0] === r.value.protocol && firstOk[1].status === 'ok' && firstOk[1].length === r.length, () => `ok ${r.value.protocol}, but the sniffers say ${show(each)}`);
              const inner = r.value.protocol === 'tls' ? r.value.hello : r.value.protocol === 'http' ? r.value.head : r.value.protocol === 'ssh' ? r.value.banner : {};
              must(firstOk[1].status === 'ok' && same(firstOk[1].value, inner), () => `value differs from the ${r.value.protocol} sniffer's`);
            }
          } else {
            must(firstOk === undefined, () => `${r.status}, but the ${firstOk![0]} sniffer says ok`);
            if (r.status === 'more') must(each.some(([, x]) => x.status === 'more'), () => `more, but no sniffer says more: ${show(each)}`);
            else
              must(
                r.error.code !== 'not-this-protocol' && each.some(([, x]) => x.status === 'error' && same(x.error, r.error)),
                () => `error ${r.error} is not one of the sniffers' claims: ${show(each)}`,
              );
          }
        },
      },
      c,
    ),
);

// ---------------------------------------------------------------------------------------------
// proxy/socks5.ts: parseGreeting, parseUserPass, parseRequest

const greetingTarget = target(
  'proxy/socks5.ts parseGreeting',
  [...SNIFF_INVARIANTS, 'ok: 1..255 methods, exactly the bytes after NMETHODS, length 2 + n', 'cap: 257 bytes'],
  sniffCases(
    {
      pieces: ['\x05', '\x01', '\x02', '\x00', '\xff', '\x04'],
      valid: fc.tuple(arr(fc.integer({ min: 0, max: 255 }), 1, 255), bytes(0, 8)).map(([methods, after]) => ({
        buf: concat(Uint8Array.of(5, methods.length), Uint8Array.from(methods), after),
        value: { methods },
        length: 2 + methods.length,
      })),
    },
    () => null,
  ),
  (c) =>
    checkSniff(
      {
        parse: (b) => parseGreeting(b),
        fields: ['version', 'nmethods'],
        cap: () => 257,
        value: (v, buf, length) =>
          must(v.methods.length >= 1 && length === 2 + v.methods.length && v.methods.every((m, i) => m === buf[2 + i]), () => `methods ${show(v)} do not match the bytes`),
      },
      c,
    ),
);

const credChars = ['a', 'Z', '0', ':', ' ', 'é', '€', '😀', '\0', '@'];
const userPassTarget = target(
  'proxy/socks5.ts parseUserPass',
  [...SNIFF_INVARIANTS, 'ok: username 1..255 bytes and password 0..255 bytes decoded as UTF-8; length 3 + ulen + plen', 'cap: 513 bytes'],
  sniffCases(
    {
      pieces: ['\x01', '\x00', '\x05', 'user', 'pass', '\xff', '\xc3'],
      valid: fc.tuple(str(credChars, 1, 40), str(credChars, 0, 40), bytes(0, 8)).map(([u, p, after]) => {
        const ub = utf8.encode(u);
        const pb = utf8.encode(p);
        return { buf: concat(Uint8Array.of(1, ub.length), ub, Uint8Array.of(pb.length), pb, after), value: { username: u, password: p }, length: 3 + ub.length + pb.length };
      }),
    },
    () => null,
  ),
  (c) =>
    checkSniff(
      {
        parse: (b) => parseUserPass(b),
        fields: ['version', 'ulen'],
        cap: () => 513,
        value: (_v, buf, length) => must(length === 3 + buf[1]! + buf[2 + buf[1]!]!, () => `length ${length} does not follow from ULEN/PLEN`),
      },
      c,
    ),
);

/** A SOCKS5 request and the host the parser should give. */
const socksRequestArb: fc.Arbitrary<Sample> = fc
  .tuple(
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 65535 }),
    oneOfWeighted<{ atyp: number; addr: Uint8Array; host: string }>(
      [2, v4Arb.map((a) => ({ atyp: 1, addr: a.bytes, host: a.text }))],
      [2, v6Arb.map((a) => ({ atyp: 4, addr: a.bytes, host: canonicalV6(a.bytes) }))],
      [4, dnsNameArb.map((n) => ({ atyp: 3, addr: concat(Uint8Array.of(n.text.length), enc(n.text)), host: n.canon }))],
      [1, oneOfWeighted([1, v4Arb], [1, v6Arb]).map((a) => ({ atyp: 3, addr: concat(Uint8Array.of(a.text.length), enc(a.text)), host: a.text.toLowerCase() }))],
    ),
    bytes(0, 8),
  )
  .filter(([, , a]) => a.atyp !== 3 || a.addr.length <= 256)
  .map(([command, port, a, after]) => {
    const msg = concat(Uint8Array.of(5, command, 0, a.atyp), a.addr, Uint8Array.of(port >> 8, port & 0xff));
    return { buf: concat(msg, after), value: { command, host: a.host, port, addressType: a.atyp }, length: msg.length };
  });

const socksRequestTarget = target(
  'proxy/socks5.ts parseRequest',
  [
    ...SNIFF_INVARIANTS,
    'ok: host is an IP literal node:net accepts (isIP) or a canonical DNS name (dnsName(host) === host); port 0..65535; addressType 1/3/4 = byte 3; length follows from ATYP',
    'cap: 262 bytes',
  ],
  sniffCases(
    {
      pieces: ['\x05', '\x01', '\x00', '\x03', '\x04', '\x07', 'a.example', '::1', '%', '1.2.3.4', '\x00\x50', '\xff'],
      valid: socksRequestArb,
      shaped: fc
        .tuple(
          fc.integer({ min: 1, max: 255 }),
          oneOfWeighted(
            [3, str(['a', '.', ':', '%', '1', 'f', ' ', '\n', '-', '_', 'Z', 'é', '\0', '[', ']'], 1, 20)],
            [1, bytes(1, 40).map(latin1)],
            [1, fc.tuple(v6Arb, str(['e', 't', 'h', '0', ' ', '\r', '\n', '[', '%', '/', '\x7f'], 0, 6)).map(([a, zone]) => `${a.text}%${zone}`)],
          ),
          fc.nat(),
        )
        .map(([cmd, name, port]) => {
          const nb = enc(name);
          return concat(Uint8Array.of(5, cmd, 0, 3, nb.length), nb, Uint8Array.of(port >> 8, port & 0xff));
        }),
    },
    () => null,
  ),
  (c) =>
    checkSniff(
      {
        parse: (b) => parseRequest(b),
        fields: ['version', 'rsv', 'atyp', 'dst.addr'],
        cap: () => 262,
        value(v, buf, length) {
          must(v.addressType === buf[3] && v.command === buf[1], () => `addressType/command ${show(v)} ≠ bytes`);
          must(Number.isInteger(v.port) && v.port >= 0 && v.port <= 65535 && v.port === ((buf[length - 2]! << 8) | buf[length - 1]!), () => `port ${v.port}`);
          must(length === (v.addressType === 1 ? 10 : v.addressType === 4 ? 22 : 7 + buf[4]!), () => `length ${length} for ATYP ${v.addressType}`);
          if (!(isIP(v.host) !== 0 || dnsName(v.host) === v.host)) {
            const what = () => `host ${show(v.host)} is neither an IP literal (node:net isIP) nor a canonical DNS name`;
            throw new Violation(what());
          }
        },
      },
      c,
    ),
);

// ---------------------------------------------------------------------------------------------
// proxy/http-proxy.ts: interpretProxyRequest (+ rewriteForOrigin), proxyCredentials

/** What rewriteForOrigin drops: the hop-by-hop fields of http/head.ts, and the proxy's own credentials. */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);
/** Framing and target fields stay even when Connection names them (the body goes on verbatim). */
const PROTECTED = new Set(['content-length', 'transfer-encoding', 'host']);

/** Proxy-style requests: absolute http:// and other schemes, CONNECT, with framing and hop-by-hop fields. */
const proxyRequestTextArb: fc.Arbitrary<string> = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'CONNECT', 'PUT', 'get'),
    scheme: fc.constantFrom('http', 'HTTP', 'http', 'http', 'Http', 'https', 'ftp'),
    userinfo: fc.option(str(USERINFO_CHARS, 0, 8), { freq: 4 }),
    auth: authorityArb,
    rest: fc.tuple(fc.constantFrom('', '/', '?', '#'), str(PATH_CHARS + '#', 0, 20)).map(([a, b]) => a + b),
    form: fc.constantFrom(0, 0, 0, 0, 1, 1, 2),
    fields: arr(
      fc.oneof(
        fieldLineArb.map((f) => `${f.name}:${f.raw}\r\n`),
        fc.tuple(fc.constantFrom('Connection', 'connection', 'Proxy-Connection', 'Keep-Alive', 'TE', 'Upgrade', 'Proxy-Authorization', 'Trailer'), fc.constantFrom('close', 'keep-alive', 'x-a, content-length', 'transfer-encoding', 'x-a', 'upgrade', 'Basic dTpw', 'host, x-b')).map(([n, v]) => `${n}: ${v}\r\n`),
        fc.constantFrom('Content-Length: 5\r\n', 'Transfer-Encoding: chunked\r\n', 'Host: h.example\r\n', 'X-A: 1\r\n', 'Connection: content-length\r\n', 'Connection: Transfer-Encoding\r\n'),
      ),
      0,
      6,
    ),
  })
  .map((q) => {
    const target =
      q.form === 0 ? `${q.scheme}://${q.userinfo !== null ? `${q.userinfo}@` : ''}${q.auth.text}${q.rest}` : q.form === 1 ? q.auth.text : `/${q.rest}`;
    return `${q.form === 1 ? 'CONNECT' : q.method} ${target} HTTP/1.1\r\n${q.fields.join('')}\r\n`;
  });

const headArb: fc.Arbitrary<{ head: HttpRequestHead; parsed: boolean }> = oneOfWeighted(
  [
    4,
    proxyRequestTextArb.map((t) => {
      const r = parseHttp1Request(enc(t));
      return r.status === 'ok' ? { head: r.value, parsed: true } : null;
    }).filter((x): x is { head: HttpRequestHead; parsed: boolean } => x !== null),
  ],
  [
    1,
    fc.record({ method: fc.constantFrom('GET', 'CONNECT', 'connect', 'POST'), target: fc.oneof(arr(fc.constantFrom('http://', 'HTTP://', 'https://', 'a', '[', ']', ':', '80', '@', '/', '?', '#', ' ', '%', '::1', 'a.example', '99999'), 0, 8).map((ps) => ps.join('')), fc.string({ unit: 'binary', maxLength: 20 })) }).map(({ method, target }) => ({
      head: { method, target, version: '1.1' as const, headers: [], host: null, port: null },
      parsed: false,
    })),
  ],
);

function framingOutcome(f: BodyFraming | FramingError): string {
  return isFramingError(f) ? `error ${f.status}` : f.type === 'length' ? `length ${f.length}` : f.type;
}

const proxyTarget = target(
  'proxy/http-proxy.ts interpretProxyRequest + rewriteForOrigin',
  [
    'never throws; deterministic; connect {host, port 1..65535} / http {host, port 1..65535, path "/…" without "#"} / {status 400|405, reason}',
    'CONNECT gives connect or an error; other methods give http or an error; host canonical (DNS name or IPv6 literal)',
    'http: the rewritten head parses (parseHttp1Request) with the same method, version, target = path, one Host naming host:port, no hop-by-hop field, "Connection: close" last, the other fields in order',
    'http: the rewritten head frames the body as the client\'s did (requestBodyFraming equal): the body is forwarded verbatim after it',
  ],
  headArb,
  ({ head, parsed }) => {
    const r = noThrow('interpretProxyRequest', () => interpretProxyRequest(head));
    must(same(r, interpretProxyRequest(head)), () => 'not deterministic');
    if ('status' in r) {
      must((r.status === 400 || r.status === 405) && typeof r.reason === 'string' && r.reason.length > 0, () => `bad error ${show(r)}`);
      return;
    }
    must(r.kind === (head.method === 'CONNECT' ? 'connect' : 'http'), () => `${head.method} gave ${r.kind}`);
    must(Number.isInteger(r.port) && r.port >= 1 && r.port <= 65535, () => `port ${r.port}`);
    mustBeCanonicalHost(r.host, () => `host ${show(r.host)} is not canonical`);
    if (r.kind === 'connect' || !parsed) return;
    must(r.path.startsWith('/') && !r.path.includes('#'), () => `path ${show(r.path)}`);
    const out = noThrow('rewriteForOrigin', () => rewriteForOrigin(head, r));
    const p = parseHttp1Request(out, { maxRequestLine: 1 << 20, maxHeadBytes: 1 << 20, maxHeaders: 1000 });
    must(p.status === 'ok' && p.length === out.length, () => `rewritten head ${show(out)} does not parse: ${show(p)}`);
    const v = p.value;
    must(v.method === head.method && v.version === head.version && v.target === r.path, () => `rewritten request line ${show([v.method, v.target, v.version])}`);
    must(v.host === r.host && v.port === (r.port === 80 ? null : r.port), () => `rewritten Host ${show([v.host, v.port])} for ${show([r.host, r.port])}`);
    const last = v.headers[v.headers.length - 1];
    must(last !== undefined && last[0] === 'Connection' && last[1] === 'close', () => `last field ${show(last)} is not Connection: close`);
    const named = connectionTokens(head.headers);
    const kept = head.headers.filter(([n]) => !HOP.has(n.toLowerCase()) && !(named.has(n.toLowerCase()) && !PROTECTED.has(n.toLowerCase())) && n.toLowerCase() !== 'host');
    const others = v.headers.filter(([n]) => n.toLowerCase() !== 'host').slice(0, -1);
    must(same(others, kept), () => `fields sent on ${show(others)} ≠ the client's minus hop-by-hop ${show(kept)}`);
    const before = framingOutcome(requestBodyFraming(head.headers, head.version));
    const after = framingOutcome(requestBodyFraming(v.headers, v.version));
    if (before !== after) {
      const what = () => `body framing changed by the rewrite: the client's head gives ${before}, the head sent upstream ${after} (the body bytes are forwarded unchanged)`;
      throw new Violation(what());
    }
  },
);

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const proxyCredentialsTarget = target(
  'proxy/http-proxy.ts proxyCredentials',
  [
    'never throws; deterministic; null or {username, password} strings',
    'Basic credentials built from a user (no ":") and a password round-trip, whatever the scheme case, padding or field-name case',
    'no Proxy-Authorization field, or another scheme, gives null',
  ],
  fc.tuple(
    str(['a', 'Z', '0', ' ', 'é', '€', '😀', '@', '\0'], 0, 20),
    str(['a', 'Z', '0', ' ', ':', 'é', '€', '😀', '@'], 0, 20),
    fc.constantFrom('Basic', 'basic', 'BASIC', 'Bearer', 'Digest'),
    fc.constantFrom('Proxy-Authorization', 'proxy-authorization', 'Authorization'),
    fc.boolean(),
    fc.option(editsArb, { freq: 2 }),
  ),
  ([user, pass, scheme, name, strip, edits]) => {
    let token = b64(`${user}:${pass}`);
    if (strip) token = token.replace(/=+$/, '');
    let value = `${scheme} ${token}`;
    if (edits) value = mutateText(value, edits);
    const head: HttpRequestHead = { method: 'GET', target: 'http://a/', version: '1.1', headers: [['X', 'y'], [name, value]], host: null, port: null };
    const r = noThrow('proxyCredentials', () => proxyCredentials(head));
    must(same(r, proxyCredentials(head)), () => 'not deterministic');
    must(r === null || (typeof r.username === 'string' && typeof r.password === 'string'), () => `bad result ${show(r)}`);
    if (name === 'Authorization') must(r === null, () => `credentials taken from Authorization: ${show(r)}`);
    else if (!edits && scheme.toLowerCase() !== 'basic') must(r === null, () => `credentials from scheme ${scheme}: ${show(r)}`);
    else if (!edits) must(r !== null && r.username === user && r.password === pass, () => `Basic ${show(`${user}:${pass}`)} gave ${show(r)}`);
  },
);

// ---------------------------------------------------------------------------------------------
// http/response.ts: parseResponseHead (and its fast path)

interface ResponseModel {
  text: string;
  value: ResponseHead;
  fields: number;
}
const responseArb: fc.Arbitrary<ResponseModel> = fc
  .record({
    version: fc.constantFrom<'1.0' | '1.1'>('1.0', '1.1'),
    status: oneOfWeighted([4, fc.constantFrom(100, 101, 200, 204, 301, 304, 404, 500, 502)], [2, fc.integer({ min: 100, max: 999 })]),
    reason: oneOfWeighted<string | null>([4, str(VCHARS, 0, 30)], [1, fc.constant(null)]),
    fields: arr(fc.oneof(fieldLineArb, fc.constant<FieldLine>({ name: 'Host', raw: ' x', value: 'x', eol: '\r\n' })), 0, 8),
    eol: eolArb,
    end: eolArb,
  })
  .map((q) => {
    const text = `HTTP/${q.version} ${q.status}${q.reason === null ? '' : ` ${q.reason}`}${q.eol}${q.fields.map((f) => `${f.name}:${f.raw}${f.eol}`).join('')}${q.end}`;
    return { text, value: { version: q.version, status: q.status, reason: q.reason ?? '', headers: q.fields.map((f) => [f.name, f.value]) }, fields: q.fields.length };
  });

function responseLimits(pick: number[], input: Input): ResponseLimits {
  const mode = pick[3]! % 8;
  if (mode < 3) return defaultResponseLimits;
  if (mode < 7) {
    let lines = 0;
    for (let i = 0; i < input.buf.length; i++) if (input.buf[i] === 10) lines++;
    return { maxHeadBytes: Math.max(1, input.buf.length - 15 + (pick[1]! % 17)), maxHeaders: Math.max(0, lines - 3 + (pick[2]! % 4)) };
  }
  return { maxHeadBytes: 1 + (pick[1]! % 300), maxHeaders: pick[2]! % 8 };
}

const responseTarget = target(
  'http/response.ts parseResponseHead',
  [
    ...SNIFF_INVARIANTS,
    'ok: status 100..999, version 1.0/1.1, reason without CR/LF/controls, token names, trimmed values, within the limits',
    'ok: the head serialized again (serializeResponseHead) parses back to the same value',
    'parseResponseHeadFast (txiki.js path), when it answers, equals parseResponseHeadExact',
  ],
  sniffCases(
    {
      pieces: ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2', ' ', '200', '99', '1000', 'OK', '\r\n', '\n', '\r', 'X', ':', ' v', '\t', '\xff', '\0', 'Content-Length: 0'],
      valid: fc.tuple(responseArb, bytes(0, 12)).map(([m, body]) => ({
        buf: concat(enc(m.text), body),
        value: m.value,
        length: m.text.length,
        fits: (o: ResponseLimits) => m.fields <= o.maxHeaders && m.text.length <= o.maxHeadBytes,
      })),
      over: fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 700 })).map(([reason, n]) => enc(reason ? `HTTP/1.1 200 ${'r'.repeat(n)}` : `HTTP/1.1 200 OK\r\nX: ${'v'.repeat(n)}`)),
    },
    responseLimits,
  ),
  (c) =>
    checkSniff<ResponseHead, ResponseLimits>(
      {
        parse: (b, o) => parseResponseHead(b, o),
        fields: ['version', 'status-line', 'headers'],
        cap: (o) => o.maxHeadBytes,
        value(v, _buf, length, o) {
          must(Number.isInteger(v.status) && v.status >= 100 && v.status <= 999 && (v.version === '1.0' || v.version === '1.1'), () => `status line ${show(v)}`);
          must(!/[\0-\x08\n-\x1f\x7f]/.test(v.reason), () => `reason ${show(v.reason)}`);
          must(v.headers.length <= o.maxHeaders && length <= o.maxHeadBytes, () => 'over the limits');
          for (const [n, val] of v.headers) must(tokenRe.test(n) && !/[\0-\x08\n-\x1f\x7f]/.test(val) && !/^[ \t]|[ \t]$/.test(val), () => `field ${show([n, val])}`);
          const again = serializeResponseHead(v.version, v.status, v.reason, v.headers);
          const r = parseResponseHead(again, { maxHeadBytes: 1 << 20, maxHeaders: o.maxHeaders });
          must(r.status === 'ok' && r.length === again.length && same(r.value, v), () => `re-serialized head ${show(again)} parses to ${show(r)}`);
        },
        also(buf, o, r) {
          const exact = parseResponseHeadExact(buf, o);
          must(same(exact, r), () => `parseResponseHead ≠ parseResponseHeadExact: ${show(exact)}`);
          const fast = noThrow('parseResponseHeadFast', () => parseResponseHeadFast(buf, o));
          must(fast === null || same(fast, exact), () => `fast path ${show(fast)} ≠ exact parser ${show(exact)}`);
        },
      },
      c,
    ),
);

// ---------------------------------------------------------------------------------------------
// http/fields.ts: parseFieldSection, lineEnd, scanPlainHead

const fieldSectionArb = fc
  .tuple(
    oneOfWeighted(
      [3, fc.tuple(arr(fieldLineArb, 0, 8), eolArb).map(([fs, end]) => enc(`${fs.map((f) => `${f.name}:${f.raw}${f.eol}`).join('')}${end}`))],
      [2, fc.tuple(arr(fieldLineArb, 0, 8), eolArb, editsArb).map(([fs, end, e]) => mutate(enc(`${fs.map((f) => `${f.name}:${f.raw}${f.eol}`).join('')}${end}`), e))],
      [2, piecesOf(['X', 'Host', ':', ' ', '\t', 'v', '\r\n', '\n', '\r', '\0', '\x7f', '\xff', ' a'])],
      [1, bytes(0, 60)],
    ),
    fc.constantFrom('GET / HTTP/1.1\r\n', 'HTTP/1.1 200 OK\r\n', '', 'X\n'),
    bytes(0, 6),
    fc.nat(),
    fc.nat(),
    fc.integer({ min: 0, max: 10 }),
  )
  .map(([section, first, after, a, b, maxFields]) => {
    const buf = concat(enc(first), section, after);
    const total = buf.length;
    const avail = a % 4 === 0 ? total : first.length + (b % (total - first.length + 1)); // callers never pass avail < start
    return { buf, start: first.length, avail, avail2: Math.min(total, avail + (a % 7)), maxFields };
  });

const fieldsTarget = target(
  'http/fields.ts parseFieldSection + scanPlainHead',
  [
    'never throws; deterministic; reads only below avail (same result whatever follows avail)',
    'ok {headers, end}: start < end ≤ avail, ≤ maxFields fields, token names, trimmed values without CR/LF/controls',
    "'more' always at === avail; an error is a SniffError at an offset in start..avail-1 naming the caller's field",
    'monotone in avail: a larger avail gives the same answer unless the smaller one was more',
    'scanPlainHead (fast path), when it answers, agrees with parseFieldSection on the fields and the end',
  ],
  fieldSectionArb,
  ({ buf, start, avail, avail2, maxFields }) => {
    const r = noThrow('parseFieldSection', () => parseFieldSection(buf, start, avail, maxFields, 'fuzz-field'));
    must(same(r, parseFieldSection(elsewhere(buf), start, avail, maxFields, 'fuzz-field')), () => 'not deterministic / depends on bytes outside the view');
    const junk = concat(buf.subarray(0, avail), new Uint8Array(buf.length - avail).fill(0x0a));
    must(same(r, parseFieldSection(junk, start, avail, maxFields, 'fuzz-field')), () => 'depends on bytes at or after avail');
    if ('headers' in r) {
      must(r.end > start && r.end <= avail, () => `end ${r.end} outside ${start + 1}..${avail}`);
      must(r.headers.length <= maxFields, () => `${r.headers.length} fields over ${maxFields}`);
      for (const [n, v] of r.headers) must(tokenRe.test(n) && !/[\0-\x08\n-\x1f\x7f]/.test(v) && !/^[ \t]|[ \t]$/.test(v), () => `field ${show([n, v])}`);
    } else if (r.status === 'more') {
      must(r.at === avail, () => `more at ${r.at}, avail ${avail}`);
    } else {
      must(r.error instanceof SniffError && CODES.has(r.error.code) && r.error.field === 'fuzz-field', () => `bad error ${show(r.error)}`);
      must(r.error.offset >= start && r.error.offset < avail, () => `error offset ${r.error.offset} outside ${start}..${avail - 1}`);
    }
    if (avail2 > avail && !('status' in r && r.status === 'more')) {
      const r2 = parseFieldSection(buf, start, avail2, maxFields, 'fuzz-field');
      must(same(r, r2), () => `avail ${avail} gives ${show(r)} but avail ${avail2} gives ${show(r2)}`);
    }
    if (start > 0) {
      const plain = noThrow('scanPlainHead', () => scanPlainHead(buf, avail, maxFields));
      if (plain !== null) {
        const exact = parseFieldSection(buf, plain.firstLine + 2, avail, maxFields);
        must('headers' in exact && exact.end === plain.end && same(exact.headers, plain.headers), () => `scanPlainHead ${show([plain.headers, plain.end])} ≠ parseFieldSection ${show(exact)}`);
      }
    }
  },
);

// ---------------------------------------------------------------------------------------------
// http/head.ts: serializeRequestHead, serializeResponseHead

const anyText = fc.oneof(str([...'aZ09 -:/\t', '\r', '\n', '\0', '\x7f', '\xe9', '\u0100', '\u20ac', '\ud83d'], 0, 12), tokenArb(12));
const headTarget = target(
  'http/head.ts serializeRequestHead / serializeResponseHead',
  [
    'never throws; the fast serializers, when they answer, give the exact serializer\'s bytes',
    'whatever the strings hold: exactly fields + 2 CRLF line ends, no other CR or LF, no NUL (no injected lines)',
    'valid parts (token method/names, visible target, clean values) parse back (parseHttp1Request / parseResponseHead) to the same head',
  ],
  fc.record({
    response: fc.boolean(),
    method: anyText,
    target: anyText,
    version: fc.constantFrom<'1.0' | '1.1'>('1.0', '1.1'),
    status: oneOfWeighted([4, fc.integer({ min: 100, max: 999 })], [1, fc.oneof(fc.integer(), fc.double())]),
    reason: anyText,
    headers: arr(fc.tuple(anyText, anyText), 0, 6),
    clean: fc.tuple(tokenArb(12), str(PATH_CHARS, 1, 20), arr(fieldLineArb, 0, 6)),
  }),
  (q) => {
    const lf = (b: Uint8Array, fields: number, what: string) => {
      let crlf = 0;
      for (let i = 0; i < b.length; i++) {
        if (b[i] === 0) throw new Violation(`${what}: NUL at ${i}`);
        if (b[i] === 13) {
          must(b[i + 1] === 10, () => `${what}: bare CR at ${i} in ${show(b)}`);
          crlf++;
          i++;
        } else must(b[i] !== 10, () => `${what}: bare LF at ${i} in ${show(b)}`);
      }
      must(crlf === fields + 2 && b[b.length - 1] === 10 && b[b.length - 3] === 10, () => `${what}: ${crlf} line ends for ${fields} fields in ${show(b)}`);
    };
    if (q.response) {
      const out = noThrow('serializeResponseHead', () => serializeResponseHead(q.version, q.status, q.reason, q.headers));
      must(same(out, serializeResponseHeadExact(q.version, q.status, q.reason, q.headers)), () => 'serializeResponseHead ≠ exact');
      const fast = serializeResponseHeadFast(q.version, q.status, q.reason, q.headers);
      must(fast === null || same(fast, out), () => 'fast response serializer differs');
      lf(out, q.headers.length, 'response');
    } else {
      const out = noThrow('serializeRequestHead', () => serializeRequestHead(q.method, q.target, q.version, q.headers));
      must(same(out, serializeRequestHeadExact(q.method, q.target, q.version, q.headers)), () => 'serializeRequestHead ≠ exact');
      const fast = serializeRequestHeadFast(q.method, q.target, q.version, q.headers);
      must(fast === null || same(fast, out), () => 'fast request serializer differs');
      lf(out, q.headers.length, 'request');
    }
    const [method, path, fields] = q.clean;
    const headers: [string, string][] = fields.map((f) => [f.name, f.value]);
    const big = { maxRequestLine: 1 << 20, maxHeadBytes: 1 << 20, maxHeaders: 100 };
    const rq = parseHttp1Request(serializeRequestHead(method, `/${path}`, q.version, headers), big);
    must(rq.status === 'ok' && same(rq.value, { method, target: `/${path}`, version: q.version, headers, host: null, port: null }), () => `request round trip: ${show(rq)}`);
    const status = q.status >= 100 && q.status <= 999 ? Math.floor(q.status) : 500;
    const reason = latin1(enc(q.reason)).replace(/[\0-\x08\n-\x1f\x7f]/g, '');
    const rs = parseResponseHead(serializeResponseHead(q.version, status, reason, headers), big);
    must(rs.status === 'ok' && same(rs.value, { version: q.version, status, reason, headers }), () => `response round trip: ${show(rs)}`);
  },
);

// ---------------------------------------------------------------------------------------------
// http/chunked.ts: ChunkedScanner (and LengthCounter)

const bwsArb = fc.constantFrom('', '', ' ', '\t');
// qdtext and quoted-pairs: a '"' or '\\' inside is always escaped
const quotedArb = str([...'abc ;=', '\t', '\x80', '\\"', '\\\\', '\\a', '\\\t'], 0, 8).map((s) => `"${s}"`);
const chunkExtArb = fc
  .tuple(bwsArb, bwsArb, tokenArb(8), fc.option(fc.tuple(bwsArb, bwsArb, fc.oneof(tokenArb(8), quotedArb)), { freq: 2 }))
  .map(([a, b, name, val]) => `${a};${b}${name}${val ? `${val[0]}=${val[1]}${val[2]}` : ''}`);

interface ChunkedBody {
  bytes: Uint8Array;
  /** longest chunk-size line, line end included */
  maxLine: number;
  /** trailer section bytes, the final empty line included */
  trailer: number;
}
const chunkedBodyArb: fc.Arbitrary<ChunkedBody> = fc
  .record({
    chunks: arr(fc.record({ data: bytes(1, 40), zeros: fc.nat(3), upper: fc.boolean(), exts: arr(chunkExtArb, 0, 3), eol1: eolArb, eol2: eolArb }), 0, 6),
    lastZeros: fc.integer({ min: 1, max: 3 }),
    lastExts: arr(chunkExtArb, 0, 2),
    lastEol: eolArb,
    trailers: arr(fc.tuple(tokenArb(12), str([...'\t !~aZ:', '\x80', '\xff'], 0, 20), eolArb).map(([n, v, e]) => `${n}:${v}${e}`), 0, 4),
    finalEol: eolArb,
  })
  .map((q) => {
    const parts: Uint8Array[] = [];
    let maxLine = 0;
    for (const c of q.chunks) {
      const size = c.data.length.toString(16);
      const line = '0'.repeat(c.zeros) + (c.upper ? size.toUpperCase() : size) + c.exts.join('') + c.eol1;
      maxLine = Math.max(maxLine, line.length);
      parts.push(enc(line), c.data, enc(c.eol2));
    }
    const last = '0'.repeat(q.lastZeros) + q.lastExts.join('') + q.lastEol;
    maxLine = Math.max(maxLine, last.length);
    const trailer = q.trailers.join('') + q.finalEol;
    parts.push(enc(last + trailer));
    return { bytes: concat(...parts), maxLine, trailer: trailer.length };
  });

type Outcome = { status: 'more' | 'done'; length: number } | { status: 'error'; code: string; offset: number; field: string | undefined };
const CHUNKED_FIELDS = ['chunk-size', 'chunk-ext', 'chunk-data', 'trailer'];

/** Feeds `b` in pieces ending at the sorted `cuts` (each its own buffer, or (buf, from)); checks each call. */
function scanPieces(b: Uint8Array, cuts: number[], limits: Partial<ChunkedLimits> | undefined, useFrom: boolean, junk: Uint8Array): Outcome {
  const s = new ChunkedScanner(limits);
  let at = 0;
  let total = 0;
  const after = (r: ScanResult) => {
    // after the end: done with 0 bytes again, or the very same error
    const again = s.scan(junk);
    must(r.status === 'done' ? again.status === 'done' && again.consumed === 0 : again.status === 'error' && r.status === 'error' && again.error === r.error, () => `scan after ${r.status} gave ${show(again)}`);
  };
  for (const end of [...cuts, b.length]) {
    if (end < at) continue;
    const r = noThrow('ChunkedScanner.scan', () => (useFrom ? s.scan(b.subarray(0, end), at) : s.scan(b.subarray(at, end))));
    if (r.status === 'error') {
      const e = r.error;
      must(e instanceof SniffError && (e.code === 'malformed' || e.code === 'too-large') && CHUNKED_FIELDS.includes(e.field ?? ''), () => `bad error ${show(e)}`);
      after(r);
      return { status: 'error', code: e.code, offset: e.offset, field: e.field };
    }
    must(Number.isInteger(r.consumed) && r.consumed >= 0 && r.consumed <= end - at, () => `consumed ${r.consumed} of a ${end - at}-byte piece`);
    total += r.consumed;
    must(s.bytesScanned === total, () => `bytesScanned ${s.bytesScanned} ≠ ${total} consumed`);
    if (r.status === 'done') {
      must(s.done, () => 'done result but scanner.done is false');
      after(r);
      return { status: 'done', length: total };
    }
    must(r.status === 'more' && r.consumed === end - at, () => `'more' consumed ${show(r)} of a ${end - at}-byte piece`);
    at = end;
  }
  return { status: 'more', length: total };
}

const chunkedCaseArb = fc.record({
  input: oneOfWeighted<{ bytes: Uint8Array; body: ChunkedBody | null; over: { prefix: number; section: number; field: string } | null }>(
    [4, fc.tuple(chunkedBodyArb, bytes(0, 20)).map(([body, tail]) => ({ bytes: concat(body.bytes, tail), body, over: null }))],
    [4, fc.tuple(chunkedBodyArb, editsArb).map(([body, e]) => ({ bytes: mutate(body.bytes, e), body: null, over: null }))],
    [3, piecesOf(['0', '5', 'a', 'F', ';', '=', '"', '\\', ' ', '\t', '\r', '\n', '\r\n', 'x', ':', 'hello', '\0', '\xff', 'fffffffffffffff', '1']).map((b) => ({ bytes: b, body: null, over: null }))],
    [1, bytes(0, 120).map((b) => ({ bytes: b, body: null, over: null }))],
    [
      1,
      fc.tuple(fc.boolean(), arr(chunkExtArb, 1, 30), arr(fc.tuple(tokenArb(10), str('abc ', 0, 20)).map(([n, v]) => `${n}:${v}\r\n`), 1, 12)).map(([line, exts, trailers]) => {
        if (line) {
          const text = `5${exts.join('')}`;
          return { bytes: enc(text), body: null, over: { prefix: 0, section: text.length, field: 'chunk-size' } };
        }
        const text = trailers.join('');
        return { bytes: enc(`1\r\nx\r\n0\r\n${text}`), body: null, over: { prefix: 9, section: text.length, field: 'trailer' } };
      }),
    ],
  ),
  limits: oneOfWeighted<Partial<ChunkedLimits> | undefined>([2, fc.constant(undefined)], [3, fc.record({ maxChunkLine: fc.integer({ min: 2, max: 40 }), maxTrailerBytes: fc.integer({ min: 1, max: 80 }) })]),
  cuts: arr(fc.nat(), 0, 8),
  useFrom: fc.boolean(),
  cut: fc.nat(),
  junk: bytes(0, 6),
  counter: fc.tuple(fc.integer({ min: -3, max: 150 }), arr(fc.nat(), 0, 4)),
});

const chunkedTarget = target(
  'http/chunked.ts ChunkedScanner + LengthCounter',
  [
    'never throws; \'more\' consumes the whole piece, done/more consume 0..piece bytes, bytesScanned = bytes consumed',
    'errors: SniffError malformed/too-large, field chunk-size/chunk-ext/chunk-data/trailer, offset < bytes fed',
    'the same outcome fed whole, in random pieces, as (buf, from) calls; after done: done 0; after an error: the same error',
    'monotone: a prefix is more (all consumed) or exactly the whole input\'s outcome',
    'generated valid bodies (extensions, quoted strings, trailers, CRLF/LF) + trailing bytes: done at exactly the body length, or too-large over the limits',
    'oversized chunk-size line / trailer section: too-large at exactly the limit, more below it',
    'LengthCounter: done at exactly max(length, 0) bytes whatever the pieces',
  ],
  chunkedCaseArb,
  (c) => {
    const b = c.input.bytes;
    const sorted = c.cuts.map((x) => x % (b.length + 1)).sort((x, y) => x - y);
    const whole = scanPieces(b, [], c.limits, false, c.junk);
    const split = scanPieces(b, sorted, c.limits, c.useFrom, c.junk);
    must(same(whole, split), () => `whole ${show(whole)} ≠ in pieces at ${show(sorted)} (from: ${c.useFrom}) ${show(split)}`);
    if (whole.status === 'error') must(whole.offset >= 0 && whole.offset < b.length, () => `error offset ${whole.offset} of ${b.length}`);
    else must(whole.length <= b.length && (whole.status === 'done' || whole.length === b.length), () => `outcome ${show(whole)} of ${b.length}`);
    const k = c.cut % (b.length + 1);
    const p = scanPieces(b.subarray(0, k), [], c.limits, false, c.junk);
    must((p.status === 'more' && p.length === k) || same(p, whole), () => `not monotone: prefix ${k} ${show(p)}, whole ${show(whole)}`);
    const lim = { ...defaultChunkedLimits, ...c.limits };
    const body = c.input.body;
    if (body) {
      if (body.maxLine <= lim.maxChunkLine && body.trailer <= lim.maxTrailerBytes) {
        must(whole.status === 'done' && whole.length === body.bytes.length, () => `valid body of ${body.bytes.length}: ${show(whole)}`);
        if (k < body.bytes.length) must(p.status === 'more', () => `prefix ${k} of a valid body: ${show(p)}`);
      } else must(whole.status === 'error' && whole.code === 'too-large', () => `body over the limits ${show(lim)}: ${show(whole)}`);
    }
    const over = c.input.over;
    if (over && over.field === 'trailer' && lim.maxChunkLine < 3) {
      must(whole.status === 'error' && whole.code === 'too-large' && whole.field === 'chunk-size', () => `"1\\r\\n" over maxChunkLine ${lim.maxChunkLine}: ${show(whole)}`);
    } else if (over) {
      const max = over.field === 'chunk-size' ? lim.maxChunkLine : lim.maxTrailerBytes;
      if (over.section > max)
        must(whole.status === 'error' && whole.code === 'too-large' && whole.field === over.field && whole.offset === over.prefix + max, () => `oversized ${over.field} (${over.section} > ${max}): ${show(whole)}`);
      else must(whole.status === 'more', () => `${over.field} of ${over.section} ≤ ${max}: ${show(whole)}`);
    }
    // LengthCounter
    const [n, cs] = c.counter;
    const lc = new LengthCounter(n);
    let fed = 0;
    let res: Outcome = { status: 'more', length: 0 };
    let at = 0;
    for (const end of [...cs.map((x) => x % (b.length + 1)).sort((x, y) => x - y), b.length]) {
      if (end < at) continue;
      const r = lc.scan(b.subarray(at, end));
      must(r.status !== 'error' && r.consumed >= 0 && r.consumed <= end - at, () => `LengthCounter ${show(r)}`);
      fed += r.consumed;
      res = { status: r.status as 'more' | 'done', length: fed };
      if (r.status === 'done') break;
      at = end;
    }
    const want = Math.max(n, 0);
    must(b.length >= want ? res.status === 'done' && res.length === want : res.status === 'more' && res.length === b.length, () => `LengthCounter(${n}) on ${b.length} bytes: ${show(res)}`);
  },
);

// ---------------------------------------------------------------------------------------------
// http/framing.ts: requestBodyFraming, responseBodyFraming (and the Connection helpers)

const FRAMING_NAMES = ['Content-Length', 'Content-Length', 'content-length', 'CONTENT-LENGTH', 'Transfer-Encoding', 'Transfer-Encoding', 'transfer-encoding', 'Connection', 'Expect', 'Upgrade', 'X-Other', 'Content-Lengths', 'Transfer-Encodin'];
const FRAMING_PIECES = ['0', '5', '007', '12', '9007199254740991', '9007199254740992', '99999999999999999999', ',', ', ', ' ', '\t', 'chunked', 'CHUNKED', 'gzip', 'x-gzip', 'deflate', 'compress', 'identity', 'br', ';q=1', ' ;a=b', 'close', 'keep-alive', 'upgrade', '100-continue', 'h2c', '"', 'a b', '\xa0', '\xa0;q=1', '-1', '+5', '0x5'];

const ows = /^[ \t]+|[ \t]+$/g;
/** Field values: random pieces, or well-formed Content-Length lists and transfer-coding lists. */
const framingValueArb = oneOfWeighted<string>(
  [3, arr(fc.constantFrom(...FRAMING_PIECES), 0, 5).map((ps) => ps.join(''))],
  [2, fc.tuple(fc.oneof(fc.nat(1000), fc.constant(Number.MAX_SAFE_INTEGER)), fc.integer({ min: 1, max: 3 }), owsArb).map(([n, k, w]) => Array(k).fill(String(n)).join(`${w},${w}`))],
  [2, arr(fc.tuple(fc.constantFrom('chunked', 'gzip', 'x-gzip', 'deflate', 'compress', 'x-compress', 'Chunked', 'br'), fc.constantFrom('', '', ';q=1', ' ; a="b"', '\xa0', '\xa0;q=1', '\t;q=1')).map(([c, p]) => c + p), 1, 3).map((cs) => cs.join(', '))],
);

/** Content-Length by RFC 9110 §8.6 as src/http/framing.ts documents it: all elements equal digits ≤ 2^53-1. */
function refContentLength(headers: [string, string][]): number | 'bad' | null {
  let value: bigint | null = null;
  for (const [n, v] of headers) {
    if (n.toLowerCase() !== 'content-length') continue;
    for (const el of v.split(',')) {
      const t = el.replace(ows, '');
      if (!/^[0-9]+$/.test(t)) return 'bad';
      const x = BigInt(t);
      if (x > BigInt(Number.MAX_SAFE_INTEGER) || (value !== null && x !== value)) return 'bad';
      value = x;
    }
  }
  return value === null ? null : Number(value);
}

/** Transfer codings: list elements (OWS trimmed, empty dropped), parameters dropped, tokens, lower case. */
function refCodings(headers: [string, string][]): string[] | 'bad' | null {
  let out: string[] | null = null;
  for (const [n, v] of headers) {
    if (n.toLowerCase() !== 'transfer-encoding') continue;
    out ??= [];
    for (const el of v.split(',')) {
      let t = el.replace(ows, '');
      if (t === '') continue;
      const semi = t.indexOf(';');
      if (semi >= 0) t = t.slice(0, semi).replace(ows, '');
      if (!tokenRe.test(t)) return 'bad';
      out.push(t.toLowerCase());
    }
  }
  return out;
}

const KNOWN = new Set(['chunked', 'gzip', 'x-gzip', 'deflate', 'compress', 'x-compress']);
const chunkedLastOnce = (te: string[]) => te.length > 0 && te[te.length - 1] === 'chunked' && te.indexOf('chunked') === te.length - 1;

function refRequest(headers: [string, string][], version: '1.0' | '1.1' | undefined): string {
  const te = refCodings(headers);
  const cl = refContentLength(headers);
  if (te !== null) {
    if (cl !== null || version === '1.0' || te === 'bad') return 'error 400';
    if (te.some((c) => !KNOWN.has(c))) return 'error 501';
    return chunkedLastOnce(te) ? 'chunked' : 'error 400';
  }
  return cl === 'bad' ? 'error 400' : cl === null ? 'none' : `length ${cl}`;
}

function refResponse(method: string, status: number, headers: [string, string][], version: '1.0' | '1.1' | undefined): string {
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return 'none';
  if (method === 'CONNECT' && status < 300) return 'close';
  const te = refCodings(headers);
  const cl = refContentLength(headers);
  if (te !== null) {
    if (cl !== null || version === '1.0' || te === 'bad') return 'error 502';
    if (te.length === 0 || te[te.length - 1] !== 'chunked') return 'close';
    return chunkedLastOnce(te) ? 'chunked' : 'error 502';
  }
  return cl === 'bad' ? 'error 502' : cl === null ? 'close' : `length ${cl}`;
}

const framingTarget = target(
  'http/framing.ts requestBodyFraming / responseBodyFraming',
  [
    'never throws; deterministic; request: none/length/chunked or error 400/501; response: none/length/chunked/close or error 502; lengths safe integers ≥ 0',
    'equal to a reference written from the documented rules (Content-Length list elements all equal, TE+CL refused, HTTP/1.0 TE refused, unknown coding 501, chunked last and once)',
    'field-name case and the order of unrelated fields do not matter',
    'connectionTokens / wantsKeepAlive / isUpgradeRequest / expectsContinue agree with their definitions',
  ],
  fc.record({
    headers: oneOfWeighted<[string, string][]>(
      [2, arr(fc.tuple(fc.constantFrom(...FRAMING_NAMES), framingValueArb), 0, 5)],
      // one framing field among others: the usual message
      [
        2,
        fc
          .tuple(arr(fc.tuple(fc.constantFrom('Connection', 'Expect', 'Upgrade', 'X-Other', 'Host'), framingValueArb), 0, 3), fc.constantFrom('Content-Length', 'content-length', 'Transfer-Encoding', 'transfer-encoding'), framingValueArb, fc.nat())
          .map(([others, n, v, at]) => {
            const hs: [string, string][] = [...others];
            hs.splice(at % (hs.length + 1), 0, [n, v]);
            return hs;
          }),
      ],
    ),
    version: fc.constantFrom<'1.0' | '1.1' | undefined>('1.0', '1.1', undefined),
    method: fc.constantFrom('GET', 'HEAD', 'CONNECT', 'POST'),
    status: fc.constantFrom(100, 101, 199, 200, 204, 206, 299, 300, 304, 404, 500),
    rot: fc.nat(),
  }),
  ({ headers, version, method, status, rot }) => {
    const req = noThrow('requestBodyFraming', () => requestBodyFraming(headers, version));
    const res = noThrow('responseBodyFraming', () => responseBodyFraming(method, status, headers, version));
    for (const f of [req, res]) if (!isFramingError(f) && f.type === 'length') must(Number.isSafeInteger(f.length) && f.length >= 0, () => `length ${f.length}`);
    const agree = (got: string, want: string, what: () => string) => {
      if (got === want) return;
      throw new Violation(what());
    };
    agree(framingOutcome(req), refRequest(headers, version), () => `request: ${framingOutcome(req)} (${show(req)}), documented rules give ${refRequest(headers, version)}`);
    agree(framingOutcome(res), refResponse(method, status, headers, version), () => `response: ${framingOutcome(res)} (${show(res)}), documented rules give ${refResponse(method, status, headers, version)}`);
    // the same with other name cases, and with the other fields moved around the framing ones (kept in their order)
    const cased: [string, string][] = headers.map(([n, v], i) => [i % 2 ? n.toUpperCase() : n.toLowerCase(), v]);
    must(framingOutcome(requestBodyFraming(cased, version)) === framingOutcome(req), () => 'request framing depends on name case');
    const r = headers.length === 0 ? 0 : rot % headers.length;
    const others = headers.filter(([n]) => !/^(content-length|transfer-encoding)$/i.test(n));
    const framing = headers.filter(([n]) => /^(content-length|transfer-encoding)$/i.test(n));
    const moved = [...others.slice(r % (others.length || 1)), ...framing, ...others.slice(0, r % (others.length || 1))];
    must(framingOutcome(requestBodyFraming(moved, version)) === framingOutcome(req), () => 'request framing depends on unrelated fields\' order');
    const tokens = new Set<string>();
    for (const [n, v] of headers) if (n.toLowerCase() === 'connection') for (const t of v.split(',')) if (t.replace(ows, '') !== '') tokens.add(t.replace(ows, '').toLowerCase());
    must(same([...connectionTokens(headers)].sort(), [...tokens].sort()), () => `connectionTokens ${show([...connectionTokens(headers)])}`);
    const v = version ?? '1.1';
    must(wantsKeepAlive(v, headers) === (!tokens.has('close') && (v === '1.1' || tokens.has('keep-alive'))), () => 'wantsKeepAlive');
    must(isUpgradeRequest(headers, version) === (version !== '1.0' && tokens.has('upgrade') && headers.some(([n, x]) => n.toLowerCase() === 'upgrade' && x !== '')), () => 'isUpgradeRequest');
    must(expectsContinue(headers) === headers.some(([n, x]) => n.toLowerCase() === 'expect' && x.split(',').some((t) => t.replace(ows, '').toLowerCase() === '100-continue')), () => 'expectsContinue');
  },
);

// ---------------------------------------------------------------------------------------------
// config/uci.ts: parseUci

interface UciModel {
  name: string | null;
  sections: { type: string; name: string | null; options: [string, { kind: 'option' | 'list'; v: string[] }][] }[];
}
const uciNameArb = str('abcXYZ019_', 1, 8);
const uciValueArb = str(['a', 'B', '7', '_', ' ', '\t', "'", '"', '\\', '#', ';', '\n', '$', '/', 'é', '😀', '-'], 0, 12);
const uciModelArb: fc.Arbitrary<UciModel> = fc.record({
  name: fc.option(str('abcXYZ019_-', 1, 8), { nil: null }),
  sections: fc.uniqueArray(
    fc.record({
      type: str(PRINTABLE, 1, 8),
      name: fc.option(uciNameArb, { nil: null }),
      options: fc.uniqueArray(
        fc.tuple(uciNameArb, fc.oneof(uciValueArb.filter((s) => s !== '').map((v) => ({ kind: 'option' as const, v: [v] })), arr(uciValueArb, 1, 3).map((v) => ({ kind: 'list' as const, v })))),
        { selector: ([n]) => n, maxLength: 5 },
      ),
    }),
    { selector: (s) => s.name ?? Symbol('anonymous'), maxLength: 5 },
  ),
});

/** One string in UCI syntax, as chunks in the given quoting styles (0 single, 1 double, 2 unquoted with escapes). */
function uciQuote(s: string, styles: number[], k: number): string {
  if (s === '') return styles[k % styles.length] === 1 ? '""' : "''";
  const chars = [...s];
  const out: string[] = [];
  for (let i = 0, part = 0; i < chars.length; part++) {
    const len = 1 + ((k + part * 7) % 4);
    const chunk = chars.slice(i, i + len).join('');
    i += len;
    const style = styles[(k + part) % styles.length]!;
    if (style === 0) out.push(`'${chunk.replace(/'/g, `'\\''`)}'`);
    else if (style === 1) out.push(`"${chunk.replace(/["\\]/g, (c) => `\\${c}`)}"`);
    else out.push(chunk.replace(/[^A-Za-z0-9_./$é-]/gu, (c) => (c === '\n' ? `'\n'` : `\\${c}`)));
  }
  return out.join('');
}

function uciText(m: UciModel, styles: number[], ws: string[], comments: boolean): string {
  let k = 0;
  const q = (s: string) => uciQuote(s, styles, k++);
  const sp = () => ws[k++ % ws.length]!;
  const lines: string[] = [];
  if (m.name !== null) lines.push(`package${sp()}${q(m.name)}`);
  for (const s of m.sections) {
    if (comments) lines.push(`${sp()}# a comment ' " \\ ;`);
    lines.push(`config${sp()}${q(s.type)}${s.name !== null ? sp() + q(s.name) : ''}${comments ? ' # c' : ''}`);
    for (const [n, v] of s.options) {
      const stmts = v.v.map((x) => `${v.kind}${sp()}${q(n)}${sp()}${q(x)}`);
      if (k % 3 === 0) lines.push(sp() + stmts.join(`;${sp()}`));
      else for (const st of stmts) lines.push(sp() + st);
    }
  }
  return `${lines.join('\n')}\n`;
}

const plainUci = (r: UciParseResult) =>
  r.ok
    ? {
        name: r.value.name,
        sections: r.value.sections.map((s) => ({ type: s.type, name: s.name, options: [...s.options].map(([n, v]) => [n, { kind: v.kind, v: v.kind === 'option' ? [v.value] : v.values }]) })),
      }
    : null;

const UCI_ALPHABET = ['a', 'b', 'z', 'A', '0', '9', '_', '-', '.', ' ', ' ', '\t', "'", "'", '"', '"', '\\', '\\', '#', '#', ';', '\n', '\r', 'o', 'c', 'l', 'p', '$', 'é', '\u{1F600}', '\v'];
const uciCaseArb = oneOfWeighted<{ text: string; model: UciModel | null }>(
  [3, fc.tuple(uciModelArb, arr(fc.constantFrom(0, 1, 2), 1, 4), arr(fc.constantFrom(' ', '\t', '  ', ' \t '), 1, 4), fc.boolean()).map(([m, st, ws, c]) => ({ text: uciText(m, st, ws, c), model: m }))],
  [4, fc.tuple(uciModelArb, arr(fc.constantFrom(0, 1, 2), 1, 4), editsArb).map(([m, st, e]) => ({ text: mutateText(uciText(m, st, [' '], false), e), model: null }))],
  [3, arr(fc.oneof(fc.constantFrom('config', 'option', 'list', 'package', 'c', 'o', 'l', 'p', ' ', '\t', '\n', '\r\n', "'", '"', '\\', '#', ';'), str(UCI_ALPHABET, 0, 4)), 0, 40).map((ps) => ({ text: ps.join(''), model: null }))],
  [2, str(UCI_ALPHABET, 0, 80).map((text) => ({ text, model: null }))],
  [1, fc.string({ unit: 'binary', maxLength: 80, size: 'max' }).map((text) => ({ text, model: null }))],
  [1, fc.tuple(str(UCI_ALPHABET, 0, 40), str(UCI_ALPHABET, 0, 40)).map(([a, b]) => ({ text: `${a}\0${b}`, model: null }))],
  [1, fc.tuple(uciModelArb, fc.integer({ min: 2, max: 12 })).map(([m, n]) => ({ text: uciText({ ...m, name: null, sections: m.sections.map((s) => ({ ...s, name: null })) }, [0], [' '], false).repeat(n), model: null }))],
);

const uciTarget = target(
  'config/uci.ts parseUci',
  [
    'never throws; deterministic; {ok: true, value} or {ok: false, error: UciParseError}',
    'errors: 1 ≤ line ≤ lines in the input, 1 ≤ column ≤ that line\'s length + 1, a message, never "internal parser error"',
    'ok: names [A-Za-z0-9_]+, types printable ASCII, package name [A-Za-z0-9_-]+, per-type indices 0,1,2…, option values non-empty, list values arrays, lines within the input, named sections unique',
    'CRLF line ends give the same result as LF; an ok input gives the same with a trailing newline or comment line appended (unless it ends in ";", libuci\'s quirk)',
    'generated models serialized with mixed quoting, escapes, comments and ";" parse back to the model',
  ],
  uciCaseArb,
  ({ text, model }) => {
    const r = noThrow('parseUci', () => parseUci(text));
    must(same(r, parseUci(text)), () => 'not deterministic');
    const norm = text.replace(/\r\n/g, '\n');
    const lines = norm.split('\n');
    if (!r.ok) {
      const e = r.error;
      must(!e.message.startsWith('internal parser error'), () => `internal error: ${e}`);
      must(e.message.length > 0 && Number.isInteger(e.line) && Number.isInteger(e.column), () => `bad error ${show(e)}`);
      must(e.line >= 1 && e.line <= lines.length && e.column >= 1 && e.column <= lines[e.line - 1]!.length + 1, () => `error position ${e.line}:${e.column} outside the input (${lines.length} lines)`);
    } else {
      const v = r.value;
      must(v.name === null || /^[A-Za-z0-9_-]+$/.test(v.name), () => `package name ${show(v.name)}`);
      const counts = new Map<string, number>();
      const names = new Set<string>();
      for (const s of v.sections) {
        must(/^[\x21-\x7e]+$/.test(s.type), () => `section type ${show(s.type)}`);
        must(s.name === null || (/^[A-Za-z0-9_]+$/.test(s.name) && !names.has(s.name)), () => `section name ${show(s.name)}`);
        if (s.name !== null) names.add(s.name);
        must(s.index === (counts.get(s.type) ?? 0), () => `index ${s.index} of a ${s.type}`);
        counts.set(s.type, s.index + 1);
        must(s.line >= 1 && s.line <= lines.length, () => `section line ${s.line}`);
        for (const [n, o] of s.options) {
          must(/^[A-Za-z0-9_]+$/.test(n), () => `option name ${show(n)}`);
          must(o.kind === 'option' ? typeof o.value === 'string' && o.value !== '' : Array.isArray(o.values) && o.values.length > 0, () => `option ${show(o)}`);
          must(o.line >= 1 && o.line <= lines.length, () => `option line ${o.line}`);
        }
      }
      // (libuci accepts a ";" at the very end of the input but not before a line end, and likewise an
      // empty extra argument followed by a space or tab: strtok finds no next word at the end of the
      // input, but the line end itself before one; checked against libuci's file.c)
      for (const extra of /;[ \t]*$/.test(text) || /(''|"")[ \t]+$/.test(text) ? [] : ['\n', '\n# fuzz\n']) {
        const r2 = parseUci(text + extra);
        must(same(r2, r), () => `${show(extra)} appended changes the result: ${show(r2.ok ? plainUci(r2) : r2.error)}`);
      }
    }
    if (!text.includes('\r')) {
      const crlf = parseUci(text.replace(/\n/g, '\r\n'));
      must(same(crlf, r), () => `CRLF changes the result: ${show(crlf.ok ? plainUci(crlf) : crlf.error)} vs ${show(r.ok ? plainUci(r) : r.error)}`);
    }
    if (model) must(same(plainUci(r), JSON.parse(JSON.stringify(model))), () => `model ${show(model)} parses to ${show(r.ok ? plainUci(r) : r.error)}`);
  },
);

// ---------------------------------------------------------------------------------------------
// route/cidr.ts: parseIP / parseIPv4 / parseIPv6 / isIPLiteral, parseCidr

const IP_PIECES = ['0', '1', '00', '01', '9', '10', '99', '255', '256', '1000', 'f', 'F', 'ff', 'abcd', 'ABCD', 'fffff', '12345', 'g', ':', '::', ':::', '.', '1.2.3.4', '%', '%eth0', ' ', '-', '+', '\u0661', '[', ']'];
const ipTextArb = oneOfWeighted<{ s: string; want: Uint8Array | null }>(
  [2, v4Arb.map((a) => ({ s: a.text, want: a.bytes }))],
  [3, v6Arb.map((a) => ({ s: a.text, want: a.bytes }))],
  [4, arr(fc.constantFrom(...IP_PIECES), 0, 12).map((ps) => ({ s: ps.join(''), want: null }))],
  [3, fc.tuple(oneOfWeighted([1, v4Arb], [2, v6Arb]), editsArb).map(([a, e]) => ({ s: mutateText(a.text, e), want: null }))],
  [1, fc.string({ unit: 'binary', maxLength: 20 }).map((s) => ({ s, want: null }))],
);

const ipTarget = target(
  'route/cidr.ts parseIP / parseIPv4 / parseIPv6',
  [
    'never throws; deterministic; null or 4 bytes (text without ":") / 16 bytes (with ":"); isIPLiteral = (parseIP ≠ null)',
    'parseIPv4 accepts exactly what node:net isIPv4 accepts, and gives the dotted bytes back',
    'parseIPv6 (without a zone) accepts exactly what node:net isIPv6 accepts; a "%zone" of 1-15 letters, digits, "." or "-" leaves the address as it is, any other zone makes it no address',
    'the canonical text of the bytes parses to the same bytes; generated addresses (full, compressed, embedded IPv4, upper case) parse to their bytes',
  ],
  ipTextArb,
  ({ s, want }) => {
    const r = noThrow('parseIP', () => parseIP(s));
    must(same(r, parseIP(s)), () => 'not deterministic');
    must(isIPLiteral(s) === (r !== null), () => 'isIPLiteral ≠ (parseIP ≠ null)');
    if (want) must(same(r, want), () => `${show(s)}: expected ${show(want)}, got ${show(r)}`);
    if (r !== null) must(r instanceof Uint8Array && r.length === (s.includes(':') ? 16 : 4), () => `${show(s)} gave ${show(r)}`);
    const v4 = parseIPv4(s);
    must((v4 !== null) === isIPv4(s), () => `parseIPv4(${show(s)}) ${v4 ? 'accepts' : 'refuses'}, node:net isIPv4 ${isIPv4(s) ? 'accepts' : 'refuses'}`);
    if (v4) must(v4.join('.') === s, () => `${show(s)} gave ${v4.join('.')}`);
    const v6 = parseIPv6(s);
    const zone = s.indexOf('%');
    if (zone < 0) must((v6 !== null) === isIPv6(s), () => `parseIPv6(${show(s)}) ${v6 ? 'accepts' : 'refuses'}, node:net isIPv6 ${isIPv6(s) ? 'accepts' : 'refuses'}`);
    else if (/^[0-9A-Za-z.-]{1,15}$/.test(s.slice(zone + 1))) must(same(v6, parseIPv6(s.slice(0, zone))), () => 'the zone changes the address');
    else must(v6 === null, () => `${show(s)}: a zone that is no interface name, yet an address`);
    if (v6) must(same(parseIPv6(canonicalV6(v6)), v6), () => `canonical text ${canonicalV6(v6)} does not parse back`);
  },
);

const cidrTarget = target(
  'route/cidr.ts parseCidr',
  [
    'returns a Cidr or throws an Error whose message starts with the quoted source (documented), nothing else',
    'Cidr: source kept, 4 or 16 bytes, 0 ≤ bits ≤ 8·bytes, contains its own address (cidrContains; a v4-mapped address compares as IPv4 by design, so not under an IPv6 prefix below /96); no "/": a host prefix',
    'an IPv4-mapped prefix of ≥ 96 bits is the IPv4 prefix of bits − 96; deterministic',
  ],
  fc.tuple(ipTextArb, oneOfWeighted([1, fc.constant(null)], [3, fc.integer({ min: 0, max: 130 }).map(String)], [1, fc.constantFrom('', '-1', '08', ' 8', '8 ', '1e1', '0x8', '٣')])),
  ([ip, bits]) => {
    const source = bits === null ? ip.s : `${ip.s}/${bits}`;
    let c: ReturnType<typeof parseCidr>;
    try {
      c = parseCidr(source);
    } catch (e) {
      must(e instanceof Error && Object.getPrototypeOf(e) === Error.prototype && e.message.startsWith(`"${source}": `), () => `threw ${show(e instanceof Error ? `${e.name}: ${e.message}` : e)}`);
      return;
    }
    must(same(c, parseCidr(source)), () => 'not deterministic');
    const slash = source.indexOf('/');
    const addr = parseIP(slash < 0 ? source : source.slice(0, slash));
    const bitsText = slash < 0 ? null : source.slice(slash + 1);
    must(addr !== null && c.source === source && (c.bytes.length === 4 || c.bytes.length === 16), () => `bad cidr ${show(c)}`);
    must(Number.isInteger(c.bits) && c.bits >= 0 && c.bits <= c.bytes.length * 8, () => `bits ${c.bits}`);
    const mapped = addr.length === 16 && addr.subarray(0, 10).every((x) => x === 0) && addr[10] === 0xff && addr[11] === 0xff;
    // (by design a v4-mapped address compares as IPv4, so an IPv6 prefix under /96 never contains one)
    if (!(mapped && c.bytes.length === 16)) must(cidrContains(c, addr), () => `${show(source)} does not contain its own address`);
    if (bitsText === null) must(c.bits === c.bytes.length * 8, () => `bare address gave /${c.bits}`);
    if (mapped && Number(bitsText ?? 128) >= 96) must(c.bytes.length === 4 && c.bits === Number(bitsText ?? 128) - 96, () => `v4-mapped ${show(source)} gave ${show(c)}`);
  },
);

// ---------------------------------------------------------------------------------------------
// route/hostname.ts: parseHostnamePattern, hostnameError; sniff/tls.ts dnsName

const NAME_PIECES = ['*', '*.', '.', 'a', 'Z', '0', '9', '-', '_', 'ex', 'example', 'com', 'x'.repeat(63), 'x'.repeat(64), ' ', 'é', '..', ':'];
const nameTextArb = oneOfWeighted<string>(
  [3, dnsNameArb.map((n) => n.text)],
  [1, dnsNameArb.map((n) => `*.${n.text}`)],
  [4, arr(fc.constantFrom(...NAME_PIECES), 0, 10).map((ps) => ps.join(''))],
  [2, fc.tuple(dnsNameArb, editsArb).map(([n, e]) => mutateText(n.text, e))],
  [1, fc.string({ unit: 'binary', maxLength: 20 })],
);

const hostnameTarget = target(
  'route/hostname.ts parseHostnamePattern / hostnameError',
  [
    'hostnameError: never throws, null or a message; parseHostnamePattern returns a pattern or throws an Error starting with the quoted source',
    'pattern: source kept, suffix lower case without a trailing dot and valid (hostnameError null), wildcard iff the source starts with "*."',
    'every valid suffix is also a canonical sniffed name (dnsName(suffix) === suffix): a route can match what the sniffers give',
    'matchHostname: an exact pattern matches its name; a wildcard matches "x." + suffix and never the bare suffix',
  ],
  nameTextArb,
  (s) => {
    const err = noThrow('hostnameError', () => hostnameError(s));
    must(err === null || (typeof err === 'string' && err.length > 0), () => `hostnameError ${show(err)}`);
    if (err === null) must(dnsName(s) === s, () => `${show(s)} is a valid hostname but dnsName gives ${show(dnsName(s))}`);
    let p: ReturnType<typeof parseHostnamePattern>;
    try {
      p = parseHostnamePattern(s);
    } catch (e) {
      must(e instanceof Error && e.message.startsWith(`"${s}": `), () => `threw ${show(e instanceof Error ? `${e.name}: ${e.message}` : e)}`);
      return;
    }
    must(p.source === s && p.suffix === p.suffix.toLowerCase() && !p.suffix.endsWith('.') && hostnameError(p.suffix) === null, () => `pattern ${show(p)}`);
    must(p.wildcard === s.toLowerCase().startsWith('*.'), () => `wildcard ${p.wildcard} for ${show(s)}`);
    must(dnsName(p.suffix) === p.suffix, () => `suffix ${show(p.suffix)} is not what dnsName would give (${show(dnsName(p.suffix))})`);
    if (p.wildcard) must(matchHostname(p, `x.${p.suffix}`) >= 0 && matchHostname(p, p.suffix) === -1, () => 'wildcard matching');
    else must(matchHostname(p, p.suffix) > 0, () => 'exact pattern does not match its own name');
  },
);

const dnsNameTarget = target(
  'sniff/tls.ts dnsName',
  [
    'never throws; null or a name of 1..253 characters, lower case, no trailing dot, labels [a-z0-9_-]{1,63}',
    'idempotent (dnsName(dnsName(s)) = dnsName(s)); insensitive to case and one trailing dot; generated names give their canonical form',
  ],
  oneOfWeighted<{ s: string; canon: string | null }>([2, dnsNameArb.map((n) => ({ s: n.text, canon: n.canon }))], [3, nameTextArb.map((s) => ({ s, canon: null }))]),
  ({ s, canon }) => {
    const d = noThrow('dnsName', () => dnsName(s));
    if (canon !== null) must(d === canon, () => `${show(s)}: expected ${show(canon)}, got ${show(d)}`);
    if (d === null) return;
    must(d.length >= 1 && d.length <= 253 && !d.endsWith('.') && d.split('.').every((l) => /^[a-z0-9_-]{1,63}$/.test(l)), () => `${show(s)} gave ${show(d)}`);
    must(dnsName(d) === d && dnsName(s.toUpperCase()) === d && (s.endsWith('.') || dnsName(`${s}.`) === d), () => `${show(s)}: not idempotent / case or dot sensitive`);
  },
);

// ---------------------------------------------------------------------------------------------
// runtime/sockaddr.ts: decodeSockaddr; core/splice.ts: decodeEvents, decodeStats

const sockaddrArb = oneOfWeighted<{ b: Uint8Array; host: string | null; port: number }>(
  [2, fc.tuple(v4Arb, fc.integer({ min: 0, max: 65535 }), bytes(0, 4)).map(([a, port, after]) => ({ b: concat(encodeSockaddr(a.text, port), after), host: a.text, port }))],
  [2, fc.tuple(v6Arb, fc.integer({ min: 0, max: 65535 }), bytes(0, 4)).map(([a, port, after]) => ({ b: concat(encodeSockaddr(canonicalV6(a.bytes), port), after), host: null, port }))],
  [3, bytes(0, 40).map((b) => ({ b, host: null, port: -1 }))],
  [2, fc.tuple(fc.constantFrom(2, 10), fc.boolean(), bytes(0, 30)).map(([f, le, rest]) => ({ b: concat(le ? Uint8Array.of(f, 0) : Uint8Array.of(0, f), rest), host: null, port: -1 }))],
);

const sockaddrTarget = target(
  'runtime/sockaddr.ts decodeSockaddr',
  [
    'never throws; deterministic; reads only its view (same result at another byteOffset); null or {host, port, family}',
    'family 4: host a dotted quad of bytes 4..7 (or 20..23 of a v4-mapped sockaddr_in6); family 6: host an IPv6 literal node:net accepts, of bytes 8..23, never v4-mapped',
    'port = bytes 2..3 big-endian; appended bytes change nothing; encodeSockaddr → decodeSockaddr round-trips',
  ],
  sockaddrArb,
  ({ b, host, port }) => {
    const r = noThrow('decodeSockaddr', () => decodeSockaddr(b));
    must(same(r, decodeSockaddr(elsewhere(b))), () => 'not deterministic / reads outside its view');
    if (port >= 0) must(r !== null && r.port === port && (host === null || r.host === host), () => `round trip: ${show(r)}`);
    if (r === null) return;
    must(r.port === ((b[2]! << 8) | b[3]!), () => `port ${r.port}`);
    if (r.family === 4) {
      const ip = parseIPv4(r.host);
      must(ip !== null && (same(ip, b.subarray(4, 8)) || same(ip, b.subarray(20, 24))), () => `IPv4 host ${show(r.host)}`);
    } else {
      must(r.family === 6 && isIPv6(r.host) && same(parseIPv6(r.host), b.subarray(8, 24)), () => `IPv6 host ${show(r)}`);
      const a = b.subarray(8, 24);
      must(!(a.subarray(0, 10).every((x) => x === 0) && a[10] === 0xff && a[11] === 0xff), () => 'v4-mapped address reported as IPv6');
    }
    must(same(decodeSockaddr(concat(b, Uint8Array.of(1, 2, 3))), r), () => 'appended bytes change the result');
  },
);

const spliceTarget = target(
  'core/splice.ts decodeEvents / decodeStats',
  [
    'never throw; read only their view (same result at another byteOffset, the case of a record batch inside a larger buffer)',
    'decodeEvents: floor(length / 32) events, each field the little-endian value at its offset (byte counts as u64 < 2^53)',
    'decodeStats: one counter per complete 8-byte slot among the known names, little-endian u64',
  ],
  bytes(0, 300),
  (b) => {
    const ev = noThrow('decodeEvents', () => decodeEvents(b));
    must(same(ev, decodeEvents(elsewhere(b))), () => 'decodeEvents depends on where the view sits');
    must(ev.length === Math.floor(b.length / EVENT_SIZE), () => `${ev.length} events from ${b.length} bytes`);
    const u32 = (o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 2 ** 24;
    ev.forEach((e, i) => {
      const o = i * EVENT_SIZE;
      const errno = u32(o + 28) >= 2 ** 31 ? u32(o + 28) - 2 ** 32 : u32(o + 28);
      must(
        e.id === u32(o) && e.reason === u32(o + 4) && e.up === u32(o + 8) + u32(o + 12) * 2 ** 32 && e.down === u32(o + 16) + u32(o + 20) * 2 ** 32 && e.durationMs === u32(o + 24) && e.errno === errno,
        () => `event ${i}: ${show(e)}`,
      );
    });
    const st = noThrow('decodeStats', () => decodeStats(b));
    must(same(st, decodeStats(elsewhere(b))), () => 'decodeStats depends on where the view sits');
    const keys = Object.keys(st);
    must(keys.length === Math.min(STAT_NAMES.length, Math.floor(b.length / 8)), () => `${keys.length} counters from ${b.length} bytes`);
    keys.forEach((k, i) => must(st[k] === u32(8 * i) + u32(8 * i + 4) * 2 ** 32, () => `counter ${k}`));
  },
);

// ---------------------------------------------------------------------------------------------
// gateway-api/http-table.ts: queryValue; config/schema.ts: parseDuration, splitHostPort

const decodeOr = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};
const Q_PIECES = ['a', 'b', 'A', '=', '&', '&&', '%', '%2', '%41', '%61', '%zz', '%C3%A9', '%E9', '+', ' ', 'é', '%26', '%3D', '?', '#', 'a=', '&a=1', '%61=x', 'b=%', 'a&'];
const queryTarget = target(
  'gateway-api/http-table.ts queryValue',
  [
    'never throws; equal to a reference: the first "&"-separated part whose percent-decoded name (undecodable: as is) equals the name gives its decoded value ("" without "=")',
  ],
  fc.tuple(arr(fc.constantFrom(...Q_PIECES), 0, 14).map((ps) => ps.join('')), oneOfWeighted([3, fc.constantFrom('a', 'b', 'A', 'é', 'a b', '&', '=', '', '%', 'ab')], [1, arr(fc.constantFrom(...Q_PIECES), 0, 3).map((ps) => ps.join(''))])),
  ([q, name]) => {
    const r = noThrow('queryValue', () => queryValue(q, name));
    let want: string | null = null;
    for (const part of q.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      if (decodeOr(eq < 0 ? part : part.slice(0, eq)) === name) {
        want = eq < 0 ? '' : decodeOr(part.slice(eq + 1));
        break;
      }
    }
    must(r === want, () => `queryValue(${show(q)}, ${show(name)}) = ${show(r)}, reference ${show(want)}`);
  },
);

const MAX_MS = 2 ** 31 - 1;
const schemaTarget = target(
  'config/schema.ts parseDuration / splitHostPort',
  [
    'parseDuration: an integer 0..2^31-1 ms, or throws an Error with a message (nothing else); n, "n ms", "n s", "n m", "n h" (OWS around) give n·unit when in range',
    'splitHostPort: never throws; null or {host, port} that rebuild the input exactly ("h:p" or "[h]:p"), port all digits',
  ],
  fc.tuple(
    oneOfWeighted<string | number>(
      [3, arr(fc.constantFrom('0', '1', '5', '500', '1.5', '.5', '05', 'ms', 's', 'm', 'h', ' ', '\t', 'e3', '-', 'x', '2147483647', '2147483648', '\n'), 0, 5).map((ps) => ps.join(''))],
      [2, fc.oneof(fc.integer(), fc.double(), fc.nat(MAX_MS), fc.constant(MAX_MS + 1))],
    ),
    fc.tuple(fc.nat(MAX_MS), fc.constantFrom('ms', 's', 'm', 'h'), owsArb, owsArb),
    fc.tuple(arr(fc.constantFrom('a', '[', ']', ':', '::1', '1', '80', '.', ' ', 'é'), 0, 8).map((ps) => ps.join(''))),
  ),
  ([input, [n, unit, a, b], [hp]]) => {
    try {
      const ms = parseDuration(input);
      must(Number.isInteger(ms) && ms >= 0 && ms <= MAX_MS, () => `${show(input)} gave ${ms}`);
    } catch (e) {
      must(e instanceof Error && e.message.length > 0 && !(e instanceof TypeError) && !(e instanceof RangeError), () => `${show(input)} threw ${String(e)}`);
    }
    const want = n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!;
    const text = `${a}${n}${unit}${b}`;
    let got: number | string;
    try {
      got = parseDuration(text);
    } catch (e) {
      got = `threw ${(e as Error).message}`;
    }
    must(want <= MAX_MS ? got === want : typeof got === 'string', () => `parseDuration(${show(text)}) = ${show(got)}, expected ${want <= MAX_MS ? want : 'an error'}`);
    const parts = noThrow('splitHostPort', () => splitHostPort(hp));
    if (parts) {
      must(/^\d+$/.test(parts.port) && parts.host.length > 0, () => `parts ${show(parts)}`);
      must(hp === `${parts.host}:${parts.port}` || hp === `[${parts.host}]:${parts.port}`, () => `parts ${show(parts)} do not rebuild ${show(hp)}`);
    }
  },
);

// ---------------------------------------------------------------------------------------------

/** Every target, in the order both runners run them. */
export const targets: readonly FuzzTarget[] = [
  tlsTarget,
  http1Target,
  authorityTarget,
  http2Target,
  sshTarget,
  detectTarget,
  greetingTarget,
  userPassTarget,
  socksRequestTarget,
  proxyTarget,
  proxyCredentialsTarget,
  responseTarget,
  fieldsTarget,
  headTarget,
  chunkedTarget,
  framingTarget,
  uciTarget,
  ipTarget,
  cidrTarget,
  hostnameTarget,
  dnsNameTarget,
  sockaddrTarget,
  spliceTarget,
  queryTarget,
  schemaTarget,
];

/** Targets named by the comma-separated `only` strings: a full name, or a part of names (all when empty). */
export function selectTargets(only: string | undefined): FuzzTarget[] {
  const wanted = (only ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (wanted.length === 0) return [...targets];
  // a full name picks that parser alone; any other string, every parser whose name contains it
  return targets.filter((t) => wanted.some((w) => (targets.some((u) => u.name === w) ? t.name === w : t.name.includes(w))));
}
