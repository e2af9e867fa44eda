// Live statistics: known traffic through ugate (SOCKS5 connections routed, rejected and passed
// through; HTTP requests on an HTTPRoute), then the admin endpoint's JSON, its Prometheus text as a
// real Prometheus server scrapes and parses it (and as promtool lints it), and `ugate status`.
// The counters are checked against the traffic and against ugate's own access log.

import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, ugateCommand, writeTempConfig } from '../helpers/gateway.ts';
import { backendRef, freePorts, gatewayManifest, httpRouteManifest, manifests } from '../helpers/http-backends.ts';
import { socksConnect } from '../helpers/hostile.ts';
import { httpEchoServer, OWN_LOOPBACK, run, systemCommand } from '../helpers/servers.ts';

interface Stats {
  config: { reloads: number; refused: number; last_error: { message: string } | null; manifest_issues: string[] };
  connections: { open: number; accepted: number; rejected: number; forwarded: number };
  bytes: { up: number; down: number };
  forwarded_bytes: { up: number; down: number };
  limits: { connections: { cap: number; open: number }; refused: Record<string, number> };
  listeners: { name: string; type: string; addresses: string[]; connections: { open: number; total: number }; bytes: { up: number; down: number }; requests: number; sniffed: Record<string, number>; closes: Record<string, number> }[];
  routes: { name: string; connections: { open: number; total: number }; requests: number; responses: Record<string, number>; bytes: { up: number; down: number } }[];
  backends: { name: string; connections: { total: number }; requests: number; errors: number }[];
  top_hosts: { window_seconds: number; hosts: { host: string; connections: number; requests: number; bytes: number }[] };
}

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: OWN_LOOPBACK, port, path, method, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const stats = async (port: number): Promise<Stats> => JSON.parse((await get(port, '/stats')).body) as Stats;

/** One HTTP/1.1 request through a SOCKS5 connection to `host`:80, read to the end. */
async function socksGet(proxy: { host: string; port: number }, host: string, port = 80): Promise<number> {
  const r = await socksConnect(proxy, host, port);
  if (r.reply !== 0) {
    r.socket.destroy();
    return r.reply ?? -1;
  }
  r.socket.write(`GET /x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  await new Promise<void>((resolve, reject) => {
    r.socket.on('data', () => {});
    r.socket.on('end', () => resolve());
    r.socket.on('error', reject);
    r.socket.resume();
  });
  r.socket.destroy();
  return 0;
}

/** Four requests on one keep-alive connection to the HTTPRoute listener. */
async function keepAliveRequests(port: number, host: string, n: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: OWN_LOOPBACK, port, path: `/r${i}`, headers: { host }, agent }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
  }
  agent.destroy();
}

const prometheus = systemCommand('prometheus');
const promtool = systemCommand('promtool');

test.serial('statistics: JSON, Prometheus (scraped by Prometheus, linted by promtool) and ugate status count known traffic', async (t) => {
  const a = await httpEchoServer('a');
  t.teardown(() => a.close());
  const [adminPort, proxyPort, webPort] = await freePorts(3);
  const config = {
    listeners: [{ name: 'proxy', type: 'mixed', listen: `${OWN_LOOPBACK}:${proxyPort}` }],
    routes: [
      { name: 'to-a', match: { hosts: ['a.test'] }, action: { forward: `127.0.0.1:${a.port}` } },
      { name: 'blocked', match: { hosts: ['blocked.test'] }, action: 'reject' },
    ] as object[],
    admin: { listen: `${OWN_LOOPBACK}:${adminPort}` },
  };
  const configFile = writeTempConfig(config);
  const yaml = writeTempConfig(
    manifests(
      gatewayManifest('gw', [{ name: 'web', port: webPort!, protocol: 'HTTP' }]),
      httpRouteManifest('web-a', { parentRefs: [{ name: 'gw' }], hostnames: ['web.test'], rules: [{ backendRefs: [backendRef(a)] }] }),
      // left out (ugate does not mirror): named in the statistics, for LuCI's status page
      httpRouteManifest('mirrored', {
        parentRefs: [{ name: 'gw' }],
        hostnames: ['mirror.test'],
        rules: [{ filters: [{ type: 'RequestMirror', requestMirror: { backendRef: backendRef(a) } }], backendRefs: [backendRef(a)] }],
      }),
    ),
  );
  const gw = await startGateway(null, { args: ['run', '-c', configFile, '-c', yaml] });
  t.teardown(() => gw.stop());
  t.regex(gw.stderr(), new RegExp(`admin endpoint on http://${OWN_LOOPBACK.replaceAll('.', '\\.')}:${adminPort}/`));
  const proxy = gw.addr('proxy');

  // Before any traffic: every configured listener and route is there, at zero.
  const before = await stats(adminPort!);
  t.like(before.listeners[0], { name: 'proxy', type: 'mixed', addresses: [`${OWN_LOOPBACK}:${proxyPort}`], connections: { open: 0, total: 0 } });
  t.is(before.listeners.length, 2, 'the Gateway HTTP listener too');
  t.is(before.config.manifest_issues.length, 1);
  t.regex(before.config.manifest_issues[0]!, /HTTPRoute default\/mirrored: spec\.rules\[0\]\.filters\[0\]\.type: RequestMirror filter is not supported by ugate$/);
  t.deepEqual(before.routes.map((r) => [r.name, r.connections.total]), [['to-a', 0], ['blocked', 0]]);

  for (let i = 0; i < 3; i++) t.is(await socksGet(proxy, 'a.test'), 0);
  for (let i = 0; i < 2; i++) t.not(await socksGet(proxy, 'blocked.test'), 0);
  t.is(await socksGet(proxy, '127.0.0.1', a.port), 0);
  await keepAliveRequests(webPort!, 'web.test', 4);
  // 7 connections: 6 SOCKS5 and the keep-alive one, each with its access-log line once closed
  const lines = await gw.waitForAccessLog(7 + 4);
  // counted before the access-log line is written: no wait
  const s = await stats(adminPort!);

  const proxyStats = s.listeners.find((l) => l.name === 'proxy')!;
  t.deepEqual(proxyStats.connections, { open: 0, total: 6 });
  t.deepEqual(proxyStats.sniffed, { socks5: 6 });
  t.is(proxyStats.closes.rejected, 2);
  t.is(proxyStats.closes.eof, 4);
  // bytes: exactly what the access log says each connection moved
  const logged = lines.filter((l) => l.listener === 'proxy' && l.proto !== 'http' && l.method === undefined);
  t.is(logged.length, 6);
  t.deepEqual(proxyStats.bytes, { up: logged.reduce((n, l) => n + Number(l.up), 0), down: logged.reduce((n, l) => n + Number(l.down), 0) });
  t.true(proxyStats.bytes.down > 0);

  const route = (name: string) => s.routes.find((r) => r.name === name)!;
  t.deepEqual([route('to-a').connections, route('blocked').connections, route('default').connections], [
    { open: 0, total: 3 },
    { open: 0, total: 2 },
    { open: 0, total: 1 },
  ]);
  t.is(route('default/web-a').requests, 4);
  t.deepEqual(route('default/web-a').responses, { '2xx': 4 });
  const backend = s.backends.find((b) => b.name === `127.0.0.1:${a.port}`)!;
  t.is(backend.connections.total, 3, 'three connections forwarded by route to-a');
  t.is(backend.requests, 4, 'four requests from the HTTPRoute');
  t.is(backend.errors, 0);
  t.deepEqual(s.backends.map((b) => b.name), [`127.0.0.1:${a.port}`], 'a passthrough destination is not a backend');
  const host = (name: string) => s.top_hosts.hosts.find((h) => h.host === name);
  t.like(host('a.test'), { connections: 3, requests: 0 });
  t.like(host('blocked.test'), { connections: 2 });
  t.like(host('web.test'), { requests: 4 });
  t.is(s.connections.accepted, 7);
  t.is(s.connections.open, 0);
  t.is(s.limits.connections.open, 0);
  t.true(s.limits.connections.cap > 0);

  // The endpoint itself: read-only, and clear about what it has.
  t.is((await get(adminPort!, '/stats', 'POST')).status, 405);
  t.is((await get(adminPort!, '/nothing')).status, 404);
  t.is((await get(adminPort!, '/stats?top=1000')).status, 400);
  t.is((JSON.parse((await get(adminPort!, '/stats?top=1')).body) as Stats).top_hosts.hosts.length, 1);

  // Prometheus text: the content type Prometheus negotiates, lint-clean by promtool
  const metrics = await get(adminPort!, '/metrics');
  t.is(metrics.type, 'text/plain; version=0.0.4; charset=utf-8');
  if (promtool) {
    const lint = await run(promtool, ['check', 'metrics'], metrics.body);
    t.is(lint.code, 0, lint.stdout + lint.stderr);
    t.is(lint.stdout + lint.stderr, '', 'promtool finds nothing to say');
  } else t.log('promtool not installed: lint skipped (.ci/run installs it)');

  // A real Prometheus scrapes and parses it; its query API gives back the values.
  if (prometheus) {
    const q = await scrapeWithPrometheus(t, prometheus, `${OWN_LOOPBACK}:${adminPort}`);
    t.is(await q('ugate_route_connections_total{route="to-a"}'), 3);
    t.is(await q('ugate_route_requests_total{route="default/web-a"}'), 4);
    t.is(await q('ugate_route_responses_total{route="default/web-a",code="2xx"}'), 4);
    t.is(await q('ugate_listener_connections_total{listener="proxy"}'), 6);
    t.is(await q('ugate_listener_sniffed_total{listener="proxy",protocol="socks5"}'), 6);
    t.is(await q('ugate_listener_closes_total{listener="proxy",reason="rejected"}'), 2);
    t.is(await q('sum(ugate_listener_bytes_total{listener="proxy"})'), proxyStats.bytes.up + proxyStats.bytes.down);
    t.is(await q(`ugate_backend_requests_total{backend="127.0.0.1:${a.port}"}`), 4);
    t.is(await q('ugate_connections_accepted_total'), 7);
    t.is(await q('ugate_connections_open'), 0);
    t.is(await q('ugate_config_last_reload_successful'), 1);
  } else t.log('prometheus not installed: scrape skipped (.ci/run installs it)');

  // ugate status, as a person and a script would use it
  const [cmd, argv] = ugateCommand(['status', '-c', configFile]);
  const report = await run(cmd, argv);
  t.is(report.code, 0, report.stderr);
  t.regex(report.stdout, /^connections: 0 open, 7 accepted, 0 refused at accept; 4 forwarded, 2 rejected/m);
  t.regex(report.stdout, /^ {2}to-a +0 +3 +0 /m);
  t.regex(report.stdout, /^ {2}a\.test +3 +0 /m);
  const [cmdJ, argvJ] = ugateCommand(['status', '--admin', `${OWN_LOOPBACK}:${adminPort}`, '--json']);
  const asJson = await run(cmdJ, argvJ);
  t.is(asJson.code, 0, asJson.stderr);
  t.is((JSON.parse(asJson.stdout) as Stats).connections.accepted, 7);
  const [cmdP, argvP] = ugateCommand(['status', '--admin', `${OWN_LOOPBACK}:${adminPort}`, '--prometheus']);
  const asText = await run(cmdP, argvP);
  t.regex(asText.stdout, /^ugate_connections_accepted_total 7$/m);

  // A refused reload is in the statistics (LuCI shows it); the counters carry on across reloads.
  writeFileSync(configFile, '{ "listeners": [ }');
  gw.proc.kill('SIGHUP');
  const refused = await pollStats(adminPort!, (x) => x.config.refused === 1);
  t.regex(refused.config.last_error!.message, /configuration refused, the running one keeps serving: .*line 1, column 18: invalid JSON/);
  const [cmdS, argvS] = ugateCommand(['status', '--admin', `${OWN_LOOPBACK}:${adminPort}`]);
  t.regex((await run(cmdS, argvS)).stdout, /last refused at .*invalid JSON/);
  t.is(refused.connections.accepted, 7);
  t.is(refused.config.reloads, 0);

  // A reload that applies: the counters carry on, and the new configuration's traffic counts too.
  writeFileSync(configFile, JSON.stringify({ ...config, routes: [...config.routes, { name: 'new-route', match: { hosts: ['new.test'] }, action: 'reject' }] }));
  gw.proc.kill('SIGHUP');
  await pollStats(adminPort!, (x) => x.config.reloads === 1);
  t.not(await socksGet(proxy, 'new.test'), 0);
  t.is(await socksGet(proxy, 'a.test'), 0);
  const after = await pollStats(adminPort!, (x) => x.connections.accepted === 9 && x.connections.open === 0);
  t.like(after.listeners.find((l) => l.name === 'proxy'), { connections: { open: 0, total: 8 } });
  t.like(after.routes.find((r) => r.name === 'to-a'), { connections: { open: 0, total: 4 } });
  t.like(after.routes.find((r) => r.name === 'new-route'), { connections: { open: 0, total: 1 } });
  t.like(after.top_hosts.hosts.find((h) => h.host === 'a.test'), { connections: 4 });
  t.is(after.config.manifest_issues.length, 1, 'the manifests were read again');
});

for (const dataPlane of ['splice', 'js'] as const) {
  test.serial(`${dataPlane}: forwarded bytes rise while a connection is still open (rates need no close)`, async (t) => {
    const SIZE = 3 << 20;
    // sends SIZE bytes, then keeps the connection open until the client leaves
    const server = net.createServer((s) => {
      s.on('error', () => {});
      s.resume(); // reads (and drops) what the client sends, so that its FIN is seen
      s.write(Buffer.alloc(SIZE, 9));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.teardown(() => server.close());
    const [adminPort] = await freePorts(1);
    const gw = await startGateway({ listeners: [{ name: 'p', type: 'mixed', listen: `${OWN_LOOPBACK}:0` }], admin: { listen: `${OWN_LOOPBACK}:${adminPort}` }, dataPlane });
    t.teardown(() => gw.stop());
    const r = await socksConnect(gw.addr('p'), '127.0.0.1', (server.address() as net.AddressInfo).port);
    t.is(r.reply, 0);
    r.socket.write('go');
    let got = 0;
    r.socket.on('data', (d: Buffer) => (got += d.length));
    r.socket.resume();
    const live = await pollStats(adminPort!, (x) => x.forwarded_bytes.down >= SIZE);
    t.is(live.forwarded_bytes.down, SIZE);
    t.is(live.forwarded_bytes.up, 2);
    t.is(live.connections.open, 1, 'still open');
    t.deepEqual(live.bytes, { up: 0, down: 0 }, 'per-listener bytes come at the close');
    r.socket.end();
    const ended = await pollStats(adminPort!, (x) => x.connections.open === 0);
    t.deepEqual(ended.bytes, { up: 2, down: SIZE });
    t.deepEqual(ended.forwarded_bytes, { up: 2, down: SIZE }, 'counted once');
    t.true(got > 0);
  });
}

test.serial('an admin address that cannot be bound costs the statistics only: ugate serves, and says why', async (t) => {
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, OWN_LOOPBACK, r));
  t.teardown(() => taken.close());
  const port = (taken.address() as net.AddressInfo).port;
  const a = await httpEchoServer('a');
  t.teardown(() => a.close());
  const gw = await startGateway({ listeners: [{ name: 'p', type: 'mixed', listen: `${OWN_LOOPBACK}:0` }], admin: { listen: `${OWN_LOOPBACK}:${port}` } });
  t.teardown(() => gw.stop());
  t.regex(gw.stderr(), new RegExp(`ugate: start: admin endpoint ${OWN_LOOPBACK.replaceAll('.', '\\.')}:${port}: .*; statistics are not served until a reload can bind it`));
  t.is(await socksGet(gw.addr('p'), '127.0.0.1', a.port), 0, 'the gateway serves');
});

/** Polls /stats until `ok` holds. */
async function pollStats(port: number, ok: (s: Stats) => boolean, timeoutMs = 10_000): Promise<Stats> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await stats(port);
    if (ok(s)) return s;
    if (Date.now() > end) throw new Error(`statistics never matched: ${JSON.stringify({ config: s.config, connections: s.connections, bytes: s.bytes, forwarded_bytes: s.forwarded_bytes })}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs Prometheus scraping `target` every second; returns an instant-query function once it has scraped. */
async function scrapeWithPrometheus(t: { teardown(fn: () => void): void }, binary: string, target: string): Promise<(query: string) => Promise<number>> {
  const dir = mkdtempSync(join(tmpdir(), 'ugate-prometheus-'));
  const [port] = await freePorts(1);
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: ugate\n    static_configs:\n      - targets: ['${target}']\n`);
  const proc: ChildProcess = spawn(binary, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=${OWN_LOOPBACK}:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  t.teardown(() => {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const query = async (q: string): Promise<number[]> => {
    const r = await get(port!, `/api/v1/query?query=${encodeURIComponent(q)}`).catch(() => null);
    if (!r || r.status !== 200) return [];
    const body = JSON.parse(r.body) as { data: { result: { value: [number, string] }[] } };
    return body.data.result.map((x) => Number(x.value[1]));
  };
  // scraped once the target is up and a sample of ours is stored
  const end = Date.now() + 30_000;
  for (;;) {
    const up = await query('up{job="ugate"}');
    const ours = await query('ugate_info');
    if (up[0] === 1 && ours[0] === 1) break;
    if (up[0] === 0) throw new Error(`Prometheus could not scrape ${target}:\n${log}`);
    if (Date.now() > end) throw new Error(`Prometheus never scraped ${target}:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return async (q) => {
    const v = await query(q);
    if (v.length !== 1) throw new Error(`${q}: ${v.length} series`);
    return v[0]!;
  };
}
