// The access log says what happened: how a connection ended (a client that leaves once done is
// not a reset; one that resets mid-stream is), on both data planes; JSON lines when asked; and
// stderr lines that carry their time.

import test from 'ava';
import net from 'node:net';
import { startGateway, type RunningGateway } from '../helpers/gateway.ts';
import { socksConnect } from '../helpers/hostile.ts';
import { curl, OWN_LOOPBACK, testCertificate } from '../helpers/servers.ts';
import https from 'node:https';

/**
 * Sends as fast as the connection takes for `ms`, whatever the client does (its FIN included),
 * then ends: a client that stops reading has bytes waiting for it all along the way.
 */
async function streamingServer(ms = 3000): Promise<{ port: number; close(): void }> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    const chunk = Buffer.alloc(64 * 1024, 1);
    const end = Date.now() + ms;
    const step = () => {
      while (!s.destroyed && Date.now() <= end) if (!s.write(chunk)) return void s.once('drain', step);
      if (!s.destroyed) s.end();
    };
    s.once('data', step);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

async function gateway(dataPlane: 'splice' | 'js', extra: object = {}): Promise<RunningGateway> {
  return startGateway({ listeners: [{ name: 'p', type: 'mixed', listen: `${OWN_LOOPBACK}:0` }], dataPlane, ...extra });
}

/** SOCKS5 to the streaming server, send a byte, then leave as `leave` says once data flows. */
async function leaveMidStream(gw: RunningGateway, port: number, leave: (s: net.Socket) => void): Promise<void> {
  const r = await socksConnect(gw.addr('p'), '127.0.0.1', port);
  r.socket.write('go');
  await new Promise<void>((resolve) => {
    r.socket.once('data', () => {
      leave(r.socket);
      resolve();
    });
    r.socket.resume();
  });
}

for (const dataPlane of ['splice', 'js'] as const) {
  test(`${dataPlane}: a client that sent its FIN and then closes mid-stream closed the connection; one that resets with bytes on their way to it reset it`, async (t) => {
    const server = await streamingServer();
    t.teardown(() => server.close());
    const gw = await gateway(dataPlane);
    t.teardown(() => gw.stop());
    t.regex(gw.stderr(), dataPlane === 'splice' ? /ugate: data plane splice / : /ugate: data plane js \(configured\)/);
    // FIN first (request done), then close with data unread: the kernel answers with a reset
    await leaveMidStream(gw, server.port, (s) => {
      s.end();
      setTimeout(() => s.destroy(), 50);
    });
    const [closed] = await gw.waitForAccessLog(1);
    t.is(closed!.close, 'client-closed', JSON.stringify(closed));
    t.false('error' in closed!, 'a client leaving once done is no error');
    t.true(Number(closed!.down) > 0);
    // no FIN, and bytes on their way to it (it stopped reading): a reset mid-stream
    await leaveMidStream(gw, server.port, (s) => {
      s.pause();
      setTimeout(() => s.resetAndDestroy(), 300);
    });
    const [, reset] = await gw.waitForAccessLog(2);
    t.is(reset!.close, 'client-reset', JSON.stringify(reset));
    t.truthy(reset!.error);
  });
}

test('splice: HTTPS fetched with curl is never logged as a reset', async (t) => {
  const { key, cert } = testCertificate();
  const server = https.createServer({ key, cert }, (_req, res) => res.end('x'.repeat(100_000)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const gw = await startGateway({
    listeners: [{ name: 's', type: 'sni', listen: `${OWN_LOOPBACK}:0` }],
    routes: [{ name: 'a', match: { hosts: ['a.test'] }, action: { forward: `127.0.0.1:${port}` } }],
    dataPlane: 'splice',
  });
  t.teardown(() => gw.stop());
  const N = 20;
  for (let i = 0; i < N; i++) {
    const r = await curl(['-sk', '-o', '/dev/null', '-w', '%{http_code}', '--resolve', `a.test:${gw.addr('s').port}:${OWN_LOOPBACK}`, `https://a.test:${gw.addr('s').port}/`]);
    t.is(r.stdout, '200');
  }
  const lines = await gw.waitForAccessLog(N);
  for (const l of lines) {
    t.true(l.close === 'eof' || l.close === 'client-closed', JSON.stringify(l));
    t.false('error' in l, JSON.stringify(l));
    t.is(l.sni, 'a.test');
    t.true(Number(l.down) > 100_000);
  }
});

test('JSON access log: one object per line, numbers as numbers; stderr lines begin with their time', async (t) => {
  const server = await streamingServer(100);
  t.teardown(() => server.close());
  const gw = await gateway('splice', { accessLogFormat: 'json' });
  t.teardown(() => gw.stop());
  await leaveMidStream(gw, server.port, (s) => s.end());
  const line = await new Promise<string>((resolve, reject) => {
    const end = Date.now() + 10_000;
    const poll = () => {
      const l = gw.stdout().split('\n').find((x) => x.startsWith('{'));
      if (l) return resolve(l);
      if (Date.now() > end) return reject(new Error(`no JSON line: ${gw.stdout()}`));
      setTimeout(poll, 20);
    };
    poll();
  });
  const rec = JSON.parse(line) as Record<string, unknown>;
  t.is(rec.log, 'access');
  t.is(rec.listener, 'p');
  t.is(rec.proto, 'socks5');
  t.is(typeof rec.up, 'number');
  t.is(typeof rec.down, 'number');
  t.is(typeof rec.ms, 'number');
  t.regex(String(rec.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.true(Date.parse(String(rec.time)) >= Date.parse(String(rec.start)));
  const stderrLines = gw.stderr().split('\n').filter(Boolean);
  t.true(stderrLines.length > 2);
  for (const l of stderrLines) t.regex(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ugate: /);
});

test.serial('UGATE_LOG_TIMESTAMPS=0 leaves the time out of stderr (for a log that stamps lines itself)', async (t) => {
  process.env.UGATE_LOG_TIMESTAMPS = '0';
  let gw: RunningGateway;
  try {
    gw = await gateway('js');
  } finally {
    delete process.env.UGATE_LOG_TIMESTAMPS;
  }
  t.teardown(() => gw.stop());
  const lines = gw.stderr().split('\n').filter(Boolean);
  t.true(lines.length > 1);
  for (const l of lines) t.regex(l, /^ugate: /);
});
