// ugate installs its own capture rules (src/capture) in a real firewall, and they go when it goes.
// Three namespaces per firewall (LAN client ↔ router ↔ "WAN" server over veth pairs); ugate runs
// in the router with capture on for the LAN device, with nftables and with iptables. Checked with
// real traffic: the server echoes the client address it sees, so a connection that went through
// ugate (the router's WAN address) is told apart from one that went straight (the client's).
// Needs root; elsewhere the tests are reported as skipped with the reason.

import test from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startGateway, waitFor, type RunningGateway } from '../helpers/gateway.ts';
import { hasCommand, run, systemCommand, testCertificate } from '../helpers/servers.ts';

const isRoot = process.getuid?.() === 0;
const tools = ['ip', 'iptables', 'ip6tables', 'iptables-restore', 'nft', 'curl'].filter((c) => !hasCommand(c));
const skipReason = !isRoot ? 'needs root' : tools.length > 0 ? `needs ${tools.join(', ')}` : null;

const CLIENT4 = '10.202.1.2';
const EXCLUDED4 = '10.202.1.3';
const ROUTER_LAN4 = '10.202.1.1';
const ROUTER_WAN4 = '10.202.2.1';
const SERVER4 = '10.202.2.2';
const CLIENT6 = 'fd00:202:1::2';
const ROUTER_WAN6 = 'fd00:202:2::1';
const SERVER6 = 'fd00:202:2::2';
const REDIRECT_PORT = 15002;
const PROXY_PORT = 1081;

type Firewall = 'nftables' | 'iptables';

const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

interface Lab {
  client: string;
  router: string;
  server: string;
  dir: string;
  procs: ChildProcess[];
  destroy(): void;
}

function startIn(ns: string, args: string[]): Promise<ChildProcess> {
  const p = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((ok, fail) => {
    p.once('error', fail);
    p.once('exit', (c) => fail(new Error(`${args.join(' ')} exited with ${c}`)));
    p.stdout!.once('data', () => {
      p.stdout!.resume();
      ok(p);
    });
  });
}

/** A UDP server on port 443 that prints one line per datagram it receives. */
const UDP_COUNTER = `
import dgram from 'node:dgram';
const s = dgram.createSocket({ type: 'udp4' });
s.on('message', () => console.log('datagram'));
s.bind(443, process.argv[1], () => console.log('ready'));
`;

async function buildLab(fw: Firewall): Promise<Lab> {
  const id = `${process.pid % 10000}${fw[0]}`;
  const [client, router, server] = [`uwc${id}`, `uwr${id}`, `uws${id}`];
  const procs: ChildProcess[] = [];
  const destroy = () => {
    for (const p of procs) p.kill('SIGKILL');
    for (const ns of [client, router, server]) {
      try {
        sh('ip', 'netns', 'del', ns);
      } catch {
        // not there
      }
    }
  };
  destroy();
  try {
    for (const ns of [client, router, server]) sh('ip', 'netns', 'add', ns);
    const inNs = (ns: string, ...a: string[]) => sh('ip', 'netns', 'exec', ns, ...a);
    sh('ip', 'link', 'add', 'c0', 'netns', client, 'type', 'veth', 'peer', 'name', 'lan0', 'netns', router);
    sh('ip', 'link', 'add', 's0', 'netns', server, 'type', 'veth', 'peer', 'name', 'wan0', 'netns', router);
    const addrs: [string, string, string[]][] = [
      [client, 'c0', [`${CLIENT4}/24`, `${EXCLUDED4}/24`, `${CLIENT6}/64`]],
      [router, 'lan0', [`${ROUTER_LAN4}/24`, 'fd00:202:1::1/64']],
      [router, 'wan0', [`${ROUTER_WAN4}/24`, `${ROUTER_WAN6}/64`]],
      [server, 's0', [`${SERVER4}/24`, `${SERVER6}/64`]],
    ];
    for (const [ns, dev, list] of addrs) {
      for (const a of list) inNs(ns, 'ip', 'addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : []));
      inNs(ns, 'ip', 'link', 'set', dev, 'up');
    }
    for (const ns of [client, router, server]) inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
    inNs(client, 'ip', 'route', 'add', 'default', 'via', ROUTER_LAN4);
    inNs(client, 'ip', '-6', 'route', 'add', 'default', 'via', 'fd00:202:1::1');
    inNs(server, 'ip', 'route', 'add', 'default', 'via', ROUTER_WAN4);
    inNs(server, 'ip', '-6', 'route', 'add', 'default', 'via', ROUTER_WAN6);
    inNs(router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
    const cert = testCertificate();
    const echo = resolve('test/helpers/ns-echo-server.mjs');
    procs.push(await startIn(server, [process.execPath, echo, 'wan', cert.dir, `${SERVER4}:80`, `[${SERVER6}]:80`, `${SERVER4}:443:tls`]));
    // a service of the router itself on port 80 of its LAN address (think LuCI)
    procs.push(await startIn(router, [process.execPath, echo, 'router', cert.dir, `${ROUTER_LAN4}:80`]));
    procs.push(await startIn(server, [process.execPath, '--input-type=module', '-e', UDP_COUNTER, SERVER4]));
    const dir = mkdtempSync(join(tmpdir(), 'ugate-fw-'));
    return {
      client,
      router,
      server,
      dir,
      procs,
      destroy: () => {
        destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    destroy();
    throw e;
  }
}

function config(fw: Firewall, extra: { quic?: string; routes?: object[] } = {}): object {
  return {
    listeners: [
      { name: 'lan', type: 'redirect', listen: [`0.0.0.0:${REDIRECT_PORT}`, `[::]:${REDIRECT_PORT}`] },
      { name: 'proxy', type: 'mixed', listen: `0.0.0.0:${PROXY_PORT}` },
    ],
    routes: extra.routes ?? [],
    capture: { enabled: true, devices: ['lan0'], firewall: fw, quic: extra.quic ?? 'block', exclude: { sources: [EXCLUDED4] } },
    timeouts: { grace: '1s', connect: '2s' },
  };
}

const curlFrom = (lab: Lab, args: string[]) => run('ip', ['netns', 'exec', lab.client, 'curl', '-sS', '--max-time', '5', ...args]);
const seenBy = async (lab: Lab, url: string, args: string[] = []) => {
  const r = await curlFrom(lab, [...args, url]);
  if (r.code !== 0) throw new Error(`curl ${url}: exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { server: string; client: string; sni?: string };
};

/** The names of ugate's firewall objects in the router: nft tables, iptables chains. */
function ugateObjects(lab: Lab): string[] {
  const inNs = (...a: string[]) => sh('ip', 'netns', 'exec', lab.router, ...a);
  const nft = [...inNs(systemCommand('nft')!, 'list', 'tables').matchAll(/^table \S+ (ugate\S*)$/gm)].map((m) => m[1]!);
  const ipt = [systemCommand('iptables-save')!, systemCommand('ip6tables-save')!].flatMap((bin) => [...inNs(bin).matchAll(/^:(ugate\S*) /gm)].map((m) => m[1]!));
  return [...nft, ...ipt];
}

async function udpDatagramsArrive(lab: Lab, udpServer: ChildProcess): Promise<boolean> {
  let n = 0;
  const count = (d: Buffer) => (n += d.toString().split('datagram').length - 1);
  udpServer.stdout!.on('data', count);
  const send = `import dgram from 'node:dgram'; const s = dgram.createSocket('udp4'); s.on('error', () => {});
    for (let i = 0; i < 5; i++) s.send('quic?', 443, '${SERVER4}'); setTimeout(() => s.close(), 300);`;
  await run('ip', ['netns', 'exec', lab.client, process.execPath, '--input-type=module', '-e', send]);
  await new Promise((r) => setTimeout(r, 300));
  udpServer.stdout!.off('data', count);
  return n > 0;
}

for (const fw of ['nftables', 'iptables'] as const) {
  const t = skipReason ? test.skip : test.serial;
  t(`${fw}: capture from the LAN device only, never the router's own addresses or excluded sources, guard on ugate's ports, QUIC blocked`, async (t) => {
    const lab = await buildLab(fw);
    let gw: RunningGateway | undefined;
    try {
      gw = await startGateway(config(fw), { within: ['ip', 'netns', 'exec', lab.router] });
      t.regex(gw.stderr(), new RegExp(`capture on \\(${fw}, ugate_\\d+\\): devices lan0 tcp 80,443 -> :${REDIRECT_PORT}`));
      t.true(ugateObjects(lab).length > 0);
      // captured: the server sees the router's WAN address, and ugate logs the connection
      t.is((await seenBy(lab, `http://${SERVER4}/v4`)).client, ROUTER_WAN4);
      t.is((await seenBy(lab, `http://[${SERVER6}]/v6`)).client, ROUTER_WAN6);
      const tls = await seenBy(lab, `https://tls.test/`, ['-k', '--resolve', `tls.test:443:${SERVER4}`]);
      t.deepEqual([tls.client, tls.sni], [ROUTER_WAN4, 'tls.test']);
      await gw.waitForAccessLog(3);
      // not captured: the router's own service, and a source excluded by address
      t.is((await seenBy(lab, `http://${ROUTER_LAN4}/`)).server, 'router');
      t.is((await seenBy(lab, `http://${SERVER4}/excluded`, ['--interface', EXCLUDED4])).client, EXCLUDED4);
      t.is(gw.accessLog().length, 3);
      // QUIC: UDP 443 from the LAN is refused while capture is on
      t.false(await udpDatagramsArrive(lab, lab.procs[2]!));
      // ugate's ports answer the LAN, not the WAN side
      t.is((await run('ip', ['netns', 'exec', lab.client, 'curl', '-sS', '--max-time', '3', '-x', `socks5h://${ROUTER_LAN4}:${PROXY_PORT}`, `http://${SERVER4}/proxied`])).code, 0);
      const fromWan = await run('ip', ['netns', 'exec', lab.server, 'curl', '-sS', '--max-time', '2', '-x', `socks5h://${ROUTER_WAN4}:${PROXY_PORT}`, `http://${SERVER4}/`]);
      t.is(fromWan.code, 28, 'from the WAN side, the proxy port is dropped (curl times out)');
    } finally {
      await gw?.stop();
      lab.destroy();
    }
  });

  t(`${fw}: SIGHUP applies a new configuration and refuses a bad one; SIGTERM and SIGKILL both leave no rule behind`, async (t) => {
    const lab = await buildLab(fw);
    let gw: RunningGateway | undefined;
    try {
      const file = join(lab.dir, 'config.json');
      writeFileSync(file, JSON.stringify(config(fw)));
      gw = await startGateway(null, { within: ['ip', 'netns', 'exec', lab.router], args: ['run', '-c', file] });
      const g = gw;
      // a captured connection opened before the reload must survive it: it sends its request after
      const heldScript = `import net from 'node:net';
        const s = net.connect(80, '${SERVER4}', () => console.log('connected'));
        s.on('data', (d) => process.stdout.write(d)); s.on('error', (e) => console.log('error ' + e.code));
        process.stdin.once('data', () => s.write('GET /held HTTP/1.1\\r\\nHost: held\\r\\nConnection: close\\r\\n\\r\\n'));`;
      const held = spawn('ip', ['netns', 'exec', lab.client, process.execPath, '--input-type=module', '-e', heldScript], { stdio: ['pipe', 'pipe', 'inherit'] });
      lab.procs.push(held);
      let heldOut = '';
      held.stdout!.on('data', (d: Buffer) => (heldOut += d.toString()));
      await waitFor(() => (heldOut.includes('connected') ? true : undefined));

      // applied: a route now rejects /blocked's host, and QUIC passes
      writeFileSync(file, JSON.stringify(config(fw, { quic: 'pass', routes: [{ name: 'no-blocked', match: { hosts: ['blocked.test'] }, action: 'reject' }] })));
      gw.proc.kill('SIGHUP');
      await waitFor(() => (g.stderr().includes('SIGHUP: configuration applied') ? true : undefined));
      const status = async () => (await curlFrom(lab, ['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: blocked.test', `http://${SERVER4}/`])).stdout;
      t.is(await status(), '403', 'the new route rejects blocked.test');
      t.is((await seenBy(lab, `http://${SERVER4}/after-reload`)).client, ROUTER_WAN4);
      t.true(await udpDatagramsArrive(lab, lab.procs[2]!), 'quic pass: UDP 443 goes through');
      held.stdin!.write('go\n');
      await waitFor(() => (heldOut.includes('"server":"wan"') ? true : undefined));
      t.regex(heldOut, /"client":"10\.202\.2\.1"/, 'the held connection went through ugate');
      held.kill();

      // refused: the running configuration keeps serving
      writeFileSync(file, '{ "listeners": [ { "name": "lan", "type": "redirect", "listen": "0.0.0.0:99999" } ] }');
      gw.proc.kill('SIGHUP');
      await waitFor(() => (g.stderr().includes('SIGHUP: configuration refused') ? true : undefined));
      t.regex(g.stderr(), /SIGHUP: configuration refused, the running one keeps serving: .*listen.*port must be 0 to 65535/);
      t.is((await seenBy(lab, `http://${SERVER4}/still`)).client, ROUTER_WAN4);
      t.is(await status(), '403', 'the applied route still rejects');

      // a MAC exclusion: the client's device is no longer captured
      const mac = /link\/ether (\S+)/.exec(sh('ip', 'netns', 'exec', lab.client, 'ip', 'link', 'show', 'c0'))![1]!;
      const withMac = config(fw) as { capture: { exclude: { macs?: string[] } } };
      withMac.capture.exclude.macs = [mac.toUpperCase()];
      writeFileSync(file, JSON.stringify(withMac));
      gw.proc.kill('SIGHUP');
      await waitFor(() => (g.stderr().split('SIGHUP: configuration applied').length === 3 ? true : undefined));
      t.is((await seenBy(lab, `http://${SERVER4}/mac-excluded`)).client, CLIENT4);
      t.is((await seenBy(lab, `http://[${SERVER6}]/mac-excluded`)).client, CLIENT6);
      writeFileSync(file, JSON.stringify(config(fw)));
      gw.proc.kill('SIGHUP');
      await waitFor(() => (g.stderr().split('SIGHUP: configuration applied').length === 4 ? true : undefined));
      t.is((await seenBy(lab, `http://${SERVER4}/captured-again`)).client, ROUTER_WAN4);

      // SIGKILL: the guard removes the rules; LAN traffic goes straight to the server
      const before = ugateObjects(lab);
      t.true(before.length > 0);
      gw.proc.kill('SIGKILL');
      await gw.exited;
      await waitFor(() => (ugateObjects(lab).length === 0 ? true : undefined), 5000);
      t.is((await seenBy(lab, `http://${SERVER4}/after-kill`)).client, CLIENT4);
      t.is((await seenBy(lab, `http://[${SERVER6}]/after-kill`)).client, CLIENT6);

      // SIGTERM: rules go before the drain; a new ugate also clears rules of a process whose guard never ran
      writeFileSync(file, JSON.stringify(config(fw)));
      const stale = fw === 'nftables' ? [systemCommand('nft')!, 'add', 'table', 'inet', 'ugate_999999'] : [systemCommand('iptables')!, '-t', 'nat', '-N', 'ugate_999999_capture'];
      sh('ip', 'netns', 'exec', lab.router, ...stale);
      gw = await startGateway(null, { within: ['ip', 'netns', 'exec', lab.router], args: ['run', '-c', file] });
      t.is((await seenBy(lab, `http://${SERVER4}/again`)).client, ROUTER_WAN4);
      t.false(ugateObjects(lab).some((n) => n.startsWith('ugate_999999')), 'rules of a process that is gone are removed at start');
      t.is(await gw.stop('SIGTERM'), 0);
      t.deepEqual(ugateObjects(lab), []);
      t.is((await seenBy(lab, `http://${SERVER4}/after-stop`)).client, CLIENT4);
    } finally {
      await gw?.stop();
      lab.destroy();
    }
  });
}
