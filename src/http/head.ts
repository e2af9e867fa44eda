// Header lists and message heads: lookups, hop-by-hop removal (RFC 9110 §7.6.1), serialization
// (latin1, CRLF) and ugate's own short responses. Pure, never throws.

import { connectionTokens } from './framing.ts';
import { NATIVE_FAST, latin1EncodeNative, nameIs, utf8Encode } from './bytes.ts';

export type HeaderList = [name: string, value: string][];
type Headers = readonly (readonly [string, string])[];

/** All values of `name` (case-insensitive), in order. */
export function getHeaderValues(headers: Headers, name: string): string[] {
  const lower = name.toLowerCase();
  const len = lower.length;
  const out: string[] = [];
  for (let k = 0; k < headers.length; k++) {
    const h = headers[k];
    if (h[0].length === len && nameIs(h[0], lower)) out.push(h[1]);
  }
  return out;
}

/**
 * The value of `name` (case-insensitive), repeats joined with ", " (RFC 9110 §5.3); undefined
 * when absent. Not meaningful for Set-Cookie, which cannot be joined: use getHeaderValues.
 */
export function getHeader(headers: Headers, name: string): string | undefined {
  const lower = name.toLowerCase();
  const len = lower.length;
  let out: string | undefined;
  for (let k = 0; k < headers.length; k++) {
    const h = headers[k];
    if (h[0].length !== len || !nameIs(h[0], lower)) continue;
    out = out === undefined ? h[1] : `${out}, ${h[1]}`;
  }
  return out;
}

export function hasHeader(headers: Headers, name: string): boolean {
  const lower = name.toLowerCase();
  const len = lower.length;
  for (let k = 0; k < headers.length; k++) if (headers[k][0].length === len && nameIs(headers[k][0], lower)) return true;
  return false;
}

/** A new list with the first `name` field set to `value` (in place), later ones dropped; appended when absent. */
export function setHeader(headers: Headers, name: string, value: string): HeaderList {
  const lower = name.toLowerCase();
  const out: HeaderList = [];
  let set = false;
  for (let k = 0; k < headers.length; k++) {
    const n = headers[k][0];
    const v = headers[k][1];
    if (!nameIs(n, lower)) out.push([n, v]);
    else if (!set) {
      out.push([n, value]);
      set = true;
    }
  }
  if (!set) out.push([name, value]);
  return out;
}

/** A new list without any `name` field. */
export function deleteHeader(headers: Headers, name: string): HeaderList {
  const lower = name.toLowerCase();
  const out: HeaderList = [];
  for (let k = 0; k < headers.length; k++) {
    const n = headers[k][0];
    if (!nameIs(n, lower)) out.push([n, headers[k][1]]);
  }
  return out;
}

/** Hop-by-hop fields always removed (RFC 9110 §7.6.1; Proxy-Connection and Keep-Alive are legacy). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'transfer-encoding']);
/**
 * Fields that describe the message's framing or its target: never removed because Connection
 * names them. A "Connection: content-length" (or host, transfer-encoding) is a sender error, and
 * obeying it while the body is forwarded verbatim would desynchronize the next hop.
 */
const PROTECTED = new Set(['content-length', 'transfer-encoding', 'host']);
/** Bit n set: a name in HOP_BY_HOP has n characters. */
const HOP_LENGTHS = (1 << 2) | (1 << 7) | (1 << 10) | (1 << 16) | (1 << 17);
const NON_ASCII = /[^\x00-\x7f]/;

export interface HopByHopOptions {
  /**
   * Keep Transfer-Encoding (default true): the proxy forwards bodies verbatim, so a chunked body
   * must keep its chunked header. Set false only when the body is re-framed.
   */
  keepTransferEncoding?: boolean;
  /** Keep Upgrade, and Connection reduced to "upgrade", for an upgrade request or 101 passed on (default false). */
  keepUpgrade?: boolean;
}

/**
 * A new list without hop-by-hop fields (RFC 9110 §7.6.1): Connection, the fields Connection
 * names (except Content-Length, Transfer-Encoding and Host), Keep-Alive, Proxy-Connection, TE
 * and Upgrade; Transfer-Encoding only when `keepTransferEncoding` is false. With `keepUpgrade`,
 * Upgrade stays and a "Connection: upgrade" takes the place of the first Connection field.
 */
export function removeHopByHop(headers: Headers, opts: HopByHopOptions = {}): HeaderList {
  const keepTe = opts.keepTransferEncoding ?? true;
  const keepUpgrade = opts.keepUpgrade ?? false;
  const named = connectionTokens(headers);
  // The lengths of the names that may go: the fixed ones and those Connection names. A field with
  // a name of another length is kept without lowercasing its name. (A name that lowercases to an
  // ASCII name has that name's length: of the characters that lowercase to ASCII only U+212A does
  // so from outside ASCII, to one unit. A non-ASCII or a long Connection token turns this off.)
  let lengths = HOP_LENGTHS;
  named.forEach((t) => {
    lengths = lengths !== -1 && t.length <= 30 && !NON_ASCII.test(t) ? lengths | (1 << t.length) : -1;
  });
  const out: HeaderList = [];
  let upgradeConn = false;
  for (let k = 0; k < headers.length; k++) {
    const n = headers[k][0];
    const v = headers[k][1];
    const len = n.length;
    if (len > 30 ? lengths !== -1 : ((lengths >> len) & 1) === 0) {
      out.push([n, v]);
      continue;
    }
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
    if (HOP_BY_HOP.has(lower) || (named.has(lower) && !PROTECTED.has(lower))) continue;
    out.push([n, v]);
  }
  return out;
}

// --- serialization

/** Bytes of a string written into a head: CR, LF and NUL become SP (no injected lines), > 0xff becomes '?'. */
function put(out: Uint8Array, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[at++] = c === 0x0d || c === 0x0a || c === 0 ? 0x20 : c > 0xff ? 0x3f : c;
  }
  return at;
}

function putHeaders(out: Uint8Array, at: number, headers: Headers): number {
  for (let k = 0; k < headers.length; k++) {
    at = put(out, at, headers[k][0]);
    out[at++] = 0x3a;
    out[at++] = 0x20;
    at = put(out, at, headers[k][1]);
    out[at++] = 0x0d;
    out[at++] = 0x0a;
  }
  out[at++] = 0x0d;
  out[at++] = 0x0a;
  return at;
}

function headersLength(headers: Headers): number {
  let n = 2;
  for (let k = 0; k < headers.length; k++) n += headers[k][0].length + headers[k][1].length + 4;
  return n;
}

/**
 * "METHOD target HTTP/x.y" CRLF, "Name: value" CRLF each, CRLF. latin1; callers pass valid
 * tokens and targets; CR/LF/NUL inside any part are written as SP, so no extra line appears.
 */
export function serializeRequestHead(method: string, target: string, version: '1.0' | '1.1', headers: Headers): Uint8Array {
  return (NATIVE_FAST && serializeRequestHeadFast(method, target, version, headers)) || serializeRequestHeadExact(method, target, version, headers);
}

/** "HTTP/x.y NNN reason" CRLF, headers, CRLF; latin1; the SP before an empty reason is kept. */
export function serializeResponseHead(version: '1.0' | '1.1', status: number, reason: string, headers: Headers): Uint8Array {
  return (NATIVE_FAST && serializeResponseHeadFast(version, status, reason, headers)) || serializeResponseHeadExact(version, status, reason, headers);
}

// The fast paths build one string and encode it natively (latin1EncodeNative). When every code
// unit is ≤ 0xff and the bytes hold no NUL and exactly the CRLFs put there, no part needed
// neutralising, so the bytes are the exact serializer's. Otherwise they return null and the exact
// byte loop writes the head.

/** serializeRequestHead by one native encode, or null when the exact loop must write it. */
export function serializeRequestHeadFast(method: string, target: string, version: '1.0' | '1.1', headers: Headers): Uint8Array | null {
  if (version !== '1.1' && version !== '1.0') return null;
  let s = method + ' ' + target + (version === '1.1' ? ' HTTP/1.1\r\n' : ' HTTP/1.0\r\n');
  for (let k = 0; k < headers.length; k++) s += headers[k][0] + ': ' + headers[k][1] + '\r\n';
  return checkedLines(latin1EncodeNative(s + '\r\n'), headers.length + 2);
}

/** serializeResponseHead by one native encode, or null when the exact loop must write it. */
export function serializeResponseHeadFast(version: '1.0' | '1.1', status: number, reason: string, headers: Headers): Uint8Array | null {
  if (version !== '1.1' && version !== '1.0') return null;
  const code = status >= 100 && status <= 999 ? String(Math.floor(status)) : '500';
  let s = (version === '1.1' ? 'HTTP/1.1 ' : 'HTTP/1.0 ') + code + ' ' + reason + '\r\n';
  for (let k = 0; k < headers.length; k++) s += headers[k][0] + ': ' + headers[k][1] + '\r\n';
  return checkedLines(latin1EncodeNative(s + '\r\n'), headers.length + 2);
}

/** `out` when it holds no NUL and exactly `lines` CRLFs and no other CR or LF, else null. */
function checkedLines(out: Uint8Array | null, lines: number): Uint8Array | null {
  if (out === null || out.indexOf(0) >= 0) return null;
  // exactly `lines` CRs, each followed by an LF ...
  let n = 0;
  for (let p = out.indexOf(0x0d); p >= 0; p = out.indexOf(0x0d, p + 2)) if (out[p + 1] !== 0x0a || ++n > lines) return null;
  if (n !== lines) return null;
  // ... and no LF besides those
  n = 0;
  for (let p = out.indexOf(0x0a); p >= 0; p = out.indexOf(0x0a, p + 1)) if (++n > lines) return null;
  return out;
}

/** The exact byte loop: the reference for serializeRequestHead and its fallback. */
export function serializeRequestHeadExact(method: string, target: string, version: '1.0' | '1.1', headers: Headers): Uint8Array {
  const out = new Uint8Array(method.length + target.length + 12 + headersLength(headers));
  let at = put(out, 0, method);
  out[at++] = 0x20;
  at = put(out, at, target);
  at = put(out, at, ` HTTP/${version}`);
  out[at++] = 0x0d;
  out[at++] = 0x0a;
  putHeaders(out, at, headers);
  return out;
}

/** The exact byte loop: the reference for serializeResponseHead and its fallback. */
export function serializeResponseHeadExact(version: '1.0' | '1.1', status: number, reason: string, headers: Headers): Uint8Array {
  const code = status >= 100 && status <= 999 ? String(Math.floor(status)) : '500';
  const out = new Uint8Array(9 + code.length + 1 + reason.length + 2 + headersLength(headers));
  let at = put(out, 0, `HTTP/${version} ${code} `);
  at = put(out, at, reason);
  out[at++] = 0x0d;
  out[at++] = 0x0a;
  putHeaders(out, at, headers);
  return out;
}

// --- ugate's own responses

const REASONS: Record<number, string> = {
  100: 'Continue',
  101: 'Switching Protocols',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  206: 'Partial Content',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  411: 'Length Required',
  413: 'Content Too Large',
  414: 'URI Too Long',
  417: 'Expectation Failed',
  421: 'Misdirected Request',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/** The standard reason phrase (RFC 9110 §15), or '' for a code without one here. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? '';
}

export interface SimpleResponseOptions {
  /** extra fields, e.g. Location for 301..308; Content-Length/Transfer-Encoding are ignored */
  headers?: Headers;
  /** text body (UTF-8); default "<status> <reason>\n" */
  body?: string;
  /** add "Connection: close" (and drop a caller's Connection field) */
  close?: boolean;
  /** a response to HEAD: the same head, no body bytes */
  head?: boolean;
}

/**
 * A complete response from ugate itself: status line with the standard reason phrase, the
 * caller's fields, Content-Type text/plain (unless given), Content-Length, `Connection: close`
 * when `close`, then the body. 1xx, 204 and 304 carry no body and no content fields. A status
 * outside 100..999 becomes 500.
 */
export function simpleResponse(status: number, opts: SimpleResponseOptions = {}): Uint8Array {
  if (!Number.isInteger(status) || status < 100 || status > 999) status = 500;
  const reason = reasonPhrase(status);
  const noBody = status < 200 || status === 204 || status === 304;
  const headers: HeaderList = [];
  let hasType = false;
  const extra = opts.headers ?? [];
  for (let k = 0; k < extra.length; k++) {
    const n = extra[k][0];
    const v = extra[k][1];
    const lower = n.toLowerCase();
    if (lower === 'content-length' || lower === 'transfer-encoding' || (opts.close && lower === 'connection')) continue;
    if (lower === 'content-type') hasType = true;
    headers.push([n, v]);
  }
  let body: Uint8Array = new Uint8Array(0);
  if (!noBody) {
    body = utf8Encode(opts.body ?? `${status} ${reason}\n`);
    if (!hasType) headers.push(['Content-Type', 'text/plain; charset=utf-8']);
    headers.push(['Content-Length', String(body.length)]);
  }
  if (opts.close) headers.push(['Connection', 'close']);
  const head = serializeResponseHead('1.1', status, reason, headers);
  if (noBody || opts.head || body.length === 0) return head;
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}
