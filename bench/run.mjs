#!/usr/bin/env node
// ugate benchmark: ugate's data planes against HAProxy, nginx, sniproxy, socat and a minimal C
// splice forwarder, all on loopback, all measured in one run and printed as one markdown table.
//
//   npm run bench                       (builds dist/ugate.js first)
//   node bench/run.mjs [--quick] [--only=id,id] [--keep] [--access-log] [--bundle=path/to/ugate.js]
//
// --keep leaves the temp dir (configs, binaries, every peer's output in <id>.log); --access-log
// turns on ugate's access log there (it costs throughput: for debugging only); --splice=JSON sets
// ugate's `splice` configuration.
//
// ids: direct ugate-tjs-splice ugate-node-splice ugate-node-js ugate-tjs-js haproxy-splice
//      haproxy-copy nginx sniproxy socat ceiling iperf
//      http-direct http-ugate-tjs http-ugate-node http-nginx http-nginx-auto (HTTP routing, bench/http.mjs)
// txiki.js rows need UGATE_TJS=/path/to/tjs or tjs on PATH. Progress goes to stderr; the table
// goes to stdout and to bench/results/latest.md.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HTTP_IDS, httpRows, httpSettings, renderHttp } from './http.mjs';
import { PEERS, ugateConfig } from './peers.mjs';
import { RAISE_NOFILE, freePort, groupCpuSeconds, groupMemory, run, sleep, startGroup, systemDelta, systemSample, waitListening, why, startPeer } from './lib/proc.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);

const argv = process.argv.slice(2);
const option = (name) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const BUNDLE = resolve(option('bundle') ?? join(ROOT, 'dist', 'ugate.js'));
const QUICK = argv.includes('--quick');
const KEEP = argv.includes('--keep');
const ACCESS_LOG = argv.includes('--access-log');
// --splice='{"pipeSize":1048576}': ugate's `splice` settings, to compare pipe sizes and pools
const SPLICE = option('splice') ? JSON.parse(option('splice')) : undefined;
const ONLY = option('only')?.split(',').filter(Boolean);
const wanted = (id) => !ONLY || ONLY.includes(id);

// Durations: the timed transfers of one direction last about STREAM_SECS together.
const STREAM_SECS = QUICK ? 1 : 4;
const CONNS_SECS = QUICK ? 1.5 : 5;
const CONNS_WARMUP_SECS = QUICK ? 0.3 : 1;
const CONCURRENCY = 32;
const HOLD = 1000;
const IPERF_SECS = QUICK ? 2 : 5;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const log = (...a) => console.error('[bench]', ...a);

// ---------------------------------------------------------------------------------------------
// setup: peers installed, helpers compiled, backend running

async function has(bin) {
  return (await run(['sh', '-c', `command -v ${bin}`])).code === 0;
}

async function ensurePeers() {
  const bins = ['haproxy', 'nginx', 'sniproxy', 'socat', 'iperf3', 'wrk'];
  const missing = [];
  for (const b of bins) if (!(await has(b))) missing.push(b);
  if (!existsSync('/usr/lib/nginx/modules/ngx_stream_module.so')) missing.push('ngx_stream_module');
  if (missing.length === 0) return;
  log(`missing: ${missing.join(', ')}; installing with apt-get`);
  const pkgs = ['haproxy', 'nginx', 'libnginx-mod-stream', 'sniproxy', 'socat', 'iperf3', 'wrk'];
  // RUNLEVEL=1: packages install without starting their services (nginx would take port 80)
  const env = ['env', 'DEBIAN_FRONTEND=noninteractive', 'RUNLEVEL=1'];
  let r = await run([...env, 'apt-get', 'install', '-y', '-q', ...pkgs], { timeoutMs: 600000 });
  if (r.code !== 0) {
    await run([...env, 'apt-get', 'update', '-q'], { timeoutMs: 600000 });
    r = await run([...env, 'apt-get', 'install', '-y', '-q', ...pkgs], { timeoutMs: 600000 });
  }
  if (r.code !== 0) log(`apt-get failed (rows for missing peers will say so): ${r.stderr.trim().split('\n').slice(-1)[0]}`);
}

async function compile(dir) {
  for (const name of ['loadgen', 'ceiling']) {
    const r = await run(['cc', '-O2', '-Wall', '-pthread', '-o', join(dir, name), join(BENCH, `${name}.c`)]);
    if (r.code !== 0) throw new Error(`cc ${name}.c failed:\n${r.stderr}`);
  }
}

async function findTjs() {
  const candidate = process.env.UGATE_TJS || ((await has('tjs')) ? 'tjs' : null);
  if (!candidate) return null;
  const r = await run([candidate, '--version']);
  if (r.code !== 0) {
    log(`tjs at ${candidate} does not run: ${r.stderr.trim()}`);
    return null;
  }
  return candidate;
}

/** Returns null when `ugate check` accepts the file, else its complaint. */
async function ugateCheck(file) {
  const r = await run([process.execPath, BUNDLE, 'check', '-c', file]);
  return r.code === 0 ? null : (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' ');
}

// Does this build know "dataPlane"? Probe with "js", which needs no native shim.
async function probeDataPlane(dir) {
  const file = join(dir, 'probe.json');
  writeFileSync(file, JSON.stringify(ugateConfig({ port: 1, backend: 2, dataPlane: 'js' })));
  const err = await ugateCheck(file);
  if (!err) return { supported: true };
  if (/dataPlane/.test(err)) return { supported: false, reason: `ugate check: ${err.replace(/^ugate: \S+: /, '')}` };
  throw new Error(`ugate check rejects the bench config: ${err}`);
}

async function versions(tjs) {
  const first = async (cmd, re) => {
    const r = await run(cmd);
    const line = `${r.stdout}\n${r.stderr}`.split('\n').find((l) => re.test(l));
    return line ? line.match(re)[1] : 'n/a';
  };
  return {
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    cpu: `${cpus().length} × ${cpus()[0]?.model.trim()}`,
    node: process.version,
    tjs: tjs ? await first([tjs, '--version'], /(v?[\d.]+)/) : 'n/a',
    haproxy: await first(['haproxy', '-v'], /version (\S+)/),
    nginx: await first(['nginx', '-v'], /nginx\/(\S+)/),
    sniproxy: await first(['sniproxy', '-V'], /sniproxy (\S+)/),
    socat: await first(['socat', '-V'], /socat version (\S+)/),
    iperf3: await first(['iperf3', '-v'], /iperf (\S+)/),
    wrk: await first(['wrk', '-v'], /wrk (\S+)/),
    nofile: (await run(['sh', '-c', `${RAISE_NOFILE}; ulimit -n`])).stdout.trim(),
  };
}

// ---------------------------------------------------------------------------------------------
// measurements (all clients are bench/loadgen.c)

let LOADGEN;

async function loadgen(args, timeoutMs = 180000) {
  const r = await run([LOADGEN, ...args.map(String)], { timeoutMs });
  const line = r.stdout.trim().split('\n').pop();
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`loadgen ${args[0]}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
}

/**
 * Bulk transfer: a growing warm-up transfer sizes three timed ones that together last about
 * STREAM_SECS; the figure is their median (single streams on 2 cores vary with scheduling), the
 * CPU cost is over all three.
 */
async function throughput(port, up, pgid) {
  const dir = up ? ['--up'] : [];
  const what = up ? 'upload' : 'download';
  let size = 256 * MiB;
  let r;
  for (;;) {
    r = await loadgen(['stream', '--port', port, '--bytes', size, ...dir]);
    if (!r.ok) throw new Error(`${what} moved ${r.bytes} of ${size} bytes`);
    if (r.secs >= 0.4 || size >= 64 * GiB) break;
    size *= 8;
  }
  const bytes = Math.min(64 * GiB, Math.max(128 * MiB, Math.round(((r.bytes / r.secs) * STREAM_SECS) / 3 / MiB) * MiB));
  const cpu0 = pgid ? groupCpuSeconds(pgid) : 0;
  const rates = [];
  for (let i = 0; i < 3; i++) {
    r = await loadgen(['stream', '--port', port, '--bytes', bytes, ...dir]);
    if (!r.ok) throw new Error(`${what} moved ${r.bytes} of ${bytes} bytes`);
    rates.push(r.gbps);
  }
  await sleep(250); // let exited children (socat) be reaped into cutime/cstime
  const cpu = pgid ? groupCpuSeconds(pgid) - cpu0 : null;
  rates.sort((a, b) => a - b);
  return { gbps: rates[1], min: rates[0], max: rates[2], bytes, cpuPerGB: cpu === null ? null : cpu / ((3 * bytes) / 1e9) };
}

/** Opens HOLD forwarded connections, samples the proxy's memory while they are open, releases them. */
async function holdMemory(port, pgid) {
  const h = startGroup([LOADGEN, 'hold', '--port', String(port), '--n', String(HOLD)], { stdin: 'pipe' });
  try {
    const deadline = Date.now() + 70000;
    while (!h.stdout.includes('\n') && !h.exit && Date.now() < deadline) await sleep(50);
    let r;
    try {
      r = JSON.parse(h.stdout.trim().split('\n')[0]);
    } catch {
      throw new Error(`hold: ${why(h)}`);
    }
    if (!r.ok) throw new Error(`hold: ${r.held}/${HOLD} established, ${r.first_error}`);
    await sleep(500);
    return groupMemory(pgid);
  } finally {
    h.child.stdin.on('error', () => {});
    h.child.stdin.end();
    await Promise.race([h.exited, sleep(5000)]);
    await h.stop(1000);
  }
}

/** ugate's start-up line "data plane splice library=… pipe_size=65536" (or "js (configured)"). */
function reportedPlane(handle) {
  const m = /data plane (\w+)(.*)/.exec(handle.stderr);
  return m ? { name: m[1], text: `${m[1]}${m[2].replace(/library=\S+/, '').replace(/\s+/g, ' ').trimEnd()}` } : null;
}

async function measure(peer, ctx) {
  const row = { id: peer.id, label: peer.label, kind: peer.kind, runtime: peer.runtime, plane: peer.plane, notes: [] };
  let port = ctx.backend;
  let handle = null;
  if (peer.kind !== 'direct') {
    const missing = (peer.bins ?? []).filter((b) => !ctx.bins[b]).concat((peer.files ?? []).filter((f) => !existsSync(f)));
    const started = await startPeer(peer, ctx, row, missing);
    if (started.skip) return { ...row, skip: started.skip };
    ({ port, handle } = started);
    if (peer.kind === 'ugate') {
      // Trust what ugate says it runs, not what was asked: a splice row must not measure JS.
      for (let i = 0; i < 50 && !reportedPlane(handle); i++) await sleep(20); // stderr may lag the listen
      const plane = reportedPlane(handle);
      if (plane) row.notes.push(`ugate: data plane ${plane.text}`);
      if (peer.plane === 'splice' && ctx.dataPlane.supported && plane?.name !== 'splice') {
        await handle.stop();
        return { ...row, skip: `ugate does not report the splice data plane: ${plane?.text ?? why(handle)}` };
      }
    }
  }
  const pgid = handle?.pgid;
  const alive = () => {
    if (handle?.exit) throw new Error(`${peer.id} exited: ${why(handle)}`);
  };
  // Each stage on its own: a failure costs that figure, not the row.
  const stage = async (name, fn) => {
    try {
      alive();
      await fn();
      alive();
    } catch (e) {
      log(`${peer.id}: ${name}: ${e.message}`);
      row.notes.push(`${name} failed: ${e.message.slice(0, 200)}`);
    }
  };
  try {
    await stage('memory', async () => {
      const w = await loadgen(['conns', '--port', port, '--conc', 1, '--count', 1]);
      if (!w.ok) throw new Error(`warm-up connection: ${w.first_error}`);
      await sleep(300);
      if (!pgid) return;
      const idle = groupMemory(pgid);
      row.rssIdle = idle.rss;
      row.shape = `${idle.procs} proc${idle.procs > 1 ? 's' : ''}/${idle.threads} thr`;
      if (peer.describe) row.notes.push(peer.describe(idle));
      const held = await holdMemory(port, pgid);
      row.rssHold = held.rss;
      if (held.procs > 1) row.notes.push(`PSS idle/1k ${mb(idle.pss)}/${mb(held.pss)} MB`);
      await sleep(500); // teardown of the held connections
    });
    log(`${peer.id}: download`);
    await stage('download', async () => {
      const t = await throughput(port, false, pgid);
      row.down = t.gbps;
      row.cpuDown = t.cpuPerGB;
      row.downBytes = t.bytes;
      row.spread = `↓ ${t.min.toFixed(1)}–${t.max.toFixed(1)}`;
    });
    log(`${peer.id}: upload`);
    await stage('upload', async () => {
      const t = await throughput(port, true, pgid);
      row.up = t.gbps;
      row.cpuUp = t.cpuPerGB;
      row.spread = `${row.spread ?? ''} ↑ ${t.min.toFixed(1)}–${t.max.toFixed(1)}`.trim();
    });
    log(`${peer.id}: short connections`);
    await stage('short connections', async () => {
      const w = await loadgen(['conns', '--port', port, '--conc', CONCURRENCY, '--secs', CONNS_WARMUP_SECS]);
      if (w.errors || w.unfinished) row.notes.push(`conns warm-up: ${w.errors} errors, ${w.unfinished} unfinished (${w.first_error})`);
      const c = await loadgen(['conns', '--port', port, '--conc', CONCURRENCY, '--secs', CONNS_SECS]);
      if (!c.ok) throw new Error(c.first_error || 'no connection completed');
      Object.assign(row, { cps: c.cps, p50: c.p50_ms, p99: c.p99_ms });
      if (c.errors || c.unfinished) row.notes.push(`conns: ${c.errors} errors, ${c.unfinished} unfinished (${c.first_error})`);
    });
  } finally {
    await handle?.stop();
  }
  if (handle && peer.kind === 'ugate') {
    // ugate's exit summary; a rejected or failed handshake here means a bench hello went wrong
    // (one rejection is expected: waitListening's probe connects and closes without a hello)
    const m = /stopped .*rejected=(\d+) connect_failed=(\d+) handshake_failed=(\d+)/.exec(handle.stderr);
    const [rejected, connectFailed, handshakeFailed] = m ? [Number(m[1]) - 1, Number(m[2]), Number(m[3])] : [0, 0, 0];
    if (rejected > 0 || connectFailed > 0 || handshakeFailed > 0)
      row.notes.push(`ugate: ${rejected} bench connections rejected, ${connectFailed} connect failures, ${handshakeFailed} failed handshakes`);
  }
  return row;
}

async function iperfRows(ctx) {
  const rows = [];
  const ip = await freePort();
  const srv = startGroup(['iperf3', '-s', '-B', '127.0.0.1', '-p', String(ip)], { cwd: ctx.dir });
  try {
    await waitListening(ip, srv);
    await sleep(200);
    const client = async (port) => {
      const t0 = Date.now();
      const r = await run(['iperf3', '-c', '127.0.0.1', '-p', String(port), '-t', String(IPERF_SECS), '-J'], { timeoutMs: (IPERF_SECS + 30) * 1000 });
      const wall = (Date.now() - t0) / 1000;
      let j;
      try {
        j = JSON.parse(r.stdout);
      } catch {
        throw new Error(`iperf3: ${r.stderr.trim() || r.stdout.trim().slice(0, 200)}`);
      }
      if (j.error) throw new Error(`iperf3: ${j.error}`);
      return { gbps: j.end.sum_received.bits_per_second / 1e9, bytes: j.end.sum_received.bytes, wall };
    };
    {
      const row = { id: 'iperf-direct', label: 'iperf3 direct', kind: 'iperf', notes: [`iperf3 -t ${IPERF_SECS}, client → server`] };
      try {
        row.up = (await client(ip)).gbps;
      } catch (e) {
        row.skip = e.message;
      }
      rows.push(row);
    }
    for (const runtime of ['node', 'tjs']) {
      const plane = ctx.dataPlane.supported ? 'splice' : null;
      const row = {
        id: `iperf-ugate-${runtime}`,
        label: `iperf3 via ugate ${plane ?? 'JS pump'} on ${runtime === 'tjs' ? 'txiki.js' : 'Node'}`,
        kind: 'iperf',
        notes: [`sni listener, default forward${plane ? '' : '; no dataPlane option in this build'}`],
      };
      rows.push(row);
      if (runtime === 'tjs' && !ctx.tjs) {
        row.skip = 'no txiki.js: set UGATE_TJS=/path/to/tjs or put tjs on PATH';
        continue;
      }
      // iperf3 speaks first with a non-TLS cookie: ugate must route it as opaque to the default.
      // If that waits out the sniff deadline, the run is repeated with a 200 ms deadline.
      for (const sniffTimeout of [null, '200ms']) {
        const port = await freePort();
        const file = join(ctx.dir, `iperf-${runtime}.json`);
        writeFileSync(file, JSON.stringify(ugateConfig({ port, backend: ip, defaultForward: ip, dataPlane: plane ?? undefined, sniffTimeout })));
        const check = await ugateCheck(file);
        if (check) {
          row.skip = `ugate check rejected the config: ${check}`;
          break;
        }
        const argv = runtime === 'tjs' ? [ctx.tjs, 'run', BUNDLE, 'run', '-c', file] : [process.execPath, BUNDLE, 'run', '-c', file];
        const h = startGroup(argv, { cwd: ctx.dir });
        try {
          await waitListening(port, h);
          const reported = reportedPlane(h);
          if (plane && reported?.name !== plane) throw new Error(`ugate does not report the ${plane} data plane: ${reported?.text ?? why(h)}`);
          if (reported && !row.notes.some((n) => n.startsWith('ugate: data plane'))) row.notes.push(`ugate: data plane ${reported.text}`);
          const cpu0 = groupCpuSeconds(h.pgid);
          const r = await client(port);
          const cpu = groupCpuSeconds(h.pgid) - cpu0;
          if (r.wall > IPERF_SECS + 3 && !sniffTimeout) {
            row.notes.push(`stalled (${r.wall.toFixed(1)} s for a ${IPERF_SECS} s test): retried with timeouts.sniff=200ms`);
            continue;
          }
          if (sniffTimeout) row.notes.push(`timeouts.sniff=${sniffTimeout}`);
          row.up = r.gbps;
          row.cpuUp = cpu / (r.bytes / 1e9);
          delete row.skip;
          break;
        } catch (e) {
          row.skip = e.message;
          if (h.exit) break; // a start failure will not improve with another sniff deadline
          if (!sniffTimeout) row.notes.push(`failed (${e.message.slice(0, 120)}): retried with timeouts.sniff=200ms`);
        } finally {
          await h.stop();
        }
      }
    }
  } catch (e) {
    rows.push({ id: 'iperf', label: 'iperf3', kind: 'iperf', notes: [], skip: e.message });
  } finally {
    await srv.stop();
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// the table

const mb = (bytes) => (bytes / 1e6).toFixed(1);
const fix = (x, d) => (x === undefined || x === null || Number.isNaN(x) ? '—' : x.toFixed(d));

// Per column: which way is better, for "best peer" and the ratios.
const METRICS = {
  down: { better: 'max' },
  up: { better: 'max' },
  cpuDown: { better: 'min' },
  cpuUp: { better: 'min' },
  cps: { better: 'max' },
  p50: { better: 'min' },
  p99: { better: 'min' },
  rssIdle: { better: 'min' },
  rssHold: { better: 'min' },
};

function bestPeer(rows) {
  const best = {};
  for (const [key, { better }] of Object.entries(METRICS)) {
    for (const r of rows) {
      if (r.kind !== 'peer' || r[key] === undefined || r[key] === null) continue;
      if (!best[key] || (better === 'max' ? r[key] > best[key].value : r[key] < best[key].value)) best[key] = { value: r[key], id: r.id };
    }
  }
  return best;
}

const ratio = (a, b) => (a === undefined || a === null || !b ? null : a / b);
const pair = (a, b) => (a === null && b === null ? '—' : `${fix(a, 2)} / ${fix(b, 2)}`);

/** The goals for ugate on txiki.js, judged on its splice row (or the JS row when splice is absent). */
function goals(row, rows) {
  const hap = rows.find((r) => r.id === 'haproxy-splice');
  const ceil = rows.find((r) => r.id === 'ceiling');
  const verdict = (ok) => (ok === null ? 'n/a' : ok ? 'met' : 'not met');
  const g = [];
  const rd = ratio(row.down, hap?.down);
  g.push(`↓ ${fix(rd, 2)}× HAProxy-splice (≥ 1.15) ${verdict(rd === null ? null : rd >= 1.15)}`);
  const rc = ratio(row.down, ceil?.down);
  g.push(`↓ ${fix(rc, 2)}× ceiling (≥ 0.9) ${verdict(rc === null ? null : rc >= 0.9)}`);
  const rcpu = ratio(row.cpuDown, hap?.cpuDown);
  g.push(`CPU/GB ${fix(rcpu, 2)}× HAProxy-splice (≤ 0.6) ${verdict(rcpu === null ? null : rcpu <= 0.6)}`);
  const rcps = ratio(row.cps, hap?.cps);
  const rp99 = ratio(row.p99, hap?.p99);
  g.push(`conn/s ${fix(rcps, 2)}× HAProxy (≥ 1) ${verdict(rcps === null ? null : rcps >= 1)}, p99 ${fix(rp99, 2)}× (≤ 1) ${verdict(rp99 === null ? null : rp99 <= 1)}`);
  g.push(`RSS with 1k conns ${row.rssHold ? mb(row.rssHold) : '—'} MB (≤ 12) ${verdict(row.rssHold ? row.rssHold <= 12e6 : null)}`);
  return `**goals**${row.plane === 'js' ? ' (judged on the JS pump: splice row not measured)' : ''}: ${g.join('; ')}`;
}

function render(rows, meta) {
  const best = bestPeer(rows);
  const ceil = rows.find((r) => r.id === 'ceiling');
  const goalRow = rows.find((r) => r.id === 'ugate-tjs-splice' && !r.skip) ?? rows.find((r) => r.id === 'ugate-tjs-js' && !r.skip);
  const head = [
    'forwarder',
    '↓ Gbit/s',
    '↑ Gbit/s',
    'CPU s/GB ↓',
    'CPU s/GB ↑',
    'conn/s',
    'p50 ms',
    'p99 ms',
    'RSS idle MB',
    `RSS ${HOLD / 1000}k conns MB`,
    '↓ ×best / ×C',
    'CPU ↓ ×best / ×C',
    'conn/s ×best / ×C',
    'notes',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 || i === head.length - 1 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    if (r.skip) {
      lines.push(`| ${r.label} |${' — |'.repeat(head.length - 2)} ${r.skip.replaceAll('|', '/')} |`);
      continue;
    }
    const noRatios = r.kind === 'direct' || r.kind === 'iperf';
    const notes = [r.shape, r.spread && `runs ${r.spread}`, ...r.notes].filter(Boolean);
    if (r === goalRow) notes.push(goals(r, rows));
    lines.push(
      `| ${r.label} | ${fix(r.down, 1)} | ${fix(r.up, 1)} | ${fix(r.cpuDown, 3)} | ${fix(r.cpuUp, 3)} | ${fix(r.cps, 0)} | ${fix(r.p50, 2)} | ${fix(r.p99, 2)} | ${r.rssIdle ? mb(r.rssIdle) : '—'} | ${r.rssHold ? mb(r.rssHold) : '—'} | ${
        noRatios ? '' : pair(ratio(r.down, best.down?.value), ratio(r.down, ceil?.down))
      } | ${noRatios ? '' : pair(ratio(r.cpuDown, best.cpuDown?.value), ratio(r.cpuDown, ceil?.cpuDown))} | ${
        noRatios ? '' : pair(ratio(r.cps, best.cps?.value), ratio(r.cps, ceil?.cps))
      } | ${notes.join('; ').replaceAll('|', '/')} |`,
    );
    if (r.id === 'ceiling') {
      // the reference row: for each column, the best of HAProxy, nginx, sniproxy and socat
      const b = (k, d, f = (v) => fix(v, d)) => (best[k] ? `${f(best[k].value)} (${best[k].id})` : '—');
      lines.push(
        `| *best peer per column* | ${b('down', 1)} | ${b('up', 1)} | ${b('cpuDown', 3)} | ${b('cpuUp', 3)} | ${b('cps', 0)} | ${b('p50', 2)} | ${b('p99', 2)} | ${b('rssIdle', 1, mb)} | ${b('rssHold', 1, mb)} | | | | the "best" in the ratio columns |`,
      );
    }
  }
  const v = meta.versions;
  const machine = `Linux ${v.kernel}, ${v.cpu}; node ${v.node}, txiki.js ${v.tjs}, HAProxy ${v.haproxy}, nginx ${v.nginx}, sniproxy ${v.sniproxy}, socat ${v.socat}, iperf3 ${v.iperf3}, wrk ${v.wrk}; forwarders run with ulimit -n ${v.nofile}; ${meta.load}.`;
  const l4 = !rows.length ? [] : [
    `### L4 forwarding`,
    '',
    `All on 127.0.0.1: bench client → forwarder → bench backend (bench/loadgen.c, splice at both ends). ` +
      `Every connection opens with a 517-byte TLS ClientHello for bench.test. ↓: backend streams after the hello, ↑: client streams; ` +
      `median of 3 transfers sized to ~${STREAM_SECS} s together (↓ ${meta.downSize} each; "runs" in the notes: min–max). CPU s/GB: utime+stime of all the forwarder's processes and threads per 10⁹ bytes. ` +
      `conn/s, p50, p99: ${CONCURRENCY} concurrent connections for ${CONNS_SECS} s, each hello → 64-byte reply → close, latency from connect to the last byte. ` +
      `RSS: summed VmRSS of the forwarder's processes, idle after one connection and with ${HOLD} forwarded connections open. ` +
      `×best = this row ÷ the best of HAProxy/nginx/sniproxy/socat in that column, ×C = ÷ the C ceiling (for CPU, lower is better).`,
    '',
    ...lines,
    '',
  ];
  return [`## ugate benchmark — ${meta.date}${QUICK ? ' (--quick)' : ''}`, '', machine, '', ...l4, ...meta.http].join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const ids = [...PEERS.map((p) => p.id), 'iperf', ...HTTP_IDS];
  const badFlags = argv.filter((a) => !/^--(quick|keep|access-log|only=.*|bundle=.*|splice=.*)$/.test(a));
  if (badFlags.length) throw new Error(`unknown argument ${badFlags.join(' ')}; see the head of bench/run.mjs`);
  const unknown = (ONLY ?? []).filter((id) => !ids.includes(id));
  if (unknown.length) throw new Error(`--only: unknown ${unknown.join(', ')}; known: ${ids.join(' ')}`);
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} missing: run \`node build.mjs\` first (npm run bench does)`);
  await ensurePeers();
  const dir = mkdtempSync(join(tmpdir(), 'ugate-bench-'));
  if (!KEEP) process.on('exit', () => rmSync(dir, { recursive: true, force: true })); // also on Ctrl-C
  let backend;
  // the L4 rows need the bench backend; the HTTP rows bring their own origins
  const l4 = PEERS.some((p) => wanted(p.id)) || wanted('iperf');
  try {
    if (l4) await compile(dir);
    LOADGEN = join(dir, 'loadgen');
    const tjs = await findTjs();
    const dataPlane = l4 ? await probeDataPlane(dir) : { supported: false, reason: 'not probed: no L4 row' };
    log(`tjs: ${tjs ?? 'none'}${l4 ? `; dataPlane option: ${dataPlane.supported ? 'yes' : `no (${dataPlane.reason})`}` : ''}`);
    const bins = {};
    for (const b of ['haproxy', 'nginx', 'sniproxy', 'socat', 'iperf3', 'wrk']) bins[b] = await has(b);

    let backendPort = null;
    if (l4) {
      backend = startGroup([LOADGEN, 'server'], { cwd: dir });
      while (!/port \d+/.test(backend.stdout) && !backend.exit) await sleep(20);
      backendPort = Number(/port (\d+)/.exec(backend.stdout)?.[1]);
      if (!backendPort) throw new Error(`backend did not start: ${why(backend)}`);
    }

    const ctx = {
      dir,
      backend: backendPort,
      bundle: BUNDLE,
      tjs,
      dataPlane,
      bins,
      run,
      ugateCheck,
      accessLog: ACCESS_LOG,
      splice: SPLICE,
      bin: (name) => join(dir, name),
    };
    // Other work on the machine, and a hypervisor taking CPU away, skew every figure: measure
    // both over the run and say so in the output.
    const sys0 = systemSample();
    const t0 = Date.now();
    const rows = [];
    for (const peer of PEERS) {
      if (!wanted(peer.id)) continue;
      log(`${peer.id}: start`);
      const row = await measure(peer, ctx);
      if (row.skip) log(`${peer.id}: ${row.skip}`);
      rows.push(row);
    }
    if (wanted('iperf')) {
      if (bins.iperf3) {
        log('iperf3');
        rows.push(...(await iperfRows(ctx)));
      } else {
        rows.push({ id: 'iperf', label: 'iperf3', kind: 'iperf', notes: [], skip: 'not installed: iperf3' });
      }
    }
    const http = await httpRows({ ...ctx, settings: httpSettings(QUICK), wanted, log });
    const sizes = rows.filter((r) => r.downBytes).map((r) => r.downBytes / GiB);
    const downSize = sizes.length ? `${Math.min(...sizes).toFixed(2)}–${Math.max(...sizes).toFixed(2)} GiB` : 'n/a';
    await backend?.stop(); // reaped, so its CPU time counts as the bench's own
    const { otherCores, steal } = systemDelta(sys0, systemSample(), cpus().length);
    const noisy = otherCores > 0.1 || steal > 0.05;
    const load = `during the run other processes used ${otherCores.toFixed(2)} cores and the hypervisor stole ${(steal * 100).toFixed(1)} % of CPU time${noisy ? ' (**figures are noisy**)' : ''}`;
    if (noisy) log(load);
    const table = render(rows, { date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), versions: await versions(tjs), downSize, load, http: renderHttp(http, httpSettings(QUICK)) });
    process.stdout.write(`${table}\n`);
    mkdirSync(join(BENCH, 'results'), { recursive: true });
    writeFileSync(join(BENCH, 'results', 'latest.md'), table);
    log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s; table also in bench/results/latest.md`);
  } finally {
    await backend?.stop();
    if (KEEP) log(`kept ${dir}`);
  }
}

main().catch((e) => {
  console.error(`[bench] ${e instanceof Error ? e.message : e}`);
  process.exitCode = 1;
});
