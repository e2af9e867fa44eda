// The data phase. Hand-over point: two connected sockets plus the bytes already read from the
// client while sniffing. A DataPlane takes it from there: the splice shim (splice.ts, the
// default) or this JS pump, which copies with backpressure (one chunk in flight per direction).

import type { Conn } from '../runtime/types.ts';

/**
 * How a forwarded connection ended. eof: both sides sent their FIN. client-closed: the client's
 * side failed (RST, EPIPE) after it had sent its FIN, or with nothing of the upstream's on its way
 * to it (after the upstream's whole stream; with splice also between messages): it closed its
 * socket once done (a TLS client leaving after its close_notify), nothing in flight was cut
 * short. client-reset: it failed with bytes on their way to it. upstream-closed: the upstream's
 * side failed after it had sent its FIN; upstream-reset: before.
 */
export type CloseReason = 'eof' | 'client-closed' | 'upstream-closed' | 'client-reset' | 'upstream-reset' | 'idle-timeout' | 'shutdown' | 'error';

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

/** Bytes moved so far each way, open connections included: what rates are computed from. */
export interface Moved {
  up: number;
  down: number;
}

export interface ForwardOptions {
  idleMs: number;
  now: () => number;
  /** live totals this forwarding adds to as bytes move */
  moved?: Moved;
}

/** Who moves the bytes of forwarded connections. */
export interface DataPlane {
  readonly name: 'splice' | 'js';
  forward(client: Conn, upstream: Conn, prefix: Uint8Array, opts: ForwardOptions): Forwarding;
  /** One line of counters for the shutdown log, if the plane keeps any. */
  summary(): string | null;
  /** Brings `moved` totals up to date, for a plane that counts elsewhere (the splice engine). */
  sample(): void;
  /** Releases the plane's resources once no forwarding is left. */
  close(): void;
}

export const jsPump: DataPlane = { name: 'js', forward, summary: () => null, sample: () => {}, close: () => {} };

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
    // a side that closed once done is no error; its errno ("Broken pipe") would only mislead
    if (e !== undefined && r !== 'client-closed' && r !== 'upstream-closed') error = e instanceof Error ? e.message : String(e);
    clearTimeout(timer);
    // Only a connection whose both directions finished (eof) closes normally. A reset on one side
    // is passed on as a reset, and so is an end ugate chose (idle timeout, shutdown, error): a
    // client must not take a truncated response for a complete one.
    const clientFailed = r === 'client-reset' || r === 'client-closed';
    const upstreamFailed = r === 'upstream-reset' || r === 'upstream-closed';
    if (r === 'eof' || clientFailed) client.close();
    else client.abort();
    if (r === 'eof' || upstreamFailed) upstream.close();
    else upstream.abort();
  };

  /** which sides have sent their FIN (and, as writes are awaited in order, had it passed on) */
  const ended = { client: false, upstream: false };
  // As in the splice engine (ugate_splice.c, pair_fail): a side that fails after its own FIN was
  // done; so was a client that had the upstream's whole stream. An upstream failing before its
  // FIN cut its stream short. Unlike the engine, the pump cannot see whether the kernel holds
  // bytes on their way to a client that resets without a FIN, so that stays client-reset.
  const failed = (side: 'client' | 'upstream'): CloseReason => (ended[side] || (side === 'client' && ended.upstream) ? `${side}-closed` : `${side}-reset`);

  // One direction: read, write, repeat; EOF becomes a half-close on the other side.
  const pipe = async (src: Conn, dst: Conn, count: (n: number) => void, srcSide: 'client' | 'upstream', dstSide: 'client' | 'upstream') => {
    for (;;) {
      let chunk: Uint8Array | null;
      try {
        chunk = await src.read();
      } catch (e) {
        return finish(failed(srcSide), e);
      }
      if (reason !== null) return;
      if (chunk === null) {
        ended[srcSide] = true;
        dst.shutdownWrite();
        return;
      }
      last = opts.now();
      try {
        await dst.write(chunk);
      } catch (e) {
        return finish(failed(dstSide), e);
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
        return finish(failed('upstream'), e);
      }
      up += prefix.length;
      if (opts.moved) opts.moved.up += prefix.length;
    }
    await pipe(client, upstream, (n) => ((up += n), opts.moved && (opts.moved.up += n)), 'client', 'upstream');
  };

  const done = Promise.all([upstreamFirst(), pipe(upstream, client, (n) => ((down += n), opts.moved && (opts.moved.down += n)), 'upstream', 'client')]).then(() => {
    finish('eof');
    const result: ForwardResult = { up, down, reason: reason! };
    if (error !== undefined) result.error = error;
    return result;
  });

  return { done, abort: (r) => finish(r) };
}
