// Incremental scanners that find where a message body ends while its bytes are forwarded
// unchanged: ChunkedScanner for the chunked transfer coding (RFC 9112 §7.1), LengthCounter for a
// Content-Length body. Pure and allocation-light: state lives in a few numbers, chunk data is
// skipped in one step, only one small result object is made per call, nothing is decoded.
//
// Grammar (RFC 9112 §7.1, with the line-end leniency of §2.2):
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-size   = 1*HEXDIG                 (≤ 15 digits and ≤ 2^53 - 1 here)
//   last-chunk   = 1*("0") [ chunk-ext ] CRLF
//   chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-val = token / quoted-string
//   trailer-section = *( field-line CRLF )
// A bare LF is accepted wherever CRLF is expected; a bare CR is an error. Whitespace after the
// size or an extension must lead to ';' (no trailing whitespace before the line end). Trailer
// lines follow the header-field rules (token name directly followed by ':', no obs-fold, no
// control bytes but HTAB in values).

import { SniffError } from '../sniff/types.ts';
import { HEX as HEX_TABLE, TCHAR as TCHAR_TABLE } from './bytes.ts';

// Module-local copies: an imported binding may be a getter under some loaders (tsx's CJS interop),
// which costs a call per byte in the scan loop.
const HEX = HEX_TABLE;
const TCHAR = TCHAR_TABLE;
const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const SEMI = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

export type ScanResult =
  | { status: 'more'; consumed: number }
  | { status: 'done'; consumed: number }
  | { status: 'error'; error: SniffError };

/** What every body scanner offers: feed bytes, learn how many belong to the body. */
export interface BodyScanner {
  /**
   * Scans `buf` from `from` (default 0). `consumed` counts the bytes of `buf` from `from` on that
   * belong to the body; on 'done' the bytes after them belong to the next message. Each byte must
   * be fed exactly once. After 'done' a call returns 'done' with 0; after 'error' the same error.
   */
  scan(buf: Uint8Array, from?: number): ScanResult;
}

export interface ChunkedLimits {
  /** bytes of one chunk-size line, extensions and line end included */
  maxChunkLine: number;
  /** bytes of the trailer section, the final empty line included */
  maxTrailerBytes: number;
}

export const defaultChunkedLimits: ChunkedLimits = { maxChunkLine: 4096, maxTrailerBytes: 16384 };

/** Largest chunk size accepted, and the most hex digits in a size. */
const MAX_SIZE = Number.MAX_SAFE_INTEGER;
const MAX_SIZE_DIGITS = 15;

// States. The chunk-size line states come first, so `st <= LAST_LINE_STATE` tests for them.
const SIZE = 0; // in the hex digits
const EXT_START = 1; // after the size or an extension value: SP/HT, ';', or the line end
const EXT_WS = 2; // whitespace after the size or a value; must lead to ';'
const EXT_NAME_PRE = 3; // after ';', BWS then a token
const EXT_NAME = 4;
const EXT_NAME_WS = 5; // whitespace after a name: '=' or ';'
const EXT_VAL_PRE = 6; // after '=', BWS then a token or a quoted string
const EXT_TOKEN = 7;
const EXT_QUOTED = 8;
const EXT_QUOTED_PAIR = 9; // after '\' in a quoted string
const LINE_CR = 10; // CR seen at the end of the chunk-size line
const LAST_LINE_STATE = LINE_CR;
const DATA = 11; // in chunk data, `remaining` bytes to go
const DATA_END = 12; // after chunk data: CRLF (or LF)
const DATA_CR = 13;
const TRAILER_START = 14; // at the start of a trailer line or of the final empty line
const TRAILER_NAME = 15;
const TRAILER_VALUE = 16;
const TRAILER_CR = 17; // CR at the end of a trailer field line
const FINAL_CR = 18; // CR of the final empty line
const DONE = 19;
const FAILED = 20;

export class ChunkedScanner implements BodyScanner {
  private readonly maxChunkLine: number;
  private readonly maxTrailerBytes: number;
  private st = SIZE;
  /** value of the chunk size so far, then the data bytes still to skip */
  private remaining = 0;
  private digits = 0;
  /** bytes of the current chunk-size line, or of the trailer section, so far */
  private count = 0;
  /** body bytes consumed in earlier calls (for error offsets) */
  private base = 0;
  private error: SniffError | null = null;

  constructor(limits: Partial<ChunkedLimits> = {}) {
    this.maxChunkLine = limits.maxChunkLine ?? defaultChunkedLimits.maxChunkLine;
    this.maxTrailerBytes = limits.maxTrailerBytes ?? defaultChunkedLimits.maxTrailerBytes;
  }

  /** Ready for the next body, same limits. */
  reset(): void {
    this.st = SIZE;
    this.remaining = this.digits = this.count = this.base = 0;
    this.error = null;
  }

  /** Bytes of the body scanned so far. */
  get bytesScanned(): number {
    return this.base;
  }

  get done(): boolean {
    return this.st === DONE;
  }

  scan(buf: Uint8Array, from = 0): ScanResult {
    if (this.st === FAILED) return { status: 'error', error: this.error! };
    if (this.st === DONE) return { status: 'done', consumed: 0 };
    const n = buf.length;
    const start = from > 0 ? (from < n ? Math.floor(from) : n) : 0;
    let i = start;
    let st = this.st;
    let count = this.count;
    let remaining = this.remaining;
    const maxLine = this.maxChunkLine;
    const maxTrailer = this.maxTrailerBytes;

    while (i < n) {
      if (st === DATA) {
        const avail = n - i;
        if (remaining > avail) {
          remaining -= avail;
          i = n;
          break;
        }
        i += remaining;
        remaining = 0;
        st = DATA_END;
        continue;
      }
      const c = buf[i];
      if (st <= LAST_LINE_STATE) {
        if (++count > maxLine) return this.fail(i - start, 'too-large', `chunk-size line exceeds ${maxLine} bytes`, 'chunk-size');
      } else if (st >= TRAILER_START) {
        if (++count > maxTrailer) return this.fail(i - start, 'too-large', `trailer section exceeds ${maxTrailer} bytes`, 'trailer');
      }
      // QuickJS tests the cases in order: the states every chunk passes through come first
      switch (st) {
        case SIZE: {
          const d = HEX[c];
          if (d >= 0) {
            if (++this.digits > MAX_SIZE_DIGITS)
              return this.fail(i - start, 'too-large', `chunk size has more than ${MAX_SIZE_DIGITS} hex digits`, 'chunk-size');
            remaining = remaining * 16 + d;
            if (remaining > MAX_SIZE) return this.fail(i - start, 'too-large', 'chunk size exceeds 2^53 - 1', 'chunk-size');
            break;
          }
          if (this.digits === 0) return this.fail(i - start, 'malformed', 'expected a hex chunk size', 'chunk-size');
          st = EXT_START;
          count--; // the same byte again, in EXT_START, counted once
          continue;
        }
        case LINE_CR:
          if (c !== LF) return this.fail(i - start, 'malformed', 'bare CR in chunk-size line', 'chunk-size');
          st = remaining > 0 ? DATA : TRAILER_START;
          count = 0;
          break;
        case DATA_END:
          if (c === CR) st = DATA_CR;
          else if (c === LF) {
            st = SIZE;
            count = this.digits = 0;
          } else return this.fail(i - start, 'malformed', 'chunk data not followed by CRLF', 'chunk-data');
          break;
        case DATA_CR:
          if (c !== LF) return this.fail(i - start, 'malformed', 'chunk data not followed by CRLF', 'chunk-data');
          st = SIZE;
          count = this.digits = 0;
          break;
        case EXT_START:
          if (c === SEMI) st = EXT_NAME_PRE;
          else if (c === SP || c === HT) st = EXT_WS;
          else if (c === CR) st = LINE_CR;
          else if (c === LF) {
            st = remaining > 0 ? DATA : TRAILER_START;
            count = 0;
          } else return this.fail(i - start, 'malformed', 'bad byte after chunk size', 'chunk-size');
          break;
        case EXT_WS:
          if (c === SEMI) st = EXT_NAME_PRE;
          else if (c !== SP && c !== HT) return this.fail(i - start, 'malformed', "whitespace in a chunk line not followed by ';'", 'chunk-ext');
          break;
        case EXT_NAME_PRE:
          if (TCHAR[c]) st = EXT_NAME;
          else if (c !== SP && c !== HT) return this.fail(i - start, 'malformed', 'expected a chunk extension name', 'chunk-ext');
          break;
        case EXT_NAME:
          if (TCHAR[c]) break;
          if (c === EQUALS) st = EXT_VAL_PRE;
          else if (c === SEMI) st = EXT_NAME_PRE;
          else if (c === SP || c === HT) st = EXT_NAME_WS;
          else if (c === CR) st = LINE_CR;
          else if (c === LF) {
            st = remaining > 0 ? DATA : TRAILER_START;
            count = 0;
          } else return this.fail(i - start, 'malformed', 'bad byte in chunk extension name', 'chunk-ext');
          break;
        case EXT_NAME_WS:
          if (c === EQUALS) st = EXT_VAL_PRE;
          else if (c === SEMI) st = EXT_NAME_PRE;
          else if (c !== SP && c !== HT) return this.fail(i - start, 'malformed', "expected '=' or ';' in chunk extension", 'chunk-ext');
          break;
        case EXT_VAL_PRE:
          if (TCHAR[c]) st = EXT_TOKEN;
          else if (c === DQUOTE) st = EXT_QUOTED;
          else if (c !== SP && c !== HT) return this.fail(i - start, 'malformed', 'expected a chunk extension value', 'chunk-ext');
          break;
        case EXT_TOKEN:
          if (TCHAR[c]) break;
          st = EXT_START;
          count--; // the same byte again, in EXT_START, counted once
          continue;
        case EXT_QUOTED:
          // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
          if (c === DQUOTE) st = EXT_START;
          else if (c === BACKSLASH) st = EXT_QUOTED_PAIR;
          else if ((c < SP && c !== HT) || c === 0x7f) return this.fail(i - start, 'malformed', 'bad byte in quoted chunk extension', 'chunk-ext');
          break;
        case EXT_QUOTED_PAIR:
          if ((c < SP && c !== HT) || c === 0x7f) return this.fail(i - start, 'malformed', 'bad byte in quoted-pair', 'chunk-ext');
          st = EXT_QUOTED;
          break;
        case TRAILER_START:
          if (TCHAR[c]) st = TRAILER_NAME;
          else if (c === CR) st = FINAL_CR;
          else if (c === LF) st = DONE;
          else if (c === SP || c === HT) return this.fail(i - start, 'malformed', 'obsolete line folding in trailer', 'trailer');
          else return this.fail(i - start, 'malformed', 'bad byte in trailer field name', 'trailer');
          break;
        case TRAILER_NAME:
          if (c === COLON) st = TRAILER_VALUE;
          else if (!TCHAR[c]) return this.fail(i - start, 'malformed', 'bad byte in trailer field name', 'trailer');
          break;
        case TRAILER_VALUE:
          if (c === CR) st = TRAILER_CR;
          else if (c === LF) st = TRAILER_START;
          else if ((c < SP && c !== HT) || c === 0x7f) return this.fail(i - start, 'malformed', 'bad byte in trailer field value', 'trailer');
          break;
        case TRAILER_CR:
          if (c !== LF) return this.fail(i - start, 'malformed', 'bare CR in trailer', 'trailer');
          st = TRAILER_START;
          break;
        case FINAL_CR:
          if (c !== LF) return this.fail(i - start, 'malformed', 'bare CR at the end of the chunked body', 'trailer');
          st = DONE;
          break;
      }
      i++;
      if (st === DONE) break;
    }
    this.st = st;
    this.count = count;
    this.remaining = remaining;
    const consumed = i - start;
    this.base += consumed;
    return st === DONE ? { status: 'done', consumed } : { status: 'more', consumed };
  }

  /** Records an error found `at` bytes into this call's input (the offset covers earlier calls). */
  private fail(at: number, code: 'malformed' | 'too-large', message: string, field: string): ScanResult {
    const error = new SniffError(code, this.base + at, message, field);
    this.error = error;
    this.st = FAILED;
    return { status: 'error', error };
  }
}

/** Counts off a Content-Length body: 'done' once `length` bytes have been fed. */
export class LengthCounter implements BodyScanner {
  private left: number;

  constructor(readonly length: number) {
    this.left = length > 0 ? length : 0;
  }

  /** Bytes still to come. */
  get remaining(): number {
    return this.left;
  }

  scan(buf: Uint8Array, from = 0): ScanResult {
    const avail = from > 0 ? Math.max(0, buf.length - from) : buf.length;
    if (this.left === 0) return { status: 'done', consumed: 0 };
    const take = avail < this.left ? avail : this.left;
    this.left -= take;
    return this.left === 0 ? { status: 'done', consumed: take } : { status: 'more', consumed: take };
  }
}
