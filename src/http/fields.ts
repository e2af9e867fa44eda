// The field section of an HTTP/1.x message head (RFC 9112 §5), shared by the response-head
// parser. Same rules as the request parser in src/sniff/http1.ts: token names directly followed
// by ':', OWS trimmed around values, obs-fold and control bytes (but HTAB) refused, obs-text kept
// as latin1, CRLF or a bare LF (RFC 9112 §2.2) ends a line, a bare CR is an error.

import { fail, type SniffError } from '../sniff/types.ts';
import { TCHAR as TCHAR_TABLE, hasForbiddenControl, latin1Decode, latin1DecodeAll } from './bytes.ts';

// Module-local copies: an imported binding may be a getter under some loaders (tsx's CJS interop),
// which costs a call per byte in these loops.
const TCHAR = TCHAR_TABLE;
const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;

/** A parse step that did not finish: an error, or "need bytes from index `at` on". */
export type Stop = { status: 'more'; at: number } | { status: 'error'; error: SniffError };

/**
 * At a line terminator (CRLF or bare LF): the index after it. Otherwise 'more' (with the index
 * that was wanted) or an error naming `field`.
 */
export function lineEnd(buf: Uint8Array, i: number, avail: number, field: string): number | Stop {
  if (i >= avail) return { status: 'more', at: i };
  if (buf[i] === LF) return i + 1;
  if (buf[i] !== CR) return fail('malformed', i, 'expected end of line', field);
  if (i + 1 >= avail) return { status: 'more', at: i + 1 };
  if (buf[i + 1] !== LF) return fail('malformed', i, 'bare CR', field);
  return i + 2;
}

/**
 * Parses header field lines from `i` up to and including the empty line that ends the section.
 * Reads only below `avail`. Returns the fields and the index after the section.
 */
export function parseFieldSection(
  buf: Uint8Array,
  i: number,
  avail: number,
  maxFields: number,
  field = 'headers',
): { headers: [string, string][]; end: number } | Stop {
  const headers: [string, string][] = [];
  for (;;) {
    const lineStart = i;
    if (i >= avail) return { status: 'more', at: i };
    let c = buf[i];
    if (c === CR || c === LF) {
      const r = lineEnd(buf, i, avail, field);
      if (typeof r !== 'number') return r;
      return { headers, end: r };
    }
    if (c === SP || c === HT) return fail('malformed', i, 'obsolete line folding', field);
    if (headers.length >= maxFields) return fail('too-large', i, `more than ${maxFields} header fields`, field);
    for (; ; i++) {
      if (i >= avail) return { status: 'more', at: i };
      c = buf[i];
      if (c === COLON && i > lineStart) break;
      if (!TCHAR[c]) return fail('malformed', i, 'bad byte in header name', field);
    }
    const name = latin1Decode(buf, lineStart, i);
    let vStart = ++i;
    for (; ; i++) {
      if (i >= avail) return { status: 'more', at: i };
      c = buf[i];
      if (c === CR || c === LF) break;
      // field-vchar / obs-text / SP / HTAB; other controls are refused
      if ((c < SP && c !== HT) || c === 0x7f) return fail('malformed', i, 'bad byte in header value', field);
    }
    let vEnd = i;
    while (vStart < vEnd && (buf[vStart] === SP || buf[vStart] === HT)) vStart++;
    while (vEnd > vStart && (buf[vEnd - 1] === SP || buf[vEnd - 1] === HT)) vEnd--;
    headers.push([name, latin1Decode(buf, vStart, vEnd)]);
    const r = lineEnd(buf, i, avail, field);
    if (typeof r !== 'number') return r;
    i = r;
  }
}

// --- fast path
//
// scanPlainHead handles the common head with built-in calls (see NATIVE_FAST in bytes.ts):
// Uint8Array.indexOf hops to each line end and colon, one memchr per refused control byte, one
// latin1 decode of the whole head, then a slice per name and value. Whatever it does not recognise
// as plainly valid (a bare LF or CR, obs-fold, a control byte, a missing colon, a name that is not
// a token, a head not complete below `avail`, too many fields) makes it return null, and the caller
// runs its exact byte parser, so results, 'more' and error offsets never change.

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Strings already seen to be tokens; bounded, so odd names cannot grow it without limit. */
const TOKEN_CACHE: Record<string, true> = Object.create(null);
let tokenCacheSize = 0;
const TOKEN_CACHE_MAX = 512;

/** True when `s` is a non-empty RFC 9110 token (isToken, with a cache in front of a regex). */
export function isTokenCached(s: string): boolean {
  if (TOKEN_CACHE[s] === true) return true;
  if (!TOKEN_RE.test(s)) return false;
  if (tokenCacheSize < TOKEN_CACHE_MAX) {
    TOKEN_CACHE[s] = true;
    tokenCacheSize++;
  }
  return true;
}

/** Per field line found by scanPlainHead, the index of its CR (reused between calls). */
const LINE_CR: number[] = [];
/**
 * Per field line index, the last name found there to be a token: clients and servers send the
 * same names in the same order, so the name is usually found by one byte test (its colon) and
 * one comparison of two short strings, cheaper than a colon search and a lookup by a new string
 * (QuickJS interns it first). At most maxFields entries of names.
 */
const NAME_SLOT: string[] = [];

export interface PlainHead {
  /** latin1 text of the head, its final empty line included, and nothing after it */
  text: string;
  /** bytes of the head */
  end: number;
  /** bytes of the first line, without its CRLF */
  firstLine: number;
  headers: [string, string][];
  /** index in `headers` of the only Host field; -1 when there is none, -2 when there are several */
  host: number;
}

/**
 * The fast path shared by the request and response parsers. Returns the head when it is complete
 * below `avail`, every line ends in CRLF, there is no bare CR and no control byte but HTAB, the
 * first line is not empty, and there are at most `maxFields` field lines, each a token directly
 * followed by ':'. Fields are as parseFieldSection makes them (values OWS-trimmed, latin1). The first
 * line is the caller's to check; its bytes are known to hold no control byte but HTAB.
 * null means "not this plain case": the caller must run its exact parser.
 */
export function scanPlainHead(buf: Uint8Array, avail: number, maxFields: number): PlainHead | null {
  const firstLf = buf.indexOf(LF);
  if (firstLf < 2 || firstLf >= avail || buf.indexOf(CR) !== firstLf - 1) return null;
  const len = buf.length;
  let end = len;
  // Field lines and their CRs when the line ends are found before the fields are read; -1 while
  // the whole buffer is taken for the head (its usual shape for a request without a body: it
  // ends in the empty line), then the line ends are found while the fields are read.
  let n = -1;
  if (avail !== len || buf[len - 1] !== LF || buf[len - 2] !== CR || buf[len - 3] !== LF || buf[len - 4] !== CR) {
    // Line ends: each LF right after a CR, up to the empty line, all below `avail`.
    let p = firstLf;
    n = 0;
    for (;;) {
      const q = p + 1;
      if (q + 1 >= avail) return null;
      if (buf[q] === CR) {
        if (buf[q + 1] !== LF) return null;
        break;
      }
      if (n >= maxFields) return null;
      p = buf.indexOf(LF, q);
      // also refuses an empty line ended by a bare LF (p === q: buf[q - 1] is the previous LF)
      if (p < 0 || p >= avail || buf[p - 1] !== CR) return null;
      LINE_CR[n++] = p - 1;
    }
    end = p + 3;
  }
  const head = end === len ? buf : buf.subarray(0, end);
  if (hasForbiddenControl(head)) return null;
  const text = latin1DecodeAll(head);

  const headers: [string, string][] = [];
  let host = -1;
  for (let k = 0, q = firstLf + 1; ; k++) {
    let cr: number;
    if (n >= 0) {
      if (k === n) break;
      cr = LINE_CR[k];
    } else {
      if (buf[q] === CR) {
        if (buf[q + 1] !== LF) return null;
        end = q + 2; // usually len; earlier when the buffer holds more after an empty line
        break;
      }
      if (k >= maxFields) return null;
      const p = buf.indexOf(LF, q);
      if (p < 0 || buf[p - 1] !== CR) return null; // as above
      cr = p - 1;
    }
    // The name: usually the one seen on this line before (then a colon right after it: a token
    // has none, so that is the line's first), else the bytes up to the first colon, if a token.
    const seen = NAME_SLOT[k];
    let colon = seen === undefined ? -1 : q + seen.length;
    let name = '';
    if (colon >= cr || buf[colon] !== COLON || (name = text.slice(q, colon)) !== seen) {
      colon = buf.indexOf(COLON, q);
      if (colon <= q || colon > cr) return null;
      name = text.slice(q, colon);
      if (!isTokenCached(name)) return null; // a CR in the name fails here too
      NAME_SLOT[k] = name;
    }
    if (buf.indexOf(CR, colon) !== cr) return null; // a bare CR in the value
    if (colon - q === 4 && (name === 'Host' || name === 'host' || name.toLowerCase() === 'host')) host = host === -1 ? k : -2;
    // the value without OWS around it; usually exactly one SP after the colon
    let a = colon + 1;
    let b = cr;
    if (buf[a] === SP && buf[a + 1] > SP && buf[b - 1] > SP) a++;
    else {
      let c = buf[a];
      while (a < b && (c === SP || c === HT)) c = buf[++a];
      c = buf[b - 1];
      while (b > a && (c === SP || c === HT)) c = buf[--b - 1];
    }
    headers.push([name, text.slice(a, b)]);
    q = cr + 2;
  }
  // The whole buffer was decoded when it ended in an empty line; when that line was not the
  // head's (pipelined requests), the text is cut to the head. Only then: one slice.
  return { text: end === text.length ? text : text.slice(0, end), end, firstLine: firstLf - 1, headers, host };
}
