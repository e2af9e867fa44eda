// Micro-benchmark of the per-request HTTP/1.x code: parse and serialize a browser-like request head
// and a typical response head, and the framing and header helpers a request goes through. Bundles
// the sources with esbuild into a temp dir, runs the bundle on txiki.js (when found) and on Node,
// prints µs per call. "before" is the exact byte-loop code kept as the fallback (the code before
// the fast paths), or with --before=<git revision> that revision's code, for every row.
//
//   node bench/http-parse.mjs                  # tjs from $UGATE_TJS or /opt/txiki/src/build/tjs or PATH; Node
//   node bench/http-parse.mjs --before=HEAD    # compare against a git revision (its src/ tree)
//   node bench/http-parse.mjs --rounds=600     # more rounds (default 200)
//   node bench/http-parse.mjs --verify         # first run the fast-path equivalence properties
//                                              # (test/unit/http-fast-path.test.ts) on both runtimes
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 200);
const beforeRev = process.argv.find((a) => a.startsWith('--before='))?.slice(9);
const dir = mkdtempSync(join(tmpdir(), 'ugate-http-parse-'));

// The "before" tree: a git revision's src/, or none (then the exact functions of this tree).
let old = null;
if (beforeRev) {
  old = join(dir, 'before');
  mkdirSync(old);
  const archive = spawnSync('git', ['-C', root, 'archive', beforeRev, 'src'], { maxBuffer: 1 << 28 });
  if (archive.status !== 0) throw new Error(`git archive ${beforeRev}: ${archive.stderr}`);
  const untar = spawnSync('tar', ['-x', '-C', old], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`tar: ${untar.stderr}`);
}
const mod = (base, path) => JSON.stringify(join(base, path));
const imports = (base, p) => `
import * as ${p}http1 from ${mod(base, 'src/sniff/http1.ts')};
import * as ${p}response from ${mod(base, 'src/http/response.ts')};
import * as ${p}head from ${mod(base, 'src/http/head.ts')};
import * as ${p}framing from ${mod(base, 'src/http/framing.ts')};
import * as ${p}chunked from ${mod(base, 'src/http/chunked.ts')};
`;

const entry = `
${imports(root, 'N_')}
${old ? imports(old, 'O_') : ''}
const OLD = ${old ? 'true' : 'false'};
const { parseHttp1Request, parseHttp1RequestExact } = N_http1;
const { parseResponseHead, parseResponseHeadExact } = N_response;
const { serializeRequestHead, serializeRequestHeadExact, serializeResponseHead, serializeResponseHeadExact, getHeader, removeHopByHop } = N_head;
const { requestBodyFraming, responseBodyFraming, wantsKeepAlive } = N_framing;
const { ChunkedScanner } = N_chunked;
// before: the old tree's public functions, or this tree's exact ones
const B = OLD
  ? { parseReq: O_http1.parseHttp1Request, parseRes: O_response.parseResponseHead, serReq: O_head.serializeRequestHead, serRes: O_head.serializeResponseHead, getHeader: O_head.getHeader, removeHopByHop: O_head.removeHopByHop, requestBodyFraming: O_framing.requestBodyFraming, responseBodyFraming: O_framing.responseBodyFraming, wantsKeepAlive: O_framing.wantsKeepAlive, ChunkedScanner: O_chunked.ChunkedScanner }
  : { parseReq: parseHttp1RequestExact, parseRes: parseResponseHeadExact, serReq: serializeRequestHeadExact, serRes: serializeResponseHeadExact };

const ROUNDS = ${rounds};
const now = globalThis.performance ? () => performance.now() : () => Date.now();
const enc = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));

// A Firefox-like navigation: 10 fields, 450-ish bytes.
const REQ = 'GET /docs/install.html?lang=en HTTP/1.1\\r\\n' +
  'Host: www.example.com\\r\\n' +
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\\r\\n' +
  'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\\r\\n' +
  'Accept-Language: en-US,en;q=0.5\\r\\n' +
  'Accept-Encoding: gzip, deflate, br, zstd\\r\\n' +
  'Connection: keep-alive\\r\\n' +
  'Cookie: session=8f14e45fceea167a5a36dedd4bea2543\\r\\n' +
  'Upgrade-Insecure-Requests: 1\\r\\n' +
  'Sec-Fetch-Dest: document\\r\\n' +
  'Sec-Fetch-Mode: navigate\\r\\n\\r\\n';
// An nginx-like 200 with 8 fields.
const RES = 'HTTP/1.1 200 OK\\r\\n' +
  'Server: nginx/1.24.0\\r\\n' +
  'Date: Tue, 04 Mar 2025 10:15:32 GMT\\r\\n' +
  'Content-Type: text/html; charset=utf-8\\r\\n' +
  'Content-Length: 15320\\r\\n' +
  'Last-Modified: Mon, 03 Mar 2025 08:00:00 GMT\\r\\n' +
  'Connection: keep-alive\\r\\n' +
  'ETag: "67c5629c-3bd8"\\r\\n' +
  'Accept-Ranges: bytes\\r\\n\\r\\n';
// A shorter one, ~225 bytes, 5 fields; and curl's.
const REQ_SHORT = 'GET /api/v1/items?page=2 HTTP/1.1\\r\\n' +
  'Host: api.example.com\\r\\n' +
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\\r\\n' +
  'Accept: application/json\\r\\n' +
  'Accept-Encoding: gzip, deflate, br\\r\\n' +
  'Connection: keep-alive\\r\\n\\r\\n';
const REQ_CURL = 'GET / HTTP/1.1\\r\\nHost: example.com\\r\\nUser-Agent: curl/8.5.0\\r\\nAccept: */*\\r\\n\\r\\n';
const reqShort = enc(REQ_SHORT);
const reqCurl = enc(REQ_CURL);
const reqBytes = enc(REQ);
const resBytes = enc(RES);
const resWithBody = enc(RES + 'x'.repeat(1024)); // the head and the start of the body in one read
const req = parseHttp1RequestExact(reqBytes).value; // the same on either side
const res = parseResponseHeadExact(resBytes).value;
const CHUNKED = enc('1a\\r\\nabcdefghijklmnopqrstuvwxyz\\r\\n10\\r\\n0123456789abcdef\\r\\n0\\r\\n\\r\\n');

// Wall time of short rounds, best of many: a round that another process preempted or slowed
// (a shared core) only loses.
function calibrate(fn) {
  let n = 10;
  for (;;) {
    const t = now();
    for (let i = 0; i < n; i++) fn();
    if (now() - t > 3) return n;
    n *= 2;
  }
}
/** µs per call of each function: short rounds taken in turn (so both see the same machine), best of each. */
async function time(fns) {
  const ns = fns.map(calibrate);
  const best = fns.map(() => Infinity);
  for (let r = 0; r < ROUNDS / 4; r++) {
    for (let j = 0; j < fns.length; j++) {
      const fn = fns[j];
      const n = ns[j];
      const t = now();
      for (let i = 0; i < n; i++) fn();
      best[j] = Math.min(best[j], ((now() - t) * 1000) / n);
    }
  }
  return best;
}

const rows = [
  ['parseHttp1Request', () => B.parseReq(reqBytes), () => parseHttp1Request(reqBytes)],
  ['parseHttp1Request, ' + reqShort.length + ' bytes, 5 fields', () => B.parseReq(reqShort), () => parseHttp1Request(reqShort)],
  ['parseHttp1Request, curl, ' + reqCurl.length + ' bytes', () => B.parseReq(reqCurl), () => parseHttp1Request(reqCurl)],
  ['parseResponseHead', () => B.parseRes(resBytes), () => parseResponseHead(resBytes)],
  ['parseResponseHead, 1 KB of body after it', () => B.parseRes(resWithBody), () => parseResponseHead(resWithBody)],
  ['serializeRequestHead', () => B.serReq(req.method, req.target, req.version, req.headers), () => serializeRequestHead(req.method, req.target, req.version, req.headers)],
  ['serializeResponseHead', () => B.serRes(res.version, res.status, res.reason, res.headers), () => serializeResponseHead(res.version, res.status, res.reason, res.headers)],
  ['getHeader × 3 (request)', OLD && (() => [B.getHeader(req.headers, 'host'), B.getHeader(req.headers, 'cookie'), B.getHeader(req.headers, 'x-missing')]), () => [getHeader(req.headers, 'host'), getHeader(req.headers, 'cookie'), getHeader(req.headers, 'x-missing')]],
  ['requestBodyFraming + wantsKeepAlive', OLD && (() => [B.requestBodyFraming(req.headers, req.version), B.wantsKeepAlive(req.version, req.headers)]), () => [requestBodyFraming(req.headers, req.version), wantsKeepAlive(req.version, req.headers)]],
  ['responseBodyFraming + wantsKeepAlive', OLD && (() => [B.responseBodyFraming('GET', res.status, res.headers, res.version), B.wantsKeepAlive(res.version, res.headers)]), () => [responseBodyFraming('GET', res.status, res.headers, res.version), wantsKeepAlive(res.version, res.headers)]],
  ['removeHopByHop (request)', OLD && (() => B.removeHopByHop(req.headers)), () => removeHopByHop(req.headers)],
  ['ChunkedScanner, 2 small chunks', OLD && (() => new B.ChunkedScanner().scan(CHUNKED)), () => new ChunkedScanner().scan(CHUNKED)],
];
const out = { bytes: { request: reqBytes.length, response: resBytes.length }, rows: [] };
// Several passes over all rows: the machine can be slower (other load on a shared core) for
// seconds at a time, which rounds in one stretch cannot avoid; the best of each cell counts.
const PASSES = 4;
for (const [name] of rows) out.rows.push({ name, before: null, after: Infinity });
for (let pass = 0; pass < PASSES; pass++) {
  for (let k = 0; k < rows.length; k++) {
    const [, before, after] = rows[k];
    const [a, b] = await time(before ? [after, before] : [after]);
    const row = out.rows[k];
    row.after = Math.min(row.after, a);
    if (before) row.before = Math.min(row.before ?? Infinity, b);
  }
}
console.log(JSON.stringify(out));
`;

// --verify: the equivalence properties, bundled with a minimal stand-in for ava, on each runtime.
const AVA_SHIM = `
const tests = [];
export default function test(name, fn) { tests.push([name, fn]); }
test.after = () => {};
const fail = (m) => { throw new Error(m ?? 'failed'); };
const t = { pass() {}, fail, true(x, m) { if (x !== true) fail(m); }, is(a, b, m) { if (a !== b) fail(m); } };
setTimeout(async () => {
  let failed = 0;
  for (const [name, fn] of tests) {
    const t0 = Date.now();
    try { await fn(t); console.log('  ok   ' + name + ' (' + (Date.now() - t0) + ' ms)'); }
    catch (e) { failed++; console.log('  FAIL ' + name + ': ' + String(e && e.message).slice(0, 2000)); }
  }
  console.log(failed === 0 ? 'all ' + tests.length + ' passed' : failed + ' of ' + tests.length + ' FAILED');
  if (failed) globalThis.process ? process.exit(1) : tjs.exit(1);
}, 0);
`;
async function verify(runtimes) {
  const out = join(dir, 'verify.mjs');
  await build({
    entryPoints: [join(root, 'test/unit/http-fast-path.test.ts')],
    outfile: out,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    logLevel: 'warning',
    plugins: [{ name: 'ava-shim', setup(b) {
      b.onResolve({ filter: /^ava$/ }, () => ({ path: 'ava', namespace: 'shim' }));
      b.onLoad({ filter: /.*/, namespace: 'shim' }, () => ({ contents: AVA_SHIM, loader: 'js' }));
    } }],
  });
  let ok = true;
  for (const [label, cmd, args] of runtimes) {
    console.error(`verify on ${label}:`);
    const r = spawnSync(cmd, [...args.slice(0, -1), out], { encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) ok = false;
  }
  if (!ok) process.exit(1);
}

const bundle = join(dir, 'bench.mjs');
writeFileSync(join(dir, 'entry.mjs'), entry);
await build({ entryPoints: [join(dir, 'entry.mjs')], outfile: bundle, bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', minify: true, logLevel: 'warning' });

const tjs = [process.env.UGATE_TJS, '/opt/txiki/src/build/tjs'].find((p) => p && existsSync(p)) ?? 'tjs';
const runtimes = [
  ['txiki.js', tjs, ['run', bundle]],
  ['Node', process.execPath, [bundle]],
];
if (process.argv.includes('--verify')) await verify(runtimes.filter(([, cmd]) => cmd === process.execPath || existsSync(cmd)));
const results = [];
for (const [label, cmd, args] of runtimes) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0 || r.error) {
    console.error(`${label}: not run (${r.error?.message ?? r.stderr.trim().split('\n')[0]})`);
    continue;
  }
  results.push([label, JSON.parse(r.stdout.trim().split('\n').pop())]);
}
if (results.length === 0) process.exit(1);

const f = (x) => (x === null ? '–' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const { bytes } = results[0][1];
const beforeText = beforeRev ? `the code of ${beforeRev}` : 'the exact byte-loop code (the fallback)';
console.log(`request head ${bytes.request} bytes (10 fields), response head ${bytes.response} bytes (8 fields); µs per call, best of ${rounds} short rounds in 4 passes; before = ${beforeText}\n`);
console.log(`| function | ${results.map(([l]) => `${l} before | ${l} after | speed-up`).join(' | ')} |`);
console.log(`|---|${results.map(() => '---:|---:|---:').join('|')}|`);
for (let k = 0; k < results[0][1].rows.length; k++) {
  const cells = results.map(([, r]) => {
    const row = r.rows[k];
    return `${f(row.before)} | ${f(row.after)} | ${row.before === null ? '–' : `${(row.before / row.after).toFixed(1)}×`}`;
  });
  console.log(`| ${results[0][1].rows[k].name} | ${cells.join(' | ')} |`);
}
