// The sni listener: TLS routed by SNI (openssl s_client, curl --resolve), HTTP routed by Host,
// wildcards, reject with a TLS alert or HTTP 403, and the listener default.

import test from 'ava';
import { startGateway, waitFor, type RunningGateway } from '../helpers/gateway.ts';
import { connectTcp, curl, httpEchoServer, httpsEchoServer, readAll, run, type EchoServer } from '../helpers/servers.ts';

let gw: RunningGateway;
let tlsA: EchoServer;
let tlsB: EchoServer;
let httpA: EchoServer;
let httpB: EchoServer;
let fallback: EchoServer;

test.before(async () => {
  [tlsA, tlsB, httpA, httpB, fallback] = await Promise.all([
    httpsEchoServer('tls-a'),
    httpsEchoServer('tls-b'),
    httpEchoServer('http-a'),
    httpEchoServer('http-b'),
    httpEchoServer('fallback'),
  ]);
  const to = (s: EchoServer) => ({ forward: `127.0.0.1:${s.port}` });
  gw = await startGateway({
    listeners: [
      { name: 'sni', type: 'sni', listen: '127.0.0.1:0', default: 'reject' },
      { name: 'sni-open', type: 'sni', listen: '127.0.0.1:0', default: to(fallback) },
    ],
    routes: [
      { name: 'a-tls', match: { listeners: ['sni'], protocols: ['tls'], hosts: ['a.test'] }, action: to(tlsA) },
      { name: 'b-tls', match: { listeners: ['sni'], protocols: ['tls'], hosts: ['*.b.test', 'b.test'] }, action: to(tlsB) },
      { name: 'a-http', match: { listeners: ['sni'], protocols: ['http'], hosts: ['a.test'] }, action: to(httpA) },
      { name: 'b-http', match: { listeners: ['sni'], protocols: ['http'], hosts: ['*.b.test'] }, action: to(httpB) },
      { name: 'deny', match: { hosts: ['deny.b.test'] }, action: 'reject' },
    ],
  });
});

test.after.always(async () => {
  await gw?.stop();
  await Promise.all([tlsA, tlsB, httpA, httpB, fallback].map((s) => s?.close()));
});

const port = (l = 'sni') => gw.addr(l).port;

test('openssl s_client -servername reaches the backend of its name', async (t) => {
  for (const [name, server] of [['a.test', 'tls-a'], ['b.test', 'tls-b'], ['x.b.test', 'tls-b']] as const) {
    const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port()}`, '-servername', name, '-quiet', '-verify_quiet'], `GET /who HTTP/1.0\r\nHost: ${name}\r\n\r\n`);
    t.regex(r.stdout, new RegExp(`"server":"${server}"`), `${name}: ${r.stderr}`);
  }
});

test('curl --resolve routes two names to two backends, with ALPN in the log', async (t) => {
  const a = await curl(['-k', '--resolve', `a.test:${port()}:127.0.0.1`, `https://a.test:${port()}/x`]);
  t.is(a.code, 0, a.stderr);
  t.is(JSON.parse(a.stdout).server, 'tls-a');
  const b = await curl(['-k', '--resolve', `deep.sub.b.test:${port()}:127.0.0.1`, `https://deep.sub.b.test:${port()}/y`]);
  t.is(b.code, 0, b.stderr);
  t.is(JSON.parse(b.stdout).server, 'tls-b');
  const line = await waitFor(() => gw.accessLog().find((l) => l.sni === 'deep.sub.b.test'));
  t.like(line, { proto: 'tls', route: 'b-tls', action: 'forward', backend: `127.0.0.1:${tlsB.port}` });
  t.regex(line.alpn_offered ?? '', /http\/1\.1/);
});

test('most specific name wins: an exact reject beats the wildcard forward', async (t) => {
  const r = await curl(['-k', '--resolve', `deny.b.test:${port()}:127.0.0.1`, `https://deny.b.test:${port()}/`]);
  t.not(r.code, 0);
  t.regex(r.stderr, /alert|unrecognized|handshake|SSL/i);
  const line = await waitFor(() => gw.accessLog().find((l) => l.sni === 'deny.b.test'));
  t.like(line, { route: 'deny', action: 'reject', close: 'rejected' });
});

test('unknown name on a reject-by-default listener: TLS alert unrecognized_name', async (t) => {
  const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port()}`, '-servername', 'unknown.test'], '');
  t.regex(r.stdout + r.stderr, /unrecognized name|alert number 112|unrecognized_name/i);
});

test('HTTP routed by Host; the wildcard never matches the bare parent', async (t) => {
  const a = await curl(['-H', 'Host: a.test', `http://127.0.0.1:${port()}/h`]);
  t.is(JSON.parse(a.stdout).server, 'http-a');
  const b = await curl(['-H', `Host: www.b.test:${port()}`, `http://127.0.0.1:${port()}/h`]);
  t.is(JSON.parse(b.stdout).server, 'http-b');
  // b-http only has *.b.test, so bare b.test over HTTP falls to the reject default: 403 from ugate.
  const bare = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: b.test', `http://127.0.0.1:${port()}/h`]);
  t.is(bare.stdout, '403');
});

test('listener default forward catches unknown names', async (t) => {
  const r = await curl(['-H', 'Host: whatever.test', `http://127.0.0.1:${port('sni-open')}/d`]);
  t.is(JSON.parse(r.stdout).server, 'fallback');
  const line = await waitFor(() => gw.accessLog().find((l) => l.listener === 'sni-open' && l.host === 'whatever.test'));
  t.like(line, { route: 'default', action: 'forward', proto: 'http' });
});

test('SSH banners and the HTTP/2 prior-knowledge preface are recognised and logged', async (t) => {
  const send = async (bytes: string) => {
    const c = await connectTcp('127.0.0.1', port('sni-open'));
    c.end(bytes);
    await readAll(c).catch(() => Buffer.alloc(0));
  };
  await send('SSH-2.0-OpenSSH_9.6p1 Debian-3\r\n');
  await send('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  const ssh = await waitFor(() => gw.accessLog().find((l) => l.listener === 'sni-open' && l.proto === 'ssh'));
  t.like(ssh, { route: 'default', action: 'forward' });
  const h2 = await waitFor(() => gw.accessLog().find((l) => l.listener === 'sni-open' && l.proto === 'http2'));
  t.is(h2.up, String('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'.length));
});
