// Transparent capture for real: three network namespaces (client ↔ router ↔ server over veth
// pairs), REDIRECT of ports 80/443 in the router by iptables or nftables, ugate's redirect
// listener in the router, and the tests every firewall must pass. Needs root; elsewhere every
// test is reported as skipped with the reason.
//
// ugate runs as `ugate run -c config.json -c routes.yaml`: the JSON has the listeners and
// ugate's own routes, the YAML Gateway API routes attached to the redirect listener "lan"
// (HTTPRoute and TLSRoute for routed.test → the "backend" echo server). The servers echo each
// request exactly as it arrived, so a passed-through request can be compared byte for byte with
// what the client sent.

import test from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startGateway, waitFor, type RunningGateway } from './gateway.ts';
import { hasCommand, run, systemCommand, testCertificate } from './servers.ts';

const isRoot = process.getuid?.() === 0;
const tools = ['ip', 'iptables', 'ip6tables', 'nft', 'curl'].filter((c) => !hasCommand(c));
const skipReason = !isRoot ? 'needs root' : tools.length > 0 ? `needs ${tools.join(', ')}` : null;

const REDIRECT_PORT = 15001;
const PROXY_PORT = 1080;
const BLACKHOLE_PORT = 81;
/** ugate's own connections to this port are redirected back to it (an OUTPUT-chain loop). */
const LOOP_PORT = 8090;
/** the sni listener that passes through by Host/SNI */
const SNI_PORT = 8088;
/** router-local services: on loopback (80, 8083) and on the router's LAN address (8082) */
const ROUTER_ONLY_PORT = 8083;
const ROUTER_LAN_SERVICE_PORT = 8082;
const EDGE_PORT = 8443;
const SERVER4 = '10.201.2.2';
const SERVER6 = 'fd00:201:2::2';
const ROUTER4 = '10.201.1.1';
/** The echo server that the Gateway API routes send routed.test to (in the server namespace). */
const BACKEND_HTTP = `${SERVER4}:8080`;
const BACKEND_TLS = `${SERVER4}:9443`;

/** Gateway API routes attached to the redirect listener "lan" (a second `-c` file). */
const ROUTES_YAML = `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: routed-http
spec:
  parentRefs:
    - name: lan
  hostnames: [routed.test]
  rules:
    - matches:
        - path: { type: PathPrefix, value: /app }
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            add: [{ name: X-Captured-By, value: ugate }]
            set: [{ name: User-Agent, value: rewritten-by-ugate }]
            remove: [X-Secret]
        - type: URLRewrite
          urlRewrite:
            hostname: backend.internal
            path: { type: ReplacePrefixMatch, replacePrefixMatch: /v2 }
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            add: [{ name: X-Routed, value: "yes" }]
      backendRefs:
        - name: ${SERVER4}
          port: 8080
    - matches:
        - path: { type: Exact, value: /exact }
      backendRefs:
        - name: ${SERVER4}
          port: 8080
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata:
  name: routed-tls
spec:
  parentRefs:
    - name: lan
  hostnames: [routed.test]
  rules:
    - backendRefs:
        - name: ${SERVER4}
          port: 9443
`;

function sh(...args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

interface Lab {
  client: string;
  router: string;
  server: string;
  serverProc: ChildProcess;
  gw: RunningGateway;
  destroy(): Promise<void>;
}

type Firewall = 'iptables' | 'nftables';

function installRedirect(ns: string, fw: Firewall): void {
  const inNs = (cmd: string, ...a: string[]) => sh('ip', 'netns', 'exec', ns, systemCommand(cmd)!, ...a);
  if (fw === 'iptables') {
    for (const bin of ['iptables', 'ip6tables']) {
      inNs(bin, '-t', 'nat', '-A', 'PREROUTING', '-i', 'r0', '-p', 'tcp', '-m', 'multiport', '--dports', '80,443', '-j', 'REDIRECT', '--to-ports', String(REDIRECT_PORT));
      // A black hole, so that connecting to it times out.
      inNs(bin, '-A', 'OUTPUT', '-p', 'tcp', '--dport', String(BLACKHOLE_PORT), '-j', 'DROP');
      // A misconfiguration: the router's own outgoing connections to LOOP_PORT come back to ugate.
      inNs(bin, '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '--dport', String(LOOP_PORT), '-j', 'REDIRECT', '--to-ports', String(REDIRECT_PORT));
    }
  } else {
    inNs('nft', 'add', 'table', 'inet', 'ugate');
    inNs('nft', 'add', 'chain', 'inet', 'ugate', 'prerouting', '{ type nat hook prerouting priority dstnat; policy accept; }');
    inNs('nft', 'add', 'rule', 'inet', 'ugate', 'prerouting', 'iifname', 'r0', 'tcp', 'dport', '{ 80, 443 }', 'redirect', 'to', `:${REDIRECT_PORT}`);
    inNs('nft', 'add', 'chain', 'inet', 'ugate', 'output', '{ type filter hook output priority filter; policy accept; }');
    inNs('nft', 'add', 'rule', 'inet', 'ugate', 'output', 'tcp', 'dport', String(BLACKHOLE_PORT), 'drop');
    inNs('nft', 'add', 'chain', 'inet', 'ugate', 'output-nat', '{ type nat hook output priority -100; policy accept; }');
    inNs('nft', 'add', 'rule', 'inet', 'ugate', 'output-nat', 'tcp', 'dport', String(LOOP_PORT), 'redirect', 'to', `:${REDIRECT_PORT}`);
  }
}

/** Builds the three namespaces and their links; everything is removed by destroy(). */
async function buildLab(fw: Firewall): Promise<Lab> {
  const id = `${process.pid % 10000}${fw[0]}`;
  const [client, router, server] = [`ugc${id}`, `ugr${id}`, `ugs${id}`];
  const cleanup = () => {
    for (const ns of [client, router, server]) {
      try {
        sh('ip', 'netns', 'del', ns);
      } catch {
        // not there
      }
    }
  };
  cleanup();
  try {
    return await populate();
  } catch (e) {
    cleanup();
    throw e;
  }

  async function populate(): Promise<Lab> {
  for (const ns of [client, router, server]) sh('ip', 'netns', 'add', ns);
  const inNs = (ns: string, ...a: string[]) => sh('ip', 'netns', 'exec', ns, ...a);
  sh('ip', 'link', 'add', 'c0', 'netns', client, 'type', 'veth', 'peer', 'name', 'r0', 'netns', router);
  sh('ip', 'link', 'add', 's0', 'netns', server, 'type', 'veth', 'peer', 'name', 'r1', 'netns', router);
  const addrs: [string, string, string, string][] = [
    [client, 'c0', '10.201.1.2/24', 'fd00:201:1::2/64'],
    [router, 'r0', `${ROUTER4}/24`, 'fd00:201:1::1/64'],
    [router, 'r1', '10.201.2.1/24', 'fd00:201:2::1/64'],
    [server, 's0', `${SERVER4}/24`, `${SERVER6}/64`],
  ];
  for (const [ns, dev, v4, v6] of addrs) {
    inNs(ns, 'ip', 'addr', 'add', v4, 'dev', dev);
    inNs(ns, 'ip', '-6', 'addr', 'add', v6, 'dev', dev, 'nodad');
    inNs(ns, 'ip', 'link', 'set', dev, 'up');
  }
  for (const ns of [client, router, server]) inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
  inNs(client, 'ip', 'route', 'add', 'default', 'via', ROUTER4);
  inNs(client, 'ip', '-6', 'route', 'add', 'default', 'via', 'fd00:201:1::1');
  inNs(server, 'ip', 'route', 'add', 'default', 'via', '10.201.2.1');
  inNs(server, 'ip', '-6', 'route', 'add', 'default', 'via', 'fd00:201:2::1');
  inNs(router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  inNs(router, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
  installRedirect(router, fw);

  const cert = testCertificate();
  const serverProc = spawn('ip', ['netns', 'exec', server, process.execPath, resolve('test/helpers/ns-echo-server.mjs'), 'origin', cert.dir,
    `${SERVER4}:80`, `${SERVER4}:443:tls`, `${SERVER4}:8443:tls`, `[${SERVER6}]:80`, `[${SERVER6}]:443:tls`, `backend@${BACKEND_HTTP}`, `backend@${BACKEND_TLS}:tls`],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ok, fail) => {
    serverProc.stdout!.once('data', () => ok());
    serverProc.once('exit', (c) => fail(new Error(`server exited ${c}`)));
  });
  serverProc.stdout!.resume();
  // Services of the router itself, which LAN clients must not reach through ugate.
  const routerProc = spawn('ip', ['netns', 'exec', router, process.execPath, resolve('test/helpers/ns-echo-server.mjs'), 'router-local', cert.dir,
    '127.0.0.1:80', `127.0.0.1:${ROUTER_ONLY_PORT}`, `[::1]:${ROUTER_ONLY_PORT}`, `${ROUTER4}:${ROUTER_LAN_SERVICE_PORT}`],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ok, fail) => {
    routerProc.stdout!.once('data', () => ok());
    routerProc.once('exit', (c) => fail(new Error(`router-local server exited ${c}`)));
  });
  routerProc.stdout!.resume();
  const dir = mkdtempSync(join(tmpdir(), 'ugate-capture-'));
  const configFile = join(dir, 'config.json');
  const routesFile = join(dir, 'routes.yaml');
  writeFileSync(
    configFile,
    JSON.stringify({
      listeners: [
        { name: 'lan', type: 'redirect', listen: [`0.0.0.0:${REDIRECT_PORT}`, `[::]:${REDIRECT_PORT}`], default: 'passthrough' },
        { name: 'proxy', type: 'mixed', listen: `${ROUTER4}:${PROXY_PORT}` },
        { name: 'edge', type: 'sni', listen: `0.0.0.0:${EDGE_PORT}`, default: 'reject' },
        { name: 'sni', type: 'sni', listen: `${ROUTER4}:${SNI_PORT}`, default: 'passthrough' },
      ],
      routes: [
        { name: 'routed', match: { protocols: ['tls'], hosts: ['rule.test'] }, action: { forward: `${SERVER4}:8443` } },
        { name: 'blocked', match: { hosts: ['blocked.test', '*.blocked.test'] }, action: 'reject' },
        // for captured HTTP that no HTTPRoute covers
        { name: 'legacy-http', match: { protocols: ['http'], hosts: ['legacy.test'] }, action: { forward: BACKEND_HTTP } },
        // ugate's own 'edge' listener by the router's LAN address: not one of the literal listen
        // addresses, so the dial goes out and comes back in
        { name: 'self', match: { listeners: ['lan'], hosts: ['self.test'] }, action: { forward: `${ROUTER4}:${EDGE_PORT}` } },
        // one router service that LAN clients may reach through the proxy, by explicit permission
        { name: 'router-admin', match: { listeners: ['proxy'], dstPorts: [ROUTER_ONLY_PORT] }, action: 'passthrough', allowGatewayHost: true },
      ],
      timeouts: { grace: '1s', connect: '700ms' },
    }),
  );
  writeFileSync(routesFile, ROUTES_YAML);
  const gw = await startGateway(null, { within: ['ip', 'netns', 'exec', router], args: ['run', '-c', configFile, '-c', routesFile] });
  return {
    client,
    router,
    server,
    serverProc,
    gw,
    destroy: async () => {
      await gw.stop();
      serverProc.kill('SIGTERM');
      routerProc.kill('SIGTERM');
      cleanup();
    },
  };
  }
}

const curlIn = (lab: Lab, args: string[]) => run('ip', ['netns', 'exec', lab.client, 'curl', '-sS', '--max-time', '10', ...args]);

/**
 * A raw HTTP/1.1 client (node, in the client namespace): one TCP connection, each request's
 * bytes sent exactly as given once the previous response is complete; prints the responses.
 */
const RAW_CLIENT = `
import net from 'node:net';
let input = '';
for await (const c of process.stdin) input += c;
const { host, port, requests } = JSON.parse(input);
const socket = net.connect({ host, port });
await new Promise((ok, fail) => { socket.once('connect', ok); socket.once('error', fail); });
let buf = Buffer.alloc(0), ended = false, wake = () => {};
socket.on('data', (d) => { buf = Buffer.concat([buf, d]); wake(); });
socket.on('end', () => { ended = true; wake(); });
socket.on('error', () => { ended = true; wake(); });
function response() {
  const end = buf.indexOf('\\r\\n\\r\\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\\r\\n');
  const headers = lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]);
  const get = (n) => headers.find(([k]) => k.toLowerCase() === n)?.[1];
  let rest = buf.subarray(end + 4), body;
  if (get('transfer-encoding')) {
    const parts = [];
    for (;;) {
      const eol = rest.indexOf('\\r\\n');
      if (eol < 0) return null;
      const size = parseInt(rest.subarray(0, eol).toString(), 16);
      if (rest.length < eol + 2 + size + 2) return null;
      parts.push(rest.subarray(eol + 2, eol + 2 + size));
      rest = rest.subarray(eol + 2 + size + 2);
      if (size === 0) break;
    }
    body = Buffer.concat(parts);
  } else if (get('content-length') !== undefined) {
    const n = Number(get('content-length'));
    if (rest.length < n) return null;
    body = rest.subarray(0, n);
    rest = rest.subarray(n);
  } else {
    if (!ended) return null;
    body = rest;
    rest = Buffer.alloc(0);
  }
  buf = rest;
  return { status: Number(statusLine.split(' ')[1]), headers, body: body.toString('latin1') };
}
const responses = [];
for (const r of requests) {
  socket.write(Buffer.from(r, 'latin1'));
  let res;
  while (!(res = response()) && !ended) await new Promise((w) => (wake = w));
  if (!res) {
    responses.push({ error: 'the connection ended before a complete response', rest: buf.toString('latin1') });
    break;
  }
  responses.push(res);
}
console.log(JSON.stringify({ localPort: socket.localPort, responses }));
socket.destroy();
`;

interface RawResponse {
  status: number;
  headers: [string, string][];
  body: string;
  error?: string;
}

/** What the echo servers answer: who they are, and the request exactly as it arrived. */
interface Echo {
  server: string;
  listener: string;
  conn: number;
  seq: number;
  client: string;
  sni?: string | null;
  method: string;
  url: string;
  host: string | null;
  headers: [string, string][];
  raw: string;
  body: string;
}

/** Sends `requests` (latin1 text) one after another on one TCP connection from the client namespace. */
async function rawHttpIn(lab: Lab, host: string, port: number, requests: string[]): Promise<{ localPort: number; responses: RawResponse[] }> {
  const r = await run('ip', ['netns', 'exec', lab.client, process.execPath, '--input-type=module', '-e', RAW_CLIENT], JSON.stringify({ host, port, requests }), 10_000);
  if (r.code !== 0) throw new Error(`raw client failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { localPort: number; responses: RawResponse[] };
}

/** The header lines of a response head as curl -i prints it. */
const responseHeaders = (head: string): [string, string][] =>
  head
    .split('\r\n')
    .slice(1)
    .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]);

const header = (headers: [string, string][], name: string) => headers.filter(([k]) => k.toLowerCase() === name.toLowerCase()).map(([, v]) => v);

/**
 * The access-log lines of one raw-client connection: its request lines and its connection line.
 * Its address may have served an earlier connection in the lab (client ports are reused, and the
 * proxy tests connect from the same host), so the lines are found from the last request line for
 * `firstTarget` from `client` on, up to that connection's own line.
 */
function connectionLines(l: Lab, client: string, firstTarget: string): Promise<{ requests: Record<string, string>[]; conn: Record<string, string> }> {
  return waitFor(() => {
    const all = l.gw.accessLog().filter((x) => x.client === client);
    let start = all.length - 1;
    while (start >= 0 && !(all[start]!.method !== undefined && all[start]!.target === firstTarget)) start--;
    const end = start < 0 ? -1 : all.findIndex((x, i) => i > start && x.close !== undefined);
    return end < 0 ? undefined : { requests: all.slice(start, end), conn: all[end]! };
  });
}

/** A request for a host no route covers, with headers a normalising proxy would change. */
const UNROUTED_GET = (host: string, path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nuser-agent: raw-client/1\r\nX-Mixed-CASE:  two  spaces \r\nx-dup: 1\r\nX-Dup: 2\r\nX-Secret: kept\r\nAccept: */*\r\n\r\n`;

/** Registers the capture tests for one firewall; the lab is built once and always removed. */
export function captureTests(fw: Firewall): void {
  const declare = skipReason ? test.skip : test.serial;
  const title = (s: string) => `${fw}: ${s}${skipReason ? ` (skipped: ${skipReason})` : ''}`;
  let lab: Promise<Lab> | undefined;
  const labReady = () => (lab ??= buildLab(fw));
  test.after.always(async () => {
    if (lab) await (await lab.catch(() => null))?.destroy();
  });

  declare(title('the client reaches the real server through ugate, original destination honoured (IPv4 and IPv6)'), async (t) => {
    const l = await labReady();
    const http4 = await curlIn(l, [`http://${SERVER4}/plain`]);
    t.is(http4.code, 0, http4.stderr);
    t.like(JSON.parse(http4.stdout), { server: 'origin', listener: `${SERVER4}:80`, url: '/plain' });
    // The server sees the router as the client: the connection really went through ugate.
    t.is(JSON.parse(http4.stdout).client, '10.201.2.1');
    const http6 = await curlIn(l, ['-g', `http://[${SERVER6}]/v6`]);
    t.is(http6.code, 0, http6.stderr);
    t.like(JSON.parse(http6.stdout), { server: 'origin', listener: `[${SERVER6}]:80` });
    // HTTPRoutes are attached to 'lan', so captured HTTP is routed per request: one line per
    // request (where it went) and one per connection.
    const log = await waitFor(() => {
      const lines = l.gw.accessLog();
      const v4 = lines.find((x) => x.dst === `${SERVER4}:80` && x.close === 'eof');
      const v6 = lines.find((x) => x.dst === `[${SERVER6}]:80` && x.close === 'eof');
      const v4r = lines.find((x) => x.method && x.client === v4?.client);
      const v6r = lines.find((x) => x.method && x.client === v6?.client);
      return v4r && v6r ? { v4, v6, v4r, v6r } : undefined;
    });
    t.like(log.v4, { listener: 'lan', proto: 'http', host: SERVER4, requests: '1' });
    t.like(log.v4r, { listener: 'lan', proto: 'http', host: SERVER4, target: '/plain', route: 'default', action: 'passthrough', backend: `${SERVER4}:80`, status: '200' });
    t.like(log.v6, { listener: 'lan', proto: 'http', requests: '1' });
    t.like(log.v6r, { route: 'default', action: 'passthrough', backend: `[${SERVER6}]:80`, status: '200' });
  });

  declare(title('a routed SNI goes to its configured backend'), async (t) => {
    const l = await labReady();
    const r = await curlIn(l, ['-k', '--resolve', `rule.test:443:${SERVER4}`, 'https://rule.test/r']);
    t.is(r.code, 0, r.stderr);
    t.like(JSON.parse(r.stdout), { listener: `${SERVER4}:8443:tls` });
    const line = await waitFor(() => l.gw.accessLog().find((x) => x.sni === 'rule.test'));
    t.like(line, { route: 'routed', action: 'forward', backend: `${SERVER4}:8443`, dst: `${SERVER4}:443` });
  });

  declare(title('an unknown name passes through to the original destination (IPv4 and IPv6)'), async (t) => {
    const l = await labReady();
    const r = await curlIn(l, ['-k', '--resolve', `unknown.test:443:${SERVER4}`, 'https://unknown.test/u']);
    t.is(r.code, 0, r.stderr);
    t.like(JSON.parse(r.stdout), { listener: `${SERVER4}:443:tls`, host: 'unknown.test' });
    const r6 = await curlIn(l, ['-k', '-g', '--resolve', `unknown6.test:443:[${SERVER6}]`, 'https://unknown6.test/u']);
    t.is(r6.code, 0, r6.stderr);
    t.like(JSON.parse(r6.stdout), { listener: `[${SERVER6}]:443:tls` });
    const line = await waitFor(() => l.gw.accessLog().find((x) => x.sni === 'unknown6.test'));
    t.like(line, { route: 'default', action: 'passthrough', backend: `[${SERVER6}]:443`, proto: 'tls' });
  });

  declare(title('a rejected name is refused (TLS alert, HTTP 403)'), async (t) => {
    const l = await labReady();
    const tls = await curlIn(l, ['-k', '--resolve', `www.blocked.test:443:${SERVER4}`, 'https://www.blocked.test/']);
    t.not(tls.code, 0);
    const line = await waitFor(() => l.gw.accessLog().find((y) => y.sni === 'www.blocked.test'));
    t.like(line, { route: 'blocked', action: 'reject', close: 'rejected' });
    // HTTP is routed per request here (HTTPRoutes on 'lan'): the request is answered 403.
    const http = await curlIn(l, ['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: blocked.test', `http://${SERVER4}/`]);
    t.is(http.stdout, '403');
    const req = await waitFor(() => l.gw.accessLog().find((y) => y.method && y.host === 'blocked.test'));
    t.like(req, { listener: 'lan', status: '403' });
  });

  declare(title('connect timeout: SOCKS5 reply 6 (TTL expired), HTTP 504'), async (t) => {
    const l = await labReady();
    const socks = await curlIn(l, ['--socks5', `${ROUTER4}:${PROXY_PORT}`, `http://${SERVER4}:${BLACKHOLE_PORT}/`]);
    t.is(socks.code, 97, socks.stderr);
    t.regex(socks.stderr, /\(6\)/);
    const connect = await curlIn(l, ['-o', '/dev/null', '-w', '%{http_code}', '-x', `http://${ROUTER4}:${PROXY_PORT}`, `http://${SERVER4}:${BLACKHOLE_PORT}/`]);
    t.is(connect.stdout, '504');
    const lines = await waitFor(() => {
      const x = l.gw.accessLog().filter((y) => y.close === 'connect-timeout');
      return x.length >= 2 ? x : undefined;
    });
    t.true(lines.every((x) => x.dst === `${SERVER4}:${BLACKHOLE_PORT}` && Number(x.ms) >= 700));
  });

  declare(title('ugate reaching itself by a LAN address is recognised by the whole connection and closed as a loop'), async (t) => {
    const l = await labReady();
    const r = await curlIn(l, ['-k', '--resolve', `self.test:443:${SERVER4}`, 'https://self.test/']);
    t.not(r.code, 0);
    const inner = await waitFor(() => l.gw.accessLog().find((x) => x.close === 'loop'));
    t.like(inner, { listener: 'edge', sni: 'self.test', error: 'the client is ugate itself (forwarding loop)' });
    t.true(inner.client!.startsWith(`${ROUTER4}:`));
    const outer = await waitFor(() => l.gw.accessLog().find((x) => x.route === 'self'));
    t.like(outer, { listener: 'lan', backend: `${ROUTER4}:${EDGE_PORT}` });
    // one hop, not a chain of them
    t.is(l.gw.accessLog().filter((x) => x.sni === 'self.test').length, 2);
  });

  declare(title('a LAN client cannot reach the router itself through ugate: loopback, unspecified, its own address, link-local'), async (t) => {
    const l = await labReady();
    const proxy = `${ROUTER4}:${PROXY_PORT}`;
    // SOCKS5 by address and by name: reply 2, "connection not allowed by ruleset"
    for (const [flag, url] of [
      ['--socks5', 'http://127.0.0.1/'],
      ['--socks5-hostname', 'http://localhost/'],
      ['--socks5', 'http://0.0.0.0/'],
      ['--socks5', 'http://[::1]/'],
      ['--socks5', 'http://[::ffff:127.0.0.1]/'],
      ['--socks5', `http://${ROUTER4}:${ROUTER_LAN_SERVICE_PORT}/`],
      ['--socks5', 'http://169.254.169.254/'],
    ]) {
      const r = await curlIn(l, ['-g', flag!, proxy, url!]);
      t.is(r.code, 97, `${flag} ${url}: ${r.stderr}`);
      t.regex(r.stderr, /\(2\)/, `${flag} ${url}`);
    }
    // HTTP proxy (absolute form and CONNECT): 403
    const abs = await curlIn(l, ['-o', '/dev/null', '-w', '%{http_code}', '-x', `http://${proxy}`, 'http://127.0.0.1/']);
    t.is(abs.stdout, '403');
    const tunnel = await curlIn(l, ['-p', '-x', `http://${proxy}`, `http://${ROUTER4}:${ROUTER_LAN_SERVICE_PORT}/`]);
    t.regex(tunnel.stderr, /403/);
    // Passthrough by Host header on an sni listener
    const host = await curlIn(l, ['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: localhost', `http://${ROUTER4}:${SNI_PORT}/`]);
    t.is(host.stdout, '403');
    const lines = await waitFor(() => {
      const x = l.gw.accessLog().filter((y) => /on the gateway host itself/.test(y.error ?? ''));
      return x.length >= 10 ? x : undefined;
    });
    t.true(lines.every((x) => x.close === 'rejected'));
    t.true(lines.some((x) => /is loopback/.test(x.error!)) && lines.some((x) => /is an address of this host/.test(x.error!)) && lines.some((x) => /is link-local/.test(x.error!)));
  });

  declare(title('a route with allowGatewayHost lets LAN clients reach that router service, and nothing else reached it before'), async (t) => {
    const l = await labReady();
    const r = await curlIn(l, ['--socks5', `${ROUTER4}:${PROXY_PORT}`, `http://127.0.0.1:${ROUTER_ONLY_PORT}/admin`]);
    t.is(r.code, 0, r.stderr);
    // The first connection the router's services ever accepted: every refusal above stopped at ugate.
    t.like(JSON.parse(r.stdout), { server: 'router-local', url: '/admin', conn: 1 });
  });

  declare(title('an OUTPUT redirect that brings ugate its own connection back: the client gets an HTTP error, not an empty reply'), async (t) => {
    const l = await labReady();
    const r = await curlIn(l, ['-w', '\n%{http_code}', '-x', `http://${ROUTER4}:${PROXY_PORT}`, `http://${SERVER4}:${LOOP_PORT}/`]);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /^502 Bad Gateway: forwarding loop\n+502$/);
    const inner = await waitFor(() => l.gw.accessLog().find((x) => x.close === 'loop' && x.dst === `${SERVER4}:${LOOP_PORT}`));
    t.like(inner, { listener: 'lan', proto: 'http' });
  });

  // --- Gateway API routes on the redirect listener (routes.yaml): routed.test goes to the
  // "backend" echo server, every other host passes through to the original destination.

  declare(title('HTTPRoute: a routed host goes to its backend with the filters applied; a covered host with no matching rule is 404'), async (t) => {
    const l = await labReady();
    const resolveRouted = ['--resolve', `routed.test:80:${SERVER4}`];
    const r = await curlIn(l, ['-i', ...resolveRouted, '-H', 'X-Secret: s3cret', 'http://routed.test/app/page?q=1']);
    t.is(r.code, 0, r.stderr);
    const split = r.stdout.indexOf('\r\n\r\n');
    const [head, body] = [r.stdout.slice(0, split), r.stdout.slice(split + 4)];
    t.regex(head, /^HTTP\/1\.1 200 /);
    t.deepEqual(header(responseHeaders(head), 'x-routed'), ['yes']);
    const echo = JSON.parse(body) as Echo;
    t.like(echo, { server: 'backend', listener: BACKEND_HTTP, method: 'GET', url: '/v2/page?q=1', host: 'backend.internal', client: '10.201.2.1' });
    t.deepEqual(header(echo.headers, 'x-captured-by'), ['ugate']);
    t.deepEqual(header(echo.headers, 'user-agent'), ['rewritten-by-ugate']);
    t.deepEqual(header(echo.headers, 'x-secret'), []);
    // a rule without filters: the head arrives as curl sent it
    const exact = await curlIn(l, [...resolveRouted, '-H', 'X-Secret: s3cret', 'http://routed.test/exact']);
    t.is(exact.code, 0, exact.stderr);
    const plain = JSON.parse(exact.stdout) as Echo;
    t.like(plain, { server: 'backend', url: '/exact', host: 'routed.test' });
    t.deepEqual(header(plain.headers, 'x-secret'), ['s3cret']);
    t.deepEqual(header(plain.headers, 'x-captured-by'), []);
    const miss = await curlIn(l, ['-o', '/dev/null', '-w', '%{http_code}', ...resolveRouted, 'http://routed.test/nowhere']);
    t.is(miss.stdout, '404', miss.stderr);
    const lines = await waitFor(() => {
      const x = l.gw.accessLog().filter((y) => y.method && y.host === 'routed.test');
      return x.length >= 3 ? x : undefined;
    });
    t.like(lines.find((x) => x.target === '/app/page?q=1'), { listener: 'lan', proto: 'http', route: 'default/routed-http', rule: '0', backend: BACKEND_HTTP, status: '200' });
    t.like(lines.find((x) => x.target === '/exact'), { route: 'default/routed-http', rule: '1', backend: BACKEND_HTTP, status: '200' });
    const nowhere = lines.find((x) => x.target === '/nowhere');
    t.like(nowhere, { status: '404', error: 'no rule matches' });
    t.is(nowhere?.backend, undefined);
  });

  declare(title('HTTPRoute: a host no route covers reaches the original server byte for byte'), async (t) => {
    const l = await labReady();
    const get = UNROUTED_GET('unrouted.test', '/some/path?x=1&y=%20');
    const post = 'POST /form HTTP/1.1\r\nHost: unrouted.test\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world';
    const { localPort, responses } = await rawHttpIn(l, SERVER4, 80, [get, post]);
    t.deepEqual(
      responses.map((x) => x.status),
      [200, 200],
      JSON.stringify(responses),
    );
    const [a, b] = responses.map((x) => JSON.parse(x.body) as Echo);
    t.like(a, { server: 'origin', listener: `${SERVER4}:80`, method: 'GET', url: '/some/path?x=1&y=%20', host: 'unrouted.test', client: '10.201.2.1' });
    t.is(a!.raw, get);
    t.like(b, { server: 'origin', method: 'POST', body: 'hello world' });
    t.is(b!.raw + b!.body, post);
    // the upstream connection of the first request carried the second too (it may have come
    // from the shared pool, warm from an earlier test: then it served requests before)
    t.like(b, { conn: a!.conn, seq: a!.seq + 1 });
    t.deepEqual(header(responses[0]!.headers, 'x-routed'), []);
    const lines = await connectionLines(l, `10.201.1.2:${localPort}`, '/some/path?x=1&y=%20');
    t.like(
      lines.requests,
      [
        { method: 'GET', host: 'unrouted.test', route: 'default', action: 'passthrough', backend: `${SERVER4}:80`, status: '200' },
        { method: 'POST', host: 'unrouted.test', route: 'default', action: 'passthrough', backend: `${SERVER4}:80`, status: '200' },
      ],
    );
    t.like(lines.conn, { listener: 'lan', dst: `${SERVER4}:80`, proto: 'http', requests: '2' });
  });

  declare(title("HTTPRoute: a host no route covers follows ugate's own routes (forward, reject)"), async (t) => {
    const l = await labReady();
    const legacy = 'GET /legacy HTTP/1.1\r\nHost: legacy.test\r\nX-Secret: kept\r\n\r\n';
    const blocked = 'GET /b HTTP/1.1\r\nHost: blocked.test\r\n\r\n';
    const { responses } = await rawHttpIn(l, SERVER4, 80, [legacy, blocked]);
    t.deepEqual(
      responses.map((x) => x.status),
      [200, 403],
      JSON.stringify(responses),
    );
    const echo = JSON.parse(responses[0]!.body) as Echo;
    t.like(echo, { server: 'backend', listener: BACKEND_HTTP, url: '/legacy', host: 'legacy.test' });
    t.is(echo.raw, legacy);
    const line = await waitFor(() => l.gw.accessLog().find((x) => x.method && x.host === 'legacy.test'));
    t.like(line, { backend: BACKEND_HTTP, status: '200' });
  });

  // A host no HTTPRoute covers is decided by ugate's own routes; its request line names that route.
  declare(title("HTTPRoute: the request log names ugate's own route for a host no HTTPRoute covers"), async (t) => {
    const l = await labReady();
    const { localPort, responses } = await rawHttpIn(l, SERVER4, 80, ['GET /gap-1 HTTP/1.1\r\nHost: legacy.test\r\n\r\n', 'GET /gap-2 HTTP/1.1\r\nHost: blocked.test\r\n\r\n']);
    t.deepEqual(
      responses.map((x) => x.status),
      [200, 403],
    );
    const { requests } = await connectionLines(l, `10.201.1.2:${localPort}`, '/gap-1');
    t.like(requests, [
      { host: 'legacy.test', route: 'legacy-http', action: 'forward', backend: BACKEND_HTTP, status: '200' },
      { host: 'blocked.test', route: 'blocked', action: 'reject', status: '403' },
    ]);
  });

  declare(title('HTTPRoute: keep-alive on one captured connection is routed per request'), async (t) => {
    const l = await labReady();
    const first = UNROUTED_GET('unrouted.test', '/first');
    const second = 'GET /app/second HTTP/1.1\r\nHost: routed.test\r\nX-Secret: s3cret\r\n\r\n';
    const third = UNROUTED_GET('unrouted.test', '/third');
    const { localPort, responses } = await rawHttpIn(l, SERVER4, 80, [first, second, third]);
    t.deepEqual(
      responses.map((x) => x.status),
      [200, 200, 200],
      JSON.stringify(responses),
    );
    const [e1, e2, e3] = responses.map((x) => JSON.parse(x.body) as Echo);
    t.like(e1, { server: 'origin', listener: `${SERVER4}:80`, url: '/first' });
    t.is(e1!.raw, first);
    t.like(e2, { server: 'backend', listener: BACKEND_HTTP, url: '/v2/second', host: 'backend.internal' });
    t.deepEqual(header(e2!.headers, 'x-captured-by'), ['ugate']);
    t.deepEqual(header(e2!.headers, 'x-secret'), []);
    t.deepEqual(header(responses[1]!.headers, 'x-routed'), ['yes']);
    t.like(e3, { server: 'origin', listener: `${SERVER4}:80`, url: '/third' });
    t.is(e3!.raw, third);
    t.deepEqual(header(responses[2]!.headers, 'x-routed'), []);
    const lines = await connectionLines(l, `10.201.1.2:${localPort}`, '/first');
    t.like(
      lines.requests,
      [
        { target: '/first', route: 'default', action: 'passthrough', backend: `${SERVER4}:80` },
        { target: '/app/second', route: 'default/routed-http', backend: BACKEND_HTTP },
        { target: '/third', route: 'default', action: 'passthrough', backend: `${SERVER4}:80` },
      ],
    );
    t.like(lines.conn, { listener: 'lan', requests: '3' });
  });

  declare(title('TLSRoute: a routed SNI goes to its backend, an unrouted one to the original server (IPv4 and IPv6)'), async (t) => {
    const l = await labReady();
    const routed = await curlIn(l, ['-k', '--resolve', `routed.test:443:${SERVER4}`, 'https://routed.test/tls']);
    t.is(routed.code, 0, routed.stderr);
    t.like(JSON.parse(routed.stdout), { server: 'backend', listener: `${BACKEND_TLS}:tls`, sni: 'routed.test', host: 'routed.test', url: '/tls' });
    const routed6 = await curlIn(l, ['-k', '-g', '--resolve', `routed.test:443:[${SERVER6}]`, 'https://routed.test/tls6']);
    t.is(routed6.code, 0, routed6.stderr);
    t.like(JSON.parse(routed6.stdout), { server: 'backend', listener: `${BACKEND_TLS}:tls`, sni: 'routed.test', url: '/tls6' });
    const other = await curlIn(l, ['-k', '--resolve', `other.test:443:${SERVER4}`, 'https://other.test/tls']);
    t.is(other.code, 0, other.stderr);
    t.like(JSON.parse(other.stdout), { server: 'origin', listener: `${SERVER4}:443:tls`, sni: 'other.test', host: 'other.test', url: '/tls' });
    const lines = await waitFor(() => {
      const all = l.gw.accessLog();
      const r = all.filter((x) => x.sni === 'routed.test' && x.close);
      const o = all.find((x) => x.sni === 'other.test' && x.close);
      return r.length >= 2 && o ? { r, o } : undefined;
    });
    t.like(lines.r.find((x) => x.dst === `${SERVER4}:443`), { listener: 'lan', proto: 'tls', route: 'default/routed-tls', action: 'forward', backend: BACKEND_TLS });
    t.like(lines.r.find((x) => x.dst === `[${SERVER6}]:443`), { route: 'default/routed-tls', action: 'forward', backend: BACKEND_TLS });
    t.like(lines.o, { route: 'default', action: 'passthrough', backend: `${SERVER4}:443`, dst: `${SERVER4}:443` });
  });

  declare(title('HTTPRoute over IPv6: an unrouted host passes through byte for byte, the routed one goes to its backend'), async (t) => {
    const l = await labReady();
    const get = UNROUTED_GET('unrouted6.test', '/v6?x=1');
    const routed = 'GET /app/v6 HTTP/1.1\r\nHost: routed.test\r\n\r\n';
    const { responses } = await rawHttpIn(l, SERVER6, 80, [get, routed]);
    t.deepEqual(
      responses.map((x) => x.status),
      [200, 200],
      JSON.stringify(responses),
    );
    const [e1, e2] = responses.map((x) => JSON.parse(x.body) as Echo);
    t.like(e1, { server: 'origin', listener: `[${SERVER6}]:80`, url: '/v6?x=1', host: 'unrouted6.test', client: 'fd00:201:2::1' });
    t.is(e1!.raw, get);
    t.like(e2, { server: 'backend', listener: BACKEND_HTTP, url: '/v2/v6', host: 'backend.internal' });
    const line = await waitFor(() => l.gw.accessLog().find((x) => x.method && x.host === 'unrouted6.test'));
    t.like(line, { route: 'default', action: 'passthrough', backend: `[${SERVER6}]:80`, status: '200' });
  });

  declare(title('a direct connection to the redirect port (no NAT mapping) is closed and counted'), async (t) => {
    const l = await labReady();
    const r = await curlIn(l, [`http://${ROUTER4}:${REDIRECT_PORT}/`]);
    t.not(r.code, 0);
    const line = await waitFor(() => l.gw.accessLog().find((x) => x.close === 'no-original-dst'));
    t.is(line.listener, 'lan');
    await l.gw.stop();
    t.regex(l.gw.stderr(), /no_original_dst=1/);
  });
}
