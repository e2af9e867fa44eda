// Real peers on loopback for the e2e tests: HTTP and HTTPS servers that say who they are and what
// they received, a TLS certificate made with openssl, and a TCP server for bulk checksummed data.

import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

/**
 * A loopback address of this test process alone (Linux routes all of 127.0.0.0/8 to lo), made from
 * its pid: 127.100.0.0 to 127.164.255.255, never 127.0.0.1, where clients connect from and other
 * services listen. So a port found free on it stays free for the gateway that the test starts
 * there: no client's connection uses it, no concurrent test binds it.
 */
export const OWN_LOOPBACK = `127.${100 + ((process.pid >> 16) & 63)}.${(process.pid >> 8) & 255}.${process.pid & 255}`;

let cert: { key: Buffer; cert: Buffer; dir: string } | undefined;

/** A self-signed certificate for the test names (EC P-256: quick to make). */
export function testCertificate(): { key: Buffer; cert: Buffer; dir: string } {
  if (cert) return cert;
  const dir = mkdtempSync(join(tmpdir(), 'ugate-cert-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=ugate-test',
    '-addext', 'subjectAltName=DNS:a.test,DNS:b.test,DNS:c.test,DNS:origin.test,DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'ignore' });
  cert = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')), dir };
  return cert;
}

export interface EchoServer {
  name: string;
  host: string;
  port: number;
  /** TCP connections accepted so far */
  connections(): number;
  close(): Promise<void>;
}

function handler(name: string) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({ server: name, method: req.method, url: req.url, host: req.headers.host ?? null, headers: req.headers, bodyBytes: Buffer.concat(chunks).length });
      res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': name });
      res.end(body);
    });
  };
}

async function listening(server: net.Server, host: string, name: string): Promise<EchoServer> {
  let accepted = 0;
  server.on('connection', () => accepted++);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    name,
    host,
    port: a.port,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        (server as http.Server).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** An HTTP server answering every request with JSON naming itself and echoing the request. */
export function httpEchoServer(name: string, host = '127.0.0.1'): Promise<EchoServer> {
  return listening(http.createServer(handler(name)), host, name);
}

export function httpsEchoServer(name: string, host = '127.0.0.1'): Promise<EchoServer> {
  const { key, cert: c } = testCertificate();
  return listening(https.createServer({ key, cert: c }, handler(name)), host, name);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment for clients: no proxy settings inherited, so only the test's own -x applies. */
const clientEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_proxy$/i.test(k)));

/** Runs a real client (curl, openssl) and returns its exit code and output; never throws on non-zero exit. */
export function run(cmd: string, args: string[], input?: string, timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: clientEnv }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as NodeJS.ErrnoException).code === 'number' ? ((error as unknown as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin!.end(input);
    else child.stdin!.end();
  });
}

/** curl with test defaults: silent, errors shown, bounded time (run() drops proxy settings from the environment). */
export function curl(args: string[]): Promise<RunResult> {
  return run('curl', ['-sS', '--max-time', '15', ...args]);
}

/** Deterministic pseudo-random bytes (xorshift), so both ends can know the data without sending it twice. */
export function patternChunk(seed: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  return out;
}

export function sha256(): ReturnType<typeof createHash> {
  return createHash('sha256');
}

/** A TCP connection, optionally from a chosen source address (any 127.0.0.0/8 one is this host's). */
export function connectTcp(host: string, port: number, localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, allowHalfOpen: true, ...(localAddress ? { localAddress } : {}) }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Open file descriptors of a process. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Reads a socket to its end; resolves with all bytes (or rejects on error). */
export function readAll(s: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

/**
 * The system's own `cmd`, searched on PATH but never in node_modules/.bin: under `npm test`
 * that folder comes first, and a dependency of ava installs a binary named `nft` there.
 */
export function systemCommand(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (dir === '' || dir.includes('node_modules')) continue;
    const path = join(dir, cmd);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return null;
}

export function hasCommand(cmd: string): boolean {
  return systemCommand(cmd) !== null;
}

export { execFile };
