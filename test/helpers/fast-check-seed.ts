// Loaded by ava before every test file (package.json "ava.require"). A failing property test
// (fast-check) reports `{ seed: N, path: "…" }` with its counterexample; to run it again exactly:
//   FC_SEED=N FC_PATH="…" npx ava test/unit/FILE.test.ts --match 'TITLE'
// (FC_PATH is optional: without it the run starts from the seed and shrinks again).
import fc from 'fast-check';

const seed = process.env.FC_SEED;
if (seed !== undefined && seed !== '') {
  if (!/^-?\d+$/.test(seed)) throw new Error(`FC_SEED must be an integer, not "${seed}"`);
  fc.configureGlobal({ seed: Number(seed), ...(process.env.FC_PATH ? { path: process.env.FC_PATH, endOnFailure: true } : {}) });
}
