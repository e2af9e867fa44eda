// The running service: the gateway, the firewall capture that feeds it, and what signals do to
// them. A reload (SIGHUP; procd's reload) applies a new configuration while serving: a new gateway
// takes over the sockets whose address stays (never closed, so no connection is refused), binds
// the new ones, the old gateway keeps its open connections until they end, and the capture rules
// follow. A configuration that is invalid, or that cannot start,
// is refused with its error in the log, and the running one keeps serving.

import { CaptureError, FirewallCapture, renderPlan } from './capture/firewall.ts';
import type { Config } from './config/model.ts';
import { bindKeys, Gateway, newStats, type LimitsView } from './core/gateway.ts';
import type { Refusal } from './core/limits.ts';
import { Metrics } from './core/metrics.ts';
import { AdminServer } from './admin/server.ts';
import { statsJson, type StatsJson } from './admin/stats.ts';
import type { Runtime } from './runtime/types.ts';
import { afterAtLeast } from './runtime/timer.ts';
import { VERSION } from './version.ts';
import { formatManifestIssue } from './gateway-api/validate.ts';

/** A gateway that a reload replaced keeps its connections this long at most (they have their own idle timeouts). */
const RETIRED_MAX_MS = 2 ** 31 - 1;
/** While capture cannot be installed (a zone without devices at boot, say), it is retried this often. */
const CAPTURE_RETRY_MS = 10_000;

export class Service {
  readonly stats = newStats();
  readonly metrics: Metrics;
  /** bytes the data planes have moved so far, open connections included */
  private readonly moved = { up: 0, down: 0 };
  private readonly admin: AdminServer;
  private readonly startedAt = new Date();
  private readonly startedMs: number;
  private appliedAt = new Date();
  private reloads = 0;
  private reloadsRefused = 0;
  private lastReloadError: { time: Date; message: string } | null = null;
  private gw: Gateway | null = null;
  private readonly retired = new Set<Gateway>();
  /** refusals by cap of the gateways a reload replaced */
  private readonly refusedBefore: Record<Refusal, number> = { connections: 0, 'per-source': 0, handshakes: 0, 'handshakes-per-source': 0 };
  private captureState: StatsJson['capture'] = { enabled: false, firewall: null, table: null, devices: [], ports: [], error: null };
  private readonly capture: FirewallCapture;
  private captureError: string | null = null;
  private cancelRetry: (() => void) | null = null;
  private reloading: Promise<void> | null = null;
  private reloadAgain = false;
  private stopped = false;

  constructor(
    private readonly rt: Runtime,
    private config: Config,
    /** reads and validates the configuration files again; throws with the reason */
    private readonly reread: () => Promise<Config>,
    private readonly log: (line: string) => void,
  ) {
    this.capture = new FirewallCapture(rt);
    this.metrics = new Metrics(() => rt.now());
    this.startedMs = rt.now();
    this.admin = new AdminServer(rt, (top) => this.statsJson(top), log);
  }

  get refused(): number {
    return Object.values(this.refusedBefore).reduce((a, b) => a + b, 0) + (this.gw?.refused ?? 0);
  }

  /** The statistics document (GET /stats): counters, limits, reload state, capture state. */
  statsJson(topHosts = 20): StatsJson {
    const gw = this.gw;
    for (const g of [...this.retired, ...(gw ? [gw] : [])]) g.sampleMoved();
    const view = gw?.limitsView() ?? null;
    const limits: LimitsView | null = view && { ...view, refused: addRefusals({ ...this.refusedBefore }, view.refused) };
    const addresses = gw?.addresses() ?? new Map<string, string[]>();
    return statsJson(
      {
        version: VERSION,
        runtime: `${this.rt.name} ${this.rt.version}`,
        pid: this.rt.pid,
        startedAt: this.startedAt,
        uptimeMs: this.rt.now() - this.startedMs,
        configAppliedAt: this.appliedAt,
        reloads: this.reloads,
        reloadsRefused: this.reloadsRefused,
        lastReloadError: this.lastReloadError,
        manifestIssues: (this.config.gatewayApi?.issues ?? []).map(formatManifestIssue),
        stats: this.stats,
        moved: { ...this.moved },
        refused: this.refused,
        limits,
        listeners: this.config.listeners.map((l) => ({ name: l.name, type: l.type, addresses: addresses.get(l.name) ?? [] })),
        routes: this.config.routes.map((r) => r.name),
        capture: this.captureState,
      },
      this.metrics,
      topHosts,
    );
  }

  get graceMs(): number {
    return this.config.timeouts.graceMs;
  }

  async start(): Promise<void> {
    const gw = new Gateway(this.rt, this.config, this.stats, this.metrics, this.moved);
    await gw.start();
    this.gw = gw;
    this.appliedAt = new Date();
    await this.listenAdmin('start');
    await this.applyCapture();
  }

  /** The statistics are not worth refusing service for: an admin address that cannot be bound is logged, and the gateway serves on. */
  private async listenAdmin(when: string): Promise<void> {
    try {
      await this.admin.listen(this.config.admin?.listen ?? null);
    } catch (e) {
      this.log(`${when}: ${(e as Error).message}; statistics are not served until a reload can bind it (setting admin.listen, UCI option admin)`);
    }
  }

  /** Installs, replaces or removes the capture rules as the configuration says; failures are logged and retried. */
  private async applyCapture(): Promise<void> {
    this.cancelRetry?.();
    this.cancelRetry = null;
    if (this.stopped) return;
    if (!this.config.capture.enabled) {
      await this.removeCapture();
      return;
    }
    try {
      const { plan, backend } = await this.capture.apply(this.config);
      this.captureState = { enabled: true, firewall: backend, table: this.capture.name, devices: plan.devices, ports: plan.ports, error: null };
      const c = this.config.capture;
      this.log(
        `capture on (${backend}, ${this.capture.name}): devices ${plan.devices.join(' ')} tcp ${plan.ports.join(',')} -> :${plan.redirectPort}, family ${c.family}, quic ${c.quic}` +
          `${plan.excludeSources.length + plan.excludeMacs.length + plan.excludeDestinations.length > 0 ? `, ${plan.excludeSources.length + plan.excludeMacs.length} source and ${plan.excludeDestinations.length} destination exclusion(s)` : ''}`,
      );
      this.captureError = null;
    } catch (e) {
      const message = e instanceof CaptureError ? e.message : `capture: ${(e as Error).message}`;
      // Logged when it changes, not every retry; ugate keeps serving its other listeners meanwhile.
      if (message !== this.captureError) this.log(`capture not installed, retrying every ${CAPTURE_RETRY_MS / 1000} s: ${message}`);
      this.captureError = message;
      await this.removeCapture();
      this.captureState = { ...this.captureState, error: message };
      this.cancelRetry = afterAtLeast(CAPTURE_RETRY_MS, () => void this.applyCapture());
    }
  }

  /** Never throws: a stop must go on even when the firewall tools cannot be run (the guard still removes the rules at exit). */
  private async removeCapture(): Promise<void> {
    this.captureState = { enabled: false, firewall: null, table: null, devices: [], ports: [], error: null };
    try {
      await this.capture.remove();
    } catch (e) {
      this.log(`capture: removing the rules failed: ${(e as Error).message}`);
    }
  }

  /** The rules this configuration would install, without installing them. */
  async renderCapture(): Promise<string> {
    const { plan, backend } = await this.capture.plan(this.config);
    return renderPlan(plan, backend);
  }

  /** Re-reads the configuration and applies it; reloads that arrive meanwhile are coalesced into one more. */
  reload(signal: string): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = this.doReload(signal).finally(() => {
      this.reloading = null;
      if (this.reloadAgain && !this.stopped) {
        this.reloadAgain = false;
        void this.reload(signal);
      }
    });
    return this.reloading;
  }

  private async doReload(signal: string): Promise<void> {
    let next: Config;
    try {
      next = await this.reread();
    } catch (e) {
      this.refuseReload(`${signal}: configuration refused, the running one keeps serving: ${(e as Error).message}`);
      return;
    }
    if (this.stopped || !this.gw) return;
    const old = this.gw;
    // Sockets whose address stays are handed over, never closed: no connection is refused while
    // the configuration changes. Those the new configuration drops close first, so that a port
    // they held can be bound again by a listener of another kind.
    const inherit = new Map(old.handOver().map((b) => [b.key, b]));
    const wanted = bindKeys(next);
    const dropped = [...inherit.values()].filter((b) => !wanted.has(b.key));
    for (const b of dropped) inherit.delete(b.key);
    await Promise.all(dropped.map((b) => b.listener.close()));
    const candidate = new Gateway(this.rt, next, this.stats, this.metrics, this.moved);
    try {
      await candidate.start(inherit);
    } catch (e) {
      this.refuseReload(`${signal}: configuration refused, it cannot start (${(e as Error).message}); the running one keeps serving`);
      const again = new Gateway(this.rt, this.config, this.stats, this.metrics, this.moved);
      try {
        await again.start(inherit);
      } catch (e2) {
        // Neither binds: exiting lets procd start ugate afresh rather than serve nothing.
        this.log(`${signal}: the running configuration cannot listen again either: ${(e2 as Error).message}; exiting`);
        await this.removeCapture();
        return this.rt.exit(1);
      }
      this.swap(old, again);
      return;
    }
    this.swap(old, candidate);
    this.config = next;
    this.reloads++;
    this.appliedAt = new Date();
    await this.listenAdmin(signal);
    await this.applyCapture();
    this.log(`${signal}: configuration applied; ${this.retired.size} earlier configuration(s) finishing ${this.metrics.connections.open} open connection(s)`);
  }

  private swap(old: Gateway, next: Gateway): void {
    this.gw = next;
    addRefusals(this.refusedBefore, old.limitsView()?.refused);
    this.retired.add(old);
    void old.stop(RETIRED_MAX_MS).then(() => this.retired.delete(old));
  }

  /** Logged, and kept for the statistics (LuCI shows it). */
  private refuseReload(message: string): void {
    this.reloadsRefused++;
    this.lastReloadError = { time: new Date(), message };
    this.log(message);
  }

  /** Capture off first, so new LAN connections go straight out, then every gateway drains. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    this.cancelRetry?.();
    await this.removeCapture();
    await this.admin.close();
    const all = [...this.retired, ...(this.gw ? [this.gw] : [])];
    await Promise.all(all.map((g) => g.stop(graceMs)));
  }
}

function addRefusals(into: Record<Refusal, number>, more: Record<Refusal, number> | undefined): Record<Refusal, number> {
  if (more) for (const k of Object.keys(into) as Refusal[]) into[k] += more[k];
  return into;
}
