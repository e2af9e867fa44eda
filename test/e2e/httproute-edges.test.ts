// Edge cases of the per-request HTTP proxy (core/http-session.ts, core/upstream-pool.ts) found in
// review: the shared pool, slow request bodies under route timeouts, early answers, absolute-form
// targets, framing headers in filters, and who is blamed in the access log.

import test from 'ava';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startGateway, type RunningGateway } from '../helpers/gateway.ts';
import {
  backendRef,
  freePorts,
  gatewayManifest,
  httpRouteManifest,
  manifests,
  rawRequest,
  RawHttpConnection,
  startHttpBackend,
  type HttpBackend,
} from '../helpers/http-backends.ts';
import { OWN_LOOPBACK } from '../helpers/servers.ts';

/** A raw backend: `onRequest(socket, head, rest)` is called once per connection's first head. */
async function rawBackend(onConn: (s: net.Socket, connNo: number) => void): Promise<{ port: number; close: () => void; conns: () => number }> {
  let n = 0;
  const socks = new Set<net.Socket>();
  const server = net.createServer((s) => {
    socks.add(s);
    s.on('error', () => {});
    s.on('close', () => socks.delete(s));
    onConn(s, ++n);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    conns: () => n,
    close: () => {
      for (const s of socks) s.destroy();
      server.close();
    },
  };
}

/** Calls `onHead(head)` for each request head on `s` (bodies: Content-Length only, discarded). */
function serveHeads(s: net.Socket, onHead: (head: string, seq: number) => void): void {
  let buf = Buffer.alloc(0);
  let skip = 0;
  let seq = 0;
  s.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    for (;;) {
      if (skip > 0) {
        const n = Math.min(skip, buf.length);
        skip -= n;
        buf = buf.subarray(n);
        if (skip > 0) return;
      }
      const i = buf.indexOf('\r\n\r\n');
      if (i < 0) return;
      const head = buf.subarray(0, i).toString('latin1');
      buf = buf.subarray(i + 4);
      const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      skip = cl ? Number(cl[1]) : 0;
      onHead(head, ++seq);
    }
  });
}

let gw: RunningGateway;
let P: number;
let echo: HttpBackend;
let pub: HttpBackend;
let adm: HttpBackend;
const closers: (() => void)[] = [];
let idleCloser: Awaited<ReturnType<typeof rawBackend>>;
let lateBytes: Awaited<ReturnType<typeof rawBackend>>;
let early: Awaited<ReturnType<typeof rawBackend>>;

test.before(async () => {
  [echo, pub, adm] = await Promise.all([startHttpBackend('echo'), startHttpBackend('pub'), startHttpBackend('adm')]);
  // Answers each request keep-alive, then closes the idle connection 100 ms later (like any
  // backend with a keep-alive timeout shorter than ugate's pool idle time, 2 s).
  idleCloser = await rawBackend((s, no) => {
    let timer: NodeJS.Timeout | undefined;
    serveHeads(s, () => {
      clearTimeout(timer);
      const body = `conn ${no}`;
      s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      timer = setTimeout(() => s.destroy(), 100);
    });
  });
  // A buggy backend: to HEAD it sends the body too, 30 ms after the head (as some hand-written
  // servers and CGI scripts do). The "body" here happens to look like a response.
  lateBytes = await rawBackend((s, no) => {
    serveHeads(s, (head) => {
      if (head.startsWith('HEAD ')) {
        const inj = 'HTTP/1.1 299 Injected\r\ncontent-length: 8\r\n\r\nINJECTED';
        s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${inj.length}\r\n\r\n`);
        setTimeout(() => s.write(inj), 30);
      } else {
        const body = `own response, conn ${no}, ${head.split(' ')[1]}`;
        s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      }
    });
  });
  // Answers 413 before reading the body, then closes (as Node's, Go's, many servers do).
  early = await rawBackend((s) => {
    let done = false;
    s.on('data', (c: Buffer) => {
      if (done || !c.includes('\r\n\r\n')) return;
      done = true;
      s.write('HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      setTimeout(() => s.destroy(), 50);
    });
  });
  closers.push(idleCloser.close, lateBytes.close, early.close);
  [P] = await freePorts(1);
  const on = [{ name: 'rv' }];
  gw = await startGateway(
    manifests(
      gatewayManifest('rv', [{ name: 'web', port: P!, protocol: 'HTTP' }]),
      httpRouteManifest('idle', { parentRefs: on, hostnames: ['idle.example.com'], rules: [{ backendRefs: [backendRef(idleCloser)] }] }),
      httpRouteManifest('late', { parentRefs: on, hostnames: ['late.example.com'], rules: [{ backendRefs: [backendRef(lateBytes)] }] }),
      httpRouteManifest('early', { parentRefs: on, hostnames: ['early.example.com'], rules: [{ backendRefs: [backendRef(early)] }] }),
      httpRouteManifest('timeouts', {
        parentRefs: on,
        hostnames: ['timeouts.example.com'],
        rules: [
          { matches: [{ path: { type: 'Exact', value: '/request' } }], timeouts: { request: '500ms' }, backendRefs: [backendRef(echo)] },
          { matches: [{ path: { type: 'Exact', value: '/backend' } }], timeouts: { backendRequest: '500ms' }, backendRefs: [backendRef(echo)] },
        ],
      }),
      httpRouteManifest('pub', { parentRefs: on, hostnames: ['public.example.com'], rules: [{ backendRefs: [backendRef(pub)] }] }),
      httpRouteManifest('adm', { parentRefs: on, hostnames: ['admin.example.com'], rules: [{ backendRefs: [backendRef(adm)] }] }),
      httpRouteManifest('strip', {
        parentRefs: on,
        hostnames: ['strip.example.com'],
        rules: [{ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { remove: ['Content-Length'] } }], backendRefs: [backendRef(echo)] }],
      }),
      httpRouteManifest('rw', {
        parentRefs: on,
        hostnames: ['rw.example.com'],
        rules: [{ filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'internal.example.org' } }], backendRefs: [backendRef(pub)] }],
      }),
    ),
  );
});

test.after.always(async () => {
  await gw?.stop();
  for (const c of closers) c();
  await Promise.all([echo, pub, adm].map((b) => b?.close()));
});

test.serial('pool: an idle upstream connection the backend closed is not reused for a POST (no 502)', async (t) => {
  const a = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => a.close());
  const r1 = await a.request(rawRequest({ host: 'idle.example.com', path: '/one', headers: [['connection', 'close']] }));
  t.is(r1.status, 200);
  // the backend closes its side after 100 ms; ugate's pool keeps it for 2 s without watching it
  await new Promise((r) => setTimeout(r, 400));
  const b = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => b.close());
  const r2 = await b.request(rawRequest({ method: 'POST', host: 'idle.example.com', path: '/two', body: 'hello' }));
  t.is(r2.status, 200, `POST after the backend closed the pooled connection: ${r2.status} ${r2.body.toString()}`);
});

test.serial('pool: bytes a backend sends on an idle pooled connection never reach another client', async (t) => {
  const a = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => a.close());
  const r1 = await a.request(rawRequest({ method: 'HEAD', host: 'late.example.com', path: '/head', headers: [['connection', 'close']] }), { head: true });
  t.is(r1.status, 200);
  await new Promise((r) => setTimeout(r, 200));
  // another client, another connection, a plain GET
  const b = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => b.close());
  const r2 = await b.request(rawRequest({ host: 'late.example.com', path: '/mine' }));
  // and the shift persists: the next client on that pooled connection gets B's response
  const c = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => c.close());
  const r3 = await c.request(rawRequest({ host: 'late.example.com', path: '/theirs' }));
  const got = `B (GET /mine) got: ${r2.status} ${r2.body.toString()}; C (GET /theirs) got: ${r3.status} ${r3.body.toString()}`;
  t.true(r2.status === 200 && /\/mine$/.test(r2.body.toString()) && /\/theirs$/.test(r3.body.toString()), got);
});

test.serial('access log: a client that goes away mid-response is not logged as an upstream reset', async (t) => {
  const c = await RawHttpConnection.open(OWN_LOOPBACK, P);
  await c.write(rawRequest({ host: 'public.example.com', path: '/big', headers: [['x-respond-body-bytes', String(64 * 1024 * 1024)]] }));
  await c.reader.readUntil('\r\n\r\n', 1 << 20);
  const port = c.socket.localPort;
  c.socket.resetAndDestroy();
  const line = await new Promise<Record<string, string> | undefined>((res) => {
    const end = Date.now() + 5000;
    const poll = () => {
      const l = gw.accessLog().find((x) => x.requests !== undefined && x.client?.endsWith(`:${port}`));
      if (l || Date.now() > end) return res(l);
      setTimeout(poll, 50);
    };
    poll();
  });
  t.truthy(line, gw.accessLog().slice(-4).map((l) => JSON.stringify(l)).join('\n'));
  t.not(line?.close, 'upstream-reset', JSON.stringify(line));
});

test.serial('timeouts.request fires while the client is slow to send the body: 504 in time', async (t) => {
  const c = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => c.close());
  const t0 = Date.now();
  // head + 10 of 100 body bytes, then the client stalls (idle timeout: 300 s by default)
  await c.write('POST /request HTTP/1.1\r\nHost: timeouts.example.com\r\nContent-Length: 100\r\n\r\n0123456789');
  let status: number | string;
  try {
    status = (await c.readResponse({ timeoutMs: 4000 })).status;
  } catch (e) {
    status = (e as Error).message.slice(0, 80);
  }
  t.is(status, 504, `request timeout 500 ms; after ${Date.now() - t0} ms got ${status}`);
});

test.serial('timeouts.backendRequest fires while the client is slow to send the body: 504 in time', async (t) => {
  const c = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => c.close());
  await c.write('POST /backend HTTP/1.1\r\nHost: timeouts.example.com\r\nContent-Length: 100\r\n\r\n0123456789');
  let status: number | string;
  try {
    status = (await c.readResponse({ timeoutMs: 4000 })).status;
  } catch (e) {
    status = (e as Error).message.slice(0, 80);
  }
  t.is(status, 504);
});

test.serial('an early final response (413) that ugate announces as keep-alive: the connection really persists', async (t) => {
  const c = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => c.close());
  const total = 200_000;
  await c.write(`POST /upload HTTP/1.1\r\nHost: early.example.com\r\nContent-Length: ${total}\r\n\r\n`);
  await c.write(Buffer.alloc(1000, 0x61));
  const r = await c.readResponse();
  t.is(r.status, 413);
  const closeAnnounced = (r.header('connection') ?? '').toLowerCase().includes('close');
  if (closeAnnounced) return t.pass();
  // No "Connection: close": the client may finish its body and send the next request.
  await new Promise((res) => setTimeout(res, 200));
  await c.write(Buffer.alloc(total - 1000, 0x61));
  let next: string;
  try {
    next = String((await c.request(rawRequest({ host: 'public.example.com', path: '/next' }), { timeoutMs: 3000 })).status);
  } catch (e) {
    next = (e as Error).message;
  }
  t.is(next, '200', '413 without Connection: close, then the next request on the connection');
});

test.serial('absolute-form target: routed by its authority, not by a conflicting Host (RFC 9112 §3.2.2)', async (t) => {
  const c = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => c.close());
  const r = await c.request('GET http://admin.example.com/secret HTTP/1.1\r\nHost: public.example.com\r\n\r\n');
  const echoRec = r.json();
  // ugate chose pub by Host; an RFC-conforming origin behind it serves admin.example.com's /secret
  t.false(echoRec.server === 'pub' && echoRec.url.startsWith('http://admin.example.com'), `routed to ${echoRec.server} which received target ${echoRec.url} with Host ${echoRec.host}`);
});

test.serial('URLRewrite hostname on an absolute-form request: the backend gets one consistent host', async (t) => {
  const c = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => c.close());
  const r = await c.request('GET http://rw.example.com/x HTTP/1.1\r\nHost: rw.example.com\r\n\r\n');
  const echoRec = r.json();
  t.false(echoRec.url.startsWith('http://rw.example.com'), `backend got target ${echoRec.url} with Host ${echoRec.host}: it must use the target's host (RFC 9112 §3.2.2), so the rewrite is lost`);
});

test.serial('a header filter that touches framing fields (Content-Length) cannot desync ugate and the backend', async (t) => {
  const c = await RawHttpConnection.open(OWN_LOOPBACK, P);
  t.teardown(() => c.close());
  const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: strip.example.com\r\n\r\n';
  const r = await c.request(rawRequest({ method: 'POST', host: 'strip.example.com', path: '/post', body: smuggled }));
  await new Promise((res) => setTimeout(res, 300));
  t.false(
    echo.requests.some((x) => x.url === '/smuggled'),
    `status ${r.status}; the backend saw: ${echo.requests.map((x) => `${x.method} ${x.url} (${x.framing})`).join(', ')}`,
  );
});
