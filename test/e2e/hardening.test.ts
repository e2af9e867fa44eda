// What one hostile or broken LAN client can do to ugate, each as it was found, through a real
// gateway process (on Node and on txiki.js): running it out of file descriptors, holding every
// slot, leaving while ugate dials, reaching loopback services by other spellings of "this host",
// truncated streams that look complete, signals, forwarding loops, password guessing — and the
// smaller ones. Clients on 127.0.0.0/8 stand for LAN devices; each address is another device.

import test from 'ava';
import net from 'node:net';
import { startGateway, waitFor, type RunningGateway } from '../helpers/gateway.ts';
import { freePorts } from '../helpers/http-backends.ts';
import { blackHole, connectFrom, fdCount, socksConnect } from '../helpers/hostile.ts';
import { curl, OWN_LOOPBACK, readAll } from '../helpers/servers.ts';

/** A TCP echo server on 127.0.0.1 (and, with `v6`, the same port on ::1), counting connections. */
async function echoServer(v6 = false): Promise<{ port: number; connections: () => number; close(): void }> {
  let n = 0;
  const servers: net.Server[] = [];
  const onConn = (s: net.Socket) => {
    n++;
    s.on('error', () => {});
    s.pipe(s);
  };
  for (;;) {
    const a = net.createServer({ allowHalfOpen: true }, onConn);
    await new Promise<void>((r) => a.listen(0, '127.0.0.1', r));
    const port = (a.address() as net.AddressInfo).port;
    if (!v6) return { port, connections: () => n, close: () => a.close() };
    const b = net.createServer({ allowHalfOpen: true }, onConn);
    const ok = await new Promise<boolean>((r) => {
      b.once('error', () => r(false));
      b.listen(port, '::1', () => r(true));
    });
    if (!ok) {
      a.close();
      continue;
    }
    servers.push(a, b);
    return { port, connections: () => n, close: () => servers.forEach((s) => s.close()) };
  }
}

const proxyAt = (gw: RunningGateway, name = 'p') => gw.addr(name);
/** Lowers the open-files limit of the gateway process (soft and hard). */
const withFdLimit = (n: number) => ['sh', '-c', `ulimit -n ${n} && exec "$@"`, 'sh'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One SOCKS5 CONNECT plus an echoed message; true when the bytes came back. */
async function socksEcho(gw: RunningGateway, port: number, localAddress?: string): Promise<boolean> {
  const r = await socksConnect(proxyAt(gw), '127.0.0.1', port, { localAddress });
  try {
    if (r.reply !== 0) return false;
    const got = readAll(r.socket);
    r.socket.resume();
    r.socket.end(`hello from ${localAddress ?? 'default'}`);
    return (await got).toString() === `hello from ${localAddress ?? 'default'}`;
  } finally {
    r.socket.destroy();
  }
}

/** The gateway's status line (SIGUSR1), parsed. */
async function status(gw: RunningGateway): Promise<Record<string, number>> {
  const before = gw.stderr().split('status ').length;
  gw.proc.kill('SIGUSR1');
  const line = await waitFor(() => {
    const parts = gw.stderr().split('status ');
    return parts.length > before ? parts[parts.length - 1]!.split('\n')[0] : undefined;
  });
  return Object.fromEntries(line.split(' ').map((kv) => [kv.split('=')[0]!, Number(kv.split('=')[1])]));
}

// ---------------------------------------------------------------------------------------------
// 1. File descriptors

test.serial('after running out of file descriptors, the listener accepts again once they are back', async (t) => {
  const echo = await echoServer();
  // Caps far above the descriptor limit, so that the process really runs out.
  const huge = { connections: 100_000, perSource: 100_000, handshakes: 100_000, handshakesPerSource: 100_000 };
  const gw = await startGateway({ listeners: [{ name: 'p', type: 'mixed', listen: `${OWN_LOOPBACK}:0` }], limits: huge, timeouts: { sniff: '30s' } }, { within: withFdLimit(256) });
  t.teardown(() => (echo.close(), gw.stop()));
  const baseline = await fdCount(gw.proc.pid!);
  for (let episode = 1; episode <= 2; episode++) {
    // 1,200 idle connections: far more than 256 descriptors, so accept() fails with EMFILE (and
    // fewer than those plus the listen backlog of 1,024, so no SYN waits for a retransmission).
    const idle = await Promise.all(Array.from({ length: 1200 }, () => connectFrom(proxyAt(gw).host, proxyAt(gw).port).then((s) => (s.on('error', () => {}), s))));
    await sleep(500);
    for (const s of idle) s.destroy();
    // Descriptors come back once ugate has seen the clients go.
    let now = 0;
    for (let i = 0; i < 100 && (now = await fdCount(gw.proc.pid!)) > baseline + 8; i++) await sleep(100);
    t.true(now <= baseline + 8, `episode ${episode}: descriptors back to baseline (${now} vs ${baseline})`);
    // New clients are served again, each within a bounded time.
    for (let i = 0; i < 5; i++) {
      const ok = await Promise.race([socksEcho(gw, echo.port), sleep(5000).then(() => false)]);
      t.true(ok, `episode ${episode}: client ${i} served after the exhaustion`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// 2. Caps: one client must not starve the others

test.serial('a hostile client at its cap is refused cheaply, logged once, and 200 other clients are all served', async (t) => {
  const echo = await echoServer();
  // The caps a router gets by default from its open-files limit: 1,024 descriptors → 320
  // connections, 80 per source, 240 in handshake, 30 in handshake per source.
  const gw = await startGateway({ listeners: [{ name: 'p', type: 'mixed', listen: `${OWN_LOOPBACK}:0` }], timeouts: { sniff: '60s', grace: '200ms' } }, { within: withFdLimit(1024) });
  t.teardown(() => (echo.close(), gw.stop()));
  t.regex(gw.stderr(), /limits connections=320 per_source=80 handshakes=240 handshakes_per_source=30 \(open files limit 1024\)/);
  // The hostile device opens 1,000 connections and never finishes a SOCKS5 greeting.
  // (A refused one may be reset before its connect() even returns.)
  const hostile = await Promise.all(
    Array.from({ length: 1000 }, () =>
      connectFrom(proxyAt(gw).host, proxyAt(gw).port, '127.0.0.2').then(
        (s) => {
          s.on('error', () => {});
          s.write(Buffer.from([5])); // the first byte of a greeting, then silence
          return s;
        },
        () => null,
      ),
    ),
  );
  t.teardown(() => hostile.forEach((s) => s?.destroy()));
  let s = await status(gw);
  for (let i = 0; i < 50 && s.active! + s.refused! < 1000; i++) {
    await sleep(100);
    s = await status(gw);
  }
  t.is(s.active, 30, 'the hostile device holds exactly its handshake cap');
  t.is(s.refused, 970);
  // 200 other devices, each its own address, all at once while the hostile one is at its cap.
  const served = await Promise.all(Array.from({ length: 200 }, (_, i) => socksEcho(gw, echo.port, `127.0.1.${i + 1}`)));
  t.is(served.filter(Boolean).length, 200, 'every other client was served');
  // One line when refusing began, naming the cap and the source; not one per connection.
  const lines = gw.stderr().split('\n').filter((l) => /^ugate: refus/.test(l));
  t.is(lines.length, 1, lines.join('\n'));
  t.regex(lines[0]!, /refusing connections: the per-source limit of connections in handshake \(30\) reached \(source 127\.0\.0\.2\)/);
  await gw.stop();
  t.regex(gw.stderr(), /refused 969 connection\(s\) in the last 10 s \(handshakes-per-source=969\); most from 127\.0\.0\.2 \(969\)/);
  t.regex(gw.stderr(), /stopped accepted=230 refused=970 /);
});

// ---------------------------------------------------------------------------------------------
// 3. A client that leaves while ugate dials

test.serial('a proxy client that leaves while ugate dials a black hole takes its slot and descriptors with it', async (t) => {
  const hole = await blackHole();
  const gw = await startGateway({
    listeners: [{ name: 'p', type: 'mixed', listen: `${OWN_LOOPBACK}:0` }],
    timeouts: { connect: '10s' },
    limits: { perSource: 2000, handshakesPerSource: 2000 },
  });
  t.teardown(() => (hole.close(), gw.stop()));
  const pid = gw.proc.pid!;
  const baseline = await fdCount(pid);
  const N = 500;
  const started = Date.now();
  // SOCKS5 CONNECT and HTTP CONNECT to the black hole; each client gives up after 200 ms.
  await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const c = await connectFrom(proxyAt(gw).host, proxyAt(gw).port);
      c.on('error', () => {});
      if (i % 2 === 0) c.write(Buffer.concat([Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1]), Buffer.from([hole.port >> 8, hole.port & 0xff])]));
      else c.write(`CONNECT 127.0.0.1:${hole.port} HTTP/1.1\r\nHost: 127.0.0.1:${hole.port}\r\n\r\n`);
      await sleep(200);
      c.destroy();
    }),
  );
  const log = await gw.waitForAccessLog(N, 5000);
  const elapsed = Date.now() - started;
  t.true(elapsed < 5000, `all ${N} ended within ${elapsed} ms, not after the 10 s connect timeout`);
  t.deepEqual([...new Set(log.map((l) => l.close))], ['client-left']);
  t.deepEqual([...new Set(log.map((l) => l.proto))].sort(), ['connect', 'socks5']);
  const after = await fdCount(pid);
  t.true(after <= baseline + 4, `descriptors: ${after} after, ${baseline} before`);
  t.is((await status(gw)).active, 0);
});

// ---------------------------------------------------------------------------------------------
// 4. dstCidrs: every spelling of "this host" meets the rule

test('a route rejecting 127.0.0.0/8 and ::1 also rejects 0.0.0.0, "0", [::ffff:0.0.0.0] and [::], however they arrive', async (t) => {
  const svc = await echoServer(true);
  const [sniPort] = await freePorts(1);
  const gw = await startGateway({
    listeners: [
      { name: 'p', type: 'mixed', listen: `${OWN_LOOPBACK}:0` },
      { name: 's', type: 'sni', listen: `${OWN_LOOPBACK}:${sniPort}` },
    ],
    routes: [{ name: 'no-loopback', match: { dstCidrs: ['127.0.0.0/8', '::1/128'] }, action: 'reject' }],
  });
  t.teardown(() => (svc.close(), gw.stop()));
  const p = svc.port;
  // SOCKS5 by IPv4, IPv6 and name
  for (const [host, byName] of [['0.0.0.0', false], ['0', true], ['::ffff:0.0.0.0', false], ['::', false], ['127.0.0.1', false], ['::1', false], ['localhost', true]] as const) {
    const r = await socksConnect(proxyAt(gw), host, p, { byName });
    r.socket.destroy();
    t.is(r.reply, 2, `SOCKS5 ${host}${byName ? ' (by name)' : ''}: not allowed by ruleset`);
  }
  // HTTP CONNECT and absolute-form requests
  for (const target of [`0.0.0.0:${p}`, `[::]:${p}`, `[::ffff:0.0.0.0]:${p}`, `0:${p}`]) {
    const r = await curl(['-p', '-x', `http://${OWN_LOOPBACK}:${proxyAt(gw).port}`, '-o', '/dev/null', '-w', '%{http_code}', `http://${target}/`]);
    t.regex(r.stderr + r.stdout, /403/, `CONNECT ${target}`);
    const a = await curl(['-x', `http://${OWN_LOOPBACK}:${proxyAt(gw).port}`, '-o', '/dev/null', '-w', '%{http_code}', `http://${target}/`]);
    t.is(a.stdout, '403', `GET http://${target}/`);
  }
  // Host header on the sni listener (passthrough goes to the named host on port 80)
  for (const host of ['0.0.0.0', '[::]', '[::ffff:0.0.0.0]', '127.0.0.1']) {
    const r = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-H', `Host: ${host}`, `http://${OWN_LOOPBACK}:${sniPort}/`]);
    t.is(r.stdout, '403', `Host: ${host}`);
  }
  t.is(svc.connections(), 0, 'nothing reached the loopback service');
  // 7 SOCKS5, 4 CONNECT, 4 absolute-form, 4 Host: each refused, each logged (at close).
  const lines = await gw.waitForAccessLog(19);
  t.is(lines.length, 19);
  t.true(lines.every((l) => l.route === 'no-loopback' && l.close === 'rejected'), JSON.stringify(lines.filter((l) => l.route !== 'no-loopback')));
});
