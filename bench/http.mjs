// The HTTP routing benchmark: wrk through ugate's per-request HTTP routing (Gateway API
// manifests) and through nginx as a reverse proxy with the same route table (20 hostnames,
// 100 rules, bench/http-routes.mjs), to the same origins (one nginx, four servers), with
// keep-alive and with `Connection: close`. Rows: http-direct (wrk straight to one origin: the
// ceiling the proxies are measured under), http-ugate-tjs, http-ugate-node, http-nginx
// (worker_processes 1: like for like with single-threaded ugate), http-nginx-auto.
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { ORIGINS, benchRequests, nginxProxyConf, originConf, originName, routeTable, siteYaml, wrkScript } from './http-routes.mjs';
import { freePort, groupCpuSeconds, groupMemory, run, sleep, startGroup, waitListening, why, startPeer } from './lib/proc.mjs';

export const HTTP_IDS = ['http-direct', 'http-ugate-tjs', 'http-ugate-node', 'http-nginx', 'http-nginx-auto'];

const THREADS = 2;
const CONNECTIONS = 64;
/** The origins' nginx: one worker, so it takes at most one of the cores from the proxy under test. */
const ORIGIN_WORKERS = 1;

/** Everything a run needs to know about the HTTP section, for the header above its table. */
export function httpSettings(quick) {
  return { secs: quick ? 2 : 5, verifySecs: quick ? 1 : 2, threads: THREADS, connections: CONNECTIONS, originWorkers: ORIGIN_WORKERS };
}

// ---------------------------------------------------------------------------------------------
// the peers: each writes its configuration and returns the command that runs it

function ugatePeer(runtime) {
  return {
    id: `http-ugate-${runtime}`,
    label: `ugate on ${runtime === 'tjs' ? 'txiki.js' : 'Node'}`,
    kind: 'ugate',
    async prepare(ctx) {
      if (runtime === 'tjs' && !ctx.tjs) return { skip: 'no txiki.js: set UGATE_TJS=/path/to/tjs or put tjs on PATH' };
      const site = join(ctx.dir, `${this.id}-site.yaml`);
      writeFileSync(site, siteYaml(ctx.table, { port: ctx.port, origins: ctx.origins }));
      // the access log off, unless --access-log; the site file stays what a user would write
      const settings = join(ctx.dir, `${this.id}-settings.json`);
      writeFileSync(settings, `${JSON.stringify({ accessLog: ctx.accessLog })}\n`);
      const files = ['-c', site, '-c', settings];
      const check = await run([process.execPath, ctx.bundle, 'check', ...files]);
      if (check.code !== 0) return { skip: `ugate check rejected the config: ${(check.stderr.trim() || check.stdout.trim()).split('\n').slice(-3).join(' ')}` };
      const argv = runtime === 'tjs' ? [ctx.tjs, 'run', ctx.bundle, 'run', ...files] : [process.execPath, ctx.bundle, 'run', ...files];
      return { argv, notes: [`accessLog ${ctx.accessLog ? 'on' : 'off'}`] };
    },
  };
}

function nginxPeer(workers) {
  const id = workers === 1 ? 'http-nginx' : 'http-nginx-auto';
  return {
    id,
    label: `nginx reverse proxy, worker_processes ${workers}`,
    kind: 'peer',
    bins: ['nginx'],
    async prepare(ctx) {
      const file = join(ctx.dir, `${id}.conf`);
      writeFileSync(file, nginxProxyConf(ctx.table, { port: ctx.port, origins: ctx.origins, workers, dir: ctx.dir, tag: id }));
      const args = ['-p', ctx.dir, '-e', 'stderr', '-c', file];
      const check = await run(['nginx', '-t', ...args]);
      if (check.code !== 0) return { skip: `nginx -t: ${check.stderr.trim().split('\n').slice(-1)[0]}` };
      return { argv: ['nginx', ...args], notes: ['upstream keepalive 32, proxy_http_version 1.1, access_log off'] };
    },
  };
}

const direct = { id: 'http-direct', label: 'direct to one origin (no proxy)', kind: 'direct' };

const HTTP_PEERS = [direct, ugatePeer('tjs'), ugatePeer('node'), nginxPeer(1), nginxPeer('auto')];

// ---------------------------------------------------------------------------------------------
// measurements

/** One request with node:http; resolves { status, headers } or { error }. */
function fetchOnce(agent, port, req) {
  return new Promise((resolve) => {
    const r = http.request({ host: '127.0.0.1', port, method: req.method, path: req.path, headers: { host: req.host, ...req.headers }, agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
    });
    r.on('timeout', () => r.destroy(new Error('timeout after 5 s')));
    r.on('error', (e) => resolve({ error: e.message }));
    r.end(req.body ?? undefined);
  });
}

/** Connections the origins have accepted so far (nginx stub_status), or null. */
async function originAccepts(statusPort) {
  const agent = new http.Agent({ keepAlive: false });
  const res = await new Promise((resolve) => {
    const r = http.get({ host: '127.0.0.1', port: statusPort, path: '/', agent, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', () => resolve(''));
  });
  // "server accepts handled requests\n 12 12 34"
  const m = /accepts handled requests\s+(\d+)/.exec(res);
  return m ? Number(m[1]) - 1 : null; // less this status request's own connection
}

const describeRequest = (req) => `${req.method} http://${req.host}${req.path}${Object.entries(req.headers).filter(([k]) => k !== 'X-Bench-Expect').map(([k, v]) => ` [${k}: ${v}]`).join('')}`;

/**
 * Every request of the wrk script once, over one keep-alive connection: each must get 200 from
 * the intended origin with the intended rule's X-Bench-Rule (direct: 200 from origin o1).
 * Returns the failures as text, at most `max`, with their count.
 */
async function checkRouting(port, requests, isDirect, max = 3) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const failures = [];
  let count = 0;
  try {
    for (const req of requests) {
      const res = await fetchOnce(agent, port, req);
      const wantRule = isDirect ? undefined : req.rule;
      const wantOrigin = isDirect ? originName(0) : req.origin;
      let problem = null;
      if (res.error) problem = res.error;
      else if (res.status !== 200) problem = `status ${res.status}`;
      else if (res.headers['x-origin'] !== wantOrigin || res.headers['x-bench-rule'] !== wantRule)
        problem = `origin ${res.headers['x-origin'] ?? '-'} rule ${res.headers['x-bench-rule'] ?? '-'}, expected ${wantOrigin} ${wantRule ?? '-'}`;
      if (problem) {
        count++;
        if (failures.length < max) failures.push(`${describeRequest(req)} → ${problem}`);
      }
    }
  } finally {
    agent.destroy();
  }
  return { count, failures };
}

/** wrk with the bench script; resolves the script's BENCH line. */
async function wrk(ctx, port, { secs, close = false, verify = null }) {
  const argv = ['wrk', '-t', String(THREADS), '-c', String(CONNECTIONS), '-d', `${secs}s`, '--latency', '-s', ctx.script];
  if (close) argv.push('-H', 'Connection: close');
  argv.push(`http://127.0.0.1:${port}/`);
  const env = verify ? ['env', `BENCH_VERIFY=${verify}`] : [];
  const r = await run([...env, ...argv], { timeoutMs: (secs + 30) * 1000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('BENCH '));
  if (!line) throw new Error(`wrk: ${(r.stderr.trim() || r.stdout.trim()).split('\n').slice(-2).join(' ') || `exit ${r.code}`}`);
  const j = JSON.parse(line.slice(6));
  j.errors = j.connect + j.read + j.write + j.status + j.timeout;
  j.rps = j.requests / (j.duration_us / 1e6);
  j.errorText = ['connect', 'read', 'write', 'status', 'timeout'].filter((k) => j[k]).map((k) => `${j[k]} ${k === 'status' ? 'non-2xx/3xx' : k}`).join(', ');
  return j;
}

async function measure(peer, ctx) {
  const row = { id: peer.id, label: peer.label, kind: peer.kind, notes: [] };
  const isDirect = peer.kind === 'direct';
  let port = ctx.origins[0];
  let handle = null;
  if (!isDirect) {
    const started = await startPeer(peer, ctx, row, (peer.bins ?? []).filter((b) => !ctx.bins[b]));
    if (started.skip) return { ...row, skip: started.skip };
    ({ port, handle } = started);
  }
  const alive = () => {
    if (handle?.exit) throw new Error(`${peer.id} exited: ${why(handle)}`);
  };
  try {
    // 1. every request once, by node:http: the right rule to the right origin, or no figures
    const check = await checkRouting(port, ctx.requests, isDirect);
    alive();
    if (check.count) {
      return { ...row, skip: `routing check failed for ${check.count} of ${ctx.requests.length} requests, e.g. ${check.failures.join('; ')}` };
    }
    // 2. wrk with every response checked (rule and origin), both connection modes; also the warm-up
    for (const close of [false, true]) {
      const v = await wrk(ctx, port, { secs: ctx.settings.verifySecs, close, verify: isDirect ? 'status' : 'rule' });
      alive();
      if (v.bad || v.errors || !v.checked) {
        row.invalid = true;
        row.notes.push(`checked run${close ? ' (Connection: close)' : ''}: ${v.bad} of ${v.checked} responses wrong${v.first_bad ? ` (first: ${v.first_bad})` : ''}${v.errors ? `, ${v.errorText}` : ''}`);
      }
    }
    // 3. the timed runs, responses unchecked (the check costs wrk CPU): status and socket errors count
    for (const close of [false, true]) {
      ctx.log(`${peer.id}: ${close ? 'Connection: close' : 'keep-alive'}`);
      const cpu0 = handle ? groupCpuSeconds(handle.pgid) : 0;
      const origin0 = groupCpuSeconds(ctx.origin.pgid);
      const accepts0 = await originAccepts(ctx.statusPort);
      const t0 = Date.now();
      const pending = wrk(ctx, port, { secs: ctx.settings.secs, close });
      let mem = null;
      if (handle && !close) {
        await sleep((ctx.settings.secs * 1000) / 2);
        mem = groupMemory(handle.pgid);
      }
      const r = await pending;
      const wall = (Date.now() - t0) / 1000;
      alive();
      const k = close ? 'close' : 'ka';
      row[k] = { rps: r.rps, p50: r.p50_us / 1000, p99: r.p99_us / 1000, errors: r.errors };
      if (handle) {
        const cpu = groupCpuSeconds(handle.pgid) - cpu0;
        row[k].cores = cpu / wall;
        row[k].usPerReq = r.requests ? (cpu / r.requests) * 1e6 : null;
      }
      row[k].originCores = (groupCpuSeconds(ctx.origin.pgid) - origin0) / wall;
      const accepts1 = await originAccepts(ctx.statusPort);
      if (accepts0 !== null && accepts1 !== null) row[k].upstreamConns = accepts1 - accepts0;
      row[k].requests = r.requests;
      if (mem) {
        row.rss = mem.rss;
        row.shape = `${mem.procs} proc${mem.procs > 1 ? 's' : ''}/${mem.threads} thr`;
      }
      if (r.errors) {
        row.invalid = true;
        row.notes.push(`${close ? 'Connection: close' : 'keep-alive'}: ${r.errorText} of ${r.requests}`);
      }
    }
    row.notes.push(`origin used ${fix(row.ka?.originCores, 2)} / ${fix(row.close?.originCores, 2)} cores`);
    const perK = (m) => (m?.upstreamConns === undefined || !m.requests ? '—' : ((m.upstreamConns / m.requests) * 1000).toFixed(m.upstreamConns > m.requests / 10 ? 0 : 1));
    if (!isDirect) row.notes.push(`upstream connections opened per 1000 requests ${perK(row.ka)} / ${perK(row.close)}`);
  } catch (e) {
    ctx.log(`${peer.id}: ${e.message}`);
    row.invalid = true;
    row.notes.push(`failed: ${e.message.slice(0, 300)}`);
  } finally {
    await handle?.stop();
  }
  return row;
}

/** Starts the origins, measures every wanted row, stops the origins. */
export async function httpRows(ctx) {
  const rows = [];
  const wantedPeers = HTTP_PEERS.filter((p) => ctx.wanted(p.id));
  if (!wantedPeers.length) return rows;
  if (!ctx.bins.nginx || !ctx.bins.wrk) {
    const missing = ['nginx', 'wrk'].filter((b) => !ctx.bins[b]).join(', ');
    return wantedPeers.map((p) => ({ id: p.id, label: p.label, kind: p.kind, notes: [], skip: `not installed: ${missing}` }));
  }
  const table = routeTable();
  const requests = benchRequests(table);
  const script = join(ctx.dir, 'http-routes.lua');
  writeFileSync(script, wrkScript(requests));
  const ports = [];
  while (ports.length < ORIGINS + 1) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const [statusPort, ...origins] = ports;
  const file = join(ctx.dir, 'http-origin.conf');
  writeFileSync(file, originConf({ origins, statusPort, workers: ORIGIN_WORKERS, dir: ctx.dir, tag: 'http-origin' }));
  const origin = startGroup(['nginx', '-p', ctx.dir, '-e', 'stderr', '-c', file], { cwd: ctx.dir, logFile: join(ctx.dir, 'http-origin.log') });
  try {
    for (const p of ports) await waitListening(p, origin);
    const hctx = { ...ctx, table, requests, script, origins, origin, statusPort };
    for (const peer of wantedPeers) {
      ctx.log(`${peer.id}: start`);
      const row = await measure(peer, hctx);
      if (row.skip) ctx.log(`${peer.id}: ${row.skip}`);
      rows.push(row);
    }
  } catch (e) {
    rows.push({ id: 'http', label: 'HTTP routing', kind: 'direct', notes: [], skip: e.message });
  } finally {
    await origin.stop();
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// the table

const fix = (x, d) => (x === undefined || x === null || Number.isNaN(x) ? '—' : x.toFixed(d));
const ratio = (a, b) => (a === undefined || a === null || !b ? null : a / b);

export function renderHttp(rows, settings) {
  if (!rows.length) return [];
  const table = routeTable();
  const rules = table.hosts.flatMap((h) => h.rules);
  const get = (id) => rows.find((r) => r.id === id && !r.skip && !r.invalid && r.ka && r.close);
  const nginx1 = get('http-nginx');
  const nginxAuto = get('http-nginx-auto');
  const head = [
    'HTTP routing',
    'keep-alive req/s',
    'p50 ms',
    'p99 ms',
    'close req/s',
    'p50 ms',
    'p99 ms',
    'CPU cores ka / close',
    'CPU µs/req ka / close',
    'RSS MB',
    'errors',
    '×nginx 1w ka / close',
    'notes',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 || i === head.length - 1 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    if (r.skip) {
      lines.push(`| ${r.label} |${' — |'.repeat(head.length - 2)} ${r.skip.replaceAll('|', '/')} |`);
      continue;
    }
    const errors = (r.ka?.errors ?? 0) + (r.close?.errors ?? 0);
    const rel = r.kind === 'direct' || r.invalid ? '' : `${fix(ratio(r.ka?.rps, nginx1?.ka.rps), 2)} / ${fix(ratio(r.close?.rps, nginx1?.close.rps), 2)}`;
    const notes = [r.invalid ? '**not valid: errors or misrouted responses**' : null, r.shape, ...r.notes].filter(Boolean);
    lines.push(
      `| ${r.label} | ${fix(r.ka?.rps, 0)} | ${fix(r.ka?.p50, 2)} | ${fix(r.ka?.p99, 2)} | ${fix(r.close?.rps, 0)} | ${fix(r.close?.p50, 2)} | ${fix(r.close?.p99, 2)} | ${
        r.kind === 'direct' ? '' : `${fix(r.ka?.cores, 2)} / ${fix(r.close?.cores, 2)}`
      } | ${r.kind === 'direct' ? '' : `${fix(r.ka?.usPerReq, 0)} / ${fix(r.close?.usPerReq, 0)}`} | ${r.rss ? (r.rss / 1e6).toFixed(1) : '—'} | ${errors} | ${rel} | ${notes.join('; ').replaceAll('|', '/')} |`,
    );
  }
  // the ratios and the goal, for ugate on each runtime
  const summary = [];
  for (const [id, name] of [
    ['http-ugate-tjs', 'txiki.js'],
    ['http-ugate-node', 'Node'],
  ]) {
    const u = get(id);
    if (!u) continue;
    const vs = (n, k) => (n ? `${fix(ratio(u[k].rps, n[k].rps), 2)}×` : 'n/a');
    const cost = (k) => (nginx1 ? `${fix(ratio(u[k].usPerReq, nginx1[k].usPerReq), 1)}×` : 'n/a');
    summary.push(
      `- ugate on ${name}: req/s keep-alive ${vs(nginx1, 'ka')} nginx 1 worker, ${vs(nginxAuto, 'ka')} nginx auto; ` +
        `Connection: close ${vs(nginx1, 'close')} nginx 1 worker, ${vs(nginxAuto, 'close')} nginx auto; ` +
        `CPU per request ${cost('ka')} / ${cost('close')} nginx 1 worker's (keep-alive / close)`,
    );
  }
  const tjs = get('http-ugate-tjs');
  const goal = tjs && nginx1 ? ratio(tjs.ka.rps, nginx1.ka.rps) : null;
  const goalAuto = tjs && nginxAuto ? ratio(tjs.ka.rps, nginxAuto.ka.rps) : null;
  const tjsRow = rows.find((r) => r.id === 'http-ugate-tjs');
  const why = !tjsRow ? 'not measured' : tjsRow.skip ? 'ugate on txiki.js has no figures' : tjsRow.invalid ? 'ugate on txiki.js had errors' : !nginx1 ? 'no valid nginx 1-worker row' : '';
  summary.push(
    `- **goal** ugate on txiki.js ≥ 0.5× nginx keep-alive req/s (judged against nginx with 1 worker, like for like): ${
      goal === null ? `n/a (${why})` : `${fix(goal, 2)}× ${goal >= 0.5 ? 'met' : 'not met'}`
    }${goalAuto === null ? '' : `; against nginx worker_processes auto: ${fix(goalAuto, 2)}× ${goalAuto >= 0.5 ? 'met' : 'not met'}`}`,
  );
  return [
    '### HTTP routing',
    '',
    `wrk (-t${settings.threads} -c${settings.connections}) → proxy → origins on 127.0.0.1. Route table (bench/http-routes.mjs, the same for every proxy): ` +
      `${table.hosts.length} hostnames (2 wildcards), ${rules.length} rules (${rules.filter((r) => r.path.type === 'Exact').length} Exact paths, ${rules.filter((r) => r.headers.length).length} header matches, ` +
      `${rules.filter((r) => r.method).length} method matches, the rest PathPrefix), each setting X-Bench-Rule, over ${ORIGINS} origins (one nginx, worker_processes ${settings.originWorkers}, \`return 200\` with 3 bytes). ` +
      `ugate: a Gateway + one HTTPRoute per hostname, access log off; nginx: a server block per hostname, \`location =\` / prefix locations / \`if\`, upstream keepalive 32, access_log off. ` +
      `wrk cycles through one request per rule (Host, path, method, headers). Before the timed runs every request is sent once and must reach its rule's origin with its rule id, ` +
      `then ${settings.verifySecs} s of wrk per mode with every response checked; a row with wrong responses or wrk errors is marked not valid. ` +
      `Timed: ${settings.secs} s with keep-alive, ${settings.secs} s with \`Connection: close\` (a new client connection per request); p50/p99 from wrk's latency histogram. ` +
      `CPU cores: the proxy's processes (utime+stime) per second of wall time, CPU µs/req: the same per request (less sensitive to other load on the machine than req/s); RSS: summed VmRSS halfway through the keep-alive run. ×nginx 1w: req/s ÷ nginx with worker_processes 1. ` +
      `Notes (keep-alive / close): the origin's CPU (it must not be the bottleneck), and the connections the origins accepted per 1000 requests (how well the proxy pools its upstream connections).`,
    '',
    ...lines,
    '',
    ...summary,
    '',
  ];
}
