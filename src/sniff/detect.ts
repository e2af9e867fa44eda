// Protocol detection over the first bytes of a client stream: runs every sniffer on the same buffer.

import { parseHttp1Request, type HttpRequestHead } from './http1.ts';
import { parseHttp2Preface } from './http2.ts';
import { parseSshBanner, type SshBanner } from './ssh.ts';
import { parseClientHello, type ClientHello } from './tls.ts';
import { more, ok, type SniffError, type SniffResult } from './types.ts';

export type Sniffed =
  | { protocol: 'tls'; hello: ClientHello }
  | { protocol: 'http'; head: HttpRequestHead }
  | { protocol: 'http2' }
  | { protocol: 'ssh'; banner: SshBanner }
  /** none of the sniffers recognised the bytes */
  | { protocol: 'opaque' };

/**
 * ok when one sniffer recognises the bytes (or none can: opaque), more while any still might,
 * else error when the bytes claim a protocol but break it (e.g. a malformed ClientHello) or exceed
 * its cap. A prefix of a message therefore gives more or the whole message's result.
 */
export function detect(buf: Uint8Array, maxBytes: number): SniffResult<Sniffed> {
  const results: [SniffResult<unknown>, (v: never) => Sniffed][] = [
    [parseClientHello(buf, maxBytes), (hello: ClientHello) => ({ protocol: 'tls', hello })],
    [parseHttp2Preface(buf), () => ({ protocol: 'http2' })],
    [parseSshBanner(buf), (banner: SshBanner) => ({ protocol: 'ssh', banner })],
    [parseHttp1Request(buf), (head: HttpRequestHead) => ({ protocol: 'http', head })],
  ];
  let waiting = false;
  let claimed: SniffError | null = null;
  for (const [r, wrap] of results) {
    if (r.status === 'ok') return ok(wrap(r.value as never), r.length);
    if (r.status === 'more') waiting = true;
    else if (r.error.code !== 'not-this-protocol') claimed ??= r.error;
  }
  // A sniffer still waiting wins over another's error: the first bytes of an HTTP/2 preface are a
  // malformed HTTP/1 request line until the preface is whole (so the result only changes once).
  if (waiting) return more;
  return claimed ? { status: 'error', error: claimed } : ok({ protocol: 'opaque' }, 0);
}
