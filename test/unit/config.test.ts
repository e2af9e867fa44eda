import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { describeConfig } from '../../src/config/describe.ts';
import { ConfigError, DEFAULT_CONFIG_DOCUMENT, loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/model.ts';
import { parseDuration } from '../../src/config/schema.ts';
import { jsonErrorOffset } from '../../src/config/json-where.ts';

// ---------------------------------------------------------------------------
// helpers

const LAN = { name: 'lan', type: 'redirect', listen: ['0.0.0.0:8080'] };

const json = (doc: unknown, file = 't.json'): [string, string] => [file, JSON.stringify(doc)];
const load = (doc: unknown): Config => loadConfig([json(doc)]);

/** The ConfigError thrown for `files`, or a test failure. */
function configError(t: ExecutionContext, files: [string, string][]): ConfigError {
  try {
    loadConfig(files);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    t.fail(`expected a ConfigError, got ${String(e)}`);
    throw e;
  }
  t.fail(`expected a ConfigError for ${JSON.stringify(files)}`);
  throw new Error('unreachable');
}

// ---------------------------------------------------------------------------
// JSON: defaults and values

test('defaults are filled in', (t) => {
  const c = load({ listeners: [{ name: 'lan', type: 'redirect', listen: '0.0.0.0:8080' }] });
  t.deepEqual(c, {
    listeners: [{ name: 'lan', type: 'redirect', listen: [{ host: '0.0.0.0', port: 8080 }], default: { type: 'passthrough' }, users: [] }],
    routes: [],
    timeouts: { sniffMs: 5000, connectMs: 10_000, idleMs: 300_000, graceMs: 10_000, keepAliveMs: 60_000 },
    limits: { connections: null, perSource: null, handshakes: null, handshakesPerSource: null },
    sniffMaxBytes: 16384,
    accessLog: true,
    accessLogFormat: 'logfmt',
    dataPlane: 'auto',
    splice: { library: null, pipeSize: 1048576, pipePool: 32 },
    capture: {
      enabled: false,
      listener: null,
      zones: [],
      devices: [],
      ports: [80, 443],
      family: 'any',
      excludeSources: [],
      excludeMacs: [],
      excludeDestinations: [],
      quic: 'block',
      firewall: 'auto',
    },
    admin: null,
    manifests: [],
    gatewayApi: null,
  });
});

test('data plane settings, from JSON and from UCI', (t) => {
  const j = load({ listeners: [LAN], dataPlane: 'js', splice: { library: '/opt/lib/libugate_splice.so', pipeSize: 262144, pipePool: 0 } });
  t.deepEqual([j.dataPlane, j.splice], ['js', { library: '/opt/lib/libugate_splice.so', pipeSize: 262144, pipePool: 0 }]);
  const uci = `config ugate 'main'
	option data_plane 'splice'
	option splice_library '/usr/lib/ugate/libugate_splice.so'
	option splice_pipe_size '131072'
	option splice_pipe_pool '8'
config listener 'lan'
	option type 'redirect'
	option listen '0.0.0.0:8080'
`;
  const u = loadConfig([['ugate', uci]]);
  t.deepEqual([u.dataPlane, u.splice], ['splice', { library: '/usr/lib/ugate/libugate_splice.so', pipeSize: 131072, pipePool: 8 }]);
  const bad = t.throws(() => loadConfig([['ugate', uci.replace("'splice'", "'fast'")]]), { instanceOf: ConfigError });
  t.deepEqual(bad.issues, [{ path: "ugate main option data_plane (line 2)", message: 'must be "auto", "splice" or "js"' }]);
});

test('every field, given explicitly', (t) => {
  const c = load({
    listeners: [
      { name: 'proxy', type: 'mixed', listen: ['127.0.0.1:1080', '[::1]:1080'], default: 'reject', users: [{ username: 'alice', password: 'se:cret' }] },
      { name: 'edge', type: 'sni', listen: ['[FD00::1]:0'], default: { forward: 'Backend.Example:8443' } },
    ],
    routes: [
      {
        name: 'all',
        match: {
          listeners: ['proxy'],
          protocols: ['connect', 'socks5'],
          hosts: ['*.Example.com', 'example.org'],
          dstPorts: [443, '8000-8080'],
          dstCidrs: ['10.0.0.0/8', 'fd00::/8'],
          srcCidrs: ['127.0.0.1'],
        },
        action: { forward: '[2001:DB8::1]:3128' },
        allowGatewayHost: true,
      },
      { name: 'none', action: 'passthrough' },
    ],
    timeouts: { sniff: '500ms', connect: '5s', idle: '2m', grace: 0, keepAlive: '15s' },
    limits: { connections: 1000, perSource: 50, handshakes: 'auto', handshakesPerSource: 5 },
    sniff: { maxBytes: 64 },
    accessLog: false,
    accessLogFormat: 'json',
  });
  t.deepEqual(c.listeners[0], {
    name: 'proxy',
    type: 'mixed',
    listen: [
      { host: '127.0.0.1', port: 1080 },
      { host: '::1', port: 1080 },
    ],
    default: { type: 'reject' },
    users: [{ username: 'alice', password: 'se:cret' }],
  });
  t.deepEqual(c.listeners[1]!.listen, [{ host: 'FD00::1', port: 0 }]);
  t.deepEqual(c.listeners[1]!.default, { type: 'forward', backend: { host: 'backend.example', port: 8443 } });
  const r = c.routes[0]!;
  t.deepEqual(r.match.listeners, ['proxy']);
  t.deepEqual(r.match.protocols, ['connect', 'socks5']);
  t.deepEqual(
    r.match.hosts!.map((h) => [h.suffix, h.wildcard]),
    [
      ['example.com', true],
      ['example.org', false],
    ],
  );
  t.deepEqual(r.match.dstPorts, [
    { from: 443, to: 443 },
    { from: 8000, to: 8080 },
  ]);
  t.deepEqual(
    r.match.dstCidrs!.map((x) => [x.bytes.length, x.bits]),
    [
      [4, 8],
      [16, 8],
    ],
  );
  t.deepEqual(r.match.srcCidrs!.map((x) => x.bits), [32]);
  t.deepEqual(r.action, { type: 'forward', backend: { host: '2001:db8::1', port: 3128 } });
  t.true(r.allowGatewayHost);
  t.deepEqual(c.routes[1], { name: 'none', match: {}, action: { type: 'passthrough' }, allowGatewayHost: false });
  t.deepEqual(c.timeouts, { sniffMs: 500, connectMs: 5000, idleMs: 120_000, graceMs: 0, keepAliveMs: 15_000 });
  t.deepEqual(c.limits, { connections: 1000, perSource: 50, handshakes: null, handshakesPerSource: 5 });
  t.is(c.sniffMaxBytes, 64);
  t.false(c.accessLog);
  t.is(c.accessLogFormat, 'json');
});

test('durations: milliseconds or text with a unit', (t) => {
  const good: [number | string, number][] = [
    [0, 0],
    [250, 250],
    ['500ms', 500],
    ['5s', 5000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['0.5m', 30_000],
    [' 5s ', 5000],
  ];
  for (const [input, ms] of good) {
    t.is(parseDuration(input), ms, JSON.stringify(input));
    t.is(load({ listeners: [LAN], timeouts: { idle: input } }).timeouts.idleMs, ms, JSON.stringify(input));
  }
  const bad: [unknown, string][] = [
    ['5', '"5": expected a number of milliseconds or a duration like "500ms", "5s", "2m", "1h"'],
    ['5 s', '"5 s": expected a number of milliseconds or a duration like "500ms", "5s", "2m", "1h"'],
    ['-1s', '"-1s": expected a number of milliseconds or a duration like "500ms", "5s", "2m", "1h"'],
    ['1d', '"1d": expected a number of milliseconds or a duration like "500ms", "5s", "2m", "1h"'],
    ['597h', '"597h": at most 2147483647 ms (24.8 days)'],
    [2 ** 31, '2147483648: at most 2147483647 ms (24.8 days)'],
    ['', '"": expected a number of milliseconds or a duration like "500ms", "5s", "2m", "1h"'],
    [1.5, '1.5: milliseconds must be a whole number ≥ 0'],
    [-1, '-1: milliseconds must be a whole number ≥ 0'],
    [true, 'expected milliseconds or a duration string'],
    [null, 'expected milliseconds or a duration string'],
  ];
  for (const [input, message] of bad) {
    const e = configError(t, [json({ listeners: [LAN], timeouts: { connect: input } })]);
    t.deepEqual(e.issues, [{ path: 'timeouts.connect', message }], JSON.stringify(input));
  }
});

test('the embedded default is used when no file is given', (t) => {
  const c = loadConfig([]);
  t.deepEqual(c, load(DEFAULT_CONFIG_DOCUMENT));
  t.deepEqual(c.listeners[0]!.listen, [{ host: '127.0.0.1', port: 1080 }]);
  t.is(c.listeners[0]!.type, 'mixed');
});

// ---------------------------------------------------------------------------
// JSON: errors name the field path and the reason

const ERRORS: [title: string, doc: unknown, issues: [path: string, message: string][]][] = [
  ['unknown top-level field', { listeners: [LAN], bogus: 1 }, [['bogus', 'unknown field']]],
  ['data plane not one of the three', { listeners: [LAN], dataPlane: 'zerocopy' }, [['dataPlane', 'must be "auto", "splice" or "js"']]],
  ['pipe size below a page', { listeners: [LAN], splice: { pipeSize: 100 } }, [['splice.pipeSize', 'Invalid value: Expected >=4096 but received 100']]],
  ['pipe size above pipe-max-size', { listeners: [LAN], splice: { pipeSize: 4194304 } }, [['splice.pipeSize', 'Invalid value: Expected <=1048576 but received 4194304']]],
  ['empty library path', { listeners: [LAN], splice: { library: '' } }, [['splice.library', 'must not be empty']]],
  ['unknown splice field', { listeners: [LAN], splice: { threads: 2 } }, [['splice.threads', 'unknown field']]],
  ['unknown listener field', { listeners: [LAN, { ...LAN, name: 'b', listen: '0.0.0.0:1', Type: 'x' }] }, [['listeners[1].Type', 'unknown field']]],
  ['unknown timeouts field', { listeners: [LAN], timeouts: { sniffing: 1 } }, [['timeouts.sniffing', 'unknown field']]],
  ['unknown sniff field', { listeners: [LAN], sniff: { max: 1 } }, [['sniff.max', 'unknown field']]],
  ['unknown match field', { listeners: [LAN], routes: [{ name: 'r', match: { host: ['a'] }, action: 'reject' }] }, [['routes[0].match.host', 'unknown field']]],
  ['unknown user field', { listeners: [{ ...LAN, type: 'mixed', users: [{ username: 'a', password: 'b', role: 'x' }] }] }, [['listeners[0].users[0].role', 'unknown field']]],
  ['missing listeners', {}, [['listeners', 'required field is missing']]],
  ['missing name', { listeners: [{ type: 'redirect', listen: '0.0.0.0:1' }] }, [['listeners[0].name', 'required field is missing']]],
  ['missing type', { listeners: [{ name: 'a', listen: '0.0.0.0:1' }] }, [['listeners[0].type', 'required field is missing']]],
  ['missing listen', { listeners: [{ name: 'a', type: 'sni' }] }, [['listeners[0].listen', 'required field is missing']]],
  ['missing route action', { listeners: [LAN], routes: [{ name: 'r' }] }, [['routes[0].action', 'required field is missing']]],
  ['empty listeners list', { listeners: [] }, [['listeners', 'must not be empty']]],
  ['listeners not a list', { listeners: {} }, [['listeners', 'Invalid type: Expected Array but received Object']]],
  ['bad listener type', { listeners: [{ ...LAN, type: 'tproxy' }] }, [['listeners[0].type', 'must be "redirect", "mixed" or "sni"']]],
  ['bad listener name', { listeners: [{ ...LAN, name: 'my lan' }] }, [['listeners[0].name', 'must be 1-64 characters of A-Z a-z 0-9 _ . - @ [ ]']]],
  ['empty listen list', { listeners: [{ ...LAN, listen: [] }] }, [['listeners[0].listen', 'must not be empty']]],
  ['listen not a string', { listeners: [{ ...LAN, listen: 8080 }] }, [['listeners[0].listen', 'expected "host:port" or a list of them']]],
  ['bad listen address', { listeners: [{ ...LAN, listen: ['0.0.0.0:1', 'localhost'] }] }, [['listeners[0].listen[1]', '"localhost": expected host:port (IPv6 as [addr]:port)']]],
  ['bad listen address (single)', { listeners: [{ ...LAN, listen: '0.0.0.0' }] }, [['listeners[0].listen', '"0.0.0.0": expected host:port (IPv6 as [addr]:port)']]],
  ['IPv6 bind without brackets', { listeners: [{ ...LAN, listen: ['::1:80'] }] }, [['listeners[0].listen[0]', '"::1:80": expected host:port (IPv6 as [addr]:port)']]],
  ['DNS name as bind address', { listeners: [{ ...LAN, listen: ['localhost:80'] }] }, [['listeners[0].listen[0]', '"localhost:80": a bind address must be an IP literal']]],
  ['bad IPv4 bind address', { listeners: [{ ...LAN, listen: ['10.0.0.256:80'] }] }, [['listeners[0].listen[0]', '"10.0.0.256:80": a bind address must be an IP literal']]],
  ['bind port out of range', { listeners: [{ ...LAN, listen: ['0.0.0.0:65536'] }] }, [['listeners[0].listen[0]', '"0.0.0.0:65536": port must be 0 to 65535']]],
  [
    'two bad bind addresses',
    { listeners: [{ ...LAN, listen: ['[::1]:99999', '0.0.0.0:1', 'x:1'] }] },
    [
      ['listeners[0].listen[0]', '"[::1]:99999": port must be 0 to 65535'],
      ['listeners[0].listen[2]', '"x:1": a bind address must be an IP literal'],
    ],
  ],
  ['backend port 0', { listeners: [{ ...LAN, default: { forward: 'example.com:0' } }] }, [['listeners[0].default', '"example.com:0": port must be 1 to 65535']]],
  ['backend without port', { listeners: [{ ...LAN, default: { forward: 'example.com' } }] }, [['listeners[0].default', '"example.com": expected host:port (IPv6 as [addr]:port)']]],
  ['backend bad name', { listeners: [LAN], routes: [{ name: 'r', action: { forward: 'exa mple.com:80' } }] }, [['routes[0].action', '"exa mple.com:80": not an IP literal or DNS name (invalid label "exa mple")']]],
  ['backend bad IPv4', { listeners: [LAN], routes: [{ name: 'r', action: { forward: '10.0.0.256:80' } }] }, [['routes[0].action', '"10.0.0.256:80": not an IP literal or DNS name (not a valid IPv4 address)']]],
  ['backend DNS name in brackets', { listeners: [LAN], routes: [{ name: 'r', action: { forward: '[example.com]:80' } }] }, [['routes[0].action', '"[example.com]:80": only an IPv6 address goes in brackets']]],
  ['backend IPv4 in brackets', { listeners: [LAN], routes: [{ name: 'r', action: { forward: '[10.0.0.1]:80' } }] }, [['routes[0].action', '"[10.0.0.1]:80": only an IPv6 address goes in brackets']]],
  ['bad action word', { listeners: [LAN], routes: [{ name: 'r', action: 'drop' }] }, [['routes[0].action', '"drop": expected "passthrough", "reject" or { "forward": "host:port" }']]],
  ['"forward" without backend', { listeners: [{ ...LAN, default: 'forward' }] }, [['listeners[0].default', '"forward": expected "passthrough", "reject" or { "forward": "host:port" }']]],
  ['bad action object', { listeners: [LAN], routes: [{ name: 'r', action: { forward: 'a:1', via: 'b' } }] }, [['routes[0].action', 'expected "passthrough", "reject" or { "forward": "host:port" }']]],
  ['action of the wrong type', { listeners: [LAN], routes: [{ name: 'r', action: 1 }] }, [['routes[0].action', 'expected "passthrough", "reject" or { "forward": "host:port" }']]],
  ['duplicate listener names', { listeners: [LAN, { ...LAN, listen: '0.0.0.0:8081' }] }, [['listeners[1].name', 'duplicate listener name "lan"']]],
  ['duplicate bind address', { listeners: [LAN, { ...LAN, name: 'b' }] }, [['listeners[1].listen[0]', 'address already used by another listener']]],
  [
    'duplicate route names',
    { listeners: [LAN], routes: [{ name: 'r', action: 'reject' }, { name: 's', action: 'reject' }, { name: 'r', action: 'reject' }] },
    [['routes[2].name', 'duplicate route name "r"']],
  ],
  [
    'route referring to an unknown listener',
    { listeners: [LAN], routes: [{ name: 'r', match: { listeners: ['lan', 'wan'] }, action: 'reject' }] },
    [['routes[0].match.listeners[1]', 'no listener named "wan"']],
  ],
  ['users on a redirect listener', { listeners: [{ ...LAN, users: [{ username: 'a', password: 'b' }] }] }, [['listeners[0].users', 'only a mixed listener authenticates users']]],
  ['users on an sni listener', { listeners: [{ ...LAN, type: 'sni', users: [{ username: 'a', password: 'b' }] }] }, [['listeners[0].users', 'only a mixed listener authenticates users']]],
  ['bad protocol', { listeners: [LAN], routes: [{ name: 'r', match: { protocols: ['tls', 'ftp'] }, action: 'reject' }] }, [['routes[0].match.protocols[1]', 'must be one of tls, http, http2, ssh, opaque, socks5, connect']]],
  ['empty hosts list', { listeners: [LAN], routes: [{ name: 'r', match: { hosts: [] }, action: 'reject' }] }, [['routes[0].match.hosts', 'must not be empty']]],
  ['bad host pattern', { listeners: [LAN], routes: [{ name: 'r', match: { hosts: ['ok.com', 'a.*.com'] }, action: 'reject' }] }, [['routes[0].match.hosts[1]', '"a.*.com": a wildcard is only allowed as the whole first label ("*.")']]],
  ['port 0', { listeners: [LAN], routes: [{ name: 'r', match: { dstPorts: [0] }, action: 'reject' }] }, [['routes[0].match.dstPorts[0]', '"0": expected a port 1-65535 or a range "from-to"']]],
  ['port too large', { listeners: [LAN], routes: [{ name: 'r', match: { dstPorts: [80, 65536] }, action: 'reject' }] }, [['routes[0].match.dstPorts[1]', '"65536": expected a port 1-65535 or a range "from-to"']]],
  ['reversed port range', { listeners: [LAN], routes: [{ name: 'r', match: { dstPorts: ['90-80'] }, action: 'reject' }] }, [['routes[0].match.dstPorts[0]', '"90-80": expected a port 1-65535 or a range "from-to"']]],
  ['fractional port', { listeners: [LAN], routes: [{ name: 'r', match: { dstPorts: [80.5] }, action: 'reject' }] }, [['routes[0].match.dstPorts[0]', '"80.5": expected a port 1-65535 or a range "from-to"']]],
  ['bad CIDR', { listeners: [LAN], routes: [{ name: 'r', match: { dstCidrs: ['10.0.0.0/33'] }, action: 'reject' }] }, [['routes[0].match.dstCidrs[0]', '"10.0.0.0/33": prefix length must be 0 to 32']]],
  ['bad source CIDR', { listeners: [LAN], routes: [{ name: 'r', match: { srcCidrs: ['lan'] }, action: 'reject' }] }, [['routes[0].match.srcCidrs[0]', '"lan": not an IPv4 or IPv6 address']]],
  ['sniff.maxBytes too small', { listeners: [LAN], sniff: { maxBytes: 10 } }, [['sniff.maxBytes', 'Invalid value: Expected >=64 but received 10']]],
  ['accessLog not a boolean', { listeners: [LAN], accessLog: 'yes' }, [['accessLog', 'Invalid type: Expected boolean but received "yes"']]],
];

test('table: validation errors name the field path and the reason', (t) => {
  for (const [title, doc, issues] of ERRORS) {
    const e = configError(t, [json(doc)]);
    t.is(e.file, 't.json', title);
    t.deepEqual(
      e.issues.map((i) => [i.path, i.message]),
      issues,
      title,
    );
    t.is(e.message, issues.map(([p, m]) => `t.json: ${p}: ${m}`).join('\n'), title);
  }
});

test('document-level errors: invalid JSON, not an object', (t) => {
  let e = configError(t, [['bad.json', '{ "listeners": [ }']]);
  t.is(e.file, 'bad.json');
  t.is(e.issues.length, 1);
  t.is(e.issues[0]!.path, 'line 1, column 18');
  t.regex(e.issues[0]!.message, /^invalid JSON: /);
  t.regex(e.message, /^bad\.json: line 1, column 18: invalid JSON: /);
  t.notRegex(e.message, /position/, 'a line and column, not a byte position');
  e = configError(t, [['a.json', '  {']]);
  t.regex(e.message, /^a\.json: (line 1, column \d+: )?invalid JSON/);
  // a syntax error further down is placed by line and column
  e = configError(t, [['b.json', '{\n  "listeners": [\n    { "name": "a", }\n  ]\n}\n']]);
  t.regex(e.message, /^b\.json: line 3, column 20: invalid JSON: /);
  // A JSON array or value does not start with "{", so it is read as UCI, which rejects it.
  e = configError(t, [['arr.json', '[1]']]);
  t.is(e.file, 'arr.json');
  t.regex(e.message, /^arr\.json: line 1, column 1: /);
});

test('a "__proto__" field is an unknown field, never a prototype', (t) => {
  const e = configError(t, [json({ listeners: [LAN] }), ['b.json', '{"timeouts": {"__proto__": {"polluted": 1}}, "__proto__": {"x": 2}}']]);
  t.is(e.file, 'b.json');
  t.deepEqual(e.issues.map((i) => i.path).sort(), ['__proto__', 'timeouts.__proto__']);
  t.is(({} as Record<string, unknown>).polluted, undefined);
  t.is(({} as Record<string, unknown>).x, undefined);
});

// ---------------------------------------------------------------------------
// several files

test('several files: lists concatenate, later settings win one by one', (t) => {
  const c = loadConfig([
    json({ listeners: [LAN], routes: [{ name: 'a', action: 'reject' }], timeouts: { sniff: '1s', idle: '1m' }, sniff: { maxBytes: 1024 } }, 'a.json'),
    json({ listeners: [{ name: 'proxy', type: 'mixed', listen: '127.0.0.1:1080' }], timeouts: { idle: '2m' }, accessLog: false }, 'b.json'),
    json({ routes: [{ name: 'b', match: { listeners: ['lan', 'proxy'] }, action: 'passthrough' }] }, 'c.json'),
  ]);
  t.deepEqual(
    c.listeners.map((l) => l.name),
    ['lan', 'proxy'],
  );
  t.deepEqual(
    c.routes.map((r) => r.name),
    ['a', 'b'],
  );
  t.deepEqual(c.timeouts, { sniffMs: 1000, connectMs: 10_000, idleMs: 120_000, graceMs: 10_000, keepAliveMs: 60_000 });
  t.is(c.sniffMaxBytes, 1024);
  t.false(c.accessLog);
});

test('several files: an error is reported in its own file, with its local index', (t) => {
  const a = json({ listeners: [LAN, { name: 'wan', type: 'redirect', listen: '0.0.0.0:8081' }], routes: [{ name: 'a', action: 'reject' }] }, 'a.json');
  let e = configError(t, [a, json({ routes: [{ name: 'ok', action: 'reject' }, { name: 'b', match: { hosts: ['bad host'] }, action: 'reject' }] }, 'b.json')]);
  t.is(e.file, 'b.json');
  t.deepEqual(e.issues, [{ path: 'routes[1].match.hosts[0]', message: '"bad host": invalid label "bad host"' }]);
  t.is(e.message, 'b.json: routes[1].match.hosts[0]: "bad host": invalid label "bad host"');

  // cross-file checks: a duplicate of a name from the first file is reported in the second
  e = configError(t, [a, json({ listeners: [{ name: 'x', type: 'mixed', listen: '[::1]:1' }, { name: 'wan', type: 'mixed', listen: '[::1]:2' }] }, 'b.json')]);
  t.is(e.file, 'b.json');
  t.deepEqual(e.issues, [{ path: 'listeners[1].name', message: 'duplicate listener name "wan"' }]);
  e = configError(t, [a, json({ routes: [{ name: 'a', action: 'reject' }] }, 'b.json')]);
  t.deepEqual([e.file, e.issues], ['b.json', [{ path: 'routes[0].name', message: 'duplicate route name "a"' }]]);
  e = configError(t, [a, json({ routes: [{ name: 'c', match: { listeners: ['lan', 'dmz'] }, action: 'reject' }] }, 'b.json')]);
  t.deepEqual([e.file, e.issues], ['b.json', [{ path: 'routes[0].match.listeners[1]', message: 'no listener named "dmz"' }]]);

  // errors in the first file are reported first, for that file only
  e = configError(t, [json({ listeners: [{ ...LAN, bogus: 1 }] }, 'a.json'), json({ bogus: 2 }, 'b.json')]);
  t.deepEqual([e.file, e.issues], ['a.json', [{ path: 'listeners[0].bogus', message: 'unknown field' }]]);

  // settings: the file that set the bad value
  e = configError(t, [json({ listeners: [LAN], timeouts: { idle: 'soon' } }, 'a.json'), json({ timeouts: { sniff: '1s' } }, 'b.json')]);
  t.is(e.file, 'a.json');
  t.deepEqual(e.issues.map((i) => i.path), ['timeouts.idle']);
  e = configError(t, [json({ listeners: [LAN], timeouts: { idle: '1m' } }, 'a.json'), json({ timeouts: { idle: 'later' } }, 'b.json')]);
  t.is(e.file, 'b.json');

  // a list that is not a list is reported, never spread into the merged list
  e = configError(t, [json({ listeners: 5 }, 'a.json'), json({ listeners: [LAN] }, 'b.json')]);
  t.deepEqual([e.file, e.issues], ['a.json', [{ path: 'listeners', message: 'Invalid type: Expected Array but received 5' }]]);
  e = configError(t, [json({ listeners: [LAN] }, 'a.json'), json({ routes: { name: 'r' } }, 'b.json')]);
  t.deepEqual([e.file, e.issues], ['b.json', [{ path: 'routes', message: 'Invalid type: Expected Array but received Object' }]]);

  // a syntax error names its file
  e = configError(t, [a, ['b.json', '{"routes": [}']]);
  t.is(e.file, 'b.json');
});

// ---------------------------------------------------------------------------
// UCI

const UCI = `# /etc/config/ugate
config ugate 'main'
	option sniff_timeout '3s'
	option connect_timeout '5000'
	option idle_timeout '10m'
	option grace_period '2s'
	option keepalive_timeout '30s'
	option sniff_max_bytes '8192'
	option access_log '0'
	option max_connections '2000'
	option max_connections_per_source '100'
	option max_handshakes 'auto'
	option max_handshakes_per_source '10'

config listener 'lan'
	option type 'redirect'
	list listen '0.0.0.0:8080'
	list listen '[::]:8080'

config listener 'tls_edge'
	option type 'sni'
	option listen '192.168.1.1:443'
	option default 'forward'
	option backend '192.168.1.20:443'

config listener
	option type 'mixed'
	list listen '127.0.0.1:1080'
	list listen '[::1]:1080'
	option default 'reject'
	list user 'alice:secret'
	list user 'bob:pa:ss word'

config route 'block_ads'
	list host '*.doubleclick.net'
	list host 'ads.example.com'
	option action 'reject'

config route 'ssh_bastion'
	option enabled '1'
	option listener 'lan'
	list protocol 'ssh'
	list dst_port '22'
	list dst_port '2200-2299'
	list dst_cidr '10.0.0.0/8'
	list dst_cidr 'fd00::/8'
	list src_cidr '192.168.1.0/24'
	option action 'forward'
	option backend 'Bastion.lan:22'
	option allow_gateway_host '1'

config route 'old'
	option enabled '0'
	option host 'old.example.com'
	option action 'bogus'

config route
	list listener 'lan'
	list listener '@listener[2]'
	option protocol 'connect'
	option backend '[2001:db8::1]:3128'
`;

/** The same configuration, written as JSON. */
const UCI_AS_JSON = {
  timeouts: { sniff: '3s', connect: 5000, idle: '10m', grace: '2s', keepAlive: '30s' },
  limits: { connections: 2000, perSource: 100, handshakes: 'auto', handshakesPerSource: 10 },
  sniff: { maxBytes: 8192 },
  accessLog: false,
  listeners: [
    { name: 'lan', type: 'redirect', listen: ['0.0.0.0:8080', '[::]:8080'] },
    { name: 'tls_edge', type: 'sni', listen: '192.168.1.1:443', default: { forward: '192.168.1.20:443' } },
    {
      name: '@listener[2]',
      type: 'mixed',
      listen: ['127.0.0.1:1080', '[::1]:1080'],
      default: 'reject',
      users: [
        { username: 'alice', password: 'secret' },
        { username: 'bob', password: 'pa:ss word' },
      ],
    },
  ],
  routes: [
    { name: 'block_ads', match: { hosts: ['*.doubleclick.net', 'ads.example.com'] }, action: 'reject' },
    {
      name: 'ssh_bastion',
      match: { listeners: ['lan'], protocols: ['ssh'], dstPorts: ['22', '2200-2299'], dstCidrs: ['10.0.0.0/8', 'fd00::/8'], srcCidrs: ['192.168.1.0/24'] },
      action: { forward: 'Bastion.lan:22' },
      allowGatewayHost: true,
    },
    { name: '@route[3]', match: { listeners: ['lan', '@listener[2]'], protocols: ['connect'] }, action: { forward: '[2001:db8::1]:3128' } },
  ],
};

test('UCI: a realistic /etc/config/ugate gives the same model as its JSON form', (t) => {
  const c = loadConfig([['/etc/config/ugate', UCI]]);
  t.deepEqual(c, load(UCI_AS_JSON));
  // spot checks
  t.deepEqual(c.timeouts, { sniffMs: 3000, connectMs: 5000, idleMs: 600_000, graceMs: 2000, keepAliveMs: 30_000 });
  t.deepEqual(c.limits, { connections: 2000, perSource: 100, handshakes: null, handshakesPerSource: 10 });
  t.true(c.routes[1]!.allowGatewayHost);
  t.is(c.sniffMaxBytes, 8192);
  t.false(c.accessLog);
  t.deepEqual(
    c.listeners.map((l) => [l.name, l.type, l.listen.length, l.default.type]),
    [
      ['lan', 'redirect', 2, 'passthrough'],
      ['tls_edge', 'sni', 1, 'forward'],
      ['@listener[2]', 'mixed', 2, 'reject'],
    ],
  );
  t.deepEqual(c.listeners[1]!.default, { type: 'forward', backend: { host: '192.168.1.20', port: 443 } });
  t.deepEqual(c.listeners[2]!.users, [
    { username: 'alice', password: 'secret' },
    { username: 'bob', password: 'pa:ss word' },
  ]);
  t.deepEqual(
    c.routes.map((r) => r.name),
    ['block_ads', 'ssh_bastion', '@route[3]'],
    'the disabled route is skipped',
  );
  t.deepEqual(c.routes[1]!.action, { type: 'forward', backend: { host: 'bastion.lan', port: 22 } });
  t.deepEqual(c.routes[2]!.action, { type: 'forward', backend: { host: '2001:db8::1', port: 3128 } });
});

test('UCI: minimal file; text is UCI unless it starts with "{"', (t) => {
  const c = loadConfig([['ugate', "\n# comment\nconfig listener 'p'\n\toption type mixed\n\toption listen 127.0.0.1:1080\n"]]);
  t.deepEqual(c, load({ listeners: [{ name: 'p', type: 'mixed', listen: '127.0.0.1:1080' }] }));
  t.deepEqual(loadConfig([['ugate.json', `  \n ${JSON.stringify({ listeners: [LAN] })}`]]), load({ listeners: [LAN] }));
});

test('UCI: a disabled listener is skipped, and routes may not refer to it', (t) => {
  const text = "config listener 'a'\n\toption type redirect\n\toption listen 0.0.0.0:1\nconfig listener 'b'\n\toption enabled 'no'\n\toption type redirect\n\toption listen 0.0.0.0:2\n";
  t.deepEqual(
    loadConfig([['u', text]]).listeners.map((l) => l.name),
    ['a'],
  );
  const e = configError(t, [['u', `${text}config route 'r'\n\toption listener 'b'\n\toption action reject\n`]]);
  t.is(e.message, 'u: route r option listener[0] (line 9): no listener named "b"');
});

const L1 = "config listener 'lan'\n\toption type 'redirect'\n\toption listen '0.0.0.0:8080'\n";

const UCI_ERRORS: [title: string, text: string, message: string][] = [
  ['syntax error', "config listener 'lan\n", "f: line 1, column 17: unterminated single quote (')"],
  ['unknown section type', `${L1}config proxy 'x'\n\toption type 'mixed'\n`, 'f: proxy x (line 4): unknown section type "proxy" (expected ugate, listener, route or service)'],
  ['unknown listener option', `${L1}\toption port '80'\n`, 'f: listener lan option port (line 4): unknown option (expected one of: type, listen, default, backend, user, enabled)'],
  [
    'unknown route option',
    `${L1}config route\n\toption hosts 'a.com'\n\toption action 'reject'\n`,
    'f: route @route[0] option hosts (line 5): unknown option (expected one of: listener, protocol, host, dst_port, dst_cidr, src_cidr, action, backend, allow_gateway_host, enabled)',
  ],
  [
    'unknown global option',
    `config ugate 'main'\n\toption log_level 'debug'\n${L1}`,
    'f: ugate main option log_level (line 2): unknown option (expected one of: sniff_timeout, connect_timeout, idle_timeout, grace_period, keepalive_timeout, max_connections, max_connections_per_source, max_handshakes, max_handshakes_per_source, sniff_max_bytes, access_log, access_log_format, data_plane, splice_library, splice_pipe_size, splice_pipe_pool, capture, capture_listener, capture_zone, capture_device, capture_port, capture_family, capture_exclude_src, capture_exclude_mac, capture_exclude_dst, quic, firewall, admin, manifest)',
  ],
  ['list for a single-value option', "config listener 'lan'\n\tlist type 'redirect'\n\toption listen '0.0.0.0:1'\n", 'f: listener lan option type (line 2): takes one value: use "option", not "list"'],
  ['list for a route action', `${L1}config route 'r'\n\tlist action 'reject'\n`, 'f: route r option action (line 5): takes one value: use "option", not "list"'],
  ['forward without backend (listener)', `${L1}\toption default 'forward'\n`, `f: listener lan option default (line 4): "forward" needs option backend 'host:port'`],
  ['forward without backend (route)', `${L1}config route 'r'\n\toption action 'forward'\n`, `f: route r option action (line 5): "forward" needs option backend 'host:port'`],
  ['backend without forward (listener)', `${L1}\toption default 'reject'\n\toption backend '10.0.0.1:80'\n`, "f: listener lan option backend (line 5): a backend is only used with default 'forward'"],
  ['backend without forward (route)', `${L1}config route 'r'\n\toption action 'passthrough'\n\toption backend '10.0.0.1:80'\n`, "f: route r option backend (line 6): a backend is only used with action 'forward'"],
  ['user without password', "config listener 'p'\n\toption type 'mixed'\n\toption listen '0.0.0.0:1'\n\tlist user 'alice'\n", 'f: listener p option user (line 4): "alice": expected "username:password"'],
  ['enabled not a boolean', `${L1}\toption enabled 'maybe'\n`, 'f: listener lan option enabled (line 4): expected 0 or 1'],
  ['access_log not a boolean', `config ugate\n\toption access_log 'sometimes'\n${L1}`, 'f: ugate @ugate[0] option access_log (line 2): expected 0 or 1'],
  ['two ugate sections', `config ugate 'a'\nconfig ugate 'b'\n${L1}`, 'f: ugate b (line 2): a second "ugate" section (the first is a)'],
  // validation errors, described as the section and option they came from
  ['bad listen address', "config listener 'lan'\n\toption type 'redirect'\n\toption listen 'lan:80'\n", 'f: listener lan option listen (line 3): "lan:80": a bind address must be an IP literal'],
  [
    'bad listen address in a list',
    "config listener\n\toption type 'redirect'\n\tlist listen '0.0.0.0:80'\n\tlist listen '[::]:99999'\n",
    'f: listener @listener[0] option listen[1] (line 3): "[::]:99999": port must be 0 to 65535',
  ],
  ['missing type', "config listener 'lan'\n\toption listen '0.0.0.0:1'\n", 'f: listener lan option type (line 1): required field is missing'],
  ['bad type', "config listener 'lan'\n\toption listen '0.0.0.0:1'\n\toption type 'tproxy'\n", 'f: listener lan option type (line 3): must be "redirect", "mixed" or "sni"'],
  ['users on a redirect listener', `${L1}\tlist user 'a:b'\n`, 'f: listener lan option user (line 4): only a mixed listener authenticates users'],
  ['bad listener backend', `${L1}\toption default 'forward'\n\toption backend 'bad host:80'\n`, 'f: listener lan option backend (line 5): "bad host:80": not an IP literal or DNS name (invalid label "bad host")'],
  ['bad route backend', `${L1}config route 'r'\n\toption action 'forward'\n\toption backend '10.0.0.1'\n`, 'f: route r option backend (line 6): "10.0.0.1": expected host:port (IPv6 as [addr]:port)'],
  ['bad route action', `${L1}config route 'r'\n\toption action 'drop'\n`, 'f: route r option action (line 5): "drop": expected "passthrough", "reject" or { "forward": "host:port" }'],
  ['route without action', `${L1}config route 'r'\n\toption host 'a.com'\n`, 'f: route r option action (line 4): required field is missing'],
  ['bad host', `${L1}config route 'r'\n\tlist host 'ok.com'\n\tlist host '*.*'\n\toption action 'reject'\n`, 'f: route r option host[1] (line 5): "*.*": a wildcard is only allowed as the whole first label ("*.")'],
  ['bad port', `${L1}config route 'r'\n\toption dst_port '0-80'\n\toption action 'reject'\n`, 'f: route r option dst_port[0] (line 5): "0-80": expected a port 1-65535 or a range "from-to"'],
  ['bad CIDR', `${L1}config route 'r'\n\toption src_cidr '192.168.1.0/24 '\n\toption action 'reject'\n`, 'f: route r option src_cidr[0] (line 5): "192.168.1.0/24 ": prefix length must be 0 to 32'],
  ['bad protocol', `${L1}config route 'r'\n\toption protocol 'https'\n\toption action 'reject'\n`, 'f: route r option protocol[0] (line 5): must be one of tls, http, http2, ssh, opaque, socks5, connect'],
  ['unknown listener', `${L1}config route 'r'\n\tlist listener 'lan'\n\tlist listener 'wan'\n\toption action 'reject'\n`, 'f: route r option listener[1] (line 5): no listener named "wan"'],
  ['bad duration', `config ugate 'main'\n\toption idle_timeout '5 minutes'\n${L1}`, 'f: ugate main option idle_timeout (line 2): "5 minutes": expected a number of milliseconds or a duration like "500ms", "5s", "2m", "1h"'],
  ['bad sniff_max_bytes', `config ugate 'main'\n\toption sniff_max_bytes 'lots'\n${L1}`, 'f: ugate main option sniff_max_bytes (line 2): Invalid type: Expected number but received "lots"'],
  ['no listener at all', "config ugate 'main'\n", 'f: listeners: required field is missing'],
];

test('table: UCI errors name the section, option and line', (t) => {
  for (const [title, text, message] of UCI_ERRORS) {
    const e = configError(t, [['f', text]]);
    t.is(e.file, 'f', title);
    t.is(e.message, message, title);
  }
});

test('UCI and JSON files together', (t) => {
  const c = loadConfig([
    ['/etc/config/ugate', UCI],
    json({ timeouts: { idle: '1h' }, routes: [{ name: 'extra', match: { listeners: ['tls_edge'] }, action: 'passthrough' }] }, '/etc/ugate.d/extra.json'),
  ]);
  t.deepEqual(
    c.routes.map((r) => r.name),
    ['block_ads', 'ssh_bastion', '@route[3]', 'extra'],
  );
  t.deepEqual(c.timeouts, { sniffMs: 3000, connectMs: 5000, idleMs: 3_600_000, graceMs: 2000, keepAliveMs: 30_000 });
  const e = configError(t, [
    ['/etc/config/ugate', UCI],
    json({ routes: [{ name: 'block_ads', action: 'reject' }] }, '/etc/ugate.d/extra.json'),
  ]);
  t.is(e.message, '/etc/ugate.d/extra.json: routes[0].name: duplicate route name "block_ads"');
  const e2 = configError(t, [json({ listeners: [LAN] }, 'a.json'), ['/etc/config/ugate', `${L1.replace("'lan'", "'lan2'").replace('8080', '8081')}config route 'r'\n\toption host 'a..b'\n\toption action 'reject'\n`]]);
  t.is(e2.message, '/etc/config/ugate: route r option host[0] (line 5): "a..b": invalid label ""');
});

// ---------------------------------------------------------------------------
// describeConfig

/** describe → JSON → load → describe is the identity (passwords print as "***", which loads back as a password). */
function checkRoundTrip(t: ExecutionContext, c: Config, label: string): void {
  const described = describeConfig(c);
  const again = loadConfig([['described.json', JSON.stringify(described)]]);
  t.deepEqual(describeConfig(again), described, label);
  const masked = { ...c, listeners: c.listeners.map((l) => ({ ...l, users: l.users.map((u) => ({ ...u, password: '***' })) })) };
  t.deepEqual(again, masked, label);
}

test('describeConfig fills in every default, in the JSON shape', (t) => {
  t.deepEqual(describeConfig(load({ listeners: [{ name: 'p', type: 'mixed', listen: '[::1]:1080', users: [{ username: 'u', password: 'p' }] }] })), {
    listeners: [{ name: 'p', type: 'mixed', listen: ['[::1]:1080'], default: 'passthrough', users: [{ username: 'u', password: '***' }] }],
    routes: [],
    timeouts: { sniff: 5000, connect: 10_000, idle: 300_000, grace: 10_000, keepAlive: 60_000 },
    limits: { connections: 'auto', perSource: 'auto', handshakes: 'auto', handshakesPerSource: 'auto' },
    sniff: { maxBytes: 16384 },
    accessLog: true,
    accessLogFormat: 'logfmt',
    dataPlane: 'auto',
    splice: { pipeSize: 1048576, pipePool: 32 },
    capture: { enabled: false, zones: [], devices: [], ports: [80, 443], family: 'any', exclude: { sources: [], macs: [], destinations: [] }, quic: 'block', firewall: 'auto' },
  });
  const d = describeConfig(loadConfig([['u', UCI]])) as { routes: unknown[]; listeners: unknown[] };
  t.deepEqual(d.routes[1], {
    name: 'ssh_bastion',
    match: { listeners: ['lan'], protocols: ['ssh'], dstPorts: [22, '2200-2299'], dstCidrs: ['10.0.0.0/8', 'fd00::/8'], srcCidrs: ['192.168.1.0/24'] },
    action: { forward: 'bastion.lan:22' },
    allowGatewayHost: true,
  });
  t.deepEqual(d.listeners[1], { name: 'tls_edge', type: 'sni', listen: ['192.168.1.1:443'], default: { forward: '192.168.1.20:443' } });
});

test('describeConfig round-trips (fixed configurations)', (t) => {
  checkRoundTrip(t, loadConfig([['u', UCI]]), 'UCI');
  checkRoundTrip(t, load(UCI_AS_JSON), 'JSON');
  checkRoundTrip(t, loadConfig([]), 'embedded default');
  checkRoundTrip(
    t,
    load({
      listeners: [{ name: 'v6', type: 'sni', listen: ['[FE80::1]:0', '[::]:443'], default: { forward: '[::ffff:10.0.0.1]:443' } }],
      routes: [{ name: 'r', match: { hosts: ['*.EXAMPLE.com.'], dstCidrs: ['::ffff:10.0.0.0/104'], dstPorts: ['1-65535'] }, action: 'reject' }],
      timeouts: { sniff: '1.5s' },
    }),
    'IPv6',
  );
});

const V4 = ['0.0.0.0', '127.0.0.1', '192.168.1.1'];
const V6 = ['::', '::1', 'fd00::1', 'FE80::AB'];
const action = fc.oneof(
  fc.constantFrom('passthrough', 'reject'),
  fc.record({
    forward: fc.tuple(fc.constantFrom('10.0.0.1', '[2001:db8::1]', 'Example.com', 'a-b.c_d.test', '[::ffff:1.2.3.4]'), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`),
  }),
);
const some = <T>(xs: fc.Arbitrary<T>) => fc.option(fc.array(xs, { minLength: 1, maxLength: 3 }), { nil: undefined });
// Within the timer limit of 2^31-1 ms (596 h); longer durations are refused (tested above).
const duration = fc.oneof(fc.nat({ max: 1_000_000 }), fc.tuple(fc.nat({ max: 596 }), fc.constantFrom('ms', 's', 'm', 'h')).map(([n, u]) => `${n}${u}`));

const configDoc = fc
  .record({
    listeners: fc.array(
      fc.record({
        type: fc.constantFrom('redirect', 'mixed', 'sni'),
        listen: fc.array(fc.constantFrom(...V4, ...V6.map((a) => `[${a}]`)), { minLength: 1, maxLength: 3 }),
        default: fc.option(action, { nil: undefined }),
        users: fc.array(fc.record({ username: fc.string({ minLength: 1, maxLength: 8 }), password: fc.string({ maxLength: 8 }) }), { maxLength: 2 }),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    routes: fc.array(
      fc.record({
        match: fc.record(
          {
            listeners: fc.constant(true),
            protocols: some(fc.constantFrom('tls', 'http', 'http2', 'ssh', 'opaque', 'socks5', 'connect')),
            hosts: some(fc.constantFrom('example.com', '*.example.com', '*.Test.', 'a_b.lan', '10.0.0.1')),
            dstPorts: some(fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom('80', '8000-8999', '1-65535'))),
            dstCidrs: some(fc.constantFrom('10.0.0.0/8', '0.0.0.0/0', 'fd00::/8', '2001:DB8::1', '::ffff:0:0/96')),
            srcCidrs: some(fc.constantFrom('192.168.1.0/24', '::/0', '1.2.3.4')),
          },
          { requiredKeys: [] },
        ),
        action,
      }),
      { maxLength: 4 },
    ),
    timeouts: fc.record({ sniff: duration, connect: duration, idle: duration, grace: duration }, { requiredKeys: [] }),
    sniff: fc.record({ maxBytes: fc.integer({ min: 64, max: 65536 }) }, { requiredKeys: [] }),
    accessLog: fc.option(fc.boolean(), { nil: undefined }),
    accessLogFormat: fc.option(fc.constantFrom('logfmt', 'json'), { nil: undefined }),
  })
  .map((d) => {
    // Valid by construction: unique names and ports, users only on mixed listeners, known listener names.
    const listeners = d.listeners.map((l, i) => ({
      name: `l${i}`,
      type: l.type,
      listen: l.listen.map((h, j) => `${h}:${1000 + i * 10 + j}`),
      ...(l.default !== undefined ? { default: l.default } : {}),
      ...(l.type === 'mixed' && l.users.length > 0 ? { users: l.users } : {}),
    }));
    const routes = d.routes.map((r, i) => {
      const { listeners: withListeners, ...match } = r.match;
      const m: Record<string, unknown> = Object.fromEntries(Object.entries(match).filter(([, v]) => v !== undefined));
      if (withListeners) m.listeners = [`l${i % listeners.length}`];
      return { name: `r${i}`, match: m, action: r.action };
    });
    return { listeners, routes, timeouts: d.timeouts, sniff: d.sniff, ...(d.accessLog !== undefined ? { accessLog: d.accessLog } : {}) };
  });

test('property: describeConfig round-trips', (t) => {
  fc.assert(
    fc.property(configDoc, (doc) => {
      checkRoundTrip(t, load(doc), JSON.stringify(doc));
    }),
    { numRuns: 150 },
  );
});

test('UCI: a second section with the same name is an error (libuci would merge the two)', (t) => {
  const text = "config listener 'lan'\n\toption type 'redirect'\n\toption listen '0.0.0.0:1'\nconfig listener 'lan'\n\toption type 'mixed'\n\toption listen '127.0.0.1:2'\n";
  const e = configError(t, [['ugate', text]]);
  t.deepEqual(e.issues, [{ path: 'listener lan (line 4)', message: "a second section named 'lan' (the first is on line 1); UCI would merge the two: give each its own name" }]);
});

test('jsonErrorOffset: where a text stops being JSON, and null for every valid JSON text', (t) => {
  const cases: [string, number | null][] = [
    ['{}', null],
    [' { "a": [1, -2.5e3, true, false, null, "x\\u00e9\\n"] } ', null],
    ['{ "listeners": [ }', 17],
    ['{ "a": 1, }', 10],
    ['{ "a" 1 }', 6],
    ['{ "a": 01 }', 8],
    ['{ "a": "\\x" }', 9],
    ['{ "a": "open', 12],
    ['{ "a": tru }', 7],
    ['{} x', 3],
    ['', 0],
  ];
  for (const [text, at] of cases) t.is(jsonErrorOffset(text), at, text);
  fc.assert(
    fc.property(fc.jsonValue(), (v) => jsonErrorOffset(JSON.stringify(v, null, 1)) === null),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.string(), (s) => (jsonErrorOffset(s) === null) === (() => { try { JSON.parse(s); return true; } catch { return false; } })()),
    { numRuns: 2000 },
  );
});
