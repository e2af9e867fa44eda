import test from 'ava';
import { afterAtLeast } from '../../src/runtime/timer.ts';

const spin = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

/** Sets a timer of `ms` right after the loop was kept busy for `busyMs`; resolves with how long it took. */
function measure(ms: number, busyMs: number): Promise<number> {
  return new Promise((resolve) =>
    setTimeout(() => {
      spin(busyMs); // the loop's cached time is now stale by busyMs (txiki.js schedules from it)
      const start = performance.now();
      afterAtLeast(ms, () => resolve(performance.now() - start));
    }, 1),
  );
}

test('never fires before its time, also when set late in a busy loop iteration', async (t) => {
  for (const [ms, busy] of [[1, 0], [5, 0], [20, 30], [50, 30], [7, 3], [100, 60]] as const) {
    const took = await measure(ms, busy);
    t.true(took >= ms, `${ms} ms timer after ${busy} ms busy fired after ${took.toFixed(3)} ms`);
  }
});

test('cancel stops it', async (t) => {
  let fired = 0;
  const cancel = afterAtLeast(10, () => fired++);
  cancel();
  await new Promise((r) => setTimeout(r, 30));
  t.is(fired, 0);
});
