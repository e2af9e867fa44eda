// The statistics' pure parts: counting (metrics.ts), the hostname window, the JSON document, the
// Prometheus text, the admin endpoint's answers, and the admin setting's validation.

import test from 'ava';
import fc from 'fast-check';
import type { ConnectionRecord, RequestRecord } from '../../src/core/access-log.ts';
import { HostWindow, Metrics, newMetered } from '../../src/core/metrics.ts';
import { statsJson, type ServiceFacts } from '../../src/admin/stats.ts';
import { prometheusText } from '../../src/admin/prometheus.ts';
import { adminResponse, PROMETHEUS_CONTENT_TYPE } from '../../src/admin/server.ts';
import { formatBytes, formatStatus } from '../../src/admin/status.ts';
import { loadConfig } from '../../src/config/load.ts';

const client = { host: '192.168.1.10', port: 50000, family: 4 as const };

function facts(over: Partial<ServiceFacts> = {}): ServiceFacts {
  return {
    version: '1.2.3',
    runtime: 'tjs 26.6.0',
    pid: 42,
    startedAt: new Date('2026-01-01T00:00:00Z'),
    uptimeMs: 61_000,
    configAppliedAt: new Date('2026-01-01T00:00:01Z'),
    reloads: 0,
    reloadsRefused: 0,
    lastReloadError: null,
    manifestIssues: [],
    stats: { forwarded: 0, rejected: 0, noOriginalDestination: 0, connectFailed: 0, handshakeFailed: 0 },
    moved: { up: 0, down: 0 },
    refused: 0,
    limits: null,
    listeners: [{ name: 'lan', type: 'redirect', addresses: ['0.0.0.0:15001'] }],
    routes: ['r1'],
    capture: { enabled: false, firewall: null, table: null, devices: [], ports: [], error: null },
    ...over,
  };
}

test('a connection counts on its listener, route and backend, open until it closes', (t) => {
  const m = new Metrics(() => 0);
  const metered = newMetered();
  m.accepted('lan');
  m.routed('r1', '10.0.0.1:80', metered);
  m.routed('r1', '10.0.0.1:80', metered); // counted once however often it is told
  const s1 = statsJson(facts(), m);
  t.deepEqual(s1.listeners[0]!.connections, { open: 1, total: 1 });
  t.deepEqual(s1.routes[0]!.connections, { open: 1, total: 1 });
  t.deepEqual(s1.backends[0]!.connections, { open: 1, total: 1 });
  const rec: ConnectionRecord = { listener: 'lan', client, proto: 'tls', sni: 'Example.COM', up: 100, down: 2000, close: 'eof' };
  m.closed(rec, metered);
  const s2 = statsJson(facts(), m);
  t.like(s2.listeners[0], { connections: { open: 0, total: 1 }, bytes: { up: 100, down: 2000 }, sniffed: { tls: 1 }, closes: { eof: 1 }, errors: 0 });
  t.like(s2.routes[0], { connections: { open: 0, total: 1 }, bytes: { up: 100, down: 2000 } });
  t.like(s2.backends[0], { name: '10.0.0.1:80', connections: { open: 0, total: 1 }, errors: 0 });
  t.deepEqual(s2.top_hosts.hosts, [{ host: 'example.com', connections: 1, requests: 0, bytes: 2100 }]);
  t.deepEqual(s2.bytes, { up: 100, down: 2000 });
});

test('a failed connect is a backend error; a sniff failure is counted by reason', (t) => {
  const m = new Metrics(() => 0);
  const metered = newMetered();
  m.accepted('lan');
  m.routed('r1', '10.0.0.1:80', metered);
  m.closed({ listener: 'lan', client, proto: 'opaque', sniffFailure: 'deadline', close: 'connect-refused', error: 'ECONNREFUSED', up: 0, down: 0 }, metered);
  const s = statsJson(facts(), m);
  t.is(s.backends[0]!.errors, 1);
  t.like(s.listeners[0], { sniffed: { opaque: 1 }, sniff_failures: { deadline: 1 }, closes: { 'connect-refused': 1 }, errors: 1 });
});

test('HTTP requests count on their own routes; the connection route gets only the bytes outside requests', (t) => {
  const m = new Metrics(() => 0);
  const metered = newMetered();
  m.accepted('web');
  const req = (over: Partial<RequestRecord>): RequestRecord => ({ listener: 'web', client, method: 'GET', host: 'a.test', target: '/', up: 10, down: 90, ...over });
  m.request(req({ route: 'ns/a', backend: '10.0.0.2:80', status: 200 }), metered);
  m.request(req({ route: 'ns/a', backend: '10.0.0.2:80', status: 502, error: 'backend reset' }), metered);
  m.request(req({ route: 'default', action: 'passthrough', backend: '203.0.113.9:80', status: 404 }), metered);
  m.closed({ listener: 'web', client, proto: 'http', host: 'a.test', requests: 3, up: 30, down: 270, close: 'eof' }, metered);
  const s = statsJson(facts({ listeners: [{ name: 'web', type: 'http', addresses: [] }], routes: [] }), m);
  t.like(s.listeners[0], { requests: 3, bytes: { up: 30, down: 270 } });
  const a = s.routes.find((r) => r.name === 'ns/a')!;
  t.like(a, { requests: 2, bytes: { up: 20, down: 180 }, responses: { '2xx': 1, '5xx': 1 } });
  t.deepEqual(s.backends.map((b) => [b.name, b.requests, b.errors]), [['10.0.0.2:80', 2, 1]], 'a passthrough destination is not a backend');
  t.deepEqual(s.top_hosts.hosts, [{ host: 'a.test', connections: 1, requests: 3, bytes: 300 }]);
});

test('listeners and routes of the configuration are listed at zero; counted ones from an earlier configuration follow', (t) => {
  const m = new Metrics(() => 0);
  m.accepted('old');
  const s = statsJson(facts(), m);
  t.deepEqual(s.listeners.map((l) => [l.name, l.type, l.connections.total]), [['lan', 'redirect', 0], ['old', null, 1]]);
  t.deepEqual(s.routes.map((r) => r.name), ['r1']);
});

test('host window: slices expire; a slice keeps at most its cap of names, the rest count as others', (t) => {
  let now = 0;
  const w = new HostWindow(() => now, 1000, 3, 2);
  w.note('a.test', 1, 0, 10);
  w.note('b.test', 1, 0, 10);
  w.note('c.test', 1, 0, 10); // over the cap of this slice
  w.note('a.test', 1, 0, 10);
  t.deepEqual(w.top(10), { hosts: [{ host: 'a.test', connections: 2, requests: 0, bytes: 20 }, { host: 'b.test', connections: 1, requests: 0, bytes: 10 }], others: 1 });
  t.deepEqual(w.top(1).others, 2, 'names beyond the limit are counted as others');
  now = 2500;
  w.note('c.test', 1, 0, 5);
  t.is(w.top(10).hosts.length, 3, 'still within 3 slices');
  now = 3000;
  t.deepEqual(w.top(10).hosts.map((h) => h.host), ['c.test'], 'the first slice has expired');
  w.note(null, 1, 0, 0);
  w.note('', 1, 0, 0);
  t.is(w.top(10).hosts.length, 1, 'no name, nothing kept');
});

test('property: the host window never holds more than slices × cap names, whatever names arrive', (t) => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.string({ maxLength: 300 }), fc.nat(5000)), { maxLength: 300 }), (events) => {
      let now = 0;
      const w = new HostWindow(() => now, 1000, 3, 10);
      for (const [name, dt] of events) {
        now += dt;
        w.note(name, 1, 0, 1);
      }
      const top = w.top(1000);
      return top.hosts.length <= 30 && top.hosts.every((h) => h.host.length <= 254);
    }),
  );
  t.pass();
});

test('Prometheus text: HELP and TYPE per family, counters end in _total, label values escaped', (t) => {
  const m = new Metrics(() => 0);
  const metered = newMetered();
  m.accepted('lan');
  m.routed('say "hi"\\\n', null, metered);
  m.closed({ listener: 'lan', client, proto: 'http', close: 'eof', up: 1, down: 2 }, metered);
  const text = prometheusText(statsJson(facts(), m));
  const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((x) => [x[1]!, x[2]!]);
  t.true(families.length > 20);
  for (const [name, type] of families) {
    t.regex(name, /^ugate_[a-z0-9_]+$/);
    t.is(name.endsWith('_total'), type === 'counter', name);
    t.true(text.includes(`# HELP ${name} `), name);
  }
  t.true(text.includes('ugate_route_connections_total{route="say \\"hi\\"\\\\\\n"} 1\n'), 'quote, backslash and newline escaped');
  t.true(text.includes('ugate_listener_bytes_total{listener="lan",direction="up"} 1\n'));
  t.true(text.includes('ugate_info{version="1.2.3",runtime="tjs 26.6.0"} 1\n'));
  t.true(text.endsWith('\n'));
});

test('Prometheus text: a refused reload after the applied one reads as not successful', (t) => {
  const refused = facts({ reloadsRefused: 1, lastReloadError: { time: new Date('2026-01-01T00:05:00Z'), message: 'bad' } });
  t.regex(prometheusText(statsJson(refused, new Metrics(() => 0))), /^ugate_config_last_reload_successful 0$/m);
  const fixed = { ...refused, reloads: 1, configAppliedAt: new Date('2026-01-01T00:06:00Z') };
  t.regex(prometheusText(statsJson(fixed, new Metrics(() => 0))), /^ugate_config_last_reload_successful 1$/m);
  t.regex(prometheusText(statsJson(fixed, new Metrics(() => 0))), /^ugate_config_reloads_total\{result="refused"\} 1$/m);
});

test('admin endpoint: pages, methods, and the top parameter', (t) => {
  const stats = (top: number) => statsJson(facts(), new Metrics(() => 0), top);
  t.like(adminResponse('GET', '/stats', stats), { status: 200, contentType: 'application/json' });
  t.like(adminResponse('HEAD', '/metrics', stats), { status: 200, contentType: PROMETHEUS_CONTENT_TYPE });
  t.like(adminResponse('GET', '/', stats), { status: 200 });
  t.like(adminResponse('POST', '/stats', stats), { status: 405, headers: [['Allow', 'GET, HEAD']] });
  t.like(adminResponse('GET', '/etc/passwd', stats), { status: 404 });
  t.like(adminResponse('GET', '/stats?top=-1', stats), { status: 400 });
  t.like(adminResponse('GET', '/stats?top=1.5', stats), { status: 400 });
  t.like(adminResponse('GET', '/stats?top=101', stats), { status: 400 });
  t.like(adminResponse('GET', '/stats?top=100', stats), { status: 200 });
});

test('admin setting: loopback only, from JSON and from UCI', (t) => {
  const listeners = [{ name: 'p', type: 'mixed', listen: '127.0.0.1:1080' }];
  const j = (admin: unknown) => () => loadConfig([['c.json', JSON.stringify({ listeners, admin })]]);
  t.deepEqual(j({ listen: '127.0.0.1:15000' })().admin, { listen: { host: '127.0.0.1', port: 15000 } });
  t.deepEqual(j({ listen: '[::1]:15000' })().admin, { listen: { host: '::1', port: 15000 } });
  t.throws(j({ listen: '0.0.0.0:15000' }), { message: 'c.json: admin.listen: the admin endpoint listens on a loopback address only (127.0.0.1 or ::1)' });
  t.throws(j({ listen: '192.168.1.1:15000' }), { message: /loopback address only/ });
  t.throws(j({ listen: 'localhost:15000' }), { message: /a bind address must be an IP literal/ });
  t.throws(j({ listen: '127.0.0.1:15000', port: 1 }), { message: 'c.json: admin.port: unknown field' });
  t.is(loadConfig([['c.json', JSON.stringify({ listeners })]]).admin, null, 'off unless set');
  t.deepEqual(loadConfig([]).admin, { listen: { host: '127.0.0.1', port: 15000 } }, 'the embedded default serves statistics');
  const uci = (v: string) => () => loadConfig([['ugate', `config ugate 'main'\n\toption admin '${v}'\n\tlist manifest '/etc/ugate/a.yaml'\nconfig listener 'p'\n\toption type 'mixed'\n\tlist listen '127.0.0.1:1080'\n`]]);
  t.deepEqual(uci('127.0.0.1:15000')().admin, { listen: { host: '127.0.0.1', port: 15000 } });
  t.deepEqual(uci('127.0.0.1:15000')().manifests, ['/etc/ugate/a.yaml']);
  t.throws(uci('0.0.0.0:15000'), { message: "ugate: ugate main option admin (line 2): the admin endpoint listens on a loopback address only (127.0.0.1 or ::1)" });
});

test('ugate status report: totals, limits, capture, tables, top hosts', (t) => {
  const m = new Metrics(() => 0);
  const metered = newMetered();
  m.accepted('lan');
  m.routed('r1', null, metered);
  m.closed({ listener: 'lan', client, proto: 'tls', sni: 'a.test', close: 'eof', up: 1500, down: 2_500_000 }, metered);
  const s = statsJson(
    facts({
      limits: { limits: { connections: 320, perSource: 80, handshakes: 240, handshakesPerSource: 30 }, openFiles: 1024, open: 0, inHandshake: 0, sources: 0, refused: { connections: 0, 'per-source': 3, handshakes: 0, 'handshakes-per-source': 0 } },
      capture: { enabled: true, firewall: 'nftables', table: 'ugate_42', devices: ['br-lan'], ports: [80, 443], error: null },
    }),
    m,
  );
  const out = formatStatus(s);
  t.regex(out, /^ugate 1\.2\.3 on tjs 26\.6\.0, pid 42, up 1m 01s$/m);
  t.regex(out, /^limits: connections 0\/320, handshakes 0\/240, per source 80, handshakes per source 30 \(open files limit 1024\)/m);
  t.regex(out, /^ {2}refused: connections 0, per_source 3, handshakes 0, handshakes_per_source 0$/m);
  t.regex(out, /^capture: on \(nftables, ugate_42\): br-lan tcp 80,443$/m);
  t.regex(out, /^ {2}lan +redirect +0 +1 +0 +1\.5 kB +2\.5 MB +tls 1 +eof 1$/m);
  t.regex(out, /^ {2}a\.test +1 +0 +2\.5 MB$/m);
  t.is(formatBytes(999), '999 B');
  t.is(formatBytes(1000), '1.0 kB');
  t.is(formatBytes(123_456_789), '123 MB');
});
