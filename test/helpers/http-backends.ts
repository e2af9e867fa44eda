// Real HTTP/1 peers for the Gateway API e2e tests, on raw node:net sockets so that every byte on
// the wire is under the test's control:
//
// - startHttpBackend(name): an echo server. Each request is parsed strictly (a malformed request
//   from ugate is answered 400 and recorded in `errors`) and answered with JSON saying who the
//   server is and what it received. Request headers (or query parameters of the same name) steer
//   the response: x-respond-status, -delay-ms, -interim, -body-bytes, -chunked, -close,
//   -connection-close, -header; -abort (close without answering), -truncate (half the body,
//   then FIN). Expect: 100-continue gets "100 Continue" before the body is read.
//   "Upgrade: websocket" gets a real 101 handshake and then an echo of WebSocket frames;
//   "Upgrade: x-raw-echo" gets 101 and then an echo of raw bytes.
// - RawHttpConnection: a client on a raw socket for keep-alive, pipelining, interim responses,
//   upgrades and malformed requests; it parses responses with correct framing.
// - httpRequest(): node:http, for tables of ordinary requests over a keep-alive agent.
// - freePorts(), manifests(): fixed listener ports and Gateway API YAML for `ugate run -c`.

import { createHash } from 'node:crypto';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { dump } from 'js-yaml';
import { OWN_LOOPBACK, patternChunk } from './servers.ts';

// ---------------------------------------------------------------------------------------------
// A buffered reader over a socket

export class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private err: Error | null = null;
  private wake: (() => void) | null = null;
  /** total bytes received */
  received = 0;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.received += c.length;
      this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
      this.poke();
    });
    socket.on('end', () => {
      this.ended = true;
      this.poke();
    });
    socket.on('close', () => {
      this.ended = true;
      this.poke();
    });
    socket.on('error', (e) => {
      this.err = e;
      this.ended = true;
      this.poke();
    });
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** bytes buffered and not yet consumed */
  get pending(): Buffer {
    return this.buf;
  }

  /** the peer finished (EOF, close or error) */
  get isEnded(): boolean {
    return this.ended;
  }

  get error(): Error | null {
    return this.err;
  }

  /** Waits for more bytes or the end; false when nothing more will come. */
  private async more(deadline: number, what: () => string): Promise<boolean> {
    if (this.ended) return false;
    await new Promise<void>((resolve, reject) => {
      const ms = deadline - Date.now();
      const timer = setTimeout(() => {
        this.wake = null;
        reject(new Error(`timed out waiting for ${what()}; have ${this.buf.length} bytes: ${JSON.stringify(this.buf.subarray(0, 300).toString('latin1'))}`));
      }, Math.max(ms, 0));
      // The socket keeps the process alive while it is open; an idle wait alone must not.
      timer.unref?.();
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    return true;
  }

  take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Reads through `delim` (returned without it); null at the end of the stream before it. */
  async readUntil(delim: string, max: number, timeoutMs = 10_000): Promise<Buffer | null> {
    const d = Buffer.from(delim, 'latin1');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buf.indexOf(d);
      if (i >= 0) {
        const out = this.take(i);
        this.take(d.length);
        return out;
      }
      if (this.buf.length > max) throw new Error(`no ${JSON.stringify(delim)} within ${max} bytes`);
      if (!(await this.more(deadline, () => JSON.stringify(delim)))) {
        if (this.err && this.buf.length === 0) throw this.err;
        return null;
      }
    }
  }

  /** Reads exactly n bytes; throws if the stream ends first. */
  async readExact(n: number, timeoutMs = 20_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      if (!(await this.more(deadline, () => `${n} bytes`))) {
        throw new Error(`stream ended after ${this.buf.length} of ${n} bytes${this.err ? ` (${this.err.message})` : ''}`);
      }
    }
    return this.take(n);
  }

  /** Reads until the peer closes; returns everything (an error after data counts as the end). */
  async readToEnd(timeoutMs = 20_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (await this.more(deadline, () => 'the end of the stream'));
    return this.take(this.buf.length);
  }

  /**
   * Waits up to `timeoutMs` for the peer to close. Resolves { closed, extra }: extra are bytes
   * that arrived meanwhile (there should be none after a complete response).
   */
  async waitClosed(timeoutMs: number): Promise<{ closed: boolean; extra: Buffer }> {
    const deadline = Date.now() + timeoutMs;
    try {
      while (await this.more(deadline, () => 'close'));
      return { closed: true, extra: this.take(this.buf.length) };
    } catch {
      return { closed: false, extra: this.take(this.buf.length) };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Strict HTTP/1 message parsing, shared by the backend (requests) and the client (responses)

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// field-value: VCHAR, obs-text, SP, HTAB; no CTLs
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export type HeaderPairs = [name: string, value: string][];

function parseHeaderLines(lines: string[]): HeaderPairs {
  const out: HeaderPairs = [];
  for (const line of lines) {
    if (line.startsWith(' ') || line.startsWith('\t')) throw new Error(`obs-fold line ${JSON.stringify(line)}`);
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`header line without a name: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new Error(`bad header name ${JSON.stringify(name)}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!FIELD_VALUE.test(value)) throw new Error(`bad header value for ${name}: ${JSON.stringify(value)}`);
    out.push([name, value]);
  }
  return out;
}

export function headerValues(pairs: HeaderPairs, name: string): string[] {
  const n = name.toLowerCase();
  return pairs.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
}

/** Comma-separated list members of all fields named `name`, lowercased and trimmed. */
export function headerTokens(pairs: HeaderPairs, name: string): string[] {
  return headerValues(pairs, name)
    .flatMap((v) => v.split(','))
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
}

/** Reads a chunked body (with trailers) from `r`; the hex sizes and CRLFs are checked strictly. */
async function readChunked(r: ByteReader): Promise<{ body: Buffer; chunks: number; trailers: HeaderPairs }> {
  const parts: Buffer[] = [];
  let chunks = 0;
  for (;;) {
    const line = await r.readUntil('\r\n', 4096);
    if (line === null) throw new Error('stream ended inside a chunked body');
    const sizeText = line.toString('latin1').split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`bad chunk size ${JSON.stringify(line.toString('latin1'))}`);
    const size = parseInt(sizeText, 16);
    if (size === 0) break;
    parts.push(await r.readExact(size));
    chunks++;
    const crlf = await r.readExact(2);
    if (crlf.toString('latin1') !== '\r\n') throw new Error('chunk data not followed by CRLF');
  }
  const trailerLines: string[] = [];
  for (;;) {
    const line = await r.readUntil('\r\n', 16384);
    if (line === null) throw new Error('stream ended inside chunked trailers');
    if (line.length === 0) break;
    trailerLines.push(line.toString('latin1'));
  }
  return { body: Buffer.concat(parts), chunks, trailers: parseHeaderLines(trailerLines) };
}

/** Reads a head (through the empty line); null when the stream ended cleanly before any byte. */
async function readHead(r: ByteReader, max = 1024 * 1024, timeoutMs = 10_000): Promise<{ startLine: string; headers: HeaderPairs } | null> {
  const head = await r.readUntil('\r\n\r\n', max, timeoutMs);
  if (head === null) {
    if (r.pending.length === 0) return null;
    throw new Error(`stream ended inside a head: ${JSON.stringify(r.pending.subarray(0, 300).toString('latin1'))}`);
  }
  const text = head.toString('latin1');
  const fail = (message: string) => Object.assign(new Error(message), { head: text.slice(0, 2000) });
  if (/(^|[^\r])\n/.test(text)) throw fail(`bare LF in head: ${JSON.stringify(text.slice(0, 300))}`);
  const [startLine, ...lines] = text.split('\r\n');
  try {
    return { startLine: startLine!, headers: parseHeaderLines(lines) };
  } catch (e) {
    throw fail((e as Error).message);
  }
}

// ---------------------------------------------------------------------------------------------
// The echo backend

export interface EchoRecord {
  server: string;
  /** backend connection number (1-based) and request number on it */
  connection: number;
  seq: number;
  method: string;
  url: string;
  path: string;
  /** raw query string without "?" ('' when none) */
  rawQuery: string;
  query: Record<string, string[]>;
  httpVersion: string;
  host: string | null;
  /** lowercased name → values joined with ", " (as received, one entry per name) */
  headers: Record<string, string>;
  /** every header line as received: [name, value] */
  rawHeaders: HeaderPairs;
  framing: 'none' | 'length' | 'chunked';
  bodyBytes: number;
  bodySha256: string;
  /** the backend sent "100 Continue" before reading the body */
  sentContinue: boolean;
}

export interface BackendError {
  connection: number;
  message: string;
  head: string;
}

export interface HttpBackend {
  name: string;
  host: string;
  port: number;
  /** every request answered, in arrival order */
  requests: EchoRecord[];
  /** requests the backend found malformed (answered 400) */
  errors: BackendError[];
  /** accepted TCP connections so far */
  connections(): number;
  close(): Promise<void>;
}

const REASONS: Record<number, string> = {
  100: 'Continue',
  101: 'Switching Protocols',
  102: 'Processing',
  103: 'Early Hints',
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  301: 'Moved Permanently',
  302: 'Found',
  304: 'Not Modified',
  400: 'Bad Request',
  404: 'Not Found',
  418: "I'm a teapot",
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The deterministic body for x-respond-body-bytes: N (seed 42). */
export function responseBody(n: number): Buffer {
  return patternChunk(42, Math.ceil(n / 4) * 4).subarray(0, n);
}

export function sha256hex(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

function parseQuery(raw: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (raw === '') return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = decodeURIComponent((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' '));
    const v = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
    (out[k] ??= []).push(v);
  }
  return out;
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function websocketAccept(key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64');
}

/** Encodes one WebSocket frame (FIN set); clients must mask, servers must not. */
export function wsFrame(payload: Buffer | string, opts: { opcode?: number; mask?: boolean } = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const opcode = opts.opcode ?? 1;
  const mask = opts.mask ?? true;
  const len = data.length;
  const head: number[] = [0x80 | opcode];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 255);
  else {
    head.push(m | 127, 0, 0, 0, 0);
    head.push((len >>> 24) & 255, (len >>> 16) & 255, (len >>> 8) & 255, len & 255);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78].map((b, i) => (b + len + i) & 255));
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = data[i]! ^ key[i % 4]!;
  return Buffer.concat([Buffer.from(head), key, masked]);
}

export interface WsMessage {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Reads one WebSocket frame from `r` (unmasking it if masked). */
export async function readWsFrame(r: ByteReader, timeoutMs = 10_000): Promise<WsMessage> {
  const h = await r.readExact(2, timeoutMs);
  const fin = (h[0]! & 0x80) !== 0;
  const opcode = h[0]! & 0x0f;
  const masked = (h[1]! & 0x80) !== 0;
  let len = h[1]! & 0x7f;
  if (len === 126) len = (await r.readExact(2, timeoutMs)).readUInt16BE(0);
  else if (len === 127) len = Number((await r.readExact(8, timeoutMs)).readBigUInt64BE(0));
  const key = masked ? await r.readExact(4, timeoutMs) : null;
  const payload = Buffer.from(await r.readExact(len, timeoutMs));
  if (key) for (let i = 0; i < len; i++) payload[i] = payload[i]! ^ key[i % 4]!;
  return { fin, opcode, masked, payload };
}

/** Starts an echo backend on `host` (127.0.0.1 by default), port 0 or `port`. */
export async function startHttpBackend(name: string, opts: { host?: string; port?: number } = {}): Promise<HttpBackend> {
  const host = opts.host ?? '127.0.0.1';
  const requests: EchoRecord[] = [];
  const errors: BackendError[] = [];
  const sockets = new Set<net.Socket>();
  let connCount = 0;

  const serve = async (s: net.Socket, connId: number): Promise<void> => {
    const r = new ByteReader(s);
    for (let seq = 1; ; seq++) {
      let head: { startLine: string; headers: HeaderPairs } | null;
      const fail = (message: string, headText: string) => {
        errors.push({ connection: connId, message, head: headText });
        const body = JSON.stringify({ server: name, backendError: message });
        s.end(`HTTP/1.1 400 Bad Request\r\nx-served-by: ${name}\r\nx-backend-error: ${message.replace(/[^\x20-\x7e]/g, '?').slice(0, 200)}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      };
      try {
        head = await readHead(r, 1024 * 1024, 3_600_000);
      } catch (e) {
        if (r.isEnded && r.pending.length === 0) return;
        return fail((e as Error).message, (e as { head?: string }).head ?? r.pending.subarray(0, 500).toString('latin1'));
      }
      if (head === null) return void s.end();
      const headText = `${head.startLine}\r\n${head.headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}`;
      const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/(1\.[01])$/.exec(head.startLine);
      if (!m) return fail(`bad request line ${JSON.stringify(head.startLine)}`, headText);
      const [, method, url, httpVersion] = m as unknown as [string, string, string, string];
      const hs = head.headers;
      const hosts = headerValues(hs, 'host');
      if (httpVersion === '1.1' && hosts.length !== 1) return fail(`HTTP/1.1 request with ${hosts.length} Host fields`, headText);
      const te = headerTokens(hs, 'transfer-encoding');
      const cls = headerValues(hs, 'content-length');
      if (te.length > 0 && cls.length > 0) return fail('both Transfer-Encoding and Content-Length', headText);
      if (te.length > 0 && (te.length !== 1 || te[0] !== 'chunked')) return fail(`unsupported transfer-encoding ${te.join(',')}`, headText);
      if (cls.length > 1) return fail(`${cls.length} Content-Length fields`, headText);
      if (cls.length === 1 && !/^\d+$/.test(cls[0]!)) return fail(`bad Content-Length ${cls[0]}`, headText);
      const framing: EchoRecord['framing'] = te.length > 0 ? 'chunked' : cls.length === 1 ? 'length' : 'none';
      const contentLength = cls.length === 1 ? Number(cls[0]) : 0;

      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      const rawQuery = q < 0 ? '' : url.slice(q + 1);
      let query: Record<string, string[]>;
      try {
        query = parseQuery(rawQuery);
      } catch {
        query = {};
      }
      const control = (k: string): string | undefined => {
        const h = headerValues(hs, `x-respond-${k}`);
        if (h.length > 0) return h.join(',');
        const qv = query[`x-respond-${k}`];
        return qv && qv.length > 0 ? qv.join(',') : undefined;
      };

      const upgrade = headerTokens(hs, 'upgrade');
      const connTokens = headerTokens(hs, 'connection');
      const expectsContinue = headerTokens(hs, 'expect').includes('100-continue');
      const hasBody = framing === 'chunked' || contentLength > 0;
      let sentContinue = false;
      if (expectsContinue && hasBody) {
        s.write('HTTP/1.1 100 Continue\r\n\r\n');
        sentContinue = true;
      }
      let body: Buffer;
      try {
        body = framing === 'chunked' ? (await readChunked(r)).body : framing === 'length' ? await r.readExact(contentLength, 60_000) : Buffer.alloc(0);
      } catch (e) {
        return fail(`body: ${(e as Error).message}`, headText);
      }

      const headers: Record<string, string> = {};
      for (const [k, v] of hs) {
        const lk = k.toLowerCase();
        headers[lk] = headers[lk] === undefined ? v : `${headers[lk]}, ${v}`;
      }
      const rec: EchoRecord = {
        server: name,
        connection: connId,
        seq,
        method,
        url,
        path,
        rawQuery,
        query,
        httpVersion,
        host: hosts[0] ?? null,
        headers,
        rawHeaders: hs,
        framing,
        bodyBytes: body.length,
        bodySha256: sha256hex(body),
        sentContinue,
      };
      requests.push(rec);

      const delay = Number(control('delay-ms') ?? 0);
      if (delay > 0) await new Promise((res) => setTimeout(res, delay));
      if (s.destroyed) return;

      // Upgrades: a WebSocket handshake, or a raw byte echo.
      if (upgrade.length > 0 && connTokens.includes('upgrade')) {
        const proto = upgrade[0]!;
        if (proto === 'websocket') {
          const key = headerValues(hs, 'sec-websocket-key')[0];
          if (!key) return fail('websocket upgrade without Sec-WebSocket-Key', headText);
          s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${websocketAccept(key)}\r\nx-served-by: ${name}\r\n\r\n`);
          for (;;) {
            let f: WsMessage;
            try {
              f = await readWsFrame(r, 3_600_000);
            } catch {
              return void s.end();
            }
            if (!f.masked) {
              s.end(wsFrame(Buffer.from([0x03, 0xea]), { opcode: 8, mask: false })); // 1002 protocol error
              return;
            }
            if (f.opcode === 8) {
              s.end(wsFrame(f.payload, { opcode: 8, mask: false }));
              return;
            }
            s.write(wsFrame(f.payload, { opcode: f.opcode === 9 ? 10 : f.opcode, mask: false }));
          }
        }
        if (proto === 'x-raw-echo') {
          s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: x-raw-echo\r\nConnection: Upgrade\r\nx-served-by: ${name}\r\n\r\n`);
          const rest = r.take(r.pending.length);
          if (rest.length > 0) s.write(rest);
          s.removeAllListeners('data');
          s.on('data', (c: Buffer) => s.write(c));
          s.on('end', () => s.end());
          return;
        }
      }

      // Failures: no response at all, or a response cut short (a clean FIN mid-body).
      if (control('abort') !== undefined) return void s.destroy();
      if (control('truncate') !== undefined) {
        const full = responseBody(Number(control('body-bytes') ?? 10000));
        s.write(`HTTP/1.1 200 OK\r\nx-served-by: ${name}\r\ncontent-length: ${full.length}\r\n\r\n`);
        s.end(full.subarray(0, full.length >> 1));
        return;
      }

      // The response.
      const status = Number(control('status') ?? 200);
      const interim = (control('interim') ?? '')
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '')
        .map(Number);
      for (const code of interim) s.write(`HTTP/1.1 ${code} ${REASONS[code] ?? 'Interim'}\r\nx-interim-from: ${name}\r\n${code === 103 ? 'link: </style.css>; rel=preload\r\n' : ''}\r\n`);
      const bodyBytes = control('body-bytes');
      const payload = bodyBytes !== undefined ? responseBody(Number(bodyBytes)) : Buffer.from(JSON.stringify(rec));
      const lines: string[] = [`HTTP/1.1 ${status} ${REASONS[status] ?? 'Whatever'}`, `x-served-by: ${name}`, `x-backend-seq: ${connId}.${seq}`];
      lines.push(bodyBytes !== undefined ? 'content-type: application/octet-stream' : 'content-type: application/json');
      if (bodyBytes !== undefined) lines.push(`x-body-sha256: ${sha256hex(payload)}`);
      for (const h of (control('header') ?? '').split(',')) {
        const eq = h.indexOf('=');
        if (eq > 0) lines.push(`${h.slice(0, eq).trim()}: ${h.slice(eq + 1).trim()}`);
      }
      const chunks = Number(control('chunked') ?? 0);
      const noBody = method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
      const clientWantsClose = connTokens.includes('close') || (httpVersion === '1.0' && !connTokens.includes('keep-alive'));
      const closeDelimited = control('close') !== undefined && !noBody;
      let closeAfter = clientWantsClose || closeDelimited;
      if (control('connection-close') !== undefined) {
        lines.push('connection: close');
        closeAfter = true;
      } else if (clientWantsClose && !closeDelimited) lines.push('connection: close');
      else if (httpVersion === '1.0' && !closeAfter) lines.push('connection: keep-alive');
      if (status === 304) lines.push('etag: "v1"');
      let wire: Buffer[];
      if (noBody) {
        // HEAD and 304 announce the framing a GET would have had; 204 has none.
        if (method === 'HEAD' && chunks > 0) lines.push('transfer-encoding: chunked');
        else if (status !== 204 && !(status >= 100 && status < 200)) lines.push(`content-length: ${payload.length}`);
        wire = [Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')];
      } else if (closeDelimited) {
        wire = [Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload];
      } else if (chunks > 0 && httpVersion === '1.1') {
        lines.push('transfer-encoding: chunked');
        wire = [Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')];
        const size = Math.ceil(payload.length / chunks);
        for (let i = 0; i < payload.length; i += size) {
          const part = payload.subarray(i, i + size);
          wire.push(Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n'));
        }
        wire.push(Buffer.from('0\r\n\r\n'));
      } else {
        lines.push(`content-length: ${payload.length}`);
        wire = [Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload];
      }
      if (chunks > 1) {
        // Write the pieces separately so that the chunks really arrive as separate reads.
        for (const w of wire) {
          s.write(w);
          await new Promise((res) => setTimeout(res, 2));
        }
      } else s.write(Buffer.concat(wire));
      if (closeAfter) {
        s.end();
        return;
      }
    }
  };

  // allowHalfOpen: a client that half-closes after its request still gets the response.
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    const id = ++connCount;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    serve(s, id).catch(() => s.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    host,
    port,
    requests,
    errors,
    connections: () => connCount,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// The raw client

export interface RawResponse {
  httpVersion: string;
  status: number;
  reason: string;
  headers: HeaderPairs;
  /** the value of a header (several joined with ", "), or undefined */
  header(name: string): string | undefined;
  body: Buffer;
  framing: 'none' | 'length' | 'chunked' | 'close';
  trailers: HeaderPairs;
  /** 1xx responses received before this one */
  interim: { status: number; headers: HeaderPairs }[];
  /** the body parsed as JSON (throws with the text when it is not) */
  json<T = EchoRecord>(): T;
}

function makeResponse(httpVersion: string, status: number, reason: string, headers: HeaderPairs): RawResponse {
  return {
    httpVersion,
    status,
    reason,
    headers,
    header: (n) => {
      const v = headerValues(headers, n);
      return v.length === 0 ? undefined : v.join(', ');
    },
    body: Buffer.alloc(0),
    framing: 'none',
    trailers: [],
    interim: [],
    json<T>(): T {
      try {
        return JSON.parse(this.body.toString()) as T;
      } catch {
        throw new Error(`not JSON (status ${status}): ${JSON.stringify(this.body.subarray(0, 500).toString())}`);
      }
    },
  };
}

export class RawHttpConnection {
  readonly reader: ByteReader;
  private constructor(readonly socket: net.Socket) {
    this.reader = new ByteReader(socket);
  }

  static open(host: string, port: number): Promise<RawHttpConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port, allowHalfOpen: true }, () => {
        s.off('error', reject);
        resolve(new RawHttpConnection(s));
      });
      s.once('error', reject);
    });
  }

  /** Writes bytes; resolves when the kernel took them (errors such as EPIPE resolve too: see reader.error). */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || !this.socket.writable) return resolve();
      this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, () => resolve());
    });
  }

  /**
   * Reads one response. `head: true` for a response to HEAD. 1xx responses other than 101 are
   * collected into `interim` (or returned alone with `interimOnly`).
   */
  async readResponse(opts: { head?: boolean; interimOnly?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const interim: RawResponse['interim'] = [];
    for (;;) {
      const h = await readHead(this.reader, 1024 * 1024, opts.timeoutMs ?? 15_000);
      if (h === null) throw new Error(`connection closed before a response${this.reader.error ? ` (${this.reader.error.message})` : ''}`);
      const m = /^HTTP\/(1\.[01]) (\d{3})(?: (.*))?$/.exec(h.startLine);
      if (!m) throw new Error(`bad status line ${JSON.stringify(h.startLine)}`);
      const res = makeResponse(m[1]!, Number(m[2]), m[3] ?? '', h.headers);
      if (res.status >= 100 && res.status < 200 && res.status !== 101) {
        interim.push({ status: res.status, headers: h.headers });
        if (opts.interimOnly) {
          res.interim = interim;
          return res;
        }
        continue;
      }
      res.interim = interim;
      if (opts.head || res.status === 204 || res.status === 304 || res.status === 101) return res;
      const te = headerTokens(h.headers, 'transfer-encoding');
      const cls = headerValues(h.headers, 'content-length');
      if (te.length > 0) {
        if (te[te.length - 1] !== 'chunked') throw new Error(`response transfer-encoding ${te.join(',')}`);
        if (cls.length > 0) throw new Error('response with both Transfer-Encoding and Content-Length');
        const c = await readChunked(this.reader);
        res.body = c.body;
        res.trailers = c.trailers;
        res.framing = 'chunked';
      } else if (cls.length > 0) {
        if (new Set(cls).size !== 1 || !/^\d+$/.test(cls[0]!)) throw new Error(`response content-length ${cls.join(',')}`);
        res.body = await this.reader.readExact(Number(cls[0]), opts.timeoutMs ?? 30_000);
        res.framing = 'length';
      } else {
        res.body = await this.reader.readToEnd(opts.timeoutMs ?? 30_000);
        res.framing = 'close';
      }
      return res;
    }
  }

  /** Sends `req` and reads its response. */
  async request(req: string | Buffer, opts: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    await this.write(req);
    return this.readResponse(opts);
  }

  waitClosed(timeoutMs = 3_000): Promise<{ closed: boolean; extra: Buffer }> {
    return this.reader.waitClosed(timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One request head (and body) as text; `headers` may repeat names. Host first unless given as null. */
export function rawRequest(opts: {
  method?: string;
  path?: string;
  host?: string | null;
  version?: string;
  headers?: HeaderPairs;
  body?: string | Buffer;
  /** add Content-Length for the body (default true when there is a body) */
  contentLength?: boolean;
}): Buffer {
  const lines = [`${opts.method ?? 'GET'} ${opts.path ?? '/'} HTTP/${opts.version ?? '1.1'}`];
  if (opts.host !== null && opts.host !== undefined) lines.push(`Host: ${opts.host}`);
  for (const [k, v] of opts.headers ?? []) lines.push(`${k}: ${v}`);
  const body = opts.body === undefined ? Buffer.alloc(0) : Buffer.from(opts.body);
  if (opts.body !== undefined && opts.contentLength !== false) lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/** Encodes `body` as chunks of `size` bytes (and the last chunk). */
export function chunkedBody(body: Buffer, size: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) {
    const part = body.subarray(i, i + size);
    out.push(Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n'));
  }
  out.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(out);
}

// ---------------------------------------------------------------------------------------------
// node:http client

export interface SimpleResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  json<T = EchoRecord>(): T;
}

/** A keep-alive agent with one socket: a sequence of requests shares one connection. */
export function keepAliveAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 1 });
}

export function httpRequest(
  port: number,
  opts: { method?: string; path?: string; host?: string; headers?: Record<string, string | string[]>; body?: Buffer | string; agent?: http.Agent | false; timeoutMs?: number; address?: string },
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = { ...(opts.headers ?? {}) };
    if (opts.host !== undefined) headers.host = opts.host;
    const req = http.request(
      { host: opts.address ?? OWN_LOOPBACK, port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers, agent: opts.agent ?? false, timeout: opts.timeoutMs ?? 15_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body,
            json<T>(): T {
              try {
                return JSON.parse(body.toString()) as T;
              } catch {
                throw new Error(`not JSON (status ${res.statusCode}): ${JSON.stringify(body.subarray(0, 500).toString())}`);
              }
            },
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request ${opts.method ?? 'GET'} ${opts.host ?? ''}${opts.path ?? '/'} timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

// ---------------------------------------------------------------------------------------------
// Ports and manifests

/** Ports this process has handed out: never twice. */
const handedOut = new Set<number>();

/** The first port of the kernel's ephemeral range, where bind(0) takes its ports from. */
function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

/**
 * `n` distinct TCP ports free on OWN_LOOPBACK, for gateway listeners there: nothing else uses that
 * address. They are taken below the ephemeral range, so a listener or client of a concurrent test
 * that binds port 0 there can never be given one of them between this check and ugate's bind, and
 * none is handed out twice in this process.
 */
export async function freePorts(n: number): Promise<number[]> {
  const low = Math.max(1024, ephemeralLow() - 12000);
  const ports: number[] = [];
  while (ports.length < n) {
    const port = low + Math.floor(Math.random() * 10000);
    if (handedOut.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, OWN_LOOPBACK, () => s.close(() => resolve(true)));
    });
    if (!free) continue;
    handedOut.add(port);
    ports.push(port);
  }
  return ports;
}

export const GATEWAY_API = 'gateway.networking.k8s.io/v1';

/** Several Kubernetes-style objects as one multi-document YAML text. */
export function manifests(...docs: object[]): string {
  return docs.map((d) => `---\n${dump(d)}`).join('');
}

export interface ListenerSpec {
  name: string;
  port: number;
  protocol: 'HTTP' | 'TLS';
  hostname?: string;
  tls?: { mode: 'Passthrough' };
}

export function gatewayManifest(name: string, listeners: ListenerSpec[], addresses: string[] = [OWN_LOOPBACK]): object {
  return {
    apiVersion: GATEWAY_API,
    kind: 'Gateway',
    metadata: { name },
    spec: {
      gatewayClassName: 'ugate',
      addresses: addresses.map((value) => ({ type: 'IPAddress', value })),
      listeners,
    },
  };
}

export function backendRef(b: { port: number; host?: string }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: b.host ?? '127.0.0.1', port: b.port, ...extra };
}

export function httpRouteManifest(name: string, spec: { parentRefs: object[]; hostnames?: string[]; rules: object[] }): object {
  return { apiVersion: GATEWAY_API, kind: 'HTTPRoute', metadata: { name }, spec };
}

export function tlsRouteManifest(name: string, spec: { parentRefs: object[]; hostnames: string[]; rules: object[] }): object {
  return { apiVersion: GATEWAY_API, kind: 'TLSRoute', metadata: { name }, spec };
}
