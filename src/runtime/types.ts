// The runtime boundary: the only primitives the runtime-free core needs.
// One implementation per runtime (node.ts, tjs.ts); everything else works on Uint8Array.
// Timers are the web-standard globals (setTimeout/clearTimeout) present on both runtimes.

export interface SocketAddress {
  /** IP literal: dotted quad or IPv6 without brackets */
  host: string;
  port: number;
  family: 4 | 6;
}

/** A socket as the native data plane takes it: its descriptor and the bytes read ahead of any reader. */
export interface DetachedSocket {
  fd: number;
  pending: Uint8Array;
}

/** A connected TCP stream. Reads are pulled, so an unread socket applies backpressure to its peer. */
export interface Conn {
  readonly remote: SocketAddress;
  readonly local: SocketAddress;
  /** Next chunk, or null at end of stream (peer shut down its write side). Rejects on reset/error. */
  read(): Promise<Uint8Array | null>;
  /** Resolves once the kernel has taken all of `data`; the caller must not reuse `data` before that. */
  write(data: Uint8Array): Promise<void>;
  /** Half-close: send FIN, keep reading. */
  shutdownWrite(): void;
  /** Close both directions; idempotent. A pending read resolves null or rejects. */
  close(): void;
  /** Close with a reset (RST): the peer learns the connection failed, not that it ended. */
  abort(): void;
  /**
   * Stops the runtime's own reading (a read still waiting resolves null) and returns the
   * descriptor with the bytes already read but not returned by read(); null when the socket has
   * failed or closed. The connection stays usable: the next read() resumes reading. Once the
   * native data plane has duplicated the descriptor, close() closes only the runtime's copy.
   */
  detach(): Promise<DetachedSocket | null>;
  /** The destination before NAT REDIRECT (SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST); null when there is no mapping. */
  originalDestination(): SocketAddress | null;
}

export interface Listener {
  readonly address: SocketAddress;
  /** Stop accepting; open connections are untouched. Resolves once the port is free to bind again. */
  close(): Promise<void>;
}

/**
 * The splice shim's C functions (src/native/ugate_splice.h) as a runtime's FFI exposes them;
 * `engine` is the opaque pointer ugs_open returned (null when it failed).
 */
export interface SpliceLibrary {
  abi(): number;
  open(pipeSize: number, poolMax: number): unknown;
  notifyDup(engine: unknown, target: number): number;
  add(engine: unknown, id: number, clientFd: number, upstreamFd: number, toUpstream: Uint8Array, toUpstreamLen: number, toClient: Uint8Array, toClientLen: number, idleMs: number): number;
  close(engine: unknown, id: number): number;
  takeEvents(engine: unknown, buf: Uint8Array, cap: number): number;
  stats(engine: unknown, buf: Uint8Array, cap: number): number;
  destroy(engine: unknown): void;
  /** errno of the last failed call on this thread */
  errno(): number;
  strerror(errno: number): string;
}

export interface Watch {
  close(): void;
}

/** How a program run by Runtime.run ended, with what it printed. */
export interface ProcessResult {
  /** exit code, or null when a signal ended it */
  status: number | null;
  /** the signal's name ("SIGKILL") when one ended it */
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** A child tied to this process: its stdin is a pipe only this process holds open. */
export interface TiedChild {
  readonly pid: number;
  /** SIGKILL: a tied child may ignore the polite signals */
  kill(): void;
}

/**
 * Signals ugate handles: every catchable one whose default action would end the process, so that
 * none ends it without a log line (SIGKILL and SIGSTOP cannot be caught; crash signals such as
 * SIGSEGV are not sent to a healthy process).
 */
export const SIGNALS = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGVTALRM', 'SIGPROF', 'SIGXCPU', 'SIGXFSZ', 'SIGPWR', 'SIGIO', 'SIGSTKFLT', 'SIGTRAP', 'SIGSYS'] as const;
export type SignalName = (typeof SIGNALS)[number];

export interface Runtime {
  readonly name: 'node' | 'tjs';
  readonly version: string;
  /** The script's own arguments (after `run file.js` / `file.js`). */
  readonly args: string[];
  readonly pid: number;
  env(name: string): string | undefined;
  /**
   * With `originalDestination`, every accepted Conn can answer originalDestination(); a runtime
   * that cannot read it rejects, naming what is missing.
   */
  listen(host: string, port: number, onConnection: (conn: Conn) => void, opts?: { originalDestination?: boolean }): Promise<Listener>;
  /** Connect to an IP literal; rejects with ConnectError ('aborted' once `signal` aborts). */
  connect(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<Conn>;
  /** The IP addresses of this host's interfaces (loopback included), as IP literals. */
  localAddresses(): string[];
  /** Resolve a DNS name to IP literals (v4 and v6); rejects with ConnectError('dns'). */
  lookup(name: string): Promise<string[]>;
  readFile(path: string): Promise<Uint8Array>;
  /** Names of a directory's entries (without "." and ".."); rejects when `path` is not a directory. */
  readDir(path: string): Promise<string[]>;
  /** Loads the splice shim; rejects with the reason when it cannot. */
  loadSplice(library: string): Promise<SpliceLibrary>;
  /**
   * Calls `onReadable` whenever `fd` (a pipe; the watcher owns it from now on) has bytes to
   * read; the callback reads them. Polled by the runtime's event loop: no timer, no busy wait.
   */
  watchReadable(fd: number, onReadable: () => void): Watch;
  /**
   * Calls `handler` on each delivery of `signal`; false when this runtime cannot catch it here (it
   * then makes sure the signal cannot end the process, by ignoring it, or knows it does not exist
   * on this architecture).
   */
  onSignal(signal: SignalName, handler: () => void): boolean;
  /** Runs a program (argv[0] found on PATH) to its end; rejects when it cannot be started. */
  run(argv: string[]): Promise<ProcessResult>;
  /**
   * Starts a program whose stdin is a pipe that only this process holds: the child reads end of
   * file the moment this process ends, however it ends (SIGKILL and crashes included).
   */
  spawnTied(argv: string[]): TiedChild;
  /** Monotonic milliseconds. */
  now(): number;
  stdout(text: string): void;
  stderr(text: string): void;
  exit(code: number): never;
}

/** forbidden: a destination this client may not reach; aborted: the client left while ugate dialled. */
export type ConnectErrorKind = 'refused' | 'timeout' | 'unreachable' | 'dns' | 'loop' | 'forbidden' | 'aborted' | 'other';

export class ConnectError extends Error {
  constructor(
    readonly kind: ConnectErrorKind,
    message: string,
  ) {
    super(message);
  }
}
