// The data phase. Hand-over point: two connected sockets plus the bytes already read from the
// client while sniffing. A DataPlane takes it from there: the splice shim (splice.ts, the
// default) or this JS pump, which copies with backpressure (one chunk in flight per direction).

import type { Conn } from '../runtime/types.ts';

export type CloseReason = 'eof' | 'client-reset' | 'upstream-reset' | 'idle-timeout' | 'shutdown' | 'error';

export interface ForwardResult {
  /** client → upstream bytes, prefix included */
  up: number;
  /** upstream → client bytes */
  down: number;
  reason: CloseReason;
  error?: string;
}

export interface Forwarding {
  readonly done: Promise<ForwardResult>;
  /** Close both sides now (shutdown, reload). */
  abort(reason: CloseReason): void;
}

export interface ForwardOptions {
  idleMs: number;
  now: () => number;
}

/** Who moves the bytes of forwarded connections. */
export interface DataPlane {
  readonly name: 'splice' | 'js';
  forward(client: Conn, upstream: Conn, prefix: Uint8Array, opts: ForwardOptions): Forwarding;
  /** One line of counters for the shutdown log, if the plane keeps any. */
  summary(): string | null;
  /** Releases the plane's resources once no forwarding is left. */
  close(): void;
}

export const jsPump: DataPlane = { name: 'js', forward, summary: () => null, close: () => {} };

export function forward(client: Conn, upstream: Conn, prefix: Uint8Array, opts: ForwardOptions): Forwarding {
  let up = 0;
  let down = 0;
  let reason: CloseReason | null = null;
  let error: string | undefined;
  let last = opts.now();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const finish = (r: CloseReason, e?: unknown) => {
    if (reason !== null) return;
    reason = r;
    if (e !== undefined) error = e instanceof Error ? e.message : String(e);
    clearTimeout(timer);
    // Only a connection whose both directions finished (eof) closes normally. A reset on one side
    // is passed on as a reset, and so is an end ugate chose (idle timeout, shutdown, error): a
    // client must not take a truncated response for a complete one.
    if (r === 'eof' || r === 'client-reset') client.close();
    else client.abort();
    if (r === 'eof' || r === 'upstream-reset') upstream.close();
    else upstream.abort();
  };

  // One direction: read, write, repeat; EOF becomes a half-close on the other side.
  const pipe = async (src: Conn, dst: Conn, count: (n: number) => void, srcReset: CloseReason, dstReset: CloseReason) => {
    for (;;) {
      let chunk: Uint8Array | null;
      try {
        chunk = await src.read();
      } catch (e) {
        return finish(srcReset, e);
      }
      if (reason !== null) return;
      if (chunk === null) {
        dst.shutdownWrite();
        return;
      }
      last = opts.now();
      try {
        await dst.write(chunk);
      } catch (e) {
        return finish(dstReset, e);
      }
      count(chunk.length);
    }
  };

  const armIdle = (ms: number) => {
    timer = setTimeout(() => {
      const idle = opts.now() - last;
      if (idle >= opts.idleMs) finish('idle-timeout');
      else armIdle(opts.idleMs - idle);
    }, ms);
  };
  if (opts.idleMs > 0) armIdle(opts.idleMs);

  const upstreamFirst = async () => {
    if (prefix.length > 0) {
      try {
        await upstream.write(prefix);
      } catch (e) {
        return finish('upstream-reset', e);
      }
      up += prefix.length;
    }
    await pipe(client, upstream, (n) => (up += n), 'client-reset', 'upstream-reset');
  };

  const done = Promise.all([upstreamFirst(), pipe(upstream, client, (n) => (down += n), 'upstream-reset', 'client-reset')]).then(() => {
    finish('eof');
    const result: ForwardResult = { up, down, reason: reason! };
    if (error !== undefined) result.error = error;
    return result;
  });

  return { done, abort: (r) => finish(r) };
}
