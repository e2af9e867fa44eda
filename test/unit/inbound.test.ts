// Inbound keeps a read that is still in flight at a deadline for the next reader; if that read
// fails meanwhile (client reset during dial), nothing may surface as an unhandled rejection,
// which would end the gateway process. ava fails a test file on unhandled rejections.

import test from 'ava';
import { Inbound } from '../../src/core/inbound.ts';
import type { Conn } from '../../src/runtime/types.ts';

function conn(read: () => Promise<Uint8Array | null>): Conn {
  const a = { host: '127.0.0.1', port: 1, family: 4 as const };
  return { remote: a, local: a, read, write: async () => {}, shutdownWrite: () => {}, close: () => {}, abort: () => {}, detach: async () => null, originalDestination: () => null };
}

test('a read pending at the deadline that later fails reaches its next reader, unhandled by nobody', async (t) => {
  const inbound = new Inbound(conn(() => new Promise((_, reject) => setTimeout(() => reject(new Error('reset')), 50))));
  t.false(await inbound.fill(performance.now() + 10, () => performance.now()));
  await new Promise((r) => setTimeout(r, 100)); // the read fails while nobody awaits it
  await t.throwsAsync(inbound.release().read(), { message: 'reset' });
});

test('no read is started once the deadline has passed', async (t) => {
  let reads = 0;
  const inbound = new Inbound(conn(() => (reads++, new Promise(() => {}))));
  t.false(await inbound.fill(performance.now() - 1, () => performance.now()));
  t.is(reads, 0);
});

test('bytes and EOF seen while sniffing are replayed by the released stream', async (t) => {
  const chunks = [new Uint8Array([1, 2]), new Uint8Array([3]), null];
  const inbound = new Inbound(conn(async () => chunks.shift() ?? null));
  t.true(await inbound.fill(performance.now() + 1000, () => performance.now()));
  t.true(await inbound.fill(performance.now() + 1000, () => performance.now()));
  t.deepEqual(Array.from(inbound.buffer), [1, 2, 3]);
  t.false(await inbound.fill(performance.now() + 1000, () => performance.now()));
  t.true(inbound.eof);
  const released = inbound.release();
  t.is(await released.read(), null);
  t.is(await released.read(), null);
});

test('detach at the hand-over: the bytes of the read in flight come before those the runtime still holds', async (t) => {
  // A runtime conn whose read is in flight when the sniff deadline passes; detach() settles it
  // with the chunk that arrived meanwhile and returns what it read after that.
  let deliver!: (c: Uint8Array | null) => void;
  const c = conn(() => new Promise((resolve) => (deliver = resolve)));
  c.detach = async () => {
    deliver(new Uint8Array([7, 8]));
    return { fd: 42, pending: new Uint8Array([9]) };
  };
  const inbound = new Inbound(c);
  t.false(await inbound.fill(performance.now() + 10, () => performance.now()));
  const d = await inbound.release().detach();
  t.deepEqual(d && { fd: d.fd, pending: Array.from(d.pending) }, { fd: 42, pending: [7, 8, 9] });
});
