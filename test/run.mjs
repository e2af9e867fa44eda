// The whole test suite, on every runtime ugate ships on: unit, native and e2e tests on Node, then
// the e2e suite again on each txiki.js binary named in UGATE_TJS (a list separated by ':'), or on
// `tjs` from PATH. Without one, the txiki.js pass is reported as skipped, with the reason.
// Ends with one summary line per pass and a total; exits non-zero if any pass failed.
//
//   node test/run.mjs                      as `npm test` runs it (after the build and typecheck)
//   UGATE_TJS=/opt/tjs/tjs node test/run.mjs
//   node test/run.mjs test/e2e/mixed.test.ts   files or ava options are passed to every pass

import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

const extra = process.argv.slice(2);
const ava = resolve('node_modules/ava/entrypoints/cli.mjs');

/** The system's own binary on PATH (node_modules/.bin comes first under npm and is skipped). */
function onPath(cmd) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || dir.includes('node_modules')) continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {
      // not here
    }
  }
  return null;
}

function tjsBinaries() {
  const given = process.env.UGATE_TJS;
  if (given) return { list: given.split(':').filter((p) => p !== '').map((p) => resolve(p)) };
  const found = onPath('tjs');
  if (found) return { list: [found] };
  return { list: [], why: 'no txiki.js: set UGATE_TJS=/path/to/tjs (built with FFI), or put tjs on PATH' };
}

/** "N tests passed" and friends from ava's closing lines. */
function counts(output) {
  const n = (re) => Number(re.exec(output)?.[1] ?? 0);
  return {
    passed: n(/^\s*(\d+) tests? passed/m),
    failed: n(/^\s*(\d+) tests? failed/m) + n(/^\s*(\d+) uncaught exceptions?/m) + n(/^\s*(\d+) unhandled rejections?/m),
    skipped: n(/^\s*(\d+) tests? skipped/m) + n(/^\s*(\d+) tests? todo/m),
  };
}

function runAva(label, args, env) {
  console.log(`\n=== ${label}\n`);
  return new Promise((done) => {
    const child = spawn(process.execPath, [ava, ...args, ...extra], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const tee = (stream) => (chunk) => {
      out += chunk;
      stream.write(chunk);
    };
    child.stdout.on('data', tee(process.stdout));
    child.stderr.on('data', tee(process.stderr));
    child.on('close', (code, signal) => {
      const c = counts(out);
      // A run that ends badly without naming a failed test (a crashed worker, a timed-out file)
      // still counts as a failure.
      if (code !== 0 && c.failed === 0) c.failed = 1;
      done({ label, code: code ?? (signal ? 1 : 0), ...c });
    });
  });
}

const results = [];
const skippedPasses = [];
results.push(await runAva('node: unit, native and e2e tests', [], { UGATE_RUNTIME: 'node' }));

const tjs = tjsBinaries();
if (tjs.list.length === 0) skippedPasses.push(`e2e on txiki.js: skipped (${tjs.why})`);
for (const bin of tjs.list) {
  const v = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  const label = `tjs ${v.stdout?.trim() || '?'} (${bin}): e2e tests`;
  if (v.status !== 0) {
    console.log(`\n=== ${label}\n\n${bin} does not run: ${v.error?.message ?? v.stderr}`);
    results.push({ label, code: 1, passed: 0, failed: 1, skipped: 0 });
    continue;
  }
  results.push(await runAva(label, extra.length > 0 ? [] : ['test/e2e'], { UGATE_RUNTIME: 'tjs', UGATE_TJS: bin }));
}

console.log('\n=== summary');
for (const r of results) console.log(`${r.label} — ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped${r.code !== 0 ? ` (exit ${r.code})` : ''}`);
for (const s of skippedPasses) console.log(s);
const sum = (k) => results.reduce((a, r) => a + r[k], 0);
console.log(`total: ${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped`);
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
