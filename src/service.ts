// The running service: the gateway, the firewall capture that feeds it, and what signals do to
// them. A reload (SIGHUP; procd's reload) applies a new configuration while serving: a new gateway
// takes over the sockets whose address stays (never closed, so no connection is refused), binds
// the new ones, the old gateway keeps its open connections until they end, and the capture rules
// follow. A configuration that is invalid, or that cannot start,
// is refused with its error in the log, and the running one keeps serving.

import { CaptureError, FirewallCapture, renderPlan } from './capture/firewall.ts';
import type { Config } from './config/model.ts';
import { bindKeys, Gateway, newStats } from './core/gateway.ts';
import type { Runtime } from './runtime/types.ts';
import { afterAtLeast } from './runtime/timer.ts';

/** A gateway that a reload replaced keeps its connections this long at most (they have their own idle timeouts). */
const RETIRED_MAX_MS = 2 ** 31 - 1;
/** While capture cannot be installed (a zone without devices at boot, say), it is retried this often. */
const CAPTURE_RETRY_MS = 10_000;

export class Service {
  readonly stats = newStats();
  private gw: Gateway | null = null;
  private readonly retired = new Set<Gateway>();
  private refusedBefore = 0;
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
  }

  get refused(): number {
    return this.refusedBefore + (this.gw?.refused ?? 0);
  }

  get graceMs(): number {
    return this.config.timeouts.graceMs;
  }

  async start(): Promise<void> {
    const gw = new Gateway(this.rt, this.config, this.stats);
    await gw.start();
    this.gw = gw;
    await this.applyCapture();
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
      this.cancelRetry = afterAtLeast(CAPTURE_RETRY_MS, () => void this.applyCapture());
    }
  }

  /** Never throws: a stop must go on even when the firewall tools cannot be run (the guard still removes the rules at exit). */
  private async removeCapture(): Promise<void> {
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
      this.log(`${signal}: configuration refused, the running one keeps serving: ${(e as Error).message}`);
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
    const candidate = new Gateway(this.rt, next, this.stats);
    try {
      await candidate.start(inherit);
    } catch (e) {
      this.log(`${signal}: configuration refused, it cannot start (${(e as Error).message}); the running one keeps serving`);
      const again = new Gateway(this.rt, this.config, this.stats);
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
    await this.applyCapture();
    this.log(`${signal}: configuration applied; ${this.retired.size} earlier configuration(s) finishing ${this.stats.active} open connection(s)`);
  }

  private swap(old: Gateway, next: Gateway): void {
    this.gw = next;
    this.refusedBefore += old.refused;
    this.retired.add(old);
    void old.stop(RETIRED_MAX_MS).then(() => this.retired.delete(old));
  }

  /** Capture off first, so new LAN connections go straight out, then every gateway drains. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    this.cancelRetry?.();
    await this.removeCapture();
    const all = [...this.retired, ...(this.gw ? [this.gw] : [])];
    await Promise.all(all.map((g) => g.stop(graceMs)));
  }
}
