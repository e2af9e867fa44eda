// What every listener's handshake phase shares: the context, the result a handshake hands to the
// session, reading a parsed unit within a deadline, and closing with a last message.

import type { Config, HostPort } from '../config/model.ts';
import type { HttpRouteTable } from '../gateway-api/http-table.ts';
import type { TlsRouteTable } from '../gateway-api/tls-table.ts';
import type { ConnectionFacts, Router } from '../route/router.ts';
import type { SniffResult } from '../sniff/types.ts';
import type { ConnectError, ConnectErrorKind, Conn, Runtime } from '../runtime/types.ts';
import type { DataPlane, Moved } from './forward.ts';
import type { Inbound } from './inbound.ts';
import type { AuthThrottle } from './auth-throttle.ts';
import type { GatewayHost } from './local-destination.ts';
import type { UpstreamPool } from './upstream-pool.ts';
import type { Metrics } from './metrics.ts';

/** Outcomes of connections; how many were accepted and are open is in Metrics (by listener). */
export interface Stats {
  forwarded: number;
  rejected: number;
  noOriginalDestination: number;
  connectFailed: number;
  handshakeFailed: number;
}

export interface SessionContext {
  rt: Runtime;
  config: Config;
  router: Router;
  stats: Stats;
  /** live counters by listener, route and backend, shared across reloads */
  metrics: Metrics;
  /** bytes moved so far by the data planes, open connections included (shared across reloads) */
  moved: Moved;
  accessLog: (line: string) => void;
  /** Is ip:port one of ugate's own listening addresses? */
  isListenAddress(ip: string, port: number): boolean;
  /** ugate's own upstream connections ("local>remote"), to recognise them coming back on accept */
  outbound: Set<string>;
  dataPlane: DataPlane;
  /** idle upstream HTTP connections, shared by all client connections */
  upstreams: UpstreamPool;
  /** Gateway API route tables of the listeners that have routes attached, by listener name */
  tables: Map<string, RouteTables>;
  /** destinations on this host, refused to clients elsewhere unless a route allows them */
  gatewayHost: GatewayHost;
  /** paces failed proxy logins per source */
  authThrottle: AuthThrottle;
}

export interface RouteTables {
  http: HttpRouteTable | null;
  tls: TlsRouteTable | null;
}

/** What a listener's handshake produced: facts to route on and how to answer the client. */
export interface Handshake {
  facts: ConnectionFacts;
  /** where `passthrough` goes; null when this connection has nowhere to pass through to */
  passthrough: HostPort | null;
  /** sent to the client when the route rejects it (null: just close) */
  rejectReply(): Uint8Array | null;
  connectFailedReply(e: ConnectError): Uint8Array | null;
  /** sent to the client once upstream is connected (SOCKS success, HTTP 200) */
  connectedReply(upstream: Conn): Uint8Array | null;
  /** sent upstream before the client's remaining bytes (a rewritten HTTP proxy request head) */
  upstreamHead?: Uint8Array;
}

const CONNECT_FAILURE_TEXT: Record<ConnectErrorKind, string> = {
  refused: 'the destination refused the connection',
  timeout: 'the destination did not answer in time',
  unreachable: 'the destination is unreachable',
  dns: 'the destination name does not resolve',
  loop: 'forwarding loop',
  forbidden: 'destination not allowed',
  aborted: 'connection attempt abandoned',
  other: 'could not connect to the destination',
};

/**
 * What a client is told when ugate cannot connect for it: the kind of failure only. Addresses,
 * errno texts and ugate's own configuration stay in the access log.
 */
export function connectFailureText(kind: ConnectErrorKind): string {
  return CONNECT_FAILURE_TEXT[kind];
}

/** The HTTP status for a failed connect: 403 for a destination not allowed, 504 for a timeout, else 502. */
export function connectFailureStatus(kind: ConnectErrorKind): 403 | 502 | 504 {
  return kind === 'forbidden' ? 403 : kind === 'timeout' ? 504 : 502;
}

/** Repeats `parse` over the growing buffer until it stops asking for more, or the deadline/EOF. */
export async function readParsed<T>(
  rt: Runtime,
  inbound: Inbound,
  parse: (buf: Uint8Array) => SniffResult<T>,
  deadline: number,
): Promise<Exclude<SniffResult<T>, { status: 'more' }> | { status: 'timeout' | 'eof' }> {
  for (;;) {
    const r = parse(inbound.buffer);
    if (r.status !== 'more') return r;
    if (!(await inbound.fill(deadline, () => rt.now()))) return { status: inbound.eof ? 'eof' : 'timeout' };
  }
}

/**
 * Sends a last message, then reads and discards briefly before closing, so the kernel does not
 * answer unread client bytes with a reset that destroys the message in flight.
 */
export async function replyAndClose(rt: Runtime, inbound: Inbound, reply: Uint8Array | null): Promise<void> {
  const conn = inbound.conn;
  try {
    if (reply) await conn.write(reply);
    conn.shutdownWrite();
    const deadline = rt.now() + 1000;
    while (await inbound.fill(deadline, () => rt.now())) inbound.consume(inbound.buffer.length);
  } catch {
    // The client went away: nothing left to tell it.
  } finally {
    conn.close();
  }
}


/**
 * A TCP connection by both ends. Only the whole pair identifies ugate's own upstream connection
 * coming back: the kernel gives one local port to many connections with different peers, so a
 * client may well have the same address as one of ugate's outbound sockets.
 */
export function connectionKey(from: { host: string; port: number }, to: { host: string; port: number }): string {
  return `${from.host}|${from.port}>${to.host}|${to.port}`;
}
