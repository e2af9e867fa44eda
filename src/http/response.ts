// HTTP/1.x response-head parser (RFC 9112 §4, §5): status line and header fields, with the same
// size caps and strictness as the request parser (src/sniff/http1.ts). Pure: bytes in, a head
// (and its length in bytes, including the final CRLF) or 'more' or a typed error out.
//
// Choices where the RFCs leave room:
// - A status line without the SP before an empty reason ("HTTP/1.1 200\r\n") is accepted
//   (common in the wild; the reason phrase is meaningless to a client, RFC 9112 §4).
// - Only HTTP/1.0 and HTTP/1.1 are accepted; a response that does not start with "HTTP/" is
//   'not-this-protocol' (e.g. an HTTP/0.9 reply), other versions are 'malformed' ('version').
// - Whitespace between a field name and ':' and obs-fold are refused rather than repaired
//   (RFC 9112 §5.1/§5.2 allow a proxy to discard such a message with a 502).
// - No empty lines are skipped before the status line.

import { fail, more, ok, type SniffResult } from '../sniff/types.ts';
import { NATIVE_FAST, latin1Decode } from './bytes.ts';
import { lineEnd, parseFieldSection, scanPlainHead } from './fields.ts';

export interface ResponseHead {
  version: '1.0' | '1.1';
  status: number;
  reason: string;
  headers: [name: string, value: string][];
}

export interface ResponseLimits {
  maxHeadBytes: number;
  maxHeaders: number;
}

export const defaultResponseLimits: ResponseLimits = { maxHeadBytes: 16384, maxHeaders: 100 };

const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e]; // "HTTP/1."

export function parseResponseHead(
  buf: Uint8Array,
  limits: ResponseLimits = defaultResponseLimits,
): SniffResult<ResponseHead> {
  return (NATIVE_FAST && parseResponseHeadFast(buf, limits)) || parseResponseHeadExact(buf, limits);
}

/**
 * The common case with built-in calls (see scanPlainHead): a complete head, CRLF line ends,
 * "HTTP/1.x NNN[ reason]". null when the exact parser must decide; otherwise the same result.
 */
export function parseResponseHeadFast(
  buf: Uint8Array,
  limits: ResponseLimits = defaultResponseLimits,
): SniffResult<ResponseHead> | null {
  const h = scanPlainHead(buf, buf.length < limits.maxHeadBytes ? buf.length : limits.maxHeadBytes, limits.maxHeaders);
  if (h === null) return null;
  const { text, firstLine } = h;
  // "HTTP/1.x NNN", then the end or SP reason (whose bytes hold no control byte but HTAB)
  if (firstLine < 12 || text.charCodeAt(8) !== SP || !text.startsWith('HTTP/1.')) return null;
  const v = text.charCodeAt(7);
  if (v !== 0x30 && v !== 0x31) return null;
  const d0 = text.charCodeAt(9) - 0x30;
  const d1 = text.charCodeAt(10) - 0x30;
  const d2 = text.charCodeAt(11) - 0x30;
  if (d0 < 1 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return null;
  let reason = '';
  if (firstLine > 12) {
    if (text.charCodeAt(12) !== SP) return null;
    reason = text.slice(13, firstLine);
  }
  return ok({ version: v === 0x31 ? '1.1' : '1.0', status: d0 * 100 + d1 * 10 + d2, reason, headers: h.headers }, h.end);
}

/** The exact byte-by-byte parser: the reference for parseResponseHead and its fallback. */
export function parseResponseHeadExact(
  buf: Uint8Array,
  limits: ResponseLimits = defaultResponseLimits,
): SniffResult<ResponseHead> {
  const { maxHeadBytes, maxHeaders } = limits;
  const avail = Math.min(buf.length, maxHeadBytes);
  const stop = (i: number) =>
    i < buf.length ? fail('too-large', i, `response head exceeds ${maxHeadBytes} bytes`, 'headers') : more;

  // --- "HTTP/1.0" or "HTTP/1.1"
  let i = 0;
  for (; i < PREFIX.length; i++) {
    if (i >= avail) return stop(i);
    if (buf[i] !== PREFIX[i])
      return i < 5
        ? fail('not-this-protocol', i, 'not an HTTP response', 'version')
        : fail('malformed', i, 'unsupported HTTP version', 'version');
  }
  if (i >= avail) return stop(i);
  if (buf[i] !== 0x30 && buf[i] !== 0x31) return fail('malformed', i, 'unsupported HTTP version', 'version');
  const version = buf[i] === 0x31 ? '1.1' : '1.0';
  i++;
  if (i >= avail) return stop(i);
  if (buf[i] !== SP) {
    const c = buf[i];
    return c >= 0x30 && c <= 0x39
      ? fail('malformed', i, 'unsupported HTTP version', 'version')
      : fail('malformed', i, 'expected SP after the HTTP version', 'status-line');
  }
  i++;

  // --- status code: exactly three digits, 100..999
  let status = 0;
  const sStart = i;
  for (; i < sStart + 3; i++) {
    if (i >= avail) return stop(i);
    const c = buf[i];
    if (c < 0x30 || c > 0x39) return fail('malformed', i, 'status code is not three digits', 'status-line');
    status = status * 10 + (c - 0x30);
  }
  if (status < 100) return fail('malformed', sStart, `status code ${status} is outside 100..999`, 'status-line');

  // --- [SP reason-phrase] line end
  if (i >= avail) return stop(i);
  let reason = '';
  if (buf[i] === SP) {
    const rStart = ++i;
    for (; ; i++) {
      if (i >= avail) return stop(i);
      const c = buf[i];
      if (c === CR || c === LF) break;
      if ((c < SP && c !== HT) || c === 0x7f) return fail('malformed', i, 'bad byte in reason phrase', 'status-line');
    }
    reason = latin1Decode(buf, rStart, i);
  } else if (buf[i] !== CR && buf[i] !== LF) {
    return fail('malformed', i, 'status code is not three digits', 'status-line');
  }
  const r = lineEnd(buf, i, avail, 'status-line');
  if (typeof r !== 'number') return r.status === 'more' ? stop(r.at) : r;

  // --- header fields, until the empty line
  const f = parseFieldSection(buf, r, avail, maxHeaders);
  if ('status' in f) return f.status === 'more' ? stop(f.at) : f;
  return ok({ version, status, reason, headers: f.headers }, f.end);
}

/** 1xx other than 101: an interim response, followed by another response head (RFC 9110 §15.2). */
export function isInterimStatus(status: number): boolean {
  return status >= 100 && status < 200 && status !== 101;
}
