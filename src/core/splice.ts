// The splice data plane: hands each forwarded pair to the C shim (src/native/ugate_splice.h),
// which moves the bytes with splice() on its own thread, and turns the shim's event records back
// into ForwardResults for the access log. Runtime-free: the runtime only loads the library
// (Runtime.loadSplice) and watches the notify descriptor (Runtime.watchReadable).

import type { Conn, Runtime, SpliceLibrary } from '../runtime/types.ts';
import type { CloseReason, DataPlane, ForwardOptions, ForwardResult, Forwarding, Moved } from './forward.ts';
import { concat } from './inbound.ts';

export const SPLICE_ABI = 2;
/** 4 GiB (a wrap of the engine's counters) takes 3.4 s at 10 Gbit/s; a router's links are slower */
const MOVED_SAMPLE_MS = 2000;
export const EVENT_SIZE = 32;
const EVENT_BATCH = 256;
const STAT_COUNT = 16; // room for counters a newer shim may add
const EBADF = 9; // the same number on every Linux architecture
export const STAT_NAMES = ['active', 'added', 'bytes_up', 'bytes_down', 'pipes_open', 'pipes_pooled', 'pipe_size', 'events_queued', 'moved_up', 'moved_down'] as const;

/** enum ugs_reason, in order */
const REASONS: (CloseReason | null)[] = ['eof', 'client-reset', 'upstream-reset', 'idle-timeout', null /* UGS_CLOSED: whoever asked */, 'error', 'client-closed', 'upstream-closed'];
const UGS_CLOSED = 4;

export interface SpliceEvent {
  id: number;
  reason: number;
  up: number;
  down: number;
  durationMs: number;
  errno: number;
}

/** Decodes event records (all fields little-endian, see ugate_splice.h). */
export function decodeEvents(records: Uint8Array): SpliceEvent[] {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const out: SpliceEvent[] = [];
  for (let off = 0; off + EVENT_SIZE <= records.length; off += EVENT_SIZE) {
    out.push({
      id: view.getUint32(off, true),
      reason: view.getUint32(off + 4, true),
      // byte counts stay exact as numbers up to 2^53 (8 PiB)
      up: view.getUint32(off + 8, true) + view.getUint32(off + 12, true) * 2 ** 32,
      down: view.getUint32(off + 16, true) + view.getUint32(off + 20, true) * 2 ** 32,
      durationMs: view.getUint32(off + 24, true),
      errno: view.getInt32(off + 28, true),
    });
  }
  return out;
}

export function decodeStats(raw: Uint8Array): Record<string, number> {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: Record<string, number> = {};
  STAT_NAMES.forEach((name, i) => {
    if (8 * i + 8 <= raw.length) out[name] = view.getUint32(8 * i, true) + view.getUint32(8 * i + 4, true) * 2 ** 32;
  });
  return out;
}

export interface SpliceOptions {
  pipeSize: number;
  pipePool: number;
}

/** One running engine of the shim; ids are u32. */
export interface SpliceEngine {
  /** 0, or -errno when the engine could not take the pair (the caller still owns both sockets) */
  add(id: number, clientFd: number, upstreamFd: number, toUpstream: Uint8Array, toClient: Uint8Array, idleMs: number): number;
  close(id: number): void;
  /** little-endian u64 counters in ugs_stat order */
  stats(): Uint8Array;
  strerror(errno: number): string;
  /** Stops the engine thread; pairs still open are closed without events. */
  destroy(): void;
}

/** Starts an engine; `onEvents` receives batches of event records. Throws the reason it cannot. */
export function openSpliceEngine(
  lib: SpliceLibrary,
  watchReadable: Runtime['watchReadable'],
  opts: SpliceOptions,
  onEvents: (records: Uint8Array) => void,
): SpliceEngine {
  const abi = lib.abi();
  if (abi !== SPLICE_ABI) throw new Error(`library ABI ${abi}, this ugate needs ${SPLICE_ABI}`);
  const engine = lib.open(opts.pipeSize, opts.pipePool);
  if (!engine) throw new Error(`ugs_open: ${lib.strerror(lib.errno())}`);
  const fd = lib.notifyDup(engine, -1);
  if (fd < 0) {
    lib.destroy(engine);
    throw new Error(`ugs_notify_dup: ${lib.strerror(-fd)}`);
  }
  const batch = new Uint8Array(EVENT_SIZE * EVENT_BATCH);
  const watch = watchReadable(fd, () => {
    for (;;) {
      const n = lib.takeEvents(engine, batch, batch.length);
      if (n > 0) onEvents(batch.slice(0, n * EVENT_SIZE));
      if (n < EVENT_BATCH) return;
    }
  });
  let destroyed = false;
  // After destroy() the engine's memory is gone: every call is refused, none reaches C.
  return {
    add: (id, clientFd, upstreamFd, toUpstream, toClient, idleMs) =>
      destroyed ? -EBADF : lib.add(engine, id, clientFd, upstreamFd, toUpstream, toUpstream.length, toClient, toClient.length, idleMs),
    close: (id) => void (destroyed || lib.close(engine, id)),
    stats: () => {
      const raw = new Uint8Array(8 * STAT_COUNT);
      return destroyed ? raw.subarray(0, 0) : raw.subarray(0, 8 * lib.stats(engine, raw, raw.length));
    },
    strerror: (n) => lib.strerror(n),
    destroy: () => {
      if (destroyed) return;
      destroyed = true;
      watch.close();
      lib.destroy(engine);
    },
  };
}

export class SpliceDataPlane implements DataPlane {
  readonly name = 'splice';
  private nextId = 0;
  private readonly waiting = new Map<number, (ev: SpliceEvent) => void>();
  /** pairs the engine refused (e.g. out of descriptors) and the fallback carried instead */
  fallbacks = 0;
  private engine: SpliceEngine | null = null;

  /** the engine's moved counters (modulo 2^32) at the last sample */
  private lastMoved = { up: 0, down: 0 };
  private sampler: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly fallback: DataPlane,
    private readonly report: (line: string) => void,
    /** live totals: the engine's counts are added by sample() */
    private readonly moved: Moved = { up: 0, down: 0 },
  ) {}

  /** Set once the runtime has opened the engine (its event callback needs this object first). */
  attach(engine: SpliceEngine): void {
    this.engine = engine;
    // The engine's counters wrap at 4 GiB, a few seconds of a fast link: sampled often enough
    // to see every wrap, and whenever someone asks.
    this.sampler = setInterval(() => this.sample(), MOVED_SAMPLE_MS);
  }

  sample(): void {
    const s = this.stats();
    if (s.moved_up === undefined || s.moved_down === undefined) return;
    this.moved.up += (s.moved_up - this.lastMoved.up) >>> 0;
    this.moved.down += (s.moved_down - this.lastMoved.down) >>> 0;
    this.lastMoved = { up: s.moved_up, down: s.moved_down };
  }

  onEvents = (records: Uint8Array): void => {
    for (const ev of decodeEvents(records)) {
      const resolve = this.waiting.get(ev.id);
      if (!resolve) {
        this.report(`ugate: splice event for unknown pair ${ev.id}\n`);
        continue;
      }
      this.waiting.delete(ev.id);
      resolve(ev);
    }
  };

  forward(client: Conn, upstream: Conn, prefix: Uint8Array, opts: ForwardOptions): Forwarding {
    const engine = this.engine!;
    let aborted: CloseReason | null = null;
    let id = 0;
    let pumped: Forwarding | null = null;

    const run = async (): Promise<ForwardResult> => {
      // Upstream first: it has no read in flight, so detaching it cannot strand client bytes.
      const u = await upstream.detach();
      const c = u && (await client.detach());
      if (!u || !c) {
        // One side failed: the other learns it by a reset, as the JS pump would pass it on.
        client.abort();
        upstream.abort();
        return { up: 0, down: 0, reason: u ? 'client-reset' : 'upstream-reset', error: 'socket failed before the hand-over' };
      }
      const toUpstream = concat(prefix, c.pending);
      if (aborted) {
        client.close();
        upstream.close();
        return { up: 0, down: 0, reason: aborted };
      }
      if (!this.engine) {
        // closed while this pair was being detached (shutdown)
        client.close();
        upstream.close();
        return { up: 0, down: 0, reason: 'shutdown' };
      }
      this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
      id = this.nextId;
      const ended = new Promise<SpliceEvent>((resolve) => this.waiting.set(id, resolve));
      let rc: number;
      try {
        rc = engine.add(id, c.fd, u.fd, toUpstream, u.pending, opts.idleMs);
      } catch (e) {
        this.waiting.delete(id);
        client.abort();
        upstream.abort();
        return { up: 0, down: 0, reason: 'error', error: `splice hand-over: ${(e as Error).message}` };
      }
      if (rc !== 0) {
        this.waiting.delete(id);
        id = 0;
        // The sockets are still the runtime's: the JS pump carries this pair instead.
        if (this.fallbacks++ % 1000 === 0) this.report(`ugate: splice engine refused a pair (${engine.strerror(-rc)}); forwarding it with the JS pump\n`);
        let early = 0;
        if (u.pending.length > 0) {
          try {
            await client.write(u.pending);
            early = u.pending.length;
          } catch (e) {
            client.abort();
            upstream.abort(); // the client failed: passed on as a reset
            return { up: 0, down: 0, reason: 'client-reset', error: (e as Error).message };
          }
        }
        pumped = this.fallback.forward(client, upstream, toUpstream, opts);
        if (aborted) pumped.abort(aborted);
        const r = await pumped.done;
        return { ...r, down: r.down + early };
      }
      // The engine holds duplicates now; these close only the runtime's descriptors.
      client.close();
      upstream.close();
      if (aborted) engine.close(id);
      const ev = await ended;
      const result: ForwardResult = { up: ev.up, down: ev.down, reason: ev.reason === UGS_CLOSED ? (aborted ?? 'shutdown') : (REASONS[ev.reason] ?? 'error') };
      // a side that closed once done is no error; its errno ("Broken pipe") would only mislead
      if (ev.errno > 0 && result.reason !== 'client-closed' && result.reason !== 'upstream-closed') result.error = engine.strerror(ev.errno);
      return result;
    };

    return {
      done: run(),
      abort: (reason) => {
        if (aborted) return;
        aborted = reason;
        if (pumped) pumped.abort(reason);
        else if (id !== 0) engine.close(id);
      },
    };
  }

  stats(): Record<string, number> {
    return this.engine ? decodeStats(this.engine.stats()) : {};
  }

  summary(): string {
    const s = this.stats();
    return `splice pairs=${s.added ?? 0} up=${s.bytes_up ?? 0} down=${s.bytes_down ?? 0} open=${s.active ?? 0} pipes=${s.pipes_open ?? 0} fallbacks=${this.fallbacks}`;
  }

  close(): void {
    this.sample();
    clearInterval(this.sampler);
    this.engine?.destroy();
    this.engine = null;
    // Pairs the engine closed without an event (teardown) still end their sessions.
    for (const [id, resolve] of this.waiting) resolve({ id, reason: UGS_CLOSED, up: 0, down: 0, durationMs: 0, errno: 0 });
    this.waiting.clear();
  }
}
