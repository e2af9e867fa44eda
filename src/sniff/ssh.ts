// SSH client identification string (RFC 4253 §4.2):
//   SSH-protoversion-softwareversion [SP comments] CR LF   (at most 255 bytes)

import { fail, more, ok, type SniffResult } from './types.ts';

export interface SshBanner {
  protoVersion: string;
  software: string;
  comments: string | null;
}

const MAX_LINE = 255; // including the line end
const PREFIX = 'SSH-';
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const DASH = 0x2d;

export function parseSshBanner(buf: Uint8Array): SniffResult<SshBanner> {
  const n = Math.min(buf.length, PREFIX.length);
  for (let i = 0; i < n; i++)
    if (buf[i] !== PREFIX.charCodeAt(i)) return fail('not-this-protocol', i, 'not an SSH banner', 'banner');
  // Index of the first byte of `buf` beyond what the banner may use: 'more' or too-large.
  const stop = (i: number) =>
    i >= MAX_LINE ? fail('too-large', i, `SSH banner exceeds ${MAX_LINE} bytes`, 'banner') : more;
  const printable = (c: number) => c > SP && c < 0x7f;

  // protoversion: printable, no '-' (RFC 4253), ends at '-'
  let i = PREFIX.length;
  for (; ; i++) {
    if (i >= buf.length || i >= MAX_LINE) return stop(i);
    const c = buf[i];
    if (c === DASH && i > PREFIX.length) break;
    if (!printable(c) || c === DASH) return fail('malformed', i, 'bad protocol version', 'version');
  }
  const protoVersion = latin1(buf, PREFIX.length, i);

  // softwareversion: printable, ends at SP or the line end. '-' is tolerated because
  // real clients use it (e.g. "libssh-0.6.0") although the RFC forbids it.
  const sStart = ++i;
  for (; ; i++) {
    if (i >= buf.length || i >= MAX_LINE) return stop(i);
    const c = buf[i];
    if ((c === SP || c === CR || c === LF) && i > sStart) break;
    if (!printable(c)) return fail('malformed', i, 'bad software version', 'software');
  }
  const software = latin1(buf, sStart, i);

  // optional comments: anything up to the line end except control bytes
  let comments: string | null = null;
  if (buf[i] === SP) {
    const cStart = ++i;
    for (; ; i++) {
      if (i >= buf.length || i >= MAX_LINE) return stop(i);
      const c = buf[i];
      if (c === CR || c === LF) break;
      if (c < SP || c === 0x7f) return fail('malformed', i, 'bad byte in comments', 'comments');
    }
    if (i > cStart) comments = latin1(buf, cStart, i);
  }

  // line end: CR LF, or a bare LF
  if (buf[i] === CR) {
    i++;
    if (i >= buf.length || i >= MAX_LINE) return stop(i);
    if (buf[i] !== LF) return fail('malformed', i - 1, 'bare CR', 'banner');
  }
  return ok({ protoVersion, software, comments }, i + 1);
}

function latin1(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]);
  return s;
}
