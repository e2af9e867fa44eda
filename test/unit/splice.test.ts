// The shim's record formats (src/native/ugate_splice.h): little-endian on every CPU, byte counts
// past 4 GiB, every field in its place.

import test from 'ava';
import fc from 'fast-check';
import { decodeEvents, decodeStats, EVENT_SIZE } from '../../src/core/splice.ts';

function record(id: number, reason: number, up: bigint, down: bigint, ms: number, errno: number): Uint8Array {
  const b = new Uint8Array(EVENT_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(0, id, true);
  v.setUint32(4, reason, true);
  v.setBigUint64(8, up, true);
  v.setBigUint64(16, down, true);
  v.setUint32(24, ms, true);
  v.setInt32(28, errno, true);
  return b;
}

test('event records decode field by field, little-endian, byte counts beyond 32 bits', (t) => {
  const two = new Uint8Array(2 * EVENT_SIZE + 5); // a trailing partial record is not an event
  two.set(record(7, 2, 5_000_000_000n, 1n, 1234, 104), 0);
  two.set(record(0xffffffff, 0, 0n, 2n ** 53n - 1n, 0, 0), EVENT_SIZE);
  t.deepEqual(decodeEvents(two), [
    { id: 7, reason: 2, up: 5_000_000_000, down: 1, durationMs: 1234, errno: 104 },
    { id: 0xffffffff, reason: 0, up: 0, down: 2 ** 53 - 1, durationMs: 0, errno: 0 },
  ]);
  // the fixed layout, byte by byte: id 0x01020304 is stored 04 03 02 01
  t.deepEqual(Array.from(record(0x01020304, 0, 0n, 0n, 0, 0).subarray(0, 4)), [4, 3, 2, 1]);
});

test('records decode from any offset of a larger buffer', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.nat(64), fc.nat(0xffffffff), fc.bigInt(0n, 2n ** 53n - 1n), (offset, id, bytes) => {
        const buf = new Uint8Array(offset + EVENT_SIZE);
        buf.set(record(id, 3, bytes, bytes, 5, 0), offset);
        const [ev] = decodeEvents(buf.subarray(offset));
        return ev!.id === id && ev!.up === Number(bytes) && ev!.down === Number(bytes) && ev!.reason === 3;
      }),
    ),
  );
});

test('counters decode in enum order; a short buffer gives only what it holds', (t) => {
  const raw = new Uint8Array(8 * 8);
  const v = new DataView(raw.buffer);
  [3, 10, 2n ** 40n, 5, 4, 2, 65536, 0].forEach((x, i) => v.setBigUint64(8 * i, BigInt(x), true));
  t.deepEqual(decodeStats(raw), { active: 3, added: 10, bytes_up: 2 ** 40, bytes_down: 5, pipes_open: 4, pipes_pooled: 2, pipe_size: 65536, events_queued: 0 });
  t.deepEqual(decodeStats(raw.subarray(0, 16)), { active: 3, added: 10 });
});
