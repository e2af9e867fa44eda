// Byte-level helpers shared by the HTTP/1.x message code (src/http/*). Runtime-free: no Buffer,
// no TextDecoder('latin1') (QuickJS lacks it), no regular expressions in loops.

const SP = 0x20;
const HT = 0x09;

/** RFC 9110 tchar: "!#$%&'*+-.^_`|~" DIGIT ALPHA → 1 */
export const TCHAR = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = TCHAR[c + 0x20] = 1;
for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;

/** hex digit → value, others → -1 */
export const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) HEX[0x41 + c] = HEX[0x61 + c] = 10 + c;

const APPLY_CHUNK = 4096; // arguments per String.fromCharCode.apply call (stack-friendly)

/** Bytes [from, to) as a latin1 string; one string per call, not one per byte. */
export function latin1Decode(b: Uint8Array, from: number, to: number): string {
  const n = to - from;
  if (n <= 0) return '';
  if (n <= 16) {
    let s = '';
    for (let i = from; i < to; i++) s += String.fromCharCode(b[i]);
    return s;
  }
  if (n <= APPLY_CHUNK) return String.fromCharCode.apply(null, b.subarray(from, to) as unknown as number[]);
  let s = '';
  for (let p = from; p < to; p += APPLY_CHUNK)
    s += String.fromCharCode.apply(null, b.subarray(p, Math.min(to, p + APPLY_CHUNK)) as unknown as number[]);
  return s;
}

/** A string of code points ≤ 0xff as bytes (higher code points keep their low byte). */
export function latin1Encode(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** True when `s` is a non-empty RFC 9110 token. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || !TCHAR[c]) return false;
  }
  return true;
}

/** Case-insensitive comparison of a header name against an already-lowercased name. */
export function nameIs(name: string, lower: string): boolean {
  return name.length === lower.length && (name === lower || name.toLowerCase() === lower);
}

/** Splits a list-valued field (RFC 9110 §5.6.1) on commas, trims OWS, drops empty elements. */
export function listElements(value: string, out: string[] = []): string[] {
  // The common case, one element without OWS around it ("keep-alive", "chunked"), in one test.
  const len = value.length;
  if (len > 0 && value.indexOf(',') < 0) {
    const first = value.charCodeAt(0);
    const last = value.charCodeAt(len - 1);
    if (first !== SP && first !== HT && last !== SP && last !== HT) {
      out.push(value);
      return out;
    }
  }
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i === value.length || value.charCodeAt(i) === 0x2c) {
      let a = start;
      let b = i;
      while (a < b && isOws(value.charCodeAt(a))) a++;
      while (b > a && isOws(value.charCodeAt(b - 1))) b--;
      if (b > a) out.push(value.slice(a, b));
      start = i + 1;
    }
  }
  return out;
}

export function isOws(c: number): boolean {
  return c === SP || c === HT;
}

/** UTF-8 bytes of a string (lone surrogates → U+FFFD), without relying on TextEncoder. */
export function utf8Encode(s: string): Uint8Array {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) out[at++] = c;
    else if (c < 0x800) {
      out[at++] = 0xc0 | (c >> 6);
      out[at++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      out[at++] = 0xf0 | (c >> 18);
      out[at++] = 0x80 | ((c >> 12) & 0x3f);
      out[at++] = 0x80 | ((c >> 6) & 0x3f);
      out[at++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd; // lone surrogate
      out[at++] = 0xe0 | (c >> 12);
      out[at++] = 0x80 | ((c >> 6) & 0x3f);
      out[at++] = 0x80 | (c & 0x3f);
    }
  }
  return out;
}

// --- native helpers for the fast paths (src/http/fields.ts, head.ts, src/sniff/http1.ts)
//
// On an interpreter (QuickJS in txiki.js) a byte loop costs ~0.1-0.2 µs per byte, a built-in call
// ~0.1 µs whatever it scans: the fast paths trade byte loops for a few built-in calls. On V8 (Node)
// the JIT-compiled byte loops are faster than those calls, so there the exact code runs as before.

/** Use the fast paths: false on V8 (Node, Deno), true elsewhere (txiki.js / QuickJS). */
export const NATIVE_FAST: boolean = !(
  typeof process === 'object' &&
  process !== null &&
  typeof (process as { versions?: { v8?: unknown } }).versions?.v8 === 'string'
);

interface Base64Bytes {
  toBase64(): string;
}
const base64 =
  typeof (Uint8Array.prototype as Partial<Base64Bytes>).toBase64 === 'function' &&
  typeof (Uint8Array as { fromBase64?: unknown }).fromBase64 === 'function' &&
  typeof atob === 'function' &&
  typeof btoa === 'function';
const fromBase64 = base64 ? (Uint8Array as unknown as { fromBase64(s: string): Uint8Array }).fromBase64 : null;
const encoder: { encode(s: string): Uint8Array } | null =
  typeof (globalThis as { TextEncoder?: unknown }).TextEncoder === 'function' ? new TextEncoder() : null;

/**
 * All of `b` as a latin1 string, the same as latin1Decode(b, 0, b.length): atob(b.toBase64()) where
 * those exist (two native passes; atob makes one char per byte), else String.fromCharCode.apply.
 */
export function latin1DecodeAll(b: Uint8Array): string {
  if (base64) return atob((b as unknown as Base64Bytes).toBase64());
  return latin1Decode(b, 0, b.length);
}

/**
 * `s` as latin1 bytes (what latin1Encode gives) when that is done natively: any string with code
 * units ≤ 0xff via Uint8Array.fromBase64(btoa(s)), else (no base64 built-ins) an ASCII string via
 * TextEncoder. null when `s` cannot be handled so (the caller encodes it with a loop).
 */
export function latin1EncodeNative(s: string): Uint8Array | null {
  if (fromBase64 !== null) {
    let b64: string;
    try {
      b64 = btoa(s); // throws on a code unit > 0xff
    } catch {
      return null;
    }
    return fromBase64(b64);
  }
  return asciiEncodeNative(s);
}

/** `s` as bytes by TextEncoder when it is all ASCII (as many bytes as code units), else null. */
export function asciiEncodeNative(s: string): Uint8Array | null {
  if (encoder === null) return null;
  const out = encoder.encode(s);
  return out.length === s.length ? out : null;
}

/**
 * True when `h` holds a control byte other than HTAB, LF and CR, or DEL: bytes no HTTP/1.x head
 * may contain anywhere (RFC 9110 §5.5, RFC 9112 §3, §4). One native memchr per byte value.
 */
export function hasForbiddenControl(h: Uint8Array): boolean {
  return (
    h.indexOf(0) >= 0 || h.indexOf(1) >= 0 || h.indexOf(2) >= 0 || h.indexOf(3) >= 0 || h.indexOf(4) >= 0 ||
    h.indexOf(5) >= 0 || h.indexOf(6) >= 0 || h.indexOf(7) >= 0 || h.indexOf(8) >= 0 || h.indexOf(11) >= 0 ||
    h.indexOf(12) >= 0 || h.indexOf(14) >= 0 || h.indexOf(15) >= 0 || h.indexOf(16) >= 0 || h.indexOf(17) >= 0 ||
    h.indexOf(18) >= 0 || h.indexOf(19) >= 0 || h.indexOf(20) >= 0 || h.indexOf(21) >= 0 || h.indexOf(22) >= 0 ||
    h.indexOf(23) >= 0 || h.indexOf(24) >= 0 || h.indexOf(25) >= 0 || h.indexOf(26) >= 0 || h.indexOf(27) >= 0 ||
    h.indexOf(28) >= 0 || h.indexOf(29) >= 0 || h.indexOf(30) >= 0 || h.indexOf(31) >= 0 || h.indexOf(0x7f) >= 0
  );
}
