// The admin endpoint: a tiny HTTP/1.1 server on a loopback address (the configuration refuses
// any other), for the router itself: LuCI's rpcd plugin, `ugate status`, a local Prometheus.
//   GET /stats     the statistics as JSON (?top=N: how many hostnames, default 20, at most 100)
//   GET /metrics   the same as Prometheus text
// One request per connection, a deadline and a byte cap on the request head, and a cap on
// connections at once: a stuck or hostile local client cannot hold it.

import type { HostPort } from '../config/model.ts';
import { readParsed, replyAndClose } from '../core/handshake.ts';
import { Inbound } from '../core/inbound.ts';
import { simpleResponse } from '../http/head.ts';
import { formatHostPort } from '../route/cidr.ts';
import { parseHttp1Request } from '../sniff/http1.ts';
import type { Conn, Listener, Runtime } from '../runtime/types.ts';
import { prometheusText } from './prometheus.ts';
import type { StatsJson } from './stats.ts';

const HEAD_DEADLINE_MS = 5000;
const HEAD_LIMITS = { maxRequestLine: 2048, maxHeadBytes: 8192, maxHeaders: 50 };
const MAX_CONNECTIONS = 16;
const DEFAULT_TOP = 20;
const MAX_TOP = 100;

/** The Prometheus text format version this endpoint speaks. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface AdminResponse {
  status: number;
  contentType: string;
  body: string;
  headers?: [string, string][];
}

/** What a request gets: pure, so it is tested without sockets. */
export function adminResponse(method: string, target: string, stats: (top: number) => StatsJson): AdminResponse {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  const text = (status: number, body: string, headers?: [string, string][]): AdminResponse => ({ status, contentType: 'text/plain; charset=utf-8', body, headers });
  if (path !== '/' && path !== '/stats' && path !== '/metrics') return text(404, `no such page: ${path} (try /stats or /metrics)\n`);
  if (method !== 'GET' && method !== 'HEAD') return text(405, `${method} is not allowed: this endpoint only reads\n`, [['Allow', 'GET, HEAD']]);
  if (path === '/') return text(200, 'ugate admin endpoint\n  /stats    statistics as JSON (?top=N hostnames)\n  /metrics  Prometheus text\n');
  let top = DEFAULT_TOP;
  if (query.has('top')) {
    const n = Number(query.get('top'));
    if (!Number.isInteger(n) || n < 0 || n > MAX_TOP) return text(400, `top must be a whole number from 0 to ${MAX_TOP}\n`);
    top = n;
  }
  if (path === '/metrics') return { status: 200, contentType: PROMETHEUS_CONTENT_TYPE, body: prometheusText(stats(0)) };
  return { status: 200, contentType: 'application/json', body: `${JSON.stringify(stats(top), null, 1)}\n` };
}

export class AdminServer {
  private listener: Listener | null = null;
  private bound: string | null = null;
  private open = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly stats: (top: number) => StatsJson,
    private readonly log: (line: string) => void,
  ) {}

  /** The address it listens on ("127.0.0.1:15000"), or null. */
  get address(): string | null {
    return this.listener && formatHostPort(this.listener.address.host, this.listener.address.port);
  }

  /** Listens on `addr` (null: not at all); an unchanged address keeps its socket. Throws when it cannot bind. */
  async listen(addr: HostPort | null): Promise<void> {
    const key = addr && formatHostPort(addr.host, addr.port);
    if (key === this.bound) return;
    await this.close();
    if (!addr) return;
    try {
      this.listener = await this.rt.listen(addr.host, addr.port, (conn) => this.accept(conn));
    } catch (e) {
      throw new Error(`admin endpoint ${key}: ${(e as Error).message}`);
    }
    this.bound = key;
    this.log(`admin endpoint on http://${this.address}/ (/stats, /metrics)`);
  }

  async close(): Promise<void> {
    const l = this.listener;
    this.listener = null;
    this.bound = null;
    await l?.close();
  }

  private accept(conn: Conn): void {
    if (this.open >= MAX_CONNECTIONS) return conn.abort();
    this.open++;
    void this.serve(conn).finally(() => this.open--);
  }

  private async serve(conn: Conn): Promise<void> {
    const inbound = new Inbound(conn);
    try {
      const r = await readParsed(this.rt, inbound, (buf) => parseHttp1Request(buf, HEAD_LIMITS), this.rt.now() + HEAD_DEADLINE_MS);
      if (r.status !== 'ok') {
        const reply = r.status === 'error' ? simpleResponse(400, { body: `bad request: ${r.error}\n`, close: true }) : null;
        return await replyAndClose(this.rt, inbound, reply);
      }
      const head = r.value;
      inbound.consume(r.length);
      let res: AdminResponse;
      try {
        res = adminResponse(head.method, head.target, this.stats);
      } catch (e) {
        // a bug in a renderer must cost this answer, not the process
        res = { status: 500, contentType: 'text/plain; charset=utf-8', body: `statistics failed: ${(e as Error).message}\n` };
      }
      const bytes = simpleResponse(res.status, {
        body: res.body,
        headers: [['Content-Type', res.contentType], ['Cache-Control', 'no-store'], ...(res.headers ?? [])],
        close: true,
        head: head.method === 'HEAD',
      });
      await replyAndClose(this.rt, inbound, bytes);
    } catch {
      conn.abort();
    }
  }
}
