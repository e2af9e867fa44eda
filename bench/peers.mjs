// The forwarders under test. Each peer writes its configuration into ctx.dir and returns the
// command that runs it in the foreground, listening on 127.0.0.1:ctx.port and forwarding to the
// bench backend on 127.0.0.1:ctx.backend. Configurations are what a real deployment would use,
// except where a note says otherwise.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const BENCH_HOST = 'bench.test';

/** The ugate configuration for the bench: an sni listener routing bench.test to the backend. */
export function ugateConfig({ port, backend, dataPlane, defaultForward, sniffTimeout, accessLog = false, splice }) {
  const cfg = {
    listeners: [
      {
        name: 'bench',
        type: 'sni',
        listen: [`127.0.0.1:${port}`],
        default: defaultForward ? { forward: `127.0.0.1:${defaultForward}` } : 'reject',
      },
    ],
    routes: defaultForward ? [] : [{ name: 'b', match: { hosts: [BENCH_HOST] }, action: { forward: `127.0.0.1:${backend}` } }],
    accessLog,
    // All bench traffic comes from one address: the per-source caps that keep one LAN device
    // from starving the others would refuse the 1000 held connections of the memory row.
    limits: { perSource: 100000, handshakesPerSource: 100000 },
  };
  if (sniffTimeout) cfg.timeouts = { sniff: sniffTimeout };
  if (dataPlane) cfg.dataPlane = dataPlane;
  if (splice && dataPlane === 'splice') cfg.splice = splice;
  return cfg;
}

function ugate(runtime, plane) {
  const id = `ugate-${runtime}-${plane}`;
  return {
    id,
    label: `ugate ${plane === 'splice' ? 'splice' : 'JS pump'} on ${runtime === 'tjs' ? 'txiki.js' : 'Node'}`,
    kind: 'ugate',
    runtime,
    plane,
    async prepare(ctx) {
      if (runtime === 'tjs' && !ctx.tjs) return { skip: 'no txiki.js: set UGATE_TJS=/path/to/tjs or put tjs on PATH' };
      // Until the build knows "dataPlane", the JS rows run without it (the JS pump is all there
      // is) and the splice rows are not measured at all, rather than silently measuring JS.
      let dataPlane;
      if (ctx.dataPlane.supported) dataPlane = plane;
      else if (plane === 'splice') return { skip: `splice not available: this build has no "dataPlane" option (${ctx.dataPlane.reason})` };
      const file = join(ctx.dir, `${id}.json`);
      writeFileSync(file, JSON.stringify(ugateConfig({ port: ctx.port, backend: ctx.backend, dataPlane, accessLog: ctx.accessLog, splice: ctx.splice }), null, 2));
      const check = await ctx.ugateCheck(file);
      if (check) return { skip: `ugate check rejected the config: ${check}` };
      const argv = runtime === 'tjs' ? [ctx.tjs, 'run', ctx.bundle, 'run', '-c', file] : [process.execPath, ctx.bundle, 'run', '-c', file];
      return { argv, notes: dataPlane ? [] : ['no dataPlane option in this build: JS pump'] };
    },
  };
}

function haproxy(splice) {
  return {
    id: splice ? 'haproxy-splice' : 'haproxy-copy',
    label: `HAProxy ${splice ? 'splice' : 'copy'}`,
    kind: 'peer',
    bins: ['haproxy'],
    async prepare(ctx) {
      const file = join(ctx.dir, `haproxy-${splice ? 'splice' : 'copy'}.cfg`);
      writeFileSync(
        file,
        `# nbthread is left to HAProxy (one per CPU), as deployed
global
    maxconn 4096

defaults
    mode tcp
    timeout connect 5s
    timeout client 5m
    timeout server 5m
${splice ? '    option splice-request\n    option splice-response\n' : ''}
frontend bench
    bind 127.0.0.1:${ctx.port}
    tcp-request inspect-delay 5s
    tcp-request content accept if { req_ssl_hello_type 1 }
    use_backend bench if { req_ssl_sni -i ${BENCH_HOST} }

backend bench
    server backend 127.0.0.1:${ctx.backend}
`,
      );
      const check = await ctx.run(['haproxy', '-c', '-q', '-f', file]);
      if (check.code !== 0) return { skip: `haproxy -c: ${(check.stderr || check.stdout).trim().split('\n').slice(-1)[0]}` };
      return { argv: ['haproxy', '-db', '-f', file], notes: [splice ? 'splice-request+response' : 'no splice'] };
    },
  };
}

const nginx = {
  id: 'nginx',
  label: 'nginx stream',
  kind: 'peer',
  bins: ['nginx'],
  files: ['/usr/lib/nginx/modules/ngx_stream_module.so'],
  async prepare(ctx) {
    const file = join(ctx.dir, 'nginx.conf');
    writeFileSync(
      file,
      `load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes auto;
daemon off;
pid ${join(ctx.dir, 'nginx.pid')};
error_log stderr warn;

events {
    worker_connections 8192;
}

stream {
    # unmatched names go to a closed port: nginx has no "reject"
    map $ssl_preread_server_name $backend {
        ${BENCH_HOST} 127.0.0.1:${ctx.backend};
        default 127.0.0.1:1;
    }
    server {
        listen 127.0.0.1:${ctx.port};
        ssl_preread on;
        proxy_pass $backend;
    }
}
`,
    );
    const args = ['-p', ctx.dir, '-e', 'stderr', '-c', file];
    const check = await ctx.run(['nginx', '-t', ...args]);
    if (check.code !== 0) return { skip: `nginx -t: ${check.stderr.trim().split('\n').slice(-1)[0]}` };
    return { argv: ['nginx', ...args] };
  },
  describe: ({ procs }) => `worker_processes auto = ${procs - 1} worker${procs === 2 ? '' : 's'} + master`,
};

const sniproxy = {
  id: 'sniproxy',
  label: 'sniproxy',
  kind: 'peer',
  bins: ['sniproxy'],
  async prepare(ctx) {
    const file = join(ctx.dir, 'sniproxy.conf');
    writeFileSync(
      file,
      `error_log {
    filename ${join(ctx.dir, 'sniproxy-error.log')}
    priority warning
}
listener 127.0.0.1:${ctx.port} {
    protocol tls
    table bench
}
table bench {
    ^${BENCH_HOST.replaceAll('.', '\\.')}$ 127.0.0.1:${ctx.backend}
}
`,
    );
    return { argv: ['sniproxy', '-f', '-c', file] };
  },
};

const socat = {
  id: 'socat',
  label: 'socat (no SNI)',
  kind: 'peer',
  bins: ['socat'],
  async prepare(ctx) {
    return {
      // backlog: socat's default of 5 drops SYNs at 32 concurrent connects (1 s retransmits)
      argv: ['socat', `TCP-LISTEN:${ctx.port},bind=127.0.0.1,fork,reuseaddr,backlog=1024`, `TCP:127.0.0.1:${ctx.backend}`],
      notes: ['fork per conn, default 8 KiB buffer, backlog=1024'],
    };
  },
};

const ceiling = {
  id: 'ceiling',
  label: 'C splice ceiling (no SNI)',
  kind: 'ceiling',
  async prepare(ctx) {
    return { argv: [ctx.bin('ceiling'), String(ctx.port), String(ctx.backend)], notes: ['thread per direction, 1 MiB pipes; a bound for bytes, not for conn/s (2 thread starts per connection)'] };
  },
};

const direct = { id: 'direct', label: 'direct (no forwarder)', kind: 'direct' };

/** Table order. */
export const PEERS = [
  direct,
  ugate('tjs', 'splice'),
  ugate('node', 'splice'),
  ugate('node', 'js'),
  ugate('tjs', 'js'),
  haproxy(true),
  haproxy(false),
  nginx,
  sniproxy,
  socat,
  ceiling,
];
