// Command line: run, check, version, help. Exit codes: 0 ok, 1 config or start-up error, 2 usage.

import { ConfigError } from './config/load.ts';
import { describeConfig } from './config/describe.ts';
import type { Config } from './config/model.ts';
import { readConfig } from './config/read.ts';
import { formatManifestIssue } from './gateway-api/validate.ts';
import { CaptureError } from './capture/firewall.ts';
import { Service } from './service.ts';
import { SIGNALS, type Runtime } from './runtime/types.ts';
import { VERSION } from './version.ts';
import { fetchAdmin, formatStatus } from './admin/status.ts';
import type { StatsJson } from './admin/stats.ts';
import type { HostPort } from './config/model.ts';
import { splitHostPort } from './config/schema.ts';
import { isIPLiteral } from './route/cidr.ts';

const HELP = `ugate ${VERSION} — a small, fast, transparent gateway

Usage:
  ugate run [-c FILE]...    run the gateway; with no -c, the embedded default
                            (a SOCKS5/HTTP proxy on 127.0.0.1:1080 that forwards where asked)
  ugate check -c FILE...    validate the configuration and print the effective result
  ugate capture -c FILE...  print the firewall rules its capture settings would install
  ugate status [-c FILE]... [--json | --prometheus] [--admin HOST:PORT]
                            ask the running ugate for its statistics, at the admin address of
                            the configuration (with no -c, the embedded default's 127.0.0.1:15000)
  ugate version             print the version
  ugate --help              this text

FILE is JSON (starts with "{"), UCI (/etc/config/ugate), or YAML with Gateway API manifests
(Gateway, HTTPRoute, TLSRoute; *.yaml, *.yml); a directory stands for its *.yaml, *.yml and
*.json files in name order. Several files merge in order: listeners and routes add up, later
settings win. A manifest with a problem is reported and left out; the rest runs.

Log (ugate run): stdout has one access-log line per connection (and per HTTP request), logfmt
or JSON (accessLogFormat); stderr has what ugate does and why, each line with its time first
(UGATE_LOG_TIMESTAMPS=0 leaves the time out, for a log that adds its own).

Signals (ugate run):
  SIGTERM, SIGINT, SIGQUIT  stop accepting, let connections finish within timeouts.grace, exit;
                            a second one exits at once
  SIGHUP                    re-read the configuration and apply it: new listeners, routes and
                            capture; open connections carry on. An invalid one is refused (logged)
                            and the running one keeps serving
  SIGUSR1, SIGUSR2          log a status line (connections open, accepted, refused, ...)
  others that would end the process (SIGPIPE, SIGALRM, ...) are logged and ignored
`;

class UsageError extends Error {}

interface Args {
  command: string;
  files: string[];
  /** status: output format */
  format: 'report' | 'json' | 'prometheus';
  /** status: the admin address, instead of the configuration's */
  admin: string | null;
}

function parseArgs(args: string[]): Args {
  const [first = 'help', ...rest] = args;
  const out: Args = { command: first, files: [], format: 'report', admin: null };
  // "--help" anywhere ("ugate run --help") asks for help, not for a run
  if (rest.some((a) => a === '--help' || a === '-h')) return { ...out, command: 'help' };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const value = () => {
      const f = rest[++i];
      if (f === undefined) throw new UsageError(`${a} needs a value`);
      return f;
    };
    if (a === '-c' || a === '--config') out.files.push(value());
    else if (a.startsWith('--config=')) out.files.push(a.slice('--config='.length));
    else if (first === 'status' && (a === '--json' || a === '--prometheus')) out.format = a === '--json' ? 'json' : 'prometheus';
    else if (first === 'status' && a === '--admin') out.admin = value();
    else throw new UsageError(`unexpected argument "${a}"`);
  }
  return out;
}

async function status(rt: Runtime, args: Args): Promise<void> {
  let addr: HostPort;
  if (args.admin !== null) {
    const parts = splitHostPort(args.admin);
    if (!parts || !isIPLiteral(parts.host) || !(Number(parts.port) >= 1 && Number(parts.port) <= 65535)) throw new UsageError(`--admin "${args.admin}": expected an IP address and port, like 127.0.0.1:15000`);
    addr = { host: parts.host, port: Number(parts.port) };
  } else {
    const config = await readConfig(rt, args.files);
    if (!config.admin) throw new Error(`the admin endpoint is off in ${args.files.join(', ') || 'the embedded default'} (setting admin.listen; UCI option admin): nothing to ask`);
    addr = config.admin.listen;
  }
  if (args.format === 'prometheus') return rt.stdout(await fetchAdmin(rt, addr, '/metrics'));
  const body = await fetchAdmin(rt, addr, '/stats');
  rt.stdout(args.format === 'json' ? body : formatStatus(JSON.parse(body) as StatsJson));
}

function printManifestIssues(rt: Runtime, config: Config, prefix: string): number {
  const issues = config.gatewayApi?.issues ?? [];
  for (const i of issues) rt.stderr(`ugate: ${prefix}${formatManifestIssue(i)}\n`);
  return issues.length;
}

/** At most one "ignored" line per signal per this many ms: a signal sent in a loop must not flood the log. */
const IGNORED_SIGNAL_LOG_MS = 10_000;

/**
 * The service's stderr lines begin with the time (ISO 8601, UTC), like the access log's `time`.
 * UGATE_LOG_TIMESTAMPS=0 leaves them out where the log stamps lines itself (procd and logd on
 * OpenWrt: the init script sets it).
 */
function stampedStderr(rt: Runtime): Runtime {
  if (rt.env('UGATE_LOG_TIMESTAMPS') === '0') return rt;
  return { ...rt, stderr: (text) => rt.stderr(text.replace(/^(?=.)/gm, () => `${new Date().toISOString()} `)) };
}

async function run(rt: Runtime, files: string[]): Promise<void> {
  // Signals are taken before anything else, so that none ends ugate silently even while it starts.
  let service: Service | null = null;
  let started = false;
  let stopping = false;
  const log = (line: string) => rt.stderr(`ugate: ${line}\n`);
  const counts = (s: Service) => {
    const t = s.stats;
    return `accepted=${s.metrics.connections.total} refused=${s.refused} forwarded=${t.forwarded} rejected=${t.rejected} connect_failed=${t.connectFailed} handshake_failed=${t.handshakeFailed} no_original_dst=${t.noOriginalDestination}`;
  };
  const stop = (signal: string) => {
    if (!started || !service) {
      log(`${signal} during start-up: exiting`);
      return rt.exit(0);
    }
    if (stopping) {
      log(`${signal} again, exiting now`);
      return rt.exit(0);
    }
    stopping = true;
    const s = service;
    log(`${signal}: no longer accepting; draining ${s.metrics.connections.open} connection(s), grace ${s.graceMs} ms`);
    void s.stop(s.graceMs).then(() => {
      log(`stopped ${counts(s)}`);
      rt.exit(0);
    });
  };
  const status = (signal: string) => {
    if (!service || !started) return log(`${signal}: status: starting`);
    log(`${signal}: status active=${service.metrics.connections.open} ${counts(service)}`);
  };
  const reload = (signal: string) => {
    if (!service || !started) return log(`${signal} during start-up: ignored (the configuration being started is the one just read)`);
    if (!stopping) void service.reload(signal);
  };
  const lastIgnored = new Map<string, number>();
  const ignore = (signal: string) => {
    const now = rt.now();
    if (now - (lastIgnored.get(signal) ?? -Infinity) < IGNORED_SIGNAL_LOG_MS) return;
    lastIgnored.set(signal, now);
    log(`${signal} ignored (further ones within ${IGNORED_SIGNAL_LOG_MS / 1000} s are not logged)`);
  };
  // Every signal that would end the process by default is handled, so none ends it silently.
  for (const signal of SIGNALS) {
    const handler =
      signal === 'SIGTERM' || signal === 'SIGINT' || signal === 'SIGQUIT'
        ? stop
        : signal === 'SIGHUP'
          ? reload
          : signal === 'SIGUSR1' || signal === 'SIGUSR2'
            ? status
            : ignore;
    rt.onSignal(signal, () => handler(signal));
  }
  const config = await readConfig(rt, files);
  printManifestIssues(rt, config, 'rejected: ');
  const reread = async () => {
    const next = await readConfig(rt, files);
    printManifestIssues(rt, next, 'rejected: ');
    return next;
  };
  service = new Service(rt, config, reread, log);
  await service.start();
  started = true;
  log(`${VERSION} running on ${rt.name} ${rt.version}`);
}

export async function main(plain: Runtime): Promise<void> {
  // the service's lines carry their time, its fatal start-up error included
  const rt = plain.args[0] === 'run' ? stampedStderr(plain) : plain;
  try {
    const args = parseArgs(rt.args);
    const { command, files } = args;
    switch (command) {
      case 'run':
        return await run(rt, files);
      case 'status':
        return await status(rt, args);
      case 'check': {
        if (files.length === 0) throw new UsageError('check needs at least one -c FILE');
        const config = await readConfig(rt, files);
        rt.stdout(`${JSON.stringify(describeConfig(config), null, 2)}\n`);
        const issues = printManifestIssues(rt, config, '');
        if (issues > 0) {
          rt.stderr(`ugate: ${issues} manifest issue(s); the rest of the configuration is OK (${files.join(', ')})\n`);
          return rt.exit(1);
        }
        rt.stderr(`ugate: configuration OK (${files.join(', ')})\n`);
        return;
      }
      case 'capture': {
        if (files.length === 0) throw new UsageError('capture needs at least one -c FILE');
        const config = await readConfig(rt, files);
        if (!config.capture.enabled) throw new Error(`capture is off in ${files.join(', ')} (capture.enabled; UCI: option capture '1'): no rule to install`);
        try {
          rt.stdout(await new Service(rt, config, async () => config, () => {}).renderCapture());
        } catch (e) {
          if (e instanceof CaptureError) throw new Error(e.message);
          throw e;
        }
        return;
      }
      case 'version':
      case '--version':
        rt.stdout(`ugate ${VERSION} (${rt.name} ${rt.version})\n`);
        return;
      case 'help':
      case '--help':
      case '-h':
        rt.stdout(HELP);
        return;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      plain.stderr(`ugate: ${e.message}\n\n${HELP}`); // a usage text, not a log line
      rt.exit(2);
    }
    if (e instanceof ConfigError) for (const i of e.manifestIssues) rt.stderr(`ugate: ${formatManifestIssue(i)}\n`);
    rt.stderr(`ugate: ${e instanceof Error ? e.message : String(e)}\n`);
    rt.exit(1);
  }
}
