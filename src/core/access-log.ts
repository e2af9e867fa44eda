// One access-log line per connection, written when it closes, and one per HTTP request: logfmt
// (`access key=value ...`, quoted when needed) or JSON lines (`{"log":"access",...}`, numbers as
// numbers), as the accessLogFormat setting says.

import { formatHostPort } from '../route/cidr.ts';
import type { SocketAddress } from '../runtime/types.ts';

export interface ConnectionRecord {
  listener: string;
  client: SocketAddress;
  /** original destination (redirect) or requested destination (mixed) */
  dst?: string;
  proto?: string;
  sni?: string | null;
  alpn?: string[];
  host?: string | null;
  route?: string;
  action?: string;
  backend?: string;
  up: number;
  down: number;
  /** HTTP requests served on the connection (HTTPRoute listeners) */
  requests?: number;
  close?: string;
  error?: string;
  /** why sniffing found no protocol (deadline, malformed, too-large); not a field of the line */
  sniffFailure?: string;
}

/** One HTTP request on a connection routed per request. */
export interface RequestRecord {
  listener: string;
  client: SocketAddress;
  method: string;
  host: string | null;
  target: string;
  /** "namespace/name" of the HTTPRoute; for a request no HTTPRoute covers, the listener's own route or "default" */
  route?: string;
  rule?: string;
  /** for a request no HTTPRoute covers: what the listener's own route did (passthrough, forward, reject) */
  action?: string;
  backend?: string;
  status?: number;
  up: number;
  down: number;
  error?: string;
}

export type AccessLogFormat = 'logfmt' | 'json';

type Field = [key: string, value: string | number | undefined];

function value(v: string): string {
  // Control characters are quoted too, so that JSON escapes them: a name from a client must not
  // carry terminal escape sequences into the log.
  return v === '' || /[\s"=\\\x00-\x1f\x7f]/.test(v) ? JSON.stringify(v) : v;
}

/**
 * One line per connection, written when it closes: `time` is that moment (so lines are in time
 * order), `start` when it was accepted; `alpn_offered` is what the client offered (ugate does not
 * see the server's choice in a passed-through TLS handshake).
 */
export function formatAccessLog(rec: ConnectionRecord, startedAt: Date, durationMs: number, format: AccessLogFormat = 'logfmt'): string {
  const fields: Field[] = [
    ['time', new Date(startedAt.getTime() + durationMs).toISOString()],
    ['start', startedAt.toISOString()],
    ['listener', rec.listener],
    ['client', formatHostPort(rec.client.host, rec.client.port)],
    ['dst', rec.dst],
    ['proto', rec.proto],
    ['sni', rec.sni ?? undefined],
    ['alpn_offered', rec.alpn && rec.alpn.length > 0 ? rec.alpn.join(',') : undefined],
    ['host', rec.host ?? undefined],
    ['route', rec.route],
    ['action', rec.action],
    ['backend', rec.backend],
    ['up', rec.up],
    ['down', rec.down],
    ['requests', rec.requests],
    ['ms', Math.round(durationMs)],
    ['close', rec.close ?? 'unknown'],
    ['error', rec.error],
  ];
  return line(fields, format);
}

function line(fields: Field[], format: AccessLogFormat): string {
  const present = fields.filter((f): f is [string, string | number] => f[1] !== undefined);
  if (format === 'json') return JSON.stringify(Object.fromEntries([['log', 'access'], ...present]));
  return `access ${present.map(([k, v]) => `${k}=${typeof v === 'number' ? v : value(v)}`).join(' ')}`;
}

/** One line per HTTP request, written when its response has been sent (or failed): `time` is that moment, `start` when the request began. */
export function formatRequestLog(rec: RequestRecord, durationMs: number, format: AccessLogFormat = 'logfmt'): string {
  const now = Date.now();
  const fields: Field[] = [
    ['time', new Date(now).toISOString()],
    ['start', new Date(now - durationMs).toISOString()],
    ['listener', rec.listener],
    ['client', formatHostPort(rec.client.host, rec.client.port)],
    ['proto', 'http'],
    ['method', rec.method],
    ['host', rec.host ?? undefined],
    ['target', rec.target],
    ['route', rec.route],
    ['rule', rec.rule],
    ['action', rec.action],
    ['backend', rec.backend],
    ['status', rec.status],
    ['up', rec.up],
    ['down', rec.down],
    ['ms', Math.round(durationMs)],
    ['error', rec.error],
  ];
  return line(fields, format);
}
