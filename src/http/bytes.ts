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
