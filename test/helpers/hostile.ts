// What a hostile or broken LAN client needs in a test: a raw SOCKS5 client that can stop at any
// step and connect from a chosen loopback address (each address is another "device"), and a
// destination that never answers (a black hole) on loopback, without root.

import { createRequire } from 'node:module';
import net from 'node:net';
import { parseIP } from '../../src/route/cidr.ts';
import { connectTcp } from './servers.ts';

export interface SocksOptions {
  /** source address to connect from (any 127.0.0.0/8 address is this host's) */
  localAddress?: string;
  user?: { username: string; password: string };
  /** ask by name (ATYP 3) instead of by address */
  byName?: boolean;
}

export interface SocksResult {
  socket: net.Socket;
  /** the SOCKS5 reply code (0 = succeeded), or the auth status (1 = failed) as `auth` */
  reply: number | null;
  auth?: number;
}

/** Reads exactly `n` bytes (or rejects on EOF/error). */
function readExactly(s: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= n) {
        cleanup();
        s.pause();
        const rest = buf.subarray(n);
        if (rest.length > 0) s.unshift(rest);
        resolve(buf.subarray(0, n));
      }
    };
    const onEnd = () => (cleanup(), reject(new Error('EOF')));
    const onError = (e: Error) => (cleanup(), reject(e));
    const cleanup = () => {
      s.off('data', onData);
      s.off('end', onEnd);
      s.off('error', onError);
    };
    s.on('data', onData);
    s.once('end', onEnd);
    s.once('error', onError);
    s.resume();
  });
}


function encodeTarget(host: string, port: number, byName: boolean): Buffer {
  const p = Buffer.from([port >> 8, port & 0xff]);
  const ip = byName ? null : parseIP(host);
  if (ip) return Buffer.concat([Buffer.from([ip.length === 4 ? 1 : 4]), ip, p]);
  return Buffer.concat([Buffer.from([3, host.length]), Buffer.from(host, 'latin1'), p]);
}

/** A SOCKS5 CONNECT through `proxy`, step by step; the socket is left open, and paused, for the caller. */
export async function socksConnect(proxy: { host: string; port: number }, host: string, port: number, o: SocksOptions = {}): Promise<SocksResult> {
  const s = await connectTcp(proxy.host, proxy.port, o.localAddress);
  s.on('error', () => {});
  s.write(Buffer.from([5, 1, o.user ? 2 : 0]));
  const method = await readExactly(s, 2);
  if (method[1] === 0xff) return { socket: s, reply: null };
  if (o.user) {
    const u = Buffer.from(o.user.username);
    const pw = Buffer.from(o.user.password);
    s.write(Buffer.concat([Buffer.from([1, u.length]), u, Buffer.from([pw.length]), pw]));
    const status = await readExactly(s, 2);
    if (status[1] !== 0) return { socket: s, reply: null, auth: status[1]! };
  }
  s.write(Buffer.concat([Buffer.from([5, 1, 0]), encodeTarget(host, port, o.byName ?? false)]));
  const head = await readExactly(s, 4);
  const addrLen = head[3] === 1 ? 4 : head[3] === 4 ? 16 : (await readExactly(s, 1))[0]!;
  await readExactly(s, addrLen + 2);
  return { socket: s, reply: head[1]! };
}

type Koffi = { load(lib: string): { func(sig: string): (...a: unknown[]) => number } };

/**
 * A loopback port whose listener never accepts and whose accept queue is full: the kernel drops
 * every further SYN, so a connect to it hangs until the connecting side gives up (as to a host
 * that has gone). Made with libc through koffi, since Node's servers always accept.
 */
export async function blackHole(host = '127.0.0.1'): Promise<{ host: string; port: number; close(): void }> {
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const libc = koffi.load('libc.so.6');
  const socket = libc.func('int socket(int, int, int)');
  const bind = libc.func('int bind(int, const uint8_t *addr, uint32_t len)');
  const listen = libc.func('int listen(int, int)');
  const getsockname = libc.func('int getsockname(int, _Out_ uint8_t *addr, _Inout_ uint32_t *len)');
  const close = libc.func('int close(int)');
  const fd = socket(2 /* AF_INET */, 1 /* SOCK_STREAM */, 0);
  const addr = Buffer.alloc(16);
  addr.writeUInt16LE(2, 0);
  Buffer.from(host.split('.').map(Number)).copy(addr, 4);
  if (fd < 0 || bind(fd, addr, 16) !== 0 || listen(fd, 0) !== 0) throw new Error('black hole: socket/bind/listen failed');
  const len = [16];
  getsockname(fd, addr, len);
  const port = addr.readUInt16BE(2);
  // Backlog 0 queues one connection: it fills the queue, and every SYN after it is dropped.
  const filler = await connectTcp(host, port);
  return {
    host,
    port,
    close: () => {
      filler.destroy();
      close(fd);
    },
  };
}
