// The client side during the handshake/sniff phase: bytes read so far are kept, so they can be
// parsed again as more arrive and then replayed upstream unchanged. A read still pending when a
// deadline fires is kept too, and handed to the next reader, so no byte is lost.

import { afterAtLeast } from '../runtime/timer.ts';
import type { Conn } from '../runtime/types.ts';

const TIMEOUT = Symbol('timeout');

export class Inbound {
  /** bytes received and not yet consumed */
  buffer: Uint8Array = new Uint8Array(0);
  eof = false;
  private pending: Promise<Uint8Array | null> | null = null;

  constructor(readonly conn: Conn) {}

  /** Reads one more chunk into `buffer` before `deadline` (runtime ms). False on timeout or EOF. */
  async fill(deadline: number, now: () => number): Promise<boolean> {
    if (this.eof) return false;
    const wait = deadline - now();
    if (wait <= 0) return false;
    if (!this.pending) {
      this.pending = this.conn.read();
      // A read left in flight past a deadline may fail (client reset) while nobody awaits it yet;
      // its later reader still gets the error, but the process must not die of it meanwhile.
      this.pending.catch(() => {});
    }
    const read = this.pending;
    // No deadline (a caller with its own watchdog): no timer per read, which counts per request.
    if (deadline === Infinity) return this.settle(read, await read);
    let cancelTimer = () => {};
    const r = await Promise.race([
      read,
      new Promise<typeof TIMEOUT>((resolve) => (cancelTimer = afterAtLeast(wait, () => resolve(TIMEOUT)))),
    ]).finally(() => cancelTimer());
    if (r === TIMEOUT) return false;
    return this.settle(read, r);
  }

  /**
   * Several callers may wait on the same read (a watcher of an idle connection and its next
   * user): the first to resume adds the chunk, the others only learn that bytes (or EOF) came.
   */
  private settle(read: Promise<Uint8Array | null>, r: Uint8Array | null): boolean {
    if (this.pending !== read) return !this.eof;
    this.pending = null;
    if (r === null) {
      this.eof = true;
      return false;
    }
    this.buffer = concat(this.buffer, r);
    return true;
  }

  consume(n: number): Uint8Array {
    const head = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return head;
  }

  /**
   * The client stream for the data phase: the read still in flight (if any) comes first.
   * After this, only the returned Conn may read the client.
   */
  release(): Conn {
    const pending = this.pending;
    this.pending = null;
    if (!pending && !this.eof) return this.conn;
    const conn = this.conn;
    let first: Promise<Uint8Array | null> | null = this.eof ? Promise.resolve(null) : pending;
    return {
      remote: conn.remote,
      local: conn.local,
      read: () => {
        const p = first ?? conn.read();
        // After EOF the stream stays at EOF.
        first = this.eof ? first : null;
        return p;
      },
      detach: async () => {
        // Detaching settles the read in flight; its bytes came before any the runtime still holds.
        const d = await conn.detach();
        if (!d) return null;
        const head = first ? await first.catch(() => null) : null;
        first = null;
        return { fd: d.fd, pending: head ? concat(head, d.pending) : d.pending };
      },
      write: (d) => conn.write(d),
      shutdownWrite: () => conn.shutdownWrite(),
      close: () => conn.close(),
      abort: () => conn.abort(),
      originalDestination: () => conn.originalDestination(),
    };
  }
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * `conn` with `ahead` (bytes already read from it, not yet delivered) put back in front: the next
 * read() returns them, and detach() hands them to the native data plane as read-ahead.
 */
export function withReadAhead(conn: Conn, ahead: Uint8Array): Conn {
  if (ahead.length === 0) return conn;
  let first: Uint8Array | null = ahead;
  const take = () => {
    const b = first;
    first = null;
    return b;
  };
  return {
    remote: conn.remote,
    local: conn.local,
    read: () => {
      const b = take();
      return b ? Promise.resolve(b) : conn.read();
    },
    detach: async () => {
      const d = await conn.detach();
      const b = take();
      return d && b ? { fd: d.fd, pending: concat(b, d.pending) } : d;
    },
    write: (d) => conn.write(d),
    shutdownWrite: () => conn.shutdownWrite(),
    close: () => conn.close(),
    abort: () => conn.abort(),
    originalDestination: () => conn.originalDestination(),
  };
}
