// Message framing for HTTP/1.x (RFC 9112 §6, RFC 9110 §7.6.1, §7.8, §10.1.1): where a request or
// response body ends, and what the Connection field asks for. Pure, never throws.
//
// Choices where the RFCs leave room (see also the function comments):
// - Requests: Transfer-Encoding together with Content-Length is refused (400), never "TE wins"
//   (RFC 9112 §6.1 allows either; refusing closes the request-smuggling door). A coding this
//   gateway does not know is 501 (RFC 9112 §6.1); known codings (gzip, deflate, compress and
//   their x- aliases) are accepted before a final chunked (the body is forwarded verbatim, the
//   origin decodes them); chunked not last, or more than once, is 400 (§6.3 item 4).
//   Transfer-Encoding in an HTTP/1.0 request is 400 (§6.1: the framing is faulty).
// - Responses: Transfer-Encoding together with Content-Length is an error (502), as nginx does,
//   because a head forwarded verbatim would let the downstream client pick either; so is
//   Transfer-Encoding in an HTTP/1.0 response and chunked applied twice.
// - Content-Length: 1*DIGIT up to 2^53 - 1; repeated values, as several fields or as a
//   comma-separated list, are accepted only when all are equal (RFC 9110 §8.6); empty list
//   elements ("5,") are refused.
// - A 2xx response to CONNECT is reported as close-delimited (a tunnel follows; CONNECT is not
//   proxied per request).

import { isToken, listElements, nameIs } from './bytes.ts';
import { ChunkedScanner, LengthCounter, type BodyScanner, type ChunkedLimits, type ScanResult } from './chunked.ts';

export type BodyFraming =
  | { type: 'none' }
  | { type: 'length'; length: number }
  | { type: 'chunked' }
  /** the body ends when the sender closes; the connection cannot be reused */
  | { type: 'close' };

/** Why the body length cannot be determined, and the status to answer with (502: bad upstream). */
export type FramingError = { error: string; status: 400 | 501 | 502 };

type Headers = readonly (readonly [string, string])[];

const NONE: BodyFraming = { type: 'none' };
const CHUNKED: BodyFraming = { type: 'chunked' };
const CLOSE: BodyFraming = { type: 'close' };

/** Transfer codings that may precede chunked in a request (IANA registry, RFC 9112 §7). */
const KNOWN_CODINGS = new Set(['chunked', 'gzip', 'x-gzip', 'deflate', 'compress', 'x-compress']);

/**
 * The body framing of a request (RFC 9112 §6.3 items 3, 4, 5, 6, 7): chunked, a length, or none.
 * `version` (optional) makes Transfer-Encoding in an HTTP/1.0 request an error.
 */
export function requestBodyFraming(headers: Headers, version?: '1.0' | '1.1'): BodyFraming | FramingError {
  const te = transferCodings(headers);
  const cl = contentLength(headers);
  if (te !== null) {
    if (cl !== null) return { error: 'both Transfer-Encoding and Content-Length (possible request smuggling)', status: 400 };
    if (version === '1.0') return { error: 'Transfer-Encoding in an HTTP/1.0 request', status: 400 };
    if (typeof te === 'string') return { error: te, status: 400 };
    for (const c of te) if (!KNOWN_CODINGS.has(c)) return { error: `transfer coding "${c}" is not implemented`, status: 501 };
    const bad = chunkedProblem(te);
    return bad === null ? CHUNKED : { error: bad, status: 400 };
  }
  if (typeof cl === 'string') return { error: cl, status: 400 };
  return cl === null ? NONE : { type: 'length', length: cl };
}

/**
 * The body framing of a response (RFC 9112 §6.3) to a request with `requestMethod`:
 * HEAD, 1xx (101 included), 204 and 304 have none; 2xx to CONNECT is close-delimited; chunked
 * last → chunked, other codings → close-delimited; Content-Length → length; else close-delimited.
 * `version` (optional) makes Transfer-Encoding in an HTTP/1.0 response an error.
 */
export function responseBodyFraming(
  requestMethod: string,
  status: number,
  headers: Headers,
  version?: '1.0' | '1.1',
): BodyFraming | FramingError {
  if (requestMethod === 'HEAD' || status < 200 || status === 204 || status === 304) return NONE;
  if (requestMethod === 'CONNECT' && status < 300) return CLOSE;
  const te = transferCodings(headers);
  const cl = contentLength(headers);
  if (te !== null) {
    if (cl !== null) return { error: 'upstream sent both Transfer-Encoding and Content-Length', status: 502 };
    if (version === '1.0') return { error: 'Transfer-Encoding in an HTTP/1.0 response', status: 502 };
    if (typeof te === 'string') return { error: te, status: 502 };
    if (te.length === 0 || te[te.length - 1] !== 'chunked') return CLOSE;
    const bad = chunkedProblem(te);
    return bad === null ? CHUNKED : { error: bad, status: 502 };
  }
  if (typeof cl === 'string') return { error: cl, status: 502 };
  return cl === null ? CLOSE : { type: 'length', length: cl };
}

export function isFramingError(f: BodyFraming | FramingError): f is FramingError {
  return 'error' in f;
}

/** The lowercased codings of all Transfer-Encoding fields (parameters dropped), null if none, or an error. */
function transferCodings(headers: Headers): string[] | string | null {
  let out: string[] | null = null;
  for (let k = 0; k < headers.length; k++) {
    const h = headers[k]; // indexed, not destructured: QuickJS destructures through an iterator
    if (h[0].length !== 17 || !nameIs(h[0], 'transfer-encoding')) continue;
    const v = h[1];
    out ??= [];
    const start = out.length;
    listElements(v, out);
    for (let j = start; j < out.length; j++) {
      let c = out[j];
      const semi = c.indexOf(';');
      // OWS before the parameters is spaces and tabs only (RFC 9110 §5.6.3), not any Unicode space.
      if (semi >= 0) c = c.slice(0, semi).replace(/[ \t]+$/, '');
      if (!isToken(c)) return `bad transfer coding "${out[j]}"`;
      out[j] = c.toLowerCase();
    }
  }
  return out;
}

/** null when chunked is the last coding and appears once, else the problem. */
function chunkedProblem(codings: string[]): string | null {
  const n = codings.length;
  if (n === 0 || codings[n - 1] !== 'chunked') return 'chunked is not the final transfer coding';
  for (let k = 0; k < n - 1; k++) if (codings[k] === 'chunked') return 'chunked applied more than once';
  return null;
}

/** The Content-Length (RFC 9110 §8.6): null if absent, the number, or an error. */
function contentLength(headers: Headers): number | string | null {
  let value = -1;
  for (let k = 0; k < headers.length; k++) {
    const h = headers[k];
    if (h[0].length !== 14 || !nameIs(h[0], 'content-length')) continue;
    const v = h[1];
    let i = 0;
    const len = v.length;
    for (;;) {
      while (i < len && (v.charCodeAt(i) === 0x20 || v.charCodeAt(i) === 0x09)) i++;
      let x = 0;
      const d0 = i;
      for (; i < len; i++) {
        const c = v.charCodeAt(i);
        if (c < 0x30 || c > 0x39) break;
        x = x * 10 + (c - 0x30);
        if (x > Number.MAX_SAFE_INTEGER) return `Content-Length "${v}" is too large`;
      }
      if (i === d0) return `invalid Content-Length "${v}"`;
      while (i < len && (v.charCodeAt(i) === 0x20 || v.charCodeAt(i) === 0x09)) i++;
      if (value >= 0 && x !== value) return `conflicting Content-Length values "${v}"`;
      value = x;
      if (i === len) break;
      if (v.charCodeAt(i) !== 0x2c) return `invalid Content-Length "${v}"`;
      i++;
    }
  }
  return value < 0 ? null : value;
}

/** Lowercased tokens of all Connection fields (RFC 9110 §7.6.1). */
export function connectionTokens(headers: Headers): Set<string> {
  const out = new Set<string>();
  for (let k = 0; k < headers.length; k++) {
    const h = headers[k];
    if (h[0].length !== 10 || !nameIs(h[0], 'connection')) continue;
    const tokens = listElements(h[1]);
    for (let j = 0; j < tokens.length; j++) out.add(tokens[j].toLowerCase());
  }
  return out;
}

/**
 * Whether the sender of a message wants the connection kept open after it (RFC 9112 §9.3):
 * HTTP/1.1 unless "close"; HTTP/1.0 only with "keep-alive" (and no "close").
 */
export function wantsKeepAlive(version: '1.0' | '1.1', headers: Headers): boolean {
  const t = connectionTokens(headers);
  if (t.has('close')) return false;
  return version === '1.1' || t.has('keep-alive');
}

/**
 * A protocol upgrade request (RFC 9110 §7.8): Connection lists "upgrade" and an Upgrade field
 * is present. With `version` '1.0' it is never one (a server MUST ignore Upgrade in HTTP/1.0).
 */
export function isUpgradeRequest(headers: Headers, version?: '1.0' | '1.1'): boolean {
  if (version === '1.0' || !connectionTokens(headers).has('upgrade')) return false;
  for (let k = 0; k < headers.length; k++) {
    const h = headers[k];
    if (h[0].length === 7 && nameIs(h[0], 'upgrade') && h[1] !== '') return true;
  }
  return false;
}

/** Expect: 100-continue (RFC 9110 §10.1.1), case-insensitive, in any Expect field. */
export function expectsContinue(headers: Headers): boolean {
  for (let k = 0; k < headers.length; k++) {
    const h = headers[k];
    if (h[0].length !== 6 || !nameIs(h[0], 'expect')) continue;
    const elements = listElements(h[1]);
    for (let j = 0; j < elements.length; j++) if (elements[j].toLowerCase() === '100-continue') return true;
  }
  return false;
}

/** Reads a close-delimited body: every byte belongs to it; the end is the sender's EOF. */
export class UntilCloseScanner implements BodyScanner {
  scan(buf: Uint8Array, from = 0): ScanResult {
    return { status: 'more', consumed: from > 0 ? Math.max(0, buf.length - from) : buf.length };
  }
}

/**
 * A scanner for a body with this framing: none → done at once, length → LengthCounter,
 * chunked → ChunkedScanner, close → never done (EOF ends it).
 */
export function bodyScanner(framing: BodyFraming, limits?: Partial<ChunkedLimits>): BodyScanner {
  switch (framing.type) {
    case 'none':
      return new LengthCounter(0);
    case 'length':
      return new LengthCounter(framing.length);
    case 'chunked':
      return new ChunkedScanner(limits);
    case 'close':
      return new UntilCloseScanner();
  }
}
