// The splice data plane through a real gateway process: a gigabyte both ways, a thousand pairs
// at once, sniffed bytes replayed intact, graceful shutdown with pairs open, and how the data
// plane is chosen (and what happens when the shim is missing). Runs on either runtime.

import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { startGateway, waitFor, writeTempConfig, ugateCommand, type RunningGateway } from '../helpers/gateway.ts';
import { connectTcp, fdCount, readAll, run } from '../helpers/servers.ts';
import { buildClientHello } from '../helpers/tls-fixtures.ts';

const MB = 1024 * 1024;

function backend(onConn: (s: net.Socket) => void): Promise<{ port: number; close: () => void }> {
  return new Promise((resolve) => {
    const server = net.createServer({ allowHalfOpen: true }, onConn);
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as net.AddressInfo).port, close: () => server.close() }));
  });
}

async function spliceGateway(port: number, extra: object = {}): Promise<RunningGateway> {
  const gw = await startGateway({
    listeners: [{ name: 'in', type: 'sni', listen: '127.0.0.1:0', default: { forward: `127.0.0.1:${port}` } }],
    dataPlane: 'splice',
    ...extra,
  });
  if (!/data plane splice library=\S+libugate_splice\.so/.test(gw.stderr())) throw new Error(`not on the splice plane:\n${gw.stderr()}`);
  return gw;
}

/**
 * A stream of `size` bytes in 1 MiB chunks, each a base block with its index stamped in front:
 * cheap to produce at a gigabyte, and a lost, repeated or reordered chunk changes the hash.
 */
function chunkSource(seed: number, size: number) {
  const base = Buffer.alloc(MB);
  for (let i = 0; i < MB; i += 4) base.writeUInt32LE((Math.imul(i + seed, 2654435761) ^ seed) >>> 0, i);
  return function* () {
    for (let i = 0; i < size / MB; i++) {
      const c = Buffer.from(base);
      c.writeUInt32LE(i, 0);
      c.writeUInt32LE(seed, 4);
      yield c;
    }
  };
}

/** Sends every chunk, then half-closes; returns the hash of `sentBefore` followed by the chunks. */
async function sendHashed(s: net.Socket, chunks: Iterable<Buffer>, sentBefore = Buffer.alloc(0)): Promise<string> {
  const h = createHash('sha256').update(sentBefore);
  for (const c of chunks) {
    h.update(c);
    if (!s.write(c)) await new Promise((r) => s.once('drain', r));
  }
  s.end();
  return h.digest('hex');
}

function receiveHashed(s: net.Socket): Promise<{ bytes: number; hash: string }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    s.on('data', (c: Buffer) => {
      h.update(c);
      bytes += c.length;
    });
    s.on('end', () => resolve({ bytes, hash: h.digest('hex') }));
    s.on('error', reject);
  });
}

// Serial: hashing two gigabytes blocks this process, where the backend lives too.
test.serial('1 GiB through the shim (512 MiB each way at once), checksummed; the access log counts every byte', async (t) => {
  const SIZE = 512 * MB;
  let serverSide!: Promise<[{ bytes: number; hash: string }, string]>;
  const be = await backend((s) => {
    serverSide = Promise.all([receiveHashed(s), sendHashed(s, chunkSource(2, SIZE)())]);
  });
  const gw = await spliceGateway(be.port);
  t.teardown(() => (be.close(), gw.stop()));
  const c = await connectTcp('127.0.0.1', gw.addr('in').port);
  const hello = Buffer.from(buildClientHello({ sni: 'bulk.test' }));
  c.write(hello);
  const [clientGot, clientSent] = await Promise.all([receiveHashed(c), sendHashed(c, chunkSource(1, SIZE)(), hello)]);
  const [serverGot, serverSent] = await serverSide;
  t.is(clientGot.bytes, SIZE);
  t.is(clientGot.hash, serverSent);
  // the backend got the ClientHello that was sniffed, then every byte after it
  t.is(serverGot.bytes, hello.length + SIZE);
  t.is(serverGot.hash, clientSent, 'upstream bytes');
  const [log] = await gw.waitForAccessLog(1);
  t.like(log, { proto: 'tls', sni: 'bulk.test', close: 'eof', up: String(hello.length + SIZE), down: String(SIZE) });
});

test.serial('1,000 concurrent spliced connections: all carried, descriptors held by the shim, back to baseline after', async (t) => {
  const N = 1000;
  const be = await backend((s) => s.pipe(s));
  // All 1,000 come from one address: the per-source caps are raised for this one busy client.
  const gw = await spliceGateway(be.port, { accessLog: true, limits: { perSource: N, handshakesPerSource: N } });
  t.teardown(() => (be.close(), gw.stop()));
  const pid = gw.proc.pid!;
  const baseline = fdCount(pid);
  const clients = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const c = await connectTcp('127.0.0.1', gw.addr('in').port);
      const first = Buffer.from(`\x00pair-${i}-first;`); // not TLS or HTTP: opaque at once
      const echoed = new Promise<Buffer>((resolve) => {
        let got = Buffer.alloc(0);
        const onData = (d: Buffer) => {
          got = Buffer.concat([got, d]);
          if (got.length >= first.length) {
            c.off('data', onData);
            c.pause();
            resolve(got);
          }
        };
        c.on('data', onData);
      });
      c.write(first);
      t.deepEqual(await echoed, first);
      return { c, first };
    }),
  );
  // All 1,000 are open through ugate now: two sockets each, held by the shim.
  const open = fdCount(pid);
  t.true(open >= baseline + 2 * N, `descriptors with ${N} pairs open: ${open} (baseline ${baseline})`);
  const results = await Promise.all(
    clients.map(async ({ c }, i) => {
      const rest = Buffer.from(`pair-${i}-last`.repeat(50));
      const all = readAll(c);
      c.resume();
      c.end(rest);
      return (await all).equals(rest);
    }),
  );
  t.is(results.filter(Boolean).length, N);
  const log = await gw.waitForAccessLog(N, 30_000);
  t.true(log.every((l) => l.close === 'eof' && l.up === l.down), 'every pair ended with EOF, echoed byte for byte');
  // The shim keeps at most `splice.pipePool` (32) idle pipes, two descriptors each.
  const after = await waitFor(() => {
    const n = fdCount(pid);
    return n <= baseline + 2 * 32 ? n : undefined;
  });
  t.true(after <= baseline + 64, `after: ${after}, baseline ${baseline}`);
});

test('sniffed bytes reach the backend intact: a ClientHello split across writes, then data in the same write', async (t) => {
  let got!: Promise<Buffer>;
  const be = await backend((s) => {
    got = readAll(s);
    void got.then(() => s.end('done'));
  });
  const gw = await spliceGateway(be.port);
  t.teardown(() => (be.close(), gw.stop()));
  const hello = Buffer.from(buildClientHello({ sni: 'split.test', alpn: ['h2', 'http/1.1'] }));
  const data = Buffer.from('application data right after the hello');
  const c = await connectTcp('127.0.0.1', gw.addr('in').port);
  c.write(hello.subarray(0, 20));
  await new Promise((r) => setTimeout(r, 100)); // the sniffer has to wait for more
  c.end(Buffer.concat([hello.subarray(20), data]));
  t.is((await readAll(c)).toString(), 'done');
  t.true((await got).equals(Buffer.concat([hello, data])));
  const [log] = await gw.waitForAccessLog(1);
  t.like(log, { proto: 'tls', sni: 'split.test', alpn_offered: 'h2,http/1.1', up: String(hello.length + data.length), down: '4', close: 'eof' });
});

test('graceful shutdown with spliced connections open: one finishes within the grace period, the rest are reset', async (t) => {
  const sockets: net.Socket[] = [];
  const backendErrors: string[] = [];
  const be = await backend((s) => {
    sockets.push(s);
    s.on('error', (e: NodeJS.ErrnoException) => backendErrors.push(e.code ?? e.message));
    s.on('data', (d: Buffer) => {
      if (d.includes('bye')) s.end('finished\n');
      else s.write(d);
    });
  });
  const gw = await spliceGateway(be.port, { timeouts: { grace: '1500ms' } });
  t.teardown(() => be.close());
  const clients = await Promise.all(
    [0, 1, 2].map(async (i) => {
      const c = await connectTcp('127.0.0.1', gw.addr('in').port);
      c.write(`\x00hello ${i}`);
      await new Promise((r) => c.once('data', r));
      return c;
    }),
  );
  const ends = clients.map((c) => readAll(c).then((b) => b.toString(), (e: NodeJS.ErrnoException) => e.code));
  const started = Date.now();
  const exit = gw.stop('SIGTERM');
  await waitFor(() => (gw.stderr().includes('no longer accepting') ? true : undefined));
  // still carried during the grace period
  clients[0]!.end('bye');
  t.is(await ends[0], 'finished\n');
  t.is(await exit, 0);
  t.true(Date.now() - started >= 1400, 'the others were given the grace period');
  // Cut short by the end of the grace period: a reset each way, never an EOF that looks complete.
  t.deepEqual(await Promise.all(ends.slice(1)), ['ECONNRESET', 'ECONNRESET'], 'the rest are reset at the end of the grace period');
  await waitFor(() => (backendErrors.length === 2 ? true : undefined));
  t.deepEqual(backendErrors, ['ECONNRESET', 'ECONNRESET']);
  const log = gw.accessLog();
  t.is(log.length, 3);
  t.deepEqual(log.map((l) => l.close).sort(), ['eof', 'shutdown', 'shutdown']);
  t.regex(gw.stderr(), /ugate: splice pairs=3 up=\d+ down=\d+ open=0/);
  for (const s of sockets) s.destroy();
});

test('auto: with the shim missing, one clear line and the JS pump carries the traffic', async (t) => {
  const be = await backend((s) => s.pipe(s));
  const gw = await startGateway({
    listeners: [{ name: 'in', type: 'sni', listen: '127.0.0.1:0', default: { forward: `127.0.0.1:${be.port}` } }],
    splice: { library: '/nonexistent/libugate_splice.so' },
  });
  t.teardown(() => (be.close(), gw.stop()));
  t.regex(gw.stderr(), /ugate: data plane js: splice shim unavailable \(\/nonexistent\/libugate_splice\.so: .+\)\n/);
  const c = await connectTcp('127.0.0.1', gw.addr('in').port);
  c.end('\x00still forwarded');
  t.is((await readAll(c)).toString(), '\x00still forwarded');
});

test('dataPlane "splice" with the shim missing is a start-up error naming the library', async (t) => {
  const file = writeTempConfig({
    listeners: [{ name: 'in', type: 'sni', listen: '127.0.0.1:0' }],
    dataPlane: 'splice',
    splice: { library: '/nonexistent/libugate_splice.so' },
  });
  const [cmd, args] = ugateCommand(['run', '-c', file]);
  const r = await run(cmd, args);
  t.is(r.code, 1);
  t.regex(r.stderr, /dataPlane "splice": cannot load the splice shim: \/nonexistent\/libugate_splice\.so/);
});

test('a pair the shim refuses (out of descriptors) is carried by the JS pump, whole, both ways', async (t) => {
  // A build of the shim whose ugs_add always fails with EMFILE: the path taken when it runs out.
  const dir = mkdtempSync(join(tmpdir(), 'ugate-refuse-'));
  const lib = join(dir, 'libugate_splice.so');
  const cc = await run('cc', ['-std=c11', '-O2', '-pthread', '-fPIC', '-shared', '-DUGS_TEST_REFUSE_ADD', '-o', lib, 'src/native/ugate_splice.c']);
  t.is(cc.code, 0, cc.stderr);
  let got!: Promise<Buffer>;
  const be = await backend((s) => {
    s.write('server speaks first\n');
    got = readAll(s);
    void got.then((b) => s.end(`got ${b.length}`));
  });
  const gw = await startGateway({
    listeners: [{ name: 'in', type: 'sni', listen: '127.0.0.1:0', default: { forward: `127.0.0.1:${be.port}` } }],
    dataPlane: 'splice',
    splice: { library: lib },
  });
  t.teardown(() => (be.close(), gw.stop()));
  const c = await connectTcp('127.0.0.1', gw.addr('in').port);
  const hello = Buffer.from(buildClientHello({ sni: 'refused.test' }));
  const body = Buffer.alloc(3 * MB, 7);
  const reply = readAll(c);
  c.write(hello);
  await new Promise((r) => setTimeout(r, 200)); // the hand-over happens while the client pauses
  c.end(body);
  t.is((await reply).toString(), `server speaks first\ngot ${hello.length + body.length}`);
  t.true((await got).equals(Buffer.concat([hello, body])));
  const [log] = await gw.waitForAccessLog(1);
  t.like(log, { close: 'eof', up: String(hello.length + body.length), down: String(20 + `got ${hello.length + body.length}`.length) });
  t.regex(gw.stderr(), /splice engine refused a pair \(Too many open files\); forwarding it with the JS pump/);
});

test('by default the shim beside the bundle is used', async (t) => {
  const gw = await startGateway({ listeners: [{ name: 'in', type: 'sni', listen: '127.0.0.1:0' }] });
  t.teardown(() => gw.stop());
  t.regex(gw.stderr(), /ugate: data plane splice library=\S+\/dist\/libugate_splice\.so pipe_size=1048576\n/);
});
