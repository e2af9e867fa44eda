'use strict';
'require view';
'require form';
'require fs';
'require rpc';
'require uci';
'require ui';
'require validation';

// ugate's settings: /etc/config/ugate as ugate reads it (src/config/uci-map.ts in ugate's source
// names every option). Save & Apply commits through rpcd, whose config.change event has procd
// reload ugate (SIGHUP): ugate checks the new configuration first and refuses one it cannot run,
// keeping the running one; the Status page shows the refusal. The checks here catch what one
// field can tell on its own, so a bad value is shown at the field before anything is saved.

var MANIFEST_DIR = '/etc/ugate';
var PROTOCOLS = [
	[ 'tls', _('TLS (by SNI)') ],
	[ 'http', _('HTTP (by Host)') ],
	[ 'http2', _('HTTP/2 (cleartext)') ],
	[ 'ssh', _('SSH') ],
	[ 'opaque', _('Unrecognised (opaque)') ],
	[ 'socks5', _('SOCKS5 (proxy listener)') ],
	[ 'connect', _('HTTP CONNECT (proxy listener)') ]
];

// The firewall zones (name, networks, devices), from this app's rpcd plugin: the page needs their
// names, not the firewall's configuration.
var callZones = rpc.declare({
	object: 'luci.ugate',
	method: 'zones',
	expect: { zones: [] }
});

// rpcd's file.write, with "append" so that a manifest goes in pieces: uhttpd takes JSON-RPC
// requests of at most 64 KiB (UH_UBUS_MAX_POST_SIZE).
var callFileWrite = rpc.declare({
	object: 'file',
	method: 'write',
	params: [ 'path', 'data', 'append', 'mode' ]
});

// ---- checks of one value, as ugate makes them (true, or the message to show)

function port(text) {
	return /^[0-9]{1,5}$/.test(text) && +text >= 1 && +text <= 65535;
}

function ipv4(text) {
	var m = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/.exec(text);
	return m != null && m.slice(1).every(function(o) { return +o <= 255; });
}

function ipv6(text) {
	return /^[0-9A-Fa-f:.]+$/.test(text) && text.indexOf(':') >= 0 && validation.parseIPv6(text) != null;
}

function hostname(text) {
	if (text.length < 1 || text.length > 253)
		return false;
	if (/(^|\.)[0-9]+$/.test(text))
		return false; // looks like a broken IPv4 address
	return text.split('.').every(function(label) {
		return /^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(label);
	});
}

/** "host:port" or "[v6]:port"; parts, or null */
function splitHostPort(text) {
	var m = /^\[([^\]]+)\]:([0-9]+)$/.exec(text) || /^([^:\[\]]+):([0-9]+)$/.exec(text);
	return m ? { host: m[1], port: m[2], bracketed: text.charAt(0) == '[' } : null;
}

function validBind(section_id, value) {
	if (value == null || value === '')
		return true;
	var hp = splitHostPort(value);
	if (!hp || !port(hp.port) || !(hp.bracketed ? ipv6(hp.host) : ipv4(hp.host)))
		return _('Expecting an IP address and port, e.g. 0.0.0.0:15001 or [::]:15001');
	return true;
}

function validBackend(section_id, value) {
	if (value == null || value === '')
		return true;
	var hp = splitHostPort(value);
	if (!hp || !port(hp.port) || !(hp.bracketed ? ipv6(hp.host) : (ipv4(hp.host) || hostname(hp.host))))
		return _('Expecting host:port, e.g. 192.168.1.10:443, nas.lan:80 or [fd00::10]:443');
	return true;
}

function validAdmin(section_id, value) {
	if (value == null || value === '')
		return true;
	var hp = splitHostPort(value);
	if (!hp || !port(hp.port) || !((!hp.bracketed && ipv4(hp.host) && /^127\./.test(hp.host)) || (hp.bracketed && hp.host == '::1')))
		return _('Expecting a loopback address and port, e.g. 127.0.0.1:15000 or [::1]:15000: statistics are never served beyond the router');
	return true;
}

function validHostPattern(section_id, value) {
	if (value == null || value === '')
		return true;
	var name = value.replace(/\.$/, '');
	if (name.indexOf('*.') == 0)
		name = name.substring(2);
	if (name.indexOf('*') >= 0)
		return _('A wildcard is only allowed as the whole first label, e.g. *.example.com');
	if (!hostname(name))
		return _('Expecting a hostname, e.g. example.com or *.example.com');
	return true;
}

function validPortRange(section_id, value) {
	if (value == null || value === '')
		return true;
	var m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(value);
	if (!m || !port(m[1]) || (m[2] != null && (!port(m[2]) || +m[2] < +m[1])))
		return _('Expecting a port 1-65535 or a range, e.g. 8000-8100');
	return true;
}

function validCidr(section_id, value) {
	if (value == null || value === '')
		return true;
	var m = /^([^\/]+)(?:\/([0-9]{1,3}))?$/.exec(value);
	if (m && ipv4(m[1]) && (m[2] == null || +m[2] <= 32))
		return true;
	if (m && ipv6(m[1]) && (m[2] == null || +m[2] <= 128))
		return true;
	return _('Expecting an IP address or prefix, e.g. 192.168.1.10, 10.0.0.0/8 or fd00::/8');
}

function validDuration(section_id, value) {
	if (value == null || value === '')
		return true;
	if (!/^([0-9]+|[0-9]+(\.[0-9]+)?(ms|s|m|h))$/.test(value))
		return _('Expecting milliseconds or a number with a unit: 500ms, 5s, 2m, 1h');
	return true;
}

function validLimit(section_id, value) {
	if (value == null || value === '' || value == 'auto')
		return true;
	if (!/^[0-9]{1,7}$/.test(value) || +value < 1 || +value > 1000000)
		return _('Expecting "auto" or a whole number 1 to 1000000');
	return true;
}

function validManifestPath(section_id, value) {
	if (value == null || value === '')
		return true;
	if (!/^\/[A-Za-z0-9._\/-]+$/.test(value) || /(^|\/)\.\.(\/|$)/.test(value))
		return _('Expecting an absolute path, e.g. %s/site.yaml').format(MANIFEST_DIR);
	return true;
}

function validDevice(section_id, value) {
	if (value == null || value === '')
		return true;
	return (/^[A-Za-z0-9_.@:+-]{1,15}$/.test(value) && value != '.' && value != '..' && value != 'lo') ? true : _('Expecting a network device name (not lo)');
}

function validUser(section_id, value) {
	if (value == null || value === '')
		return true;
	return /^[^:]+:.*$/.test(value) ? true : _('Expecting name:password');
}

// ---- the manifest upload: read in the browser, written by rpcd's file plugin into /etc/ugate

function uploadManifest(map, section_id) {
	var input = E('input', { 'type': 'file', 'accept': '.yaml,.yml', 'style': 'display:none' });
	document.body.appendChild(input);

	return new Promise(function(resolve) {
		input.addEventListener('change', function() {
			var file = input.files[0];
			input.remove();
			resolve(file);
		});
		input.click();
	}).then(function(file) {
		if (!file)
			return;
		if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\.ya?ml$/.test(file.name))
			throw new Error(_('The file name must be letters, digits, ".", "_" or "-", ending in .yaml or .yml: %s').format(file.name));
		if (file.size > 1048576)
			throw new Error(_('The manifest is larger than 1 MiB'));

		var path = '%s/%s'.format(MANIFEST_DIR, file.name);

		return file.text().then(function(text) {
			// 8192 UTF-16 units stay under 64 KiB of JSON even if every one were escaped as \uXXXX;
			// a chunk never ends between the two halves of a surrogate pair
			var chunks = [];
			for (var i = 0; i < text.length; ) {
				var end = Math.min(i + 8192, text.length);
				if (end < text.length && /[\uD800-\uDBFF]/.test(text.charAt(end - 1)))
					end--;
				chunks.push(text.substring(i, end));
				i = end;
			}
			if (chunks.length == 0)
				chunks.push('');

			return chunks.reduce(function(p, chunk, i) {
				return p.then(function() {
					return callFileWrite(path, chunk, i > 0, 384 /* 0600 */).then(function(rc) {
						if (rc != 0)
							throw new Error(_('Writing %s failed: %s').format(path, rpc.getStatusText(rc)));
					});
				});
			}, Promise.resolve());
		}).then(function() {
			var opt = map.lookupOption('manifest', section_id)[0];
			var widget = opt.getUIElement(section_id);
			var values = L.toArray(widget.getValue());
			if (values.indexOf(path) < 0)
				values.push(path);
			widget.setValue(values);
			ui.addTimeLimitedNotification(null, E('p', _('Uploaded %s. Save & Apply to use it.').format(path)), 5000, 'info');
		});
	}).catch(function(e) {
		ui.addNotification(null, E('p', e.message), 'danger');
	});
}

// ---- the listener and route tables

/** A table of named sections edited in a dialog, each with its enabled flag (ugate skips '0'). */
function sectionTable(m, type, title, description, label) {
	var s = m.section(form.GridSection, type, title, description);
	s.addremove = true;
	s.anonymous = false;
	s.nodescriptions = true;
	s.modaltitle = function(section_id) {
		return label + ' » ' + section_id;
	};
	var o = s.option(form.Flag, 'enabled', _('Enabled'));
	o.default = '1';
	o.editable = true;
	return s;
}

/** The backend of a section whose `actionOption` says forward. */
function backendOption(s, actionOption) {
	var o = s.option(form.Value, 'backend', _('Backend'));
	o.depends(actionOption, 'forward');
	o.validate = validBackend;
	o.placeholder = '192.168.1.10:443';
	o.rmempty = false;
	return o;
}

return view.extend({
	load: function() {
		return Promise.all([
			uci.load('ugate'),
			L.resolveDefault(fs.list(MANIFEST_DIR), []),
			L.resolveDefault(callZones(), [])
		]);
	},

	render: function(data) {
		var manifests = data[1] || [];
		var zones = data[2] || [];
		var m, s, o;

		m = new form.Map('ugate', _('ugate'),
			_('A transparent gateway: the firewall sends the LAN\'s web traffic to ugate, which reads where each connection goes (TLS SNI, HTTP Host) and passes it through, forwards it to a backend of your choice, or rejects it. Save & Apply reloads ugate without dropping open connections; a configuration ugate cannot use is refused, the running one keeps serving, and the Status page says why.'));

		// ---- the gateway as a whole
		s = m.section(form.NamedSection, 'main', 'ugate', _('Gateway'));
		s.addremove = false;
		s.tab('capture', _('Capture'));
		s.tab('manifests', _('Gateway API'));
		s.tab('general', _('General'));
		s.tab('limits', _('Timeouts and limits'));

		o = s.taboption('capture', form.Flag, 'capture', _('Capture LAN traffic'),
			_('The firewall sends TCP connections from the capture zones to the ports below to ugate\'s redirect listener. If ugate stops, its rules go with it and traffic flows as before.'));
		o.rmempty = false;
		o.default = '0';

		o = s.taboption('capture', form.MultiValue, 'capture_zone', _('Capture zones'),
			_('Firewall zones whose devices are captured (traffic arriving from other zones, such as the WAN, never is).'));
		zones.forEach(function(z) {
			var nets = L.toArray(z.network).concat(L.toArray(z.device));
			o.value(z.name, nets.length ? '%s (%s)'.format(z.name, nets.join(', ')) : z.name);
		});
		L.toArray(uci.get('ugate', 'main', 'capture_zone')).forEach(function(z) {
			if (!o.keylist || o.keylist.indexOf(z) < 0)
				o.value(z);
		});

		o = s.taboption('capture', form.DynamicList, 'capture_port', _('Ports'),
			_('TCP destination ports to capture (at most 15). Capture only protocols where the client speaks first, such as HTTP (80) and HTTPS (443).'));
		o.datatype = 'and(uinteger,range(1,65535))';
		o.placeholder = '443';

		o = s.taboption('capture', form.ListValue, 'capture_family', _('Address family'));
		o.value('any', _('IPv4 and IPv6'));
		o.value('ipv4', _('IPv4 only'));
		o.value('ipv6', _('IPv6 only'));
		o.default = 'any';

		o = s.taboption('capture', form.DynamicList, 'capture_exclude_src', _('Exclude sources'),
			_('LAN addresses or prefixes that are never captured.'));
		o.validate = validCidr;
		o.placeholder = '192.168.1.10';

		o = s.taboption('capture', form.DynamicList, 'capture_exclude_mac', _('Exclude devices by MAC'));
		o.datatype = 'macaddr';
		o.placeholder = '00:11:22:33:44:55';

		o = s.taboption('capture', form.DynamicList, 'capture_exclude_dst', _('Exclude destinations'),
			_('Destination addresses or prefixes that are never captured.'));
		o.validate = validCidr;
		o.placeholder = '10.0.0.0/8';

		o = s.taboption('capture', form.ListValue, 'quic', _('QUIC (UDP 443)'),
			_('Blocking QUIC makes browsers fall back to TCP, where ugate sees and routes the connection.'));
		o.value('block', _('Block, so browsers use TCP'));
		o.value('pass', _('Let through untouched'));
		o.default = 'block';

		o = s.taboption('capture', form.ListValue, 'firewall', _('Firewall'),
			_('Automatic: nftables where fw4 runs, else iptables where fw3 runs.'));
		o.value('auto', _('Automatic'));
		o.value('nftables', _('nftables (fw4)'));
		o.value('iptables', _('iptables (fw3)'));
		o.default = 'auto';

		o = s.taboption('capture', form.ListValue, 'capture_listener', _('Capture listener'),
			_('Needed only with several redirect listeners.'));
		o.value('', _('The only redirect listener'));
		uci.sections('ugate', 'listener').forEach(function(l) {
			if (l.type == 'redirect' || l.type == null)
				o.value(l['.name']);
		});
		o.optional = true;

		o = s.taboption('capture', form.DynamicList, 'capture_device', _('Capture devices'),
			_('Network devices to capture besides those of the zones.'));
		o.validate = validDevice;
		o.placeholder = 'br-guest';

		o = s.taboption('manifests', form.DynamicList, 'manifest', _('Manifests'),
			_('Gateway API manifests (YAML: Gateway, HTTPRoute, TLSRoute) that ugate reads besides this configuration. Upload a file into %s, then Save & Apply. A route ugate cannot serve is left out and named in the system log; the rest serve. A file that cannot be read at all is refused, and the Status tab shows why.').format(MANIFEST_DIR));
		manifests.forEach(function(f) {
			if (f.type == 'file' && /\.ya?ml$/.test(f.name))
				o.value('%s/%s'.format(MANIFEST_DIR, f.name));
		});
		o.validate = validManifestPath;
		o.placeholder = MANIFEST_DIR + '/site.yaml';

		o = s.taboption('manifests', form.Button, '_upload', _('Upload a manifest'));
		o.inputtitle = _('Choose a YAML file…');
		o.inputstyle = 'action';
		o.onclick = function(ev, section_id) {
			return uploadManifest(this.map, section_id);
		};
		o.write = o.remove = function() {};

		o = s.taboption('general', form.Flag, 'access_log', _('Access log'),
			_('One line per connection (and per HTTP request) in the system log.'));
		o.rmempty = false;
		o.default = '1';

		o = s.taboption('general', form.ListValue, 'access_log_format', _('Access log format'));
		o.value('logfmt', _('key=value pairs'));
		o.value('json', _('JSON, one object per line'));
		o.default = 'logfmt';
		o.depends('access_log', '1');

		o = s.taboption('general', form.Value, 'admin', _('Statistics endpoint'),
			_('Loopback address where ugate serves its live statistics (JSON, and Prometheus text at /metrics) for the Status tab and <code>ugate status</code>. Empty: off, and the Status tab has nothing to show.'));
		o.placeholder = '127.0.0.1:15000';
		o.validate = validAdmin;

		o = s.taboption('general', form.ListValue, 'data_plane', _('Data plane'),
			_('splice moves bytes in the kernel; JavaScript copies them in ugate. Automatic: splice when its library loads.'));
		o.value('auto', _('Automatic'));
		o.value('splice', _('splice (zero copy)'));
		o.value('js', _('JavaScript'));
		o.default = 'auto';

		[
			[ 'sniff_timeout', _('Sniff timeout'), '5s', _('How long ugate waits for the first bytes that name the destination.') ],
			[ 'connect_timeout', _('Connect timeout'), '10s' ],
			[ 'idle_timeout', _('Idle timeout'), '5m' ],
			[ 'keepalive_timeout', _('HTTP keep-alive timeout'), '60s' ],
			[ 'grace_period', _('Grace period'), '10s', _('How long open connections may finish when ugate stops.') ]
		].forEach(function(d) {
			o = s.taboption('limits', form.Value, d[0], d[1], d[3]);
			o.placeholder = d[2];
			o.validate = validDuration;
		});

		[
			[ 'max_connections', _('Open connections (all)') ],
			[ 'max_connections_per_source', _('Open connections per client') ],
			[ 'max_handshakes', _('Connections in handshake (all)') ],
			[ 'max_handshakes_per_source', _('Connections in handshake per client') ]
		].forEach(function(d) {
			o = s.taboption('limits', form.Value, d[0], d[1]);
			o.placeholder = 'auto';
			o.validate = validLimit;
		});

		// ---- listeners
		s = sectionTable(m, 'listener', _('Listeners'),
			_('Where connections arrive. <em>redirect</em>: connections the firewall captured; <em>mixed</em>: SOCKS5 and HTTP proxy clients; <em>sni</em>: a plain port routed by TLS SNI or HTTP Host.'),
			_('Listener'));

		o = s.option(form.ListValue, 'type', _('Type'));
		o.value('redirect', _('redirect (captured)'));
		o.value('mixed', _('mixed (SOCKS5 and HTTP proxy)'));
		o.value('sni', _('sni (plain port)'));
		o.rmempty = false;

		o = s.option(form.DynamicList, 'listen', _('Listen on'));
		o.validate = validBind;
		o.placeholder = '0.0.0.0:15001';
		o.rmempty = false;
		o.textvalue = function(section_id) {
			return L.toArray(this.cfgvalue(section_id)).join(', ');
		};

		o = s.option(form.ListValue, 'default', _('When no route matches'));
		o.value('passthrough', _('Pass through'));
		o.value('reject', _('Reject'));
		o.value('forward', _('Forward to a backend'));
		o.default = 'passthrough';

		backendOption(s, 'default');

		o = s.option(form.DynamicList, 'user', _('Proxy users'), _('name:password; none: no authentication.'));
		o.depends('type', 'mixed');
		o.validate = validUser;
		o.modalonly = true;

		// ---- routes
		s = sectionTable(m, 'route', _('Routes'),
			_('A route applies when every condition it names matches; the most specific hostname wins, then the order here. Connections no route matches get their listener\'s default.'),
			_('Route'));
		s.sortable = true;

		o = s.option(form.DynamicList, 'host', _('Hostnames'), _('TLS SNI or HTTP Host: example.com, or *.example.com for its subdomains.'));
		o.validate = validHostPattern;
		o.placeholder = 'example.com';
		o.textvalue = function(section_id) {
			return L.toArray(this.cfgvalue(section_id)).join(', ') || '*';
		};

		o = s.option(form.MultiValue, 'protocol', _('Protocols'));
		PROTOCOLS.forEach(function(p) { o.value(p[0], p[1]); });
		o.modalonly = true;

		o = s.option(form.DynamicList, 'listener', _('Listeners'), _('Empty: every listener.'));
		uci.sections('ugate', 'listener').forEach(function(l) { o.value(l['.name']); });
		o.modalonly = true;

		o = s.option(form.DynamicList, 'dst_port', _('Destination ports'));
		o.validate = validPortRange;
		o.placeholder = '443';
		o.modalonly = true;

		o = s.option(form.DynamicList, 'dst_cidr', _('Destination addresses'));
		o.validate = validCidr;
		o.placeholder = '203.0.113.0/24';
		o.modalonly = true;

		o = s.option(form.DynamicList, 'src_cidr', _('Client addresses'));
		o.validate = validCidr;
		o.placeholder = '192.168.1.0/24';
		o.modalonly = true;

		o = s.option(form.ListValue, 'action', _('Action'));
		o.value('reject', _('Reject'));
		o.value('passthrough', _('Pass through'));
		o.value('forward', _('Forward to a backend'));
		o.default = 'reject';
		o.rmempty = false;

		backendOption(s, 'action');

		o = s.option(form.Flag, 'allow_gateway_host', _('Allow the router itself'),
			_('Let this route reach the router\'s own addresses (refused by default: the LAN must not reach the router\'s services through ugate).'));
		o.modalonly = true;

		return m.render();
	}
});
