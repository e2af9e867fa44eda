// The statistics document the admin endpoint serves (GET /stats) and `ugate status` prints: one
// plain JSON object built from the service's counters. Field names are part of the interface
// (LuCI's status page and scripts read them): add fields, never rename them.

import type { Stats } from '../core/handshake.ts';
import type { LimitsView } from '../core/gateway.ts';
import type { HostCount, Metrics, Traffic } from '../core/metrics.ts';

export interface TrafficJson {
  connections: { open: number; total: number };
  bytes: { up: number; down: number };
  requests: number;
}

export interface StatsJson {
  ugate: { version: string; runtime: string; pid: number; started: string; uptime_seconds: number };
  config: {
    applied: string;
    reloads: number;
    refused: number;
    last_error: { time: string; message: string } | null;
    /** what the running configuration's Gateway API manifests had that ugate left out, one line each */
    manifest_issues: string[];
  };
  connections: { open: number; accepted: number; refused: number; forwarded: number; rejected: number; connect_failed: number; handshake_failed: number; no_original_dst: number };
  /** bytes of connections that have ended, by direction (up: client → upstream) */
  bytes: { up: number; down: number };
  /** bytes forwarded so far, open connections included (live: rates come from these) */
  forwarded_bytes: { up: number; down: number };
  limits: {
    open_files: number | null;
    connections: { cap: number; open: number };
    handshakes: { cap: number; open: number };
    per_source: { cap: number };
    handshakes_per_source: { cap: number };
    sources: number;
    refused: { connections: number; per_source: number; handshakes: number; handshakes_per_source: number };
  } | null;
  listeners: (TrafficJson & {
    name: string;
    type: string | null;
    addresses: string[];
    sniffed: Record<string, number>;
    sniff_failures: Record<string, number>;
    closes: Record<string, number>;
    errors: number;
  })[];
  routes: (TrafficJson & { name: string; responses: Record<string, number> })[];
  backends: (TrafficJson & { name: string; errors: number })[];
  top_hosts: { window_seconds: number; hosts: HostCount[]; others: number };
  capture: { enabled: boolean; firewall: string | null; table: string | null; devices: string[]; ports: number[]; error: string | null };
}

/** What the service knows that the counters do not. */
export interface ServiceFacts {
  version: string;
  runtime: string;
  pid: number;
  startedAt: Date;
  uptimeMs: number;
  configAppliedAt: Date;
  reloads: number;
  reloadsRefused: number;
  lastReloadError: { time: Date; message: string } | null;
  manifestIssues: string[];
  stats: Stats;
  /** bytes the data planes have moved so far */
  moved: { up: number; down: number };
  refused: number;
  limits: LimitsView | null;
  /** listeners of the running configuration: type and bound addresses */
  listeners: { name: string; type: string; addresses: string[] }[];
  /** route names of the running configuration, shown even before their first connection */
  routes: string[];
  capture: StatsJson['capture'];
}

const record = (m: Map<string, number>): Record<string, number> => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)));

function traffic(t: Traffic | undefined): TrafficJson {
  return { connections: { open: t?.open ?? 0, total: t?.total ?? 0 }, bytes: { up: t?.up ?? 0, down: t?.down ?? 0 }, requests: t?.requests ?? 0 };
}

/** Names in the configuration first (in its order), then those only the counters know (from an earlier configuration). */
function names(configured: string[], counted: Iterable<string>): string[] {
  const out = [...new Set(configured)];
  for (const n of [...counted].sort()) if (!out.includes(n)) out.push(n);
  return out;
}

export function statsJson(f: ServiceFacts, m: Metrics, topHosts = 20): StatsJson {
  const lim = f.limits;
  let up = 0;
  let down = 0;
  for (const l of m.listeners.values()) {
    up += l.up;
    down += l.down;
  }
  return {
    ugate: { version: f.version, runtime: f.runtime, pid: f.pid, started: f.startedAt.toISOString(), uptime_seconds: Math.round(f.uptimeMs / 100) / 10 },
    config: {
      applied: f.configAppliedAt.toISOString(),
      reloads: f.reloads,
      refused: f.reloadsRefused,
      last_error: f.lastReloadError && { time: f.lastReloadError.time.toISOString(), message: f.lastReloadError.message },
      manifest_issues: f.manifestIssues,
    },
    connections: {
      open: m.connections.open,
      accepted: m.connections.total,
      refused: f.refused,
      forwarded: f.stats.forwarded,
      rejected: f.stats.rejected,
      connect_failed: f.stats.connectFailed,
      handshake_failed: f.stats.handshakeFailed,
      no_original_dst: f.stats.noOriginalDestination,
    },
    bytes: { up, down },
    forwarded_bytes: { up: f.moved.up, down: f.moved.down },
    limits: lim && {
      open_files: lim.openFiles,
      connections: { cap: lim.limits.connections, open: lim.open },
      handshakes: { cap: lim.limits.handshakes, open: lim.inHandshake },
      per_source: { cap: lim.limits.perSource },
      handshakes_per_source: { cap: lim.limits.handshakesPerSource },
      sources: lim.sources,
      refused: {
        connections: lim.refused.connections,
        per_source: lim.refused['per-source'],
        handshakes: lim.refused.handshakes,
        handshakes_per_source: lim.refused['handshakes-per-source'],
      },
    },
    listeners: names(
      f.listeners.map((l) => l.name),
      m.listeners.keys(),
    ).map((name) => {
      const c = m.listeners.get(name);
      const l = f.listeners.find((x) => x.name === name);
      return {
        name,
        type: l?.type ?? null,
        addresses: l?.addresses ?? [],
        ...traffic(c),
        sniffed: c ? record(c.sniffed) : {},
        sniff_failures: c ? record(c.sniffFailures) : {},
        closes: c ? record(c.closes) : {},
        errors: c?.errors ?? 0,
      };
    }),
    routes: names(f.routes, m.routes.keys()).map((name) => {
      const c = m.routes.get(name);
      return { name, ...traffic(c), responses: c ? record(c.responses) : {} };
    }),
    backends: [...m.backends.keys()].sort().map((name) => {
      const c = m.backends.get(name)!;
      return { name, ...traffic(c), errors: c.errors };
    }),
    top_hosts: { window_seconds: m.hosts.windowSeconds, ...m.hosts.top(topHosts) },
    capture: f.capture,
  };
}
