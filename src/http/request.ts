// The request side: the head parser is src/sniff/http1.ts (parseHttp1Request); this maps its
// errors to the status ugate answers with.

import type { SniffError } from '../sniff/types.ts';

/**
 * The response status for a request head that failed to parse: 414 for an over-long request
 * line, 431 for an oversized head or too many fields, 505 for an unsupported HTTP version, else
 * 400 (RFC 9110 §15.5.15, RFC 6585 §5, RFC 9110 §15.6.6).
 */
export function requestErrorStatus(error: SniffError): 400 | 414 | 431 | 505 {
  if (error.code === 'too-large') return error.field === 'request-line' ? 414 : 431;
  if (error.field === 'version') return 505;
  return 400;
}
