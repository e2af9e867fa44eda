// TLSRoute passthrough through `ugate run -c site.yaml`: a Gateway with TLS listeners
// (tls.mode Passthrough) and an HTTP listener, TLS clients (openssl s_client, curl --resolve,
// node:tls) reaching HTTPS echo backends by SNI — exact, wildcard, most specific wins, weights —
// and connections with no route or with invalid backends closed before any backend sees them.

import test from 'ava';
import tls from 'node:tls';
import net from 'node:net';
import { startGateway, type RunningGateway } from '../helpers/gateway.ts';
import { backendRef, freePorts, gatewayManifest, httpRouteManifest, manifests, startHttpBackend, tlsRouteManifest, type HttpBackend } from '../helpers/http-backends.ts';
import { curl, httpsEchoServer, OWN_LOOPBACK, run, type EchoServer } from '../helpers/servers.ts';

let gw: RunningGateway;
let tlsA: EchoServer, tlsB: EchoServer, tlsC: EchoServer;
let web: HttpBackend;
/** T: TLS listener without hostname; T2: TLS listener for *.b.test; H: HTTP listener */
let T: number, T2: number, H: number;

const onTls = [{ name: 'edge', sectionName: 'tls' }];
const one = (...refs: object[]) => [{ backendRefs: refs }];

test.before(async () => {
  [tlsA, tlsB, tlsC] = await Promise.all([httpsEchoServer('tls-a'), httpsEchoServer('tls-b'), httpsEchoServer('tls-c')]);
  web = await startHttpBackend('web');
  [T, T2, H] = await freePorts(3);
  gw = await startGateway(
    manifests(
      gatewayManifest('edge', [
        { name: 'tls', port: T, protocol: 'TLS', tls: { mode: 'Passthrough' } },
        { name: 'tls-b', port: T2, protocol: 'TLS', hostname: '*.b.test', tls: { mode: 'Passthrough' } },
        { name: 'web', port: H, protocol: 'HTTP' },
      ]),
      tlsRouteManifest('exact-a', { parentRefs: onTls, hostnames: ['a.test'], rules: one(backendRef(tlsA)) }),
      tlsRouteManifest('wild-b', { parentRefs: onTls, hostnames: ['*.b.test'], rules: one(backendRef(tlsB)) }),
      tlsRouteManifest('exact-x-b', { parentRefs: onTls, hostnames: ['x.b.test'], rules: one(backendRef(tlsC)) }),
      tlsRouteManifest('deeper-wild', { parentRefs: onTls, hostnames: ['*.deep.b.test'], rules: one(backendRef(tlsA)) }),
      tlsRouteManifest('weighted', {
        parentRefs: onTls,
        hostnames: ['c.test'],
        rules: one(backendRef(tlsA, { weight: 1 }), backendRef(tlsB, { weight: 3 }), backendRef(tlsC, { weight: 0 })),
      }),
      tlsRouteManifest('invalid-kind', { parentRefs: onTls, hostnames: ['invalid.test'], rules: one(backendRef(tlsA, { kind: 'Foo' })) }),
      tlsRouteManifest('unresolvable', { parentRefs: onTls, hostnames: ['dns.test'], rules: one({ name: 'nonexistent.invalid', port: 443 }) }),
      tlsRouteManifest('half-invalid', { parentRefs: onTls, hostnames: ['half.test'], rules: one(backendRef(tlsA, { kind: 'Foo', weight: 1 }), backendRef(tlsB, { weight: 1 })) }),
      // on the *.b.test listener only x.b.test remains of this route's names
      tlsRouteManifest('restricted', { parentRefs: [{ name: 'edge', sectionName: 'tls-b' }], hostnames: ['x.b.test', 'a.test'], rules: one(backendRef(tlsA)) }),
      httpRouteManifest('web', { parentRefs: [{ name: 'edge', sectionName: 'web' }], hostnames: ['web.test'], rules: [{ backendRefs: [backendRef(web)] }] }),
    ),
  );
});

test.after.always(async () => {
  await gw?.stop();
  await Promise.all([tlsA, tlsB, tlsC, web].map((s) => s?.close()));
});

const backends = () => [tlsA, tlsB, tlsC];
const connectionCounts = () => backends().map((b) => b.connections());

/** openssl s_client with -servername; returns the echo's server name, or null with the output. */
async function viaOpenssl(port: number, servername: string | null): Promise<{ server: string | null; out: string }> {
  const args = ['s_client', '-connect', `${OWN_LOOPBACK}:${port}`, '-quiet', '-verify_quiet'];
  if (servername === null) args.push('-noservername');
  else args.push('-servername', servername);
  const r = await run('openssl', args, `GET /who HTTP/1.0\r\nHost: ${servername ?? 'none'}\r\n\r\n`, 10_000);
  const m = /"server":"([^"]+)"/.exec(r.stdout);
  return { server: m ? m[1]! : null, out: `exit ${r.code}\n${r.stdout}\n${r.stderr}` };
}

/**
 * One TLS connection with `servername`, an HTTP/1.0 request, the echo's server name.
 * { server: null, error } when the connection is closed or reset before that.
 */
function viaNodeTls(port: number, servername: string, timeoutMs = 5000): Promise<{ server: string | null; error?: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let data = '';
    let settled = false;
    const done = (v: { server: string | null; error?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ ...v, ms: Date.now() - t0 });
    };
    const s = tls.connect({ host: OWN_LOOPBACK, port, servername, rejectUnauthorized: false }, () => {
      s.write(`GET /who HTTP/1.0\r\nHost: ${servername}\r\n\r\n`);
    });
    const timer = setTimeout(() => done({ server: null, error: 'timeout: neither an answer nor a close' }), timeoutMs);
    s.on('data', (c: Buffer) => (data += c.toString()));
    s.on('end', () => {
      const m = /"server":"([^"]+)"/.exec(data);
      done(m ? { server: m[1]! } : { server: null, error: `closed; got ${JSON.stringify(data.slice(0, 200))}` });
    });
    s.on('error', (e) => done({ server: null, error: e.message }));
    s.on('close', () => done({ server: null, error: `closed; got ${JSON.stringify(data.slice(0, 200))}` }));
  });
}

test.serial('listeners are named GATEWAY:PORT and typed', (t) => {
  t.regex(gw.stderr(), new RegExp(`listening listener=edge:${T} type=tls addr=${OWN_LOOPBACK.replaceAll('.', '\\.')}:${T}`));
  t.regex(gw.stderr(), new RegExp(`listening listener=edge:${T2} type=tls addr=${OWN_LOOPBACK.replaceAll('.', '\\.')}:${T2}`));
  t.regex(gw.stderr(), new RegExp(`listening listener=edge:${H} type=http addr=${OWN_LOOPBACK.replaceAll('.', '\\.')}:${H}`));
});

test.serial('openssl s_client: exact SNI, wildcard SNI, the most specific name wins', async (t) => {
  const cases: [sni: string, server: string, why: string][] = [
    ['a.test', 'tls-a', 'exact'],
    ['A.Test', 'tls-a', 'SNI is case-insensitive'],
    ['y.b.test', 'tls-b', 'wildcard'],
    ['p.q.b.test', 'tls-b', 'a wildcard covers several labels'],
    ['x.b.test', 'tls-c', 'an exact name beats the wildcard'],
    ['z.deep.b.test', 'tls-a', 'the longer wildcard beats *.b.test'],
    ['deep.b.test', 'tls-b', '*.deep.b.test does not match its bare parent; *.b.test does'],
  ];
  for (const [sni, server, why] of cases) {
    const r = await viaOpenssl(T, sni);
    t.is(r.server, server, `${sni} (${why}): ${r.out}`);
  }
});

test.serial('curl --resolve reaches the backend of its name, end to end TLS', async (t) => {
  for (const [name, server] of [
    ['a.test', 'tls-a'],
    ['b.test', null],
    ['www.b.test', 'tls-b'],
  ] as const) {
    const r = await curl(['-k', '--resolve', `${name}:${T}:${OWN_LOOPBACK}`, `https://${name}:${T}/path?q=1`]);
    if (server === null) {
      t.not(r.code, 0, `${name}: bare parent of *.b.test has no route, the connection must fail`);
      continue;
    }
    t.is(r.code, 0, `${name}: ${r.stderr}`);
    const echo = JSON.parse(r.stdout) as { server: string; url: string; host: string };
    t.is(echo.server, server, name);
    t.is(echo.url, '/path?q=1');
    t.is(echo.host, `${name}:${T}`);
  }
});

test.serial('weighted backendRefs 1:3:0 over 200 connections: exactly 50 and 150, weight 0 never', async (t) => {
  const counts: Record<string, number> = {};
  const N = 200;
  for (let i = 0; i < N; i += 20) {
    const batch = await Promise.all(Array.from({ length: 20 }, () => viaNodeTls(T, 'c.test')));
    for (const r of batch) {
      const k = r.server ?? `failed: ${r.error}`;
      counts[k] = (counts[k] ?? 0) + 1;
    }
  }
  // connections take their turns (smooth weighted round-robin): 200 is a whole number of 1+3 cycles
  t.deepEqual(counts, { 'tls-a': N / 4, 'tls-b': (3 * N) / 4 });
});

test.serial('no matching SNI (or none at all, or not TLS): closed without reaching any backend', async (t) => {
  const before = connectionCounts();
  for (const sni of ['nomatch.test', 'b.test', 'test', 'a.test.example']) {
    const r = await viaNodeTls(T, sni);
    t.is(r.server, null, `${sni}: reached ${r.server}`);
    t.false(r.error?.startsWith('timeout') ?? false, `${sni}: ${r.error}`);
    const o = await viaOpenssl(T, sni);
    t.is(o.server, null, `${sni}: ${o.out}`);
  }
  const none = await viaOpenssl(T, null);
  t.is(none.server, null, `no SNI: ${none.out}`);
  // plain HTTP on the TLS listener
  const plain = await new Promise<string>((resolve) => {
    const s = net.connect({ host: OWN_LOOPBACK, port: T }, () => s.write('GET / HTTP/1.1\r\nHost: a.test\r\n\r\n'));
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString('latin1')));
    s.on('close', () => resolve(got));
    s.on('error', () => {});
    setTimeout(() => s.destroy(), 5000);
  });
  t.notRegex(plain, /"server"/, 'plain HTTP on a TLS listener reaches no backend');
  t.deepEqual(connectionCounts(), before, 'no backend saw a connection');
});

test.serial('invalid backends: kind Foo and an unresolvable name reject the connection', async (t) => {
  const before = connectionCounts();
  for (const sni of ['invalid.test', 'dns.test']) {
    const r = await viaNodeTls(T, sni);
    t.is(r.server, null, `${sni}: reached ${r.server}`);
    t.false(r.error?.startsWith('timeout') ?? false, `${sni}: ${r.error}`);
    const o = await viaOpenssl(T, sni);
    t.is(o.server, null, `${sni}: ${o.out}`);
  }
  t.deepEqual(connectionCounts(), before, 'no backend saw a connection');
});

test.serial('an invalid backendRef gets its weighted share of rejected connections', async (t) => {
  const counts: Record<string, number> = {};
  const N = 100;
  for (let i = 0; i < N; i += 20) {
    const batch = await Promise.all(Array.from({ length: 20 }, () => viaNodeTls(T, 'half.test')));
    for (const r of batch) {
      const k = r.server ?? (r.error?.startsWith('timeout') ? 'timeout' : 'rejected');
      counts[k] = (counts[k] ?? 0) + 1;
    }
  }
  t.deepEqual(counts, { rejected: N / 2, 'tls-b': N / 2 }); // weights 1:1, taken in turn
});

test.serial('a TLS listener with a hostname: route names outside it are ignored', async (t) => {
  t.is((await viaNodeTls(T2, 'x.b.test')).server, 'tls-a');
  t.is((await viaOpenssl(T2, 'x.b.test')).server, 'tls-a');
  const before = connectionCounts();
  for (const sni of ['a.test', 'y.b.test', 'b.test']) {
    const r = await viaNodeTls(T2, sni);
    t.is(r.server, null, `${sni} on the *.b.test listener: reached ${r.server}`);
  }
  t.deepEqual(connectionCounts(), before);
});

test.serial('an HTTPRoute on another listener of the same Gateway', async (t) => {
  const r = await curl(['-H', 'Host: web.test', `http://${OWN_LOOPBACK}:${H}/web?x=1`]);
  t.is(r.code, 0, r.stderr);
  const echo = JSON.parse(r.stdout) as { server: string; url: string };
  t.is(echo.server, 'web');
  t.is(echo.url, '/web?x=1');
  const miss = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: a.test', `http://${OWN_LOOPBACK}:${H}/`]);
  t.is(miss.stdout, '404', 'a TLSRoute name does not route HTTP');
  // and TLS still works on its own listener afterwards
  t.is((await viaNodeTls(T, 'a.test')).server, 'tls-a');
  t.is(gw.proc.exitCode, null);
});
