// Gateway API manifests → ugate's Config: validation (every supported field, every kind of issue
// with its field path), attachment (sections, ports, namespaces, hostname intersection, capture
// listeners), YAML loading, directories, and a property: no input makes validation throw.

import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { ConfigError, fileFormat, loadConfig } from '../../src/config/load.ts';
import type { Config, ListenerConfig } from '../../src/config/model.ts';
import { readConfigFiles } from '../../src/config/read.ts';
import { describeConfig } from '../../src/config/describe.ts';
import { attachRoutes, intersectHostnames } from '../../src/gateway-api/attach.ts';
import type { GatewayApiConfig, HttpRoute, ListenerRoutes } from '../../src/gateway-api/model.ts';
import { formatManifestIssue, validateManifests } from '../../src/gateway-api/validate.ts';
import { parseHostnamePattern } from '../../src/route/hostname.ts';

// ---------------------------------------------------------------------------
// helpers

const V1 = 'gateway.networking.k8s.io/v1';
type Spec = Record<string, unknown>;
const meta = (name: string, namespace?: string) => ({ name, ...(namespace ? { namespace } : {}) });
const gateway = (spec: Spec = {}, name = 'web', namespace?: string) => ({
  apiVersion: V1,
  kind: 'Gateway',
  metadata: meta(name, namespace),
  spec: { gatewayClassName: 'ugate', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }], ...spec },
});
const httpRoute = (spec: Spec = {}, name = 'shop', namespace?: string) => ({ apiVersion: V1, kind: 'HTTPRoute', metadata: meta(name, namespace), spec: { parentRefs: [{ name: 'web' }], ...spec } });
const tlsRoute = (spec: Spec = {}, name = 'tls', namespace?: string) => ({
  apiVersion: V1,
  kind: 'TLSRoute',
  metadata: meta(name, namespace),
  spec: { parentRefs: [{ name: 'web' }], hostnames: ['a.example.com'], rules: [{ backendRefs: [{ name: '10.0.0.1', port: 443 }] }], ...spec },
});
/** An HTTPRoute with one rule made of `rule`. */
const ruleRoute = (rule: Spec) => httpRoute({ rules: [rule] });

const validate = (...values: unknown[]) => validateManifests(values.map((value, document) => ({ file: 'site.yaml', document, value })));
const lines = (c: GatewayApiConfig) => c.issues.map(formatManifestIssue);

/** The manifest is rejected with exactly one issue at `path` whose message matches. */
function rejects(t: ExecutionContext, what: string, value: unknown, path: string, message: RegExp | string): void {
  const c = validate(value);
  t.is(c.gateways.length + c.httpRoutes.length + c.tlsRoutes.length, 0, `${what}: accepted`);
  t.is(c.issues.length, 1, `${what}: ${lines(c).join(' | ')}`);
  const i = c.issues[0];
  if (!i) return;
  t.is(i.path, path, `${what}: ${lines(c).join(' | ')}`);
  // a Gateway's listener issue says what became of the Gateway after a "; "
  if (typeof message === 'string') t.is(i.message.replace(/; the Gateway has no listener ugate can serve$/, ''), message, what);
  else t.regex(i.message, message, what);
}

const host = parseHostnamePattern;
const names = (hs: readonly { source: string }[] | null) => (hs === null ? null : hs.map((h) => h.source));

// ---------------------------------------------------------------------------
// valid manifests

test('a Gateway with every supported field', (t) => {
  const c = validate(
    gateway({
      addresses: [{ value: '192.168.1.1' }, { type: 'IPAddress', value: 'fd00::1' }],
      listeners: [
        { name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' }, kinds: [{ kind: 'HTTPRoute' }] } },
        { name: 'shop', port: 80, protocol: 'HTTP', hostname: '*.shop.example.com', allowedRoutes: { namespaces: { from: 'Same' } } },
        { name: 'tls', port: 443, protocol: 'TLS', hostname: 'a.example.com', tls: { mode: 'Passthrough' }, allowedRoutes: { kinds: [{ group: 'gateway.networking.k8s.io', kind: 'TLSRoute' }] } },
      ],
    }),
  );
  t.deepEqual(c.issues, []);
  const g = c.gateways[0]!;
  t.deepEqual(g.source, { file: 'site.yaml', document: 0, kind: 'Gateway', namespace: 'default', name: 'web' });
  t.deepEqual(g.addresses, ['192.168.1.1', 'fd00::1']);
  t.deepEqual(
    g.listeners.map((l) => [l.name, l.port, l.protocol, l.hostname?.source ?? null, l.allowedNamespaces]),
    [
      ['http', 80, 'HTTP', null, 'All'],
      ['shop', 80, 'HTTP', '*.shop.example.com', 'Same'],
      ['tls', 443, 'TLS', 'a.example.com', 'Same'],
    ],
  );
});

test('an HTTPRoute with every supported field', (t) => {
  const c = validate({
    apiVersion: 'gateway.networking.k8s.io/v1beta1',
    kind: 'HTTPRoute',
    metadata: { name: 'shop', namespace: 'store', labels: { a: 'b' }, annotations: { x: 'y' }, uid: '123', creationTimestamp: '2024-01-01T00:00:00Z' },
    status: { parents: [] },
    spec: {
      parentRefs: [
        { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'infra', name: 'web', sectionName: 'http', port: 80 },
        { name: 'web', namespace: 'infra', sectionName: 'shop', port: 80 },
      ],
      hostnames: ['shop.example.com', '*.shop.example.com'],
      rules: [
        {
          name: 'api',
          matches: [
            {
              path: { type: 'PathPrefix', value: '/api/' },
              headers: [
                { name: 'X-Env', value: 'prod' },
                { type: 'RegularExpression', name: 'x-version', value: 'v[0-9]+' },
                { name: 'x-env', value: 'ignored: a later entry for the same name' },
              ],
              queryParams: [{ name: 'Debug', value: '1' }, { type: 'RegularExpression', name: 'debug', value: '.*' }],
              method: 'POST',
            },
            { path: { type: 'Exact', value: '/login' } },
            { path: { type: 'RegularExpression', value: '/item/[0-9]+' } },
            { method: 'GET' },
          ],
          filters: [
            { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-A', value: '1' }], add: [{ name: 'X-B', value: '2' }], remove: ['X-C'] } },
            { type: 'ResponseHeaderModifier', responseHeaderModifier: { remove: ['Server'] } },
          ],
          backendRefs: [
            { name: 'App.Lan', port: 8080, weight: 3 },
            { group: '', kind: 'Service', name: '10.0.0.2', namespace: 'store', port: 8080, weight: 0 },
            { group: 'multicluster.x-k8s.io', kind: 'ServiceImport', name: 'elsewhere', port: 80 },
            { name: 'svc', namespace: 'other', port: 80 },
          ],
          timeouts: { request: '1h30m', backendRequest: '500ms' },
        },
        { matches: [{ path: { type: 'PathPrefix', value: '/old' } }], filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', hostname: 'new.example.com', port: 8443, path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' }, statusCode: 301 } }] },
        { filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'backend.internal', path: { type: 'ReplaceFullPath', replaceFullPath: '/index.html' } } }], backendRefs: [{ name: '::1', port: 80 }], timeouts: { request: '0s' } },
        { matches: [], filters: [{ type: 'RequestRedirect', requestRedirect: {} }] },
      ],
    },
  });
  t.deepEqual(lines(c), []);
  const r = c.httpRoutes[0]!;
  t.deepEqual([r.namespace, r.name], ['store', 'shop']);
  t.deepEqual(r.parentRefs, [
    { namespace: 'infra', name: 'web', sectionName: 'http', port: 80 },
    { namespace: 'infra', name: 'web', sectionName: 'shop', port: 80 },
  ]);
  t.deepEqual(names(r.hostnames), ['shop.example.com', '*.shop.example.com']);
  const [api, old, rewrite, redirect] = r.rules;
  t.is(api!.name, 'api');
  t.is(api!.index, 0);
  const [m0, m1, m2, m3] = api!.matches;
  t.deepEqual(m0!.path, { type: 'PathPrefix', value: '/api' });
  t.deepEqual(
    m0!.headers.map((h) => [h.type, h.name, h.value]),
    [
      ['Exact', 'x-env', 'prod'],
      ['RegularExpression', 'x-version', 'v[0-9]+'],
    ],
  );
  t.deepEqual(
    m0!.queryParams.map((q) => [q.type, q.name, q.value]),
    [
      ['Exact', 'Debug', '1'],
      ['RegularExpression', 'debug', '.*'],
    ],
  );
  t.is(m0!.method, 'POST');
  const version = m0!.headers[1]!;
  t.true(version.type === 'RegularExpression' && version.regex.test('v12') && !version.regex.test('xv12'));
  t.deepEqual(m1, { path: { type: 'Exact', value: '/login' }, headers: [], queryParams: [], method: null });
  t.true(m2!.path.type === 'RegularExpression' && m2!.path.regex.test('/item/42') && !m2!.path.regex.test('/item/42/x'));
  t.deepEqual(m3, { path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [], method: 'GET' });
  t.deepEqual(api!.requestHeaders, { set: [['X-A', '1']], add: [['X-B', '2']], remove: ['X-C'] });
  t.deepEqual(api!.responseHeaders, { set: [], add: [], remove: ['Server'] });
  t.deepEqual(api!.backends, [
    { host: 'app.lan', port: 8080, weight: 3, invalid: null },
    { host: '10.0.0.2', port: 8080, weight: 0, invalid: null },
    { host: 'elsewhere', port: 80, weight: 1, invalid: 'InvalidKind: multicluster.x-k8s.io/ServiceImport is not supported (a backend is a host name or IP address, as kind Service)' },
    { host: 'svc', port: 80, weight: 1, invalid: 'RefNotPermitted: a backend in namespace "other" needs a ReferenceGrant, which ugate does not support' },
  ]);
  t.deepEqual(api!.timeouts, { requestMs: 5_400_000, backendRequestMs: 500 });
  t.deepEqual(old!.redirect, { scheme: 'https', hostname: 'new.example.com', port: 8443, path: { type: 'ReplacePrefixMatch', value: '/new' }, statusCode: 301 });
  t.deepEqual(old!.backends, []);
  t.deepEqual(rewrite!.rewrite, { hostname: 'backend.internal', path: { type: 'ReplaceFullPath', value: '/index.html' } });
  t.deepEqual(rewrite!.matches, [{ path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [], method: null }]);
  t.deepEqual(rewrite!.timeouts, { requestMs: null, backendRequestMs: null });
  t.deepEqual(redirect!.redirect, { scheme: null, hostname: null, port: null, path: null, statusCode: 302 });
  t.is(redirect!.matches.length, 1);
});

test('HTTPRoute defaults: namespace, rules, path, weight', (t) => {
  const c = validate(httpRoute({ parentRefs: [{ name: 'web' }] }), httpRoute({ rules: [{ matches: [{ path: {} }, { path: { value: '/a/' } }], backendRefs: [{ name: 'app', port: 80 }] }] }, 'second'));
  t.deepEqual(lines(c), []);
  const [first, second] = c.httpRoutes;
  t.is(first!.namespace, 'default');
  t.deepEqual(first!.parentRefs, [{ namespace: 'default', name: 'web', sectionName: null, port: null }]);
  t.deepEqual(first!.hostnames, []);
  t.deepEqual(first!.rules, [
    { index: 0, name: null, matches: [{ path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [], method: null }], requestHeaders: null, responseHeaders: null, redirect: null, rewrite: null, backends: [], timeouts: { requestMs: null, backendRequestMs: null } },
  ]);
  t.deepEqual(
    second!.rules[0]!.matches.map((m) => m.path),
    [
      { type: 'PathPrefix', value: '/' },
      { type: 'PathPrefix', value: '/a' },
    ],
  );
  t.deepEqual(second!.rules[0]!.backends, [{ host: 'app', port: 80, weight: 1, invalid: null }]);
});

test('a TLSRoute, also as v1alpha2 and v1alpha3', (t) => {
  for (const apiVersion of [V1, 'gateway.networking.k8s.io/v1alpha2', 'gateway.networking.k8s.io/v1alpha3']) {
    const c = validate({ ...tlsRoute({ hostnames: ['a.example.com', '*.b.example.com'], rules: [{ name: 'only', backendRefs: [{ name: 'a.lan', port: 443, weight: 2 }, { name: 'x', kind: 'Backend', group: 'example.com' }] }] }), apiVersion });
    t.deepEqual(lines(c), [], apiVersion);
    const r = c.tlsRoutes[0]!;
    t.deepEqual(names(r.hostnames), ['a.example.com', '*.b.example.com']);
    t.deepEqual(r.backends, [
      { host: 'a.lan', port: 443, weight: 2, invalid: null },
      { host: 'x', port: 0, weight: 1, invalid: 'InvalidKind: example.com/Backend is not supported (a backend is a host name or IP address, as kind Service)' },
    ]);
  }
});

// ---------------------------------------------------------------------------
// issues: each names the manifest, the field path and the reason

const ISSUES: [what: string, manifest: unknown, path: string, message: RegExp | string][] = [
  // documents and metadata
  ['not a mapping', ['a'], '', 'expected an object'],
  ['unknown kind', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' }, spec: {} }, 'kind', /"Service": not supported by ugate/],
  ['wrong apiVersion', { ...gateway(), apiVersion: 'gateway.networking.k8s.io/v1alpha2' }, 'apiVersion', /Gateway must be gateway.networking.k8s.io\/v1 or gateway.networking.k8s.io\/v1beta1/],
  ['TLSRoute v1beta1', { ...tlsRoute(), apiVersion: 'gateway.networking.k8s.io/v1beta1' }, 'apiVersion', /TLSRoute must be/],
  ['missing apiVersion', { kind: 'Gateway', metadata: { name: 'web' }, spec: gateway().spec }, 'apiVersion', 'required field is missing'],
  ['missing name', { ...gateway(), metadata: {} }, 'metadata.name', 'required field is missing'],
  ['bad name', { ...gateway(), metadata: { name: 'Web_1' } }, 'metadata.name', /must be a lowercase RFC 1123 subdomain/],
  ['bad namespace', { ...gateway(), metadata: { name: 'web', namespace: 'a.b' } }, 'metadata.namespace', /RFC 1123 label/],
  ['unknown metadata field', { ...gateway(), metadata: { name: 'web', namspace: 'x' } }, 'metadata.namspace', 'unknown field'],
  ['unknown top-level field', { ...gateway(), extra: 1 }, 'extra', 'unknown field'],
  ['missing spec', { apiVersion: V1, kind: 'HTTPRoute', metadata: { name: 'x' } }, 'spec', 'required field is missing'],
  // Gateway
  ['missing gatewayClassName', { ...gateway(), spec: { listeners: gateway().spec.listeners } }, 'spec.gatewayClassName', 'required field is missing'],
  ['no listeners', gateway({ listeners: [] }), 'spec.listeners', 'must not be empty'],
  ['65 listeners', gateway({ listeners: Array.from({ length: 65 }, (_, i) => ({ name: `l${i}`, port: 1000 + i, protocol: 'HTTP' })) }), 'spec.listeners', 'must have at most 64 items'],
  ['infrastructure', gateway({ infrastructure: { labels: {} } }), 'spec.infrastructure', 'not supported by ugate'],
  ['backendTLS', gateway({ backendTLS: {} }), 'spec.backendTLS', 'not supported by ugate'],
  ['gateway tls', gateway({ tls: { backend: {} } }), 'spec.tls', 'not supported by ugate'],
  ['unknown spec field', gateway({ listners: [] }), 'spec.listners', 'unknown field'],
  ['HTTPS', gateway({ listeners: [{ name: 'h', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'c' }] } }] }), 'spec.listeners[0].protocol', /"HTTPS": not supported by ugate/],
  ['TCP', gateway({ listeners: [{ name: 't', port: 22, protocol: 'TCP' }] }), 'spec.listeners[0].protocol', /"TCP": not supported/],
  ['UDP', gateway({ listeners: [{ name: 'u', port: 53, protocol: 'UDP' }] }), 'spec.listeners[0].protocol', /"UDP": not supported/],
  ['port 0', gateway({ listeners: [{ name: 'h', port: 0, protocol: 'HTTP' }] }), 'spec.listeners[0].port', 'must be 1 to 65535'],
  ['port as text', gateway({ listeners: [{ name: 'h', port: '80', protocol: 'HTTP' }] }), 'spec.listeners[0].port', 'expected an integer'],
  ['listener without name', gateway({ listeners: [{ port: 80, protocol: 'HTTP' }] }), 'spec.listeners[0].name', 'required field is missing'],
  ['IP as hostname', gateway({ listeners: [{ name: 'h', port: 80, protocol: 'HTTP', hostname: '10.0.0.1' }] }), 'spec.listeners[0].hostname', /an IP address is not allowed/],
  ['uppercase hostname', gateway({ listeners: [{ name: 'h', port: 80, protocol: 'HTTP', hostname: 'Example.com' }] }), 'spec.listeners[0].hostname', /lowercase RFC 1123 hostname/],
  ['wildcard inside', gateway({ listeners: [{ name: 'h', port: 80, protocol: 'HTTP', hostname: 'a.*.com' }] }), 'spec.listeners[0].hostname', /lowercase RFC 1123 hostname/],
  ['tls on HTTP', gateway({ listeners: [{ name: 'h', port: 80, protocol: 'HTTP', tls: { mode: 'Passthrough' } }] }), 'spec.listeners[0].tls', "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']"],
  ['TLS without tls', gateway({ listeners: [{ name: 't', port: 443, protocol: 'TLS' }] }), 'spec.listeners[0].tls', 'tls mode must be set for protocol TLS'],
  ['TLS without mode', gateway({ listeners: [{ name: 't', port: 443, protocol: 'TLS', tls: {} }] }), 'spec.listeners[0].tls.mode', 'tls mode must be set for protocol TLS'],
  ['Terminate', gateway({ listeners: [{ name: 't', port: 443, protocol: 'TLS', tls: { mode: 'Terminate' } }] }), 'spec.listeners[0].tls.mode', /Terminate: not supported by ugate/],
  ['unknown tls mode', gateway({ listeners: [{ name: 't', port: 443, protocol: 'TLS', tls: { mode: 'Magic' } }] }), 'spec.listeners[0].tls.mode', /must be one of Terminate, Passthrough/],
  ['certificateRefs', gateway({ listeners: [{ name: 't', port: 443, protocol: 'TLS', tls: { mode: 'Passthrough', certificateRefs: [{ name: 'c' }] } }] }), 'spec.listeners[0].tls.certificateRefs', 'not supported by ugate'],
  ['Selector', gateway({ listeners: [{ name: 'h', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Selector' } } }] }), 'spec.listeners[0].allowedRoutes.namespaces.from', /Selector: not supported/],
  ['selector field', gateway({ listeners: [{ name: 'h', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All', selector: { matchLabels: {} } } } }] }), 'spec.listeners[0].allowedRoutes.namespaces.selector', 'not supported by ugate'],
  ['from None', gateway({ listeners: [{ name: 'h', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'None' } } }] }), 'spec.listeners[0].allowedRoutes.namespaces.from', /must be one of All, Selector, Same/],
  ['TLSRoute kind on HTTP', gateway({ listeners: [{ name: 'h', port: 80, protocol: 'HTTP', allowedRoutes: { kinds: [{ kind: 'TLSRoute' }] } }] }), 'spec.listeners[0].allowedRoutes.kinds[0]', /TLSRoute routes cannot attach to a HTTP listener/],
  ['GRPCRoute kind', gateway({ listeners: [{ name: 'h', port: 80, protocol: 'HTTP', allowedRoutes: { kinds: [{ kind: 'GRPCRoute' }] } }] }), 'spec.listeners[0].allowedRoutes.kinds[0]', /GRPCRoute routes cannot attach/],
  ['kind of another group', gateway({ listeners: [{ name: 'h', port: 80, protocol: 'HTTP', allowedRoutes: { kinds: [{ group: 'example.com', kind: 'HTTPRoute' }] } }] }), 'spec.listeners[0].allowedRoutes.kinds[0]', /example.com\/HTTPRoute routes cannot attach/],
  ['Hostname address', gateway({ addresses: [{ type: 'Hostname', value: 'gw.example.com' }] }), 'spec.addresses[0].type', /"Hostname": not supported by ugate/],
  ['NamedAddress', gateway({ addresses: [{ type: 'NamedAddress', value: 'x' }] }), 'spec.addresses[0].type', /"NamedAddress": not supported/],
  ['address without value', gateway({ addresses: [{ type: 'IPAddress' }] }), 'spec.addresses[0].value', /give an IP address/],
  ['address not an IP', gateway({ addresses: [{ value: 'gw.lan' }] }), 'spec.addresses[0].value', /not an IP address/],
  ['duplicate address', gateway({ addresses: [{ value: 'fd00::1' }, { value: 'FD00:0::1' }] }), 'spec.addresses[1].value', 'IPAddress values must be unique'],
  // routes: parents and hostnames
  ['parentRef group', httpRoute({ parentRefs: [{ group: '', name: 'svc' }] }), 'spec.parentRefs[0].group', /"": not supported by ugate/],
  ['parentRef Service', httpRoute({ parentRefs: [{ kind: 'Service', name: 'svc' }] }), 'spec.parentRefs[0].kind', /"Service": not supported/],
  ['parentRef kind', httpRoute({ parentRefs: [{ kind: 'ListenerSet', name: 'x' }] }), 'spec.parentRefs[0].kind', /"ListenerSet": not supported/],
  ['parentRef without name', httpRoute({ parentRefs: [{ sectionName: 'http' }] }), 'spec.parentRefs[0].name', 'required field is missing'],
  ['parentRef port', httpRoute({ parentRefs: [{ name: 'web', port: 70000 }] }), 'spec.parentRefs[0].port', 'must be 1 to 65535'],
  ['parentRef sectionName', httpRoute({ parentRefs: [{ name: 'web', sectionName: 'HTTP' }] }), 'spec.parentRefs[0].sectionName', /lowercase RFC 1123 subdomain/],
  ['same parent twice', httpRoute({ parentRefs: [{ name: 'web' }, { name: 'web', namespace: 'default' }] }), 'spec.parentRefs[1]', /sectionName or port must be unique/],
  ['same parent, mixed fields', httpRoute({ parentRefs: [{ name: 'web', sectionName: 'a' }, { name: 'web' }] }), 'spec.parentRefs[1]', /sectionName or port must be specified/],
  ['useDefaultGateways', httpRoute({ useDefaultGateways: 'All' }), 'spec.useDefaultGateways', 'not supported by ugate'],
  ['route hostname IP', httpRoute({ hostnames: ['a.com', '10.1.2.3'] }), 'spec.hostnames[1]', /an IP address is not allowed/],
  ['route hostname wildcard', httpRoute({ hostnames: ['*'] }), 'spec.hostnames[0]', /lowercase RFC 1123 hostname/],
  ['17 hostnames', httpRoute({ hostnames: Array.from({ length: 17 }, (_, i) => `h${i}.com`) }), 'spec.hostnames', 'must have at most 16 items'],
  // HTTPRoute rules and matches
  ['empty rules', httpRoute({ rules: [] }), 'spec.rules', 'must not be empty'],
  ['17 rules', httpRoute({ rules: Array.from({ length: 17 }, () => ({})) }), 'spec.rules', 'must have at most 16 items'],
  ['129 matches', httpRoute({ rules: Array.from({ length: 3 }, () => ({ matches: Array.from({ length: 43 }, () => ({})) })) }), 'spec.rules', /total number of matches across all rules in a route must be less than 128/],
  ['duplicate rule name', httpRoute({ rules: [{ name: 'a' }, { name: 'a' }] }), 'spec.rules[1].name', 'Rule name must be unique within the route'],
  ['retry', ruleRoute({ retry: { attempts: 2 } }), 'spec.rules[0].retry', 'not supported by ugate'],
  ['sessionPersistence', ruleRoute({ sessionPersistence: {} }), 'spec.rules[0].sessionPersistence', 'not supported by ugate'],
  ['unknown rule field', ruleRoute({ backendRef: [] }), 'spec.rules[0].backendRef', 'unknown field'],
  ['path type', ruleRoute({ matches: [{ path: { type: 'Prefix', value: '/' } }] }), 'spec.rules[0].matches[0].path.type', /must be one of Exact, PathPrefix, RegularExpression/],
  ['relative path', ruleRoute({ matches: [{ path: { value: 'api' } }] }), 'spec.rules[0].matches[0].path.value', "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']"],
  ['//', ruleRoute({ matches: [{ path: { type: 'Exact', value: '/a//b' } }] }), 'spec.rules[0].matches[0].path.value', "must not contain '//' when type one of ['Exact', 'PathPrefix']"],
  ['/./', ruleRoute({ matches: [{ path: { value: '/a/./b' } }] }), 'spec.rules[0].matches[0].path.value', /must not contain '\/\.\/'/],
  ['/../', ruleRoute({ matches: [{ path: { value: '/a/../b' } }] }), 'spec.rules[0].matches[0].path.value', /must not contain '\/\.\.\/'/],
  ['%2f', ruleRoute({ matches: [{ path: { value: '/a%2fb' } }] }), 'spec.rules[0].matches[0].path.value', /must not contain '%2f'/],
  ['%2F', ruleRoute({ matches: [{ path: { value: '/a%2Fb' } }] }), 'spec.rules[0].matches[0].path.value', /must not contain '%2F'/],
  ['#', ruleRoute({ matches: [{ path: { value: '/a#b' } }] }), 'spec.rules[0].matches[0].path.value', /must not contain '#'/],
  ['ends /..', ruleRoute({ matches: [{ path: { value: '/a/..' } }] }), 'spec.rules[0].matches[0].path.value', /must not end with '\/\.\.'/],
  ['ends /.', ruleRoute({ matches: [{ path: { value: '/a/.' } }] }), 'spec.rules[0].matches[0].path.value', /must not end with '\/\.'/],
  ['space in path', ruleRoute({ matches: [{ path: { value: '/a b' } }] }), 'spec.rules[0].matches[0].path.value', /must only contain valid characters/],
  ['bad escape in path', ruleRoute({ matches: [{ path: { value: '/a%zz' } }] }), 'spec.rules[0].matches[0].path.value', /must only contain valid characters/],
  ['long path', ruleRoute({ matches: [{ path: { value: `/${'a'.repeat(1024)}` } }] }), 'spec.rules[0].matches[0].path.value', 'must be 0 to 1024 characters'],
  ['bad path regex', ruleRoute({ matches: [{ path: { type: 'RegularExpression', value: '/(a' } }] }), 'spec.rules[0].matches[0].path.value', /invalid regular expression/],
  ['regex escaping its anchor', ruleRoute({ matches: [{ path: { type: 'RegularExpression', value: 'a)|(b' } }] }), 'spec.rules[0].matches[0].path.value', /invalid regular expression/],
  ['header name', ruleRoute({ matches: [{ headers: [{ name: 'x y', value: '1' }] }] }), 'spec.rules[0].matches[0].headers[0].name', /must be an HTTP token/],
  ['header :method', ruleRoute({ matches: [{ headers: [{ name: ':method', value: 'GET' }] }] }), 'spec.rules[0].matches[0].headers[0].name', /must be an HTTP token/],
  ['header value missing', ruleRoute({ matches: [{ headers: [{ name: 'x' }] }] }), 'spec.rules[0].matches[0].headers[0].value', 'required field is missing'],
  ['header value empty', ruleRoute({ matches: [{ headers: [{ name: 'x', value: '' }] }] }), 'spec.rules[0].matches[0].headers[0].value', 'must be 1 to 4096 characters'],
  ['header value CR LF', ruleRoute({ matches: [{ headers: [{ name: 'x', value: 'a\r\nb' }] }] }), 'spec.rules[0].matches[0].headers[0].value', 'must not contain control characters'],
  ['header type', ruleRoute({ matches: [{ headers: [{ type: 'Prefix', name: 'x', value: '1' }] }] }), 'spec.rules[0].matches[0].headers[0].type', /must be one of Exact, RegularExpression/],
  ['header regex, even ignored', ruleRoute({ matches: [{ headers: [{ name: 'x', value: '1' }, { type: 'RegularExpression', name: 'X', value: '[' }] }] }), 'spec.rules[0].matches[0].headers[1].value', /invalid regular expression/],
  ['query value too long', ruleRoute({ matches: [{ queryParams: [{ name: 'q', value: 'a'.repeat(1025) }] }] }), 'spec.rules[0].matches[0].queryParams[0].value', 'must be 1 to 1024 characters'],
  ['method', ruleRoute({ matches: [{ method: 'get' }] }), 'spec.rules[0].matches[0].method', /must be one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH/],
  // filters
  ['RequestMirror', ruleRoute({ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: {} }, { type: 'RequestMirror', requestMirror: { backendRef: { name: 'm', port: 80 } } }] }), 'spec.rules[0].filters[1].type', 'RequestMirror filter is not supported by ugate'],
  ['CORS', ruleRoute({ filters: [{ type: 'CORS', cors: {} }] }), 'spec.rules[0].filters[0].type', 'CORS filter is not supported by ugate'],
  ['ExtensionRef', ruleRoute({ filters: [{ type: 'ExtensionRef', extensionRef: { group: 'x', kind: 'Y', name: 'z' } }] }), 'spec.rules[0].filters[0].type', 'ExtensionRef filter is not supported by ugate'],
  ['ExternalAuth', ruleRoute({ filters: [{ type: 'ExternalAuth', externalAuth: {} }] }), 'spec.rules[0].filters[0].type', 'ExternalAuth filter is not supported by ugate'],
  ['unknown filter', ruleRoute({ filters: [{ type: 'Gzip' }] }), 'spec.rules[0].filters[0].type', '"Gzip": unknown filter type'],
  ['filter without type', ruleRoute({ filters: [{}] }), 'spec.rules[0].filters[0].type', 'required field is missing'],
  ['filter field without its type', ruleRoute({ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: {}, urlRewrite: {} }] }), 'spec.rules[0].filters[0].urlRewrite', 'filter.urlRewrite must be nil if the filter.type is not URLRewrite'],
  ['filter type without its field', ruleRoute({ filters: [{ type: 'RequestRedirect' }] }), 'spec.rules[0].filters[0]', 'filter.requestRedirect must be specified for RequestRedirect filter.type'],
  ['repeated filter', ruleRoute({ filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: {} }, { type: 'ResponseHeaderModifier', responseHeaderModifier: {} }] }), 'spec.rules[0].filters[1].type', 'ResponseHeaderModifier filter cannot be repeated'],
  ['redirect and rewrite', ruleRoute({ filters: [{ type: 'RequestRedirect', requestRedirect: {} }, { type: 'URLRewrite', urlRewrite: {} }] }), 'spec.rules[0].filters', 'May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both'],
  ['redirect with backends', ruleRoute({ filters: [{ type: 'RequestRedirect', requestRedirect: {} }], backendRefs: [{ name: 'a', port: 80 }] }), 'spec.rules[0]', 'RequestRedirect filter must not be used together with backendRefs'],
  ['17 filters', ruleRoute({ filters: Array.from({ length: 17 }, () => ({ type: 'RequestHeaderModifier', requestHeaderModifier: {} })) }), 'spec.rules[0].filters', 'must have at most 16 items'],
  ['header set twice', ruleRoute({ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-A', value: '1' }, { name: 'x-a', value: '2' }] } }] }), 'spec.rules[0].filters[0].requestHeaderModifier.set[1].name', '"x-a": only one action per header name is allowed'],
  ['header set and removed', ruleRoute({ filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'X-A', value: '1' }], remove: ['X-A'] } }] }), 'spec.rules[0].filters[0].responseHeaderModifier.remove[0]', /only one action per header name/],
  ['modifier removes Content-Length', ruleRoute({ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { remove: ['Content-Length'] } }] }), 'spec.rules[0].filters[0].requestHeaderModifier.remove[0]', /frames the message or the connection/],
  ['modifier sets Transfer-Encoding', ruleRoute({ filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'transfer-encoding', value: 'chunked' }] } }] }), 'spec.rules[0].filters[0].responseHeaderModifier.set[0].name', /frames the message or the connection/],
  ['modifier adds Connection', ruleRoute({ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'Connection', value: 'close' }] } }] }), 'spec.rules[0].filters[0].requestHeaderModifier.add[0].name', /frames the message or the connection/],
  ['modifier header name', ruleRoute({ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { remove: ['bad name'] } }] }), 'spec.rules[0].filters[0].requestHeaderModifier.remove[0]', /must be an HTTP token/],
  ['modifier value LF', ruleRoute({ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'X', value: 'a\nInjected: 1' }] } }] }), 'spec.rules[0].filters[0].requestHeaderModifier.add[0].value', 'must not contain control characters'],
  ['modifier unknown field', ruleRoute({ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { append: [] } }] }), 'spec.rules[0].filters[0].requestHeaderModifier.append', 'unknown field'],
  ['redirect scheme', ruleRoute({ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'ftp' } }] }), 'spec.rules[0].filters[0].requestRedirect.scheme', /must be one of http, https/],
  ['redirect status', ruleRoute({ filters: [{ type: 'RequestRedirect', requestRedirect: { statusCode: 304 } }] }), 'spec.rules[0].filters[0].requestRedirect.statusCode', /must be one of 301, 302, 303, 307, 308/],
  ['redirect port', ruleRoute({ filters: [{ type: 'RequestRedirect', requestRedirect: { port: 0 } }] }), 'spec.rules[0].filters[0].requestRedirect.port', 'must be 1 to 65535'],
  ['redirect wildcard hostname', ruleRoute({ filters: [{ type: 'RequestRedirect', requestRedirect: { hostname: '*.example.com' } }] }), 'spec.rules[0].filters[0].requestRedirect.hostname', /lowercase RFC 1123 hostname/],
  ['rewrite IP hostname', ruleRoute({ filters: [{ type: 'URLRewrite', urlRewrite: { hostname: '10.0.0.1' } }] }), 'spec.rules[0].filters[0].urlRewrite.hostname', /an IP address is not allowed/],
  ['path modifier type', ruleRoute({ filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceHost', replaceFullPath: '/' } } }] }), 'spec.rules[0].filters[0].urlRewrite.path.type', /must be one of ReplaceFullPath, ReplacePrefixMatch/],
  ['replaceFullPath missing', ruleRoute({ filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath' } } }] }), 'spec.rules[0].filters[0].urlRewrite.path', "replaceFullPath must be specified when type is set to 'ReplaceFullPath'"],
  ['replaceFullPath with the other type', ruleRoute({ matches: [{ path: { value: '/a' } }], filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/b', replaceFullPath: '/c' } } }] }), 'spec.rules[0].filters[0].urlRewrite.path', "type must be 'ReplaceFullPath' when replaceFullPath is set"],
  ['replacePrefixMatch missing', ruleRoute({ filters: [{ type: 'RequestRedirect', requestRedirect: { path: { type: 'ReplacePrefixMatch' } } }] }), 'spec.rules[0].filters[0].requestRedirect.path', "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'"],
  ['replacePrefixMatch with the other type', ruleRoute({ filters: [{ type: 'RequestRedirect', requestRedirect: { path: { type: 'ReplaceFullPath', replaceFullPath: '/x', replacePrefixMatch: '/y' } } }] }), 'spec.rules[0].filters[0].requestRedirect.path', "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set"],
  ['relative replaceFullPath', ruleRoute({ filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: 'x' } } }] }), 'spec.rules[0].filters[0].urlRewrite.path.replaceFullPath', 'must be an absolute path starting with "/"'],
  ['replacePrefixMatch with a space', ruleRoute({ filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/a b' } } }] }), 'spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch', /must only contain valid path characters/],
  ['redirect prefix, Exact match', ruleRoute({ matches: [{ path: { type: 'Exact', value: '/a' } }], filters: [{ type: 'RequestRedirect', requestRedirect: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/b' } } }] }), 'spec.rules[0]', 'When using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified'],
  ['rewrite prefix, two matches', ruleRoute({ matches: [{ path: { value: '/a' } }, { path: { value: '/b' } }], filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/c' } } }] }), 'spec.rules[0]', 'When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified'],
  // backends and timeouts
  ['backend without port', ruleRoute({ backendRefs: [{ name: 'app' }] }), 'spec.rules[0].backendRefs[0]', 'Must have port for Service reference'],
  ['backend port', ruleRoute({ backendRefs: [{ name: 'app', port: 65536 }] }), 'spec.rules[0].backendRefs[0].port', 'must be 1 to 65535'],
  ['backend weight', ruleRoute({ backendRefs: [{ name: 'app', port: 80, weight: 1_000_001 }] }), 'spec.rules[0].backendRefs[0].weight', 'must be 0 to 1000000'],
  ['backend weight negative', ruleRoute({ backendRefs: [{ name: 'app', port: 80, weight: -1 }] }), 'spec.rules[0].backendRefs[0].weight', 'must be 0 to 1000000'],
  ['backend name not a host', ruleRoute({ backendRefs: [{ name: 'my app', port: 80 }] }), 'spec.rules[0].backendRefs[0].name', /not an IP literal or DNS name/],
  ['backend name mistyped IPv4', ruleRoute({ backendRefs: [{ name: '10.0.0.256', port: 80 }] }), 'spec.rules[0].backendRefs[0].name', /not a valid IPv4 address/],
  ['backend filters', ruleRoute({ backendRefs: [{ name: 'app', port: 80, filters: [] }] }), 'spec.rules[0].backendRefs[0].filters', 'not supported by ugate'],
  ['17 backends', ruleRoute({ backendRefs: Array.from({ length: 17 }, (_, i) => ({ name: `b${i}`, port: 80 })) }), 'spec.rules[0].backendRefs', 'must have at most 16 items'],
  ['duration format', ruleRoute({ timeouts: { request: '1.5s' } }), 'spec.rules[0].timeouts.request', /must be a duration like/],
  ['duration with days', ruleRoute({ timeouts: { backendRequest: '1d' } }), 'spec.rules[0].timeouts.backendRequest', /must be a duration like/],
  ['duration beyond timers', ruleRoute({ timeouts: { request: '99999h' } }), 'spec.rules[0].timeouts.request', /at most 2147483647 ms/],
  ['backendRequest > request', ruleRoute({ timeouts: { request: '1s', backendRequest: '1001ms' } }), 'spec.rules[0].timeouts', 'backendRequest timeout cannot be longer than request timeout'],
  ['unknown timeout', ruleRoute({ timeouts: { idle: '1s' } }), 'spec.rules[0].timeouts.idle', 'unknown field'],
  // TLSRoute
  ['TLSRoute without hostnames', tlsRoute({ hostnames: undefined }), 'spec.hostnames', 'required field is missing'],
  ['TLSRoute empty hostnames', tlsRoute({ hostnames: [] }), 'spec.hostnames', 'must not be empty'],
  ['TLSRoute two rules', tlsRoute({ rules: [{ backendRefs: [{ name: 'a', port: 1 }] }, { backendRefs: [{ name: 'b', port: 1 }] }] }), 'spec.rules', 'must have exactly 1 item'],
  ['TLSRoute without backends', tlsRoute({ rules: [{}] }), 'spec.rules[0].backendRefs', 'required field is missing'],
  ['TLSRoute matches', tlsRoute({ rules: [{ matches: [], backendRefs: [{ name: 'a', port: 1 }] }] }), 'spec.rules[0].matches', 'unknown field'],
  ['TLSRoute backend filters', tlsRoute({ rules: [{ backendRefs: [{ name: 'a', port: 1, filters: [] }] }] }), 'spec.rules[0].backendRefs[0].filters', 'unknown field'],
];

test('table: each issue names its field path and reason, and rejects the manifest', (t) => {
  for (const [what, manifest, path, message] of ISSUES) rejects(t, what, JSON.parse(JSON.stringify(manifest)), path, message);
});

test('an issue line names file, kind, namespace/name, field path and reason', (t) => {
  const c = validate(gateway(), httpRoute({ rules: [{ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: {} }, { type: 'RequestMirror', requestMirror: {} }] }] }, 'shop', 'store'), 'not a manifest');
  t.deepEqual(lines(c), ['site.yaml: HTTPRoute store/shop: spec.rules[0].filters[1].type: RequestMirror filter is not supported by ugate', 'site.yaml (document 3): expected an object']);
});

test('a rejected route leaves the others running; duplicates are rejected, the first kept', (t) => {
  const c = validate(gateway(), httpRoute({}, 'good'), httpRoute({ rules: [{ matches: [{ method: 'FETCH' }] }] }, 'bad'), httpRoute({}, 'good'), httpRoute({}, 'good', 'other'), tlsRoute());
  t.deepEqual(
    c.httpRoutes.map((r) => `${r.namespace}/${r.name}@${r.source.document}`),
    ['default/good@1', 'other/good@4'],
  );
  t.is(c.tlsRoutes.length, 1);
  t.is(c.gateways.length, 1);
  t.deepEqual(lines(c), [
    'site.yaml: HTTPRoute default/bad: spec.rules[0].matches[0].method: "FETCH": must be one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH',
    'site.yaml: HTTPRoute default/good: metadata.name: duplicate: HTTPRoute default/good is already defined (site.yaml document 2)',
  ]);
});

test('several issues in one manifest are all reported', (t) => {
  const c = validate(httpRoute({ hostnames: ['10.0.0.1'], rules: [{ matches: [{ method: 'get' }], backendRefs: [{ name: 'a' }] }] }));
  t.deepEqual(
    c.issues.map((i) => i.path),
    ['spec.hostnames[0]', 'spec.rules[0].matches[0].method', 'spec.rules[0].backendRefs[0]'],
  );
});

// ---------------------------------------------------------------------------
// attachment

const LAN: ListenerConfig = { name: 'lan', type: 'redirect', listen: [{ host: '0.0.0.0', port: 8080 }], default: { type: 'passthrough' }, users: [] };
const PROXY: ListenerConfig = { name: 'proxy', type: 'mixed', listen: [{ host: '127.0.0.1', port: 1080 }], default: { type: 'passthrough' }, users: [] };

function attach(values: unknown[], configured: ListenerConfig[] = []) {
  const r = attachRoutes(validate(...values), configured);
  const routes = (name: string): ListenerRoutes => {
    const l = r.listeners.find((x) => x.name === name);
    if (!l?.gatewayApi) throw new Error(`no listener ${name} with routes: ${r.listeners.map((x) => x.name).join(', ')}`);
    return l.gatewayApi;
  };
  /** "route@section:hostnames" of every attachment on a listener */
  const attached = (name: string) => {
    const g = routes(name);
    return [...g.http, ...g.tls].map((a) => `${a.route.name}@${a.section}:${a.hostnames.map((h) => h.source).join(',') || '*'}`);
  };
  return { ...r, routes, attached, issues: r.gatewayApi.issues.map(formatManifestIssue) };
}

test('Gateways become listeners: one per port, on each address (or 0.0.0.0 and ::)', (t) => {
  const r = attach(
    [
      gateway({
        listeners: [
          { name: 'http', port: 80, protocol: 'HTTP' },
          { name: 'tls', port: 443, protocol: 'TLS', tls: { mode: 'Passthrough' } },
          { name: 'shop', port: 80, protocol: 'HTTP', hostname: 'shop.example.com' },
        ],
      }),
      gateway({ addresses: [{ value: '10.0.0.1' }, { value: 'fd00::1' }], listeners: [{ name: 'a', port: 8000, protocol: 'HTTP' }] }, 'edge', 'infra'),
    ],
    [LAN],
  );
  t.deepEqual(r.issues, []);
  t.deepEqual(
    r.listeners.map((l) => [l.name, l.type, l.listen.map((a) => `${a.host} ${a.port}`), l.default.type, l.users.length]),
    [
      ['lan', 'redirect', ['0.0.0.0 8080'], 'passthrough', 0],
      ['web:80', 'http', ['0.0.0.0 80', ':: 80'], 'reject', 0],
      ['web:443', 'tls', ['0.0.0.0 443', ':: 443'], 'reject', 0],
      ['infra/edge:8000', 'http', ['10.0.0.1 8000', 'fd00::1 8000'], 'reject', 0],
    ],
  );
  t.is(r.listeners[0], LAN, 'a redirect listener no route names is left as it is');
  t.deepEqual(
    r.routes('web:80').sections.map((s) => [s.gateway, s.name, s.port, s.protocol, s.hostname?.source ?? null]),
    [
      ['default/web', 'http', 80, 'HTTP', null],
      ['default/web', 'shop', 80, 'HTTP', 'shop.example.com'],
    ],
  );
  t.deepEqual(r.routes('web:443').sections.map((s) => s.name), ['tls']);
});

test('attachment: sectionName, port, and route kind against listener protocol', (t) => {
  const gw = gateway({
    listeners: [
      { name: 'a', port: 80, protocol: 'HTTP' },
      { name: 'b', port: 80, protocol: 'HTTP', hostname: 'b.example.com' },
      { name: 'c', port: 8080, protocol: 'HTTP' },
      { name: 't', port: 443, protocol: 'TLS', tls: { mode: 'Passthrough' } },
    ],
  });
  const r = attach([
    gw,
    httpRoute({}, 'all'),
    httpRoute({ parentRefs: [{ name: 'web', sectionName: 'b' }] }, 'section'),
    httpRoute({ parentRefs: [{ name: 'web', port: 8080 }] }, 'port'),
    httpRoute({ parentRefs: [{ name: 'web', port: 80, sectionName: 'a' }] }, 'both'),
    httpRoute({ parentRefs: [{ name: 'web', port: 8080, sectionName: 'a' }] }, 'neither'),
    httpRoute({ parentRefs: [{ name: 'web', sectionName: 't' }] }, 'kind'),
    httpRoute({ parentRefs: [{ name: 'web', sectionName: 'zz' }] }, 'nosection'),
    tlsRoute({ hostnames: ['x.example.com'] }, 'tls'),
    tlsRoute({ parentRefs: [{ name: 'web', port: 80 }] }, 'tlsport'),
  ]);
  t.deepEqual(r.attached('web:80'), ['all@a:*', 'all@b:b.example.com', 'section@b:b.example.com', 'both@a:*']);
  t.deepEqual(r.attached('web:8080'), ['all@c:*', 'port@c:*']);
  t.deepEqual(r.attached('web:443'), ['tls@t:x.example.com']);
  t.deepEqual(r.issues, [
    'site.yaml: HTTPRoute default/neither: spec.parentRefs[0]: not attached: Gateway default/web has no listener named "a" on port 8080',
    'site.yaml: HTTPRoute default/kind: spec.parentRefs[0]: not attached: no selected listener of Gateway default/web has protocol HTTP',
    'site.yaml: HTTPRoute default/nosection: spec.parentRefs[0]: not attached: Gateway default/web has no listener named "zz"',
    'site.yaml: TLSRoute default/tlsport: spec.parentRefs[0]: not attached: no selected listener of Gateway default/web has protocol TLS',
  ]);
  // A route that does not attach stays valid (for its other parentRefs).
  t.is(r.gatewayApi.httpRoutes.length, 7);
});

test('attachment: allowedRoutes namespaces and the parentRef namespace', (t) => {
  const r = attach([
    gateway(
      {
        listeners: [
          { name: 'same', port: 80, protocol: 'HTTP', hostname: 'same.example.com' },
          { name: 'all', port: 80, protocol: 'HTTP', hostname: 'all.example.com', allowedRoutes: { namespaces: { from: 'All' } } },
        ],
      },
      'web',
      'infra',
    ),
    httpRoute({ parentRefs: [{ name: 'web', namespace: 'infra' }] }, 'local', 'infra'),
    httpRoute({ parentRefs: [{ name: 'web', namespace: 'infra' }] }, 'foreign', 'apps'),
    httpRoute({ parentRefs: [{ name: 'web', namespace: 'infra', sectionName: 'same' }] }, 'denied', 'apps'),
    httpRoute({ parentRefs: [{ name: 'web' }] }, 'wrongns', 'apps'),
  ]);
  t.deepEqual(r.attached('infra/web:80'), ['local@same:same.example.com', 'local@all:all.example.com', 'foreign@all:all.example.com']);
  t.deepEqual(r.issues, [
    'site.yaml: HTTPRoute apps/denied: spec.parentRefs[0]: not attached: the selected listeners of Gateway infra/web do not allow routes from namespace "apps" (allowedRoutes.namespaces.from: Same)',
    'site.yaml: HTTPRoute apps/wrongns: spec.parentRefs[0]: not attached: no Gateway apps/web (or it was rejected) and no ugate listener "web"',
  ]);
});

test('hostname intersection, as the spec text describes it', (t) => {
  const table: [listener: string | null, route: string[], effective: string[] | null][] = [
    // no listener hostname: the route's hostnames (none = any)
    [null, [], []],
    [null, ['a.example.com', '*.example.net'], ['a.example.com', '*.example.net']],
    // a listener with test.example.com matches routes with no hostnames, test.example.com or *.example.com
    ['test.example.com', [], ['test.example.com']],
    ['test.example.com', ['test.example.com'], ['test.example.com']],
    ['test.example.com', ['*.example.com'], ['test.example.com']],
    ['test.example.com', ['other.example.com'], null],
    ['test.example.com', ['*.test.example.com'], null],
    // a listener with *.example.com: *.example.com, test.example.com, foo.test.example.com match;
    // example.com and test.example.net do not
    ['*.example.com', [], ['*.example.com']],
    ['*.example.com', ['*.example.com'], ['*.example.com']],
    ['*.example.com', ['test.example.com'], ['test.example.com']],
    ['*.example.com', ['foo.test.example.com'], ['foo.test.example.com']],
    ['*.example.com', ['*.test.example.com'], ['*.test.example.com']],
    ['*.example.com', ['example.com'], null],
    ['*.example.com', ['test.example.net'], null],
    // non-matching route hostnames are ignored
    ['*.example.com', ['test.example.com', 'test.example.net'], ['test.example.com']],
    // a wider wildcard narrows to the listener's (TLSRoute text: something.example.com ← *.example.com)
    ['*.b.example.com', ['*.example.com'], ['*.b.example.com']],
    ['something.example.com', ['*.example.com', 'something.example.com'], ['something.example.com']],
  ];
  for (const [listener, route, effective] of table) {
    t.deepEqual(names(intersectHostnames(listener === null ? null : host(listener), route.map(host))), effective, `${listener} ∩ [${route}]`);
  }
});

test('attachment: a route attaches where a hostname intersects, and is reported where none does', (t) => {
  const r = attach([
    gateway({
      listeners: [
        { name: 'wild', port: 80, protocol: 'HTTP', hostname: '*.example.com' },
        { name: 'exact', port: 80, protocol: 'HTTP', hostname: 'test.example.com' },
        { name: 'tls', port: 443, protocol: 'TLS', hostname: '*.example.com', tls: { mode: 'Passthrough' } },
      ],
    }),
    httpRoute({ hostnames: ['test.example.com', 'test.example.net'] }, 'both'),
    httpRoute({ hostnames: ['foo.example.com'] }, 'wildonly'),
    httpRoute({ hostnames: ['example.net'] }, 'none'),
    tlsRoute({ hostnames: ['example.com'] }, 'tlsnone'),
  ]);
  t.deepEqual(r.attached('web:80'), ['both@wild:test.example.com', 'both@exact:test.example.com', 'wildonly@wild:foo.example.com']);
  t.deepEqual(r.issues, [
    'site.yaml: HTTPRoute default/none: spec.parentRefs[0]: not attached: no hostname of the route intersects the listener hostnames (*.example.com, test.example.com)',
    'site.yaml: TLSRoute default/tlsnone: spec.parentRefs[0]: not attached: no hostname of the route intersects the listener hostname (*.example.com)',
  ]);
});

test('attachment: a redirect listener named as parent is a capture section for both kinds', (t) => {
  const r = attach(
    [
      httpRoute({ parentRefs: [{ name: 'lan' }], hostnames: ['a.example.com'] }, 'web'),
      tlsRoute({ parentRefs: [{ name: 'lan', sectionName: 'lan' }] }, 'sni'),
      httpRoute({ parentRefs: [{ name: 'proxy' }] }, 'mixed'),
      httpRoute({ parentRefs: [{ name: 'nowhere' }, { name: 'lan' }] }, 'partly'),
      httpRoute({ parentRefs: [{ name: 'lan', port: 8080 }] }, 'port'),
      httpRoute({ parentRefs: [] }, 'orphan'),
    ],
    [LAN, PROXY],
  );
  const lan = r.routes('lan');
  t.deepEqual(lan.sections, [{ gateway: 'lan', name: 'lan', port: null, protocol: 'capture', hostname: null }]);
  t.deepEqual(r.attached('lan'), ['web@lan:a.example.com', 'partly@lan:*', 'sni@lan:a.example.com']);
  const l = r.listeners.find((x) => x.name === 'lan')!;
  t.deepEqual({ ...l, gatewayApi: undefined }, { ...LAN, gatewayApi: undefined }, 'the listener is otherwise unchanged');
  t.is(r.listeners.find((x) => x.name === 'proxy'), PROXY);
  t.deepEqual(r.issues, [
    'site.yaml: HTTPRoute default/mixed: spec.parentRefs[0]: not attached: ugate listener "proxy" is a mixed listener; only redirect listeners take routes',
    'site.yaml: HTTPRoute default/partly: spec.parentRefs[0]: not attached: no Gateway default/nowhere (or it was rejected) and no ugate listener "nowhere"',
    'site.yaml: HTTPRoute default/port: spec.parentRefs[0]: not attached: ugate listener "lan" captures every port: a parentRef to it takes no port',
    'site.yaml: HTTPRoute default/orphan: spec.parentRefs: not attached: the route names no parent',
  ]);
});

test('attachment: a Gateway named like a redirect listener takes the parentRef', (t) => {
  const r = attach([gateway({}, 'lan'), httpRoute({ parentRefs: [{ name: 'lan' }] })], [LAN]);
  t.deepEqual(r.attached('lan:80'), ['shop@http:*']);
  t.is(r.listeners[0], LAN);
});

test('attachment keeps manifest order (the precedence tie-breaker)', (t) => {
  const r = attach([httpRoute({}, 'b'), gateway(), httpRoute({}, 'a'), httpRoute({}, 'c')]);
  t.deepEqual(r.routes('web:80').http.map((a) => a.route.name), ['b', 'a', 'c']);
});

test('a Gateway that would bind an address already in use is rejected whole', (t) => {
  const r = attach(
    [
      gateway({ listeners: [{ name: 'h', port: 8080, protocol: 'HTTP' }] }, 'clash'),
      gateway({ addresses: [{ value: '127.0.0.1' }], listeners: [{ name: 'h', port: 1080, protocol: 'HTTP' }] }, 'proxyclash'),
      gateway({ addresses: [{ value: '127.0.0.2' }], listeners: [{ name: 'h', port: 1080, protocol: 'HTTP' }] }, 'fine'),
      gateway({ listeners: [{ name: 'h', port: 1080, protocol: 'HTTP' }] }, 'wild'),
      gateway({ addresses: [{ value: '::' }, { value: '::1' }], listeners: [{ name: 'h', port: 9000, protocol: 'HTTP' }] }, 'self'),
      httpRoute({ parentRefs: [{ name: 'clash' }] }),
    ],
    [LAN, PROXY],
  );
  t.deepEqual(r.gatewayApi.gateways.map((g) => g.name), ['fine']);
  t.deepEqual(r.listeners.map((l) => l.name), ['lan', 'proxy', 'fine:1080']);
  t.deepEqual(r.issues, [
    'site.yaml: Gateway default/clash: spec.listeners[0].port: 0.0.0.0:8080 is already bound by listener "lan"',
    'site.yaml: Gateway default/proxyclash: spec.listeners[0].port: 127.0.0.1:1080 is already bound by listener "proxy"',
    'site.yaml: Gateway default/wild: spec.listeners[0].port: 0.0.0.0:1080 is already bound by listener "proxy"',
    'site.yaml: Gateway default/self: spec.listeners[0].port: [::1]:9000 is already bound by listener "self:9000"',
    'site.yaml: HTTPRoute default/shop: spec.parentRefs[0]: not attached: no Gateway default/clash (or it was rejected) and no ugate listener "clash"',
  ]);
});

// ---------------------------------------------------------------------------
// loading: YAML files, formats, directories

const SITE = `# site.yaml
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: web
spec:
  gatewayClassName: ugate
  listeners:
  - name: http
    port: 8000
    protocol: HTTP
---
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  parentRefs: [{name: web}]
  rules:
  - backendRefs: [{name: 10.0.0.2, port: 80}]
...
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: broken}
spec:
  parentRefs: [{name: web}]
  rules:
  - matches: [{path: {type: Exact, value: "/a//b"}}]
`;

test('file formats: YAML by name or by content, JSON by "{", else UCI', (t) => {
  t.is(fileFormat('site.yaml', '{}'), 'yaml');
  t.is(fileFormat('site.YML', ''), 'yaml');
  t.is(fileFormat('manifests', SITE), 'yaml');
  t.is(fileFormat('m', '---\nkind: Gateway'), 'yaml');
  t.is(fileFormat('m', 'kind: Gateway\n'), 'yaml');
  t.is(fileFormat('c.json', ' {"listeners": []}'), 'json');
  t.is(fileFormat('ugate', "config listener 'lan'\n"), 'uci');
});

test('a YAML file alone: Gateway listeners, multi-document, issues returned not thrown', (t) => {
  const c = loadConfig([['site.yaml', SITE]]);
  t.deepEqual(
    c.listeners.map((l) => [l.name, l.type]),
    [['web:8000', 'http']],
  );
  t.deepEqual(c.gatewayApi!.httpRoutes.map((r) => [r.name, r.source.document]), [['shop', 2]]);
  t.deepEqual(c.gatewayApi!.issues.map(formatManifestIssue), ["site.yaml: HTTPRoute default/broken: spec.rules[0].matches[0].path.value: must not contain '//' when type one of ['Exact', 'PathPrefix']"]);
  t.deepEqual(c.listeners[0]!.gatewayApi!.http.map((a) => a.route.name), ['shop']);
  t.is(c.timeouts.idleMs, 300_000, 'settings keep their defaults');
});

test('YAML syntax errors name the file and line', (t) => {
  const e = t.throws(() => loadConfig([['bad.yaml', 'kind: Gateway\nmetadata:\n  name: web\n   oops: [1\n']]), { instanceOf: ConfigError });
  t.is(e.file, 'bad.yaml');
  t.regex(e.message, /^bad\.yaml: line 4, column \d+: invalid YAML: /);
  const dup = t.throws(() => loadConfig([['dup.yaml', 'kind: Gateway\nkind: HTTPRoute\n']]), { instanceOf: ConfigError });
  t.regex(dup.message, /^dup\.yaml: line 2, column 1: invalid YAML: duplicated mapping key/);
});

test('JSON or UCI configuration and manifests combine', (t) => {
  const json = JSON.stringify({ listeners: [{ name: 'lan', type: 'redirect', listen: '0.0.0.0:8080' }], timeouts: { idle: '1m' } });
  const route = `apiVersion: ${V1}\nkind: TLSRoute\nmetadata: {name: sni}\nspec:\n  parentRefs: [{name: lan}]\n  hostnames: [a.example.com]\n  rules: [{backendRefs: [{name: 10.0.0.9, port: 443}]}]\n`;
  const c = loadConfig([
    ['ugate.json', json],
    ['routes.yaml', route],
    ['gw.yaml', SITE],
  ]);
  t.deepEqual(
    c.listeners.map((l) => [l.name, l.type, l.gatewayApi?.tls.length ?? null, l.gatewayApi?.http.length ?? null]),
    [
      ['lan', 'redirect', 1, 0],
      ['web:8000', 'http', 0, 1],
    ],
  );
  t.is(c.timeouts.idleMs, 60_000);
  const uci = loadConfig([['ugate', "config listener 'lan'\n\toption type 'redirect'\n\toption listen '0.0.0.0:8080'\n"], ['r.yaml', route]]);
  t.is(uci.listeners[0]!.gatewayApi!.tls[0]!.route.name, 'sni');
  t.is(loadConfig([['ugate.json', json]]).gatewayApi, null, 'no manifest: gatewayApi is null');
});

test('nothing to listen on is an error; so are routes without any listener', (t) => {
  const rejected = SITE.replace('protocol: HTTP', 'protocol: UDP');
  const e = t.throws(() => loadConfig([['site.yaml', rejected]]), { instanceOf: ConfigError });
  t.regex(e.message, /nothing to listen on: no Gateway was accepted/);
  t.true(e.manifestIssues.some((i) => i.path === 'spec.listeners[0].protocol'), JSON.stringify(e.manifestIssues));
  const routesOnly = SITE.split('---').slice(2).join('---');
  const r = t.throws(() => loadConfig([['routes.yaml', routesOnly]]), { instanceOf: ConfigError });
  t.regex(r.message, /the manifests have no Gateway and no configuration file/);
  // A JSON file without listeners is fine when a Gateway provides some.
  const c = loadConfig([['c.json', '{"accessLog": false}'], ['site.yaml', SITE]]);
  t.deepEqual([c.accessLog, c.listeners.length], [false, 1]);
  t.throws(() => loadConfig([['c.json', '{"accessLog": false}']]), { instanceOf: ConfigError, message: /listeners: required field is missing/ });
  t.is(loadConfig([['empty.yaml', '---\n'], ['c.json', JSON.stringify({ listeners: [{ name: 'p', type: 'mixed', listen: '127.0.0.1:1' }] })]]).gatewayApi!.issues.length, 0);
});

test('describeConfig: a gatewayApi section with gateways, routes, attachments', (t) => {
  const d = describeConfig(loadConfig([['site.yaml', SITE]])) as { gatewayApi: unknown; listeners: unknown[] };
  t.deepEqual(d.listeners, [{ name: 'web:8000', type: 'http', listen: ['0.0.0.0:8000', '[::]:8000'], default: 'reject' }]);
  t.deepEqual(d.gatewayApi, {
    gateways: [{ name: 'default/web', listeners: [{ name: 'http', port: 8000, protocol: 'HTTP' }] }],
    httpRoutes: [{ name: 'default/shop', rules: [{ matches: ['PathPrefix /'], backends: ['10.0.0.2:80'] }], attachedTo: [{ listener: 'web:8000', section: 'http', hostnames: 'any' }] }],
    tlsRoutes: [],
    issues: 1,
  });
});

/** An in-memory file system with directories, as the runtime's readFile/readDir see it. */
function memoryFs(files: Record<string, string>) {
  const enc = new TextEncoder();
  return {
    readFile: async (path: string) => {
      if (!Object.hasOwn(files, path)) throw new Error(`ENOENT: ${path}`);
      return enc.encode(files[path]!);
    },
    readDir: async (path: string) => {
      const prefix = `${path.replace(/\/+$/, '')}/`;
      const entries = Object.keys(files).filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length).split('/')[0]!);
      if (entries.length === 0) throw new Error(`ENOTDIR: ${path}`);
      return [...new Set(entries)];
    },
  };
}

test('a directory stands for its *.yaml, *.yml and *.json files, in name order, not recursively', async (t) => {
  const fs = memoryFs({
    '/etc/ugate/20-routes.yml': 'r',
    '/etc/ugate/10-gateway.yaml': 'g',
    '/etc/ugate/00-base.json': '{}',
    '/etc/ugate/README.md': 'x',
    '/etc/ugate/sub/30.yaml': 'nested',
    '/etc/config/ugate': 'uci',
  });
  t.deepEqual(await readConfigFiles(fs, ['/etc/config/ugate', '/etc/ugate/']), [
    ['/etc/config/ugate', 'uci'],
    ['/etc/ugate/00-base.json', '{}'],
    ['/etc/ugate/10-gateway.yaml', 'g'],
    ['/etc/ugate/20-routes.yml', 'r'],
  ]);
  await t.throwsAsync(readConfigFiles(fs, ['/etc/ugate/sub/nothing']), { instanceOf: ConfigError, message: /\/etc\/ugate\/sub\/nothing: cannot read: ENOENT/ });
  const empty = memoryFs({ '/d/notes.txt': '' });
  await t.throwsAsync(readConfigFiles(empty, ['/d']), { instanceOf: ConfigError, message: /\/d: the directory has no \*\.yaml, \*\.yml or \*\.json file/ });
});

test('the Node runtime lists a directory, and refuses a file', async (t) => {
  const { createNodeRuntime } = await import('../../src/runtime/node.ts');
  const rt = await createNodeRuntime();
  const here = await rt.readDir('test/unit');
  t.true(here.includes('gateway-api-config.test.ts'));
  t.false(here.includes('.') || here.includes('..'));
  await t.throwsAsync(rt.readDir('test/unit/gateway-api-config.test.ts'));
});

// ---------------------------------------------------------------------------
// property: validation never throws, whatever it is given

const VALID: unknown[] = [
  gateway({ addresses: [{ value: '10.0.0.1' }], listeners: [{ name: 'h', port: 80, protocol: 'HTTP', hostname: '*.a.com', allowedRoutes: { namespaces: { from: 'All' }, kinds: [{ kind: 'HTTPRoute' }] } }, { name: 't', port: 443, protocol: 'TLS', tls: { mode: 'Passthrough' } }] }),
  httpRoute({
    hostnames: ['a.com', '*.b.com'],
    rules: [
      {
        name: 'r',
        matches: [{ path: { type: 'RegularExpression', value: '/x.*' }, headers: [{ name: 'h', value: 'v' }], queryParams: [{ type: 'RegularExpression', name: 'q', value: '1+' }], method: 'GET' }],
        filters: [
          { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'a', value: 'b' }], remove: ['c'] } },
          { type: 'URLRewrite', urlRewrite: { hostname: 'x.com', path: { type: 'ReplaceFullPath', replaceFullPath: '/y' } } },
        ],
        backendRefs: [{ name: 'app', port: 80, weight: 2 }, { name: 'x', kind: 'Foo', group: 'a.b' }],
        timeouts: { request: '10s', backendRequest: '1s' },
      },
      { matches: [{ path: { value: '/p' } }], filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '' }, statusCode: 308 } }] },
    ],
  }),
  tlsRoute(),
];

/** Replaces the value at a random path of `value` (objects and lists) with `replacement`. */
function mutate(value: unknown, choices: number[], replacement: unknown): unknown {
  if (choices.length === 0 || typeof value !== 'object' || value === null) return replacement;
  const keys = Object.keys(value);
  if (keys.length === 0) return replacement;
  const key = keys[choices[0]! % keys.length]!;
  const copy: Record<string, unknown> = Array.isArray(value) ? ([...value] as unknown as Record<string, unknown>) : { ...value };
  copy[key] = mutate((value as Record<string, unknown>)[key], choices.slice(1), replacement);
  return copy;
}

const cyclic = () => {
  const o: Record<string, unknown> = { name: 'x' };
  o.path = o;
  o.headers = [o];
  return o;
};
const anyValue = fc.oneof(
  fc.anything({ maxDepth: 3, withNullPrototype: true, withObjectString: true, withBigInt: true }),
  fc.constant(null).map(cyclic),
  fc.constantFrom('', '/', '*', '0s', 'Gateway', 'HTTPRoute', 'TLSRoute', 'RegularExpression', '(', 'a)|(b', '__proto__', 'constructor', -1, 1e9, NaN, 65536, null, [], {}),
);

test('property: random and mutated manifests never make validation or attachment throw', (t) => {
  fc.assert(
    fc.property(fc.array(fc.oneof(anyValue, fc.tuple(fc.constantFrom(...VALID), fc.array(fc.nat(), { maxLength: 8 }), anyValue).map(([v, path, x]) => mutate(v, path, x))), { maxLength: 4 }), (values) => {
      const c = validate(...values);
      for (const i of c.issues) t.true(typeof i.path === 'string' && typeof i.message === 'string' && i.message.length > 0);
      attachRoutes(c, [LAN]);
    }),
    { numRuns: 2000 },
  );
});

test('the unmutated property inputs are valid', (t) => {
  const c = validate(...VALID);
  t.deepEqual(lines(c), []);
  const routes: HttpRoute[] = c.httpRoutes;
  t.is(routes.length, 1);
  const config: Pick<Config, 'listeners'> = attachRoutes(c, [LAN]);
  t.is(config.listeners.length, 3);
});

test('a Gateway degrades per listener: one it cannot serve is left out and reported, the others serve', (t) => {
  const table: [string, unknown, string, RegExp, string[]][] = [
    ['HTTPS beside HTTP', gateway({ listeners: [{ name: 'web', port: 80, protocol: 'HTTP' }, { name: 'secure', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'c' }] } }] }), 'spec.listeners[1].protocol', /"HTTPS": not supported by ugate/, ['web']],
    ['duplicate listener name', gateway({ listeners: [{ name: 'h', port: 80, protocol: 'HTTP' }, { name: 'h', port: 81, protocol: 'HTTP' }] }), 'spec.listeners[1].name', /^Listener name must be unique within the Gateway/, ['h']],
    ['one port, two protocols', gateway({ listeners: [{ name: 'h', port: 443, protocol: 'HTTP' }, { name: 't', port: 443, protocol: 'TLS', tls: { mode: 'Passthrough' } }] }), 'spec.listeners[1].protocol', /conflicts with listener "h": port 443 serves HTTP/, ['h']],
    ['same port, no hostnames', gateway({ listeners: [{ name: 'a', port: 80, protocol: 'HTTP' }, { name: 'b', port: 80, protocol: 'HTTP' }] }), 'spec.listeners[1]', /Combination of port, protocol and hostname must be unique/, ['a']],
    ['same port and hostname', gateway({ listeners: [{ name: 'a', port: 80, protocol: 'HTTP', hostname: 'x.com' }, { name: 'b', port: 80, protocol: 'HTTP', hostname: 'x.com' }] }), 'spec.listeners[1]', /Combination of port, protocol and hostname/, ['a']],
  ];
  for (const [what, manifest, path, message, kept] of table) {
    const c = validate(JSON.parse(JSON.stringify(manifest)));
    t.deepEqual(c.gateways.map((g) => g.listeners.map((l) => l.name)), [kept], `${what}: the Gateway serves the rest`);
    t.deepEqual(c.issues.map((i) => i.path), [path], what);
    t.regex(c.issues[0]?.message ?? '', message, what);
    t.regex(c.issues[0]?.message ?? '', /; this listener is left out, the Gateway's other listeners serve$/, what);
  }
});
