// The running gateway: binds every listener, runs a Session per accepted connection, and drains
// on shutdown (stop accepting, wait up to the grace period, then close what is left).

import type { Config } from '../config/model.ts';
import { isLoopbackBind } from '../config/schema.ts';
import { formatHostPort } from '../route/cidr.ts';
import { HttpRouteTable } from '../gateway-api/http-table.ts';
import { TlsRouteTable } from '../gateway-api/tls-table.ts';
import { Router } from '../route/router.ts';
import { afterAtLeast } from '../runtime/timer.ts';
import type { Conn, Listener, Runtime } from '../runtime/types.ts';
import { openDataPlane } from './data-plane.ts';
import { jsPump, type Moved } from './forward.ts';
import { AuthThrottle } from './auth-throttle.ts';
import { GatewayHost } from './local-destination.ts';
import { Admission, effectiveLimits, openFilesLimit, RefusalLog, type EffectiveLimits, type Refusal } from './limits.ts';
import type { SessionContext, Stats } from './handshake.ts';
import { Metrics } from './metrics.ts';
import { Session } from './session.ts';
import { UpstreamPool } from './upstream-pool.ts';

const ABORT_WAIT_MS = 1000;

const isWildcard = (ip: string) => ip === '0.0.0.0' || ip === '::';

/**
 * A bound socket and where its connections go. A reload hands it to the next gateway, which points
 * `accept` at itself: the socket, and the connections waiting in its queue, are never closed.
 */
export interface BoundListener {
  readonly key: string;
  listener: Listener;
  accept: (conn: Conn) => void;
}

/** Sockets are kept across a reload when the same address is bound for the same kind of listener. */
function bindKey(l: Config['listeners'][number], addr: { host: string; port: number }, index: number): string {
  const kind = l.type === 'redirect' ? 'original-destination' : 'plain';
  // "any free port" is not an address: it is the same socket only for the same listener and entry
  return addr.port === 0 ? `${kind}|${addr.host}|0|${l.name}|${index}` : `${kind}|${addr.host}|${addr.port}`;
}

/** The keys of every socket `config` binds. */
export function bindKeys(config: Config): Set<string> {
  return new Set(config.listeners.flatMap((l) => l.listen.map((a, i) => bindKey(l, a, i))));
}

export function newStats(): Stats {
  return { forwarded: 0, rejected: 0, noOriginalDestination: 0, connectFailed: 0, handshakeFailed: 0 };
}

/** The caps in force and how close the gateway is to them. */
export interface LimitsView {
  limits: EffectiveLimits;
  /** the soft open-files limit the "auto" caps came from; null when unlimited or unknown */
  openFiles: number | null;
  open: number;
  inHandshake: number;
  sources: number;
  refused: Record<Refusal, number>;
}

export class Gateway {
  private readonly bound: BoundListener[] = [];
  private readonly sessions = new Set<Session>();
  private readonly ctx: SessionContext;
  private idle: (() => void) | null = null;
  private finished: Promise<void> | null = null;
  private readonly graceTimers: (() => void)[] = [];
  private refusals: RefusalLog | null = null;
  private admission: Admission | null = null;
  private openFiles: number | null = null;

  /** connections refused at accept by a cap */
  get refused(): number {
    return this.refusals?.count ?? 0;
  }

  constructor(
    private readonly rt: Runtime,
    config: Config,
    /** shared by the gateways that a reload replaces one with another, so counts carry on */
    readonly stats: Stats = newStats(),
    readonly metrics: Metrics = new Metrics(() => rt.now()),
    moved: Moved = { up: 0, down: 0 },
  ) {
    this.ctx = {
      rt,
      config,
      router: new Router(config),
      stats: this.stats,
      metrics,
      moved,
      accessLog: (line) => rt.stdout(`${line}\n`),
      isListenAddress: (ip, port) =>
        this.bound.some(({ listener: l }) => l.address.port === port && (l.address.host === ip || (isWildcard(l.address.host) && isLoopbackBind(ip)))),
      outbound: new Set(),
      dataPlane: jsPump,
      tables: new Map(),
      gatewayHost: new GatewayHost({ listAddresses: () => rt.localAddresses(), readFile: (path) => rt.readFile(path), now: () => rt.now() }),
      authThrottle: new AuthThrottle(() => rt.now()),
      upstreams: new UpstreamPool({
        now: () => rt.now(),
        release: (u) => {
          this.ctx.outbound.delete(u.outboundKey);
          u.conn.close();
        },
      }),
    };
    for (const l of config.listeners) {
      const routes = l.gatewayApi;
      if (!routes) continue;
      // A Gateway HTTP listener serves requests even with no route attached (each gets a 404).
      const http = routes.http.length > 0 || l.type === 'http' ? new HttpRouteTable(routes) : null;
      const tls = routes.tls.length > 0 ? new TlsRouteTable(routes) : null;
      this.ctx.tables.set(l.name, { http, tls });
    }
  }

  /**
   * Binds all listeners, taking over the sockets in `inherit` (from the gateway a reload replaces)
   * whose address and kind are unchanged. If one fails, closes what it bound, gives the sockets it
   * took back to `inherit`, and rethrows.
   */
  async start(inherit: Map<string, BoundListener> = new Map()): Promise<void> {
    const procLimits = await this.rt.readFile('/proc/self/limits').then((b) => new TextDecoder().decode(b), () => '');
    const openFiles = (this.openFiles = openFilesLimit(procLimits));
    const limits = effectiveLimits(this.ctx.config.limits, openFiles);
    const admission = (this.admission = new Admission(limits));
    this.refusals = new RefusalLog(limits, () => this.rt.now(), (line) => this.rt.stderr(`${line}\n`));
    this.rt.stderr(
      `ugate: limits connections=${limits.connections} per_source=${limits.perSource} handshakes=${limits.handshakes} handshakes_per_source=${limits.handshakesPerSource} (open files limit ${openFiles ?? 'unknown'})\n`,
    );
    this.ctx.dataPlane = await openDataPlane(this.rt, this.ctx.config, this.ctx.moved);
    const inheritedKeys = new Set(inherit.keys());
    try {
      for (const l of this.ctx.config.listeners) {
        const accept = (conn: Conn) => {
          const source = conn.remote.host;
          const refusal = admission.admit(source);
          if (refusal) {
            // Refused as cheaply as possible: a reset now, no session, a count and a summary line.
            conn.abort();
            this.refusals!.note(refusal, source);
            return;
          }
          const session = new Session(this.ctx, l, conn, () => admission.handshakeDone(source));
          this.metrics.accepted(l.name);
          this.sessions.add(session);
          void session.run().finally(() => {
            admission.release(source, !session.handshakeFinished);
            this.sessions.delete(session);
            if (this.sessions.size === 0) this.idle?.();
          });
        };
        for (const [i, addr] of l.listen.entries()) {
          const key = bindKey(l, addr, i);
          const kept = inherit.get(key);
          if (kept) {
            inherit.delete(key);
            kept.accept = accept;
            this.bound.push(kept);
            this.rt.stderr(`ugate: listening listener=${l.name} type=${l.type} addr=${formatHostPort(kept.listener.address.host, kept.listener.address.port)} (kept)\n`);
            continue;
          }
          const b: BoundListener = { key, listener: null as unknown as Listener, accept };
          try {
            b.listener = await this.rt.listen(addr.host, addr.port, (conn) => b.accept(conn), { originalDestination: l.type === 'redirect' });
          } catch (e) {
            throw new Error(`listener ${l.name}: ${(e as Error).message}`);
          }
          this.bound.push(b);
          this.rt.stderr(`ugate: listening listener=${l.name} type=${l.type} addr=${formatHostPort(b.listener.address.host, b.listener.address.port)}\n`);
        }
      }
    } catch (e) {
      for (const b of this.handOver()) inherit.set(b.key, b);
      // the ones it bound itself are not in the previous gateway's set: close them
      for (const [key, b] of inherit) {
        if (!inheritedKeys.has(key)) {
          inherit.delete(key);
          await b.listener.close();
        }
      }
      this.ctx.dataPlane.close();
      throw e;
    }
  }

  /** Brings the shared `moved` totals up to date with the data plane's own counts. */
  sampleMoved(): void {
    this.ctx.dataPlane.sample();
  }

  /** Null until start() has run. */
  limitsView(): LimitsView | null {
    const a = this.admission;
    if (!a || !this.refusals) return null;
    return { limits: a.limits, openFiles: this.openFiles, open: a.openConnections, inHandshake: a.inHandshake, sources: a.sourceCount, refused: { ...this.refusals.total } };
  }

  /** The addresses it listens on now, by listener name. */
  addresses(): Map<string, string[]> {
    const out = new Map<string, string[]>(this.ctx.config.listeners.map((l) => [l.name, []]));
    for (const b of this.bound) {
      const name = this.ctx.config.listeners.find((l) => l.listen.some((a, i) => bindKey(l, a, i) === b.key))?.name;
      if (name !== undefined) out.get(name)!.push(formatHostPort(b.listener.address.host, b.listener.address.port));
    }
    return out;
  }

  /** Stop accepting; open connections are untouched. Resolves once the ports are free. */
  async closeListeners(): Promise<void> {
    await Promise.all(this.bound.splice(0).map((b) => b.listener.close()));
  }

  /**
   * Gives up its sockets without closing them, for the gateway that replaces this one; until that
   * one takes them, their connections still come here. Open connections are untouched.
   */
  handOver(): BoundListener[] {
    return this.bound.splice(0);
  }

  /** Resolves once no session is left, or once `forceAfter` (set by abortAll) gives up waiting. */
  private untilIdle(): Promise<void> {
    if (this.sessions.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.idle = resolve));
  }

  /** Aborts what is left; the last access-log lines are waited for at most ABORT_WAIT_MS. */
  private abortAll(): void {
    if (this.sessions.size === 0) return;
    const left = [...this.sessions];
    this.rt.stderr(`ugate: grace period over, closing ${left.length} connection(s)\n`);
    // Aborting closes every socket; a session still dialing ends only when its connect attempt
    // does, so the wait for the last access-log lines is bounded.
    afterAtLeast(ABORT_WAIT_MS, () => this.idle?.());
    for (const s of left) s.abort('shutdown');
  }

  /**
   * Stops accepting, lets open connections finish for up to `graceMs`, then closes the rest. A
   * second call with a shorter grace (shutdown after a reload retired this gateway) cuts it short.
   */
  stop(graceMs: number): Promise<void> {
    void this.closeListeners();
    if (this.sessions.size > 0) this.graceTimers.push(afterAtLeast(graceMs, () => this.abortAll()));
    return (this.finished ??= this.finish());
  }

  private async finish(): Promise<void> {
    await this.untilIdle();
    for (const cancel of this.graceTimers.splice(0)) cancel();
    this.ctx.upstreams.closeAll();
    this.refusals?.close();
    const summary = this.ctx.dataPlane.summary();
    if (summary) this.rt.stderr(`ugate: ${summary}\n`);
    // Pairs the engine still holds (a session that did not end in time) are closed with it.
    this.ctx.dataPlane.close();
  }
}
