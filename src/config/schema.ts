// Validation of the JSON-shaped configuration into the model, with errors that name the field path.
// Objects are strict: an unknown field is an error, never silently ignored.

import * as v from 'valibot';
import { isIPLiteral, parseCidr, parseIPv6 } from '../route/cidr.ts';
import { hostnameError, parseHostnamePattern } from '../route/hostname.ts';
import { PROTOCOLS, type Action, type Config, type HostPort, type PortRange } from './model.ts';

export interface ConfigIssue {
  /** e.g. "listeners[0].listen[1]" ("" for the whole document) */
  path: string;
  message: string;
}

/** "host:port" or "[v6]:port" → parts; null when the shape is wrong. */
export function splitHostPort(s: string): { host: string; port: string } | null {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:[\]]+):(\d+)$/.exec(s);
  return m ? { host: m[1]!, port: m[2]! } : null;
}

/** Wraps a throwing parser as a valibot transform whose error message is the parser's. */
function parsed<I, O>(parse: (input: I) => O) {
  return v.rawTransform<I, O>(({ dataset, addIssue, NEVER }) => {
    try {
      return parse(dataset.value);
    } catch (e) {
      addIssue({ message: (e as Error).message });
      return NEVER;
    }
  });
}

function hostPort(kind: 'bind' | 'backend') {
  return (s: string): HostPort => {
    const parts = splitHostPort(s);
    if (!parts) throw new Error(`"${s}": expected host:port (IPv6 as [addr]:port)`);
    const port = Number(parts.port);
    const minPort = kind === 'bind' ? 0 : 1;
    if (!(port >= minPort && port <= 65535)) throw new Error(`"${s}": port must be ${minPort} to 65535`);
    if (s.startsWith('[') && !parseIPv6(parts.host)) throw new Error(`"${s}": only an IPv6 address goes in brackets`);
    if (kind === 'bind' && !isIPLiteral(parts.host)) throw new Error(`"${s}": a bind address must be an IP literal`);
    const err = backendHostError(parts.host);
    if (err) throw new Error(`"${s}": not an IP literal or DNS name (${err})`);
    return { host: kind === 'backend' ? parts.host.toLowerCase() : parts.host, port };
  };
}

/** Why `host` is neither an IP literal nor a DNS name, or null when it is one (any letter case). */
export function backendHostError(host: string): string | null {
  if (isIPLiteral(host)) return null;
  // An all-numeric last label is a mistyped IPv4 address ("10.0.0.256"), never a DNS name (RFC 1123 §2.1).
  return hostnameError(host.toLowerCase()) ?? (/(^|\.)\d+$/.test(host) ? 'not a valid IPv4 address' : null);
}

/** One bind address or a list of them; an error in a list names the item ("listen[1]"). */
const bindAddresses = v.rawTransform<string | string[], HostPort[]>(({ dataset, addIssue, NEVER }) => {
  const input = dataset.value;
  const items = typeof input === 'string' ? [input] : input;
  const out: HostPort[] = [];
  items.forEach((s, i) => {
    try {
      out.push(hostPort('bind')(s));
    } catch (e) {
      const path = typeof input === 'string' ? undefined : ([{ type: 'array', origin: 'value', input, key: i, value: s }] as const);
      addIssue({ message: (e as Error).message, ...(path ? { path: [...path] } : {}) });
    }
  });
  return out.length === items.length ? out : NEVER;
});

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const MAX_DURATION_MS = 2 ** 31 - 1;

/** A duration as milliseconds (number) or text with a unit: "500ms", "5s", "2m", "1h". */
export function parseDuration(input: number | string): number {
  let ms: number;
  if (typeof input === 'number') {
    if (!(Number.isInteger(input) && input >= 0)) throw new Error(`${input}: milliseconds must be a whole number ≥ 0`);
    ms = input;
  } else {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(input.trim());
    if (!m) throw new Error(`"${input}": expected a number of milliseconds or a duration like "500ms", "5s", "2m", "1h"`);
    ms = Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
  }
  // Timers take at most 2^31-1 ms (about 24.8 days); Node fires longer ones after 1 ms.
  if (ms > MAX_DURATION_MS) throw new Error(`${JSON.stringify(input)}: at most ${MAX_DURATION_MS} ms (24.8 days)`);
  return ms;
}

function parsePortRange(input: number | string): PortRange {
  const text = String(input);
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const from = m ? Number(m[1]) : NaN;
  const to = m?.[2] !== undefined ? Number(m[2]) : from;
  if (!(from >= 1 && to <= 65535 && from <= to)) throw new Error(`"${text}": expected a port 1-65535 or a range "from-to"`);
  return { from, to };
}

function parseAction(input: string | { forward: string }): Action {
  if (input === 'passthrough' || input === 'reject') return { type: input };
  if (typeof input === 'object') return { type: 'forward', backend: hostPort('backend')(input.forward) };
  throw new Error(`"${input}": expected "passthrough", "reject" or { "forward": "host:port" }`);
}

/** 1 MiB measured best with `npm run bench` (64 KiB: 25, 256 KiB: 28, 1 MiB: 35 Gbit/s); the shim reads
 * less while the destination is slow, so a stalled connection does not pin a full pipe. */
export const DEFAULT_PIPE_SIZE = 1048576;

const name = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.@[\]-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ . - @ [ ]'));
const duration = v.pipe(v.union([v.number(), v.string()], 'expected milliseconds or a duration string'), parsed(parseDuration));
const action = v.pipe(
  v.union([v.string(), v.strictObject({ forward: v.string() })], 'expected "passthrough", "reject" or { "forward": "host:port" }'),
  parsed(parseAction),
);
const list = <T extends v.GenericSchema>(item: T) => v.pipe(v.array(item), v.minLength(1, 'must not be empty'));

const listenerSchema = v.strictObject({
  name,
  type: v.picklist(['redirect', 'mixed', 'sni'], 'must be "redirect", "mixed" or "sni"'),
  listen: v.pipe(
    v.union([v.string(), v.array(v.string())], 'expected "host:port" or a list of them'),
    v.check((x) => x.length > 0, 'must not be empty'),
    bindAddresses,
  ),
  default: v.optional(action, 'passthrough'),
  users: v.optional(v.array(v.strictObject({ username: v.pipe(v.string(), v.minLength(1), v.maxLength(255)), password: v.pipe(v.string(), v.maxLength(255)) })), []),
});

const routeSchema = v.strictObject({
  name,
  match: v.optional(
    v.strictObject({
      listeners: v.optional(list(name)),
      protocols: v.optional(list(v.picklist(PROTOCOLS, `must be one of ${PROTOCOLS.join(', ')}`))),
      hosts: v.optional(list(v.pipe(v.string(), parsed(parseHostnamePattern)))),
      dstPorts: v.optional(list(v.pipe(v.union([v.number(), v.string()]), parsed(parsePortRange)))),
      dstCidrs: v.optional(list(v.pipe(v.string(), parsed(parseCidr)))),
      srcCidrs: v.optional(list(v.pipe(v.string(), parsed(parseCidr)))),
    }),
    {},
  ),
  action,
  // Destinations on the gateway host itself are refused to clients that are not on it, unless
  // the route that decided says so (see core/local-destination.ts).
  allowGatewayHost: v.optional(v.boolean(), false),
});

/** A count, or "auto": derived at start from the process's open-files limit (core/limits.ts). */
const limit = v.optional(
  v.union([v.literal('auto'), v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000))], 'expected a whole number 1 to 1000000, or "auto"'),
  'auto',
);

const ZONE = /^[A-Za-z0-9_-]{1,32}$/;
/** Linux interface names: at most 15 bytes, no "/", no space, not "." or "..". */
const DEVICE = /^(?!\.\.?$)[A-Za-z0-9_.@:+-]{1,15}$/;
const MAC = /^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$/;

const captureSchema = v.strictObject({
  enabled: v.optional(v.boolean(), false),
  listener: v.optional(name),
  zones: v.optional(v.array(v.pipe(v.string(), v.regex(ZONE, 'a firewall zone name: 1-32 characters of A-Z a-z 0-9 _ -'))), []),
  devices: v.optional(
    v.array(v.pipe(v.string(), v.regex(DEVICE, 'a network device name: 1-15 characters of A-Z a-z 0-9 _ . @ : + -'), v.check((d) => d !== 'lo', 'loopback is never captured'))),
    [],
  ),
  // iptables' multiport match takes at most 15 ports
  ports: v.optional(
    v.pipe(list(v.pipe(v.number('expected a port number 1 to 65535'), v.integer(), v.minValue(1, 'ports are 1 to 65535'), v.maxValue(65535, 'ports are 1 to 65535'))), v.maxLength(15, 'at most 15 ports')),
    [80, 443],
  ),
  family: v.optional(v.picklist(['any', 'ipv4', 'ipv6'], 'must be "any", "ipv4" or "ipv6"'), 'any'),
  exclude: v.optional(
    v.strictObject({
      sources: v.optional(v.array(v.pipe(v.string(), parsed(parseCidr))), []),
      macs: v.optional(
        v.array(
          v.pipe(
            v.string(),
            v.regex(MAC, 'expected a MAC address like 00:11:22:aa:bb:cc'),
            v.transform((m) => m.toLowerCase().replaceAll('-', ':')),
          ),
        ),
        [],
      ),
      destinations: v.optional(v.array(v.pipe(v.string(), parsed(parseCidr))), []),
    }),
    {},
  ),
  quic: v.optional(v.picklist(['block', 'pass'], 'must be "block" or "pass"'), 'block'),
  firewall: v.optional(v.picklist(['auto', 'nftables', 'iptables'], 'must be "auto", "nftables" or "iptables"'), 'auto'),
});

/** The admin endpoint serves the router itself only: a loopback address, never the LAN or WAN. */
const adminSchema = v.strictObject({
  listen: v.pipe(
    v.string(),
    parsed(hostPort('bind')),
    v.check((a) => isLoopbackBind(a.host), 'the admin endpoint listens on a loopback address only (127.0.0.1 or ::1)'),
  ),
});

const settings = {
  capture: v.optional(captureSchema, {}),
  admin: v.optional(adminSchema),
  manifests: v.optional(v.array(v.pipe(v.string(), v.regex(/^\//, 'must be an absolute path (a YAML file or a directory of them)'))), []),
  routes: v.optional(v.array(routeSchema), []),
  timeouts: v.optional(
    v.strictObject({
      sniff: v.optional(duration, 5000),
      connect: v.optional(duration, 10_000),
      idle: v.optional(duration, 300_000),
      grace: v.optional(duration, 10_000),
      keepAlive: v.optional(duration, 60_000),
    }),
    {},
  ),
  limits: v.optional(v.strictObject({ connections: limit, perSource: limit, handshakes: limit, handshakesPerSource: limit }), {}),
  sniff: v.optional(v.strictObject({ maxBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(64), v.maxValue(65536)), 16384) }), {}),
  accessLog: v.optional(v.boolean(), true),
  accessLogFormat: v.optional(v.picklist(['logfmt', 'json'], 'must be "logfmt" or "json"'), 'logfmt'),
  dataPlane: v.optional(v.picklist(['auto', 'splice', 'js'], 'must be "auto", "splice" or "js"'), 'auto'),
  splice: v.optional(
    v.strictObject({
      library: v.optional(v.pipe(v.string(), v.minLength(1, 'must not be empty'))),
      // the kernel rounds up to a power-of-two number of pages; 1 MiB is its default pipe-max-size
      pipeSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(4096), v.maxValue(1048576)), DEFAULT_PIPE_SIZE),
      pipePool: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(4096)), 32),
    }),
    {},
  ),
};
const configSchema = v.strictObject({ listeners: list(listenerSchema), ...settings });
/** When Gateway manifests bring their own listeners, the configuration file may have none. */
const configSchemaListenersOptional = v.strictObject({ listeners: v.optional(v.array(listenerSchema), []), ...settings });

function issuePath(issue: v.BaseIssue<unknown>): string {
  let out = '';
  for (const item of issue.path ?? []) {
    const key = item.key as string | number;
    out += typeof key === 'number' ? `[${key}]` : out === '' ? key : `.${key}`;
  }
  return out;
}

/** A loopback bind address: reachable only from the host itself. */
export const isLoopbackBind = (ip: string) => ip.startsWith('127.') || ip === '::1';

/**
 * The firewall redirects a captured connection to one port on the address the client reached the
 * router on, so the listener needs that port bound beyond loopback in each captured IP family.
 */
export function captureBindProblem(listen: HostPort[], family: 'any' | 'ipv4' | 'ipv6'): string | null {
  const open = listen.filter((a) => !isLoopbackBind(a.host));
  const ports = new Set(open.map((a) => a.port));
  if (open.length === 0 || ports.has(0)) return 'must listen on a fixed port of a non-loopback address (e.g. "0.0.0.0:8443" and "[::]:8443")';
  if (ports.size > 1) return `listens on ports ${[...ports].join(', ')}: captured connections go to one port, so bind one port`;
  const port = [...ports][0]!;
  if (family !== 'ipv6' && !open.some((a) => !a.host.includes(':'))) return `has no IPv4 address for captured IPv4 connections (add "0.0.0.0:${port}", or set the capture family to ipv6)`;
  if (family !== 'ipv4' && !open.some((a) => a.host.includes(':'))) return `has no IPv6 address for captured IPv6 connections (add "[::]:${port}", or set the capture family to ipv4)`;
  return null;
}

const auto = (n: number | 'auto'): number | null => (n === 'auto' ? null : n);

export type ValidationResult = { ok: true; config: Config } | { ok: false; issues: ConfigIssue[] };

/** Validates a parsed JSON document; also checks what the schema alone cannot (names, references). */
export function validateConfig(input: unknown, options: { listenersOptional?: boolean } = {}): ValidationResult {
  const r = v.safeParse(options.listenersOptional ? configSchemaListenersOptional : configSchema, input);
  if (!r.success) {
    return {
      ok: false,
      issues: r.issues.map((i) => {
        // valibot reports a strict object's unknown or missing key as an "Invalid key"; say which.
        const msg = i.type !== 'strict_object' ? i.message : i.expected === 'never' ? 'unknown field' : 'required field is missing';
        return { path: issuePath(i), message: msg };
      }),
    };
  }
  const raw = r.output;
  const issues: ConfigIssue[] = [];
  const listenerNames = new Set<string>();
  const bound = new Set<string>();
  raw.listeners.forEach((l, i) => {
    if (listenerNames.has(l.name)) issues.push({ path: `listeners[${i}].name`, message: `duplicate listener name "${l.name}"` });
    listenerNames.add(l.name);
    if (l.users.length > 0 && l.type !== 'mixed') issues.push({ path: `listeners[${i}].users`, message: 'only a mixed listener authenticates users' });
    l.listen.forEach((a, j) => {
      const key = `${a.host}|${a.port}`;
      if (a.port !== 0 && bound.has(key)) issues.push({ path: `listeners[${i}].listen[${j}]`, message: 'address already used by another listener' });
      bound.add(key);
    });
  });
  const c = raw.capture;
  if (c.enabled) {
    const redirect = raw.listeners.filter((l) => l.type === 'redirect');
    if (c.listener !== undefined) {
      const l = raw.listeners.find((x) => x.name === c.listener);
      if (!l) issues.push({ path: 'capture.listener', message: `no listener named "${c.listener}"` });
      else if (l.type !== 'redirect') issues.push({ path: 'capture.listener', message: `listener "${c.listener}" is ${l.type}: capture needs a redirect listener` });
    } else if (redirect.length !== 1) {
      issues.push({ path: 'capture.listener', message: redirect.length === 0 ? 'capture needs a redirect listener' : `${redirect.length} redirect listeners: name the one captured connections go to` });
    }
    const l = raw.listeners.find((x) => x.name === (c.listener ?? redirect[0]?.name));
    if (l?.type === 'redirect') {
      const problem = captureBindProblem(l.listen, c.family);
      if (problem) issues.push({ path: 'capture.listener', message: `listener "${l.name}" ${problem}` });
    }
    if (c.zones.length === 0 && c.devices.length === 0) issues.push({ path: 'capture.zones', message: 'name at least one firewall zone or device to capture' });
  }
  const routeNames = new Set<string>();
  raw.routes.forEach((route, i) => {
    if (routeNames.has(route.name)) issues.push({ path: `routes[${i}].name`, message: `duplicate route name "${route.name}"` });
    routeNames.add(route.name);
    route.match.listeners?.forEach((n, j) => {
      if (!listenerNames.has(n)) issues.push({ path: `routes[${i}].match.listeners[${j}]`, message: `no listener named "${n}"` });
    });
  });
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    config: {
      listeners: raw.listeners,
      routes: raw.routes,
      timeouts: { sniffMs: raw.timeouts.sniff, connectMs: raw.timeouts.connect, idleMs: raw.timeouts.idle, graceMs: raw.timeouts.grace, keepAliveMs: raw.timeouts.keepAlive },
      limits: {
        connections: auto(raw.limits.connections),
        perSource: auto(raw.limits.perSource),
        handshakes: auto(raw.limits.handshakes),
        handshakesPerSource: auto(raw.limits.handshakesPerSource),
      },
      sniffMaxBytes: raw.sniff.maxBytes,
      accessLog: raw.accessLog,
      accessLogFormat: raw.accessLogFormat,
      dataPlane: raw.dataPlane,
      splice: { library: raw.splice.library ?? null, pipeSize: raw.splice.pipeSize, pipePool: raw.splice.pipePool },
      capture: {
        enabled: c.enabled,
        listener: c.listener ?? null,
        zones: c.zones,
        devices: c.devices,
        ports: [...new Set(c.ports)],
        family: c.family,
        excludeSources: c.exclude.sources,
        excludeMacs: c.exclude.macs,
        excludeDestinations: c.exclude.destinations,
        quic: c.quic,
        firewall: c.firewall,
      },
      admin: raw.admin ? { listen: raw.admin.listen } : null,
      manifests: raw.manifests,
      gatewayApi: null,
    },
  };
}
