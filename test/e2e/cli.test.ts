// The command line and the process lifecycle: version, help, check (JSON and UCI, good and bad),
// run with a UCI file, the embedded default, and graceful shutdown on SIGTERM/SIGINT.

import test from 'ava';
import net from 'node:net';
import { startGateway, ugateCommand, waitFor, writeTempConfig } from '../helpers/gateway.ts';
import { connectTcp, curl, httpEchoServer, readAll, run } from '../helpers/servers.ts';

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
  t.deepEqual(eff.timeouts, { sniff: 5000, connect: 10000, idle: 120000, grace: 10000 });
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

test.serial('with no -c, the embedded default is a proxy on 127.0.0.1:1080', async (t) => {
  const web = await httpEchoServer('default-web');
  t.teardown(() => web.close());
  const gw = await startGateway(null);
  t.teardown(() => gw.stop());
  t.deepEqual(gw.listeners.get('proxy'), [{ host: '127.0.0.1', port: 1080 }]);
  const socks = await curl(['-x', 'socks5h://127.0.0.1:1080', `http://localhost:${web.port}/`]);
  t.is(JSON.parse(socks.stdout).server, 'default-web');
  const connect = await curl(['-p', '-x', 'http://127.0.0.1:1080', `http://127.0.0.1:${web.port}/`]);
  t.is(JSON.parse(connect.stdout).server, 'default-web');
});

test('a listen address already in use is a start-up error with the address named', async (t) => {
  const web = await httpEchoServer('taken');
  t.teardown(() => web.close());
  const file = writeTempConfig({ listeners: [{ name: 'p', type: 'mixed', listen: `127.0.0.1:${web.port}` }] });
  const r = await ugate(['run', '-c', file]);
  t.is(r.code, 1);
  t.regex(r.stderr, new RegExp(`127\\.0\\.0\\.1:${web.port}`));
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
