// IP literals and CIDR prefixes as bytes, so v4 and v6 share one comparison.

export interface Cidr {
  readonly bytes: Uint8Array; // 4 or 16
  readonly bits: number;
  readonly source: string;
}

export function parseIPv4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/**
 * An interface name as a zone id ("fe80::1%br-lan"): 1 to 15 letters, digits, "." or "-", the
 * characters Node's own IP parser accepts there, so a literal here is a literal when dialled too.
 */
const ZONE_ID = /^[0-9A-Za-z.-]{1,15}$/;

export function parseIPv6(s: string): Uint8Array | null {
  const zone = s.indexOf('%');
  if (zone >= 0) {
    // A zone is part of the literal: "::1%\r\nanything" is not an address.
    if (!ZONE_ID.test(s.slice(zone + 1))) return null;
    s = s.slice(0, zone);
  }
  let tail: Uint8Array | null = null;
  // An embedded IPv4 tail ("::ffff:1.2.3.4") takes the last 32 bits.
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    tail = parseIPv4(s.slice(lastColon + 1));
    if (!tail) return null;
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

export function parseIP(s: string): Uint8Array | null {
  return s.includes(':') ? parseIPv6(s) : parseIPv4(s);
}

export function isIPLiteral(s: string): boolean {
  return parseIP(s) !== null;
}

/** "10.0.0.0/8", "fd00::/8", or a bare address (a /32 or /128). Throws a message naming the problem. */
export function parseCidr(source: string): Cidr {
  const slash = source.indexOf('/');
  const addr = slash < 0 ? source : source.slice(0, slash);
  const bytes = parseIP(addr);
  if (!bytes) throw new Error(`"${source}": not an IPv4 or IPv6 address`);
  const max = bytes.length * 8;
  const bitsText = slash < 0 ? String(max) : source.slice(slash + 1);
  const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
  if (!(bits >= 0 && bits <= max)) throw new Error(`"${source}": prefix length must be 0 to ${max}`);
  // An IPv4-mapped prefix ("::ffff:10.0.0.0/104") is an IPv4 prefix, compared like v4-mapped addresses.
  if (bits >= 96 && unmapped(bytes).length === 4) return { bytes: bytes.slice(12), bits: bits - 96, source };
  return { bytes, bits, source };
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) compares as IPv4, since dual-stack sockets report v4 peers that way. */
function unmapped(ip: Uint8Array): Uint8Array {
  if (ip.length !== 16) return ip;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return ip;
  return ip[10] === 0xff && ip[11] === 0xff ? ip.subarray(12) : ip;
}

/**
 * The address the kernel actually connects to for `ip`: an IPv4-mapped IPv6 address is its IPv4
 * one, and the unspecified address (0.0.0.0, ::) means this host, which Linux reaches on loopback.
 * Rules match on this, so "0.0.0.0" or "[::ffff:0.0.0.0]" cannot slip past a rule on 127.0.0.0/8.
 */
export function effectiveAddress(ip: Uint8Array): Uint8Array {
  const a = unmapped(ip);
  if (a.every((b) => b === 0)) return a.length === 4 ? new Uint8Array([127, 0, 0, 1]) : Uint8Array.from({ length: 16 }, (_, i) => (i === 15 ? 1 : 0));
  return a;
}

/** An IPv6 address (16 bytes) as text, the longest run of zero groups as "::" (RFC 5952). */
export function formatIPv6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [bestAt, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (bestAt < 0) return groups.join(':');
  return `${groups.slice(0, bestAt).join(':')}::${groups.slice(bestAt + bestLen).join(':')}`;
}

/** An IP (4 or 16 bytes) as text. */
export function formatIP(ip: Uint8Array): string {
  return ip.length === 4 ? ip.join('.') : formatIPv6(ip);
}

/** The effective address (see effectiveAddress) of an IP literal as text; other input unchanged. */
export function effectiveHost(host: string): string {
  const ip = parseIP(host);
  return ip ? formatIP(effectiveAddress(ip)) : host;
}

export function cidrContains(cidr: Cidr, ip: Uint8Array): boolean {
  const a = unmapped(ip);
  if (a.length !== cidr.bytes.length) return false;
  let bits = cidr.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a[i]! & mask) !== (cidr.bytes[i]! & mask)) return false;
  }
  return true;
}

/** Canonical text for an IP (v4-mapped shown as v4), used in logs. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
