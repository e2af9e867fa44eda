// One client connection from accept to close: the listener's handshake (sniff, or proxy protocol)
// yields facts; the router decides; ugate dials, answers the client, and hands over to forward().

import type { HostPort, ListenerConfig } from '../config/model.ts';
import { tlsAlert } from '../sniff/tls.ts';
import { formatHostPort, isIPLiteral, parseIP } from '../route/cidr.ts';
import { detect, type Sniffed } from '../sniff/detect.ts';
import { fail } from '../sniff/types.ts';
import { ConnectError, type Conn } from '../runtime/types.ts';
import { formatAccessLog, type ConnectionRecord } from './access-log.ts';
import { dial } from './dial.ts';
import type { CloseReason, Forwarding } from './forward.ts';
import { concat, Inbound } from './inbound.ts';
import { mixedHandshake } from './mixed.ts';
import { connectFailureStatus, connectFailureText, connectionKey, readParsed, replyAndClose, type Handshake, type SessionContext } from './handshake.ts';
import { httpResponse } from '../proxy/http-proxy.ts';
import { nextBackend } from '../gateway-api/filters.ts';
import type { Decision } from '../route/router.ts';
import { HttpSession, type UnroutedDecision } from './http-session.ts';
import { newMetered } from './metrics.ts';

const SNIFFED_DEFAULT_PORT = { tls: 443, http: 80 } as const;

/** Sniff phase of the redirect and sni listeners. */
async function sniff(ctx: SessionContext, inbound: Inbound, rec: ConnectionRecord, deadline: number): Promise<Sniffed | null> {
  const cap = ctx.config.sniffMaxBytes;
  const r = await readParsed(ctx.rt, inbound, (buf) => {
    const d = detect(buf, cap);
    return d.status === 'more' && buf.length >= cap ? fail('too-large', cap, `no protocol recognised within ${cap} bytes`) : d;
  }, deadline);
  if (r.status === 'ok') return r.value;
  // Not recognised in time or malformed: route as opaque bytes; the log says why.
  rec.error = r.status === 'error' ? `sniff: ${r.error}` : r.status === 'timeout' ? 'sniff: deadline passed' : undefined;
  if (r.status === 'error') rec.sniffFailure = r.error.code;
  else if (r.status === 'timeout') rec.sniffFailure = 'deadline';
  if (r.status === 'error' || r.status === 'timeout') ctx.stats.handshakeFailed++;
  return null;
}

function describeSniffed(s: Sniffed | null, rec: ConnectionRecord): string | null {
  rec.proto = s?.protocol ?? 'opaque';
  if (s?.protocol === 'tls') {
    rec.sni = s.hello.sni;
    rec.alpn = s.hello.alpn;
    return s.hello.sni;
  }
  if (s?.protocol === 'http') {
    rec.host = s.head.host;
    return s.head.host;
  }
  return null;
}

/** What ugate says, in the client's own protocol, when it refuses or cannot connect. */
function sniffedReplies(s: Sniffed | null): Pick<Handshake, 'rejectReply' | 'connectFailedReply' | 'connectedReply'> {
  return {
    rejectReply: () =>
      s?.protocol === 'tls' ? tlsAlert(112 /* unrecognized_name */) : s?.protocol === 'http' ? httpResponse(403, 'blocked by ugate route') : null,
    connectFailedReply: (e) =>
      s?.protocol === 'tls'
        ? tlsAlert(80 /* internal_error */)
        : s?.protocol === 'http'
          ? httpResponse(connectFailureStatus(e.kind), connectFailureText(e.kind))
          : null,
    connectedReply: () => null,
  };
}

async function redirectHandshake(ctx: SessionContext, l: ListenerConfig, inbound: Inbound, rec: ConnectionRecord, deadline: number): Promise<Handshake | null> {
  const conn = inbound.conn;
  const od = conn.originalDestination();
  // No NAT mapping: either no conntrack entry at all (ENOENT), or an un-NATed one whose original
  // destination is ugate's own port. Someone connected directly; forwarding would loop to ourselves.
  if (!od || (od.port === conn.local.port && od.host === conn.local.host)) {
    ctx.stats.noOriginalDestination++;
    rec.close = 'no-original-dst';
    if (od) rec.dst = formatHostPort(od.host, od.port);
    conn.close();
    return null;
  }
  rec.dst = formatHostPort(od.host, od.port);
  const sniffed = await sniff(ctx, inbound, rec, deadline);
  const host = describeSniffed(sniffed, rec);
  return {
    facts: { listener: l.name, listenerType: l.type, protocol: sniffed?.protocol ?? 'opaque', host, dstIp: parseIP(od.host), dstPort: od.port, srcIp: parseIP(conn.remote.host)! },
    passthrough: { host: od.host, port: od.port },
    ...sniffedReplies(sniffed),
  };
}

async function sniHandshake(ctx: SessionContext, l: ListenerConfig, inbound: Inbound, rec: ConnectionRecord, deadline: number): Promise<Handshake | null> {
  const sniffed = await sniff(ctx, inbound, rec, deadline);
  const host = describeSniffed(sniffed, rec);
  // Passthrough on a plain port goes where the client asked by name, like sniproxy's "*" backend,
  // on the protocol's standard port: a Host header must not choose any port on any host.
  let passthrough: HostPort | null = null;
  if (host && (sniffed?.protocol === 'tls' || sniffed?.protocol === 'http')) passthrough = { host, port: SNIFFED_DEFAULT_PORT[sniffed.protocol] };
  // A Host or SNI that is an IP literal is where passthrough goes: dstCidrs rules see it.
  const dstIp = passthrough && isIPLiteral(passthrough.host) ? parseIP(passthrough.host) : null;
  return {
    facts: { listener: l.name, listenerType: l.type, protocol: sniffed?.protocol ?? 'opaque', host, dstIp, dstPort: passthrough?.port ?? null, srcIp: parseIP(inbound.conn.remote.host)! },
    passthrough,
    ...sniffedReplies(sniffed),
  };
}

/** A Gateway TLS listener: TLSRoutes route by SNI; anything else has nowhere to go. */
async function tlsHandshake(ctx: SessionContext, l: ListenerConfig, inbound: Inbound, rec: ConnectionRecord, deadline: number): Promise<Handshake | null> {
  const sniffed = await sniff(ctx, inbound, rec, deadline);
  const host = describeSniffed(sniffed, rec);
  return {
    facts: { listener: l.name, listenerType: l.type, protocol: sniffed?.protocol ?? 'opaque', host, dstIp: null, dstPort: null, srcIp: parseIP(inbound.conn.remote.host)! },
    passthrough: null,
    ...sniffedReplies(sniffed),
  };
}

/** A Gateway HTTP listener: the HTTP session reads the requests itself. */
async function httpHandshake(_ctx: SessionContext, l: ListenerConfig, inbound: Inbound): Promise<Handshake | null> {
  return {
    facts: { listener: l.name, listenerType: l.type, protocol: 'http', host: null, dstIp: null, dstPort: null, srcIp: parseIP(inbound.conn.remote.host)! },
    passthrough: null,
    rejectReply: () => null,
    connectFailedReply: () => null,
    connectedReply: () => null,
  };
}

const HANDSHAKES = { redirect: redirectHandshake, sni: sniHandshake, mixed: mixedHandshake, tls: tlsHandshake, http: httpHandshake };

export class Session {
  private forwarding: Forwarding | null = null;
  private http: HttpSession | null = null;
  private upstream: Conn | null = null;
  private aborted: CloseReason | null = null;
  /** the handshake phase is over (its slot under the handshake caps is given back) */
  handshakeFinished = false;

  constructor(
    private readonly ctx: SessionContext,
    private readonly listener: ListenerConfig,
    private readonly conn: Conn,
    private readonly onHandshakeDone: () => void = () => {},
  ) {}

  private finishHandshake(): void {
    if (this.handshakeFinished) return;
    this.handshakeFinished = true;
    this.onHandshakeDone();
  }

  /** Ends the session now, whatever phase it is in. */
  abort(reason: CloseReason): void {
    if (this.aborted) return;
    this.aborted = reason;
    if (this.http) return this.http.abort(reason);
    if (this.forwarding) return this.forwarding.abort(reason);
    this.conn.abort();
    this.upstream?.abort();
  }

  /**
   * Why a destination the client chose may not be reached (it is on the gateway host), checked
   * when ugate dials; undefined for a client on the gateway host itself. Set in run() only where
   * a destination the client chose can be dialled.
   */
  private forbidden: ((ip: string) => Promise<string | null>) | undefined;

  /**
   * Watches the client while ugate dials for it: a reset aborts the dial, and so does EOF from a
   * proxy client (SOCKS5, CONNECT), which may send nothing before its answer: it has gone, and
   * must not keep its slot and descriptors for the whole connect timeout. Elsewhere EOF may be a
   * half-close (request sent, answer awaited), carried to the destination after the connect.
   * Bytes that arrive meanwhile stay in `inbound`.
   */
  private watchClient(inbound: Inbound, protocol: string, abort: AbortController): () => void {
    let watching = true;
    const waitsForAnswer = protocol === 'socks5' || protocol === 'connect';
    void (async () => {
      // Bounded: a client that keeps sending while ugate dials is not buffered without end.
      while (watching && inbound.buffer.length < this.ctx.config.sniffMaxBytes) {
        try {
          if (await inbound.fill(Infinity, () => this.ctx.rt.now())) continue;
          if (watching && inbound.eof && waitsForAnswer) abort.abort();
        } catch {
          if (watching) abort.abort();
        }
        return;
      }
    })();
    return () => (watching = false);
  }

  /** Captured HTTP whose host no HTTPRoute covers: what the listener's own rules say. */
  private unroutedHttp(hs: Handshake, host: string | null): UnroutedDecision {
    const d = this.ctx.router.route({ ...hs.facts, host });
    const route = d.route ?? 'default';
    if (d.action.type === 'forward') return { route, action: 'forward', target: d.action.backend, forbidden: undefined };
    if (d.action.type === 'passthrough' && hs.passthrough) return { route, action: 'passthrough', target: hs.passthrough, forbidden: d.allowGatewayHost ? undefined : this.forbidden };
    return { route, action: 'reject', target: null, forbidden: undefined };
  }

  async run(): Promise<void> {
    const { rt, config, router, stats } = this.ctx;
    const started = rt.now();
    const startedAt = new Date();
    const rec: ConnectionRecord = { listener: this.listener.name, client: this.conn.remote, up: 0, down: 0 };
    const metered = newMetered();
    const inbound = new Inbound(this.conn);
    let outboundKey: string | null = null;
    try {
      const hs = await HANDSHAKES[this.listener.type](this.ctx, this.listener, inbound, rec, started + config.timeouts.sniffMs);
      if (!hs || this.aborted) return;
      // A Gateway HTTP listener's handshake is its first request head (HttpSession ends it).
      if (this.listener.type !== 'http') this.finishHandshake();
      // Where the client was going: the original destination when REDIRECTed, else our address.
      const dst = this.listener.type === 'redirect' && hs.passthrough ? hs.passthrough : this.conn.local;
      if (this.ctx.outbound.has(connectionKey(this.conn.remote, dst))) {
        // ugate's own upstream connection came back to it (e.g. by the router's LAN address, or
        // an OUTPUT redirect). The answer is in the protocol sniffed, and reaches the original
        // client through the first hop: an error it can show, not an empty reply.
        stats.rejected++;
        rec.close = 'loop';
        rec.error = 'the client is ugate itself (forwarding loop)';
        return await replyAndClose(rt, inbound, hs.connectFailedReply(new ConnectError('loop', rec.error)));
      }
      const tables = this.ctx.tables.get(this.listener.name);
      if (hs.facts.protocol === 'http' && tables?.http) {
        // Routed per request from here on (HTTPRoute); on a redirect listener a request no route
        // covers may pass through to where the client was going.
        if (this.listener.type === 'redirect') this.forbidden = await this.ctx.gatewayHost.forbiddenFor(this.conn.remote.host);
        this.http = new HttpSession({
          ctx: this.ctx,
          listener: this.listener,
          table: tables.http,
          unrouted: this.listener.type === 'redirect' ? (host) => this.unroutedHttp(hs, host) : null,
          listenerPort: this.listener.type === 'redirect' ? (hs.passthrough?.port ?? 80) : this.conn.local.port,
          inbound,
          rec,
          metered,
          firstDeadline: started + config.timeouts.sniffMs,
          firstHead: () => this.finishHandshake(),
        });
        if (this.aborted) this.http.abort(this.aborted);
        return await this.http.run();
      }
      let gatewayDecision: Decision | null = null;
      if (hs.facts.protocol === 'tls' && tables?.tls) {
        const d = tables.tls.route(hs.facts.host);
        if (d.type === 'route') {
          const route = `${d.attached.route.namespace}/${d.attached.route.name}`;
          const b = nextBackend(d.backends);
          // An invalid backend's share of connections is rejected, as the spec says.
          gatewayDecision = b && !b.invalid ? { route, action: { type: 'forward', backend: b } } : { route, action: { type: 'reject' } };
          if (!b || b.invalid) rec.error = b ? `backend ${b.host}:${b.port}: ${b.invalid}` : 'no backend with weight > 0';
        }
      }
      if (!gatewayDecision && (this.listener.type === 'tls' || this.listener.type === 'http')) {
        // A Gateway listener serves its routes only.
        gatewayDecision = { route: null, action: { type: 'reject' } };
        rec.error ??= hs.facts.protocol === 'tls' ? 'no TLSRoute for this SNI' : `not TLS (${hs.facts.protocol})`;
      }
      const byRouter = gatewayDecision === null;
      let decision = gatewayDecision ?? router.route(hs.facts);
      // A destination given by name meets dstCidrs rules by its addresses: route on the first,
      // and dial only the addresses routed the same way, so no fallback address slips past a rule.
      let resolved: string[] | undefined;
      if (byRouter && router.usesDstCidrs && hs.facts.dstIp === null && hs.passthrough && !isIPLiteral(hs.passthrough.host)) {
        const addresses = await rt.lookup(hs.passthrough.host).catch(() => []);
        if (addresses.length > 0) {
          const decisions = addresses.map((ip) => router.route({ ...hs.facts, dstIp: parseIP(ip) }));
          decision = decisions[0]!;
          resolved = addresses.filter((_, i) => decisions[i]!.route === decision.route);
        }
      }
      rec.route = decision.route ?? 'default';
      rec.action = decision.action.type;
      const target = decision.action.type === 'forward' ? decision.action.backend : decision.action.type === 'passthrough' ? hs.passthrough : null;
      // a passthrough destination is the client's choice: counted on the route, not as a backend
      this.ctx.metrics.routed(rec.route, decision.action.type === 'forward' ? formatHostPort(decision.action.backend.host, decision.action.backend.port) : null, metered);
      if (!target) {
        stats.rejected++;
        rec.close = decision.action.type === 'reject' ? 'rejected' : 'no-destination';
        return await replyAndClose(rt, inbound, hs.rejectReply());
      }
      rec.backend = formatHostPort(target.host, target.port);
      const clientChose = target === hs.passthrough;
      // A backend the configuration names is the administrator's choice; a destination the client
      // chose may not be the gateway host unless the route allows it.
      if (clientChose && !decision.allowGatewayHost) this.forbidden = await this.ctx.gatewayHost.forbiddenFor(this.conn.remote.host);
      const abort = new AbortController();
      const stopWatching = this.watchClient(inbound, hs.facts.protocol, abort);
      try {
        this.upstream = await dial(rt, target.host, target.port, {
          timeoutMs: config.timeouts.connectMs,
          isSelf: this.ctx.isListenAddress,
          resolved: clientChose ? resolved : undefined,
          forbidden: this.forbidden,
          signal: abort.signal,
        });
      } catch (e) {
        const ce = e instanceof ConnectError ? e : new ConnectError('other', String(e));
        rec.error = ce.message;
        if (ce.kind === 'aborted') {
          rec.close = inbound.eof ? 'client-left' : 'client-reset';
          return;
        }
        if (ce.kind === 'forbidden') {
          stats.rejected++;
          rec.close = 'rejected';
          return await replyAndClose(rt, inbound, hs.rejectReply());
        }
        stats.connectFailed++;
        rec.close = `connect-${ce.kind}`;
        return await replyAndClose(rt, inbound, hs.connectFailedReply(ce));
      } finally {
        stopWatching();
      }
      outboundKey = connectionKey(this.upstream.local, this.upstream.remote);
      this.ctx.outbound.add(outboundKey);
      if (this.aborted) return;
      const reply = hs.connectedReply(this.upstream);
      if (reply) await this.conn.write(reply);
      stats.forwarded++;
      const prefix = hs.upstreamHead ? concat(hs.upstreamHead, inbound.buffer) : inbound.buffer;
      this.forwarding = this.ctx.dataPlane.forward(inbound.release(), this.upstream, prefix, { idleMs: config.timeouts.idleMs, now: () => rt.now(), moved: this.ctx.moved });
      const result = await this.forwarding.done;
      rec.up = result.up;
      rec.down = result.down;
      rec.close = result.reason;
      if (result.error) rec.error = result.error;
    } catch (e) {
      rec.close ??= 'error';
      rec.error = e instanceof Error ? e.message : String(e);
    } finally {
      if (outboundKey) this.ctx.outbound.delete(outboundKey);
      if (this.aborted && !this.forwarding) rec.close = this.aborted;
      if (!this.forwarding) {
        this.conn.close();
        this.upstream?.close();
      }
      this.ctx.metrics.closed(rec, metered);
      if (config.accessLog) this.ctx.accessLog(formatAccessLog(rec, startedAt, rt.now() - started, config.accessLogFormat));
    }
  }
}
