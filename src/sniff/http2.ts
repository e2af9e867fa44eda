// HTTP/2 prior-knowledge connection preface (RFC 9113 §3.4): a fixed 24-byte string.

import { fail, more, ok, type SniffResult } from './types.ts';

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

export function parseHttp2Preface(buf: Uint8Array): SniffResult<{}> {
  const n = Math.min(buf.length, PREFACE.length);
  for (let i = 0; i < n; i++)
    if (buf[i] !== PREFACE.charCodeAt(i)) return fail('not-this-protocol', i, 'not the HTTP/2 preface', 'preface');
  return n < PREFACE.length ? more : ok({}, PREFACE.length);
}
