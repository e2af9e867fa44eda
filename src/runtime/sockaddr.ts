// struct sockaddr_in / sockaddr_in6 as bytes, for the libc calls both runtimes make through FFI
// (SO_ORIGINAL_DST, getsockname, bind, connect). Endian-clean: sa_family is in host byte order,
// port and address in network byte order.

import { formatIPv6, parseIPv4, parseIPv6 } from '../route/cidr.ts';
import type { SocketAddress } from './types.ts';

export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function decodeSockaddr(b: Uint8Array): SocketAddress | null {
  if (b.length < 2) return null;
  // The family is 2 or 10, so exactly one of its two bytes is non-zero, whatever the byte order.
  const family = b[0]! | b[1]!;
  const port = (b[2]! << 8) | b[3]!;
  if (family === AF_INET && b.length >= SOCKADDR_IN_SIZE) return { host: Array.from(b.subarray(4, 8)).join('.'), port, family: 4 };
  if (family === AF_INET6 && b.length >= SOCKADDR_IN6_SIZE) {
    const addr = b.subarray(8, 24);
    // A v4-mapped peer on a dual-stack socket is an IPv4 client.
    const mapped = addr.subarray(0, 10).every((x) => x === 0) && addr[10] === 0xff && addr[11] === 0xff;
    return mapped ? { host: Array.from(addr.subarray(12)).join('.'), port, family: 4 } : { host: formatIPv6(addr), port, family: 6 };
  }
  return null;
}

export function encodeSockaddr(host: string, port: number): Uint8Array {
  const v4 = parseIPv4(host);
  const v6 = v4 ? null : parseIPv6(host);
  if (!v4 && !v6) throw new Error(`"${host}" is not an IP literal`);
  const out = new Uint8Array(v4 ? SOCKADDR_IN_SIZE : SOCKADDR_IN6_SIZE);
  const family = v4 ? AF_INET : AF_INET6;
  out[LITTLE_ENDIAN ? 0 : 1] = family;
  out[2] = port >> 8;
  out[3] = port & 0xff;
  if (v4) out.set(v4, 4);
  else out.set(v6!, 8);
  return out;
}

/** getsockopt level and name for the pre-NAT destination of an accepted socket. */
export const SOL_IP = 0;
export const SOL_IPV6 = 41;
export const SO_ORIGINAL_DST = 80; // also IP6T_SO_ORIGINAL_DST
