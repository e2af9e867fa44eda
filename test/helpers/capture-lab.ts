// Transparent capture for real: three network namespaces (client ↔ router ↔ server over veth
// pairs), REDIRECT of ports 80/443 in the router by iptables or nftables, ugate's redirect
// listener in the router, and the tests every firewall must pass. Needs root; elsewhere every
// test is reported as skipped with the reason.

import test from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { startGateway, waitFor, type RunningGateway } from './gateway.ts';
import { hasCommand, run, systemCommand, testCertificate } from './servers.ts';

const isRoot = process.getuid?.() === 0;
const tools = ['ip', 'iptables', 'ip6tables', 'nft', 'curl'].filter((c) => !hasCommand(c));
const skipReason = !isRoot ? 'needs root' : tools.length > 0 ? `needs ${tools.join(', ')}` : null;

const REDIRECT_PORT = 15001;
const PROXY_PORT = 1080;
const BLACKHOLE_PORT = 81;
const EDGE_PORT = 8443;
const SERVER4 = '10.201.2.2';
const SERVER6 = 'fd00:201:2::2';
const ROUTER4 = '10.201.1.1';

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
    }
  } else {
    inNs('nft', 'add', 'table', 'inet', 'ugate');
    inNs('nft', 'add', 'chain', 'inet', 'ugate', 'prerouting', '{ type nat hook prerouting priority dstnat; policy accept; }');
    inNs('nft', 'add', 'rule', 'inet', 'ugate', 'prerouting', 'iifname', 'r0', 'tcp', 'dport', '{ 80, 443 }', 'redirect', 'to', `:${REDIRECT_PORT}`);
    inNs('nft', 'add', 'chain', 'inet', 'ugate', 'output', '{ type filter hook output priority filter; policy accept; }');
    inNs('nft', 'add', 'rule', 'inet', 'ugate', 'output', 'tcp', 'dport', String(BLACKHOLE_PORT), 'drop');
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
    `${SERVER4}:80`, `${SERVER4}:443:tls`, `${SERVER4}:8443:tls`, `[${SERVER6}]:80`, `[${SERVER6}]:443:tls`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ok, fail) => {
    serverProc.stdout!.once('data', () => ok());
    serverProc.once('exit', (c) => fail(new Error(`server exited ${c}`)));
  });
  serverProc.stdout!.resume();
  const gw = await startGateway(
    {
      listeners: [
        { name: 'lan', type: 'redirect', listen: [`0.0.0.0:${REDIRECT_PORT}`, `[::]:${REDIRECT_PORT}`], default: 'passthrough' },
        { name: 'proxy', type: 'mixed', listen: `${ROUTER4}:${PROXY_PORT}` },
        { name: 'edge', type: 'sni', listen: `0.0.0.0:${EDGE_PORT}`, default: 'reject' },
      ],
      routes: [
        { name: 'routed', match: { protocols: ['tls'], hosts: ['routed.test'] }, action: { forward: `${SERVER4}:8443` } },
        { name: 'blocked', match: { hosts: ['blocked.test', '*.blocked.test'] }, action: 'reject' },
        // ugate's own 'edge' listener by the router's LAN address: not one of the literal listen
        // addresses, so the dial goes out and comes back in
        { name: 'self', match: { listeners: ['lan'], hosts: ['self.test'] }, action: { forward: `${ROUTER4}:${EDGE_PORT}` } },
      ],
      timeouts: { grace: '1s', connect: '700ms' },
    },
    { netns: router },
  );
  return {
    client,
    router,
    server,
    serverProc,
    gw,
    destroy: async () => {
      await gw.stop();
      serverProc.kill('SIGTERM');
      cleanup();
    },
  };
  }
}

const curlIn = (lab: Lab, args: string[]) => run('ip', ['netns', 'exec', lab.client, 'curl', '-sS', '--max-time', '10', ...args]);

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
    const log = await waitFor(() => {
      const lines = l.gw.accessLog();
      const v4 = lines.find((x) => x.dst === `${SERVER4}:80` && x.close === 'eof');
      const v6 = lines.find((x) => x.dst === `[${SERVER6}]:80` && x.close === 'eof');
      return v4 && v6 ? { v4, v6 } : undefined;
    });
    t.like(log.v4, { listener: 'lan', proto: 'http', host: SERVER4, action: 'passthrough', backend: `${SERVER4}:80` });
    t.like(log.v6, { action: 'passthrough', backend: `[${SERVER6}]:80` });
  });

  declare(title('a routed SNI goes to its configured backend'), async (t) => {
    const l = await labReady();
    const r = await curlIn(l, ['-k', '--resolve', `routed.test:443:${SERVER4}`, 'https://routed.test/r']);
    t.is(r.code, 0, r.stderr);
    t.like(JSON.parse(r.stdout), { listener: `${SERVER4}:8443:tls` });
    const line = await waitFor(() => l.gw.accessLog().find((x) => x.sni === 'routed.test'));
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
    const http = await curlIn(l, ['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: blocked.test', `http://${SERVER4}/`]);
    t.is(http.stdout, '403');
    const lines = await waitFor(() => {
      const x = l.gw.accessLog().filter((y) => y.route === 'blocked');
      return x.length >= 2 ? x : undefined;
    });
    t.true(lines.every((x) => x.close === 'rejected'));
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
