// Node.js implementation of the runtime boundary: node:net sockets, pulled one chunk at a time
// so an unread socket pushes back on its peer. SO_ORIGINAL_DST and the splice shim through koffi.

import type * as NodeNet from 'node:net';
import { decodeSockaddr, SO_ORIGINAL_DST, SOCKADDR_IN6_SIZE, SOL_IP, SOL_IPV6 } from './sockaddr.ts';
import { afterAtLeast } from './timer.ts';
import { ConnectError, type Conn, type ConnectErrorKind, type DetachedSocket, type Listener, type Runtime, type SocketAddress, type SpliceLibrary } from './types.ts';

/** The libuv stream handle behind a net.Socket (Node internals, stable since Node 0.x). */
interface NodeHandle {
  fd?: number;
  reading?: boolean;
  readStop(): number;
  readStart(): number;
}

function handleOf(socket: NodeNet.Socket): NodeHandle | null {
  return (socket as unknown as { _handle?: NodeHandle | null })._handle ?? null;
}

type GetOriginalDst = (fd: number, v6: boolean) => SocketAddress | null;

function errorKind(code: string | undefined): ConnectErrorKind {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'EADDRNOTAVAIL':
      return 'unreachable';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ENODATA':
      return 'dns';
    default:
      return 'other';
  }
}

function address(host: string | undefined, port: number | undefined): SocketAddress {
  const h = (host ?? '0.0.0.0').replace(/^::ffff:(?=\d+\.)/, '');
  return { host: h, port: port ?? 0, family: h.includes(':') ? 6 : 4 };
}

class NodeConn implements Conn {
  readonly remote: SocketAddress;
  readonly local: SocketAddress;
  private queue: Uint8Array[] = [];
  private ended = false;
  private failure: Error | null = null;
  private waiter: { resolve: (c: Uint8Array | null) => void; reject: (e: Error) => void } | null = null;
  /** reading was stopped under the stream by detach(): the next read() restarts it */
  private detached = false;
  /** writes not yet flushed; rejected if the socket fails or closes first */
  private readonly writeWaiters = new Set<{ resolve: () => void; reject: (e: Error) => void }>();

  constructor(
    private readonly socket: NodeNet.Socket,
    private readonly originalDst: GetOriginalDst | null,
  ) {
    this.remote = address(socket.remoteAddress, socket.remotePort);
    this.local = address(socket.localAddress, socket.localPort);
    socket.pause();
    socket.on('data', (chunk: Buffer) => {
      socket.pause();
      if (this.waiter) {
        this.waiter.resolve(chunk);
        this.waiter = null;
      } else this.queue.push(chunk);
    });
    socket.on('end', () => this.settle(null));
    socket.on('error', (e) => this.settle(e));
    socket.on('close', () => this.settle(null));
  }

  private settle(e: Error | null): void {
    if (e) this.failure ??= e;
    else this.ended = true;
    if (this.waiter) {
      if (this.failure) this.waiter.reject(this.failure);
      else this.waiter.resolve(null);
      this.waiter = null;
    }
    if (e || this.socket.destroyed) {
      const err = e ?? new Error('socket closed');
      for (const w of this.writeWaiters) w.reject(err);
      this.writeWaiters.clear();
    }
  }

  read(): Promise<Uint8Array | null> {
    const chunk = this.queue.shift();
    if (chunk) return Promise.resolve(chunk);
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended || this.socket.destroyed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      if (this.detached) {
        // The stream still believes a read is under way (detach stopped libuv beneath it), so
        // resume() alone would never read again: restart the handle itself.
        this.detached = false;
        const handle = handleOf(this.socket);
        if (handle) {
          handle.reading = true;
          handle.readStart();
        }
      }
      this.socket.resume();
    });
  }

  write(data: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.socket.destroyed || this.socket.writableEnded) return Promise.reject(new Error('socket closed'));
    // Resolved by the write callback, once Node has handed the bytes to the kernel: a "true" from
    // write() only means Node buffered them, and a close() right after would drop them.
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      this.writeWaiters.add(waiter);
      this.socket.write(data, (err) => {
        if (!this.writeWaiters.delete(waiter)) return;
        if (err) reject(err);
        else resolve();
      });
    });
  }

  detach(): Promise<DetachedSocket | null> {
    const handle = handleOf(this.socket);
    const fd = handle?.fd;
    if (this.failure || this.socket.destroyed || !handle || fd === undefined || fd < 0) return Promise.resolve(null);
    // Node reads ahead into the stream's buffer even while paused: each read() hands one buffered
    // chunk to the 'data' handler (to a waiting reader, else the queue). Then libuv stops reading.
    while (this.socket.read() !== null) {
      // collected by the 'data' handler
    }
    handle.reading = false;
    handle.readStop();
    this.detached = true;
    this.waiter?.resolve(null);
    this.waiter = null;
    const pending = this.queue.splice(0);
    return Promise.resolve({ fd, pending: pending.length === 1 ? pending[0]! : Buffer.concat(pending) });
  }

  shutdownWrite(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  close(): void {
    this.socket.destroy();
    this.settle(null);
  }

  abort(): void {
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
    this.settle(null);
  }

  originalDestination(): SocketAddress | null {
    const fd = handleOf(this.socket)?.fd;
    if (!this.originalDst || fd === undefined || fd < 0) return null;
    return this.originalDst(fd, this.local.family === 6);
  }
}

type Koffi = { load(lib: string): { func(sig: string): (...a: unknown[]) => unknown }; errno(): number };

/** koffi, ugate's FFI on Node (an npm dependency, found from the bundle's folder up). */
async function requireKoffi(): Promise<Koffi> {
  const { createRequire } = await import('node:module');
  try {
    return createRequire(import.meta.url)('koffi') as Koffi;
  } catch (e) {
    // Node's message goes on with the require stack: its first line says what is missing.
    throw new Error(`koffi (the npm package ugate uses for FFI on Node) cannot be loaded: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** libc getsockopt through koffi, loaded only when a redirect listener needs it. */
async function loadOriginalDst(): Promise<GetOriginalDst> {
  const koffi = await requireKoffi();
  const libc = koffi.load('libc.so.6');
  const getsockopt = libc.func('int getsockopt(int fd, int level, int name, _Out_ uint8_t *val, _Inout_ uint32_t *len)') as (...a: unknown[]) => number;
  return (fd, v6) => {
    const buf = new Uint8Array(SOCKADDR_IN6_SIZE);
    const len = [buf.length];
    // -1 with ENOENT: no NAT mapping (the client connected to ugate's port directly).
    if (getsockopt(fd, v6 ? SOL_IPV6 : SOL_IP, SO_ORIGINAL_DST, buf, len) !== 0) return null;
    return decodeSockaddr(buf.subarray(0, len[0]));
  };
}

/** The splice shim through koffi. */
async function loadNodeSplice(library: string): Promise<SpliceLibrary> {
  const koffi = await requireKoffi();
  const lib = koffi.load(library);
  const f = (sig: string) => lib.func(sig) as never;
  const strerror = koffi.load('libc.so.6').func('const char *strerror(int errnum)');
  return {
    abi: f('int ugs_abi(void)'),
    open: f('void *ugs_open(uint32_t pipe_size, uint32_t pool_max)'),
    notifyDup: f('int ugs_notify_dup(void *e, int target)'),
    add: f('int ugs_add(void *e, uint32_t id, int client_fd, int upstream_fd, const uint8_t *to_upstream, uint32_t to_upstream_len, const uint8_t *to_client, uint32_t to_client_len, uint32_t idle_ms)'),
    close: f('int ugs_close(void *e, uint32_t id)'),
    takeEvents: f('uint32_t ugs_take_events(void *e, _Out_ uint8_t *buf, uint32_t cap)'),
    stats: f('uint32_t ugs_stats(void *e, _Out_ uint8_t *buf, uint32_t cap)'),
    destroy: f('void ugs_destroy(void *e)'),
    errno: () => koffi.errno(),
    strerror: (n) => strerror(n) as string,
  };
}

/**
 * Node opens its inspector (a debugger, on 127.0.0.1:9229) on SIGUSR1 unless a listener takes the
 * signal: one is installed before anything else, since a LAN client could reach that port.
 */
const inspectorGuard = () => void process.stderr.write('ugate: SIGUSR1 ignored (starting up)\n');

export async function createNodeRuntime(): Promise<Runtime> {
  process.on('SIGUSR1', inspectorGuard);
  const net = await import('node:net');
  const dns = await import('node:dns');
  const fs = await import('node:fs/promises');
  const os = await import('node:os');
  const childProcess = await import('node:child_process');
  // Loaded once, by the first listener that needs it (a redirect listener).
  let originalDst: Promise<GetOriginalDst> | undefined;
  // A log reader that went away (EPIPE) must not take the gateway down with it.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  // Nor must a stray rejected promise, while it serves everyone else: log it.
  process.on('unhandledRejection', (reason) => process.stderr.write(`ugate: unhandled rejection: ${String(reason)}\n`));
  return {
    name: 'node',
    version: process.version,
    args: process.argv.slice(2),
    pid: process.pid,
    env: (name) => process.env[name],
    async listen(host, port, onConnection, opts) {
      // Loaded before the first accept, so originalDestination() stays synchronous. Without it a
      // redirect listener could only close what it accepts: that is a start-up error.
      let getOriginalDst: GetOriginalDst | null = null;
      if (opts?.originalDestination) {
        try {
          getOriginalDst = await (originalDst ??= loadOriginalDst());
        } catch (e) {
          throw new Error(`cannot read original destinations (SO_ORIGINAL_DST): ${(e as Error).message}`);
        }
      }
      return new Promise<Listener>((resolve, reject) => {
        const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => {
          socket.on('error', () => {}); // reported through Conn.read/write
          if (socket.remoteAddress === undefined) return socket.destroy(); // already gone
          onConnection(new NodeConn(socket, getOriginalDst));
        });
        server.once('error', reject);
        server.listen({ host, port, ipv6Only: host.includes(':'), backlog: 1024 }, () => {
          server.off('error', reject);
          server.on('error', (e) => process.stderr.write(`ugate: listener ${host}:${port}: ${e.message}\n`));
          const a = server.address() as NodeNet.AddressInfo;
          // the descriptor is closed at once; the callback would wait for open connections too
          resolve({ address: address(a.address, a.port), close: async () => void server.close() });
        });
      });
    },
    connect(host, port, timeoutMs, signal) {
      return new Promise<Conn>((resolve, reject) => {
        if (signal?.aborted) return reject(new ConnectError('aborted', `${host}:${port}: connect aborted`));
        const socket = net.connect({ host, port, allowHalfOpen: true, noDelay: true });
        const onAbort = () => {
          cancelTimer();
          socket.destroy();
          reject(new ConnectError('aborted', `${host}:${port}: connect aborted`));
        };
        const cancelTimer = afterAtLeast(timeoutMs, () => {
          signal?.removeEventListener('abort', onAbort);
          socket.destroy();
          reject(new ConnectError('timeout', `${host}:${port}: connect timed out after ${timeoutMs} ms`));
        });
        signal?.addEventListener('abort', onAbort, { once: true });
        socket.once('connect', () => {
          cancelTimer();
          signal?.removeEventListener('abort', onAbort);
          socket.removeAllListeners('error');
          socket.on('error', () => {});
          resolve(new NodeConn(socket, null));
        });
        socket.once('error', (e: NodeJS.ErrnoException) => {
          cancelTimer();
          signal?.removeEventListener('abort', onAbort);
          reject(new ConnectError(errorKind(e.code), `${host}:${port}: ${e.message}`));
        });
      });
    },
    localAddresses: () =>
      Object.values(os.networkInterfaces())
        .flat()
        .map((a) => a!.address.replace(/%.*$/, '')),
    async lookup(name) {
      try {
        const all = await dns.promises.lookup(name, { all: true });
        return all.map((a) => a.address);
      } catch (e) {
        throw new ConnectError('dns', `${name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    },
    readFile: async (path) => new Uint8Array(await fs.readFile(path)),
    readDir: (path) => fs.readdir(path),
    loadSplice: (library) => loadNodeSplice(library),
    watchReadable(fd, onReadable) {
      // A pipe wrapped as a stream: libuv polls it, Node reads the wake-up bytes, we drain.
      const s = new net.Socket({ fd, readable: true, writable: false });
      s.on('data', onReadable);
      s.on('error', (e) => process.stderr.write(`ugate: watching fd ${fd}: ${e.message}\n`));
      s.unref(); // the gateway's listeners keep the process alive, not this
      return { close: () => s.destroy() };
    },
    onSignal(signal, handler) {
      process.on(signal, handler);
      // The placeholder goes only once a handler of ugate's own is in place (see above).
      if (signal === 'SIGUSR1') process.off('SIGUSR1', inspectorGuard);
      return true;
    },
    run(argv) {
      return new Promise((resolve, reject) => {
        const child = childProcess.spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
        child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
        child.once('error', (e) => reject(new Error(`${argv[0]}: ${e.message}`)));
        child.once('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
      });
    },
    spawnTied(argv) {
      const child = childProcess.spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'ignore'] });
      child.once('error', (e) => process.stderr.write(`ugate: ${argv[0]}: ${e.message}\n`));
      child.stdin!.on('error', () => {}); // EPIPE once the child is gone
      // Neither the child nor its pipe keeps the gateway's event loop alive.
      child.unref();
      (child.stdin as unknown as { unref(): void }).unref();
      return { pid: child.pid ?? -1, kill: () => void child.kill('SIGKILL') };
    },
    now: () => performance.now(),
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    exit: (code) => process.exit(code),
  };
}
