// The shared pool of idle upstream HTTP connections: newest first, nothing stale or over the
// bounds handed out, expired connections closed by one sweep timer.

import test from 'ava';
import { Inbound } from '../../src/core/inbound.ts';
import { UpstreamPool, type PooledUpstream } from '../../src/core/upstream-pool.ts';
import type { Conn } from '../../src/runtime/types.ts';

function upstream(key: string, id: number): PooledUpstream & { id: number } {
  const a = { host: '127.0.0.1', port: id, family: 4 as const };
  const conn: Conn = { remote: a, local: a, read: () => new Promise(() => {}), write: async () => {}, shutdownWrite: () => {}, close: () => {}, abort: () => {}, detach: async () => null, originalDestination: () => null };
  return { id, key, conn, inbound: new Inbound(conn), outboundKey: `k${id}`, idleSince: 0 };
}

/** (serial tests) Pools made by a test; their sweep timers would keep the test process alive (a fake clock never expires them). */
const pools: UpstreamPool[] = [];
test.afterEach.always(() => {
  for (const p of pools.splice(0)) p.closeAll();
});

function pool(opts: { idleMs?: number; maxPerBackend?: number; maxTotal?: number } = {}) {
  let now = 0;
  const released: number[] = [];
  const p = new UpstreamPool({ now: () => now, release: (u) => released.push((u as ReturnType<typeof upstream>).id), ...opts });
  pools.push(p);
  return { p, released, advance: (ms: number) => (now += ms) };
}

test.serial('take gives the most recently parked connection for that backend, else null', (t) => {
  const { p } = pool();
  p.put(upstream('a', 1));
  p.put(upstream('a', 2));
  p.put(upstream('b', 3));
  t.is((p.take('a') as ReturnType<typeof upstream>).id, 2);
  t.is((p.take('a') as ReturnType<typeof upstream>).id, 1);
  t.is(p.take('a'), null);
  t.is(p.take('c'), null);
  t.is(p.size, 1);
});

test.serial('an expired connection, or one with bytes or EOF from the backend while idle, is closed, not reused', (t) => {
  const { p, released, advance } = pool({ idleMs: 100 });
  p.put(upstream('a', 1));
  advance(100);
  t.is(p.take('a'), null);
  const chatty = upstream('a', 2);
  p.put(chatty);
  chatty.inbound.buffer = new Uint8Array([1]);
  const closed = upstream('a', 3);
  p.put(closed);
  closed.inbound.eof = true;
  t.is(p.take('a'), null);
  t.deepEqual(released, [1, 3, 2]);
  t.is(p.size, 0);
});

test.serial('over the per-backend or total bound, the connection is closed instead', (t) => {
  const { p, released } = pool({ maxPerBackend: 2, maxTotal: 3 });
  for (let i = 1; i <= 3; i++) p.put(upstream('a', i));
  p.put(upstream('b', 4));
  p.put(upstream('c', 5));
  t.deepEqual(released, [3, 5]);
  t.is(p.size, 3);
});

test.serial('the sweep closes expired connections and closeAll the rest', async (t) => {
  const { p, released, advance } = pool({ idleMs: 20 });
  p.put(upstream('a', 1));
  advance(25);
  await new Promise((r) => setTimeout(r, 40));
  t.deepEqual(released, [1]);
  t.is(p.size, 0);
  p.put(upstream('a', 2));
  p.closeAll();
  t.deepEqual(released, [1, 2]);
});

test.serial('bytes or EOF from the backend while a connection is parked evict it at once', async (t) => {
  const { p, released } = pool();
  const chatty = upstream('a', 1);
  let speak!: (b: Uint8Array | null) => void;
  chatty.conn.read = () => new Promise((r) => (speak = r));
  p.put(chatty);
  speak(new TextEncoder().encode('HTTP/1.1 200 OK\r\n\r\n'));
  await new Promise((r) => setTimeout(r, 0));
  t.deepEqual(released, [1]);
  t.is(p.take('a'), null);
  // A connection taken before its backend spoke keeps the bytes for its new user.
  const quiet = upstream('a', 2);
  quiet.conn.read = () => new Promise((r) => (speak = r));
  p.put(quiet);
  const taken = p.take('a')!;
  const filled = taken.inbound.fill(Infinity, () => 0);
  speak(new Uint8Array([1, 2, 3]));
  t.true(await filled);
  t.deepEqual([...taken.inbound.buffer], [1, 2, 3]);
  t.deepEqual(released, [1]);
});
