#!/usr/bin/env node
// The HTTP routing benchmark's one route table, and what every peer is configured with:
//
//   - routeTable(): 20 hostnames (18 exact, 2 wildcards), 100 rules: mostly PathPrefix, some
//     Exact paths, a few header and a few method matches, spread over 4 origin servers;
//   - siteYaml(): a Gateway (gatewayClassName ugate, one HTTP listener) and one HTTPRoute per
//     hostname, for `ugate run -c site.yaml`;
//   - nginxProxyConf(): the same routing as an nginx reverse proxy (a server block per hostname,
//     `location =` for Exact, prefix locations for PathPrefix, `if` for header/method matches),
//     with keep-alive upstreams;
//   - originConf(): the origins, one nginx with a server per origin answering `200 "oN"`;
//   - wrkScript(): a wrk Lua script cycling through one request per rule.
//
// Every rule sets the request header X-Bench-Rule to its id (a RequestHeaderModifier in the
// HTTPRoute, proxy_set_header in nginx); the origins answer with X-Origin (their name) and echo
// X-Bench-Rule and the client's X-Bench-Expect ("<rule> <origin>", computed here with Gateway API
// match precedence), so a check can tell for every response whether it took the intended rule to
// the intended origin.
//
//   node bench/http-routes.mjs [--out=dir]     writes site.yaml, proxy.conf, origin.conf, routes.lua
//                                              (ports 8080 and 9001-9004) for a look at them

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ORIGINS = 4;
export const HOST_COUNT = 20;
export const RULES_PER_HOST = 5;

const pad = (n, w = 2) => String(n).padStart(w, '0');
export const originName = (i) => `o${i + 1}`;

/**
 * The route table. Per hostname, in the order of spec.rules:
 *   PathPrefix /               (every host)
 *   PathPrefix /api
 *   PathPrefix /api/v1/users   (a longer prefix under /api)
 *   Exact /healthz | PathPrefix /static | Exact /login | PathPrefix /static   (host index mod 4)
 *   PathPrefix /api + header X-Tenant: beta | PathPrefix /api/v1/orders + method POST |
 *     PathPrefix /assets | Exact /api/v1/status | PathPrefix /static/img     (host index mod 5)
 * Hosts 1-18 are appNN.bench.test, 19 and 20 the wildcards *.cdn.bench.test and *.media.bench.test.
 * Paths are chosen so that nginx's character-wise prefix match and Gateway API's element-wise one
 * agree on every request sent (no rule prefix is a string prefix of another path element).
 */
export function routeTable() {
  const hosts = [];
  let n = 0;
  const rule = (origin, path, extra = {}) => ({ id: `r${pad(++n, 3)}`, origin: origin % ORIGINS, path, headers: extra.headers ?? [], method: extra.method ?? null });
  for (let i = 0; i < HOST_COUNT; i++) {
    const name = i < 18 ? `app${pad(i + 1)}.bench.test` : ['*.cdn.bench.test', '*.media.bench.test'][i - 18];
    const rules = [rule(i, { type: 'PathPrefix', value: '/' }), rule(i + 1, { type: 'PathPrefix', value: '/api' }), rule(i + 2, { type: 'PathPrefix', value: '/api/v1/users' })];
    rules.push(
      [
        () => rule(i + 3, { type: 'Exact', value: '/healthz' }),
        () => rule(i + 3, { type: 'PathPrefix', value: '/static' }),
        () => rule(i + 3, { type: 'Exact', value: '/login' }),
        () => rule(i + 3, { type: 'PathPrefix', value: '/static' }),
      ][i % 4](),
    );
    rules.push(
      [
        () => rule(i + 2, { type: 'PathPrefix', value: '/api' }, { headers: [{ name: 'X-Tenant', value: 'beta' }] }),
        () => rule(i + 3, { type: 'PathPrefix', value: '/api/v1/orders' }, { method: 'POST' }),
        () => rule(i + 1, { type: 'PathPrefix', value: '/assets' }),
        () => rule(i + 2, { type: 'Exact', value: '/api/v1/status' }),
        () => rule(i + 1, { type: 'PathPrefix', value: '/static/img' }),
      ][i % 5](),
    );
    hosts.push({ name, route: i < 18 ? `app${pad(i + 1)}` : ['cdn', 'media'][i - 18], rules });
  }
  return { hosts, origins: ORIGINS };
}

// ---------------------------------------------------------------------------------------------
// Gateway API matching, as the spec orders it: hostname (exact before wildcard, longer wildcard
// first), then among the matching rules: Exact path, longest PathPrefix, method, most headers,
// then the order of the rules.

function hostMatches(pattern, host) {
  if (!pattern.startsWith('*.')) return pattern === host;
  const suffix = pattern.slice(1); // ".cdn.bench.test": one or more labels before it
  return host.endsWith(suffix) && host.length > suffix.length;
}

function pathMatches(path, p) {
  if (p.type === 'Exact') return path === p.value;
  return p.value === '/' || path === p.value || path.startsWith(`${p.value}/`);
}

/** The rule a request takes (or null): request = { host, method, path, headers: { name: value } }. */
export function routeOf(table, req) {
  const candidates = table.hosts.filter((h) => hostMatches(h.name, req.host));
  candidates.sort((a, b) => Number(a.name.startsWith('*')) - Number(b.name.startsWith('*')) || b.name.length - a.name.length);
  const host = candidates[0];
  if (!host) return null;
  const lower = Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const matching = host.rules.filter(
    (r) => pathMatches(req.path, r.path) && (!r.method || r.method === req.method) && r.headers.every((h) => lower[h.name.toLowerCase()] === h.value),
  );
  const rank = (r) => [r.path.type === 'Exact' ? 1 : 0, r.path.value.length, r.method ? 1 : 0, r.headers.length];
  matching.sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return rb[i] - ra[i];
    return host.rules.indexOf(a) - host.rules.indexOf(b);
  });
  return matching[0] ?? null;
}

/**
 * One request per rule, built to take it: a path under (or equal to) the rule's path, the rule's
 * method and headers, and for the wildcard hosts a name with one or two labels before the suffix.
 * Each carries X-Bench-Expect "<rule> <origin>" from routeOf(), checked to be the rule itself.
 */
export function benchRequests(table) {
  const out = [];
  for (const h of table.hosts) {
    h.rules.forEach((r, k) => {
      const host = h.name.startsWith('*.') ? `${k % 2 ? 'edge.eu' : 'edge'}${k}${h.name.slice(1)}` : h.name;
      const v = r.path.value;
      const path = r.path.type === 'Exact' ? v : v === '/' ? '/index.html' : `${v}/${['item', '42', 'a/b.css'][k % 3]}`;
      const method = r.method ?? 'GET';
      const headers = Object.fromEntries(r.headers.map((x) => [x.name, x.value]));
      const req = { host, method, path, headers, body: method === 'POST' ? '{"qty":1}' : null };
      const got = routeOf(table, req);
      if (got !== r) throw new Error(`request for ${r.id} (${method} ${host}${path}) takes ${got?.id ?? 'no rule'}`);
      req.rule = r.id;
      req.origin = originName(r.origin);
      req.headers['X-Bench-Expect'] = `${r.id} ${req.origin}`;
      out.push(req);
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ugate: Gateway API manifests

const q = (s) => JSON.stringify(s); // a JSON string is a valid YAML flow scalar

/** The Gateway and HTTPRoutes; origins[i] is the port of origin i on 127.0.0.1. */
export function siteYaml(table, { port, origins, gateway = 'bench', namespace = 'default' }) {
  const docs = [
    `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: ${gateway}
  namespace: ${namespace}
spec:
  gatewayClassName: ugate
  addresses:
    - type: IPAddress
      value: 127.0.0.1
  listeners:
    - name: http
      protocol: HTTP
      port: ${port}
      allowedRoutes:
        namespaces:
          from: Same
`,
  ];
  for (const h of table.hosts) {
    const rules = h.rules.map((r) => {
      const match = [`        - path:\n            type: ${r.path.type}\n            value: ${q(r.path.value)}`];
      if (r.method) match.push(`          method: ${r.method}`);
      if (r.headers.length) {
        match.push('          headers:');
        for (const x of r.headers) match.push(`            - type: Exact\n              name: ${x.name}\n              value: ${q(x.value)}`);
      }
      return `    - name: ${r.id}
      matches:
${match.join('\n')}
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set:
              - name: X-Bench-Rule
                value: ${r.id}
      backendRefs:
        - name: 127.0.0.1
          port: ${origins[r.origin]}`;
    });
    docs.push(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${h.route}
  namespace: ${namespace}
spec:
  parentRefs:
    - name: ${gateway}
  hostnames:
    - ${q(h.name)}
  rules:
${rules.join('\n')}
`);
  }
  return `# ugate HTTP routing bench: ${table.hosts.length} hostnames, ${table.hosts.reduce((s, h) => s + h.rules.length, 0)} rules (bench/http-routes.mjs)\n${docs.join('---\n')}`;
}

// ---------------------------------------------------------------------------------------------
// nginx

/** Temp paths inside dir, so that nginx runs without its packaged directories. */
function tempPaths(dir, tag) {
  return ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `    ${k}_temp_path ${join(dir, `${tag}-${k}-temp`)};`).join('\n');
}

/**
 * nginx as a reverse proxy with the table's routing. Rule precedence within a server block:
 * `location =` before the longest prefix (Gateway API: Exact, then the longest PathPrefix), and
 * within a location the rule with a method or header condition as an `if`, falling back to the
 * rule Gateway API would take without it. The rule id goes upstream in X-Bench-Rule ($rule).
 */
export function nginxProxyConf(table, { port, origins, workers, dir, tag = 'proxy' }) {
  const upstreams = origins
    .map(
      (p, i) => `    upstream ${originName(i)} {
        server 127.0.0.1:${p};
        keepalive 32;
        keepalive_requests 1000000;
    }`,
    )
    .join('\n');
  const servers = table.hosts.map((h) => {
    // one location per distinct path match; conditions (method, headers) become an if
    const byPath = new Map();
    for (const r of h.rules) {
      const key = `${r.path.type} ${r.path.value}`;
      if (!byPath.has(key)) byPath.set(key, []);
      byPath.get(key).push(r);
    }
    const locations = [];
    for (const rules of byPath.values()) {
      const { type, value } = rules[0].path;
      const plain = rules.filter((r) => !r.method && r.headers.length === 0);
      const conditional = rules.filter((r) => r.method || r.headers.length > 0);
      if (plain.length > 1 || conditional.length > 1) throw new Error(`${h.name} ${type} ${value}: nginx config supports one plain and one conditional rule per path`);
      // without the condition: what Gateway API takes for this path (a shorter prefix, say)
      const fallback = plain[0] ?? routeOf({ hosts: [{ ...h, rules: h.rules.filter((r) => !conditional.includes(r)) }] }, { host: h.name.replace(/^\*/, 'x'), method: 'GET', path: value, headers: {} });
      if (!fallback) throw new Error(`${h.name} ${type} ${value}: no fallback rule`);
      const body = [];
      for (const r of conditional) {
        const cond = r.method ? `$request_method = ${r.method}` : `$http_${r.headers[0].name.toLowerCase().replaceAll('-', '_')} = "${r.headers[0].value}"`;
        if (r.headers.length + (r.method ? 1 : 0) > 1) throw new Error(`${r.id}: nginx config supports one condition per rule`);
        body.push(`            if (${cond}) {\n                set $rule ${r.id};\n                proxy_pass http://${originName(r.origin)};\n            }`);
      }
      locations.push(`        location ${type === 'Exact' ? '= ' : ''}${value} {
            set $rule ${fallback.id};
${body.length ? `${body.join('\n')}\n` : ''}            proxy_pass http://${originName(fallback.origin)};
        }`);
    }
    return `    server {
        listen 127.0.0.1:${port};
        server_name ${h.name};
${locations.join('\n')}
    }`;
  });
  return `# nginx reverse proxy with the ugate HTTP bench's route table (bench/http-routes.mjs)
worker_processes ${workers};
daemon off;
pid ${join(dir, `${tag}.pid`)};
error_log stderr warn;

events {
    worker_connections 8192;
}

http {
    access_log off;
    keepalive_timeout 65;
    # nginx closes a client connection after 1000 requests by default: not in this bench
    keepalive_requests 1000000;
${tempPaths(dir, tag)}
    proxy_http_version 1.1;
    proxy_set_header Host $host;
    proxy_set_header Connection "";
    proxy_set_header X-Bench-Rule $rule;

${upstreams}

    # a name that no route has: 404, as ugate answers
    server {
        listen 127.0.0.1:${port} default_server;
        return 404;
    }
${servers.join('\n')}
}
`;
}

/**
 * The origins: one nginx, a server per origin port answering 200 "oN" with X-Origin and the
 * echoes; on statusPort, nginx's stub_status (connections accepted: how well a proxy pools).
 */
export function originConf({ origins, statusPort, workers, dir, tag = 'origin' }) {
  const servers = origins.map(
    (p, i) => `    server {
        listen 127.0.0.1:${p} backlog=4096;
        location / {
            add_header X-Origin ${originName(i)};
            add_header X-Bench-Rule $http_x_bench_rule;
            add_header X-Bench-Echo $http_x_bench_expect;
            return 200 "${originName(i)}\\n";
        }
    }`,
  );
  return `# origins for the ugate HTTP bench (bench/http-routes.mjs)
worker_processes ${workers};
daemon off;
pid ${join(dir, `${tag}.pid`)};
error_log stderr warn;

events {
    worker_connections 8192;
}

http {
    access_log off;
    default_type text/plain;
    keepalive_timeout 65;
    keepalive_requests 1000000;
${tempPaths(dir, tag)}
${servers.join('\n')}
    server {
        listen 127.0.0.1:${statusPort};
        location / {
            stub_status;
        }
    }
}
`;
}

// ---------------------------------------------------------------------------------------------
// wrk

const lua = (s) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

/**
 * The wrk script: request() cycles through the prebuilt requests (each thread from its own
 * offset); headers given with -H (Connection: close) are added to every request. With
 * BENCH_VERIFY=rule each response is checked (status 200, X-Bench-Rule and X-Origin as
 * X-Bench-Echo says), with BENCH_VERIFY=status only the status; done() prints one line
 * "BENCH {json}" with the counts and latency percentiles in microseconds.
 */
export function wrkScript(requests) {
  const items = requests.map((r) => {
    const headers = Object.entries({ Host: r.host, ...r.headers })
      .map(([k, v]) => `[${lua(k)}] = ${lua(v)}`)
      .join(', ');
    return `  { ${lua(r.method)}, ${lua(r.path)}, { ${headers} }${r.body ? `, ${lua(r.body)}` : ''} },`;
  });
  return `-- wrk script for the ugate HTTP bench (bench/http-routes.mjs): one request per rule
local requests = {
${items.join('\n')}
}

local built = {}
local i = 0
local threads = {}
local count = 0

function setup(thread)
  count = count + 1
  thread:set("index", count)
  table.insert(threads, thread)
end

function init(args)
  for k, r in ipairs(requests) do
    local h = {}
    for name, value in pairs(wrk.headers) do h[name] = value end
    for name, value in pairs(r[3]) do h[name] = value end
    built[k] = wrk.format(r[1], r[2], h, r[4])
  end
  i = ((index or 1) - 1) * 37
  checked = 0
  bad = 0
  first_bad = ""
end

function request()
  i = i % #built + 1
  return built[i]
end

local verify = os.getenv("BENCH_VERIFY")
if verify == "rule" or verify == "status" then
  function response(status, headers, body)
    checked = checked + 1
    local h = {}
    for name, value in pairs(headers) do h[string.lower(name)] = value end
    local ok = status == 200
    local echo = h["x-bench-echo"] or ""
    if ok and verify == "rule" then
      ok = echo ~= "" and ((h["x-bench-rule"] or "-") .. " " .. (h["x-origin"] or "-")) == echo
    end
    if not ok then
      bad = bad + 1
      if first_bad == "" then
        first_bad = "status " .. status .. ", expected " .. echo .. ", got rule " .. (h["x-bench-rule"] or "-") .. " origin " .. (h["x-origin"] or "-")
      end
    end
  end
end

function done(summary, latency, requests)
  local c, b, f = 0, 0, ""
  for _, t in ipairs(threads) do
    c = c + (t:get("checked") or 0)
    b = b + (t:get("bad") or 0)
    if f == "" then f = t:get("first_bad") or "" end
  end
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,"checked":%d,"bad":%d,"first_bad":"%s"}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    c, b, string.gsub(f, '[\\\\"]', "'")))
end
`;
}

// ---------------------------------------------------------------------------------------------

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv.find((a) => a.startsWith('--out='))?.slice(6) ?? 'http-bench-config';
  mkdirSync(out, { recursive: true });
  const table = routeTable();
  const origins = [9001, 9002, 9003, 9004];
  const dir = resolve(out);
  writeFileSync(join(out, 'site.yaml'), siteYaml(table, { port: 8080, origins }));
  writeFileSync(join(out, 'proxy.conf'), nginxProxyConf(table, { port: 8080, origins, workers: 1, dir }));
  writeFileSync(join(out, 'origin.conf'), originConf({ origins, statusPort: 9000, workers: 1, dir }));
  writeFileSync(join(out, 'routes.lua'), wrkScript(benchRequests(table)));
  const rules = table.hosts.flatMap((h) => h.rules);
  console.log(
    `${out}: ${table.hosts.length} hostnames, ${rules.length} rules (${rules.filter((r) => r.path.type === 'Exact').length} Exact, ${rules.filter((r) => r.headers.length).length} header, ${rules.filter((r) => r.method).length} method matches)`,
  );
}
