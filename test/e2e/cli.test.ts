// The command line and the process lifecycle: version, help, check (JSON, UCI and Gateway API
// YAML, good and bad; directories), run with a UCI file or with a rejected manifest, the embedded
// default, and graceful shutdown on SIGTERM/SIGINT.

import test from 'ava';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BUNDLE, RUNTIME, startGateway, ugateCommand, waitFor, writeTempConfig } from '../helpers/gateway.ts';
import { privateNetns, privateNetnsUnavailable } from '../helpers/private-netns.ts';
import { connectTcp, curl, httpEchoServer, OWN_LOOPBACK, readAll, run } from '../helpers/servers.ts';

const ugate = (args: string[]) => {
  const [cmd, argv] = ugateCommand(args);
  return run(cmd, argv);
};

test('version and help', async (t) => {
  const v = await ugate(['version']);
  t.is(v.code, 0);
  t.regex(v.stdout, /^ugate \d+\.\d+\.\d+ \((node|tjs) /);
  const h = await ugate(['--help']);
  t.is(h.code, 0);
  t.regex(h.stdout, /ugate run \[-c FILE\]/);
  const runHelp = await ugate(['run', '--help']);
  t.is(runHelp.code, 0, '"ugate run --help" helps instead of running');
  t.regex(runHelp.stdout, /Signals \(ugate run\):\n  SIGTERM/);
  const bad = await ugate(['frobnicate']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /unknown command "frobnicate"/);
});

test('check prints the effective config with defaults filled in', async (t) => {
  const file = writeTempConfig({ listeners: [{ name: 'p', type: 'mixed', listen: '127.0.0.1:1081' }], timeouts: { idle: '2m' } });
  const r = await ugate(['check', '-c', file]);
  t.is(r.code, 0, r.stderr);
  const eff = JSON.parse(r.stdout);
  t.deepEqual(eff.listeners, [{ name: 'p', type: 'mixed', listen: ['127.0.0.1:1081'], default: 'passthrough' }]);
  t.deepEqual(eff.timeouts, { sniff: 5000, connect: 10000, idle: 120000, grace: 10000, keepAlive: 60000 });
  t.regex(r.stderr, /configuration OK/);
});

test('check names file, field path and reason, and exits non-zero', async (t) => {
  const json = writeTempConfig({ listeners: [{ name: 'p', type: 'mixed', listen: ['127.0.0.1:80', 'example.com:80'] }] });
  const r = await ugate(['check', '-c', json]);
  t.is(r.code, 1);
  t.true(r.stderr.includes(`${json}: listeners[0].listen[1]:`), r.stderr);
  t.regex(r.stderr, /bind address must be an IP literal/);
  const uci = writeTempConfig(`config listener 'lan'\n\toption type 'redirect'\n\tlist listen '0.0.0.0:8080'\n\toption colour 'blue'\n`);
  const u = await ugate(['check', '-c', uci]);
  t.is(u.code, 1);
  t.regex(u.stderr, /listener lan option colour \(line 4\): unknown option/);
  const syntax = writeTempConfig(`config listener 'lan\n`);
  const s = await ugate(['check', '-c', syntax]);
  t.is(s.code, 1);
  t.regex(s.stderr, /line 1, column \d+: .*(unterminated|quote)/i);
  const missing = await ugate(['check', '-c', '/nonexistent/ugate.json']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /\/nonexistent\/ugate\.json: cannot read/);
});

const GATEWAY_YAML = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web}
spec:
  gatewayClassName: ugate
  addresses: [{value: 127.0.0.1}]
  listeners:
  - {name: http, port: 18080, protocol: HTTP}
  - {name: tls, port: 18443, protocol: TLS, hostname: "*.example.com", tls: {mode: Passthrough}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: default}
spec:
  parentRefs: [{name: web, sectionName: http}]
  hostnames: [shop.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: 127.0.0.1, port: 9000}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: sni}
spec:
  parentRefs: [{name: web}]
  hostnames: [a.example.com]
  rules: [{backendRefs: [{name: 127.0.0.1, port: 9443}]}]
`;

const BAD_ROUTE_YAML = `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bad, namespace: store}
spec:
  parentRefs: [{name: web, namespace: default}]
  rules:
  - filters:
    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-A, value: "1"}]}}
    - {type: RequestMirror, requestMirror: {backendRef: {name: mirror, port: 80}}}
`;

test('check of a good site.yaml prints the Gateway API section and exits 0', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'ugate-yaml-')), 'site.yaml');
  writeFileSync(file, GATEWAY_YAML);
  const r = await ugate(['check', '-c', file]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /configuration OK/);
  const eff = JSON.parse(r.stdout);
  t.deepEqual(
    eff.listeners.map((l: { name: string; type: string; listen: string[] }) => [l.name, l.type, l.listen]),
    [
      ['web:18080', 'http', ['127.0.0.1:18080']],
      ['web:18443', 'tls', ['127.0.0.1:18443']],
    ],
  );
  t.deepEqual(eff.gatewayApi.httpRoutes[0].attachedTo, [{ listener: 'web:18080', section: 'http', hostnames: ['shop.example.com'] }]);
  t.deepEqual(eff.gatewayApi.tlsRoutes[0].attachedTo, [{ listener: 'web:18443', section: 'tls', hostnames: ['a.example.com'] }]);
  t.is(eff.gatewayApi.issues, 0);
});

test('check of a site.yaml with a bad route names manifest and field path, and exits 1', async (t) => {
  const file = writeTempConfig(GATEWAY_YAML + BAD_ROUTE_YAML); // no .yaml suffix: recognised by content
  const r = await ugate(['check', '-c', file]);
  t.is(r.code, 1);
  t.true(r.stderr.includes(`ugate: ${file}: HTTPRoute store/bad: spec.rules[0].filters[1].type: RequestMirror filter is not supported by ugate\n`), r.stderr);
  t.regex(r.stderr, /1 manifest issue\(s\)/);
  const eff = JSON.parse(r.stdout); // the rest is still printed
  t.deepEqual(eff.gatewayApi.httpRoutes.map((x: { name: string }) => x.name), ['default/shop']);
  const syntax = writeTempConfig('apiVersion: v1\nkind: [Gateway\n');
  const s = await ugate(['check', '-c', syntax]);
  t.is(s.code, 1);
  t.regex(s.stderr, /line 3, column 1: invalid YAML/);
});

test("README's example manifest is valid and attaches every route", async (t) => {
  const readme = readFileSync('README.md', 'utf8');
  const yaml = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!yaml) return t.fail('README has no yaml block');
  // Its capture route names a ugate redirect listener "lan" from the JSON/UCI configuration.
  const lan = writeTempConfig({ listeners: [{ name: 'lan', type: 'redirect', listen: '127.0.0.1:0' }] });
  const r = await ugate(['check', '-c', lan, '-c', writeTempConfig(yaml)]);
  t.is(r.code, 0, r.stderr);
  const api = JSON.parse(r.stdout).gatewayApi;
  t.is(api.issues, 0);
  t.is(api.httpRoutes.length, 2);
  t.is(api.tlsRoutes.length, 1);
  for (const route of [...api.httpRoutes, ...api.tlsRoutes]) t.true(route.attachedTo.length > 0, JSON.stringify(route));
});

test('check -c DIR reads its *.yaml, *.yml and *.json files in name order', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ugate-dir-'));
  writeFileSync(join(dir, '20-site.yaml'), GATEWAY_YAML);
  writeFileSync(join(dir, '10-base.json'), JSON.stringify({ listeners: [{ name: 'lan', type: 'redirect', listen: '127.0.0.1:0' }], accessLog: false }));
  writeFileSync(join(dir, '30-capture.yml'), 'kind: TLSRoute\napiVersion: gateway.networking.k8s.io/v1\nmetadata: {name: cap}\nspec: {parentRefs: [{name: lan}], hostnames: [c.example.com], rules: [{backendRefs: [{name: c.lan, port: 443}]}]}\n');
  writeFileSync(join(dir, 'notes.txt'), 'not configuration');
  const r = await ugate(['check', '-c', dir]);
  t.is(r.code, 0, r.stderr);
  const eff = JSON.parse(r.stdout);
  t.deepEqual(eff.listeners.map((l: { name: string }) => l.name), ['lan', 'web:18080', 'web:18443']);
  t.false(eff.accessLog);
  t.deepEqual(eff.gatewayApi.tlsRoutes[1].attachedTo, [{ listener: 'lan', section: 'lan', hostnames: ['c.example.com'] }]);
  const empty = await ugate(['check', '-c', mkdtempSync(join(tmpdir(), 'ugate-empty-'))]);
  t.is(empty.code, 1);
  t.regex(empty.stderr, /the directory has no \*\.yaml, \*\.yml or \*\.json file/);
});

test('run reports each rejected manifest and runs the rest', async (t) => {
  const json = writeTempConfig({ listeners: [{ name: 'lan', type: 'redirect', listen: '127.0.0.1:0' }] });
  const yaml = writeTempConfig(BAD_ROUTE_YAML.replace('name: web, namespace: default', 'name: lan'));
  const gw = await startGateway(null, { args: ['run', '-c', json, '-c', yaml] });
  t.teardown(() => gw.stop());
  t.true(gw.stderr().includes(`ugate: rejected: ${yaml}: HTTPRoute store/bad: spec.rules[0].filters[1].type: RequestMirror filter is not supported by ugate\n`), gw.stderr());
  t.truthy(gw.addr('lan'));
});

test('run with a UCI file (the OpenWRT form) serves its listeners and routes', async (t) => {
  const web = await httpEchoServer('uci-web');
  t.teardown(() => web.close());
  const gw = await startGateway(`# /etc/config/ugate
config ugate 'main'
\toption idle_timeout '1m'

config listener 'proxy'
\toption type 'mixed'
\tlist listen '127.0.0.1:0'
\tlist user 'bob:pa ss'

config route 'pin'
\tlist host 'pinned.test'
\toption action 'forward'
\toption backend '127.0.0.1:${web.port}'
`);
  t.teardown(() => gw.stop());
  const r = await curl(['--socks5-hostname', `127.0.0.1:${gw.addr('proxy').port}`, '--proxy-user', 'bob:pa ss', 'http://pinned.test/uci']);
  t.is(r.code, 0, r.stderr);
  t.is(JSON.parse(r.stdout).server, 'uci-web');
  const line = await waitFor(() => gw.accessLog()[0]);
  t.is(line.route, 'pin');
});

// In a network namespace of its own: the default address is checked as it is, even while the
// host has something else on 127.0.0.1:1080 (an `ssh -D 1080`, say).
const noNetns = privateNetnsUnavailable();
(noNetns ? test.skip : test)(`with no -c, the embedded default is a proxy on 127.0.0.1:1080${noNetns ? ` (skipped: ${noNetns})` : ''}`, async (t) => {
  const ns = await privateNetns();
  t.teardown(() => ns.close());
  const web = spawn(ns.prefix[0]!, [...ns.prefix.slice(1), process.execPath, resolve('test/helpers/ns-echo-server.mjs'), 'default-web', '-', '127.0.0.1:8080'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => web.kill());
  await new Promise((ready) => web.stdout!.once('data', ready));
  const gw = await startGateway(null, { within: ns.prefix });
  t.teardown(() => gw.stop());
  t.deepEqual(gw.listeners.get('proxy'), [{ host: '127.0.0.1', port: 1080 }]);
  const curlInNs = (args: string[]) => run(ns.prefix[0]!, [...ns.prefix.slice(1), 'curl', '-sS', '--max-time', '15', ...args]);
  const socks = await curlInNs(['-x', 'socks5h://127.0.0.1:1080', 'http://localhost:8080/socks']);
  t.is(socks.code, 0, socks.stderr);
  t.like(JSON.parse(socks.stdout), { server: 'default-web', url: '/socks' });
  const connect = await curlInNs(['-p', '-x', 'http://127.0.0.1:1080', 'http://127.0.0.1:8080/connect']);
  t.is(connect.code, 0, connect.stderr);
  t.like(JSON.parse(connect.stdout), { server: 'default-web', url: '/connect' });
  const lines = await gw.waitForAccessLog(2);
  t.deepEqual(lines.map((l) => `${l.listener} ${l.proto}`).sort(), ['proxy connect', 'proxy socks5']);
});

test('a listen address already in use is a start-up error with the address named', async (t) => {
  const web = await httpEchoServer('taken');
  t.teardown(() => web.close());
  const file = writeTempConfig({ listeners: [{ name: 'p', type: 'mixed', listen: `127.0.0.1:${web.port}` }] });
  const r = await ugate(['run', '-c', file]);
  t.is(r.code, 1);
  t.regex(r.stderr, new RegExp(`127\\.0\\.0\\.1:${web.port}`));
});

// dist/ugate.js copied somewhere alone: on Node it has no koffi (its FFI) there, on txiki.js it
// needs nothing else. A listener that cannot work must stop start-up, never accept and close.
test('a bundle copied alone: what cannot work is a start-up error naming what is missing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ugate-alone-'));
  const bundle = join(dir, 'ugate.js');
  copyFileSync(BUNDLE, bundle);
  const alone = (config: object) => {
    const [cmd, argv] = ugateCommand(['run', '-c', writeTempConfig(config)], bundle);
    return run(cmd, argv, undefined, 5_000);
  };
  const redirect = { listeners: [{ name: 'lan', type: 'redirect', listen: `${OWN_LOOPBACK}:0` }] };
  const spliced = { listeners: [{ name: 'p', type: 'mixed', listen: `${OWN_LOOPBACK}:0` }], dataPlane: 'splice' };
  if (RUNTIME === 'node') {
    const r = await alone(redirect);
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, /^\S+Z ugate: listener lan: cannot read original destinations \(SO_ORIGINAL_DST\): koffi \(the npm package ugate uses for FFI on Node\) cannot be loaded: Cannot find module 'koffi'/m);
    t.notRegex(r.stderr, / running on /);
    const s = await alone(spliced);
    t.is(s.code, 1, s.stderr);
    t.regex(s.stderr, /dataPlane "splice": cannot load the splice shim: .*libugate_splice\.so: koffi .* cannot be loaded/);
  } else {
    // txiki.js has its FFI built in: the redirect listener starts (on the JS pump: no shim here).
    const gw = await startGateway(redirect, { bundle });
    t.teardown(() => gw.stop());
    t.regex(gw.stderr(), /data plane js: splice shim unavailable/);
    const s = await alone(spliced);
    t.is(s.code, 1, s.stderr);
    t.regex(s.stderr, /dataPlane "splice": cannot load the splice shim: .*libugate_splice\.so/);
  }
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal}: stop accepting, let open connections finish, exit 0`, async (t) => {
    const gw = await startGateway({ listeners: [{ name: 'p', type: 'mixed', listen: '127.0.0.1:0' }], timeouts: { grace: '5s' } });
    const port = gw.addr('p').port;
    // A SOCKS5 tunnel to a server that answers only after the signal: the connection must survive.
    const slow = await new Promise<{ port: number; release: () => void; close: () => void }>((resolve) => {
      const waiting: net.Socket[] = [];
      const server = net.createServer((s) => waiting.push(s));
      server.listen(0, '127.0.0.1', () =>
        resolve({ port: (server.address() as net.AddressInfo).port, release: () => waiting.forEach((s) => s.end('late reply')), close: () => server.close() }),
      );
    });
    t.teardown(() => slow.close());
    const c = await connectTcp('127.0.0.1', port);
    c.write(Buffer.from([5, 1, 0]));
    c.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, slow.port >> 8, slow.port & 0xff]));
    const body = readAll(c);
    await waitFor(() => (gw.stderr().length > 0 && gw.accessLog().length === 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 200));
    gw.proc.kill(signal);
    await waitFor(() => (/no longer accepting/.test(gw.stderr()) ? true : undefined));
    const refused = await connectTcp('127.0.0.1', port).then(
      (s) => (s.destroy(), false),
      () => true,
    );
    t.true(refused, 'new connections are refused while draining');
    slow.release();
    const got = await body;
    c.end(); // the tunnel is half-open until the client closes too
    t.true(got.subarray(got.length - 10).toString() === 'late reply', got.toString());
    t.is(await gw.exited, 0);
    t.like(gw.accessLog()[0], { close: 'eof' });
  });
}

test('grace period over: remaining connections are closed, exit 0', async (t) => {
  const gw = await startGateway({ listeners: [{ name: 'p', type: 'sni', listen: '127.0.0.1:0', default: 'reject' }], timeouts: { grace: '300ms', sniff: '30s' } });
  const c = await connectTcp('127.0.0.1', gw.addr('p').port);
  const closed = readAll(c).catch(() => Buffer.alloc(0));
  await new Promise((r) => setTimeout(r, 100));
  const started = Date.now();
  gw.proc.kill('SIGTERM');
  t.is(await gw.exited, 0);
  await closed;
  t.true(Date.now() - started < 3000);
  t.regex(gw.stderr(), /grace period over, closing 1 connection/);
  t.like(gw.accessLog()[0], { close: 'shutdown' });
});
