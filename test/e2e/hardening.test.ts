// What one hostile or broken LAN client can do to ugate, each as it was found, through a real
// gateway process (on Node and on txiki.js): running it out of file descriptors, holding every
// slot, leaving while ugate dials, reaching loopback services by other spellings of "this host",
// truncated streams that look complete, signals, forwarding loops, password guessing — and the
// smaller ones. Clients on 127.0.0.0/8 stand for LAN devices; each address is another device.

import test from 'ava';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { startGateway, waitFor, writeTempConfig, type RunningGateway } from '../helpers/gateway.ts';
import { backendRef, freePorts, gatewayManifest, httpRouteManifest, manifests } from '../helpers/http-backends.ts';
import { blackHole, socksConnect } from '../helpers/hostile.ts';
import { connectTcp, curl, fdCount, httpEchoServer, OWN_LOOPBACK, readAll } from '../helpers/servers.ts';
import { buildClientHello } from '../helpers/tls-fixtures.ts';

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
  const baseline = fdCount(gw.proc.pid!);
  for (let episode = 1; episode <= 2; episode++) {
    // 1,200 idle connections: far more than 256 descriptors, so accept() fails with EMFILE (and
    // fewer than those plus the listen backlog of 1,024, so no SYN waits for a retransmission).
    const idle = await Promise.all(Array.from({ length: 1200 }, () => connectTcp(proxyAt(gw).host, proxyAt(gw).port).then((s) => (s.on('error', () => {}), s))));
    await sleep(500);
    for (const s of idle) s.destroy();
    // Descriptors come back once ugate has seen the clients go.
    let now = 0;
    for (let i = 0; i < 100 && (now = fdCount(gw.proc.pid!)) > baseline + 8; i++) await sleep(100);
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
      connectTcp(proxyAt(gw).host, proxyAt(gw).port, '127.0.0.2').then(
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
  const lines = gw.stderr().split('\n').filter((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ugate: refus/.test(l));
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
  const baseline = fdCount(pid);
  const N = 500;
  const started = Date.now();
  // SOCKS5 CONNECT and HTTP CONNECT to the black hole; each client gives up after 200 ms.
  await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const c = await connectTcp(proxyAt(gw).host, proxyAt(gw).port);
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
  // A client that closes with ugate's SOCKS5 method reply still unread in its buffer sends a reset
  // rather than a FIN (timing): either way it has left, and its dial was abandoned.
  t.true(log.every((l) => l.close === 'client-left' || l.close === 'client-reset'), JSON.stringify([...new Set(log.map((l) => l.close))]));
  t.true(log.every((l) => /connect aborted/.test(l.error ?? '')), 'each dial was aborted, none timed out');
  t.deepEqual([...new Set(log.map((l) => l.proto))].sort(), ['connect', 'socks5']);
  const after = fdCount(pid);
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

// ---------------------------------------------------------------------------------------------
// 6. A connection ugate cuts short never looks complete

/** A backend that answers any request with a close-delimited HTTP/1.0 response and never finishes it. */
async function endlessBackend(chunkEveryMs: number | null): Promise<{ port: number; close(): void }> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => {
      s.write('HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n');
      s.write(Buffer.alloc(1000, 0x61));
      if (chunkEveryMs === null) return; // then silence
      const timer = setInterval(() => s.write(Buffer.alloc(64 * 1024, 0x62)), chunkEveryMs);
      s.on('close', () => clearInterval(timer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

for (const plane of ['splice', 'js'] as const) {
  test(`${plane}: an idle timeout in the middle of a close-delimited response makes curl fail instead of exiting 0 with a short body`, async (t) => {
    const be = await endlessBackend(null);
    const gw = await startGateway({ listeners: [{ name: 's', type: 'sni', listen: `${OWN_LOOPBACK}:0`, default: { forward: `127.0.0.1:${be.port}` } }], dataPlane: plane, timeouts: { idle: '500ms' } });
    t.teardown(() => (be.close(), gw.stop()));
    const r = await curl(['-o', '/dev/null', '-w', '%{size_download}', `http://${OWN_LOOPBACK}:${gw.addr('s').port}/`]);
    t.is(r.code, 56, `curl: ${r.stderr}`); // "failure in receiving network data": the reset
    t.is(r.stdout, '1000');
    const [line] = await gw.waitForAccessLog(1);
    t.is(line!.close, 'idle-timeout');
  });

  test(`${plane}: a transfer still running when the grace period ends is reset, and curl says so`, async (t) => {
    const be = await endlessBackend(20);
    const gw = await startGateway({ listeners: [{ name: 's', type: 'sni', listen: `${OWN_LOOPBACK}:0`, default: { forward: `127.0.0.1:${be.port}` } }], dataPlane: plane, timeouts: { grace: '300ms' } });
    t.teardown(() => be.close());
    const transfer = curl(['-o', '/dev/null', `http://${OWN_LOOPBACK}:${gw.addr('s').port}/`]);
    await waitFor(() => (gw.stderr().includes('running on') ? true : undefined));
    await sleep(300);
    t.is(await gw.stop('SIGTERM'), 0);
    const r = await transfer;
    t.is(r.code, 56, `curl: ${r.stderr}`);
    t.is(gw.accessLog()[0]?.close, 'shutdown');
  });
}

// ---------------------------------------------------------------------------------------------
// 7. Signals

test.serial('no signal ends ugate silently: SIGHUP applies the configuration or refuses it, others are logged, SIGQUIT drains', async (t) => {
  const echo = await echoServer();
  // a fixed port: a reload binds the listeners again, and port 0 would be another port each time
  const [port] = await freePorts(1);
  const file = writeTempConfig({ listeners: [{ name: 'p', type: 'mixed', listen: `${OWN_LOOPBACK}:${port}` }], timeouts: { grace: '200ms' } });
  const gw = await startGateway(null, { args: ['run', '-c', file] });
  t.teardown(() => (echo.close(), gw.stop('SIGKILL')));
  const logged = (re: RegExp) => waitFor(() => (re.test(gw.stderr()) ? true : undefined), 5000);
  // procd's reload: a valid file is applied; a broken one is refused; both keep serving.
  gw.proc.kill('SIGHUP');
  t.true(await logged(/SIGHUP: configuration applied/));
  writeFileSync(file, '{"listeners": [{"name": "p", "type": "mixed"}]}');
  gw.proc.kill('SIGHUP');
  t.true(await logged(/SIGHUP: configuration refused, the running one keeps serving: \S+: listeners\[0\]\.listen: required field is missing/));
  t.true(await socksEcho(gw, echo.port));
  gw.proc.kill('SIGUSR1');
  t.true(await logged(/SIGUSR1: status active=\d+ accepted=1 /));
  gw.proc.kill('SIGUSR2');
  t.true(await logged(/SIGUSR2: status /));
  // Node opens its inspector (127.0.0.1:9229) on SIGUSR1 unless something takes the signal.
  t.false(/Debugger listening/.test(gw.stderr()));
  const others = ['SIGPIPE', 'SIGALRM', 'SIGVTALRM', 'SIGPROF', 'SIGXCPU', 'SIGXFSZ', 'SIGPWR', 'SIGSTKFLT', 'SIGTRAP', 'SIGSYS', 'SIGIO'] as const;
  for (const sig of others) {
    gw.proc.kill(sig);
    // txiki.js cannot catch SIGIO: ugate has libc ignore it instead (nothing to log, nothing ends).
    if (sig === 'SIGIO' && process.env.UGATE_RUNTIME === 'tjs') await sleep(200);
    else t.true(await logged(new RegExp(`${sig} ignored`)), sig);
    t.true(await socksEcho(gw, echo.port), `still serving after ${sig}`);
  }
  gw.proc.kill('SIGQUIT');
  t.is(await gw.exited, 0);
  t.regex(gw.stderr(), /SIGQUIT: no longer accepting; draining/);
  t.regex(gw.stderr(), /stopped accepted=\d+ /);
});

// ---------------------------------------------------------------------------------------------
// 8. Loops

test.serial('two gateways forwarding to each other: one connection stays within the per-source cap, and both keep serving', async (t) => {
  const [pa, pb] = await freePorts(2);
  const echo = await echoServer();
  const config = (own: number, other: number) => ({
    listeners: [
      { name: 'loop', type: 'sni', listen: `${OWN_LOOPBACK}:${own}`, default: { forward: `${OWN_LOOPBACK}:${other}` } },
      { name: 'p', type: 'mixed', listen: `${OWN_LOOPBACK}:0` },
    ],
    limits: { perSource: 50 },
    timeouts: { grace: '200ms' },
  });
  const a = await startGateway(config(pa!, pb!));
  const b = await startGateway(config(pb!, pa!));
  t.teardown(() => (echo.close(), a.stop(), b.stop()));
  const c = await connectTcp(OWN_LOOPBACK, pa!);
  // The end of the chain comes back as a reset, or, when the refused hop's connect itself failed,
  // as that hop's TLS alert (internal_error) and a close.
  const ended = readAll(c).then(
    (b) => (b.length === 7 && b[0] === 0x15 && b[6] === 80 ? 'TLS alert' : `eof after ${b.length} bytes`),
    (e: NodeJS.ErrnoException) => e.code ?? e.message,
  );
  c.write(buildClientHello({ sni: 'loop.test' }));
  t.regex(await Promise.race([ended, sleep(10_000).then(() => 'still open')]), /^(ECONNRESET|TLS alert)$/);
  c.end(); // after an alert the chain is half-closed: the client's FIN closes every hop
  // Every hop comes from 127.0.0.1: each gateway holds at most 50 of them at once; the first
  // refusal resets the whole chain back to the client, and every session ends.
  let refused = 0;
  for (const gw of [a, b]) {
    let s = await status(gw);
    for (let i = 0; i < 50 && s.active! > 0; i++) {
      await sleep(100);
      s = await status(gw);
    }
    t.is(s.active, 0);
    t.true(s.accepted! <= 50 && s.accepted! >= 2, `sessions: ${s.accepted}`);
    refused += s.refused!;
    t.true(await socksEcho(gw, echo.port), 'still serving');
  }
  t.is(refused, 1);
});

// ---------------------------------------------------------------------------------------------
// 9. Password guessing

test.serial('wrong passwords from one source are answered at a slowing pace; the right password always gets in at once', async (t) => {
  const echo = await echoServer();
  const gw = await startGateway({ listeners: [{ name: 'p', type: 'mixed', listen: `${OWN_LOOPBACK}:0`, users: [{ username: 'alice', password: 's3cret' }] }], timeouts: { grace: '200ms' } });
  t.teardown(() => (echo.close(), gw.stop()));
  const attempt = async (password: string, from: string) => {
    const started = Date.now();
    const r = await socksConnect(proxyAt(gw), '127.0.0.1', echo.port, { localAddress: from, user: { username: 'alice', password } });
    r.socket.destroy();
    return { ok: r.reply === 0, ms: Date.now() - started };
  };
  const times: number[] = [];
  for (let i = 0; i < 8; i++) {
    const r = await attempt(`guess${i}`, '127.0.0.3');
    t.false(r.ok);
    times.push(r.ms);
  }
  t.true(times.slice(0, 5).every((ms) => ms < 500), `the first five at once: ${times.join(', ')} ms`);
  t.true(times.slice(5).every((ms) => ms >= 900), `then one per second: ${times.join(', ')} ms`);
  // Guesses in parallel wait their turn; meanwhile the right password gets in at once, from
  // another device and from the guesser's own address alike: slowed, never locked out.
  const parallel = Array.from({ length: 3 }, (_, i) => attempt(`parallel${i}`, '127.0.0.3'));
  const other = await attempt('s3cret', '127.0.0.4');
  t.true(other.ok && other.ms < 500, `another device: ${JSON.stringify(other)}`);
  const same = await attempt('s3cret', '127.0.0.3');
  t.true(same.ok && same.ms < 500, `the guesser's address: ${JSON.stringify(same)}`);
  const p = await Promise.all(parallel);
  const slowest = Math.max(...p.map((x) => x.ms));
  t.true(slowest >= 2500, `three parallel guesses took ${slowest} ms: one per second, in turn`);
  const lines = await waitFor(() => {
    const l = gw.accessLog().filter((x) => x.close === 'auth-failed');
    return l.length === 11 ? l : undefined;
  });
  t.is(lines.filter((l) => /answered after \d+ ms: repeated failures from this source/.test(l.error ?? '')).length, 6);
});

// ---------------------------------------------------------------------------------------------
// Smaller findings

test('a slow SOCKS5 greeting is logged as a handshake timeout, not a bad handshake', async (t) => {
  const gw = await startGateway({ listeners: [{ name: 'p', type: 'mixed', listen: `${OWN_LOOPBACK}:0` }], timeouts: { sniff: '300ms' } });
  t.teardown(() => gw.stop());
  const c = await connectTcp(OWN_LOOPBACK, proxyAt(gw).port);
  c.on('error', () => {});
  c.write(Buffer.from([5, 2])); // two methods announced, none sent
  const [line] = await gw.waitForAccessLog(1);
  c.destroy();
  t.like(line, { proto: 'socks5', close: 'handshake-timeout', error: 'socks5 greeting: handshake deadline passed' });
});

test('a failed connect is explained to the client by its kind only; the details stay in the log', async (t) => {
  const [closed] = await freePorts(1); // nothing listens there
  const gw = await startGateway({ listeners: [{ name: 'p', type: 'mixed', listen: `${OWN_LOOPBACK}:0` }] });
  t.teardown(() => gw.stop());
  const r = await curl(['-s', '-x', `http://${OWN_LOOPBACK}:${proxyAt(gw).port}`, `http://${OWN_LOOPBACK}:${closed}/`, '-w', '\n%{http_code}']);
  const [body, code] = r.stdout.split('\n').filter(Boolean).slice(-2);
  t.is(code, '502');
  t.is(body, '502 Bad Gateway: the destination refused the connection');
  const [line] = await gw.waitForAccessLog(1);
  t.regex(line!.error ?? '', /ECONNREFUSED|Connection refused/);
});

test('an idle keep-alive HTTP connection is closed after timeouts.keepAlive, not the general idle timeout', async (t) => {
  const echo = await httpEchoServer('web');
  const [port] = await freePorts(1);
  const config = writeTempConfig({ timeouts: { keepAlive: '400ms' } });
  const routes = writeTempConfig(
    manifests(
      gatewayManifest('gw', [{ name: 'web', port: port!, protocol: 'HTTP' }]),
      // A filter, so that ugate serves each request itself (one unchanged backend would be spliced
      // as plain bytes, and its keep-alive would be the backend's).
      httpRouteManifest('r', {
        parentRefs: [{ name: 'gw' }],
        rules: [{ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'X-Via', value: 'ugate' }] } }], backendRefs: [backendRef(echo)] }],
      }),
    ),
  );
  const gw = await startGateway(null, { args: ['run', '-c', config, '-c', routes] });
  t.teardown(() => (echo.close(), gw.stop()));
  const c = await connectTcp(OWN_LOOPBACK, port!);
  const ended = readAll(c);
  const started = Date.now();
  c.write(`GET / HTTP/1.1\r\nHost: ka.test\r\n\r\n`);
  const all = (await ended).toString();
  const ms = Date.now() - started;
  t.regex(all, /^HTTP\/1\.1 200 /);
  t.true(ms >= 400 && ms < 5000, `closed after ${ms} ms`);
  const line = await waitFor(() => gw.accessLog().find((l) => l.requests === '1'));
  t.is(line.close, 'keepalive-timeout');
});
