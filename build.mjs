// Builds dist/ugate.js: one minified ESM bundle that runs on txiki.js (`tjs run dist/ugate.js`)
// and on Node (`node dist/ugate.js`). Platform modules stay external and are imported dynamically
// by the runtime adapter that needs them. Also builds the splice shim beside it
// (dist/libugate_splice.so) with the host C compiler ($CC, default cc); without a compiler ugate
// still runs, on the JS pump, and says so at start.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const outfile = 'dist/ugate.js';

await build({
  entryPoints: ['src/main.ts'],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  mainFields: ['module', 'main'],
  external: ['tjs:*', 'node:*', 'koffi'],
  minify: !process.argv.includes('--no-minify'),
  legalComments: 'none',
  define: { UGATE_VERSION: JSON.stringify(pkg.version) },
  logLevel: 'warning',
});

const raw = statSync(outfile).size;
const gz = gzipSync(readFileSync(outfile), { level: 9 }).length;
console.log(`${outfile}: ${(raw / 1024).toFixed(1)} KiB minified, ${(gz / 1024).toFixed(1)} KiB gzip`);

// The same flags as `make native` (warnings are errors on every libc and architecture we ship for).
const cc = process.env.CC || 'cc';
const lib = 'dist/libugate_splice.so';
mkdirSync('dist', { recursive: true });
const r = spawnSync(cc, ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-pthread', '-fPIC', '-shared', '-o', lib, 'src/native/ugate_splice.c'], { stdio: 'inherit' });
if (r.error?.code === 'ENOENT') {
  console.warn(`${lib}: not built, no C compiler (${cc}); ugate will forward with the JS pump`);
} else if (r.status !== 0) {
  process.exit(r.status ?? 1);
} else {
  console.log(`${lib}: ${(statSync(lib).size / 1024).toFixed(1)} KiB`);
}
