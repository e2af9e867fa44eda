// Validation of Gateway API manifests (Gateway, HTTPRoute, TLSRoute) into the model that ugate
// runs, following gateway.networking.k8s.io/v1: its enums, limits and CEL rules, with the spec's
// messages where it has one. Pure: parsed YAML documents in, values and issues out; never throws.
//
// Every field is accounted for: a field ugate does not implement is an issue ("not supported"),
// never ignored. Only metadata other than name/namespace, and status, carry no meaning here.
// A manifest with any issue is left out whole; the others are unaffected.

import { backendHostError } from '../config/schema.ts';
import { isIPLiteral, parseIP } from '../route/cidr.ts';
import { parseHostnamePattern, type HostnamePattern } from '../route/hostname.ts';
import type {
  BackendRef,
  Gateway,
  GatewayApiConfig,
  GatewayListener,
  HeaderModifier,
  HttpMatch,
  HttpRoute,
  HttpRule,
  ManifestIssue,
  ManifestSource,
  ParentRef,
  PathMatch,
  PathModifier,
  RequestRedirect,
  TlsRoute,
  UrlRewrite,
  ValueMatch,
} from './model.ts';

export interface ManifestDocument {
  file: string;
  /** 0-based index of the document within its file */
  document: number;
  value: unknown;
}

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
type Kind = ManifestSource['kind'];
const API_VERSIONS: Record<Kind, string[]> = {
  Gateway: ['v1', 'v1beta1'],
  HTTPRoute: ['v1', 'v1beta1'],
  TLSRoute: ['v1', 'v1alpha2', 'v1alpha3'],
};

// Patterns of the spec's string types (shared_types.go).
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
const GROUP = /^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND = /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const PATH_CHARS = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/;
const DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
/** Control characters other than tab: a value with CR/LF would split a header (injection). */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;
const REDIRECT_CODES = [301, 302, 303, 307, 308] as const;
/** Timers take at most 2^31-1 ms; a longer timeout would fire at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** An own field's value; null counts as absent, as in Kubernetes. */
function field(o: Obj, key: string): unknown {
  return Object.hasOwn(o, key) && o[key] !== null ? o[key] : undefined;
}

const at = (path: string, key: string | number) => (typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`);
const quote = (s: string) => JSON.stringify(s);
/** A value for a message; never throws (YAML aliases can make cyclic structures). */
function show(v: unknown): string {
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : typeof v;
}

interface StringRule {
  required?: boolean;
  min?: number;
  max?: number;
  pattern?: RegExp;
  /** the spec's name for the format, for the message */
  format?: string;
}

/**
 * Reads one manifest, collecting issues. Each reader returns undefined when the field is absent
 * or invalid (already reported), so callers write `?? default`; a placeholder that stands in for
 * an invalid value never escapes, because a manifest with issues is dropped whole.
 */
class Reader {
  readonly issues: { path: string; message: string }[] = [];

  fail(path: string, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }

  /** A mapping whose fields are all in `known`; spec fields ugate lacks are named as unsupported. */
  object(v: unknown, path: string, known: readonly string[], unsupported: readonly string[] = []): Obj | undefined {
    if (!isObj(v)) return this.fail(path, 'expected an object');
    for (const k of Object.keys(v)) {
      if (known.includes(k)) continue;
      if (unsupported.includes(k)) {
        if (v[k] !== null) this.fail(at(path, k), 'not supported by ugate');
      } else this.fail(at(path, k), 'unknown field');
    }
    return v;
  }

  missing(v: unknown, path: string, required: boolean | undefined): boolean {
    if (v !== undefined) return false;
    if (required) this.fail(path, 'required field is missing');
    return true;
  }

  string(v: unknown, path: string, rule: StringRule = {}): string | undefined {
    if (this.missing(v, path, rule.required)) return undefined;
    if (typeof v !== 'string') return this.fail(path, 'expected a string');
    const { min = 0, max = Infinity } = rule;
    if (v.length < min || v.length > max) {
      return this.fail(path, min === max ? `must be ${min} characters` : max === Infinity ? `must be at least ${min} character(s)` : `must be ${min} to ${max} characters`);
    }
    if (rule.pattern && !rule.pattern.test(v)) return this.fail(path, `${quote(v)}: must be ${rule.format ?? `a string matching ${rule.pattern.source}`}`);
    return v;
  }

  int(v: unknown, path: string, min: number, max: number, required = false): number | undefined {
    if (this.missing(v, path, required)) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.fail(path, 'expected an integer');
    if (v < min || v > max) return this.fail(path, `must be ${min} to ${max}`);
    return v;
  }

  oneOf<T extends string | number>(v: unknown, path: string, values: readonly T[], required = false): T | undefined {
    if (this.missing(v, path, required)) return undefined;
    if (!values.includes(v as T)) return this.fail(path, `${show(v)}: must be one of ${values.join(', ')}`);
    return v as T;
  }

  /** A list of at most `max` items; longer lists are not read further (their items are not checked). */
  list(v: unknown, path: string, min: number, max: number, required = false): unknown[] | undefined {
    if (this.missing(v, path, required)) return undefined;
    if (!Array.isArray(v)) return this.fail(path, 'expected a list');
    if (v.length < min) return this.fail(path, min === 1 ? 'must not be empty' : `must have at least ${min} items`);
    if (v.length > max) return this.fail(path, max === 1 ? 'must have exactly 1 item' : `must have at most ${max} items`);
    return v;
  }

  /** A Gateway API Hostname: lowercase RFC 1123, optionally "*." first; never an IP address. */
  hostname(v: unknown, path: string, wildcard: boolean, required = false): HostnamePattern | undefined {
    const s = this.string(v, path, { required, min: 1, max: 253 });
    if (s === undefined) return undefined;
    if (isIPLiteral(s)) return this.fail(path, `${quote(s)}: an IP address is not allowed`);
    if (!HOSTNAME.test(s) || (!wildcard && s.startsWith('*.'))) {
      return this.fail(path, `${quote(s)}: must be a lowercase RFC 1123 hostname${wildcard ? ', optionally with "*." as its first label' : ''}`);
    }
    try {
      return parseHostnamePattern(s);
    } catch (e) {
      return this.fail(path, (e as Error).message);
    }
  }

  /** A regular expression (ECMAScript syntax), anchored to the whole value. */
  regex(source: string, path: string): RegExp | undefined {
    try {
      // Compiled alone first: only a well-formed pattern may go inside the anchoring group, or
      // "a)|(b" would break out of it and match unanchored.
      new RegExp(source);
      return new RegExp(`^(?:${source})$`);
    } catch (e) {
      return this.fail(path, `invalid regular expression: ${(e as Error).message}`);
    }
  }

  /** A Gateway API Duration (GEP-2257) in milliseconds; "0s" (zero) = no limit = null. */
  duration(v: unknown, path: string): number | null | undefined {
    const s = this.string(v, path, { pattern: DURATION, format: 'a duration like "1h30m", "10s" or "500ms"' });
    if (s === undefined) return undefined;
    const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
    let ms = 0;
    for (const m of s.matchAll(/(\d+)(ms|h|m|s)/g)) ms += Number(m[1]) * unit[m[2]!]!;
    if (ms > MAX_TIMEOUT_MS) return this.fail(path, `${quote(s)}: at most ${MAX_TIMEOUT_MS} ms (about 596h)`);
    return ms === 0 ? null : ms;
  }
}

// ---------------------------------------------------------------------------------------------
// Gateway

const LISTENER_PROTOCOLS = ['HTTP', 'TLS'] as const;
const ROUTE_KIND_OF: Record<GatewayListener['protocol'], Kind> = { HTTP: 'HTTPRoute', TLS: 'TLSRoute' };

/** A listener, or undefined when it has an issue (so that it takes no part in conflict checks). */
function listener(r: Reader, v: unknown, path: string): GatewayListener | undefined {
  const before = r.issues.length;
  const o = r.object(v, path, ['name', 'hostname', 'port', 'protocol', 'tls', 'allowedRoutes']);
  if (!o) return undefined;
  const name = r.string(field(o, 'name'), at(path, 'name'), { required: true, min: 1, max: 253, pattern: DNS_SUBDOMAIN, format: 'a lowercase RFC 1123 subdomain' });
  const port = r.int(field(o, 'port'), at(path, 'port'), 1, 65535, true);
  const hostname = r.hostname(field(o, 'hostname'), at(path, 'hostname'), true);
  const protocolText = r.string(field(o, 'protocol'), at(path, 'protocol'), { required: true, min: 1, max: 255 });
  let protocol: GatewayListener['protocol'] | undefined;
  if (protocolText !== undefined) {
    if ((LISTENER_PROTOCOLS as readonly string[]).includes(protocolText)) protocol = protocolText as GatewayListener['protocol'];
    else r.fail(at(path, 'protocol'), `${quote(protocolText)}: not supported by ugate (it serves HTTP and TLS listeners; TLS in Passthrough mode)`);
  }
  const tls = field(o, 'tls');
  if (protocol === 'HTTP' && tls !== undefined) r.fail(at(path, 'tls'), "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']");
  if (protocol === 'TLS') {
    const t = tls === undefined ? undefined : r.object(tls, at(path, 'tls'), ['mode'], ['certificateRefs', 'options']);
    if (t && field(t, 'mode') === undefined) r.fail(at(path, 'tls.mode'), 'tls mode must be set for protocol TLS');
    else if (tls === undefined) r.fail(at(path, 'tls'), 'tls mode must be set for protocol TLS');
    const mode = t && r.oneOf(field(t, 'mode'), at(path, 'tls.mode'), ['Terminate', 'Passthrough'] as const);
    if (mode === 'Terminate') r.fail(at(path, 'tls.mode'), 'Terminate: not supported by ugate (it passes TLS through: use Passthrough)');
  }
  let allowedNamespaces: GatewayListener['allowedNamespaces'] = 'Same';
  const allowed = field(o, 'allowedRoutes');
  if (allowed !== undefined) {
    const a = r.object(allowed, at(path, 'allowedRoutes'), ['namespaces', 'kinds']);
    const nsField = a && field(a, 'namespaces');
    if (nsField !== undefined) {
      const ns = r.object(nsField, at(path, 'allowedRoutes.namespaces'), ['from'], ['selector']);
      const from = ns && r.oneOf(field(ns, 'from'), at(path, 'allowedRoutes.namespaces.from'), ['All', 'Selector', 'Same'] as const);
      if (from === 'Selector') r.fail(at(path, 'allowedRoutes.namespaces.from'), 'Selector: not supported by ugate (it has no namespace labels; use Same or All)');
      else if (from) allowedNamespaces = from;
    }
    const kinds = a && r.list(field(a, 'kinds'), at(path, 'allowedRoutes.kinds'), 0, 8);
    kinds?.forEach((k, i) => {
      const p = at(at(path, 'allowedRoutes.kinds'), i);
      const ko = r.object(k, p, ['group', 'kind']);
      if (!ko) return;
      const group = r.string(field(ko, 'group'), at(p, 'group'), { max: 253, pattern: GROUP, format: 'an API group' }) ?? GATEWAY_GROUP;
      const kind = r.string(field(ko, 'kind'), at(p, 'kind'), { required: true, min: 1, max: 63, pattern: KIND, format: 'a kind' });
      if (kind === undefined || !protocol) return;
      if (group !== GATEWAY_GROUP || kind !== ROUTE_KIND_OF[protocol]) {
        r.fail(p, `${group === '' ? 'core' : group}/${kind} routes cannot attach to a ${protocol} listener (ugate takes ${ROUTE_KIND_OF[protocol]} there)`);
      }
    });
  }
  if (r.issues.length > before || name === undefined || port === undefined || protocol === undefined) return undefined;
  return { name, port, protocol, hostname: hostname ?? null, allowedNamespaces };
}

function sameHostname(a: HostnamePattern | null, b: HostnamePattern | null): boolean {
  return a === null || b === null ? a === b : a.wildcard === b.wildcard && a.suffix === b.suffix;
}

/**
 * A Gateway degrades per listener, as Gateway API status conditions do: a listener ugate cannot
 * serve is reported in `listenerIssues` and left out, and the rest of the Gateway serves. Only a
 * Gateway left with no listener at all is rejected.
 */
function gatewaySpec(r: Reader, spec: Obj, ns: string, name: string, source: ManifestSource): { gateway: Gateway; listenerIssues: Reader['issues'] } {
  r.string(field(spec, 'gatewayClassName'), 'spec.gatewayClassName', { required: true, min: 1, max: 253 });
  const listeners: GatewayListener[] = [];
  const lr = new Reader();
  const items = r.list(field(spec, 'listeners'), 'spec.listeners', 1, 64, true) ?? [];
  items.forEach((item, i) => {
    const before = lr.issues.length;
    const l = listener(lr, item, `spec.listeners[${i}]`);
    if (!l || lr.issues.length > before) return;
    // Listeners must be distinct: one port serves one protocol, told apart by hostname.
    const other = listeners.find((o) => o.port === l.port && (o.protocol !== l.protocol || sameHostname(o.hostname, l.hostname)));
    if (listeners.some((o) => o.name === l.name)) lr.fail(`spec.listeners[${i}].name`, 'Listener name must be unique within the Gateway');
    else if (other && other.protocol !== l.protocol) lr.fail(`spec.listeners[${i}].protocol`, `conflicts with listener ${quote(other.name)}: port ${l.port} serves ${other.protocol}`);
    else if (other) lr.fail(`spec.listeners[${i}]`, `Combination of port, protocol and hostname must be unique for each listener (same as listener ${quote(other.name)})`);
    else listeners.push(l);
  });
  const listenerIssues = lr.issues.map((i) => ({
    ...i,
    message: `${i.message}; ${listeners.length > 0 ? 'this listener is left out, the Gateway\'s other listeners serve' : 'the Gateway has no listener ugate can serve'}`,
  }));
  const addresses: string[] = [];
  const seen = new Set<string>();
  (r.list(field(spec, 'addresses'), 'spec.addresses', 0, 16) ?? []).forEach((item, i) => {
    const p = `spec.addresses[${i}]`;
    const a = r.object(item, p, ['type', 'value']);
    if (!a) return;
    const type = r.string(field(a, 'type'), at(p, 'type'), { min: 1, max: 253 }) ?? 'IPAddress';
    if (type !== 'IPAddress') return r.fail(at(p, 'type'), `${quote(type)}: not supported by ugate (only IPAddress)`);
    const value = r.string(field(a, 'value'), at(p, 'value'), { max: 253 });
    if (!value) return r.fail(at(p, 'value'), 'an address to be assigned automatically is not supported by ugate: give an IP address');
    const bytes = parseIP(value);
    if (!bytes) return r.fail(at(p, 'value'), `${quote(value)}: not an IP address`);
    if (seen.has(bytes.join('.'))) return r.fail(at(p, 'value'), 'IPAddress values must be unique');
    seen.add(bytes.join('.'));
    addresses.push(value);
  });
  return { gateway: { source, namespace: ns, name, addresses, listeners }, listenerIssues };
}

// ---------------------------------------------------------------------------------------------
// Routes: the parts HTTPRoute and TLSRoute share

function parentRefs(r: Reader, v: unknown, routeNs: string): ParentRef[] {
  const refs: ParentRef[] = [];
  (r.list(v, 'spec.parentRefs', 0, 32) ?? []).forEach((item, i) => {
    const p = `spec.parentRefs[${i}]`;
    const o = r.object(item, p, ['group', 'kind', 'namespace', 'name', 'sectionName', 'port']);
    if (!o) return;
    const group = r.string(field(o, 'group'), at(p, 'group'), { max: 253, pattern: GROUP, format: 'an API group' });
    if (group !== undefined && group !== GATEWAY_GROUP) r.fail(at(p, 'group'), `${quote(group)}: not supported by ugate (parents are Gateways, group ${GATEWAY_GROUP})`);
    const kind = r.string(field(o, 'kind'), at(p, 'kind'), { min: 1, max: 63, pattern: KIND, format: 'a kind' });
    if (kind !== undefined && kind !== 'Gateway') r.fail(at(p, 'kind'), `${quote(kind)}: not supported by ugate (parents are Gateways)`);
    const namespace = r.string(field(o, 'namespace'), at(p, 'namespace'), { min: 1, max: 63, pattern: DNS_LABEL, format: 'a namespace (RFC 1123 label)' });
    const name = r.string(field(o, 'name'), at(p, 'name'), { required: true, min: 1, max: 253 });
    const sectionName = r.string(field(o, 'sectionName'), at(p, 'sectionName'), { min: 1, max: 253, pattern: DNS_SUBDOMAIN, format: 'a lowercase RFC 1123 subdomain' });
    const port = r.int(field(o, 'port'), at(p, 'port'), 1, 65535);
    const ref: ParentRef = { namespace: namespace ?? routeNs, name: name ?? '', sectionName: sectionName ?? null, port: port ?? null };
    // References to the same parent must be told apart by the same optional fields, with different values.
    for (const prev of refs) {
      if (prev.namespace !== ref.namespace || prev.name !== ref.name) continue;
      if ((prev.sectionName === null) !== (ref.sectionName === null) || (prev.port === null) !== (ref.port === null)) {
        r.fail(p, 'sectionName or port must be specified when parentRefs includes 2 or more references to the same parent');
        break;
      }
      if (prev.sectionName === ref.sectionName && prev.port === ref.port) {
        r.fail(p, 'sectionName or port must be unique when parentRefs includes 2 or more references to the same parent');
        break;
      }
    }
    refs.push(ref);
  });
  return refs;
}

function routeHostnames(r: Reader, v: unknown, min: number, max: number): HostnamePattern[] {
  const out: HostnamePattern[] = [];
  (r.list(v, 'spec.hostnames', min, max, min > 0) ?? []).forEach((h, i) => {
    const pattern = r.hostname(h, `spec.hostnames[${i}]`, true, true);
    if (pattern) out.push(pattern);
  });
  return out;
}

function backendRef(r: Reader, v: unknown, p: string, routeNs: string, withFilters: boolean): BackendRef | undefined {
  const o = r.object(v, p, ['group', 'kind', 'name', 'namespace', 'port', 'weight'], withFilters ? ['filters'] : []);
  if (!o) return undefined;
  const group = r.string(field(o, 'group'), at(p, 'group'), { max: 253, pattern: GROUP, format: 'an API group' }) ?? '';
  const kind = r.string(field(o, 'kind'), at(p, 'kind'), { min: 1, max: 63, pattern: KIND, format: 'a kind' }) ?? 'Service';
  const name = r.string(field(o, 'name'), at(p, 'name'), { required: true, min: 1, max: 253 });
  const namespace = r.string(field(o, 'namespace'), at(p, 'namespace'), { min: 1, max: 63, pattern: DNS_LABEL, format: 'a namespace (RFC 1123 label)' });
  const port = r.int(field(o, 'port'), at(p, 'port'), 1, 65535);
  const weight = r.int(field(o, 'weight'), at(p, 'weight'), 0, 1_000_000) ?? 1;
  const isService = group === '' && kind === 'Service';
  if (isService && field(o, 'port') === undefined) r.fail(p, 'Must have port for Service reference');
  if (name === undefined) return undefined;
  // A reference ugate cannot follow is not a manifest error: the route stays, and that share fails.
  let invalid: string | null = null;
  if (!isService) invalid = `InvalidKind: ${group === '' ? 'core' : group}/${kind} is not supported (a backend is a host name or IP address, as kind Service)`;
  else if (namespace !== undefined && namespace !== routeNs) invalid = `RefNotPermitted: a backend in namespace ${quote(namespace)} needs a ReferenceGrant, which ugate does not support`;
  if (invalid) return { host: name, port: port ?? 0, weight, invalid };
  const hostError = backendHostError(name);
  if (hostError) return r.fail(at(p, 'name'), `${quote(name)}: not an IP literal or DNS name (${hostError})`);
  return { host: name.toLowerCase(), port: port ?? 0, weight, invalid: null };
}

function backendRefs(r: Reader, v: unknown, p: string, routeNs: string, min: number, withFilters: boolean): BackendRef[] {
  const out: BackendRef[] = [];
  (r.list(v, p, min, 16, min > 0) ?? []).forEach((item, i) => {
    const b = backendRef(r, item, at(p, i), routeNs, withFilters);
    if (b) out.push(b);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// HTTPRoute

const DEFAULT_MATCH: HttpMatch = { path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [], method: null };

/** The spec's CEL rules for Exact and PathPrefix values, with its messages. */
function pathValueError(value: string): string | null {
  const where = "when type one of ['Exact', 'PathPrefix']";
  if (!value.startsWith('/')) return `value must be an absolute path and start with '/' ${where}`;
  for (const bad of ['//', '/./', '/../', '%2f', '%2F', '#']) if (value.includes(bad)) return `must not contain '${bad}' ${where}`;
  for (const bad of ['/..', '/.']) if (value.endsWith(bad)) return `must not end with '${bad}' ${where}`;
  if (!PATH_CHARS.test(value)) return `must only contain valid characters (matching ${PATH_CHARS.source}) for types ['Exact', 'PathPrefix']`;
  return null;
}

function pathMatch(r: Reader, v: unknown, p: string): PathMatch | undefined {
  const o = r.object(v, p, ['type', 'value']);
  if (!o) return undefined;
  const type = r.oneOf(field(o, 'type'), at(p, 'type'), ['Exact', 'PathPrefix', 'RegularExpression'] as const) ?? 'PathPrefix';
  const value = r.string(field(o, 'value'), at(p, 'value'), { max: 1024 }) ?? '/';
  if (type === 'RegularExpression') {
    const regex = r.regex(value, at(p, 'value'));
    return regex && { type, value, regex };
  }
  const err = pathValueError(value);
  if (err) return r.fail(at(p, 'value'), err);
  // PathPrefix matches whole elements and ignores a trailing "/": kept without it.
  return { type, value: type === 'PathPrefix' && value !== '/' ? value.replace(/\/$/, '') : value };
}

/** Header or query parameter matches; only the first entry for a name counts, as the spec says. */
function valueMatches(r: Reader, v: unknown, p: string, headers: boolean): ValueMatch[] {
  const out: ValueMatch[] = [];
  (r.list(v, p, 0, 16) ?? []).forEach((item, i) => {
    const q = at(p, i);
    const o = r.object(item, q, ['type', 'name', 'value']);
    if (!o) return;
    const type = r.oneOf(field(o, 'type'), at(q, 'type'), ['Exact', 'RegularExpression'] as const) ?? 'Exact';
    const written = r.string(field(o, 'name'), at(q, 'name'), { required: true, min: 1, max: 256, pattern: HEADER_NAME, format: 'an HTTP token' });
    const value = r.string(field(o, 'value'), at(q, 'value'), { required: true, min: 1, max: headers ? 4096 : 1024 });
    if (written === undefined || value === undefined) return;
    const name = headers ? written.toLowerCase() : written;
    if (type === 'Exact' && CONTROL.test(value)) return r.fail(at(q, 'value'), 'must not contain control characters');
    let match: ValueMatch | undefined;
    if (type === 'Exact') match = { type, name, value };
    else {
      const regex = r.regex(value, at(q, 'value'));
      if (regex) match = { type, name, value, regex };
    }
    // Checked like the others, but only the first entry for a name counts (spec).
    if (match && !out.some((m) => m.name === name)) out.push(match);
  });
  return out;
}

function httpMatch(r: Reader, v: unknown, p: string): HttpMatch | undefined {
  const o = r.object(v, p, ['path', 'headers', 'queryParams', 'method']);
  if (!o) return undefined;
  const pathField = field(o, 'path');
  const path = pathField === undefined ? DEFAULT_MATCH.path : pathMatch(r, pathField, at(p, 'path'));
  const headers = valueMatches(r, field(o, 'headers'), at(p, 'headers'), true);
  const queryParams = valueMatches(r, field(o, 'queryParams'), at(p, 'queryParams'), false);
  const method = r.oneOf(field(o, 'method'), at(p, 'method'), METHODS) ?? null;
  return path && { path, headers, queryParams, method };
}

const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'trailer']);

function headerModifier(r: Reader, v: unknown, p: string): HeaderModifier {
  const out: HeaderModifier = { set: [], add: [], remove: [] };
  const o = r.object(v, p, ['set', 'add', 'remove']);
  if (!o) return out;
  // Only one action per header name (names compare case-insensitively).
  const names = new Set<string>();
  const claim = (name: string, q: string) => {
    // ugate frames bodies and keeps connections by these: changing them would let the backend
    // read a message differently from ugate (request smuggling, a desynchronised connection).
    if (FRAMING_HEADERS.has(name.toLowerCase())) return r.fail(q, `${quote(name)}: frames the message or the connection; a header modifier cannot change it`);
    if (names.has(name.toLowerCase())) return r.fail(q, `${quote(name)}: only one action per header name is allowed`);
    names.add(name.toLowerCase());
    return name;
  };
  const token = { required: true, min: 1, max: 256, pattern: HEADER_NAME, format: 'an HTTP token' };
  for (const action of ['set', 'add'] as const) {
    (r.list(field(o, action), at(p, action), 0, 16) ?? []).forEach((item, i) => {
      const q = at(at(p, action), i);
      const h = r.object(item, q, ['name', 'value']);
      if (!h) return;
      const name = r.string(field(h, 'name'), at(q, 'name'), token);
      const value = r.string(field(h, 'value'), at(q, 'value'), { required: true, min: 1, max: 4096 });
      if (value !== undefined && CONTROL.test(value)) r.fail(at(q, 'value'), 'must not contain control characters');
      if (name !== undefined && claim(name, at(q, 'name')) !== undefined) out[action].push([name, value ?? '']);
    });
  }
  (r.list(field(o, 'remove'), at(p, 'remove'), 0, 16) ?? []).forEach((item, i) => {
    const name = r.string(item, at(at(p, 'remove'), i), token);
    if (name !== undefined && claim(name, at(at(p, 'remove'), i)) !== undefined) out.remove.push(name);
  });
  return out;
}

function pathModifier(r: Reader, v: unknown, p: string): PathModifier | undefined {
  const o = r.object(v, p, ['type', 'replaceFullPath', 'replacePrefixMatch']);
  if (!o) return undefined;
  const type = r.oneOf(field(o, 'type'), at(p, 'type'), ['ReplaceFullPath', 'ReplacePrefixMatch'] as const, true);
  const full = r.string(field(o, 'replaceFullPath'), at(p, 'replaceFullPath'), { max: 1024 });
  const prefix = r.string(field(o, 'replacePrefixMatch'), at(p, 'replacePrefixMatch'), { max: 1024 });
  if (type === undefined) return undefined;
  if (type === 'ReplaceFullPath' && field(o, 'replaceFullPath') === undefined) r.fail(p, "replaceFullPath must be specified when type is set to 'ReplaceFullPath'");
  if (type !== 'ReplaceFullPath' && field(o, 'replaceFullPath') !== undefined) r.fail(p, "type must be 'ReplaceFullPath' when replaceFullPath is set");
  if (type === 'ReplacePrefixMatch' && field(o, 'replacePrefixMatch') === undefined) r.fail(p, "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'");
  if (type !== 'ReplacePrefixMatch' && field(o, 'replacePrefixMatch') !== undefined) r.fail(p, "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set");
  const value = type === 'ReplaceFullPath' ? full : prefix;
  if (value === undefined) return undefined;
  // The value goes onto the request line or into Location: it must be a plain absolute path
  // (ReplacePrefixMatch may also be empty, which the spec gives a meaning).
  if (value !== '' || type === 'ReplaceFullPath') {
    const q = at(p, type === 'ReplaceFullPath' ? 'replaceFullPath' : 'replacePrefixMatch');
    if (!value.startsWith('/')) return r.fail(q, 'must be an absolute path starting with "/"');
    if (!PATH_CHARS.test(value)) return r.fail(q, `must only contain valid path characters (matching ${PATH_CHARS.source})`);
  }
  return { type, value };
}

function requestRedirect(r: Reader, v: unknown, p: string): RequestRedirect | undefined {
  const o = r.object(v, p, ['scheme', 'hostname', 'path', 'port', 'statusCode']);
  if (!o) return undefined;
  const pathField = field(o, 'path');
  return {
    scheme: r.oneOf(field(o, 'scheme'), at(p, 'scheme'), ['http', 'https'] as const) ?? null,
    hostname: r.hostname(field(o, 'hostname'), at(p, 'hostname'), false)?.suffix ?? null,
    port: r.int(field(o, 'port'), at(p, 'port'), 1, 65535) ?? null,
    path: pathField === undefined ? null : (pathModifier(r, pathField, at(p, 'path')) ?? null),
    statusCode: r.oneOf(field(o, 'statusCode'), at(p, 'statusCode'), REDIRECT_CODES) ?? 302,
  };
}

function urlRewrite(r: Reader, v: unknown, p: string): UrlRewrite | undefined {
  const o = r.object(v, p, ['hostname', 'path']);
  if (!o) return undefined;
  const pathField = field(o, 'path');
  return {
    hostname: r.hostname(field(o, 'hostname'), at(p, 'hostname'), false)?.suffix ?? null,
    path: pathField === undefined ? null : (pathModifier(r, pathField, at(p, 'path')) ?? null),
  };
}

/** Filter type → its configuration field; the first four ugate implements. */
const FILTER_FIELDS = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  RequestMirror: 'requestMirror',
  CORS: 'cors',
  ExternalAuth: 'externalAuth',
  ExtensionRef: 'extensionRef',
} as const;
type FilterType = keyof typeof FILTER_FIELDS;
const SUPPORTED_FILTERS: readonly FilterType[] = ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite'];

type RuleFilters = Pick<HttpRule, 'requestHeaders' | 'responseHeaders' | 'redirect' | 'rewrite'>;

function filters(r: Reader, v: unknown, p: string): RuleFilters {
  const out: RuleFilters = { requestHeaders: null, responseHeaders: null, redirect: null, rewrite: null };
  const seen = new Set<string>();
  (r.list(v, p, 0, 16) ?? []).forEach((item, i) => {
    const q = at(p, i);
    const o = r.object(item, q, ['type', ...Object.values(FILTER_FIELDS)]);
    if (!o) return;
    const type = r.string(field(o, 'type'), at(q, 'type'), { required: true });
    // Each configuration field belongs to its own type only.
    for (const [t, f] of Object.entries(FILTER_FIELDS)) {
      if (t !== type && field(o, f) !== undefined) r.fail(at(q, f), `filter.${f} must be nil if the filter.type is not ${t}`);
    }
    if (type === undefined) return;
    if (!Object.hasOwn(FILTER_FIELDS, type)) return r.fail(at(q, 'type'), `${quote(type)}: unknown filter type`);
    const t = type as FilterType;
    if (!SUPPORTED_FILTERS.includes(t)) return r.fail(at(q, 'type'), `${t} filter is not supported by ugate`);
    const config = field(o, FILTER_FIELDS[t]);
    if (config === undefined) return r.fail(q, `filter.${FILTER_FIELDS[t]} must be specified for ${t} filter.type`);
    if (seen.has(t)) return r.fail(at(q, 'type'), `${t} filter cannot be repeated`);
    seen.add(t);
    const cp = at(q, FILTER_FIELDS[t]);
    if (t === 'RequestHeaderModifier') out.requestHeaders = headerModifier(r, config, cp);
    else if (t === 'ResponseHeaderModifier') out.responseHeaders = headerModifier(r, config, cp);
    else if (t === 'RequestRedirect') out.redirect = requestRedirect(r, config, cp) ?? null;
    else out.rewrite = urlRewrite(r, config, cp) ?? null;
  });
  if (seen.has('RequestRedirect') && seen.has('URLRewrite')) r.fail(p, 'May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both');
  return out;
}

function httpRule(r: Reader, v: unknown, p: string, index: number, routeNs: string): HttpRule | undefined {
  const o = r.object(v, p, ['name', 'matches', 'filters', 'backendRefs', 'timeouts'], ['retry', 'sessionPersistence']);
  if (!o) return undefined;
  const name = r.string(field(o, 'name'), at(p, 'name'), { min: 1, max: 253, pattern: DNS_SUBDOMAIN, format: 'a lowercase RFC 1123 subdomain' }) ?? null;
  const matches: HttpMatch[] = [];
  const rawMatches = r.list(field(o, 'matches'), at(p, 'matches'), 0, 64) ?? [];
  rawMatches.forEach((m, i) => {
    const match = httpMatch(r, m, at(at(p, 'matches'), i));
    if (match) matches.push(match);
  });
  if (rawMatches.length === 0) matches.push(DEFAULT_MATCH);
  const f = filters(r, field(o, 'filters'), at(p, 'filters'));
  const backends = backendRefs(r, field(o, 'backendRefs'), at(p, 'backendRefs'), routeNs, 0, true);
  if (f.redirect && backends.length > 0) r.fail(p, 'RequestRedirect filter must not be used together with backendRefs');
  // ReplacePrefixMatch replaces what one PathPrefix match matched: there must be exactly that one
  // (judged by the types as written, so that an invalid value is not reported twice).
  const pathType = (m: unknown) => (isObj(m) && isObj(field(m, 'path')) ? field(field(m, 'path') as Obj, 'type') : undefined) ?? 'PathPrefix';
  const onePrefix = rawMatches.length === 0 || (rawMatches.length === 1 && pathType(rawMatches[0]) === 'PathPrefix');
  if (f.redirect?.path?.type === 'ReplacePrefixMatch' && !onePrefix) r.fail(p, 'When using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified');
  if (f.rewrite?.path?.type === 'ReplacePrefixMatch' && !onePrefix) r.fail(p, 'When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified');
  const timeouts = { requestMs: null as number | null, backendRequestMs: null as number | null };
  const t = field(o, 'timeouts');
  const to = t === undefined ? undefined : r.object(t, at(p, 'timeouts'), ['request', 'backendRequest']);
  if (to) {
    timeouts.requestMs = r.duration(field(to, 'request'), at(p, 'timeouts.request')) ?? null;
    timeouts.backendRequestMs = r.duration(field(to, 'backendRequest'), at(p, 'timeouts.backendRequest')) ?? null;
    // As the spec's rule compares them: a "0s" (unlimited) request timeout bounds nothing.
    const { requestMs: req, backendRequestMs: be } = timeouts;
    if (req !== null && be !== null && be > req) r.fail(at(p, 'timeouts'), 'backendRequest timeout cannot be longer than request timeout');
  }
  return { index, name, matches, ...f, backends, timeouts };
}

function httpRouteSpec(r: Reader, spec: Obj, ns: string, name: string, source: ManifestSource): HttpRoute {
  const refs = parentRefs(r, field(spec, 'parentRefs'), ns);
  const hostnames = routeHostnames(r, field(spec, 'hostnames'), 0, 16);
  const rulesField = field(spec, 'rules');
  const rules: HttpRule[] = [];
  if (rulesField === undefined) {
    // The spec's default: one rule matching every request (with no backends: HTTP 500).
    rules.push({ index: 0, name: null, matches: [DEFAULT_MATCH], requestHeaders: null, responseHeaders: null, redirect: null, rewrite: null, backends: [], timeouts: { requestMs: null, backendRequestMs: null } });
  }
  (r.list(rulesField, 'spec.rules', 1, 16) ?? []).forEach((item, i) => {
    const rule = httpRule(r, item, `spec.rules[${i}]`, i, ns);
    if (!rule) return;
    if (rule.name !== null && rules.some((x) => x.name === rule.name)) r.fail(`spec.rules[${i}].name`, 'Rule name must be unique within the route');
    rules.push(rule);
  });
  if (rules.reduce((n, x) => n + x.matches.length, 0) > 128) {
    r.fail('spec.rules', 'While 16 rules and 64 matches per rule are allowed, the total number of matches across all rules in a route must be less than 128');
  }
  return { source, namespace: ns, name, parentRefs: refs, hostnames, rules };
}

// ---------------------------------------------------------------------------------------------
// TLSRoute

function tlsRouteSpec(r: Reader, spec: Obj, ns: string, name: string, source: ManifestSource): TlsRoute {
  const refs = parentRefs(r, field(spec, 'parentRefs'), ns);
  const hostnames = routeHostnames(r, field(spec, 'hostnames'), 1, 1024);
  let backends: BackendRef[] = [];
  const rules = r.list(field(spec, 'rules'), 'spec.rules', 1, 1, true);
  const rule = rules && r.object(rules[0], 'spec.rules[0]', ['name', 'backendRefs']);
  if (rule) {
    r.string(field(rule, 'name'), 'spec.rules[0].name', { min: 1, max: 253, pattern: DNS_SUBDOMAIN, format: 'a lowercase RFC 1123 subdomain' });
    backends = backendRefs(r, field(rule, 'backendRefs'), 'spec.rules[0].backendRefs', ns, 1, false);
  }
  return { source, namespace: ns, name, parentRefs: refs, hostnames, backends };
}

// ---------------------------------------------------------------------------------------------

/** "site.yaml: HTTPRoute default/shop" */
export function manifestLabel(s: Pick<ManifestSource, 'file' | 'kind' | 'namespace' | 'name'>): string {
  return `${s.file}: ${s.kind} ${s.namespace}/${s.name}`;
}

/** One issue as printed: "site.yaml: HTTPRoute default/shop: spec.rules[0]: message". */
export function formatManifestIssue(i: ManifestIssue): string {
  return `${i.manifest}: ${i.path === '' ? '' : `${i.path}: `}${i.message}`;
}

/** Validates parsed manifests in order; what has an issue is reported and left out. */
export function validateManifests(docs: ManifestDocument[]): GatewayApiConfig {
  const out: GatewayApiConfig = { gateways: [], httpRoutes: [], tlsRoutes: [], issues: [] };
  const defined = new Map<string, string>();
  for (const doc of docs) {
    const r = new Reader();
    let manifest = `${doc.file} (document ${doc.document + 1})`;
    const report = () => out.issues.push(...r.issues.map((i) => ({ manifest, ...i })));
    const o = r.object(doc.value, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    if (!o) {
      report();
      continue;
    }
    const kindText = r.string(field(o, 'kind'), 'kind', { required: true });
    const apiVersion = r.string(field(o, 'apiVersion'), 'apiVersion', { required: true });
    const kind = kindText !== undefined && Object.hasOwn(API_VERSIONS, kindText) ? (kindText as Kind) : undefined;
    if (kindText !== undefined && !kind) r.fail('kind', `${quote(kindText)}: not supported by ugate (Gateway, HTTPRoute, TLSRoute)`);
    if (kind && apiVersion !== undefined && !API_VERSIONS[kind].some((v) => `${GATEWAY_GROUP}/${v}` === apiVersion)) {
      r.fail('apiVersion', `${quote(apiVersion)}: ${kind} must be ${API_VERSIONS[kind].map((v) => `${GATEWAY_GROUP}/${v}`).join(' or ')}`);
    }
    // Other metadata (labels, annotations, uid, ...) carries nothing ugate uses.
    const meta = r.object(field(o, 'metadata') ?? {}, 'metadata', ['name', 'namespace', 'labels', 'annotations', 'creationTimestamp', 'uid', 'resourceVersion', 'generation', 'generateName', 'managedFields', 'finalizers', 'ownerReferences', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink']);
    const name = meta && r.string(field(meta, 'name'), 'metadata.name', { required: true, min: 1, max: 253, pattern: DNS_SUBDOMAIN, format: 'a lowercase RFC 1123 subdomain' });
    const namespace = (meta && r.string(field(meta, 'namespace'), 'metadata.namespace', { min: 1, max: 63, pattern: DNS_LABEL, format: 'a namespace (RFC 1123 label)' })) ?? 'default';
    if (!kind || name === undefined) {
      report();
      continue;
    }
    const source: ManifestSource = { file: doc.file, document: doc.document, kind, namespace, name };
    manifest = manifestLabel(source);
    const key = `${kind} ${namespace}/${name}`;
    const earlier = defined.get(key);
    if (earlier) r.fail('metadata.name', `duplicate: ${key} is already defined (${earlier})`);
    else defined.set(key, `${doc.file} document ${doc.document + 1}`);
    const specField = field(o, 'spec');
    const spec = r.missing(specField, 'spec', true)
      ? undefined
      : kind === 'Gateway'
        ? r.object(specField, 'spec', ['gatewayClassName', 'listeners', 'addresses'], ['infrastructure', 'allowedListeners', 'tls', 'backendTLS', 'defaultScope'])
        : r.object(specField, 'spec', ['parentRefs', 'hostnames', 'rules'], ['useDefaultGateways']);
    if (spec === undefined) {
      report();
      continue;
    }
    if (kind === 'Gateway') {
      const { gateway, listenerIssues } = gatewaySpec(r, spec, namespace, name, source);
      if (r.issues.length === 0 && gateway.listeners.length > 0) out.gateways.push(gateway);
      r.issues.push(...listenerIssues);
    } else if (kind === 'HTTPRoute') {
      const route = httpRouteSpec(r, spec, namespace, name, source);
      if (r.issues.length === 0) out.httpRoutes.push(route);
    } else {
      const route = tlsRouteSpec(r, spec, namespace, name, source);
      if (r.issues.length === 0) out.tlsRoutes.push(route);
    }
    report();
  }
  return out;
}
