// Maps /etc/config/ugate (UCI) onto the JSON configuration shape, so both forms share one
// validation. Every section type and option is known here: anything else is reported, never ignored.
//
//   config ugate 'main'            sniff_timeout, connect_timeout, idle_timeout, grace_period,
//                                  keepalive_timeout, sniff_max_bytes, access_log,
//                                  access_log_format (logfmt|json),
//                                  data_plane (auto|splice|js), splice_library, splice_pipe_size,
//                                  splice_pipe_pool, max_connections, max_connections_per_source,
//                                  max_handshakes, max_handshakes_per_source,
//                                  capture (0|1), capture_listener, capture_zone, capture_device,
//                                  capture_port, capture_exclude_src, capture_exclude_mac,
//                                  capture_exclude_dst (lists), capture_family (any|ipv4|ipv6),
//                                  quic (block|pass), firewall (auto|nftables|iptables),
//                                  admin (loopback host:port of the statistics endpoint),
//                                  manifest (list: Gateway API YAML files or directories)
//   config service '<name>'        respawn_threshold, respawn_timeout, respawn_retry, nofile: read
//                                  by the init script (procd), checked here
//   config listener '<name>'       type, listen (list), default (passthrough|reject|forward),
//                                  backend (with default 'forward'), user (list of "name:password")
//   config route '<name>'          enabled, listener, protocol, host, dst_port, dst_cidr, src_cidr
//                                  (lists), action (forward|passthrough|reject), backend,
//                                  allow_gateway_host
// A section with `option enabled '0'` is skipped (the UCI convention for a disabled entry).

import type { ConfigIssue } from './schema.ts';
import { parseUci, sectionLabel, type UciSection, type UciValue } from './uci.ts';

type Field = { key: string; list: boolean };

const GLOBAL_OPTIONS: Record<string, Field> = {
  sniff_timeout: { key: 'timeouts.sniff', list: false },
  connect_timeout: { key: 'timeouts.connect', list: false },
  idle_timeout: { key: 'timeouts.idle', list: false },
  grace_period: { key: 'timeouts.grace', list: false },
  keepalive_timeout: { key: 'timeouts.keepAlive', list: false },
  max_connections: { key: 'limits.connections', list: false },
  max_connections_per_source: { key: 'limits.perSource', list: false },
  max_handshakes: { key: 'limits.handshakes', list: false },
  max_handshakes_per_source: { key: 'limits.handshakesPerSource', list: false },
  sniff_max_bytes: { key: 'sniff.maxBytes', list: false },
  access_log: { key: 'accessLog', list: false },
  access_log_format: { key: 'accessLogFormat', list: false },
  data_plane: { key: 'dataPlane', list: false },
  splice_library: { key: 'splice.library', list: false },
  splice_pipe_size: { key: 'splice.pipeSize', list: false },
  splice_pipe_pool: { key: 'splice.pipePool', list: false },
  capture: { key: 'capture.enabled', list: false },
  capture_listener: { key: 'capture.listener', list: false },
  capture_zone: { key: 'capture.zones', list: true },
  capture_device: { key: 'capture.devices', list: true },
  capture_port: { key: 'capture.ports', list: true },
  capture_family: { key: 'capture.family', list: false },
  capture_exclude_src: { key: 'capture.exclude.sources', list: true },
  capture_exclude_mac: { key: 'capture.exclude.macs', list: true },
  capture_exclude_dst: { key: 'capture.exclude.destinations', list: true },
  quic: { key: 'capture.quic', list: false },
  firewall: { key: 'capture.firewall', list: false },
  admin: { key: 'admin.listen', list: false },
  manifest: { key: 'manifests', list: true },
};
/** Read by /etc/init.d/ugate for procd; ugate only checks them. */
const SERVICE_OPTIONS: Record<string, Field> = {
  respawn_threshold: { key: '', list: false },
  respawn_timeout: { key: '', list: false },
  respawn_retry: { key: '', list: false },
  nofile: { key: '', list: false },
};
const LISTENER_OPTIONS: Record<string, Field> = {
  type: { key: 'type', list: false },
  listen: { key: 'listen', list: true },
  default: { key: 'default', list: false },
  backend: { key: 'default', list: false },
  user: { key: 'users', list: true },
  enabled: { key: '', list: false },
};
const ROUTE_OPTIONS: Record<string, Field> = {
  listener: { key: 'match.listeners', list: true },
  protocol: { key: 'match.protocols', list: true },
  host: { key: 'match.hosts', list: true },
  dst_port: { key: 'match.dstPorts', list: true },
  dst_cidr: { key: 'match.dstCidrs', list: true },
  src_cidr: { key: 'match.srcCidrs', list: true },
  action: { key: 'action', list: false },
  backend: { key: 'action', list: false },
  allow_gateway_host: { key: 'allowGatewayHost', list: false },
  enabled: { key: '', list: false },
};

function values(v: UciValue): string[] {
  return v.kind === 'list' ? v.values : [v.value];
}

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  o[keys[keys.length - 1]!] = value;
}

const BOOLEAN: Record<string, boolean> = { '1': true, '0': false, true: true, false: false, yes: true, no: false, on: true, off: false };

function where(s: UciSection, option?: string): string {
  return `${s.type} ${sectionLabel(s)}${option ? ` option ${option}` : ''} (line ${option ? (s.options.get(option)?.line ?? s.line) : s.line})`;
}

/** The action of a listener default or route: "forward" takes its backend from `backend`. */
function action(s: UciSection, actionOption: string, issues: ConfigIssue[]): unknown {
  const a = s.options.get(actionOption);
  const backend = s.options.get('backend');
  const name = a ? values(a)[0] : backend ? 'forward' : undefined;
  if (name === 'forward') {
    if (!backend) issues.push({ path: where(s, actionOption), message: `"forward" needs option backend 'host:port'` });
    return backend ? { forward: values(backend)[0] } : undefined;
  }
  if (backend) issues.push({ path: where(s, 'backend'), message: `a backend is only used with ${actionOption} 'forward'` });
  return name;
}

export type UciMapResult =
  | { ok: true; document: Record<string, unknown>; describePath: (path: string) => string }
  | { ok: false; issues: ConfigIssue[] };

export function uciToDocument(text: string): UciMapResult {
  const parsed = parseUci(text);
  if (!parsed.ok) return { ok: false, issues: [{ path: `line ${parsed.error.line}, column ${parsed.error.column}`, message: parsed.error.message }] };
  const issues: ConfigIssue[] = [];
  const doc: Record<string, unknown> = {};
  const listeners: Record<string, unknown>[] = [];
  const routes: Record<string, unknown>[] = [];
  const origins: { listeners: UciSection[]; routes: UciSection[]; global: UciSection | null } = { listeners: [], routes: [], global: null };

  for (const s of parsed.value.sections) {
    const fields =
      s.type === 'ugate' ? GLOBAL_OPTIONS : s.type === 'listener' ? LISTENER_OPTIONS : s.type === 'route' ? ROUTE_OPTIONS : s.type === 'service' ? SERVICE_OPTIONS : null;
    if (!fields) {
      issues.push({ path: where(s), message: `unknown section type "${s.type}" (expected ugate, listener, route or service)` });
      continue;
    }
    // libuci merges a repeated name into the first section; that is never what two sections meant
    for (const line of s.repeatedAt) {
      issues.push({ path: `${s.type} ${sectionLabel(s)} (line ${line})`, message: `a second section named '${s.name}' (the first is on line ${s.line}); UCI would merge the two: give each its own name` });
    }
    let ok = true;
    for (const [opt, v] of s.options) {
      const f = fields[opt];
      if (!f) {
        issues.push({ path: where(s, opt), message: `unknown option (expected one of: ${Object.keys(fields).join(', ')})` });
        ok = false;
      } else if (!f.list && v.kind === 'list') {
        issues.push({ path: where(s, opt), message: 'takes one value: use "option", not "list"' });
        ok = false;
      }
    }
    const enabled = s.options.get('enabled');
    if (enabled && BOOLEAN[values(enabled)[0]!] === undefined) issues.push({ path: where(s, 'enabled'), message: 'expected 0 or 1' });
    if (!ok || (enabled && BOOLEAN[values(enabled)[0]!] === false)) continue;

    if (s.type === 'service') {
      for (const [opt, v] of s.options) {
        const raw = values(v)[0]!;
        if (!/^\d{1,9}$/.test(raw)) issues.push({ path: where(s, opt), message: `"${raw}": expected a whole number` });
      }
    } else if (s.type === 'ugate') {
      if (origins.global) issues.push({ path: where(s), message: `a second "ugate" section (the first is ${sectionLabel(origins.global)})` });
      origins.global = s;
      for (const [opt, v] of s.options) {
        const raw = values(v)[0]!;
        let value: unknown = raw;
        if (opt === 'access_log' || opt === 'capture') {
          value = BOOLEAN[raw];
          if (value === undefined) issues.push({ path: where(s, opt), message: 'expected 0 or 1' });
        } else if (opt === 'capture_port') {
          value = values(v).map((p) => (/^\d{1,5}$/.test(p) ? Number(p) : p));
        } else if (GLOBAL_OPTIONS[opt]!.list) {
          value = values(v);
        } else if (opt === 'sniff_max_bytes' || opt === 'splice_pipe_size' || opt === 'splice_pipe_pool' || /^(timeouts|limits)\./.test(GLOBAL_OPTIONS[opt]!.key)) {
          // UCI values are text: a plain number is a number (for timeouts, of milliseconds)
          value = /^\d+$/.test(raw) ? Number(raw) : raw;
        }
        setPath(doc, GLOBAL_OPTIONS[opt]!.key, value);
      }
    } else if (s.type === 'listener') {
      const l: Record<string, unknown> = { name: s.name ?? sectionLabel(s) };
      for (const [opt, v] of s.options) {
        if (opt === 'type') l.type = values(v)[0];
        if (opt === 'listen') l.listen = v.kind === 'list' ? v.values : v.value;
        if (opt === 'user') {
          l.users = values(v).map((u) => {
            const colon = u.indexOf(':');
            if (colon < 0) issues.push({ path: where(s, 'user'), message: `"${u}": expected "username:password"` });
            return colon < 0 ? { username: u, password: '' } : { username: u.slice(0, colon), password: u.slice(colon + 1) };
          });
        }
      }
      const def = action(s, 'default', issues);
      if (def !== undefined) l.default = def;
      listeners.push(l);
      origins.listeners.push(s);
    } else {
      const r: Record<string, unknown> = { name: s.name ?? sectionLabel(s) };
      for (const [opt, v] of s.options) {
        const f = ROUTE_OPTIONS[opt]!;
        if (f.key.startsWith('match.')) setPath(r, f.key, values(v));
        if (opt === 'allow_gateway_host') {
          r.allowGatewayHost = BOOLEAN[values(v)[0]!];
          if (r.allowGatewayHost === undefined) issues.push({ path: where(s, opt), message: 'expected 0 or 1' });
        }
      }
      const a = action(s, 'action', issues);
      if (a !== undefined) r.action = a;
      routes.push(r);
      origins.routes.push(s);
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  if (listeners.length > 0) doc.listeners = listeners;
  if (routes.length > 0) doc.routes = routes;

  // "listeners[1].listen[0]" → "listener 'lan' option listen[0] (line 7)"
  const optionOf = (fields: Record<string, Field>, key: string) =>
    Object.entries(fields).find(([o, f]) => f.key === key && o !== 'backend')?.[0] ?? key;
  const describePath = (path: string): string => {
    const m = /^(listeners|routes)\[(\d+)\]\.?([A-Za-z]+(?:\.[A-Za-z]+)?)?(.*)$/.exec(path);
    if (m) {
      const s = origins[m[1] as 'listeners' | 'routes'][Number(m[2])];
      if (s) {
        const fields = m[1] === 'listeners' ? LISTENER_OPTIONS : ROUTE_OPTIONS;
        const key = m[3] ?? '';
        // With a backend, the action is "forward" (anything else was reported above): a bad action is a bad backend.
        const opt = key === '' ? undefined : key === 'default' || key === 'action' ? (s.options.has('backend') ? 'backend' : key) : optionOf(fields, key);
        const where2 = `${s.type} ${sectionLabel(s)}${opt ? ` option ${opt}${m[4] ?? ''}` : ''}`;
        return `${where2} (line ${opt ? (s.options.get(opt)?.line ?? s.line) : s.line})`;
      }
    }
    const g = origins.global;
    const found = Object.entries(GLOBAL_OPTIONS).find(([, f]) => path === f.key || path.startsWith(`${f.key}[`));
    if (!g || !found) return path;
    const [opt, f] = found;
    // "capture.ports[2]" → "ugate main option capture_port[2] (line 6)"
    return `${g.type} ${sectionLabel(g)} option ${opt}${path.slice(f.key.length)} (line ${g.options.get(opt)?.line ?? g.line})`;
  };
  return { ok: true, document: doc, describePath };
}
