// The short fuzz pass for CI: every parser's properties from test/fuzz/properties.ts (the same
// ones `npm run fuzz` runs a million times each), a few thousand cases per parser, one test each.
// A failure shows fast-check's seed, path and shrunk counterexample and the commands that run it
// again (FC_SEED / FC_PATH, see test/helpers/fast-check-seed.ts).
//
// A parser bug this harness already found (KNOWN_BUGS in properties.ts) fails its test like any
// other until the parser is fixed; FUZZ_KNOWN_BUGS=count makes such hits counted (t.log) instead.
import test from 'ava';
import { KNOWN_BUGS, failureReport, runTarget, targets } from '../fuzz/properties.ts';

const RUNS = 3000;

for (const t of targets) {
  test(`fuzz: ${t.name}`, (tt) => {
    const r = runTarget(t, RUNS);
    for (const [id, n] of r.knownBugs) tt.log(`known parser bug ${id} hit in ${n} cases: ${KNOWN_BUGS[id]}`);
    if (r.failures > 0) tt.fail(failureReport(r));
    else tt.is(r.runs, RUNS);
  });
}
