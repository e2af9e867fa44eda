// Command line: run, check, version, help. Exit codes: 0 ok, 1 config or start-up error, 2 usage.

import { ConfigError, loadConfig } from './config/load.ts';
import { describeConfig } from './config/describe.ts';
import type { Config } from './config/model.ts';
import { readConfigFiles } from './config/read.ts';
import { Gateway } from './core/gateway.ts';
import { formatManifestIssue } from './gateway-api/validate.ts';
import { SIGNALS, type Runtime } from './runtime/types.ts';
import { VERSION } from './version.ts';

const HELP = `ugate ${VERSION} — a small, fast, transparent gateway

Usage:
  ugate run [-c FILE]...    run the gateway; with no -c, the embedded default
                            (a SOCKS5/HTTP proxy on 127.0.0.1:1080 that forwards where asked)
  ugate check -c FILE...    validate the configuration and print the effective result
  ugate version             print the version
  ugate --help              this text

FILE is JSON (starts with "{"), UCI (/etc/config/ugate), or YAML with Gateway API manifests
(Gateway, HTTPRoute, TLSRoute; *.yaml, *.yml); a directory stands for its *.yaml, *.yml and
*.json files in name order. Several files merge in order: listeners and routes add up, later
settings win. A manifest with a problem is reported and left out; the rest runs.

Signals (ugate run):
  SIGTERM, SIGINT, SIGQUIT  stop accepting, let connections finish within timeouts.grace, exit;
                            a second one exits at once
  SIGHUP                    re-read and check the configuration; the running one keeps serving
                            (a new one takes effect at the next start)
  SIGUSR1, SIGUSR2          log a status line (connections open, accepted, refused, ...)
  others that would end the process (SIGPIPE, SIGALRM, ...) are logged and ignored
`;

class UsageError extends Error {}

function parseArgs(args: string[]): { command: string; files: string[] } {
  const [command = 'help', ...rest] = args;
  const files: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '-c' || a === '--config') {
      const f = rest[++i];
      if (f === undefined) throw new UsageError(`${a} needs a file name`);
      files.push(f);
    } else if (a.startsWith('--config=')) files.push(a.slice('--config='.length));
    else throw new UsageError(`unexpected argument "${a}"`);
  }
  return { command, files };
}

async function readConfig(rt: Runtime, args: string[]): Promise<Config> {
  return loadConfig(await readConfigFiles(rt, args));
}

function printManifestIssues(rt: Runtime, config: Config, prefix: string): number {
  const issues = config.gatewayApi?.issues ?? [];
  for (const i of issues) rt.stderr(`ugate: ${prefix}${formatManifestIssue(i)}\n`);
  return issues.length;
}

/** At most one "ignored" line per signal per this many ms: a signal sent in a loop must not flood the log. */
const IGNORED_SIGNAL_LOG_MS = 10_000;

async function run(rt: Runtime, files: string[]): Promise<void> {
  // Signals are taken before anything else, so that none ends ugate silently even while it starts.
  let gw: Gateway | null = null;
  let graceMs = 0;
  let started = false;
  let stopping = false;
  const stop = (signal: string) => {
    if (!started || !gw) {
      rt.stderr(`ugate: ${signal} during start-up: exiting\n`);
      return rt.exit(0);
    }
    if (stopping) {
      rt.stderr(`ugate: ${signal} again, exiting now\n`);
      return rt.exit(0);
    }
    stopping = true;
    const g = gw;
    rt.stderr(`ugate: ${signal}: no longer accepting; draining ${g.stats.active} connection(s), grace ${graceMs} ms\n`);
    void g.stop(graceMs).then(() => {
      const s = g.stats;
      rt.stderr(
        `ugate: stopped accepted=${s.accepted} refused=${g.refused} forwarded=${s.forwarded} rejected=${s.rejected} connect_failed=${s.connectFailed} handshake_failed=${s.handshakeFailed} no_original_dst=${s.noOriginalDestination}\n`,
      );
      rt.exit(0);
    });
  };
  const status = (signal: string) => {
    if (!gw) return rt.stderr(`ugate: ${signal}: status: starting\n`);
    const s = gw.stats;
    rt.stderr(
      `ugate: ${signal}: status active=${s.active} accepted=${s.accepted} refused=${gw.refused} forwarded=${s.forwarded} rejected=${s.rejected} connect_failed=${s.connectFailed} handshake_failed=${s.handshakeFailed} no_original_dst=${s.noOriginalDestination}\n`,
    );
  };
  // procd's reload. Until ugate can apply a configuration while running, it re-reads and checks
  // it, says whether the next start would accept it, and keeps serving the running one either way.
  const reload = (signal: string) => {
    const from = files.length > 0 ? files.join(', ') : 'the embedded default';
    readConfig(rt, files).then(
      () => rt.stderr(`ugate: ${signal}: configuration re-read from ${from}: valid; it takes effect at the next restart (this version does not apply a configuration while running); still serving the running one\n`),
      (e: unknown) => rt.stderr(`ugate: ${signal}: configuration re-read from ${from}: refused, the running one keeps serving: ${e instanceof Error ? e.message : String(e)}\n`),
    );
  };
  const lastIgnored = new Map<string, number>();
  const ignore = (signal: string) => {
    const now = rt.now();
    if (now - (lastIgnored.get(signal) ?? -Infinity) < IGNORED_SIGNAL_LOG_MS) return;
    lastIgnored.set(signal, now);
    rt.stderr(`ugate: ${signal} ignored (further ones within ${IGNORED_SIGNAL_LOG_MS / 1000} s are not logged)\n`);
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
  graceMs = config.timeouts.graceMs;
  gw = new Gateway(rt, config);
  await gw.start();
  started = true;
  rt.stderr(`ugate: ${VERSION} running on ${rt.name} ${rt.version}\n`);
}

export async function main(rt: Runtime): Promise<void> {
  try {
    const { command, files } = parseArgs(rt.args);
    switch (command) {
      case 'run':
        return await run(rt, files);
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
      rt.stderr(`ugate: ${e.message}\n\n${HELP}`);
      rt.exit(2);
    }
    if (e instanceof ConfigError) for (const i of e.manifestIssues) rt.stderr(`ugate: ${formatManifestIssue(i)}\n`);
    rt.stderr(`ugate: ${e instanceof Error ? e.message : String(e)}\n`);
    rt.exit(1);
  }
}
