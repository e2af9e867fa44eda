// A timeout that never fires early. Both runtimes schedule setTimeout() from libuv's loop time,
// which is cached at the start of each loop iteration: a timer set late in an iteration comes due
// early by however long the iteration had run, as performance.now() (the runtimes' clock,
// Runtime.now) measures it. A timeout that a user configured (connect 700ms, sniff 5s) means at
// least that long, so this one checks the clock when it fires and waits out what is left.
// Runtime-free: web-standard globals only.

/** Calls `fn` once, no sooner than `ms` after now; the returned function cancels it. */
export function afterAtLeast(ms: number, fn: () => void): () => void {
  const due = performance.now() + ms;
  let timer: ReturnType<typeof setTimeout>;
  const check = () => {
    const left = due - performance.now();
    if (left > 0) timer = setTimeout(check, Math.ceil(left));
    else fn();
  };
  timer = setTimeout(check, ms);
  return () => clearTimeout(timer);
}
