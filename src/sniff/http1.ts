// HTTP/1.x request-head sniffer (RFC 9112). Rejects non-HTTP bytes within the first
// few bytes (the method), enforces size caps before the head is complete, and pulls
// the destination host/port from Host or from an absolute/authority-form target.

import { fail, more, ok, type SniffResult } from './types.ts';
import { dnsName } from './tls.ts';
import { parseIPv6 } from '../route/cidr.ts';
import { NATIVE_FAST, TCHAR as TCHAR_TABLE } from '../http/bytes.ts';
import { isTokenCached, lineEnd, scanPlainHead } from '../http/fields.ts';

export interface HttpRequestHead {
  method: string;
  target: string;
  version: '1.0' | '1.1';
  headers: [name: string, value: string][];
  host: string | null;
  port: number | null;
}

export interface Http1Limits {
  maxRequestLine: number;
  maxHeadBytes: number;
  maxHeaders: number;
}

export const defaultHttp1Limits: Http1Limits = { maxRequestLine: 8192, maxHeadBytes: 16384, maxHeaders: 100 };

const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const MAX_METHOD = 20;

// RFC 9110 tchar; a module-local binding, as in http/fields.ts, for the per-byte loops
const TCHAR = TCHAR_TABLE;

const VERSION_PREFIX = 'HTTP/1.';

export function parseHttp1Request(
  buf: Uint8Array,
  limits: Http1Limits = defaultHttp1Limits,
): SniffResult<HttpRequestHead> {
  return (NATIVE_FAST && parseHttp1RequestFast(buf, limits)) || parseHttp1RequestExact(buf, limits);
}

const TARGET_RE = /^[\x21-\x7e]+$/;
/** The last method found to be a token of at most MAX_METHOD bytes (see NAME_SLOT in src/http/fields.ts). */
let lastMethod = 'GET';
const ABSOLUTE_RE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/;

/**
 * The common case with built-in calls (see scanPlainHead in src/http/fields.ts): a complete head
 * with CRLF line ends, "METHOD SP target SP HTTP/1.x", a valid destination. null when the exact
 * parser must decide (an error, 'more', or an unusual but valid head); otherwise the same result.
 */
export function parseHttp1RequestFast(
  buf: Uint8Array,
  limits: Http1Limits = defaultHttp1Limits,
): SniffResult<HttpRequestHead> | null {
  const h = scanPlainHead(buf, buf.length < limits.maxHeadBytes ? buf.length : limits.maxHeadBytes, limits.maxHeaders);
  if (h === null) return null;
  const { text, firstLine } = h;
  if (firstLine > limits.maxRequestLine) return null;
  // "METHOD SP target SP HTTP/1.x" with the two first SPs of the head: the line holds no control
  // byte but HTAB (scanPlainHead), so a token method and the whole version need no more checks,
  // the target (SP-free by construction) is checked for HTAB and obs-text.
  // The method: usually the last one seen (then an SP right after it: a token has none), else
  // the bytes up to the first SP, if a token of at most MAX_METHOD bytes.
  let sp1 = lastMethod.length;
  let method = '';
  if (buf[sp1] !== SP || (method = text.slice(0, sp1)) !== lastMethod) {
    sp1 = buf.indexOf(SP);
    if (sp1 < 1 || sp1 > MAX_METHOD) return null;
    method = text.slice(0, sp1);
    if (!isTokenCached(method)) return null;
    lastMethod = method;
  }
  const sp2 = buf.indexOf(SP, sp1 + 1);
  if (sp2 <= sp1 + 1 || sp2 !== firstLine - 9) return null;
  const v = text.slice(sp2 + 1, firstLine);
  const version = v === 'HTTP/1.1' ? '1.1' : v === 'HTTP/1.0' ? '1.0' : null;
  if (version === null) return null;
  const target = text.slice(sp1 + 1, sp2);
  if (!TARGET_RE.test(target)) return null;

  // The destination; an error (several Host fields, a bad authority) is left to the exact parser,
  // which names its offset.
  const headers = h.headers;
  let dest: { host: string; port: number | null } | null = null;
  if (h.host === -2) return null;
  if (h.host >= 0) {
    dest = cachedAuthority(headers[h.host][1]);
    if (!dest) return null;
  } else {
    const abs = ABSOLUTE_RE.exec(target);
    if (abs || method === 'CONNECT') {
      dest = parseAuthority(abs ? abs[1].slice(abs[1].lastIndexOf('@') + 1) : target);
      if (!dest) return null;
    }
  }
  return ok(
    { method, target, version, headers, host: dest ? dest.host : null, port: dest ? dest.port : null },
    h.end,
  );
}

/** parseAuthority with a small cache: Host values repeat. Cached entries are never handed out. */
const AUTHORITY_CACHE = new Map<string, { host: string; port: number | null } | null>();
const AUTHORITY_CACHE_MAX = 256;
let lastAuthority = '';
let lastDest: { host: string; port: number | null } | null = null;
function cachedAuthority(s: string): { host: string; port: number | null } | null {
  if (s === lastAuthority) return lastDest;
  if (s.length > 300) return parseAuthority(s);
  let r = AUTHORITY_CACHE.get(s);
  if (r === undefined) {
    r = parseAuthority(s);
    if (AUTHORITY_CACHE.size >= AUTHORITY_CACHE_MAX) AUTHORITY_CACHE.clear();
    AUTHORITY_CACHE.set(s, r);
  }
  lastAuthority = s;
  lastDest = r;
  return r;
}

/** The exact byte-by-byte parser: the reference for parseHttp1Request and its fallback. */
export function parseHttp1RequestExact(
  buf: Uint8Array,
  limits: Http1Limits = defaultHttp1Limits,
): SniffResult<HttpRequestHead> {
  const { maxRequestLine, maxHeadBytes, maxHeaders } = limits;
  // Bytes we may look at; reading at or past `avail` means "need more" or "over the head cap".
  const avail = Math.min(buf.length, maxHeadBytes);
  const stop = (i: number) =>
    i < buf.length ? fail('too-large', i, `request head exceeds ${maxHeadBytes} bytes`, 'headers') : more;
  const lineTooLong = (i: number) =>
    fail('too-large', i, `request line exceeds ${maxRequestLine} bytes`, 'request-line');

  // --- method: a short token, then one SP. Anything else means this is not HTTP.
  let i = 0;
  for (; ; i++) {
    if (i >= avail) return stop(i);
    const c = buf[i];
    if (c === SP && i > 0) break;
    if (!TCHAR[c] || i >= MAX_METHOD) return fail('not-this-protocol', i, 'not an HTTP method', 'method');
  }
  const method = latin1(buf, 0, i);

  // --- request-target: visible ASCII up to the next SP
  const tStart = ++i;
  for (; ; i++) {
    if (i >= avail) return stop(i);
    if (i >= maxRequestLine) return lineTooLong(i);
    const c = buf[i];
    if (c === SP && i > tStart) break;
    if (c <= SP || c >= 0x7f) return fail('malformed', i, 'bad byte in request target', 'request-line');
  }
  const target = latin1(buf, tStart, i);

  // --- version: exactly HTTP/1.0 or HTTP/1.1
  const vStart = ++i;
  for (; i < vStart + VERSION_PREFIX.length + 1; i++) {
    if (i >= avail) return stop(i);
    if (i >= maxRequestLine) return lineTooLong(i);
    const c = buf[i];
    const good = i < vStart + VERSION_PREFIX.length ? c === VERSION_PREFIX.charCodeAt(i - vStart) : c === 0x30 || c === 0x31;
    if (!good) return fail('malformed', i, 'unsupported HTTP version', 'version');
  }
  const version = buf[i - 1] === 0x31 ? '1.1' : '1.0';
  let r = lineEnd(buf, i, avail, 'request-line');
  if (typeof r !== 'number') return r.status === 'more' ? stop(r.at) : r;
  i = r;

  // --- header fields, until the empty line
  const headers: [string, string][] = [];
  const hostAt: number[] = []; // value offsets of Host headers, for error reporting
  for (;;) {
    const lineStart = i;
    if (i >= avail) return stop(i);
    let c = buf[i];
    if (c === CR || c === LF) {
      r = lineEnd(buf, i, avail, 'headers');
      if (typeof r !== 'number') return r.status === 'more' ? stop(r.at) : r;
      i = r;
      break;
    }
    if (c === SP || c === HT) return fail('malformed', i, 'obsolete line folding', 'headers');
    if (headers.length >= maxHeaders) return fail('too-large', i, `more than ${maxHeaders} header fields`, 'headers');
    for (; ; i++) {
      if (i >= avail) return stop(i);
      c = buf[i];
      if (c === COLON && i > lineStart) break;
      if (!TCHAR[c]) return fail('malformed', i, 'bad byte in header name', 'headers');
    }
    const name = latin1(buf, lineStart, i);
    let vStart = ++i;
    for (; ; i++) {
      if (i >= avail) return stop(i);
      c = buf[i];
      if (c === CR || c === LF) break;
      // field-vchar / obs-text / SP / HTAB; other controls are refused
      if ((c < SP && c !== HT) || c === 0x7f) return fail('malformed', i, 'bad byte in header value', 'headers');
    }
    let vEnd = i;
    while (vStart < vEnd && (buf[vStart] === SP || buf[vStart] === HT)) vStart++;
    while (vEnd > vStart && (buf[vEnd - 1] === SP || buf[vEnd - 1] === HT)) vEnd--;
    if (name.toLowerCase() === 'host') hostAt.push(vStart);
    headers.push([name, latin1(buf, vStart, vEnd)]);
    r = lineEnd(buf, i, avail, 'headers');
    if (typeof r !== 'number') return r.status === 'more' ? stop(r.at) : r;
    i = r;
  }
  const headLength = i;

  // --- destination: Host header first, else an absolute-form or authority-form target
  let dest: { host: string; port: number | null } | null = null;
  const hosts = headers.filter(([n]) => n.toLowerCase() === 'host');
  if (hosts.length > 1) return fail('malformed', hostAt[1], 'more than one Host header', 'host');
  if (hosts.length === 1) {
    dest = parseAuthority(hosts[0][1]);
    if (!dest) return fail('malformed', hostAt[0], 'invalid Host header', 'host');
  } else {
    const abs = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(target);
    if (abs || method === 'CONNECT') {
      // userinfo ("user@") is deprecated in http URIs but harmless to skip
      const auth = abs ? abs[1].slice(abs[1].lastIndexOf('@') + 1) : target;
      dest = parseAuthority(auth);
      if (!dest) return fail('malformed', tStart, 'invalid authority in request target', 'target');
    }
  }
  return ok(
    { method, target, version, headers, host: dest ? dest.host : null, port: dest ? dest.port : null },
    headLength,
  );
}

/**
 * Splits "host[:port]" or "[v6]:port" into a lowercased host (no brackets, no trailing
 * dot) and a port (null when absent or empty). Returns null when either part is invalid.
 */
export function parseAuthority(s: string): { host: string; port: number | null } | null {
  let host: string | null;
  let rest: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return null;
    host = s.slice(1, close).toLowerCase();
    // The one IPv6 parser the router also uses: no zone in an authority, no leading zeros in an
    // embedded IPv4 ("::ffff:127.000.000.001"), so a literal here is a literal to the rules too.
    if (host.includes('%') || parseIPv6(host) === null) return null;
    rest = s.slice(close + 1);
  } else {
    const colon = s.indexOf(':');
    host = dnsName(colon < 0 ? s : s.slice(0, colon));
    if (host === null) return null;
    rest = colon < 0 ? '' : s.slice(colon);
  }
  if (rest === '' || rest === ':') return { host, port: null };
  const m = /^:([0-9]{1,5})$/.exec(rest);
  const port = m ? Number(m[1]) : 0;
  return port >= 1 && port <= 65535 ? { host, port } : null;
}


function latin1(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]);
  return s;
}
