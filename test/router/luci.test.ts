// The LuCI app on OpenWrt's real userland (the router lab: uhttpd, rpcd, LuCI, procd, fw4), driven by
// headless Chromium on the LAN client: log in, open Services → ugate, change settings and Save &
// Apply (rpcd commits and sends procd the config.change event, procd reloads ugate with SIGHUP),
// see LAN traffic follow the new settings and the Status page's counters rise with it, a value
// LuCI refuses at the field and one only ugate refuses (shown on the Status page), a Gateway API
// manifest uploaded through the page, and the app's ACL as the only grant of a second user.
// Screenshots of every page go to test-artifacts/luci/. Node pass only (the router runs the
// packaged txiki.js); needs root, the lab, Chromium and puppeteer-core, and is skipped otherwise.

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { waitFor } from '../helpers/gateway.ts';
import { browserSkipReason, launchInLan, login, LUCI, newPage, openMenu, openPageTab, openTab, saveAndApply, screenshot, textOf, type LanBrowser } from '../helpers/luci.ts';
import { buildPackages, labSkipReason, labUp, type Lab } from '../helpers/router-lab.ts';
import { testCertificate } from '../helpers/servers.ts';

const skip = labSkipReason ?? (process.env.UGATE_RUNTIME === 'tjs' ? 'runs once, in the Node pass (the router runs the packaged txiki.js)' : null) ?? browserSkipReason;
const t = skip ? test.skip : test.serial;
if (skip) test.skip(`LuCI in the router lab: ${skip}`, () => {});

const ECHO = 'test/helpers/ns-echo-server.mjs';
let out = '';
let lab: Lab | null = null;
let chromium: LanBrowser | null = null;
let page: Page;
const pageErrors: string[] = [];
const CAPTURE = 'input[data-widget-id="widget.cbid.ugate.main.capture"]';

const router = (script: string) => lab!.router(script);
const logread = () => router('/sbin/logread');
const applied = () => logread().split('configuration applied').length - 1;
const refused = () => logread().split('configuration refused').length - 1;

function ugatePid(): number | null {
  const m = /"running": true,\s*"pid": (\d+)/.exec(lab!.routerTry(`ubus call service list '{"name":"ugate"}'`).out);
  return m ? Number(m[1]) : null;
}

/** curl on the LAN client; the WAN test servers answer JSON naming themselves. */
async function lanGet(url: string, args: string[] = []): Promise<{ code: number; status: string; body: string }> {
  const r = await lab!.lan(['curl', '-sS', '--max-time', '5', '-o', '-', '-w', '\n%{http_code}', ...args, url]);
  const i = r.stdout.lastIndexOf('\n');
  return { code: r.code, status: r.stdout.slice(i + 1), body: r.stdout.slice(0, i) };
}
const servedBy = async (host: string) => {
  const r = await lanGet('http://203.0.113.10/', ['-H', `Host: ${host}`]);
  return r.status === '200' ? (JSON.parse(r.body) as { server: string }).server : `HTTP ${r.status}`;
};

/** A number the Status page shows (data-stat cells start with it). */
async function stat(key: string): Promise<number> {
  const text = await textOf(page, `[data-stat="${key}"]`);
  return Number(/^[\d.]+/.exec(text)?.[0] ?? NaN);
}
/** "a / b" on the Status page. */
async function pair(key: string): Promise<[number, number]> {
  const m = /^(\d+) \/ (\d+)$/.exec(await textOf(page, `[data-stat="${key}"]`));
  return [Number(m?.[1] ?? NaN), Number(m?.[2] ?? NaN)];
}
/** Until the Status page polled again (every 5 s): it shows ugate's uptime, which always changes. */
async function nextPoll(): Promise<void> {
  const uptime = await textOf(page, '[data-stat="uptime"]');
  await page.waitForFunction((u) => document.querySelector('[data-stat="uptime"]')?.textContent !== u, { timeout: 15_000 }, uptime);
}

test.before(async () => {
  if (skip) return;
  out = mkdtempSync(join(tmpdir(), 'ugate-luci-packages-'));
  buildPackages(out, ['x86_64'], 1, { luci: true });
  lab = await labUp('luci');
  router('/etc/init.d/firewall start');
  const cert = testCertificate();
  await lab.wanServer([process.execPath, ECHO, 'wan', cert.dir, '203.0.113.10:80', '203.0.113.10:443:tls', 'other@198.51.100.10:80']);
});

test.after.always(async () => {
  await chromium?.close();
  lab?.down();
  if (out) rmSync(out, { recursive: true, force: true });
});

t('opkg installs luci-app-ugate beside ugate: rpcd serves luci.ugate, LuCI lists Services → ugate', async (t) => {
  const files = ['x86_64', 'all'].flatMap((d) => readdirSync(join(out, d)).filter((f) => f.endsWith('.ipk')).map((f) => join(out, d, f)));
  t.true(files.some((f) => /\/luci-app-ugate_0\.1\.0-r1_all\.ipk$/.test(f)), 'make packages wrote the LuCI app');
  for (const f of files) execFileSync('cp', [f, lab!.share]);
  const names = files.map((f) => `/mnt/share/${f.split('/').pop()}`).join(' ');
  // opkg in the lab complains about the image's own packages having no file lists; the result is its exit code
  t.log(router(`opkg install ${names} >/tmp/opkg.log 2>&1; rc=$?; grep -v 'pkg_get_installed_files\\|Collected errors' /tmp/opkg.log | tail -4; exit $rc`).trim());
  t.regex(router('opkg list-installed luci-app-ugate'), /^luci-app-ugate - 0\.1\.0-r1$/m);
  // the postinst had rpcd reload its plugins and ACLs
  await waitFor(() => (lab!.routerTry('ubus list luci.ugate').code === 0 ? true : undefined), 10_000);
  await waitFor(() => (ugatePid() ? true : undefined), 10_000);
  await waitFor(() => (logread().includes('running on tjs') ? true : undefined), 15_000);
  t.is(router('uci -q get ugate.main.admin').trim(), '127.0.0.1:15000', "ugate's package turns the statistics endpoint on");

  router('/etc/lab-luci.sh');
  chromium = await launchInLan(lab!);
  page = await newPage(chromium.browser, pageErrors);
  await login(page, 'root', 'lab');
  await openMenu(page, 'Services', 'ugate');
  t.is(page.url(), `${LUCI}/admin/services/ugate`);
  await page.waitForSelector('#cbi-ugate-main');
  t.is(await textOf(page, '#tabmenu li.active'), 'Settings', 'the first tab is Settings');
  t.true(await page.$eval(CAPTURE, (e) => !(e as HTMLInputElement).checked), 'capture is off as installed');
  // the capture zones' choices are the firewall's zones (the lab's: lan on br-lan, wan on eth1)
  const zones = await page.$$eval('[id="cbid.ugate.main.capture_zone"] li[data-value]', (li) => li.map((e) => (e as HTMLElement).innerText.trim()));
  t.deepEqual(zones, ['lan (br-lan)', 'wan (eth1)']);
  t.log(await screenshot(page, '1-settings'));
  t.deepEqual(pageErrors, []);
});

t('the Status page shows the running ugate: version, capture off, its listener', async (t) => {
  await openPageTab(page, 'Status');
  await page.waitForSelector('#ugate-status [data-state="running"]', { timeout: 15_000 });
  t.is(await textOf(page, '[data-stat="pid"]'), String(ugatePid()));
  t.regex(await textOf(page, '[data-stat="version"]'), /^0\.1\.0 \(tjs 26\.6\.0\)$/);
  t.regex(await textOf(page, '[data-stat="capture.enabled"]'), /^no/);
  t.regex(await textOf(page, '[data-table="listeners"]'), /lan\s+redirect\s+0\.0\.0\.0:15001/);
  t.log(await screenshot(page, '2-status'));
  t.deepEqual(pageErrors, []);
});

t('Save & Apply: capture on and a route that rejects a host reach ugate as a reload, and LAN traffic follows them', async (t) => {
  t.timeout(180_000);
  const pid = ugatePid();
  const before = applied();
  t.is(await servedBy('blocked.test'), 'wan', 'before: nothing is captured');
  t.false(logread().includes('host=blocked.test'));

  await openPageTab(page, 'Settings');
  await page.waitForSelector('#cbi-ugate-main');
  // a named route: the name, Add, then the route's dialog (whose Save re-renders the form from
  // what is staged, so the route goes first and the checkbox after it)
  await page.type('#cbi-ugate-route .cbi-section-create-name', 'blocked');
  await page.click('#cbi-ugate-route .cbi-button-add');
  const dialog = await page.waitForSelector('.modal #cbi-ugate-blocked', { visible: true });
  t.truthy(dialog);
  await page.type('.modal input[id="widget.cbid.ugate.blocked.host"]', 'blocked.test');
  await page.keyboard.press('Enter');
  t.is(await page.$eval('.modal select[id="widget.cbid.ugate.blocked.action"]', (e) => (e as HTMLSelectElement).value), 'reject', 'a new route rejects');
  t.log(await screenshot(page, '3-settings-route-dialog'));
  await page.click('.modal .cbi-button-positive');
  await page.waitForSelector('.modal', { hidden: true });
  await page.waitForSelector('#cbi-ugate-blocked');
  await page.click(CAPTURE);
  t.true(await page.$eval(CAPTURE, (e) => (e as HTMLInputElement).checked));
  await saveAndApply(page);

  // what LuCI committed, and what ugate made of it: a reload (same process), capture on
  t.is(router('uci get ugate.main.capture').trim(), '1');
  t.is(router('uci get ugate.blocked.host').trim(), 'blocked.test');
  t.is(router('uci get ugate.blocked.action').trim(), 'reject');
  await waitFor(() => (applied() > before ? true : undefined), 15_000);
  t.is(ugatePid(), pid, 'reloaded by a signal, not restarted');
  t.regex(logread(), /capture on \(nftables, ugate_\d+\): devices br-lan tcp 80,443 -> :15001/);

  // the LAN now goes through ugate: the route rejects its host (HTTP 403), the rest passes through
  t.is(await servedBy('blocked.test'), 'HTTP 403');
  t.is(await servedBy('allowed.test'), 'wan');
  const tls = await lanGet('https://blocked.test/', ['-k', '--resolve', 'blocked.test:443:203.0.113.10']);
  t.not(tls.code, 0, 'TLS to the rejected host is refused (TLS alert)');
  await waitFor(() => (logread().includes('host=allowed.test') && logread().includes('sni=blocked.test') ? true : undefined));
  t.deepEqual(pageErrors, []);
});

t("the Status page's counters rise while the LAN client makes connections through capture", async (t) => {
  t.timeout(120_000);
  await page.goto(`${LUCI}/admin/services/ugate/status`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('#ugate-status [data-state="running"]');
  t.regex(await textOf(page, '[data-stat="capture.enabled"]'), /^yes/);
  t.regex(await textOf(page, '[data-stat="capture.devices"]'), /br-lan/);
  const before = { accepted: await stat('connections.accepted'), routed: await pair('connections.forwarded') };
  // one poll with no new traffic in between gives a rate of 0
  await nextPoll();
  t.is(await textOf(page, '[data-stat="rate.connections"]'), '0.0/s');

  const n = 12;
  for (let i = 0; i < n; i++) t.is(await servedBy(i % 3 === 0 ? 'blocked.test' : 'busy.test'), i % 3 === 0 ? 'HTTP 403' : 'wan');
  await nextPoll();
  const after = { accepted: await stat('connections.accepted'), routed: await pair('connections.forwarded') };
  t.true(after.accepted >= before.accepted + n, `accepted ${before.accepted} → ${after.accepted}`);
  t.true(after.routed[0] >= before.routed[0] + 8, `forwarded ${before.routed[0]} → ${after.routed[0]}`);
  t.true(after.routed[1] >= before.routed[1] + 4, `rejected by a route ${before.routed[1]} → ${after.routed[1]}`);
  const rate = await stat('rate.connections');
  t.true(rate > 0, `new connections ${rate}/s`);
  // bytes as they moved: a rate over the last poll, and a total
  const down = await textOf(page, '[data-stat="bytes.down"]');
  t.notRegex(down, /^(0 B\/s|–)|, 0 B$/, `download ${down}`);
  t.log(`accepted ${before.accepted} → ${after.accepted}, forwarded/rejected ${before.routed.join('/')} → ${after.routed.join('/')}, new connections ${rate}/s, download ${down}`);
  t.log(await screenshot(page, '4-status-traffic'));
  t.deepEqual(pageErrors, []);
});

t('after Save & Apply, the per-listener and per-route counters and the top hostnames count the new connections', async (t) => {
  // the 12 connections of the test before, all made under the configuration LuCI applied
  const row = (table: string, name: string) => textOf(page, `[data-table="${table}"] tr[data-row="${name}"]`);
  t.log(`listener: ${await row('listeners', 'lan')}`);
  t.log(`route: ${await row('routes', 'blocked')}`);
  t.regex(await row('listeners', 'lan'), /^lan\tredirect\t0\.0\.0\.0:15001, \[::\]:15001\t\d+\t([1-9]\d*)/, 'the listener counted connections');
  t.regex(await row('routes', 'blocked'), /^blocked\t\d+\t([4-9]|\d\d+)\t/, 'the route counted its 4 rejected connections');
  t.regex(await textOf(page, '[data-table="top-hosts"]'), /busy\.test\t8\t/, 'busy.test is a top hostname');
});

t('a bad value is shown at its field and nothing is saved', async (t) => {
  await page.goto(`${LUCI}/admin/services/ugate/settings`, { waitUntil: 'networkidle0' });
  await openTab(page, 'General');
  const field = 'input[id="widget.cbid.ugate.main.admin"]';
  await page.click(field, { count: 3 });
  await page.type(field, '192.168.1.1:15000');
  await page.keyboard.press('Tab');
  t.true(await page.$eval(field, (e) => e.classList.contains('cbi-input-invalid')), 'the field is marked invalid');
  // LuCI shows the reason beside the field when the pointer is on it
  t.regex((await page.$eval(field, (e) => e.getAttribute('data-tooltip'))) ?? '', /^Expecting a loopback address and port/);
  await page.mouse.move(0, 0);
  await page.hover(field);
  await page.waitForSelector('.cbi-tooltip.error[style*="opacity: 1"]');
  t.log(await screenshot(page, '5-settings-invalid-field'));
  const changesBefore = router('uci changes ugate; uci get ugate.main.admin 2>/dev/null || echo unset');
  await page.click('.cbi-page-actions .cbi-button-apply');
  // LuCI refuses to save, naming the field and what it expects
  await page.waitForFunction(() => document.body.innerText.includes('Option "Statistics endpoint" contains an invalid input value.'));
  t.regex(await textOf(page, '.modal'), /Expecting a loopback address and port/);
  t.log(await screenshot(page, '6-settings-invalid-dialog'));
  await page.click('.modal .cbi-button');
  t.is(router('uci changes ugate; uci get ugate.main.admin 2>/dev/null || echo unset'), changesBefore, 'nothing saved');
  // LuCI's own Save & Apply handler rejects with that message: the only script error here
  t.deepEqual(pageErrors.splice(0), ['Option "Statistics endpoint" contains an invalid input value. Expecting a loopback address and port, e.g. 127.0.0.1:15000 or [::1]:15000: statistics are never served beyond the router']);
});

t('a value only ugate refuses: Save & Apply works, ugate keeps serving the old configuration, the Status page shows why', async (t) => {
  t.timeout(180_000);
  const before = refused();
  await page.goto(`${LUCI}/admin/services/ugate/settings`, { waitUntil: 'networkidle0' });
  // a second listener on the 'lan' listener's address: each field is fine, the whole is not
  await page.type('#cbi-ugate-listener .cbi-section-create-name', 'dup');
  await page.click('#cbi-ugate-listener .cbi-button-add');
  await page.waitForSelector('.modal #cbi-ugate-dup', { visible: true });
  await page.select('.modal select[id="widget.cbid.ugate.dup.type"]', 'mixed');
  await page.type('.modal input[id="widget.cbid.ugate.dup.listen"]', '0.0.0.0:15001');
  await page.keyboard.press('Enter');
  await page.click('.modal .cbi-button-positive');
  await page.waitForSelector('.modal', { hidden: true });
  await saveAndApply(page);
  t.is(router('uci get ugate.dup.listen').trim(), '0.0.0.0:15001', 'LuCI committed it');
  await waitFor(() => (refused() > before ? true : undefined), 15_000);
  t.regex(logread(), /configuration refused, the running one keeps serving: .*dup.*already used by another listener/);
  t.is(await servedBy('blocked.test'), 'HTTP 403', 'the running configuration still serves');

  await openPageTab(page, 'Status');
  const alert = await page.waitForSelector('#ugate-status [data-state="config-refused"]', { timeout: 15_000 });
  t.truthy(alert);
  t.regex(await textOf(page, '[data-stat="config.last_error"]'), /dup.*already used by another listener/);
  t.log(await screenshot(page, '7-status-refused'));

  // taking the listener out again applies; the refusal is then history
  await openPageTab(page, 'Settings');
  await page.waitForSelector('#cbi-ugate-dup');
  await page.click('#cbi-ugate-dup .cbi-button-remove');
  const appliedBefore = applied();
  await saveAndApply(page);
  await waitFor(() => (applied() > appliedBefore ? true : undefined), 15_000);
  await page.goto(`${LUCI}/admin/services/ugate/status`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('#ugate-status [data-state="running"]');
  t.is(await page.$('#ugate-status [data-state="config-refused"]'), null, 'no longer shown as the current state');
  t.deepEqual(pageErrors, []);
});

t('a Gateway API manifest uploaded on the page goes to /etc/ugate and routes after Save & Apply', async (t) => {
  t.timeout(180_000);
  const dir = mkdtempSync(join(tmpdir(), 'ugate-manifest-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const manifest = join(dir, 'moved.yaml');
  const yaml = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: moved }
spec:
  parentRefs: [{ name: lan }]
  hostnames: [moved.test]
  rules:
    - backendRefs: [{ name: 198.51.100.10, port: 80 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: mirrored }
spec:
  parentRefs: [{ name: lan }]
  hostnames: [mirror.test]
  rules:
    - filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: 198.51.100.10, port: 80 } } }]
      backendRefs: [{ name: 198.51.100.10, port: 80 }]
`;
  // comments make it three of the page's 8192-unit pieces, the first ending inside an emoji's
  // surrogate pair, which must arrive whole
  const pad = `#${'x'.repeat(8191 - yaml.length - 1)}`;
  const text = `${yaml}${pad}😀\n# ${'Grüße 😀 '.repeat(1200)}\n`;
  t.is(text.charCodeAt(8191), 0xd83d);
  writeFileSync(manifest, text);
  t.is(await servedBy('moved.test'), 'wan');
  await page.goto(`${LUCI}/admin/services/ugate/settings`, { waitUntil: 'networkidle0' });
  await openTab(page, 'Gateway API');
  const [chooser] = await Promise.all([page.waitForFileChooser(), page.click('#cbi-ugate-main-_upload button')]);
  await chooser.accept([manifest]);
  await page.waitForFunction(() => document.body.innerText.includes('Uploaded /etc/ugate/moved.yaml'));
  t.is(router('cat /etc/ugate/moved.yaml'), text, 'the file arrived byte for byte');
  t.is(router("stat -c '%a %U' /etc/ugate/moved.yaml").trim(), '600 root');
  t.log(await screenshot(page, '8-settings-manifest'));
  const before = applied();
  await saveAndApply(page);
  t.is(router('uci get ugate.main.manifest').trim(), '/etc/ugate/moved.yaml');
  await waitFor(() => (applied() > before ? true : undefined), 15_000);
  t.is(await servedBy('moved.test'), 'other', 'the HTTPRoute forwards moved.test to its backend');
  // the route ugate cannot serve is left out, and the Status page names it
  await page.goto(`${LUCI}/admin/services/ugate/status`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('[data-stat="config.manifest_issues"]', { timeout: 15_000 });
  t.regex(await textOf(page, '[data-stat="config.manifest_issues"]'), /^\/etc\/ugate\/moved\.yaml: HTTPRoute default\/mirrored: spec\.rules\[0\]\.filters\[0\]\.type: RequestMirror filter is not supported by ugate$/);
  t.log(await screenshot(page, '8b-status-manifest-issues'));
  t.deepEqual(pageErrors, []);
});

t('when ugate is not running, the Status page says so (no script error), and shows it again once it runs', async (t) => {
  t.timeout(60_000);
  await page.goto(`${LUCI}/admin/services/ugate/status`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('#ugate-status [data-state="running"]');
  router('/etc/init.d/ugate stop');
  await page.waitForSelector('#ugate-status [data-state="stopped"]', { timeout: 15_000 });
  t.regex(await textOf(page, '#ugate-status'), /^ugate is not running\s+procd runs no ugate: it was stopped, or it ended more often than its respawn limit allows\.\s+Start it under System → Startup/);
  t.log(await screenshot(page, '9-status-stopped'));
  router('/etc/init.d/ugate start');
  await page.waitForSelector('#ugate-status [data-state="running"]', { timeout: 30_000 });
  t.is(await textOf(page, '[data-stat="pid"]'), String(ugatePid()));
  t.deepEqual(pageErrors, []);
});

t("a user granted only luci-base and the app's ACL runs both pages; the ACL grants nothing else", async (t) => {
  t.timeout(120_000);
  // an rpcd login of its own, its password hashed as OpenWrt does (uhttpd -m); 'unauthenticated'
  // is what every session may call (session access, luci getFeatures), luci-base LuCI's own calls
  router(`uci batch <<'EOF'
add rpcd login
set rpcd.@login[-1].username='ugate'
set rpcd.@login[-1].password='${router("uhttpd -m 'ugate-pass'").trim()}'
add_list rpcd.@login[-1].read='unauthenticated'
add_list rpcd.@login[-1].read='luci-base'
add_list rpcd.@login[-1].read='luci-app-ugate'
add_list rpcd.@login[-1].write='luci-base'
add_list rpcd.@login[-1].write='luci-app-ugate'
commit rpcd
EOF`);
  const user = await newPage(chromium!.browser, pageErrors);
  await login(user, 'ugate', 'ugate-pass');
  // LuCI lands on Status → Overview, which this user may not read: its errors are LuCI's own
  pageErrors.splice(0);
  t.deepEqual(await user.$$eval('#topmenu > li > a', (as) => as.map((a) => (a as HTMLElement).innerText.trim())), ['Services', 'Log out'], 'the only menu is ours');
  await openMenu(user, 'Services', 'ugate');
  await user.waitForSelector('#cbi-ugate-main');
  t.is(await user.$('.alert-message.warning, .alert-message.danger'), null, 'no permission errors on Settings');
  t.log(await screenshot(user, '10-settings-acl-user'));
  await openPageTab(user, 'Status');
  await user.waitForSelector('#ugate-status [data-state="running"]', { timeout: 15_000 });
  t.log(await screenshot(user, '11-status-acl-user'));

  // the same session, at rpcd: what the ACL allows and what it does not
  const sid = (await user.cookies()).find((c) => c.name.startsWith('sysauth'))!.value;
  const call = (object: string, method: string, args: Record<string, unknown>) =>
    user.evaluate(
      async (sid, object, method, args) => {
        const r = await fetch('/ubus/', { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'call', params: [sid, object, method, args] }) });
        const j = await r.json();
        return j.error ? `error ${j.error.code}` : `status ${j.result[0]}`;
      },
      sid,
      object,
      method,
      args,
    );
  t.is(await call('luci.ugate', 'status', {}), 'status 0');
  t.is(await call('uci', 'get', { config: 'ugate' }), 'status 0');
  t.is(await call('luci.ugate', 'zones', {}), 'status 0', 'the zone names for the capture choice');
  t.is(await call('uci', 'get', { config: 'firewall' }), 'status 6', 'not the firewall configuration itself');
  t.is(await call('file', 'write', { path: '/etc/ugate/acl.yaml', data: '# test\n', mode: 0o600 }), 'status 0');
  t.is(await call('file', 'write', { path: '/etc/ugate/../config/ugate.yaml', data: 'x' }), 'status 6', 'no way out of /etc/ugate');
  t.is(await call('file', 'write', { path: '/etc/ugate/x.sh', data: 'x' }), 'status 6', 'manifests only');
  t.is(await call('file', 'read', { path: '/etc/ugate/acl.yaml' }), 'error -32002', 'no file reads');
  t.is(await call('file', 'exec', { command: '/bin/true' }), 'error -32002');
  t.is(await call('uci', 'set', { config: 'firewall', section: 'ugate', values: { enabled: '0' } }), 'status 6');
  t.is(await call('uci', 'get', { config: 'rpcd' }), 'status 6');
  t.is(await call('rc', 'init', { name: 'ugate', action: 'stop' }), 'error -32002');
  router('rm -f /etc/ugate/acl.yaml');
  t.deepEqual(pageErrors, []);
});

t('opkg remove luci-app-ugate takes its pages, ACL and rpcd plugin away; ugate, its configuration and uploaded manifests stay', async (t) => {
  await chromium?.close();
  chromium = null;
  t.log(router('opkg remove luci-app-ugate 2>&1 | grep -v pkg_get_installed_files').trim());
  await waitFor(() => (lab!.routerTry('ubus list luci.ugate').code !== 0 ? true : undefined), 10_000);
  for (const f of ['/www/luci-static/resources/view/ugate', '/usr/share/luci/menu.d/luci-app-ugate.json', '/usr/share/rpcd/acl.d/luci-app-ugate.json', '/usr/share/rpcd/ucode/luci.ugate']) {
    t.is(lab!.routerTry(`[ -e ${f} ]`).code, 1, `${f} is gone`);
  }
  t.truthy(ugatePid());
  t.is(router('uci get ugate.blocked.action').trim(), 'reject');
  t.is(router('cat /etc/ugate/moved.yaml').split('\n')[1], 'kind: HTTPRoute');
});

t('apk (OpenWrt 25.12): the same app installs with apk add, serves the statistics through rpcd, and goes with apk del', async (t) => {
  t.timeout(120_000);
  const lab2 = await labUp('luci-apk');
  try {
    const files = ['x86_64', 'all'].flatMap((d) => readdirSync(join(out, d)).filter((f) => f.endsWith('.apk')).map((f) => join(out, d, f)));
    t.true(files.some((f) => f.endsWith('/luci-app-ugate-0.1.0-r1.apk')));
    for (const f of files) execFileSync('cp', [f, lab2.share]);
    t.log(lab2.router(`apk add --allow-untrusted --no-network ${files.map((f) => `/mnt/share/${f.split('/').pop()}`).join(' ')} 2>&1 | tail -2`).trim());
    await waitFor(() => (lab2.routerTry('ubus list luci.ugate').code === 0 ? true : undefined), 10_000);
    t.is(lab2.router('[ -d /etc/ugate ] && echo yes').trim(), 'yes', 'post-install made the manifest directory');
    const status = await waitFor(() => {
      const s = JSON.parse(lab2.router('ubus call luci.ugate status')) as { ugate?: { version: string }; capture?: { enabled: boolean } };
      return s.ugate ? s : undefined;
    }, 20_000);
    t.is(status.ugate!.version, '0.1.0');
    t.false(status.capture!.enabled);
    lab2.router('/etc/lab-luci.sh');
    t.regex(lab2.router('wget -q -O - http://127.0.0.1:8080/luci-static/resources/view/ugate/status.js | head -c 200'), /'require poll';/);
    t.log(lab2.router('apk del luci-app-ugate 2>&1 | tail -1').trim());
    await waitFor(() => (lab2.routerTry('ubus list luci.ugate').code !== 0 ? true : undefined), 10_000);
    t.is(lab2.routerTry('[ -e /usr/share/rpcd/acl.d/luci-app-ugate.json ]').code, 1);
    t.truthy(/"running": true/.test(lab2.router(`ubus call service list '{"name":"ugate"}'`)), 'ugate stays');
  } finally {
    lab2.down();
  }
});
