// One client connection routed per HTTP request (HTTPRoute): on a Gateway HTTP listener, or
// captured port-80 traffic on a redirect listener with HTTPRoutes. Each request head is parsed and
// routed on its own; heads and bodies are forwarded verbatim unless a filter changes the head;
// bodies stream with backpressure by their framing (Content-Length, chunked, close-delimited).
// An upgrade (101), or a listener where every request provably goes to one backend unchanged,
// hands the connection to the data plane (splice) like any L4 forward.

import type { ListenerConfig } from '../config/model.ts';
import { applyHeaderModifier, nextBackend, redirectLocation, rewritePath } from '../gateway-api/filters.ts';
import type { HttpRouteTable } from '../gateway-api/http-table.ts';
import type { HttpRule } from '../gateway-api/model.ts';
import { ChunkedScanner } from '../http/chunked.ts';
import { isUpgradeRequest, requestBodyFraming, responseBodyFraming, wantsKeepAlive, type BodyFraming } from '../http/framing.ts';
import { removeHopByHop, serializeRequestHead, serializeResponseHead, simpleResponse } from '../http/head.ts';
import { requestErrorStatus } from '../http/request.ts';
import { parseResponseHead } from '../http/response.ts';
import { formatHostPort } from '../route/cidr.ts';
import { ConnectError, type ConnectErrorKind, type Conn } from '../runtime/types.ts';
import { afterAtLeast } from '../runtime/timer.ts';
import { defaultHttp1Limits, parseAuthority, parseHttp1Request, type HttpRequestHead } from '../sniff/http1.ts';
import { formatRequestLog, type ConnectionRecord, type RequestRecord } from './access-log.ts';
import type { Metered } from './metrics.ts';
import { dial } from './dial.ts';
import type { CloseReason, Forwarding } from './forward.ts';
import { connectFailureStatus, connectFailureText, connectionKey, readParsed, replyAndClose, type SessionContext } from './handshake.ts';
import { Inbound, withReadAhead } from './inbound.ts';
import type { PooledUpstream } from './upstream-pool.ts';

/** RFC 9110 §9.2.2: only these may be sent again after a connection failed under them. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export interface HttpTarget {
  host: string;
  port: number;
}

/** What the listener's own rules say for a request no HTTPRoute covers; target null: rejected. */
export interface UnroutedDecision {
  route: string;
  action: 'forward' | 'passthrough' | 'reject';
  target: HttpTarget | null;
  /** for a destination the client chose: why it may not be reached (see Session.forbidden) */
  forbidden: ((ip: string) => Promise<string | null>) | undefined;
}

export interface HttpSessionOptions {
  ctx: SessionContext;
  listener: ListenerConfig;
  table: HttpRouteTable;
  /**
   * Where a request goes when no route covers its host (captured traffic: the original
   * destination, as the listener's own rules decide); null: ugate answers 404.
   */
  unrouted: ((host: string | null) => UnroutedDecision) | null;
  /** the port a redirect without one keeps: the Gateway listener's, or the captured destination's */
  listenerPort: number;
  inbound: Inbound;
  rec: ConnectionRecord;
  /** what the connection is counted on (requests count on their own routes) */
  metered: Metered;
  /** the first request head must be complete by then (the sniff deadline) */
  firstDeadline: number;
  /** called once the first request head has been read: the connection's handshake is over */
  firstHead?: () => void;
}

type Upstream = PooledUpstream;

/** A failure while moving a body: which side failed decides who is told what. */
class PumpError extends Error {
  constructor(
    readonly side: 'client' | 'upstream',
    message: string,
    /** the body broke its framing (a client's → 400) */
    readonly malformed = false,
  ) {
    super(message);
  }
}

const STOPPED = 'stopped: the exchange is over';

type Exchange =
  | { kind: 'done'; status: number; keepClient: boolean; keepUpstream: boolean }
  /** a reused upstream connection had been closed by the backend before it saw this request */
  | { kind: 'stale' }
  | { kind: 'upgrade'; status: number }
  /** ugate answered (502/504) or the client is gone; the connection ends */
  | { kind: 'failed'; status: number | null; close: string; error: string };

const HOP_BY_HOP_NAMES = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade']);

/**
 * The hop-by-hop fields of a head: none; only "Connection: keep-alive" (which is what ugate
 * would say itself, so the head may go on as received); or others, which must be removed.
 */
function connectionFields(headers: readonly (readonly [string, string])[]): 'none' | 'keep-alive' | 'other' {
  let state: 'none' | 'keep-alive' = 'none';
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i]![0].toLowerCase();
    if (!HOP_BY_HOP_NAMES.has(name)) continue;
    if (name !== 'connection' || headers[i]![1].trim().toLowerCase() !== 'keep-alive') return 'other';
    state = 'keep-alive';
  }
  return state;
}

interface Target {
  path: string;
  query: string;
  hasQuery: boolean;
  /** the authority of an absolute-form target ("http://host:port/…"), else null */
  authority: string | null;
}

function splitTarget(target: string): Target {
  let t = target;
  let authority: string | null = null;
  if (t.charCodeAt(0) !== 0x2f /* / */) {
    // absolute-form (RFC 9112 §3.2.2): its authority, not Host, names the target
    const abs = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(t);
    if (abs) {
      authority = abs[1]!.slice(abs[1]!.lastIndexOf('@') + 1);
      t = t.slice(abs[0].length) || '/';
    }
  }
  const hash = t.indexOf('#');
  if (hash >= 0) t = t.slice(0, hash);
  const q = t.indexOf('?');
  return q < 0 ? { path: t, query: '', hasQuery: false, authority } : { path: t.slice(0, q), query: t.slice(q + 1), hasQuery: true, authority };
}

/** As for proxy clients, except that a backend name that does not resolve is an invalid backend reference: 500. */
function backendConnectStatus(kind: ConnectErrorKind): number {
  return kind === 'dns' ? 500 : connectFailureStatus(kind);
}

export class HttpSession {
  private current: Upstream | null = null;
  private forwarding: Forwarding | null = null;
  private aborted: CloseReason | null = null;
  private lastActivity: number;
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  private requests = 0;

  constructor(private readonly o: HttpSessionOptions) {
    this.lastActivity = o.ctx.rt.now();
  }

  /** Ends the connection now, whatever it is doing. */
  abort(reason: CloseReason): void {
    if (this.aborted) return;
    this.aborted = reason;
    if (this.forwarding) this.forwarding.abort(reason);
    // A request in progress is cut short: reset, so the client cannot take a cut response for a
    // whole one. Between requests a plain close says "no more requests here".
    if (this.current) {
      this.o.inbound.conn.abort();
      this.current.conn.abort();
    } else this.o.inbound.conn.close();
  }

  private touch(): void {
    this.lastActivity = this.o.ctx.rt.now();
  }

  /** One timer per connection, not one per read: a read marks activity, the timer checks it. */
  private armWatchdog(ms: number): void {
    const idleMs = this.o.ctx.config.timeouts.idleMs;
    if (idleMs <= 0) return;
    this.watchdog = setTimeout(() => {
      if (this.forwarding) return; // the data plane keeps its own idle deadline
      const idle = this.o.ctx.rt.now() - this.lastActivity;
      if (idle >= idleMs) this.abort('idle-timeout');
      else this.armWatchdog(idleMs - idle);
    }, ms);
  }

  async run(): Promise<void> {
    const { ctx, inbound, rec } = this.o;
    rec.proto = 'http';
    this.armWatchdog(ctx.config.timeouts.idleMs);
    let deadline = this.o.firstDeadline;
    try {
      for (;;) {
        const r = await readParsed(ctx.rt, inbound, (b) => parseHttp1Request(b, defaultHttp1Limits), deadline);
        this.touch();
        this.o.firstHead?.();
        if (this.aborted) {
          rec.close = this.aborted;
          return;
        }
        if (r.status !== 'ok' && r.status !== 'error') {
          if (inbound.buffer.length > 0 && r.status === 'timeout') {
            rec.close = 'request-timeout';
            await this.ownReply(408, 'request head not complete in time', [], true);
          } else rec.close = r.status === 'eof' ? 'eof' : 'idle-timeout';
          return;
        }
        if (r.status === 'error') {
          ctx.stats.handshakeFailed++;
          rec.close = 'bad-request';
          rec.error = `http: ${r.error}`;
          await this.ownReply(requestErrorStatus(r.error), r.error.message, [], true);
          return;
        }
        if (!(await this.serve(r.value, r.length))) return;
        // Between requests only the idle watchdog applies; once the next head has begun, it has
        // the sniff deadline to be complete (a trickling client cannot hold the connection).
        // An idle keep-alive connection gets its own, shorter timeout than the general idle one.
        const keepAliveMs = ctx.config.timeouts.keepAliveMs;
        const until = keepAliveMs > 0 ? ctx.rt.now() + keepAliveMs : Infinity;
        if (inbound.buffer.length === 0 && !(await inbound.fill(until, () => ctx.rt.now())) && !this.aborted) {
          rec.close = inbound.eof ? 'eof' : 'keepalive-timeout';
          return;
        }
        deadline = ctx.rt.now() + ctx.config.timeouts.sniffMs;
      }
    } catch (e) {
      rec.close ??= 'error';
      rec.error = e instanceof Error ? e.message : String(e);
    } finally {
      clearTimeout(this.watchdog);
      if (this.aborted) rec.close = this.aborted;
      this.closeUpstream(this.current);
      if (!this.forwarding) inbound.conn.close();
    }
  }

  /** Handles one request; true when the connection stays open for the next. */
  private async serve(head: HttpRequestHead, headLength: number): Promise<boolean> {
    // (head.host becomes the absolute-form authority's host below, when there is one)
    const { ctx, inbound, rec } = this.o;
    const started = ctx.rt.now();
    const req: RequestRecord = { listener: this.o.listener.name, client: inbound.conn.remote, method: head.method, host: head.host, target: head.target, up: 0, down: 0 };
    const log = (fields: Partial<RequestRecord>) => {
      Object.assign(req, fields);
      rec.up += req.up;
      rec.down += req.down;
      ctx.metrics.request(req, this.o.metered);
      if (ctx.config.accessLog) ctx.accessLog(formatRequestLog(req, ctx.rt.now() - started, ctx.config.accessLogFormat));
    };
    this.requests++;
    rec.requests = this.requests;

    const framing = requestBodyFraming(head.headers, head.version);
    if ('error' in framing) {
      rec.close = 'bad-request';
      const sent = this.ownReply(framing.status, framing.error, [], true, req);
      log({ status: framing.status, error: framing.error });
      await sent;
      return false;
    }
    // RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host.
    if (head.version === '1.1' && head.host === null) {
      rec.close = 'bad-request';
      const sent = this.ownReply(400, 'an HTTP/1.1 request needs a Host header', [], true, req);
      log({ status: 400, error: 'no Host header' });
      await sent;
      return false;
    }
    const clientKeepAlive = wantsKeepAlive(head.version, head.headers);
    // ugate answers by itself: the request body is not read, so the connection cannot go on.
    const answer = async (status: number, text: string, headers: [string, string][] = [], error?: string): Promise<boolean> => {
      const close = framing.type !== 'none' || !clientKeepAlive;
      const bytes = simpleResponse(status, { headers, body: `${text}\n`, close });
      log({ status, down: bytes.length, ...(error ? { error } : {}) });
      inbound.consume(headLength);
      return this.send(bytes, close);
    };
    if (head.method === 'CONNECT') return answer(405, 'CONNECT is not supported on this listener', [['allow', 'GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH']]);

    const { path, query, hasQuery, authority } = splitTarget(head.target);
    if (authority !== null) {
      const a = parseAuthority(authority);
      if (!a) return answer(400, 'invalid authority in the request target', [], 'bad absolute-form target');
      head = { ...head, host: a.host };
      req.host = a.host;
    }
    const decision = this.o.table.route({ host: head.host, method: head.method, path, query, headers: head.headers });
    let target: HttpTarget;
    let forbidden: UnroutedDecision['forbidden'];
    let rule: HttpRule | null = null;
    let upstreamHead: Uint8Array | null = null;
    if (decision.type !== 'rule') {
      const fallback = decision.type === 'no-host' && this.o.unrouted ? this.o.unrouted(head.host) : null;
      if (fallback === null) return answer(404, 'no route for this request', [], decision.type === 'no-host' ? 'no route for host' : 'no rule matches');
      req.route = fallback.route;
      req.action = fallback.action;
      if (fallback.target === null) return answer(403, 'blocked by ugate route', [], 'rejected by route');
      // Passed on untouched, as the listener would without HTTPRoutes: the head as received.
      target = fallback.target;
      forbidden = fallback.forbidden;
    } else {
      rule = decision.rule;
      const route = decision.attached.route;
      req.route = `${route.namespace}/${route.name}`;
      req.rule = rule.name ?? String(rule.index);
      if (rule.redirect) {
        const location = redirectLocation(rule.redirect, { scheme: 'http', host: head.host ?? inbound.conn.local.host, listenerPort: this.o.listenerPort, path, query }, decision.match);
        return answer(rule.redirect.statusCode, `redirect to ${location}`, [['location', location]]);
      }
      const backend = nextBackend(rule.backends);
      if (!backend) return answer(500, 'no backend for this route', [], rule.backends.length === 0 ? 'rule has no backends' : 'all backend weights are 0');
      if (backend.invalid) return answer(500, 'invalid backend for this route', [], `backend ${backend.host}:${backend.port}: ${backend.invalid}`);
      target = backend;
      // Every request on this listener goes to this one backend unchanged: the rest of the
      // connection is plain bytes to it (L4), so the data plane (splice) carries them.
      if (this.requests === 1 && this.o.table.constantBackend && this.o.unrouted === null) {
        rec.route = req.route;
        return this.handOver(target, head);
      }
      const upgrade = isUpgradeRequest(head.headers, head.version);
      const options = connectionFields(head.headers);
      if (rule.requestHeaders || rule.rewrite || authority !== null || options === 'other' || (head.version === '1.0' && options === 'none')) {
        // RFC 9110 §7.6.1: the client's connection options are not the backend's; an upgrade
        // keeps its Upgrade/Connection pair, and HTTP/1.0 asks to keep the connection.
        let headers = removeHopByHop(head.headers, { keepUpgrade: upgrade });
        if (head.version === '1.0' && !upgrade) headers.push(['Connection', 'keep-alive']);
        // An absolute-form target goes on in origin-form, its authority as Host (RFC 9112 §3.2.2).
        let t = authority === null ? head.target : path + (hasQuery ? `?${query}` : '');
        if (authority !== null) headers = [['Host', authority], ...headers.filter(([n]) => n.toLowerCase() !== 'host')];
        if (rule.rewrite?.path) t = rewritePath(path, rule.rewrite.path, decision.match) + (hasQuery ? `?${query}` : '');
        if (rule.rewrite?.hostname) {
          const hostname = rule.rewrite.hostname;
          headers = headers.map(([n, v]) => (n.toLowerCase() === 'host' ? [n, hostname] : [n, v]));
        }
        if (rule.requestHeaders) headers = applyHeaderModifier(headers, rule.requestHeaders);
        upstreamHead = serializeRequestHead(head.method, t, head.version, headers);
      }
    }
    req.backend = formatHostPort(target.host, target.port);
    let body: BodyFraming = framing;
    if (upstreamHead === null) {
      // Unchanged head: sent as received, with a body already here in the same write.
      const whole = framing.type === 'length' && inbound.buffer.length - headLength >= framing.length;
      upstreamHead = inbound.consume(headLength + (whole ? framing.length : 0));
      if (whole) body = { type: 'none' };
    } else inbound.consume(headLength);

    // Timeouts of the rule: `request` from now to the end of the response, `backendRequest`
    // from the first byte sent upstream to the end of the response.
    const requestMs = rule?.timeouts.requestMs ?? null;
    const backendMs = rule?.timeouts.backendRequestMs ?? null;
    const requestDeadline = requestMs === null ? Infinity : started + requestMs;
    let timedOut = false;
    let cancelTimer = () => {};
    const arm = (deadline: number) => {
      cancelTimer();
      if (deadline === Infinity) return;
      // A configured timeout means at least that long (see runtime/timer.ts).
      cancelTimer = afterAtLeast(Math.max(0, deadline - ctx.rt.now()), () => {
        timedOut = true;
        this.current?.conn.abort();
      });
    };
    arm(requestDeadline);
    try {
      for (let attempt = 0; ; attempt++) {
        let up: Upstream;
        const reused = attempt === 0 ? ctx.upstreams.take(`${target.host}|${target.port}`) : null;
        if (reused) up = reused;
        else {
          const leftMs = Math.min(ctx.config.timeouts.connectMs, requestDeadline - ctx.rt.now());
          try {
            up = await this.connect(target, leftMs, forbidden);
          } catch (e) {
            const ce = e instanceof ConnectError ? e : new ConnectError('other', String(e));
            // A backend name that does not resolve is an invalid backend reference: 500.
            const status = backendConnectStatus(ce.kind);
            rec.close = ce.kind === 'forbidden' ? 'rejected' : `connect-${ce.kind}`;
            if (ce.kind === 'forbidden') ctx.stats.rejected++;
            else ctx.stats.connectFailed++;
            const sent = this.ownReply(status, connectFailureText(ce.kind), [], true, req);
            log({ status, error: ce.message });
            await sent;
            return false;
          }
        }
        this.current = up;
        if (this.aborted) return false; // shut down while connecting: nothing more goes out
        arm(Math.min(requestDeadline, backendMs === null ? Infinity : ctx.rt.now() + backendMs));
        if (timedOut) up.conn.abort();
        // A reused connection the backend had already closed: the request is sent again, once,
        // when that is safe (idempotent, and no body was read from the client for it).
        const retryable = reused !== null && framing.type === 'none' && IDEMPOTENT.has(head.method);
        const x = await this.exchange(up, upstreamHead, head, body, rule, req, retryable);
        this.current = null;
        if (x.kind === 'stale') {
          req.up = 0;
          this.closeUpstream(up);
          continue;
        }
        if (x.kind === 'upgrade') {
          log({ status: x.status });
          await this.tunnel(up);
          return false;
        }
        if (x.kind === 'failed') {
          this.closeUpstream(up, true);
          if (timedOut) {
            rec.close = 'timeout';
            const status = req.status === undefined ? 504 : null;
            const sent = status ? this.ownReply(504, 'the backend did not answer in time', [], true, req) : null;
            log({ ...(status ? { status } : {}), error: 'route timeout' });
            if (sent) await sent;
            else inbound.conn.abort();
            return false;
          }
          rec.close = x.close;
          const answerIt = x.status !== null && req.status === undefined;
          // The client learns what failed; the backend's details stay in the log.
          const sent = answerIt ? this.ownReply(x.status!, x.status === 502 ? 'the backend failed to answer' : x.error, [], true, req) : null;
          log({ ...(answerIt ? { status: x.status! } : {}), error: x.error });
          if (sent) await sent;
          else if (x.close === 'upstream-reset' || x.close === 'bad-response') inbound.conn.abort();
          else inbound.conn.close();
          return false;
        }
        if (x.keepUpstream) ctx.upstreams.put(up);
        else this.closeUpstream(up);
        log({ status: x.status });
        if (!x.keepClient) {
          rec.close = 'eof';
          await replyAndClose(ctx.rt, inbound, null);
          return false;
        }
        return true;
      }
    } finally {
      cancelTimer();
    }
  }

  /**
   * Sends the request upstream and the response back: the request body and the response run at
   * once (a backend may answer before it has read the whole body).
   */
  private async exchange(up: Upstream, head: Uint8Array, req: HttpRequestHead, framing: BodyFraming, rule: HttpRule | null, rec: RequestRecord, retryable: boolean): Promise<Exchange> {
    try {
      await up.conn.write(head);
    } catch (e) {
      if (retryable) return { kind: 'stale' };
      return { kind: 'failed', status: 502, close: 'upstream-reset', error: `backend: ${(e as Error).message}` };
    }
    rec.up += head.length;
    let bodyDone = framing.type === 'none';
    let bodyFailure: PumpError | null = null;
    // Set when the exchange ends before the body did: the pump stops at its next chunk.
    const stop = { stopped: false };
    const body = bodyDone
      ? Promise.resolve()
      : this.pump(this.o.inbound, up.conn, framing, (n) => (rec.up += n), 'client', stop).then(
          () => void (bodyDone = true),
          (e: PumpError) => {
            bodyFailure = e;
            // The client is gone or sent a broken body: the backend must not take it as complete.
            if (e.side === 'client') up.conn.abort();
          },
        );
    const clientFailure = (): Exchange | null => {
      const f = bodyFailure as PumpError | null;
      if (!f || f.side !== 'client' || f.message === STOPPED) return null;
      return f.malformed ? { kind: 'failed', status: 400, close: 'bad-request', error: f.message } : { kind: 'failed', status: null, close: 'client-reset', error: f.message };
    };
    const upgrade = isUpgradeRequest(req.headers);
    let responseStarted = false;
    let answered = false; // any response byte (a 1xx too) came from the backend
    try {
      for (;;) {
        const r = await readParsed(this.o.ctx.rt, up.inbound, parseResponseHead, Infinity);
        this.touch();
        if (r.status !== 'ok') {
          // No answer: whatever the body pump is doing, the exchange is over.
          stop.stopped = true;
          const cf = clientFailure();
          if (cf) return cf;
          if (r.status === 'error') return { kind: 'failed', status: 502, close: 'bad-response', error: `backend response: ${r.error}` };
          // Closed before any byte of an answer: on a reused connection, the backend had let it go.
          if (retryable && up.inbound.buffer.length === 0) return { kind: 'stale' };
          return { kind: 'failed', status: 502, close: 'upstream-reset', error: 'backend closed the connection without a response' };
        }
        const rh = r.value;
        answered = true;
        if (rh.status < 200) {
          const raw = up.inbound.consume(r.length);
          if (rh.status === 101) {
            if (!upgrade) return { kind: 'failed', status: 502, close: 'bad-response', error: 'backend switched protocols unasked' };
            // The tunnel takes over the client's reads: the body's last read must be done first.
            await body;
            const cf = clientFailure();
            if (cf) return cf;
            responseStarted = true;
            await this.writeClient(raw);
            rec.down += raw.length;
            return { kind: 'upgrade', status: 101 };
          }
          // RFC 9110 §15.2: no 1xx to an HTTP/1.0 client.
          if (req.version === '1.1') {
            await this.writeClient(raw);
            rec.down += raw.length;
          }
          continue;
        }
        const rf = responseBodyFraming(req.method, rh.status, rh.headers, rh.version);
        if ('error' in rf) return { kind: 'failed', status: 502, close: 'bad-response', error: `backend response: ${rf.error}` };
        const responseKeepAlive = rf.type !== 'close' && wantsKeepAlive(rh.version, rh.headers);
        const clientKeepAlive = wantsKeepAlive(req.version, req.headers);
        // Routed: the client connection is ugate's own (RFC 9110 §7.6.1), it stays open unless the
        // client, a close-delimited body or an answer before the whole request body ends it.
        // Passed through: the head goes as received, so the backend's options hold for the client.
        const keepClient = rule ? clientKeepAlive && rf.type !== 'close' && bodyDone : clientKeepAlive && responseKeepAlive;
        let headers: readonly (readonly [string, string])[] | null = null;
        const options = rule ? connectionFields(rh.headers) : 'none';
        if (rule && (rule.responseHeaders || !keepClient || options === 'other' || (req.version === '1.0' && options === 'none'))) {
          const h = removeHopByHop(rh.headers);
          if (!keepClient) h.push(['Connection', 'close']);
          else if (req.version === '1.0') h.push(['Connection', 'keep-alive']);
          headers = rule.responseHeaders ? applyHeaderModifier(h, rule.responseHeaders) : h;
        }
        // An unchanged head goes as received, with a body already here in the same write.
        const whole = headers === null && rf.type === 'length' && up.inbound.buffer.length - r.length >= rf.length;
        const raw = up.inbound.consume(r.length + (whole ? (rf as { length: number }).length : 0));
        const out = headers ? serializeResponseHead(rh.version, rh.status, rh.reason, headers) : raw;
        responseStarted = true;
        rec.status = rh.status;
        await this.writeClient(out);
        rec.down += out.length;
        if (!whole) await this.pump(up.inbound, this.o.inbound.conn, rf, (n) => (rec.down += n), 'upstream', null);
        if (!bodyDone) {
          // Answered before the whole request body came: the response is complete, so both
          // connections end gracefully; the rest of the body is not wanted.
          stop.stopped = true;
          const f = clientFailure();
          if (f && f.kind === 'failed') return { kind: 'failed', status: null, close: f.close, error: f.error };
          return { kind: 'done', status: rh.status, keepClient: false, keepUpstream: false };
        }
        // A request forwarded as received that asked to close leaves the backend closing too.
        return { kind: 'done', status: rh.status, keepClient, keepUpstream: responseKeepAlive && (rule !== null || clientKeepAlive) };
      }
    } catch (e) {
      const pe = e instanceof PumpError ? e : new PumpError('upstream', e instanceof Error ? e.message : String(e));
      stop.stopped = true;
      up.conn.abort();
      const clientGone = pe.message === CLIENT_GONE;
      // Reset before any byte of an answer: on a reused connection, the backend had let it go.
      if (retryable && !answered && up.inbound.buffer.length === 0 && !clientGone) return { kind: 'stale' };
      const cf = clientFailure();
      if (cf && !responseStarted) return cf;
      // A response cut short reaches the client as a reset, so it cannot look complete.
      if (responseStarted || clientGone) return { kind: 'failed', status: null, close: clientGone ? 'client-reset' : 'upstream-reset', error: pe.message };
      return { kind: 'failed', status: 502, close: 'upstream-reset', error: `backend: ${pe.message}` };
    }
  }

  private async writeClient(data: Uint8Array): Promise<void> {
    try {
      await this.o.inbound.conn.write(data);
    } catch {
      throw new PumpError('client', CLIENT_GONE);
    }
  }

  /**
   * Moves one message body from `src` to `dst` by its framing; a failure is a PumpError naming the
   * side (client or upstream) that failed. `stop` ends it after the chunk in hand.
   */
  private async pump(src: Inbound, dst: Conn, framing: BodyFraming, count: (n: number) => void, from: 'client' | 'upstream', stop: { stopped: boolean } | null): Promise<void> {
    const to = from === 'client' ? 'upstream' : 'client';
    const write = async (b: Uint8Array) => {
      if (b.length === 0) return;
      try {
        await dst.write(b);
      } catch (e) {
        throw new PumpError(to, to === 'client' ? CLIENT_GONE : (e as Error).message);
      }
      count(b.length);
    };
    const fill = async (): Promise<boolean> => {
      let got: boolean;
      try {
        got = await src.fill(Infinity, () => 0);
      } catch (e) {
        throw new PumpError(from, (e as Error).message);
      }
      if (stop?.stopped) throw new PumpError(from, STOPPED);
      this.touch();
      return got;
    };
    switch (framing.type) {
      case 'none':
        return;
      case 'length': {
        let left = framing.length;
        while (left > 0) {
          if (src.buffer.length === 0 && !(await fill())) throw new PumpError(from, `body ended ${left} bytes short`);
          const n = Math.min(left, src.buffer.length);
          left -= n;
          await write(src.consume(n));
        }
        return;
      }
      case 'chunked': {
        const scanner = new ChunkedScanner();
        for (;;) {
          if (src.buffer.length === 0 && !(await fill())) throw new PumpError(from, 'chunked body ended early');
          const r = scanner.scan(src.buffer);
          if (r.status === 'error') throw new PumpError(from, `chunked body: ${r.error}`, true);
          await write(src.consume(r.consumed));
          if (r.status === 'done') return;
        }
      }
      case 'close':
        for (;;) {
          await write(src.consume(src.buffer.length));
          if (!(await fill())) return;
        }
    }
  }

  private async connect(target: HttpTarget, timeoutMs: number, forbidden?: UnroutedDecision['forbidden']): Promise<Upstream> {
    const { ctx } = this.o;
    const conn = await dial(ctx.rt, target.host, target.port, { timeoutMs, isSelf: ctx.isListenAddress, forbidden });
    const outboundKey = connectionKey(conn.local, conn.remote);
    ctx.outbound.add(outboundKey);
    return { key: `${target.host}|${target.port}`, conn, inbound: new Inbound(conn), outboundKey, idleSince: 0 };
  }

  private closeUpstream(up: Upstream | null, reset = false): void {
    if (!up) return;
    this.o.ctx.outbound.delete(up.outboundKey);
    if (reset) up.conn.abort();
    else up.conn.close();
  }

  /** ugate's own response; when `close`, the connection ends after it. True when it stays open. */
  private ownReply(status: number, text: string, headers: [string, string][], close: boolean, req?: RequestRecord): Promise<boolean> {
    const bytes = simpleResponse(status, { headers, body: `${text}\n`, close });
    if (req) req.down += bytes.length;
    return this.send(bytes, close);
  }

  private async send(bytes: Uint8Array, close: boolean): Promise<boolean> {
    const { ctx, inbound } = this.o;
    if (close) {
      await replyAndClose(ctx.rt, inbound, bytes);
      return false;
    }
    try {
      await inbound.conn.write(bytes);
      return true;
    } catch {
      this.o.rec.close = 'client-reset';
      return false;
    }
  }

  /** After a 101: both connections become one plain tunnel in the data plane. */
  private async tunnel(up: Upstream): Promise<void> {
    const { ctx, inbound, rec } = this.o;
    const prefix = inbound.buffer;
    inbound.buffer = new Uint8Array(0);
    this.forwarding = ctx.dataPlane.forward(inbound.release(), withReadAhead(up.conn, up.inbound.buffer), prefix, { idleMs: ctx.config.timeouts.idleMs, now: () => ctx.rt.now(), moved: ctx.moved });
    if (this.aborted) this.forwarding.abort(this.aborted);
    try {
      const result = await this.forwarding.done;
      rec.up += result.up;
      rec.down += result.down;
      rec.close = result.reason;
      if (result.error) rec.error = result.error;
    } finally {
      ctx.outbound.delete(up.outboundKey);
    }
  }

  /** The whole connection, this request's head included, goes to `target` as plain bytes. */
  private async handOver(target: HttpTarget, head: HttpRequestHead): Promise<boolean> {
    const { ctx, rec } = this.o;
    rec.action = 'forward';
    rec.host = head.host;
    rec.backend = formatHostPort(target.host, target.port);
    ctx.metrics.routed(rec.route ?? 'default', rec.backend, this.o.metered);
    let up: Upstream;
    try {
      up = await this.connect(target, ctx.config.timeouts.connectMs);
    } catch (e) {
      const ce = e instanceof ConnectError ? e : new ConnectError('other', String(e));
      ctx.stats.connectFailed++;
      rec.close = `connect-${ce.kind}`;
      rec.error = ce.message;
      await this.ownReply(backendConnectStatus(ce.kind), connectFailureText(ce.kind), [], true);
      return false;
    }
    // The head stays in the buffer: it is the first thing the backend gets, as received.
    ctx.stats.forwarded++;
    await this.tunnel(up);
    return false;
  }
}

const CLIENT_GONE = 'the client went away';
