// The mixed listener, driven by curl: SOCKS5 (with and without auth), HTTP CONNECT, plain HTTP
// proxy requests, routing (reject, forward) and the protocol replies for every failure.

import test from 'ava';
import { startGateway, waitFor, type RunningGateway } from '../helpers/gateway.ts';
import { freePorts } from '../helpers/http-backends.ts';
import { curl, httpEchoServer, httpsEchoServer, OWN_LOOPBACK, type EchoServer } from '../helpers/servers.ts';

let gw: RunningGateway;
let web: EchoServer;
let web6: EchoServer;
let tls: EchoServer;
let pinned: EchoServer;

test.before(async () => {
  web = await httpEchoServer('web');
  web6 = await httpEchoServer('web6', '::1');
  tls = await httpsEchoServer('tls');
  pinned = await httpEchoServer('pinned');
  gw = await startGateway({
    listeners: [
      { name: 'open', type: 'mixed', listen: ['127.0.0.1:0', '[::1]:0'] },
      { name: 'auth', type: 'mixed', listen: '127.0.0.1:0', users: [{ username: 'alice', password: 's3cret:x' }] },
      { name: 'guarded', type: 'mixed', listen: '127.0.0.1:0' },
    ],
    routes: [
      { name: 'block', match: { hosts: ['blocked.test', '*.ads.test'] }, action: 'reject' },
      { name: 'pin', match: { hosts: ['pinned.test'] }, action: { forward: `127.0.0.1:${pinned.port}` } },
      { name: 'no-loopback', match: { listeners: ['guarded'], dstCidrs: ['127.0.0.0/8', '::1/128'] }, action: 'reject' },
    ],
  });
});

test.after.always(async () => {
  await gw?.stop();
  await Promise.all([web, web6, tls, pinned].map((s) => s?.close()));
});

const proxy = (name: string) => `${gw.addr(name).host}:${gw.addr(name).port}`;

test('SOCKS5 with a hostname (socks5h) reaches the server', async (t) => {
  const r = await curl(['--socks5-hostname', proxy('open'), `http://localhost:${web.port}/hello`]);
  t.is(r.code, 0, r.stderr);
  t.like(JSON.parse(r.stdout), { server: 'web', url: '/hello', host: `localhost:${web.port}` });
});

test('SOCKS5 with an IPv4 address, and through the IPv6 listener to an IPv6 server', async (t) => {
  const r4 = await curl(['--socks5', proxy('open'), `http://127.0.0.1:${web.port}/v4`]);
  t.is(r4.code, 0, r4.stderr);
  t.is(JSON.parse(r4.stdout).server, 'web');
  const v6 = gw.listeners.get('open')!.find((a) => a.host.includes(':'))!;
  const r6 = await curl(['--socks5', `[${v6.host}]:${v6.port}`, `http://[::1]:${web6.port}/v6`]);
  t.is(r6.code, 0, r6.stderr);
  t.is(JSON.parse(r6.stdout).server, 'web6');
});

test('SOCKS5 username/password: right credentials pass, wrong ones and no-auth are refused', async (t) => {
  const ok = await curl(['--socks5-hostname', proxy('auth'), '--proxy-user', 'alice:s3cret:x', `http://localhost:${web.port}/`]);
  t.is(ok.code, 0, ok.stderr);
  t.is(JSON.parse(ok.stdout).server, 'web');
  const bad = await curl(['--socks5-hostname', proxy('auth'), '--proxy-user', 'alice:wrong', `http://localhost:${web.port}/`]);
  t.not(bad.code, 0);
  const none = await curl(['--socks5-hostname', proxy('auth'), `http://localhost:${web.port}/`]);
  t.not(none.code, 0);
  // Refused handshakes close after a short linger, so their log lines may still be on the way.
  const failed = (why: RegExp) => () => gw.accessLog().find((l) => l.listener === 'auth' && l.close === 'auth-failed' && why.test(l.error ?? ''));
  t.truthy(await waitFor(failed(/bad credentials for user "alice"/)));
  t.truthy(await waitFor(failed(/no acceptable method/)));
});

test('HTTP CONNECT tunnels TLS to an HTTPS server', async (t) => {
  const r = await curl(['-k', '-p', '-x', `http://${proxy('open')}`, `https://localhost:${tls.port}/secure`]);
  t.is(r.code, 0, r.stderr);
  t.like(JSON.parse(r.stdout), { server: 'tls', url: '/secure' });
});

test('plain HTTP proxy request: absolute URI rewritten to origin form, hop-by-hop headers dropped', async (t) => {
  const r = await curl(['-x', `http://${proxy('open')}`, '-H', 'Proxy-Connection: keep-alive', '-H', 'X-Keep: yes', `http://127.0.0.1:${web.port}/p?q=1`]);
  t.is(r.code, 0, r.stderr);
  const body = JSON.parse(r.stdout);
  t.is(body.url, '/p?q=1');
  t.is(body.headers['x-keep'], 'yes');
  t.is(body.headers['proxy-connection'], undefined);
  t.is(body.headers.connection, 'close');
});

test('HTTP proxy authentication: 407 without credentials, success with them', async (t) => {
  const no = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-x', `http://${proxy('auth')}`, `http://127.0.0.1:${web.port}/`]);
  t.is(no.stdout, '407');
  const yes = await curl(['-x', `http://${proxy('auth')}`, '--proxy-user', 'alice:s3cret:x', `http://127.0.0.1:${web.port}/`]);
  t.is(yes.code, 0, yes.stderr);
  t.is(JSON.parse(yes.stdout).server, 'web');
});

test('reject route: SOCKS5 "not allowed by ruleset", HTTP 403, for exact and wildcard names', async (t) => {
  const s = await curl(['--socks5-hostname', proxy('open'), 'http://blocked.test/']);
  t.is(s.code, 97, s.stderr); // curl: proxy handshake error
  t.regex(s.stderr, /\(2\)/); // curl prints the SOCKS5 reply code: 2 = not allowed by ruleset
  const h = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-x', `http://${proxy('open')}`, 'http://x.ads.test/']);
  t.is(h.stdout, '403');
  const c = await curl(['-p', '-x', `http://${proxy('open')}`, 'https://tracker.ads.test/']);
  t.not(c.code, 0);
  t.regex(c.stderr, /403/);
});

test('forward route pins a name to a backend', async (t) => {
  const r = await curl(['--socks5-hostname', proxy('open'), 'http://pinned.test/x']);
  t.is(r.code, 0, r.stderr);
  t.is(JSON.parse(r.stdout).server, 'pinned');
});

test('connection refused: SOCKS5 reply 5, HTTP 502; unknown name: HTTP 502', async (t) => {
  const [closed] = await freePorts(1);
  const s = await curl(['--socks5', proxy('open'), `http://${OWN_LOOPBACK}:${closed}/`]);
  t.is(s.code, 97);
  t.regex(s.stderr, /\(5\)/); // SOCKS5 reply 5 = connection refused
  const h = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-x', `http://${proxy('open')}`, `http://${OWN_LOOPBACK}:${closed}/`]);
  t.is(h.stdout, '502');
  const d = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-x', `http://${proxy('open')}`, 'http://no-such-host.invalid/']);
  t.is(d.stdout, '502');
});

test('malformed and unsupported requests get protocol errors, and the gateway keeps serving', async (t) => {
  const origin = await curl(['-o', '/dev/null', '-w', '%{http_code}', '--request-target', '/relative', '-x', `http://${proxy('open')}`, `http://127.0.0.1:${web.port}/`]);
  t.is(origin.stdout, '400');
  const https = await curl(['-o', '/dev/null', '-w', '%{http_code}', '--proxy-insecure', '-x', `http://${proxy('open')}`, '--request-target', 'https://example.test/', `http://127.0.0.1:${web.port}/`]);
  t.is(https.stdout, '400');
  const big = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-x', `http://${proxy('open')}`, '-H', `X-Big: ${'a'.repeat(20000)}`, `http://127.0.0.1:${web.port}/`]);
  t.is(big.stdout, '431');
  const socks4 = await curl(['--socks4', proxy('open'), `http://127.0.0.1:${web.port}/`]);
  t.not(socks4.code, 0);
  const after = await curl(['--socks5-hostname', proxy('open'), `http://localhost:${web.port}/still`]);
  t.is(after.code, 0, after.stderr);
});

test('every connection gets one access-log line with destination, route and byte counts', async (t) => {
  // A server of this test's own, so that its port tells this connection's line from the others'.
  const own = await httpEchoServer('logged');
  t.teardown(() => own.close());
  const r = await curl(['--socks5-hostname', proxy('open'), `http://localhost:${own.port}/logged`]);
  t.is(r.code, 0, r.stderr);
  const mine = () => gw.accessLog().filter((l) => l.dst === `localhost:${own.port}`);
  const [line] = await waitFor(() => (mine().length > 0 ? mine() : undefined));
  t.like(line, { listener: 'open', proto: 'socks5', host: 'localhost', route: 'default', action: 'passthrough', close: 'eof' });
  t.true(Number(line!.up) > 0 && Number(line!.down) > 0, JSON.stringify(line));
  await new Promise((r) => setTimeout(r, 200));
  t.is(mine().length, 1, 'one line, not more');
});

test('a request for ugate itself is refused as a forwarding loop, not followed', async (t) => {
  const { host, port } = gw.addr('open');
  const s = await curl(['--socks5', proxy('open'), `http://${host}:${port}/`]);
  t.is(s.code, 97);
  t.regex(s.stderr, /\(2\)/); // not allowed
  const h = await curl(['-o', '/dev/null', '-w', '%{http_connect}', '-p', '-x', `http://${proxy('open')}`, `http://${host}:${port}/`]);
  t.is(h.stdout, '502');
  const loops = await waitFor(() => {
    const l = gw.accessLog().filter((x) => x.close === 'connect-loop');
    return l.length >= 2 ? l : undefined;
  });
  t.regex(loops[0]!.error ?? '', /forwarding loop/);
  t.is(gw.accessLog().filter((x) => x.client?.startsWith(`${host}:`) && x.listener === 'open' && x.dst === `${host}:${port}`).length, 2);
});

test('dstCidrs rules apply to destinations given by name, not only by address', async (t) => {
  const byName = await curl(['--socks5-hostname', proxy('guarded'), `http://localhost:${web.port}/`]);
  t.is(byName.code, 97);
  t.regex(byName.stderr, /\(2\)/);
  const connect = await curl(['-o', '/dev/null', '-w', '%{http_connect}', '-p', '-x', `http://${proxy('guarded')}`, `http://localhost:${web.port}/`]);
  t.is(connect.stdout, '403');
  const byIp = await curl(['--socks5', proxy('guarded'), `http://127.0.0.1:${web.port}/`]);
  t.is(byIp.code, 97);
  const lines = await waitFor(() => {
    const l = gw.accessLog().filter((x) => x.listener === 'guarded');
    return l.length >= 3 ? l : undefined;
  });
  t.true(lines.every((l) => l.route === 'no-loopback' && l.close === 'rejected'), JSON.stringify(lines));
});
