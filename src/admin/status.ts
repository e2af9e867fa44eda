// `ugate status`: asks the running ugate's admin endpoint and prints what it says, as a short
// report (default), as JSON (--json) or as Prometheus text (--prometheus).

import type { HostPort } from '../config/model.ts';
import { parseResponseHead } from '../http/response.ts';
import { formatHostPort } from '../route/cidr.ts';
import type { Runtime } from '../runtime/types.ts';
import type { StatsJson, TrafficJson } from './stats.ts';

const TIMEOUT_MS = 5000;
const MAX_BODY = 8 * 1024 * 1024;

/** GET `path` from the admin endpoint: the body of a 200, else an Error saying what happened. */
export async function fetchAdmin(rt: Runtime, addr: HostPort, path: string): Promise<string> {
  const where = formatHostPort(addr.host, addr.port);
  let conn;
  try {
    conn = await rt.connect(addr.host, addr.port, TIMEOUT_MS);
  } catch (e) {
    throw new Error(`no ugate answers on ${where} (${(e as Error).message}): is it running, with this admin address (setting admin.listen; UCI option admin)?`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    await conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: ${where}\r\nConnection: close\r\n\r\n`));
    const deadline = rt.now() + TIMEOUT_MS;
    for (;;) {
      const left = deadline - rt.now();
      if (left <= 0) throw new Error(`${where} did not answer within ${TIMEOUT_MS / 1000} s`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([conn.read(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${where} did not answer within ${TIMEOUT_MS / 1000} s`)), left)))]).finally(() => clearTimeout(timer));
      if (chunk === null) break;
      chunks.push(chunk);
      size += chunk.length;
      if (size > MAX_BODY) throw new Error(`${where} sent more than ${MAX_BODY} bytes`);
    }
  } finally {
    conn.close();
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  const head = parseResponseHead(all);
  if (head.status !== 'ok') throw new Error(`${where} did not answer in HTTP: ${head.status === 'error' ? head.error : 'incomplete response'}`);
  const body = new TextDecoder().decode(all.subarray(head.length));
  if (head.value.status !== 200) throw new Error(`${where} answered ${head.value.status}: ${body.trim()}`);
  return body;
}

/** 1234567 → "1.2 MB" */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let u = 0;
  let v = n;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : `${m}m ${String(s % 60).padStart(2, '0')}s`;
}

const counts = (r: Record<string, number>) =>
  Object.entries(r)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '-';

/** A table with left-aligned columns. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

const trafficCells = (t: TrafficJson) => [String(t.connections.open), String(t.connections.total), String(t.requests), formatBytes(t.bytes.up), formatBytes(t.bytes.down)];

/** The short report `ugate status` prints. */
export function formatStatus(s: StatsJson): string {
  const out: string[] = [];
  out.push(`ugate ${s.ugate.version} on ${s.ugate.runtime}, pid ${s.ugate.pid}, up ${formatDuration(s.ugate.uptime_seconds)}`);
  out.push(`configuration applied ${s.config.applied}; ${s.config.reloads} reload(s) applied, ${s.config.refused} refused`);
  if (s.config.last_error) out.push(`  last refused at ${s.config.last_error.time}: ${s.config.last_error.message}`);
  for (const i of s.config.manifest_issues ?? []) out.push(`  left out of the manifests: ${i}`);
  const c = s.connections;
  out.push(`connections: ${c.open} open, ${c.accepted} accepted, ${c.refused} refused at accept; ${c.forwarded} forwarded, ${c.rejected} rejected, ${c.connect_failed} connect failed, ${c.handshake_failed} handshake failed, ${c.no_original_dst} without original destination`);
  out.push(`bytes forwarded: up ${formatBytes(s.forwarded_bytes.up)}, down ${formatBytes(s.forwarded_bytes.down)} (of ended connections: up ${formatBytes(s.bytes.up)}, down ${formatBytes(s.bytes.down)})`);
  const l = s.limits;
  if (l) {
    out.push(
      `limits: connections ${l.connections.open}/${l.connections.cap}, handshakes ${l.handshakes.open}/${l.handshakes.cap}, per source ${l.per_source.cap}, handshakes per source ${l.handshakes_per_source.cap} (open files limit ${l.open_files ?? 'none'}); ${l.sources} source(s) connected`,
    );
    out.push(`  refused: ${counts(l.refused)}`);
  }
  const cap = s.capture;
  out.push(cap.enabled ? `capture: on (${cap.firewall}, ${cap.table}): ${cap.devices.join(' ')} tcp ${cap.ports.join(',')}` : cap.error ? `capture: not installed: ${cap.error}` : 'capture: off');
  out.push('listeners:');
  out.push(...table(['name', 'type', 'open', 'total', 'requests', 'up', 'down', 'protocols', 'closes'], s.listeners.map((x) => [x.name, x.type ?? '(removed)', ...trafficCells(x), counts(x.sniffed), counts(x.closes)])));
  if (s.routes.length > 0) {
    out.push('routes:');
    out.push(...table(['name', 'open', 'total', 'requests', 'up', 'down', 'responses'], s.routes.map((r) => [r.name, ...trafficCells(r), counts(r.responses)])));
  }
  if (s.backends.length > 0) {
    out.push('backends:');
    out.push(...table(['name', 'open', 'total', 'requests', 'up', 'down', 'errors'], s.backends.map((b) => [b.name, ...trafficCells(b), String(b.errors)])));
  }
  const t = s.top_hosts;
  out.push(`top hosts (last ${t.window_seconds} s${t.others > 0 ? `; ${t.others} more connection(s) and request(s) to other names` : ''}):`);
  if (t.hosts.length === 0) out.push('  (none)');
  else out.push(...table(['host', 'connections', 'requests', 'bytes'], t.hosts.map((h) => [h.host, String(h.connections), String(h.requests), formatBytes(h.bytes)])));
  return `${out.join('\n')}\n`;
}
