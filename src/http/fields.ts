// The field section of an HTTP/1.x message head (RFC 9112 §5), shared by the response-head
// parser. Same rules as the request parser in src/sniff/http1.ts: token names directly followed
// by ':', OWS trimmed around values, obs-fold and control bytes (but HTAB) refused, obs-text kept
// as latin1, CRLF or a bare LF (RFC 9112 §2.2) ends a line, a bare CR is an error.

import { fail, type SniffError } from '../sniff/types.ts';
import { TCHAR as TCHAR_TABLE, latin1Decode } from './bytes.ts';

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
