// The long fuzz pass over every pure parser in src/ (properties in test/fuzz/properties.ts, the
// same ones test/unit/fuzz.test.ts runs briefly in CI). One line per parser: name, cases run,
// failures, seconds; then each failure with fast-check's seed, path and shrunk counterexample, and
// the command that runs it again. Exits 1 on any failure.
//
//   npm run fuzz                                   1,000,000 cases per parser
//   FUZZ_RUNS=20000 npm run fuzz                   fewer (or more) cases per parser
//   FUZZ_ONLY='socks5,cidr' npm run fuzz           parsers whose name contains one of these
//   FC_SEED=N FC_PATH="…" FUZZ_ONLY='<name>' npm run fuzz   one failure again, exactly
//
// FC_SEED / FC_PATH are read by test/helpers/fast-check-seed.ts, as for every property test.
// The machine may be shared: run it under `nice -n 19`, one at a time.

import '../helpers/fast-check-seed.ts';
import { failureReport, runTarget, selectTargets, targets, type TargetResult } from './properties.ts';

const runsText = process.env.FUZZ_RUNS ?? '1000000';
if (!/^\d+$/.test(runsText.replace(/_/g, '')) || Number(runsText.replace(/_/g, '')) < 1) {
  console.error(`FUZZ_RUNS must be a positive whole number, not "${runsText}"`);
  process.exit(2);
}
const runs = Number(runsText.replace(/_/g, ''));
const selected = selectTargets(process.env.FUZZ_ONLY);
if (selected.length === 0) {
  console.error(`FUZZ_ONLY="${process.env.FUZZ_ONLY}" matches no parser. The parsers:\n${targets.map((t) => `  ${t.name}`).join('\n')}`);
  process.exit(2);
}
if (process.env.FC_PATH && selected.length !== 1) {
  console.error('FC_PATH replays one counterexample of one parser: choose that parser with FUZZ_ONLY (its full name).');
  process.exit(2);
}

const width = Math.max(...selected.map((t) => t.name.length));
const row = (name: string, cases: string, failures: string, seconds: string) => `${name.padEnd(width)}  ${cases.padStart(10)}  ${failures.padStart(8)}  ${seconds.padStart(8)}`;
console.log(`fuzz: ${runs.toLocaleString('en-US')} cases per parser, ${selected.length} parsers${process.env.FC_SEED ? `, FC_SEED=${process.env.FC_SEED}` : ''}`);
console.log(row('parser', 'cases', 'failures', 'seconds'));

const results: TargetResult[] = [];
const started = performance.now();
for (const t of selected) {
  const r = runTarget(t, runs);
  results.push(r);
  console.log(row(r.name, String(r.runs), String(r.failures), r.seconds.toFixed(1)));
}
const total = (performance.now() - started) / 1000;
const failed = results.filter((r) => r.failures > 0);
console.log(row('total', String(results.reduce((n, r) => n + r.runs, 0)), String(failed.length), total.toFixed(1)));

for (const r of failed) console.log(`\n${failureReport(r)}`);
if (failed.length > 0) {
  console.log(`\n${failed.length} of ${results.length} parsers failed: ${failed.map((r) => r.name).join('; ')}`);
  process.exit(1);
}
console.log(`\nall ${results.length} parsers passed`);
