// SOCKS5 (RFC 1928) with username/password auth (RFC 1929): pure parsers and reply builders.

import { formatIPv6, isIPLiteral } from '../route/cidr.ts';
import { dnsName } from '../sniff/tls.ts';
import { fail, more, ok, type SniffResult } from '../sniff/types.ts';

export const SOCKS_VERSION = 5;
export const METHOD_NO_AUTH = 0x00;
export const METHOD_USERPASS = 0x02;
export const METHOD_NONE_ACCEPTABLE = 0xff;

export const enum Reply {
  Succeeded = 0x00,
  GeneralFailure = 0x01,
  NotAllowed = 0x02,
  NetworkUnreachable = 0x03,
  HostUnreachable = 0x04,
  ConnectionRefused = 0x05,
  TtlExpired = 0x06,
  CommandNotSupported = 0x07,
  AddressTypeNotSupported = 0x08,
}

export const CMD_CONNECT = 0x01;

export interface Greeting {
  methods: number[];
}

export function parseGreeting(buf: Uint8Array): SniffResult<Greeting> {
  if (buf.length < 1) return more;
  if (buf[0] !== SOCKS_VERSION) return fail('not-this-protocol', 0, `version ${buf[0]} is not 5`, 'version');
  if (buf.length < 2) return more;
  const n = buf[1]!;
  if (n === 0) return fail('malformed', 1, 'no authentication methods offered', 'nmethods');
  if (buf.length < 2 + n) return more;
  return ok({ methods: Array.from(buf.subarray(2, 2 + n)) }, 2 + n);
}

export interface Credentials {
  username: string;
  password: string;
}

const utf8 = new TextDecoder();

export function parseUserPass(buf: Uint8Array): SniffResult<Credentials> {
  if (buf.length < 1) return more;
  if (buf[0] !== 0x01) return fail('malformed', 0, `auth sub-negotiation version ${buf[0]} is not 1`, 'version');
  if (buf.length < 2) return more;
  const ulen = buf[1]!;
  if (ulen === 0) return fail('malformed', 1, 'empty username', 'ulen');
  if (buf.length < 3 + ulen) return more;
  const plen = buf[2 + ulen]!;
  const end = 3 + ulen + plen;
  if (buf.length < end) return more;
  return ok({ username: utf8.decode(buf.subarray(2, 2 + ulen)), password: utf8.decode(buf.subarray(3 + ulen, end)) }, end);
}

export interface ConnectRequest {
  command: number;
  /** IP literal or DNS name */
  host: string;
  port: number;
  /** 1 IPv4, 3 domain name, 4 IPv6 */
  addressType: 1 | 3 | 4;
}

/** Parses a request. Unsupported commands still parse (the caller replies CommandNotSupported). */
export function parseRequest(buf: Uint8Array): SniffResult<ConnectRequest> {
  if (buf.length < 4) return more;
  if (buf[0] !== SOCKS_VERSION) return fail('malformed', 0, `version ${buf[0]} is not 5`, 'version');
  if (buf[2] !== 0) return fail('malformed', 2, 'reserved byte is not 0', 'rsv');
  const atyp = buf[3]!;
  let host: string;
  let at: number;
  if (atyp === 1) {
    if (buf.length < 10) return more;
    host = Array.from(buf.subarray(4, 8)).join('.');
    at = 8;
  } else if (atyp === 4) {
    if (buf.length < 22) return more;
    host = formatIPv6(buf.subarray(4, 20));
    at = 20;
  } else if (atyp === 3) {
    if (buf.length < 5) return more;
    const len = buf[4]!;
    if (len === 0) return fail('malformed', 4, 'empty domain name', 'dst.addr');
    if (buf.length < 5 + len + 2) return more;
    // Routing compares canonical names, so "Example.COM." must arrive as "example.com" (as from the sniffers).
    const raw = utf8.decode(buf.subarray(5, 5 + len));
    const name = isIPLiteral(raw) ? raw.toLowerCase() : dnsName(raw);
    if (name === null) return fail('malformed', 5, 'invalid domain name', 'dst.addr');
    host = name;
    at = 5 + len;
  } else {
    return fail('malformed', 3, `address type ${atyp} is not 1, 3 or 4`, 'atyp');
  }
  const port = (buf[at]! << 8) | buf[at + 1]!;
  return ok({ command: buf[1]!, host, port, addressType: atyp as 1 | 3 | 4 }, at + 2);
}

/** A reply; the bound address is all zeros (IPv4) unless given. */
export function buildReply(code: Reply, bind?: { ip: Uint8Array; port: number }): Uint8Array {
  const ip = bind?.ip ?? new Uint8Array(4);
  const out = new Uint8Array(4 + ip.length + 2);
  out.set([SOCKS_VERSION, code, 0, ip.length === 16 ? 4 : 1]);
  out.set(ip, 4);
  const port = bind?.port ?? 0;
  out[4 + ip.length] = port >> 8;
  out[5 + ip.length] = port & 0xff;
  return out;
}
