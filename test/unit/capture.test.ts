// Capture settings (JSON and UCI) and the firewall rules rendered from them. The rules are loaded
// into real firewalls by test/e2e/capture-firewall.test.ts; here their text is pinned.

import test from 'ava';
import { capturePlan, renderPlan } from '../../src/capture/firewall.ts';
import { removeIptablesCommand, renderIptables, renderNft } from '../../src/capture/rules.ts';
import { ConfigError, loadConfig } from '../../src/config/load.ts';

const BASE = {
  listeners: [
    { name: 'lan', type: 'redirect', listen: ['0.0.0.0:8443', '[::]:8443'] },
    { name: 'proxy', type: 'mixed', listen: '0.0.0.0:1080' },
    { name: 'local', type: 'mixed', listen: '127.0.0.1:1081' },
  ],
};
const load = (capture: object, listeners: object[] = BASE.listeners) => loadConfig([['f', JSON.stringify({ listeners, capture })]]);
const issues = (capture: object, listeners?: object[]) => {
  try {
    load(capture, listeners);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
};

test('UCI capture options map onto the capture settings', (t) => {
  const uci = `config ugate 'main'
	option capture '1'
	list capture_zone 'lan'
	list capture_zone 'guest'
	list capture_device 'wlan1'
	list capture_port '80'
	list capture_port '443'
	list capture_port '8080'
	option capture_family 'ipv4'
	list capture_exclude_src '192.168.1.10'
	list capture_exclude_src 'fd00::/64'
	list capture_exclude_mac 'AA-BB-CC-DD-EE-FF'
	list capture_exclude_dst '10.0.0.0/8'
	option quic 'pass'
	option firewall 'iptables'
	option capture_listener 'lan'
config service 'service'
	option respawn_retry '3'
config listener 'lan'
	option type 'redirect'
	option listen '0.0.0.0:8443'
`;
  const c = loadConfig([['ugate', uci]]).capture;
  t.deepEqual(
    { ...c, excludeSources: c.excludeSources.map((x) => x.source), excludeDestinations: c.excludeDestinations.map((x) => x.source) },
    {
      enabled: true,
      listener: 'lan',
      zones: ['lan', 'guest'],
      devices: ['wlan1'],
      ports: [80, 443, 8080],
      family: 'ipv4',
      excludeSources: ['192.168.1.10', 'fd00::/64'],
      excludeMacs: ['aa:bb:cc:dd:ee:ff'],
      excludeDestinations: ['10.0.0.0/8'],
      quic: 'pass',
      firewall: 'iptables',
    },
  );
  const bad = t.throws(() => loadConfig([['ugate', uci.replace("option respawn_retry '3'", "option respawn_retry 'often'")]]), { instanceOf: ConfigError });
  t.deepEqual(bad.issues, [{ path: "service service option respawn_retry (line 18)", message: '"often": expected a whole number' }]);
  const port = t.throws(() => loadConfig([['ugate', uci.replace("'8080'", "'http'")]]), { instanceOf: ConfigError });
  t.is(port.message, 'ugate: ugate main option capture_port[2] (line 6): expected a port number 1 to 65535');
});

test('capture settings that cannot work are refused, naming the setting', (t) => {
  t.deepEqual(issues({ enabled: true, devices: ['br-lan'] }, [BASE.listeners[1]!]), ['capture.listener: capture needs a redirect listener']);
  t.deepEqual(issues({ enabled: true, devices: ['br-lan'], listener: 'proxy' }), ['capture.listener: listener "proxy" is mixed: capture needs a redirect listener']);
  t.deepEqual(issues({ enabled: true }), ['capture.zones: name at least one firewall zone or device to capture']);
  t.deepEqual(issues({ enabled: true, devices: ['br-lan'] }, [{ name: 'lan', type: 'redirect', listen: '127.0.0.1:8443' }]), [
    'capture.listener: listener "lan" must listen on a fixed port of a non-loopback address (e.g. "0.0.0.0:8443" and "[::]:8443")',
  ]);
  t.deepEqual(issues({ enabled: true, devices: ['br-lan'] }, [{ name: 'lan', type: 'redirect', listen: '0.0.0.0:8443' }]), [
    'capture.listener: listener "lan" has no IPv6 address for captured IPv6 connections (add "[::]:8443", or set the capture family to ipv4)',
  ]);
  t.deepEqual(issues({ enabled: true, devices: ['br-lan'], family: 'ipv4' }, [{ name: 'lan', type: 'redirect', listen: '0.0.0.0:8443' }]), []);
  t.deepEqual(issues({ enabled: true, devices: ['br-lan'] }, [{ name: 'lan', type: 'redirect', listen: ['0.0.0.0:8443', '[::]:8444'] }]), [
    'capture.listener: listener "lan" listens on ports 8443, 8444: captured connections go to one port, so bind one port',
  ]);
  t.deepEqual(issues({ enabled: true, devices: ['lo'] }), ['capture.devices[0]: loopback is never captured']);
  t.deepEqual(issues({ enabled: true, devices: ['a/b'] }), ['capture.devices[0]: a network device name: 1-15 characters of A-Z a-z 0-9 _ . @ : + -']);
  t.deepEqual(issues({ enabled: true, devices: ['br-lan'], exclude: { macs: ['00:11:22'] } }), ['capture.exclude.macs[0]: expected a MAC address like 00:11:22:aa:bb:cc']);
  t.deepEqual(issues({ enabled: true, devices: ['br-lan'], ports: Array.from({ length: 16 }, (_, i) => i + 1) }), ['capture.ports: at most 15 ports']);
  t.deepEqual(issues({ enabled: true, devices: ['br-lan'], quic: 'drop' }), ['capture.quic: must be "block" or "pass"']);
});

/** zone 'lan' stands for the devices fw4 would name: br-lan */
const plan = (capture: object) => capturePlan(load({ enabled: true, zones: ['lan'], ...capture }), 'ugate_42', ['br-lan']);

test('nftables: one table named after the process, created or replaced in one transaction', (t) => {
  const text = renderNft(plan({ devices: ['wlan1'], exclude: { sources: ['192.168.1.10', 'fd00::1/64'], macs: ['aa:bb:cc:dd:ee:ff'], destinations: ['10.0.0.0/8'] } }));
  t.is(
    text,
    `table inet ugate_42
delete table inet ugate_42
table inet ugate_42 {
	chain capture {
		type nat hook prerouting priority dstnat - 5; policy accept;
		iifname != { "br-lan", "wlan1" } return
		fib daddr type local return
		ether saddr { aa:bb:cc:dd:ee:ff } return
		ip saddr { 192.168.1.10/32 } return
		ip6 saddr { fd00::1/64 } return
		ip daddr { 10.0.0.0/8 } return
		tcp dport { 80, 443 } redirect to :8443
	}
	chain quic {
		type filter hook forward priority filter - 5; policy accept;
		iifname != { "br-lan", "wlan1" } return
		ether saddr { aa:bb:cc:dd:ee:ff } return
		ip saddr { 192.168.1.10/32 } return
		ip6 saddr { fd00::1/64 } return
		ip daddr { 10.0.0.0/8 } return
		udp dport 443 reject
	}
	chain guard {
		type filter hook input priority filter - 5; policy accept;
		iifname "lo" return
		iifname { "br-lan", "wlan1" } return
		tcp dport { 1080, 8443 } drop
	}
}
`,
  );
  // QUIC pass, a port list without 443, one family
  const passed = renderNft(plan({ quic: 'pass', family: 'ipv4', ports: [80] }));
  t.false(passed.includes('chain quic'));
  t.true(passed.includes('meta nfproto ipv4 tcp dport { 80 } redirect to :8443'));
  t.false(renderNft(plan({ ports: [80] })).includes('chain quic'), 'no QUIC rule when 443 is not captured');
});

test('iptables: chains named after the process, per family, and their removal', (t) => {
  const p = plan({ family: 'ipv6', exclude: { sources: ['10.0.0.1', 'fd00::1'] } });
  t.is(renderIptables(p, 4), `*filter
:ugate_42_guard - [0:0]
-A ugate_42_guard -i lo -j RETURN
-A ugate_42_guard -i br-lan -j RETURN
-A ugate_42_guard -p tcp -m multiport --dports 1080,8443 -j DROP
-I INPUT -j ugate_42_guard
COMMIT
`);
  t.is(renderIptables(p, 6), `*nat
:ugate_42_capture - [0:0]
-A ugate_42_capture -m addrtype --dst-type LOCAL -j RETURN
-A ugate_42_capture -s fd00::1/128 -j RETURN
-A ugate_42_capture -p tcp -m multiport --dports 80,443 -j REDIRECT --to-ports 8443
-I PREROUTING -i br-lan -j ugate_42_capture
COMMIT
*filter
:ugate_42_quic - [0:0]
-A ugate_42_quic -s fd00::1/128 -j RETURN
-A ugate_42_quic -p udp --dport 443 -j REJECT
-I FORWARD -i br-lan -j ugate_42_quic
:ugate_42_guard - [0:0]
-A ugate_42_guard -i lo -j RETURN
-A ugate_42_guard -i br-lan -j RETURN
-A ugate_42_guard -p tcp -m multiport --dports 1080,8443 -j DROP
-I INPUT -j ugate_42_guard
COMMIT
`);
  // removal touches only this process's chains and the jumps to them
  const rm = removeIptablesCommand('ugate_42');
  t.true(rm.includes('-j ugate_42_[a-z]*'));
  t.false(/ugate_\d*[^2_]/.test(rm.replaceAll('ugate_42', '')));
  t.regex(renderPlan(p, 'iptables'), /^# iptables-restore --noflush\n\*filter/);
});
