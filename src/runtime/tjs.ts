// txiki.js implementation of the runtime boundary. Sockets are tjs:posix-socket, because they expose
// file descriptors (for SO_ORIGINAL_DST and the splice shim); libc through tjs:ffi fills its gaps
// (shutdown, getsockname, getpeername, dup2, write to stdio), and loads the splice shim.
//
// Measured behaviour of txiki.js 26.6 that shapes this file (see shared notes on txiki.js):
// - each poll() call keeps a new reference to its callback and never drops the old one, so one
//   module-level callback serves every socket (it finds its socket through `this`) instead of a
//   closure per call, which would leak per connection;
// - stopPoll()/close() throw inside a poll callback: they are deferred to a microtask;
// - read()/recv() are broken: recvmsg() is used;
// - a polled socket still open at exit crashes the process: exit() closes every socket first.
// libuv's uv_poll_init makes the fd non-blocking, so connect() returns EINPROGRESS as usual.

import { afterAtLeast } from './timer.ts';
import { decodeSockaddr, encodeSockaddr, SO_ORIGINAL_DST, SOCKADDR_IN6_SIZE, SOL_IP, SOL_IPV6 } from './sockaddr.ts';
import {
  ConnectError,
  type Conn,
  type ConnectErrorKind,
  type DetachedSocket,
  type Listener,
  type Runtime,
  type SignalName,
  type SocketAddress,
  type SpliceLibrary,
} from './types.ts';

interface RawSocket {
  poll(mask: number, cb: (this: RawSocket, status: number, events: number) => void): void;
  pollStop(): void;
}
interface PosixSocket {
  readonly fileno: number;
  readonly _psock: RawSocket;
  bind(addr: Uint8Array): void;
  listen(backlog: number): void;
  accept(): PosixSocket;
  connect(addr: Uint8Array): void;
  setopt(level: number, name: number, value: Uint8Array): void;
  getopt(level: number, name: number, size: number): Uint8Array;
  write(data: Uint8Array): number;
  recvmsg(size: number): { data: Uint8Array };
  close(): void;
}
interface PosixSocketClass {
  new (domain: number, type: number, protocol: number): PosixSocket;
  readonly defines: Record<string, number>;
  readonly pollEvents: { READABLE: number; WRITABLE: number; DISCONNECT: number; PRIORITIZED: number };
}
declare const tjs: {
  args: string[];
  version: string;
  env: Record<string, string | undefined>;
  exit(code: number): never;
  readFile(path: string): Promise<Uint8Array>;
  readDir(path: string): Promise<AsyncIterableIterator<{ name: string }> & { close(): Promise<void> }>;
  lookup(name: string, opts: { all: true }): Promise<{ ip: string }[]>;
  addSignalListener(sig: string, fn: () => void): void;
  pid: number;
  spawn(args: string[], opts: { stdin?: 'pipe' | 'ignore' | 'inherit'; stdout?: 'pipe' | 'ignore' | 'inherit'; stderr?: 'pipe' | 'ignore' | 'inherit' }): TjsProcess;
  system: { networkInterfaces: unknown };
};

interface TjsProcess {
  readonly pid: number;
  readonly stdout: ReadableStream<Uint8Array> | null;
  readonly stderr: ReadableStream<Uint8Array> | null;
  kill(signal?: string): void;
  wait(): Promise<{ exit_status: number; term_signal: string | null }>;
}

async function readAllText(stream: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!stream) return '';
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let out = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return out + decoder.decode();
    out += decoder.decode(value, { stream: true });
  }
}

const READ_SIZE = 64 * 1024;
const SHUT_WR = 1;

// errno values the adapter tells apart; MIPS numbers several of them differently.
const ERRNO_GENERIC = { EAGAIN: 11, EINPROGRESS: 115, ECONNREFUSED: 111, ETIMEDOUT: 110, EHOSTUNREACH: 113, ENETUNREACH: 101, EADDRNOTAVAIL: 99, ECONNABORTED: 103 };
const ERRNO_MIPS = { EAGAIN: 11, EINPROGRESS: 150, ECONNREFUSED: 146, ETIMEDOUT: 145, EHOSTUNREACH: 148, ENETUNREACH: 128, EADDRNOTAVAIL: 126, ECONNABORTED: 130 };
const TCP_NODELAY = 1; // the same on every Linux architecture
/** socket(2) type flag and fcntl(2) values, the same on every architecture ugate ships for */
const SOCK_CLOEXEC = 0o2000000;
const F_SETFD = 2;
const FD_CLOEXEC = 1;
/** After an accept error other than EAGAIN (e.g. out of file descriptors), wait before trying again. */
const ACCEPT_BACKOFF_MS = 250;

/** txiki.js errors read "<strerror> (<errno>)"; there is no errno property. */
function errnoOf(e: unknown): number {
  const m = /\((\d+)\)\s*$/.exec(e instanceof Error ? e.message : String(e));
  return m ? Number(m[1]) : -1;
}

/** Dispatch of poll events to their socket's owner, through the one shared callback. */
interface PollOwner {
  onEvents(status: number, events: number): void;
}
const owners = new WeakMap<RawSocket, PollOwner>();
let inPollCallback = false;
let reportError: (text: string) => void = () => {};

function onPoll(this: RawSocket, status: number, events: number): void {
  inPollCallback = true;
  try {
    owners.get(this)?.onEvents(status, events);
  } catch (e) {
    // txiki.js swallows exceptions thrown here; make them visible.
    reportError(`ugate: internal error in poll callback: ${(e as Error)?.stack ?? e}\n`);
  } finally {
    inPollCallback = false;
  }
}

/** Runs `fn` now, or right after the current poll callback when txiki.js forbids it inside one. */
function outsidePoll(fn: () => void): void {
  if (inPollCallback) queueMicrotask(fn);
  else fn();
}

interface Env {
  PosixSocket: PosixSocketClass;
  ev: PosixSocketClass['pollEvents'];
  errno: typeof ERRNO_GENERIC;
  libc: {
    shutdown(fd: number, how: number): number;
    getsockname(fd: number, addr: Uint8Array, len: Uint8Array): number;
    getpeername(fd: number, addr: Uint8Array, len: Uint8Array): number;
    write(fd: number, buf: Uint8Array, n: number): number;
    dup2(fd: number, target: number): number;
    close(fd: number): number;
    fcntl(fd: number, cmd: number, arg: number): number;
  };
  open: Set<{ destroy(): void }>;
  strerror(errno: number): string;
}

function int32(n: number): Uint8Array {
  return new Uint8Array(new Int32Array([n]).buffer);
}

function sockName(env: Env, fd: number, peer: boolean): SocketAddress {
  const buf = new Uint8Array(SOCKADDR_IN6_SIZE);
  const len = int32(buf.length);
  const rc = peer ? env.libc.getpeername(fd, buf, len) : env.libc.getsockname(fd, buf, len);
  return (rc === 0 && decodeSockaddr(buf)) || { host: '0.0.0.0', port: 0, family: 4 };
}

/**
 * One socket's poll interest. Outside poll callbacks interest only grows (a read or write starts);
 * at the end of each event the mask is trimmed to exactly what is still wanted, and polling stops
 * when nothing is. So level-triggered readiness that nobody consumes fires at most once, and a
 * steady read/write loop makes no poll() calls at all (each one keeps a callback reference in
 * txiki.js 26.6, so they are kept few).
 */
abstract class Polled implements PollOwner {
  protected mask = 0;
  protected closed = false;
  /** libuv stopped the handle after POLLERR: I/O is done directly until the socket is closed. */
  protected errored = false;

  constructor(
    protected readonly env: Env,
    readonly sock: PosixSocket,
  ) {
    owners.set(sock._psock, this);
    env.open.add(this);
  }

  abstract onEvents(status: number, events: number): void;
  protected abstract wanted(): number;

  /** Polls for everything wanted now, keeping bits that the next event will trim. */
  protected widenPoll(): void {
    if (this.closed || this.errored) return;
    const want = this.wanted();
    if ((want & ~this.mask) === 0) return;
    this.sock._psock.poll(this.mask | want, onPoll);
    this.mask |= want;
  }

  /** Polls for exactly what is wanted; stops polling (after the callback) when nothing is. */
  protected trimPoll(): void {
    if (this.closed || this.errored) return;
    const want = this.wanted();
    if (want === this.mask) return;
    if (want !== 0) {
      this.sock._psock.poll(want, onPoll);
      this.mask = want;
      return;
    }
    outsidePoll(() => {
      if (!this.closed && !this.errored && this.mask !== 0 && this.wanted() === 0) {
        this.sock._psock.pollStop();
        this.mask = 0;
      }
    });
  }

  /** Closes the fd (after the current poll callback, if inside one). */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.env.open.delete(this);
    outsidePoll(() => {
      try {
        this.sock.close();
      } catch {
        // already closed
      }
    });
  }
}

type Waiter<T> = { resolve: (v: T) => void; reject: (e: Error) => void };
type PendingWrite = Waiter<void> & { data: Uint8Array; offset: number };

class TjsConn extends Polled implements Conn {
  remote: SocketAddress;
  local: SocketAddress;
  private reader: Waiter<Uint8Array | null> | null = null;
  private writes: PendingWrite[] = [];
  private eof = false;
  private failure: Error | null = null;
  private shutdownPending = false;
  private connecting: Waiter<void> | null = null;

  constructor(env: Env, sock: PosixSocket, private readonly isAccepted: boolean) {
    super(env, sock);
    // An outgoing socket has no addresses before connect(): learnAddresses() fills them in.
    const unknown: SocketAddress = { host: '0.0.0.0', port: 0, family: 4 };
    this.remote = isAccepted ? sockName(env, sock.fileno, true) : unknown;
    this.local = isAccepted ? sockName(env, sock.fileno, false) : unknown;
    // Small writes go out at once, as with Node's noDelay: interactive protocols must not wait
    // for Nagle plus delayed ACKs (~40 ms per exchange).
    try {
      sock.setopt(env.PosixSocket.defines.IPPROTO_TCP!, TCP_NODELAY, int32(1));
    } catch {
      // best effort: the connection works without it
    }
    if (isAccepted) {
      // Start polling now: libuv's poll init makes the accepted fd non-blocking before any I/O.
      this.sock._psock.poll(env.ev.READABLE, onPoll);
      this.mask = env.ev.READABLE;
    }
  }

  /** Addresses are known once connect() completes. */
  learnAddresses(): void {
    this.remote = sockName(this.env, this.sock.fileno, true);
    this.local = sockName(this.env, this.sock.fileno, false);
  }

  protected wanted(): number {
    const ev = this.env.ev;
    return (this.reader ? ev.READABLE : 0) | (this.writes.length > 0 || this.connecting ? ev.WRITABLE : 0);
  }

  /** Non-blocking connect: resolves when the socket is writable and SO_ERROR is 0. */
  startConnect(addr: Uint8Array): Promise<void> {
    // The first poll() initialises libuv's poll handle, which makes the fd non-blocking.
    this.sock._psock.poll(this.env.ev.WRITABLE, onPoll);
    this.mask = this.env.ev.WRITABLE;
    try {
      this.sock.connect(addr);
      return Promise.resolve();
    } catch (e) {
      if (errnoOf(e) !== this.env.errno.EINPROGRESS) return Promise.reject(e);
    }
    return new Promise((resolve, reject) => (this.connecting = { resolve, reject }));
  }

  onEvents(status: number, events: number): void {
    if (this.closed) return;
    if (status < 0) {
      // libuv reports POLLERR as a status and stops the handle. Data that arrived before the
      // error is still queued, so reads go on directly and report the error after it.
      this.mask = 0;
      this.errored = true;
      if (this.connecting) {
        const err = this.socketError();
        this.fail(new Error(err > 0 ? `${this.env.strerror(err)} (${err})` : `socket error (uv ${status})`));
      }
      if (this.reader) this.readNow();
      if (this.writes.length > 0) this.flush();
      return;
    }
    const ev = this.env.ev;
    if (this.connecting && events & ev.WRITABLE) {
      const c = this.connecting;
      this.connecting = null;
      const err = this.socketError();
      if (err === 0) c.resolve();
      else c.reject(new Error(`${this.env.strerror(err)} (${err})`));
    } else {
      if (events & ev.READABLE && this.reader) this.readNow();
      if (events & ev.WRITABLE) this.flush();
    }
    this.trimPoll();
  }

  /** EAGAIN means "poll and retry", except once libuv has stopped polling this socket. */
  private retryLater(e: unknown): boolean {
    if (errnoOf(e) !== this.env.errno.EAGAIN) return false;
    if (!this.errored) return true;
    const err = this.socketError();
    this.fail(new Error(err > 0 ? `${this.env.strerror(err)} (${err})` : 'socket error'));
    return true;
  }

  /** SO_ERROR: the pending error of the socket (0 for none), cleared by reading it. */
  private socketError(): number {
    try {
      const d = this.env.PosixSocket.defines;
      return new Int32Array(this.sock.getopt(d.SOL_SOCKET!, d.SO_ERROR!, 4).slice().buffer)[0]!;
    } catch {
      return -1;
    }
  }

  private readNow(): void {
    let data: Uint8Array;
    try {
      data = this.sock.recvmsg(READ_SIZE).data;
      // recvmsg() returns a view of a READ_SIZE allocation: small reads are copied, so that bytes
      // kept for a while (a sniffed prefix) do not hold 64 KiB each.
      if (data.length < READ_SIZE / 4) data = data.slice();
    } catch (e) {
      if (this.retryLater(e)) return;
      return this.fail(e as Error);
    }
    const r = this.reader!;
    this.reader = null;
    if (data.length === 0) this.eof = true;
    r.resolve(data.length === 0 ? null : data);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.reader?.reject(this.failure);
    this.reader = null;
    for (const w of this.writes.splice(0)) w.reject(this.failure);
    this.connecting?.reject(this.failure);
    this.connecting = null;
  }

  read(): Promise<Uint8Array | null> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.eof || this.closed) return Promise.resolve(null);
    if (this.reader) return Promise.reject(new Error('read already pending'));
    return new Promise((resolve, reject) => {
      this.reader = { resolve, reject };
      if (this.errored) this.readNow();
      else this.widenPoll();
    });
  }

  write(data: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed || this.shutdownPending) return Promise.reject(new Error('socket closed'));
    if (data.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.writes.push({ data, offset: 0, resolve, reject });
      if (this.writes.length === 1) this.flush();
      this.widenPoll();
    });
  }

  /** Writes queued data until the kernel buffer is full (EAGAIN) or the queue is empty. */
  private flush(): void {
    while (this.writes.length > 0) {
      const w = this.writes[0]!;
      let n: number;
      try {
        n = this.sock.write(w.offset === 0 ? w.data : w.data.subarray(w.offset));
      } catch (e) {
        if (this.retryLater(e)) return;
        return this.fail(e as Error);
      }
      w.offset += n;
      if (w.offset < w.data.length) return;
      this.writes.shift();
      w.resolve();
    }
    if (this.shutdownPending) this.shutdownNow();
  }

  private shutdownNow(): void {
    this.shutdownPending = false;
    if (!this.closed) this.env.libc.shutdown(this.sock.fileno, SHUT_WR);
  }

  detach(): Promise<DetachedSocket | null> {
    if (this.closed || this.failure || this.connecting || this.writes.length > 0) return Promise.resolve(null);
    // Reads here are unbuffered: nothing was read ahead. A waiting reader gets null; polling stops.
    this.reader?.resolve(null);
    this.reader = null;
    this.trimPoll();
    return Promise.resolve({ fd: this.sock.fileno, pending: new Uint8Array(0) });
  }

  shutdownWrite(): void {
    if (this.closed || this.failure) return;
    // FIN goes after the data already queued.
    if (this.writes.length > 0) this.shutdownPending = true;
    else this.shutdownNow();
  }

  abort(): void {
    if (this.closed) return;
    // SO_LINGER on with a zero timeout: close() sends RST instead of FIN.
    const d = this.env.PosixSocket.defines;
    try {
      this.sock.setopt(d.SOL_SOCKET!, d.SO_LINGER!, new Uint8Array(new Int32Array([1, 0]).buffer));
    } catch {
      // the socket is already gone; close() is all there is left to do
    }
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.reader?.resolve(null);
    this.reader = null;
    for (const w of this.writes.splice(0)) w.reject(new Error('socket closed'));
    this.connecting?.reject(new Error('socket closed'));
    this.connecting = null;
    this.destroy();
  }

  originalDestination(): SocketAddress | null {
    if (!this.isAccepted || this.closed) return null;
    const v6 = this.local.family === 6;
    try {
      return decodeSockaddr(this.sock.getopt(v6 ? SOL_IPV6 : SOL_IP, SO_ORIGINAL_DST, SOCKADDR_IN6_SIZE));
    } catch {
      return null; // ENOENT: no NAT mapping
    }
  }
}

class TjsListener extends Polled implements Listener {
  readonly address: SocketAddress;
  /**
   * Set by pause(), cleared only by its timer: never by comparing clocks, because libuv's timers
   * run on a loop time cached per iteration while performance.now() is live, and a resume timer
   * that fires "early" by that clock would find nothing wanted and never re-arm (measured: after
   * a long accept batch, up to 52 ms early; the listener then stayed deaf for good).
   */
  private paused = false;
  private lastReport = -Infinity;
  constructor(
    env: Env,
    sock: PosixSocket,
    private readonly onConnection: (c: Conn) => void,
  ) {
    super(env, sock);
    this.address = sockName(env, sock.fileno, false);
    this.widenPoll();
  }

  protected wanted(): number {
    return this.paused ? 0 : this.env.ev.READABLE;
  }

  onEvents(status: number): void {
    if (this.closed) return;
    if (status < 0) {
      // libuv stopped the handle: poll again after a pause rather than never accepting again.
      this.mask = 0;
      return this.pause(`poll error ${status}`);
    }
    // Accept everything pending: one wake-up may stand for many connections.
    for (;;) {
      let s: PosixSocket;
      try {
        s = this.sock.accept();
      } catch (e) {
        const n = errnoOf(e);
        if (n === this.env.errno.ECONNABORTED) continue;
        // Out of file descriptors or memory: the socket stays readable, so retrying at once would
        // spin; pause accepting instead.
        if (n !== this.env.errno.EAGAIN) this.pause((e as Error).message);
        return;
      }
      // accept() gives no close-on-exec: without it a program ugate runs (its firewall guard)
      // would hold the connection open after ugate closed it.
      this.env.libc.fcntl(s.fileno, F_SETFD, FD_CLOEXEC);
      this.onConnection(new TjsConn(this.env, s, true));
    }
  }

  private pause(reason: string): void {
    const now = performance.now();
    if (now - this.lastReport > 5000) {
      this.lastReport = now;
      reportError(`ugate: accept on ${this.address.host}:${this.address.port}: ${reason}; pausing accepts for ${ACCEPT_BACKOFF_MS} ms\n`);
    }
    if (this.paused) return; // one resume timer at a time
    this.paused = true;
    this.trimPoll();
    setTimeout(() => {
      this.paused = false;
      this.widenPoll();
    }, ACCEPT_BACKOFF_MS);
  }

  /** libuv closes a polled descriptor in its close phase: a timer of 0 ms runs after it. */
  async close(): Promise<void> {
    this.destroy();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** A descriptor watched for readability (the splice engine's notify pipe). */
class ReadableWatch extends Polled {
  constructor(
    env: Env,
    sock: PosixSocket,
    private readonly onReadable: () => void,
  ) {
    super(env, sock);
    this.widenPoll();
  }

  protected wanted(): number {
    return this.env.ev.READABLE;
  }

  onEvents(status: number): void {
    if (this.closed) return;
    if (status < 0) {
      this.mask = 0;
      reportError(`ugate: poll error ${status} on a watched pipe; retrying\n`);
      setTimeout(() => this.widenPoll(), ACCEPT_BACKOFF_MS);
      return;
    }
    this.onReadable(); // it reads the pipe empty, so the level-triggered poll rests until more comes
  }

  close(): void {
    this.destroy();
  }
}

// tjs:ffi changed after 26.6: `Lib` (and with it Lib.LIBC_NAME) is gone, dlopen('c') names libc,
// and a library stays loaded while its symbols live. Both APIs are told apart by what exists.
type FfiModule = {
  /** txiki.js 26.6 and earlier only */
  Lib?: { new (path: string): object; LIBC_NAME: string };
  dlopen(path: string, syms: Record<string, { args: string[]; returns: string }>): { symbols: Record<string, (...a: unknown[]) => unknown> };
  strerror(errno: number): string;
  errno(): number;
};

/** libc as dlopen() names it: 26.6 wants its file name, later versions take 'c'. */
const libcName = (ffi: FfiModule): string => ffi.Lib?.LIBC_NAME ?? 'c';

/** Libraries kept loaded for the life of the process (see loadTjsSplice). */
const loadedLibraries: object[] = [];

/**
 * The splice shim through tjs:ffi. ffi.dlopen() in txiki.js 26.6 drops its library handle when it
 * returns (the library is unmapped and the first call crashes) unless something else holds the
 * library open: a Lib kept here does. Later versions keep it loaded while its symbols live, and
 * the functions below hold them for the life of the process.
 */
function loadTjsSplice(env: Env, ffi: FfiModule, library: string): SpliceLibrary {
  if (ffi.Lib) loadedLibraries.push(new ffi.Lib(library));
  const s = ffi.dlopen(library, {
    ugs_abi: { args: [], returns: 'int' },
    ugs_open: { args: ['uint32', 'uint32'], returns: 'pointer' },
    ugs_notify_dup: { args: ['pointer', 'int'], returns: 'int' },
    ugs_add: { args: ['pointer', 'uint32', 'int', 'int', 'buffer', 'uint32', 'buffer', 'uint32', 'uint32'], returns: 'int' },
    ugs_close: { args: ['pointer', 'uint32'], returns: 'int' },
    ugs_take_events: { args: ['pointer', 'buffer', 'uint32'], returns: 'uint32' },
    ugs_stats: { args: ['pointer', 'buffer', 'uint32'], returns: 'uint32' },
    ugs_destroy: { args: ['pointer'], returns: 'void' },
  }).symbols as Record<string, never>;
  const open = s.ugs_open as (pipeSize: number, pool: number) => unknown;
  const destroy = s.ugs_destroy as (engine: unknown) => void;
  // exit() stops engine threads still running: their code must not be unmapped under them.
  const engines = new Set<unknown>();
  env.open.add({
    destroy: () => {
      for (const e of engines) destroy(e);
      engines.clear();
    },
  });
  return {
    abi: s.ugs_abi,
    open: (pipeSize: number, pool: number) => {
      const engine = open(pipeSize, pool);
      if (String(engine) === 'null') return null; // NULL comes back as a Pointer that prints "null"
      engines.add(engine);
      return engine;
    },
    notifyDup: s.ugs_notify_dup,
    add: s.ugs_add,
    close: s.ugs_close,
    takeEvents: s.ugs_take_events,
    stats: s.ugs_stats,
    destroy: (engine: unknown) => {
      if (engines.delete(engine)) destroy(engine);
    },
    errno: () => ffi.errno(),
    strerror: (n: number) => ffi.strerror(n),
  };
}

function connectErrorKind(errno: typeof ERRNO_GENERIC, n: number): ConnectErrorKind {
  if (n === errno.ECONNREFUSED) return 'refused';
  if (n === errno.ETIMEDOUT) return 'timeout';
  if (n === errno.EHOSTUNREACH || n === errno.ENETUNREACH || n === errno.EADDRNOTAVAIL) return 'unreachable';
  return 'other';
}

export async function createTjsRuntime(): Promise<Runtime> {
  const { PosixSocket } = (await import('tjs:posix-socket' as string)) as { PosixSocket: PosixSocketClass };
  const ffi = (await import('tjs:ffi' as string)) as FfiModule;
  const libc = ffi.dlopen(libcName(ffi), {
    shutdown: { args: ['int', 'int'], returns: 'int' },
    getsockname: { args: ['int', 'buffer', 'buffer'], returns: 'int' },
    getpeername: { args: ['int', 'buffer', 'buffer'], returns: 'int' },
    write: { args: ['int', 'buffer', 'size_t'], returns: 'ssize_t' },
    dup2: { args: ['int', 'int'], returns: 'int' },
    close: { args: ['int'], returns: 'int' },
    fcntl: { args: ['int', 'int', 'int'], returns: 'int' },
  }).symbols as unknown as Env['libc'];
  let sigignore: ((sig: number) => number) | undefined;
  try {
    sigignore = (ffi.dlopen(libcName(ffi), { sigignore: { args: ['int'], returns: 'int' } }).symbols as unknown as { sigignore: (sig: number) => number }).sigignore;
  } catch {
    // a libc without it: SIGIO keeps its default action
  }
  const d = PosixSocket.defines;
  // MIPS is the one Linux architecture where SOCK_STREAM is 2; its errno numbers differ too.
  const env: Env = { PosixSocket, ev: PosixSocket.pollEvents, errno: d.SOCK_STREAM === 2 ? ERRNO_MIPS : ERRNO_GENERIC, libc, open: new Set(), strerror: (n) => ffi.strerror(n) };
  const encoder = new TextEncoder();
  const writeAll = (fd: number, text: string) => {
    let buf = encoder.encode(text);
    while (buf.length > 0) {
      const n = libc.write(fd, buf, buf.length);
      if (n <= 0) return;
      buf = buf.subarray(n);
    }
  };
  reportError = (text) => writeAll(2, text);
  // A stray rejected promise must not end a gateway that serves everyone else: log it.
  (globalThis as unknown as EventTarget).addEventListener('unhandledrejection', (ev) => {
    ev.preventDefault();
    reportError(`ugate: unhandled rejection: ${String((ev as Event & { reason?: unknown }).reason)}\n`);
  });

  return {
    name: 'tjs',
    version: tjs.version,
    args: tjs.args.slice(3),
    pid: tjs.pid,
    env: (name) => tjs.env[name],
    // Original destinations need nothing more here: PosixSocket.getopt reads SO_ORIGINAL_DST.
    async listen(host, port, onConnection) {
      const addr = encodeSockaddr(host, port);
      const v6 = host.includes(':');
      // Close-on-exec, so that no program ugate runs keeps the port bound.
      const sock = new PosixSocket(v6 ? d.AF_INET6! : d.AF_INET!, d.SOCK_STREAM! | SOCK_CLOEXEC, 0);
      try {
        sock.setopt(d.SOL_SOCKET!, d.SO_REUSEADDR!, int32(1));
        if (v6) sock.setopt(d.IPPROTO_IPV6!, 26 /* IPV6_V6ONLY */, int32(1));
        sock.bind(addr);
        sock.listen(1024);
      } catch (e) {
        sock.close();
        throw new Error(`listen ${v6 ? `[${host}]` : host}:${port}: ${(e as Error).message}`);
      }
      return new TjsListener(env, sock, onConnection);
    },
    async connect(host, port, timeoutMs, signal) {
      if (signal?.aborted) throw new ConnectError('aborted', `${host}:${port}: connect aborted`);
      const v6 = host.includes(':');
      let conn: TjsConn;
      try {
        conn = new TjsConn(env, new PosixSocket(v6 ? d.AF_INET6! : d.AF_INET!, d.SOCK_STREAM! | SOCK_CLOEXEC, 0), false);
      } catch (e) {
        // e.g. out of file descriptors: no connection attempt was made
        throw new ConnectError('other', `${host}:${port}: ${(e as Error).message}`);
      }
      let cancelTimer = () => {};
      let onAbort = () => {};
      try {
        await Promise.race([
          conn.startConnect(encodeSockaddr(host, port)),
          new Promise<never>((_, reject) => {
            cancelTimer = afterAtLeast(timeoutMs, () => reject(new ConnectError('timeout', `${host}:${port}: connect timed out after ${timeoutMs} ms`)));
            onAbort = () => reject(new ConnectError('aborted', `${host}:${port}: connect aborted`));
            signal?.addEventListener('abort', onAbort, { once: true });
          }),
        ]);
      } catch (e) {
        conn.close();
        if (e instanceof ConnectError) throw e;
        const n = errnoOf(e);
        throw new ConnectError(connectErrorKind(env.errno, n), `${host}:${port}: ${(e as Error).message}`);
      } finally {
        cancelTimer();
        signal?.removeEventListener('abort', onAbort);
      }
      conn.learnAddresses();
      return conn;
    },
    async lookup(name) {
      try {
        return (await tjs.lookup(name, { all: true })).map((a) => a.ip);
      } catch (e) {
        throw new ConnectError('dns', `${name}: ${(e as Error).message}`);
      }
    },
    localAddresses: () => (tjs.system.networkInterfaces as { address: string }[]).map((a) => a.address.replace(/%.*$/, '')),
    readFile: (path) => tjs.readFile(path),
    async readDir(path) {
      const dir = await tjs.readDir(path);
      const names: string[] = [];
      try {
        for await (const entry of dir) if (entry.name !== '.' && entry.name !== '..') names.push(entry.name);
      } finally {
        await dir.close(); // idempotent; the handle holds a descriptor until closed
      }
      return names;
    },
    loadSplice: async (library) => {
      try {
        return loadTjsSplice(env, ffi, library);
      } catch (e) {
        throw new Error((e as Error).message); // txiki.js InternalError → a plain message for the log
      }
    },
    watchReadable(fd, onReadable) {
      // PosixSocket.createFromFD is broken in txiki.js 26.6 (it calls a native function by a name
      // that does not exist): the fd is dup2()ed onto a fresh PosixSocket's descriptor instead.
      const sock = new PosixSocket(d.AF_INET!, d.SOCK_STREAM!, 0);
      // dup2 clears close-on-exec on the target: set again below
      if (libc.dup2(fd, sock.fileno) < 0) {
        const err = ffi.errno();
        sock.close();
        throw new Error(`dup2: ${ffi.strerror(err)}`);
      }
      libc.close(fd);
      libc.fcntl(sock.fileno, F_SETFD, FD_CLOEXEC);
      return new ReadableWatch(env, sock, onReadable);
    },
    onSignal(signal: SignalName, handler) {
      try {
        tjs.addSignalListener(signal, handler);
        return true;
      } catch {
        // txiki.js knows no SIGIO: ignored through libc, it cannot end the process. Others it
        // refuses do not exist on this architecture (SIGSTKFLT on MIPS).
        if (signal === 'SIGIO') sigignore?.(env.errno === ERRNO_MIPS ? 22 : 29);
        return false;
      }
    },
    async run(argv) {
      let p: TjsProcess;
      try {
        p = tjs.spawn(argv, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
      } catch (e) {
        throw new Error(`${argv[0]}: ${(e as Error).message}`);
      }
      const [stdout, stderr, st] = await Promise.all([readAllText(p.stdout), readAllText(p.stderr), p.wait()]);
      return { status: st.term_signal ? null : st.exit_status, signal: st.term_signal, stdout, stderr };
    },
    spawnTied(argv) {
      // The pipe is never written: the child waits for the end of file that this process's end brings.
      const p = tjs.spawn(argv, { stdin: 'pipe', stdout: 'ignore', stderr: 'ignore' });
      void p.wait();
      return { pid: p.pid, kill: () => p.kill('SIGKILL') };
    },
    now: () => performance.now(),
    stdout: (text) => writeAll(1, text),
    stderr: (text) => writeAll(2, text),
    exit(code) {
      // An open polled socket at exit crashes txiki.js 26.6: close them all first.
      for (const s of [...env.open]) s.destroy();
      return tjs.exit(code);
    },
  };
}
