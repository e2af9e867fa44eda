// TLS ClientHello sniffer: reassembles the first handshake message from the client's
// TLS records (it may span several records and TCP segments) and extracts SNI, ALPN
// and supported_versions. Everything else is only checked for correct framing.

import { fail, more, ok, type SniffResult } from './types.ts';

export interface ClientHello {
  sni: string | null;
  alpn: string[];
  legacyVersion: number;
  supportedVersions: number[];
}

const CT_HANDSHAKE = 22;
const HT_CLIENT_HELLO = 1;
const MAX_RECORD = 16384 + 256; // TLSCiphertext limit; plaintext hellos are smaller still
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;

/** A piece of handshake data: `len` bytes at `bufStart` in the input. */
interface Fragment {
  bufStart: number;
  len: number;
}

/** A fatal alert record (TLS 1.2 record version, which all TLS versions accept). */
export function tlsAlert(description: number): Uint8Array {
  return Uint8Array.of(21, 3, 3, 0, 2, 2, description & 0xff);
}

export function parseClientHello(buf: Uint8Array, maxBytes = 16384): SniffResult<ClientHello> {
  if (buf.length === 0) return more;
  if (buf[0] !== CT_HANDSHAKE) return fail('not-this-protocol', 0, 'not a TLS handshake record', 'record-type');
  // Cap on the record bytes spanned by the hello: the message itself plus a 5-byte header
  // per record, tolerating fragments of 16 bytes on average. (Empty records are refused,
  // so buffering would be bounded anyway, but at 6x maxBytes with 1-byte fragments.)
  const maxBuffered = maxBytes + 5 * Math.ceil(maxBytes / 16) + 5;

  const frags: Fragment[] = [];
  const at = (hsOff: number) => mapOffset(frags, hsOff);
  let hsLen = 0; // handshake bytes gathered, including a partial last record
  let msgLen = -1; // full message length (4-byte header + body) once known
  let pos = 0;
  while (pos < buf.length) {
    if (pos > maxBuffered) return fail('too-large', pos, 'ClientHello records exceed the size cap', 'record');
    // --- record header, checked byte by byte so bad input fails as early as possible
    const first = pos === 0;
    if (buf[pos] !== CT_HANDSHAKE)
      return fail('malformed', pos, `record type ${buf[pos]} inside the ClientHello`, 'record-type');
    if (pos + 1 < buf.length && buf[pos + 1] !== 3)
      return first
        ? fail('not-this-protocol', pos + 1, 'record version major is not 3', 'record-version')
        : fail('malformed', pos + 1, 'record version major is not 3', 'record-version');
    if (pos + 2 < buf.length && buf[pos + 2] > 4)
      return fail('malformed', pos + 2, 'unknown record version', 'record-version');
    if (pos + 5 > buf.length) break;
    const recLen = (buf[pos + 3] << 8) | buf[pos + 4];
    if (recLen === 0 || recLen > MAX_RECORD)
      return fail('malformed', pos + 3, `bad record length ${recLen}`, 'record-length');

    // --- record payload (possibly still partial; its bytes still serve early checks)
    const avail = Math.min(recLen, buf.length - pos - 5);
    frags.push({ bufStart: pos + 5, len: avail });
    hsLen += avail;
    if (msgLen < 0 && hsLen >= 1 && byteAt(buf, frags, 0) !== HT_CLIENT_HELLO)
      return fail('malformed', at(0), 'first handshake message is not a ClientHello', 'handshake-type');
    if (msgLen < 0 && hsLen >= 4) {
      msgLen = 4 + ((byteAt(buf, frags, 1) << 16) | (byteAt(buf, frags, 2) << 8) | byteAt(buf, frags, 3));
      if (msgLen > maxBytes)
        return fail('too-large', at(1), `ClientHello of ${msgLen} bytes exceeds ${maxBytes}`, 'handshake-length');
    }
    if (avail < recLen) break; // record incomplete
    pos += 5 + recLen;
    if (msgLen >= 0 && hsLen >= msgLen) {
      if (pos > maxBuffered) return fail('too-large', maxBuffered, 'ClientHello records exceed the size cap', 'record');
      const msg = gather(buf, frags, msgLen);
      const r = parseBody(msg, 4);
      if ('error' in r) return fail('malformed', at(r.off), r.error, r.field);
      return ok(r, pos);
    }
  }
  if (buf.length > maxBuffered) return fail('too-large', maxBuffered, 'ClientHello records exceed the size cap', 'record');
  return more;
}

function byteAt(buf: Uint8Array, frags: Fragment[], hsOff: number): number {
  return buf[mapOffset(frags, hsOff)];
}

/** Offset in the handshake stream → offset in the input buffer. */
function mapOffset(frags: Fragment[], hsOff: number): number {
  for (const f of frags) {
    if (hsOff < f.len) return f.bufStart + hsOff;
    hsOff -= f.len;
  }
  const last = frags[frags.length - 1];
  return last ? last.bufStart + last.len : 0;
}

function gather(buf: Uint8Array, frags: Fragment[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let o = 0;
  for (const f of frags) {
    if (o >= n) break;
    const take = Math.min(f.len, n - o);
    out.set(buf.subarray(f.bufStart, f.bufStart + take), o);
    o += take;
  }
  return out;
}

type BodyError = { error: string; off: number; field: string };

/** Parses the ClientHello body in msg[start..]. Offsets in errors are into msg. */
function parseBody(msg: Uint8Array, start: number): ClientHello | BodyError {
  const end = msg.length;
  let p = start;
  const bad = (off: number, field: string, error: string): BodyError => ({ error, off, field });
  const u16 = (i: number) => (msg[i] << 8) | msg[i + 1];

  if (p + 2 + 32 + 1 > end) return bad(p, 'client_hello', 'ClientHello body too short');
  const legacyVersion = u16(p);
  p += 2 + 32; // legacy_version, random

  const sidLen = msg[p];
  if (sidLen > 32 || p + 1 + sidLen > end) return bad(p, 'session_id', `bad session id length ${sidLen}`);
  p += 1 + sidLen;

  if (p + 2 > end) return bad(p, 'cipher_suites', 'missing cipher suites');
  const csLen = u16(p);
  if (csLen === 0 || csLen % 2 !== 0 || p + 2 + csLen > end)
    return bad(p, 'cipher_suites', `bad cipher suites length ${csLen}`);
  p += 2 + csLen;

  if (p + 1 > end) return bad(p, 'compression_methods', 'missing compression methods');
  const cmLen = msg[p];
  if (cmLen === 0 || p + 1 + cmLen > end)
    return bad(p, 'compression_methods', `bad compression methods length ${cmLen}`);
  p += 1 + cmLen;

  const hello: ClientHello = { sni: null, alpn: [], legacyVersion, supportedVersions: [] };
  if (p === end) return hello; // no extensions at all is legal

  if (p + 2 > end || p + 2 + u16(p) !== end) return bad(p, 'extensions', 'extensions length does not match the message');
  p += 2;
  const seen = new Set<number>();
  while (p < end) {
    if (p + 4 > end) return bad(p, 'extensions', 'truncated extension header');
    const type = u16(p);
    const len = u16(p + 2);
    if (p + 4 + len > end) return bad(p + 2, 'extensions', `extension ${type} overruns the extensions block`);
    if (seen.has(type)) return bad(p, 'extensions', `duplicate extension ${type}`);
    seen.add(type);
    const d = p + 4;
    const e = d + len;
    let err: BodyError | null = null;
    if (type === EXT_SERVER_NAME) err = serverName(msg, d, e, hello);
    else if (type === EXT_ALPN) err = alpn(msg, d, e, hello);
    else if (type === EXT_SUPPORTED_VERSIONS) err = supportedVersions(msg, d, e, hello);
    if (err) return err;
    p = e;
  }
  return hello;
}

function serverName(msg: Uint8Array, d: number, e: number, hello: ClientHello): BodyError | null {
  const field = 'server_name';
  // A non-empty list whose length matches the extension (the empty form is server-only)
  if (e - d < 3 || ((msg[d] << 8) | msg[d + 1]) !== e - d - 2)
    return { error: 'bad server name list length', off: d, field };
  let p = d + 2;
  while (p < e) {
    if (p + 3 > e) return { error: 'truncated server name entry', off: p, field };
    const nameType = msg[p];
    const len = (msg[p + 1] << 8) | msg[p + 2];
    if (p + 3 + len > e) return { error: 'server name overruns the list', off: p + 1, field };
    if (nameType === 0) {
      if (hello.sni !== null) return { error: 'more than one host_name', off: p, field };
      const name = dnsName(latin1(msg, p + 3, p + 3 + len));
      if (name === null) return { error: 'host_name is not a valid DNS name', off: p + 3, field };
      hello.sni = name;
    }
    p += 3 + len;
  }
  return null;
}

/**
 * Validates a DNS host name (letters, digits, '-', '_'; labels of 1..63; 1..253 chars)
 * and returns it lowercased without a trailing dot, or null. Shared with the HTTP sniffer.
 */
export function dnsName(s: string): string | null {
  if (s.endsWith('.')) s = s.slice(0, -1); // fully qualified form
  if (s.length < 1 || s.length > 253) return null;
  for (const label of s.split('.')) if (!/^[A-Za-z0-9_-]{1,63}$/.test(label)) return null;
  return s.toLowerCase();
}

function alpn(msg: Uint8Array, d: number, e: number, hello: ClientHello): BodyError | null {
  const field = 'alpn';
  if (e - d < 3 || ((msg[d] << 8) | msg[d + 1]) !== e - d - 2)
    return { error: 'bad ALPN list length', off: d, field };
  for (let p = d + 2; p < e; ) {
    const len = msg[p];
    if (len === 0 || p + 1 + len > e) return { error: 'bad ALPN protocol length', off: p, field };
    hello.alpn.push(latin1(msg, p + 1, p + 1 + len));
    p += 1 + len;
  }
  return null;
}

function supportedVersions(msg: Uint8Array, d: number, e: number, hello: ClientHello): BodyError | null {
  const len = e > d ? msg[d] : -1;
  if (len < 2 || len % 2 !== 0 || len !== e - d - 1)
    return { error: 'bad supported_versions length', off: d, field: 'supported_versions' };
  for (let p = d + 1; p < e; p += 2) hello.supportedVersions.push((msg[p] << 8) | msg[p + 1]);
  return null;
}

function latin1(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]);
  return s;
}
