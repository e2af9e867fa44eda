// Builds dist/ugate.js: one minified ESM bundle that runs on txiki.js (`tjs run dist/ugate.js`)
// and on Node (`node dist/ugate.js`). Platform modules stay external and are imported dynamically
// by the runtime adapter that needs them.
import { build } from 'esbuild';
import { readFileSync, statSync } from 'node:fs';
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
