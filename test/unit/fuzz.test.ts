// The short fuzz pass for CI: every parser's properties from test/fuzz/properties.ts (the same
// ones `npm run fuzz` runs a million times each), a few thousand cases per parser, one test each.
// A failure shows fast-check's seed, path and shrunk counterexample and the commands that run it
// again (FC_SEED / FC_PATH, see test/helpers/fast-check-seed.ts).
import test from 'ava';
import { failureReport, runTarget, targets } from '../fuzz/properties.ts';

const RUNS = 3000;

for (const t of targets) {
  test(`fuzz: ${t.name}`, (tt) => {
    const r = runTarget(t, RUNS);
    if (r.failures > 0) tt.fail(failureReport(r));
    else tt.is(r.runs, RUNS);
  });
}
