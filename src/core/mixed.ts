// The mixed listener: an explicit proxy port that tells SOCKS5 from HTTP by the first byte, and
// answers every outcome in the client's protocol (SOCKS5 reply codes, HTTP status lines).

import type { ListenerConfig, User } from '../config/model.ts';
import { formatHostPort, isIPLiteral, parseIP } from '../route/cidr.ts';
import { parseHttp1Request } from '../sniff/http1.ts';
import { httpResponse, interpretProxyRequest, proxyCredentials, rewriteForOrigin } from '../proxy/http-proxy.ts';
import {
  buildReply,
  CMD_CONNECT,
  METHOD_NO_AUTH,
  METHOD_NONE_ACCEPTABLE,
  METHOD_USERPASS,
  parseGreeting,
  parseRequest,
  parseUserPass,
  Reply,
} from '../proxy/socks5.ts';
import { afterAtLeast } from '../runtime/timer.ts';
import type { ConnectError, ConnectErrorKind } from '../runtime/types.ts';
import type { ConnectionRecord } from './access-log.ts';
import type { Inbound } from './inbound.ts';
import { connectFailureStatus, connectFailureText, readParsed, replyAndClose, type Handshake, type SessionContext } from './handshake.ts';

const SOCKS_CONNECT_FAILURE: Record<ConnectErrorKind, Reply> = {
  refused: Reply.ConnectionRefused,
  timeout: Reply.TtlExpired,
  unreachable: Reply.NetworkUnreachable,
  dns: Reply.HostUnreachable,
  loop: Reply.NotAllowed,
  forbidden: Reply.NotAllowed,
  aborted: Reply.GeneralFailure,
  other: Reply.GeneralFailure,
};

function authorized(users: User[], c: { username: string; password: string } | null): boolean {
  return c !== null && users.some((u) => u.username === c.username && u.password === c.password);
}

function target(l: ListenerConfig, inbound: Inbound, host: string, port: number, protocol: 'socks5' | 'connect' | 'http') {
  const ip = isIPLiteral(host) ? parseIP(host) : null;
  return {
    facts: { listener: l.name, listenerType: l.type, protocol, host: ip ? null : host, dstIp: ip, dstPort: port, srcIp: parseIP(inbound.conn.remote.host)! },
    passthrough: { host, port },
  };
}

async function fail(ctx: SessionContext, inbound: Inbound, rec: ConnectionRecord, close: string, error: string, reply: Uint8Array | null): Promise<null> {
  ctx.stats.handshakeFailed++;
  rec.close = close;
  rec.error = error;
  await replyAndClose(ctx.rt, inbound, reply);
  return null;
}

/** A wrong password: answered only when the source's turn comes (core/auth-throttle.ts). */
async function authFailed(ctx: SessionContext, inbound: Inbound, rec: ConnectionRecord, error: string, reply: Uint8Array): Promise<null> {
  const waitMs = ctx.authThrottle.failed(inbound.conn.remote.host);
  if (waitMs > 0) await new Promise((resolve) => afterAtLeast(waitMs, () => resolve(undefined)));
  return fail(ctx, inbound, rec, 'auth-failed', waitMs > 0 ? `${error} (answered after ${Math.round(waitMs)} ms: repeated failures from this source)` : error, reply);
}

async function socks5(ctx: SessionContext, l: ListenerConfig, inbound: Inbound, rec: ConnectionRecord, deadline: number): Promise<Handshake | null> {
  const { rt } = ctx;
  const conn = inbound.conn;
  rec.proto = 'socks5';
  const greeting = await readParsed(rt, inbound, parseGreeting, deadline);
  if (greeting.status !== 'ok') return fail(ctx, inbound, rec, closeReason(greeting), `socks5 greeting: ${describe(greeting)}`, null);
  inbound.consume(greeting.length);
  const wanted = l.users.length > 0 ? METHOD_USERPASS : METHOD_NO_AUTH;
  const method = greeting.value.methods.includes(wanted) ? wanted : METHOD_NONE_ACCEPTABLE;
  await conn.write(new Uint8Array([5, method]));
  if (method === METHOD_NONE_ACCEPTABLE) {
    return fail(ctx, inbound, rec, 'auth-failed', `client offered no acceptable method (needs ${wanted === METHOD_USERPASS ? 'username/password' : 'no-auth'})`, null);
  }
  if (method === METHOD_USERPASS) {
    const creds = await readParsed(rt, inbound, parseUserPass, deadline);
    if (creds.status !== 'ok') return fail(ctx, inbound, rec, closeReason(creds), `socks5 auth: ${describe(creds)}`, null);
    inbound.consume(creds.length);
    if (!authorized(l.users, creds.value)) {
      return authFailed(ctx, inbound, rec, `bad credentials for user "${creds.value.username}"`, new Uint8Array([1, 1]));
    }
    await conn.write(new Uint8Array([1, 0]));
  }
  const req = await readParsed(rt, inbound, parseRequest, deadline);
  if (req.status === 'error') {
    const code = req.error.field === 'atyp' ? Reply.AddressTypeNotSupported : Reply.GeneralFailure;
    return fail(ctx, inbound, rec, 'bad-handshake', `socks5 request: ${req.error}`, buildReply(code));
  }
  if (req.status !== 'ok') return fail(ctx, inbound, rec, closeReason(req), `socks5 request: ${describe(req)}`, null);
  inbound.consume(req.length);
  const { command, host, port } = req.value;
  rec.dst = formatHostPort(host, port);
  if (command !== CMD_CONNECT) {
    return fail(ctx, inbound, rec, 'unsupported', `socks5 command ${command} is not supported (only CONNECT)`, buildReply(Reply.CommandNotSupported));
  }
  if (!isIPLiteral(host)) rec.host = host;
  return {
    ...target(l, inbound, host, port, 'socks5'),
    rejectReply: () => buildReply(Reply.NotAllowed),
    connectFailedReply: (e: ConnectError) => buildReply(SOCKS_CONNECT_FAILURE[e.kind]),
    connectedReply: (up) => buildReply(Reply.Succeeded, { ip: parseIP(up.local.host)!, port: up.local.port }),
  };
}

async function httpProxy(ctx: SessionContext, l: ListenerConfig, inbound: Inbound, rec: ConnectionRecord, deadline: number): Promise<Handshake | null> {
  const r = await readParsed(ctx.rt, inbound, (b) => parseHttp1Request(b), deadline);
  if (r.status === 'error') {
    const status = r.error.code === 'too-large' ? (r.error.field === 'request-line' ? 414 : 431) : 400;
    rec.proto = 'http';
    return fail(ctx, inbound, rec, 'bad-request', `http proxy: ${r.error}`, httpResponse(status, r.error.message));
  }
  if (r.status !== 'ok') return fail(ctx, inbound, rec, closeReason(r), `proxy request: ${describe(r)}`, null);
  const head = r.value;
  inbound.consume(r.length);
  const req = interpretProxyRequest(head);
  rec.proto = 'kind' in req && req.kind === 'connect' ? 'connect' : 'http';
  if (l.users.length > 0) {
    const creds = proxyCredentials(head);
    const challenge = httpResponse(407, 'proxy authentication required', ['Proxy-Authenticate: Basic realm="ugate"']);
    // No credentials is the first step of the Basic scheme (the client learns it must log in), not a guess.
    if (!creds) return fail(ctx, inbound, rec, 'auth-required', 'no Proxy-Authorization', challenge);
    if (!authorized(l.users, creds)) return authFailed(ctx, inbound, rec, `bad credentials for user "${creds.username}"`, challenge);
  }
  if ('status' in req) return fail(ctx, inbound, rec, 'bad-request', req.reason, httpResponse(req.status, req.reason));
  rec.dst = formatHostPort(req.host, req.port);
  if (!isIPLiteral(req.host)) rec.host = req.host;
  const hs: Handshake = {
    ...target(l, inbound, req.host, req.port, req.kind),
    rejectReply: () => httpResponse(403, 'blocked by ugate route'),
    connectFailedReply: (e) => httpResponse(connectFailureStatus(e.kind), connectFailureText(e.kind)),
    connectedReply: () => (req.kind === 'connect' ? httpResponse(200) : null),
  };
  if (req.kind === 'http') hs.upstreamHead = rewriteForOrigin(head, req);
  return hs;
}

/** A slow client is a timeout and a vanished one an EOF, not a malformed handshake. */
function closeReason(r: { status: string }): string {
  return r.status === 'timeout' ? 'handshake-timeout' : r.status === 'eof' ? 'client-eof' : 'bad-handshake';
}

function describe(r: { status: string; error?: { toString(): string } }): string {
  return r.status === 'error' ? String(r.error) : r.status === 'eof' ? 'client closed mid-handshake' : 'handshake deadline passed';
}

export async function mixedHandshake(ctx: SessionContext, l: ListenerConfig, inbound: Inbound, rec: ConnectionRecord, deadline: number): Promise<Handshake | null> {
  if (inbound.buffer.length === 0 && !(await inbound.fill(deadline, () => ctx.rt.now()))) {
    return fail(ctx, inbound, rec, inbound.eof ? 'client-eof' : 'handshake-timeout', 'no request received', null);
  }
  const first = inbound.buffer[0];
  if (first === 5) return socks5(ctx, l, inbound, rec, deadline);
  if (first === 4) {
    rec.proto = 'socks4';
    // SOCKS4 "request rejected" (0x5B), so a SOCKS4 client reports a refusal rather than hanging.
    return fail(ctx, inbound, rec, 'unsupported', 'SOCKS4 is not supported; use SOCKS5', new Uint8Array([0, 0x5b, 0, 0, 0, 0, 0, 0]));
  }
  return httpProxy(ctx, l, inbound, rec, deadline);
}
