// The statistics as Prometheus text (exposition format 0.0.4, GET /metrics): `ugate_` metrics,
// counters ending in _total, base units (bytes, seconds), one family per name with HELP and TYPE.
// Hostnames are not exported: a label per name a client may invent has no bound (they are in
// /stats, windowed and capped).

import type { StatsJson } from './stats.ts';

type Labels = Record<string, string>;
type Sample = [labels: Labels, value: number];

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return String(v);
}

class Exposition {
  private readonly out: string[] = [];

  family(name: string, type: 'counter' | 'gauge', help: string, samples: Sample[]): void {
    this.out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels);
      this.out.push(`${name}${l.length === 0 ? '' : `{${l.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`} ${formatValue(value)}`);
    }
  }

  text(): string {
    return `${this.out.join('\n')}\n`;
  }
}

function perEntry<T>(items: T[], labels: (x: T) => Labels, value: (x: T) => number): Sample[] {
  return items.map((x) => [labels(x), value(x)]);
}

function perKey<T>(items: T[], labels: (x: T) => Labels, key: string, map: (x: T) => Record<string, number>): Sample[] {
  return items.flatMap((x) => Object.entries(map(x)).map(([k, v]): Sample => [{ ...labels(x), [key]: k }, v]));
}

function bytes<T extends { bytes: { up: number; down: number } }>(items: T[], labels: (x: T) => Labels): Sample[] {
  return items.flatMap((x): Sample[] => [
    [{ ...labels(x), direction: 'up' }, x.bytes.up],
    [{ ...labels(x), direction: 'down' }, x.bytes.down],
  ]);
}

export function prometheusText(s: StatsJson): string {
  const e = new Exposition();
  e.family('ugate_info', 'gauge', 'Version and runtime of the running ugate (always 1).', [[{ version: s.ugate.version, runtime: s.ugate.runtime }, 1]]);
  e.family('ugate_start_time_seconds', 'gauge', 'When the process started, in seconds since the Unix epoch.', [[{}, Date.parse(s.ugate.started) / 1000]]);
  const lastFailed = s.config.last_error !== null && Date.parse(s.config.last_error.time) >= Date.parse(s.config.applied);
  e.family('ugate_config_last_reload_successful', 'gauge', 'Whether the last configuration reload was applied (1) or refused (0).', [[{}, lastFailed ? 0 : 1]]);
  e.family('ugate_config_last_reload_success_timestamp_seconds', 'gauge', 'When the running configuration was applied, in seconds since the Unix epoch.', [
    [{}, Date.parse(s.config.applied) / 1000],
  ]);
  e.family('ugate_config_reloads_total', 'counter', 'Configuration reloads, by result.', [
    [{ result: 'applied' }, s.config.reloads],
    [{ result: 'refused' }, s.config.refused],
  ]);

  const c = s.connections;
  e.family('ugate_connections_open', 'gauge', 'Client connections open now.', [[{}, c.open]]);
  e.family('ugate_connections_accepted_total', 'counter', 'Client connections accepted.', [[{}, c.accepted]]);
  e.family('ugate_connection_outcomes_total', 'counter', 'Accepted connections by what ugate did with them.', [
    [{ outcome: 'forwarded' }, c.forwarded],
    [{ outcome: 'rejected' }, c.rejected],
    [{ outcome: 'connect_failed' }, c.connect_failed],
    [{ outcome: 'handshake_failed' }, c.handshake_failed],
    [{ outcome: 'no_original_dst' }, c.no_original_dst],
  ]);
  e.family('ugate_forwarded_bytes_total', 'counter', 'Bytes forwarded so far, open connections included, by direction (up: client to upstream).', [
    [{ direction: 'up' }, s.forwarded_bytes.up],
    [{ direction: 'down' }, s.forwarded_bytes.down],
  ]);
  const lim = s.limits;
  if (lim) {
    e.family('ugate_connections_refused_total', 'counter', 'Connections reset at accept because a cap was reached, by cap.', perKey([lim], () => ({}), 'limit', (l) => l.refused));
    e.family('ugate_limit', 'gauge', 'The caps in force.', [
      [{ limit: 'connections' }, lim.connections.cap],
      [{ limit: 'per_source' }, lim.per_source.cap],
      [{ limit: 'handshakes' }, lim.handshakes.cap],
      [{ limit: 'handshakes_per_source' }, lim.handshakes_per_source.cap],
    ]);
    e.family('ugate_limit_in_use', 'gauge', 'What counts against the caps now.', [
      [{ limit: 'connections' }, lim.connections.open],
      [{ limit: 'handshakes' }, lim.handshakes.open],
    ]);
    e.family('ugate_sources_open', 'gauge', 'Client addresses with an open connection.', [[{}, lim.sources]]);
    if (lim.open_files !== null) e.family('ugate_open_files_limit', 'gauge', 'The soft open-files limit the automatic caps derive from.', [[{}, lim.open_files]]);
  }

  const byListener = (l: { name: string }) => ({ listener: l.name });
  const L = s.listeners;
  e.family('ugate_listener_connections_total', 'counter', 'Connections accepted, by listener.', perEntry(L, byListener, (l) => l.connections.total));
  e.family('ugate_listener_connections_open', 'gauge', 'Connections open now, by listener.', perEntry(L, byListener, (l) => l.connections.open));
  e.family('ugate_listener_bytes_total', 'counter', 'Bytes of ended connections, by listener and direction (up: client to upstream).', bytes(L, byListener));
  e.family('ugate_listener_requests_total', 'counter', 'HTTP requests served per request (HTTPRoute), by listener.', perEntry(L, byListener, (l) => l.requests));
  e.family('ugate_listener_sniffed_total', 'counter', 'Ended connections by the protocol recognised (opaque: none), by listener.', perKey(L, byListener, 'protocol', (l) => l.sniffed));
  e.family('ugate_listener_sniff_failures_total', 'counter', 'Sniffing that recognised no protocol, by listener and reason.', perKey(L, byListener, 'reason', (l) => l.sniff_failures));
  e.family('ugate_listener_closes_total', 'counter', 'Ended connections by how they ended, by listener.', perKey(L, byListener, 'reason', (l) => l.closes));
  e.family('ugate_listener_errors_total', 'counter', 'Connections that ended with an error, by listener.', perEntry(L, byListener, (l) => l.errors));

  const byRoute = (r: { name: string }) => ({ route: r.name });
  const R = s.routes;
  e.family('ugate_route_connections_total', 'counter', 'Connections routed as a whole, by route.', perEntry(R, byRoute, (r) => r.connections.total));
  e.family('ugate_route_connections_open', 'gauge', 'Connections open now, by route.', perEntry(R, byRoute, (r) => r.connections.open));
  e.family('ugate_route_bytes_total', 'counter', 'Bytes of ended connections and requests, by route and direction.', bytes(R, byRoute));
  e.family('ugate_route_requests_total', 'counter', 'HTTP requests, by route.', perEntry(R, byRoute, (r) => r.requests));
  e.family('ugate_route_responses_total', 'counter', 'HTTP responses by status class (none: no response sent), by route.', perKey(R, byRoute, 'code', (r) => r.responses));

  const byBackend = (b: { name: string }) => ({ backend: b.name });
  const B = s.backends;
  e.family('ugate_backend_connections_total', 'counter', 'Connections forwarded to a configured backend.', perEntry(B, byBackend, (b) => b.connections.total));
  e.family('ugate_backend_connections_open', 'gauge', 'Connections open now to a configured backend.', perEntry(B, byBackend, (b) => b.connections.open));
  e.family('ugate_backend_bytes_total', 'counter', 'Bytes exchanged with a configured backend, by direction.', bytes(B, byBackend));
  e.family('ugate_backend_requests_total', 'counter', 'HTTP requests sent to a configured backend.', perEntry(B, byBackend, (b) => b.requests));
  e.family('ugate_backend_errors_total', 'counter', 'Failed connects to, and requests without a response from, a configured backend.', perEntry(B, byBackend, (b) => b.errors));

  e.family('ugate_capture_enabled', 'gauge', 'Whether the firewall capture rules are installed (1) or not (0).', [[{}, s.capture.enabled ? 1 : 0]]);
  return e.text();
}
