// HTTP proxy requests (CONNECT authority-form and absolute-form http:// URIs): interpretation,
// the head rewrite sent upstream, and the proxy's own replies. Pure.

import { parseAuthority, type HttpRequestHead } from '../sniff/http1.ts';
import type { Credentials } from './socks5.ts';
import { latin1Encode } from '../http/bytes.ts';
import { removeHopByHop } from '../http/head.ts';

export type ProxyRequest =
  | { kind: 'connect'; host: string; port: number }
  | { kind: 'http'; host: string; port: number; /** origin-form target sent upstream */ path: string };

export type ProxyRequestError = { status: 400 | 405; reason: string };

export function interpretProxyRequest(head: HttpRequestHead): ProxyRequest | ProxyRequestError {
  if (head.method === 'CONNECT') {
    const a = parseAuthority(head.target);
    if (!a || a.port === null || a.port < 1 || a.port > 65535) return { status: 400, reason: `CONNECT target "${head.target}" is not host:port` };
    return { kind: 'connect', host: a.host, port: a.port };
  }
  const m = /^http:\/\/([^/?#]+)([^#]*)/i.exec(head.target);
  if (!m) {
    const reason = /^[a-z][a-z0-9+.-]*:\/\//i.test(head.target)
      ? `scheme of "${head.target}" is not supported by a plain HTTP proxy; use CONNECT`
      : `request target "${head.target}" is not an absolute http:// URI (this is a proxy)`;
    return { status: 400, reason };
  }
  const a = parseAuthority(m[1]!.replace(/^[^@]*@/, ''));
  if (!a || (a.port !== null && (a.port < 1 || a.port > 65535))) return { status: 400, reason: `bad authority in "${head.target}"` };
  const rest = m[2]!;
  return { kind: 'http', host: a.host, port: a.port ?? 80, path: rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}` };
}

/** Fields for this proxy alone: the origin never sees the client's proxy credentials. */
const PROXY_ONLY = new Set(['proxy-authorization', 'proxy-authenticate']);

/**
 * The head sent to the origin for a plain proxy request: origin-form target, hop-by-hop headers
 * removed (as every other head ugate rewrites: framing fields stay even when Connection names
 * them, since the body goes on verbatim), and `Connection: close`, because this connection is
 * forwarded at L4 to one origin and a keep-alive client could otherwise send its next request,
 * for another host, down the same tunnel.
 */
export function rewriteForOrigin(head: HttpRequestHead, req: { host: string; port: number; path: string }): Uint8Array {
  const lines = [`${head.method} ${req.path} HTTP/${head.version}`];
  // RFC 9112 §3.2.2: the Host sent on is the request target's, whatever Host the client sent, so the
  // origin serves the name that was routed and dialed.
  const h = req.host.includes(':') ? `[${req.host}]` : req.host;
  const host = req.port === 80 ? h : `${h}:${req.port}`;
  let hasHost = false;
  for (const [n, val] of removeHopByHop(head.headers)) {
    const lower = n.toLowerCase();
    if (PROXY_ONLY.has(lower)) continue;
    if (lower === 'host') {
      if (!hasHost) lines.push(`${n}: ${host}`);
      hasHost = true;
      continue;
    }
    lines.push(`${n}: ${val}`);
  }
  if (!hasHost) lines.push(`Host: ${host}`);
  lines.push('Connection: close', '', '');
  return latin1Encode(lines.join('\r\n'));
}

const STATUS_TEXT: Record<number, string> = {
  200: 'Connection Established',
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
};

/** A complete response from ugate itself; errors carry a short text body and close the connection. */
export function httpResponse(status: number, body = '', extraHeaders: string[] = []): Uint8Array {
  const text = STATUS_TEXT[status] ?? 'Error';
  if (status === 200) return latin1Encode(`HTTP/1.1 200 ${text}\r\n\r\n`);
  const payload = body === '' ? `${status} ${text}\n` : `${status} ${text}: ${body}\n`;
  const bytes = new TextEncoder().encode(payload);
  const head = [`HTTP/1.1 ${status} ${text}`, 'Content-Type: text/plain; charset=utf-8', `Content-Length: ${bytes.length}`, 'Connection: close', 'Server: ugate', ...extraHeaders, '', ''].join('\r\n');
  const h = latin1Encode(head);
  const out = new Uint8Array(h.length + bytes.length);
  out.set(h);
  out.set(bytes, h.length);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64Decode(s: string): Uint8Array | null {
  const clean = s.replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(clean) || clean.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (const c of clean) {
    acc = (acc << 6) | B64.indexOf(c);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** Credentials from `Proxy-Authorization: Basic …`, or null when absent or not Basic. */
export function proxyCredentials(head: HttpRequestHead): Credentials | null {
  const h = head.headers.find(([n]) => n.toLowerCase() === 'proxy-authorization');
  const m = h && /^basic\s+(\S+)$/i.exec(h[1]);
  const raw = m && base64Decode(m[1]!);
  if (!raw) return null;
  const text = new TextDecoder().decode(raw);
  const colon = text.indexOf(':');
  return colon < 0 ? null : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}
