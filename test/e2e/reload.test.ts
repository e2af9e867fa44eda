// Hot reload under load: while clients keep making requests and long transfers through ugate,
// the configuration is reloaded (SIGHUP) 50 times with a changing route. No request may fail, no
// transfer may be cut short, the listening socket is kept (never closed and bound again), and
// the first new connection after each reload follows the new route.

import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { startGateway, waitFor, writeTempConfig } from '../helpers/gateway.ts';
import { freePorts } from '../helpers/http-backends.ts';
import { socksConnect } from '../helpers/hostile.ts';
import { httpEchoServer, OWN_LOOPBACK } from '../helpers/servers.ts';

const RELOADS = 50;
const TRANSFER_BYTES = 4 << 20;

function config(port: number, backendPort: number, generation: number): object {
  return {
    listeners: [{ name: 'p', type: 'mixed', listen: `${OWN_LOOPBACK}:${port}` }],
    routes: [
      { name: `svc-${generation}`, match: { hosts: ['svc.test'] }, action: { forward: `127.0.0.1:${backendPort}` } },
      // one more route in every other generation: the route table changes shape too
      ...(generation % 2 === 0 ? [{ name: 'extra', match: { hosts: ['extra.test'] }, action: 'reject' }] : []),
    ],
    timeouts: { grace: '1s' },
  };
}

/** One request through the proxy on a new connection; the name of the server that answered. */
function request(proxyPort: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: OWN_LOOPBACK, port: proxyPort, path: 'http://svc.test/x', headers: { host: 'svc.test' }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
        resolve((JSON.parse(Buffer.concat(chunks).toString()) as { server: string }).server);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

test.serial(`${RELOADS} reloads under load: no request fails, no transfer is cut, new connections follow the new route`, async (t) => {
  const [a, b] = [await httpEchoServer('a'), await httpEchoServer('b')];
  // sends TRANSFER_BYTES in 64 KiB steps 5 ms apart (a third of a second or more: each transfer
  // is open across several reloads), then closes
  const bulk = net.createServer((s) => {
    s.on('error', () => {});
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024, 7);
    const step = () => {
      if (s.destroyed) return;
      if (sent >= TRANSFER_BYTES) return void s.end();
      sent += chunk.length;
      if (s.write(chunk)) setTimeout(step, 5);
      else s.once('drain', () => setTimeout(step, 5));
    };
    step();
  });
  await new Promise<void>((r) => bulk.listen(0, '127.0.0.1', r));
  const bulkPort = (bulk.address() as net.AddressInfo).port;
  const [port] = await freePorts(1);
  const file = writeTempConfig(config(port!, a.port, 0));
  const gw = await startGateway(null, { args: ['run', '-c', file] });
  t.teardown(async () => {
    await gw.stop('SIGKILL');
    await a.close();
    await b.close();
    bulk.close();
  });

  let stop = false;
  let requests = 0;
  const failures: string[] = [];
  const requestLoop = (async () => {
    while (!stop) {
      try {
        await request(port!);
        requests++;
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
  })();
  let transfers = 0;
  let spanning = 0;
  const cut: number[] = [];
  const applied = () => gw.stderr().split('SIGHUP: configuration applied').length - 1;
  const transferLoop = (async () => {
    while (!stop) {
      const reloadsBefore = applied();
      const { reply, socket } = await socksConnect({ host: OWN_LOOPBACK, port: port! }, '127.0.0.1', bulkPort);
      if (reply !== 0) {
        failures.push(`socks reply ${reply}`);
        continue;
      }
      const got = await new Promise<number>((resolve) => {
        let n = 0;
        socket.on('data', (d: Buffer) => (n += d.length));
        // the end of the stream (the socket is half-open: 'close' would wait for our side too)
        socket.on('end', () => {
          socket.destroy();
          resolve(n);
        });
        socket.on('close', () => resolve(n));
        socket.on('error', () => {});
        socket.resume();
      });
      if (got === TRANSFER_BYTES) transfers++;
      else cut.push(got);
      if (applied() > reloadsBefore) spanning++;
    }
  })();

  let misrouted = 0;
  for (let i = 1; i <= RELOADS; i++) {
    const backend = i % 2 === 1 ? b : a;
    writeFileSync(file, JSON.stringify(config(port!, backend.port, i)));
    gw.proc.kill('SIGHUP');
    await waitFor(() => (applied() >= i ? true : undefined), 10_000);
    if ((await request(port!)) !== backend.name) misrouted++;
  }
  stop = true;
  await Promise.all([requestLoop, transferLoop]);

  t.deepEqual(failures, [], 'no request failed');
  t.deepEqual(cut, [], 'no transfer was cut short');
  t.is(misrouted, 0, 'after each reload, a new connection followed the new route');
  t.true(requests > RELOADS, `${requests} requests in the background`);
  // each transfer lasts at least 64 × 5 ms, and the first starts before the first reload
  t.true(spanning >= 1, `${spanning} of ${transfers} complete transfers were open across a reload`);
  t.is(applied(), RELOADS);
  // the socket was kept: bound once, never again
  t.is(gw.stderr().split(`addr=${OWN_LOOPBACK}:${port} (kept)`).length - 1, RELOADS);
  t.is(gw.stderr().split(/listening listener=p type=mixed addr=\S+\n/).length - 1, 1);
  t.log(`${requests} requests and ${transfers} transfers of ${TRANSFER_BYTES >> 20} MiB (${spanning} open across a reload) across ${RELOADS} reloads`);
});
