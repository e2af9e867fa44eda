// ugate as a router package, on OpenWrt's real userland (the router lab): the x86_64 packages
// installed with real opkg and real apk, run by procd, capturing a LAN client's traffic through
// fw4, reloaded through UCI, killed, stopped, upgraded and removed. Also the fw3 (iptables) rules
// rendered on the lab and loaded with Debian's iptables, and the mips_24kc and aarch64 packages'
// files run under qemu-user. Runs in the Node pass only: what runs on the router is the packaged
// txiki.js, whatever runtime the test process uses. Needs root and the lab; skipped otherwise.

import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../helpers/gateway.ts';
import { socksConnect } from '../helpers/hostile.ts';
import { buildPackages, labSkipReason, labUp, SHARED_RUNTIME, type Lab } from '../helpers/router-lab.ts';
import { freePorts } from '../helpers/http-backends.ts';
import { hasCommand, OWN_LOOPBACK, readAll, systemCommand, testCertificate } from '../helpers/servers.ts';

const skip = labSkipReason ?? (process.env.UGATE_RUNTIME === 'tjs' ? 'runs once, in the Node pass (the router runs the packaged txiki.js)' : null);
const t = skip ? test.skip : test.serial;
if (skip) test.skip(`router lab: ${skip}`, () => {});

let pkgs = '';
let pkgs2 = '';
let out = '';
test.after.always(() => void (out && rmSync(out, { recursive: true, force: true })));
test.before(() => {
  if (skip) return;
  out = mkdtempSync(join(tmpdir(), 'ugate-packages-'));
  pkgs = buildPackages(join(out, 'r1'), ['x86_64', 'mips_24kc', 'aarch64_generic'], 1);
  pkgs2 = buildPackages(join(out, 'r2'), ['x86_64'], 2);
});

const ECHO = 'test/helpers/ns-echo-server.mjs';
const event = `ubus call service event '{"type":"config.change","data":{"package":"ugate"}}'`;

/** WAN test hosts: 203.0.113.10 (HTTP, HTTPS), 2001:db8::10 (HTTP), and another host 198.51.100.10. */
async function wanHosts(lab: Lab): Promise<void> {
  const cert = testCertificate();
  await lab.wanServer([process.execPath, ECHO, 'wan', cert.dir, '203.0.113.10:80', '203.0.113.10:443:tls', '[2001:db8::10]:80', 'other@198.51.100.10:80']);
}

const logread = (lab: Lab) => lab.router('/sbin/logread');
const accessLines = (lab: Lab) => logread(lab).split('\n').filter((l) => l.includes(' access '));
const waitLog = (lab: Lab, text: string, ms = 10_000) => waitFor(() => (logread(lab).includes(text) ? true : undefined), ms);

async function get(lab: Lab, url: string, args: string[] = []): Promise<{ server: string; client: string; host?: string }> {
  const r = await lab.lan(['curl', '-sS', '--max-time', '5', ...args, url]);
  if (r.code !== 0) throw new Error(`curl ${url}: exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Whether ugate logged a connection with this Host or SNI. */
const logged = (lab: Lab, name: string) => accessLines(lab).some((l) => l.includes(`host=${name}`) || l.includes(`sni=${name}`));

function ugateRunning(lab: Lab): number | null {
  const r = lab.routerTry(`ubus call service list '{"name":"ugate"}'`);
  const m = /"running": true,\s*"pid": (\d+)/.exec(r.out);
  return m ? Number(m[1]) : null;
}

const ugateTables = (lab: Lab) => [...lab.router('nft list tables').matchAll(/^table inet (ugate_\d+)$/gm)].map((m) => m[1]!);

const installers = {
  opkg: {
    files: (dir: string) => ['x86_64', 'all'].flatMap((d) => readdirSync(join(dir, d)).filter((f) => f.endsWith('.ipk')).map((f) => join(dir, d, f))),
    // opkg in the lab complains about the image's own packages having no file lists; the result is its exit code
    install: (names: string[]) => `opkg install ${names.map((n) => `/mnt/share/${n}`).join(' ')} >/tmp/opkg.log 2>&1; rc=$?; grep -v 'pkg_get_installed_files\\|Collected errors' /tmp/opkg.log; exit $rc`,
    remove: 'opkg remove ugate',
  },
  apk: {
    files: (dir: string) => ['x86_64', 'all'].flatMap((d) => readdirSync(join(dir, d)).filter((f) => f.endsWith('.apk')).map((f) => join(dir, d, f))),
    install: (names: string[]) => `apk add --allow-untrusted --no-network ${names.map((n) => `/mnt/share/${n}`).join(' ')} 2>&1`,
    remove: 'apk del ugate 2>&1',
  },
};

function share(lab: Lab, files: string[]): string[] {
  return files.map((f) => {
    const name = f.split('/').pop()!;
    execFileSync('cp', [f, join(lab.share, name)]);
    return name;
  });
}

for (const pm of ['opkg', 'apk'] as const) {
  t(`${pm}: install, capture through fw4 with UCI, reload, bad value, kill -9 until procd gives up, stop, disable, upgrade, remove`, async (t) => {
    const lab = await labUp(pm);
    try {
      const inst = installers[pm];
      lab.router('/etc/init.d/firewall start');
      await wanHosts(lab);
      // the router's own web service on its LAN address, port 80 (as LuCI is)
      lab.router('mkdir -p /tmp/www && echo router-page > /tmp/www/index.html && busybox httpd -p 192.168.1.1:80 -h /tmp/www');

      // ---- install: enabled at boot, running under procd, capture off (safe on a live router)
      const out = lab.router(inst.install(share(lab, inst.files(pkgs))));
      t.log(out.trim().split('\n').slice(-3).join(' | '));
      t.true(lab.router('ls /etc/rc.d').includes('S95ugate'), 'enabled at boot');
      await waitFor(() => ugateRunning(lab) ?? undefined);
      await waitLog(lab, 'running on tjs 26.6.0');
      t.regex(logread(lab), /open files limit 4096\)/, 'procd applied limits nofile');
      t.deepEqual(ugateTables(lab), [], 'capture is off as installed');
      t.is(lab.router('uci get firewall.ugate.path').trim(), '/usr/share/ugate/firewall.include');
      t.is((await get(lab, 'http://203.0.113.10/', ['-H', 'Host: before.test'])).server, 'wan');
      t.false(logged(lab, 'before.test'), 'not captured while capture is off');

      // ---- capture on through UCI and the config.change event procd turns into a reload
      lab.router(`uci set ugate.main.capture=1 && uci commit ugate && ${event}`);
      await waitLog(lab, 'capture on (nftables, ugate_');
      t.regex(logread(lab), /capture on \(nftables, ugate_\d+\): devices br-lan tcp 80,443 -> :15001/);
      t.is((await get(lab, 'http://203.0.113.10/', ['-H', 'Host: http.test'])).server, 'wan');
      t.is((await get(lab, 'https://tls.test/', ['-k', '--resolve', 'tls.test:443:203.0.113.10'])).server, 'wan');
      const v6 = await get(lab, 'http://[2001:db8::10]/', ['-H', 'Host: v6.test']);
      t.is(v6.client, 'fd00:2::15', 'IPv6 went through the router itself (ugate)');
      await waitFor(() => (logged(lab, 'http.test') && logged(lab, 'tls.test') && logged(lab, 'v6.test') ? true : undefined));
      // the router's own address is never captured
      const own = await lab.lan(['curl', '-sS', '--max-time', '5', '-H', 'Host: router.test', 'http://192.168.1.1/']);
      t.is(own.stdout.trim(), 'router-page');
      t.false(logged(lab, 'router.test'));

      // ---- a firewall restart drops every foreign table; the include has ugate put its rules back
      const applied = () => logread(lab).split('configuration applied').length;
      const table = ugateTables(lab)[0];
      const beforeRestart = applied();
      lab.router('/etc/init.d/firewall restart >/dev/null 2>&1');
      // the reload the include asked for is over once it logs, and the table is back
      await waitFor(() => (applied() > beforeRestart && ugateTables(lab)[0] === table ? true : undefined), 10_000);
      t.is((await get(lab, 'http://203.0.113.10/', ['-H', 'Host: after-fw.test'])).server, 'wan');
      await waitFor(() => (logged(lab, 'after-fw.test') ? true : undefined));

      // ---- a route to another WAN host, added in UCI
      const n = applied();
      lab.router(`uci set ugate.other=route && uci set ugate.other.host=moved.test && uci set ugate.other.action=forward && uci set ugate.other.backend=198.51.100.10:80 && uci commit ugate && ${event}`);
      await waitFor(() => (applied() > n ? true : undefined));
      t.is((await get(lab, 'http://203.0.113.10/', ['-H', 'Host: moved.test'])).server, 'other');

      // ---- a bad value is refused with its error; the running configuration keeps serving
      lab.router(`uci set ugate.main.quic=sometimes && uci commit ugate && ${event}`);
      await waitLog(lab, 'configuration refused');
      t.regex(logread(lab), /configuration refused, the running one keeps serving: \/etc\/config\/ugate: ugate main option quic \(line \d+\): must be "block" or "pass"/);
      t.is((await get(lab, 'http://203.0.113.10/', ['-H', 'Host: moved.test'])).server, 'other');
      lab.router(`uci set ugate.main.quic=block && uci commit ugate`);

      // ---- kill -9 until procd gives up: no rule is left and the LAN goes straight out
      lab.router('uci set ugate.service.respawn_timeout=1 && uci set ugate.service.respawn_retry=2 && uci commit ugate && /etc/init.d/ugate restart');
      await waitFor(() => (ugateTables(lab).length === 1 ? true : undefined));
      let kills = 0;
      for (let pid = ugateRunning(lab); pid !== null && kills < 10; pid = ugateRunning(lab)) {
        lab.router(`kill -9 ${pid}`);
        kills++;
        // procd waits respawn_timeout (1 s) before it starts ugate again
        await new Promise((r) => setTimeout(r, 2500));
      }
      t.is(kills, 3, 'procd respawned ugate twice (respawn_retry 2), then gave up');
      t.is(ugateRunning(lab), null, 'procd gave up');
      await waitFor(() => (ugateTables(lab).length === 0 ? true : undefined), 5000);
      t.is((await get(lab, 'http://203.0.113.10/', ['-H', 'Host: dead.test'])).server, 'wan');
      t.is((await get(lab, 'http://[2001:db8::10]/')).client, 'fd00:1::100', 'IPv6 goes straight to the WAN host');
      t.false(logged(lab, 'dead.test'));

      // ---- stop and disable: the same
      lab.router('/etc/init.d/ugate start');
      await waitFor(() => (ugateTables(lab).length === 1 ? true : undefined));
      lab.router('/etc/init.d/ugate stop');
      // procd's stop sends SIGTERM and returns; ugate removes its rules first thing
      await waitFor(() => (ugateTables(lab).length === 0 ? true : undefined), 10_000);
      t.is((await get(lab, 'http://[2001:db8::10]/')).client, 'fd00:1::100');
      lab.router('/etc/init.d/ugate disable');
      t.false(lab.router('ls /etc/rc.d').includes('ugate'));
      lab.router('/etc/init.d/ugate enable && /etc/init.d/ugate start');
      await waitFor(() => (ugateTables(lab).length === 1 ? true : undefined));

      // ---- upgrade keeps the edited configuration (capture on, the route), restarts ugate on the
      // new files and serves with it
      const before = ugateRunning(lab);
      const r2 = share(lab, inst.files(pkgs2).filter((f) => f.includes('ugate')));
      lab.router(pm === 'opkg' ? inst.install(r2) : `apk add --allow-untrusted --no-network ${r2.map((n) => `/mnt/share/${n}`).join(' ')} 2>&1`);
      t.regex(lab.router(pm === 'opkg' ? 'opkg list-installed ugate' : 'apk info -v ugate 2>/dev/null; apk list -I ugate 2>/dev/null'), /0\.1\.0-r2/);
      t.is(lab.router('uci get ugate.main.capture').trim(), '1');
      t.is(lab.router('uci get ugate.other.backend').trim(), '198.51.100.10:80');
      await waitFor(() => (ugateRunning(lab) && ugateTables(lab).length === 1 ? true : undefined), 10_000);
      t.not(ugateRunning(lab), before, 'the upgraded ugate runs, not the old process');
      t.is((await get(lab, 'http://203.0.113.10/', ['-H', 'Host: moved.test'])).server, 'other');

      // ---- remove: no process, no rule, no file but the edited configuration
      lab.router(inst.remove);
      // procd's stop is a SIGTERM: the process ends once it has removed its rules and drained
      await waitFor(() => (ugateRunning(lab) === null ? true : undefined), 15_000);
      t.deepEqual(ugateTables(lab), []);
      t.is(lab.router("ps w | grep -e '[u]gate\\.js' -e '[u]gate_[0-9]' || true").trim(), '', 'no ugate or guard process');
      for (const f of ['/usr/share/ugate', '/etc/init.d/ugate', '/usr/bin/ugate', '/etc/rc.d/S95ugate', '/etc/rc.d/K10ugate']) {
        t.is(lab.routerTry(`[ -e ${f} ]`).code, 1, `${f} is gone`);
      }
      t.is(lab.routerTry('uci -q get firewall.ugate').code, 1, 'the firewall include is gone');
      t.is(lab.router('uci get ugate.main.capture').trim(), '1', 'the edited configuration is kept');
      t.is((await get(lab, 'http://[2001:db8::10]/')).client, 'fd00:1::100');
    } finally {
      lab.down();
    }
  });
}

t("fw3: the rules ugate renders on the lab (zone lan resolved by fw3) load into Debian's iptables in a namespace", async (t) => {
  const lab = await labUp('fw3');
  try {
    share(lab, installers.opkg.files(pkgs));
    lab.router(installers.opkg.install(['txiki-js_26.6.0-r1_x86_64.ipk', 'ugate-splice_0.1.0-r1_x86_64.ipk', 'ugate_0.1.0-r1_all.ipk']));
    lab.router("uci set ugate.main.capture=1 && uci set ugate.main.firewall=iptables && uci add_list ugate.main.capture_exclude_src=192.168.1.50 && uci commit ugate");
    // fw3 resolves the zone; ugate renders what it would load (the lab's fw3 cannot load rules)
    const rules = lab.router('ugate capture -c /etc/config/ugate');
    t.regex(rules, /^# iptables-restore --noflush\n\*nat\n:ugate_\d+_capture - \[0:0\]/);
    t.regex(rules, /-A ugate_\d+_capture -m addrtype --dst-type LOCAL -j RETURN/);
    t.regex(rules, /-A ugate_\d+_capture -s 192\.168\.1\.50\/32 -j RETURN/);
    t.regex(rules, /-A ugate_\d+_capture -p tcp -m multiport --dports 80,443 -j REDIRECT --to-ports 15001/);
    t.regex(rules, /-I PREROUTING -i br-lan -j ugate_\d+_capture/);
    t.regex(rules, /-A ugate_\d+_quic -p udp --dport 443 -j REJECT/);
    t.regex(rules, /# ip6tables-restore --noflush\n\*nat/);
    const [v4, v6] = rules.split('# ip6tables-restore --noflush\n').map((s) => s.replace('# iptables-restore --noflush\n', ''));
    // the same text in a namespace of our own, with a device named like the lab's LAN bridge
    const ns = `ugfw3${process.pid % 10000}`;
    const inNs = (...a: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...a], { encoding: 'utf8' });
    try {
      execFileSync('ip', ['netns', 'add', ns]);
      inNs('ip', 'link', 'add', 'br-lan', 'type', 'bridge');
      execFileSync('ip', ['netns', 'exec', ns, systemCommand('iptables-restore')!, '--noflush'], { input: v4 });
      execFileSync('ip', ['netns', 'exec', ns, systemCommand('ip6tables-restore')!, '--noflush'], { input: v6 });
      const saved = inNs(systemCommand('iptables-save')!);
      t.regex(saved, /-A PREROUTING -i br-lan -j ugate_\d+_capture/);
      t.regex(saved, /-A ugate_\d+_capture -p tcp -m multiport --dports 80,443 -j REDIRECT --to-ports 15001/);
      t.regex(inNs(systemCommand('ip6tables-save')!), /-A ugate_\d+_capture -p tcp -m multiport --dports 80,443 -j REDIRECT --to-ports 15001/);
      // fw3's own rendering of the lab's firewall is untouched by ugate (its rules are chains of its own);
      // fw3 print exits 1 in the lab (Debian's xtables modules), after printing the rules
      const fw3 = lab.routerTry('fw3 print 2>/dev/null').out;
      t.regex(fw3, /-N zone_lan_input/);
      t.notRegex(fw3, /ugate_\d+/);
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  } finally {
    lab.down();
  }
});

/** Files of the ugate, ugate-splice and txiki-js packages of `arch`, unpacked into one root. */
function unpack(arch: string): string {
  const root = mkdtempSync(join(tmpdir(), `ugate-root-${arch}-`));
  const ipks = [...readdirSync(join(pkgs, arch)).map((f) => join(pkgs, arch, f)), ...readdirSync(join(pkgs, 'all')).map((f) => join(pkgs, 'all', f))].filter((f) => f.endsWith('.ipk'));
  for (const ipk of ipks) {
    const work = mkdtempSync(join(tmpdir(), 'ugate-ipk-'));
    execFileSync('tar', ['-xzf', ipk, '-C', work]);
    execFileSync('tar', ['-xzf', join(work, 'data.tar.gz'), '-C', root]);
    rmSync(work, { recursive: true, force: true });
  }
  return root;
}

for (const [arch, qemu] of [['mips_24kc', 'qemu-mips'], ['aarch64_generic', 'qemu-aarch64']] as const) {
  const q = skip ?? (hasCommand(qemu) ? null : `needs ${qemu} (Debian: qemu-user)`);
  (q ? test.skip : test.serial)(`qemu-user: the ${arch} packages' runtime, shim and bundle start ugate and forward a connection through splice`, async (t) => {
    const root = unpack(arch);
    t.teardown(() => rmSync(root, { recursive: true, force: true }));
    const echo = await new Promise<net.Server>((ok) => {
      const s = net.createServer((c) => c.pipe(c));
      s.listen(0, '127.0.0.1', () => ok(s));
    });
    // a port of this process's own loopback address, below the ephemeral range (see freePorts)
    const [port] = await freePorts(1);
    const config = join(root, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({ listeners: [{ name: 'p', type: 'mixed', listen: `${OWN_LOOPBACK}:${port}` }], dataPlane: 'splice', splice: { library: join(root, 'usr/lib/ugate/libugate_splice.so') } }),
    );
    const proc = spawn(qemu, ['-L', join(SHARED_RUNTIME, arch, 'sysroot'), join(root, 'usr/bin/tjs'), 'run', join(root, 'usr/share/ugate/ugate.js'), 'run', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await waitFor(() => (err.includes(' running on ') ? true : undefined), 60_000);
      t.regex(err, /data plane splice library=\S+libugate_splice\.so/);
      const { reply, socket } = await socksConnect({ host: OWN_LOOPBACK, port: port! }, '127.0.0.1', (echo.address() as net.AddressInfo).port);
      t.is(reply, 0);
      const got = readAll(socket);
      socket.resume(); // socksConnect leaves it paused
      socket.end(`through ${arch}`);
      t.is((await got).toString(), `through ${arch}`);
    } finally {
      proc.kill('SIGTERM');
      echo.close();
    }
    t.true(existsSync(join(root, 'usr/share/ugate/ugate.js')));
  });
}
