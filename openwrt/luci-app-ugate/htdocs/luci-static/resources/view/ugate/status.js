'use strict';
'require view';
'require poll';
'require rpc';
'require dom';

// ugate's live statistics, from its admin endpoint through rpcd (ubus luci.ugate status, see
// /usr/share/rpcd/ucode/luci.ugate), every 5 seconds. ugate keeps totals; rates are the change
// between two polls over the time ugate says passed between them.

var callStatus = rpc.declare({
	object: 'luci.ugate',
	method: 'status',
	expect: { '': {} }
});

function num(v) {
	return (typeof(v) == 'number' && isFinite(v)) ? v : 0;
}

function bytes(v) {
	return '%1024.2mB'.format(num(v));
}

function rate(v) {
	return (v == null) ? '–' : '%1024.2mB/s'.format(v);
}

function perSecond(v) {
	return (v == null) ? '–' : '%.1f/s'.format(v);
}

function when(iso) {
	if (!iso)
		return '–';
	var d = new Date(iso);
	return isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

function counts(obj) {
	var keys = Object.keys(obj || {}).filter(function(k) { return num(obj[k]) > 0; });
	return keys.length ? keys.map(function(k) { return '%s %d'.format(k, obj[k]); }).join(', ') : '–';
}

/** A two-column table: [label, value, key?]; key names the cell for tests and styling. */
function facts(rows) {
	return E('table', { 'class': 'table' }, rows.map(function(r) {
		return E('tr', { 'class': 'tr' }, [
			E('td', { 'class': 'td left', 'width': '33%' }, [ r[0] ]),
			E('td', { 'class': 'td left', 'data-stat': r[2] || null }, [ r[1] ])
		]);
	}));
}

/** A table with a header row; `rows` are arrays of cells; `empty` is shown when there are none. */
function grid(name, titles, rows, empty) {
	var table = E('table', { 'class': 'table', 'data-table': name }, [
		E('tr', { 'class': 'tr table-titles' }, titles.map(function(t) {
			return E('th', { 'class': 'th' }, [ t ]);
		}))
	]);
	if (rows.length == 0)
		table.appendChild(E('tr', { 'class': 'tr placeholder' }, [
			E('td', { 'class': 'td', 'colspan': titles.length }, [ E('em', {}, [ empty ]) ])
		]));
	rows.forEach(function(cells) {
		table.appendChild(E('tr', { 'class': 'tr', 'data-row': String(cells[0]) }, cells.map(function(c, i) {
			return E('td', { 'class': 'td', 'data-title': titles[i] }, [ c ]);
		})));
	});
	return table;
}

/** Bytes forwarded so far, open connections included (older ugate: those of ended connections). */
function liveBytes(s) {
	return s.forwarded_bytes || s.bytes || {};
}

function section(title, content) {
	return E('div', { 'class': 'cbi-section' }, [ E('h3', {}, [ title ]), content ]);
}

return view.extend({
	prev: null,

	load: function() {
		return callStatus().catch(function(e) { return { error: e.message }; });
	},

	/** Rates from the totals of this sample and the one before, over ugate's own clock. */
	rates: function(s) {
		var moved = liveBytes(s);
		var now = {
			pid: s.ugate && s.ugate.pid,
			t: num(s.ugate && s.ugate.uptime_seconds),
			accepted: num(s.connections && s.connections.accepted),
			up: num(moved.up),
			down: num(moved.down),
			listeners: {}
		};
		(s.listeners || []).forEach(function(l) {
			now.listeners[l.name] = num(l.connections && l.connections.total);
		});

		var p = this.prev, r = { accepted: null, up: null, down: null, listeners: {} };
		if (p && p.pid == now.pid && now.t > p.t) {
			var dt = now.t - p.t;
			r.accepted = Math.max(0, now.accepted - p.accepted) / dt;
			r.up = Math.max(0, now.up - p.up) / dt;
			r.down = Math.max(0, now.down - p.down) / dt;
			Object.keys(now.listeners).forEach(function(n) {
				if (n in p.listeners)
					r.listeners[n] = Math.max(0, now.listeners[n] - p.listeners[n]) / dt;
			});
		}
		this.prev = now;
		return r;
	},

	renderDown: function(s) {
		this.prev = null;
		var stopped = (s.running === false);
		return E('div', { 'class': 'alert-message warning', 'data-state': stopped ? 'stopped' : (s.off ? 'stats-off' : 'no-stats') }, [
			E('h4', {}, [ stopped ? _('ugate is not running') : _('No statistics from ugate') ]),
			E('p', {}, [ s.error || _('Unknown error') ]),
			E('p', {}, [ stopped
				? _('Start it under System → Startup; its messages are under Status → System Log.')
				: _('The statistics endpoint is set under Services → ugate → Settings → General; ugate\'s messages are under Status → System Log.') ])
		]);
	},

	renderConfigError: function(cfg) {
		var err = cfg && cfg.last_error;
		if (!err)
			return E([]);
		var current = !cfg.applied || new Date(err.time) >= new Date(cfg.applied);
		return E('div', { 'class': 'alert-message ' + (current ? 'danger' : 'notice'), 'data-state': current ? 'config-refused' : 'config-refused-before' }, [
			E('h4', {}, [ current
				? _('The configuration was refused; the one applied before keeps serving')
				: _('A configuration was refused before the one now running was applied') ]),
			E('p', {}, [ _('Refused at %s:').format(when(err.time)) ]),
			E('pre', { 'style': 'white-space:pre-wrap', 'data-stat': 'config.last_error' }, [ err.message ])
		]);
	},

	renderManifestIssues: function(cfg) {
		var issues = (cfg && cfg.manifest_issues) || [];
		if (!issues.length)
			return E([]);
		return E('div', { 'class': 'alert-message warning', 'data-state': 'manifest-issues' }, [
			E('h4', {}, [ _('Left out of the Gateway API manifests') ]),
			E('p', {}, [ _('ugate serves the rest; these parts are not supported or not valid:') ]),
			E('pre', { 'style': 'white-space:pre-wrap', 'data-stat': 'config.manifest_issues' }, [ issues.join('\n') ])
		]);
	},

	renderStats: function(s) {
		var r = this.rates(s);
		var u = s.ugate || {}, cfg = s.config || {}, c = s.connections || {}, b = liveBytes(s);
		var lim = s.limits || {}, refused = lim.refused || {}, cap = s.capture || null;
		var top = s.top_hosts || {};

		var parts = [
			this.renderConfigError(cfg),
			this.renderManifestIssues(cfg),
			section(_('Gateway'), facts([
				[ _('State'), _('running'), 'state' ],
				[ _('Version'), '%s (%s)'.format(u.version || '?', u.runtime || '?'), 'version' ],
				[ _('Process'), String(u.pid || '–'), 'pid' ],
				[ _('Running for'), '%t'.format(Math.floor(num(u.uptime_seconds))), 'uptime' ],
				[ _('Configuration applied'), _('%s (%d reloads, %d refused)').format(when(cfg.applied), num(cfg.reloads), num(cfg.refused)), 'config.applied' ]
			])),
			section(_('Traffic'), facts([
				[ _('Open connections'), String(num(c.open)), 'connections.open' ],
				[ _('Connections accepted'), String(num(c.accepted)), 'connections.accepted' ],
				[ _('Forwarded / rejected by a route'), '%d / %d'.format(num(c.forwarded), num(c.rejected)), 'connections.forwarded' ],
				[ _('Failed: connect / handshake'), '%d / %d'.format(num(c.connect_failed), num(c.handshake_failed)), 'connections.failed' ],
				[ _('Refused at accept (over a limit)'), String(num(c.refused)), 'connections.refused' ],
				[ _('New connections'), perSecond(r.accepted), 'rate.connections' ],
				[ _('Upload (LAN → destination)'), '%s, %s'.format(rate(r.up), bytes(b.up)), 'bytes.up' ],
				[ _('Download (destination → LAN)'), '%s, %s'.format(rate(r.down), bytes(b.down)), 'bytes.down' ]
			]))
		];

		if (cap)
			parts.push(section(_('Capture'), E([], [
				cap.error ? E('div', { 'class': 'alert-message danger', 'data-state': 'capture-error' }, [ _('Capture failed: %s').format(cap.error) ]) : E([]),
				facts([
					[ _('Capturing'), cap.enabled ? _('yes') : _('no (Settings → Capture)'), 'capture.enabled' ],
					[ _('Firewall'), cap.firewall ? '%s, table %s'.format(cap.firewall, cap.table || '–') : '–', 'capture.firewall' ],
					[ _('Devices'), (cap.devices || []).join(', ') || '–', 'capture.devices' ],
					[ _('Ports'), (cap.ports || []).join(', ') || '–', 'capture.ports' ]
				])
			])));

		var limitRow = function(label, l, refusedCount) {
			l = l || {};
			return [ label, (l.open != null) ? '%d / %d'.format(num(l.open), num(l.cap)) : _('cap %d').format(num(l.cap)), String(num(refusedCount)) ];
		};
		parts.push(section(_('Limits'), (lim.connections == null) ? E('p', {}, [ E('em', {}, [ _('No limits reported') ]) ]) : E([], [
			grid('limits', [ _('Limit'), _('In use / cap'), _('Refused') ], [
				limitRow(_('Open connections (all)'), lim.connections, refused.connections),
				limitRow(_('Open connections per client'), lim.per_source, refused.per_source),
				limitRow(_('In handshake (all)'), lim.handshakes, refused.handshakes),
				limitRow(_('In handshake per client'), lim.handshakes_per_source, refused.handshakes_per_source)
			], ''),
			E('p', {}, [ _('Open files limit: %s; clients with open connections: %s').format(
				lim.open_files != null ? String(lim.open_files) : '–', lim.sources != null ? String(lim.sources) : '–') ])
		])));

		parts.push(section(_('Top hostnames') + (top.window_seconds ? ' ' + _('(last %d minutes)').format(Math.round(num(top.window_seconds) / 60)) : ''),
			E([], [
				grid('top-hosts', [ _('Hostname'), _('Connections'), _('Requests'), _('Data') ],
					(top.hosts || []).map(function(h) { return [ h.host, String(num(h.connections)), String(num(h.requests)), bytes(h.bytes) ]; }),
					_('No named connections recently')),
				num(top.others) > 0 ? E('p', {}, [ _('and %d connections to other names').format(num(top.others)) ]) : E([])
			])));

		parts.push(section(_('Listeners'), grid('listeners',
			[ _('Name'), _('Type'), _('Addresses'), _('Open'), _('Total'), _('New'), _('Up'), _('Down'), _('Requests'), _('Sniffed'), _('Closes'), _('Errors') ],
			(s.listeners || []).map(function(l) {
				var lc = l.connections || {}, lb = l.bytes || {};
				return [ l.name, l.type || '', (l.addresses || []).join(', '), String(num(lc.open)), String(num(lc.total)),
					perSecond(r.listeners[l.name]), bytes(lb.up), bytes(lb.down), String(num(l.requests)),
					counts(Object.assign({}, l.sniffed, l.sniff_failures)), counts(l.closes), String(num(l.errors)) ];
			}), _('No listeners'))));

		parts.push(section(_('Routes'), grid('routes',
			[ _('Name'), _('Open'), _('Total'), _('Requests'), _('Responses'), _('Up'), _('Down') ],
			(s.routes || []).map(function(rt) {
				var rc = rt.connections || {}, rb = rt.bytes || {};
				return [ rt.name, String(num(rc.open)), String(num(rc.total)), String(num(rt.requests)), counts(rt.responses), bytes(rb.up), bytes(rb.down) ];
			}), _('No routes'))));

		parts.push(section(_('Backends'), grid('backends',
			[ _('Backend'), _('Open'), _('Total'), _('Requests'), _('Up'), _('Down'), _('Errors') ],
			(s.backends || []).map(function(be) {
				var bc = be.connections || {}, bb = be.bytes || {};
				return [ be.name, String(num(bc.open)), String(num(bc.total)), String(num(be.requests)), bytes(bb.up), bytes(bb.down), String(num(be.errors)) ];
			}), _('No connections forwarded to a backend yet'))));

		return E('div', { 'data-state': 'running' }, parts);
	},

	update: function(container, s) {
		dom.content(container, (s == null || s.error) ? this.renderDown(s || {}) : this.renderStats(s));
	},

	render: function(stats) {
		var container = E('div', { 'id': 'ugate-status' });
		this.update(container, stats);

		poll.add(L.bind(function() {
			return callStatus().catch(function(e) { return { error: e.message }; }).then(L.bind(function(s) {
				this.update(container, s);
			}, this));
		}, this), 5);

		return E([], [
			E('h2', {}, [ _('ugate: Status') ]),
			E('div', { 'class': 'cbi-map-descr' }, [ _('Live statistics of the running ugate, refreshed every 5 seconds. Upload and download count bytes as they move; the data volumes in the tables count connections that have ended.') ]),
			container
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
