// Runs the built bundle (dist/ugate.js) as a separate process on the runtime chosen by
// UGATE_RUNTIME (node, default; or tjs, with `tjs` on PATH or UGATE_TJS=path), optionally inside
// a network namespace, and collects what it prints.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const RUNTIME = process.env.UGATE_RUNTIME === 'tjs' ? 'tjs' : 'node';
export const BUNDLE = resolve('dist/ugate.js');

/** The command line that runs ugate (`bundle`, by default the built one) with `args` on the selected runtime. */
export function ugateCommand(args: string[], bundle = BUNDLE): [string, string[]] {
  if (RUNTIME === 'tjs') return [process.env.UGATE_TJS ?? 'tjs', ['run', bundle, ...args]];
  return [process.execPath, [bundle, ...args]];
}

export interface Address {
  host: string;
  port: number;
}

export interface RunningGateway {
  proc: ChildProcess;
  /** bound addresses per listener name, in config order */
  listeners: Map<string, Address[]>;
  /** the first bound address of a listener */
  addr(listener: string): Address;
  stdout(): string;
  stderr(): string;
  /** access-log lines parsed into key/value records */
  accessLog(): Record<string, string>[];
  /** waits until `n` access-log lines have been written */
  waitForAccessLog(n: number, timeoutMs?: number): Promise<Record<string, string>[]>;
  /** sends a signal and waits for the exit code */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export function parseLogfmt(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g;
  for (const m of line.matchAll(re)) out[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
  return out;
}

/** Gateways still running when this test process ends (a timed-out file skips its teardowns). */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

let configCounter = 0;
export function writeTempConfig(config: object | string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ugate-test-'));
  const file = join(dir, `config-${configCounter++}${typeof config === 'string' ? '' : '.json'}`);
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return file;
}

/** Polls `check` until it returns a value. */
export function waitFor<T>(check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  return until(check, timeoutMs, () => 'a condition');
}

async function until<T>(check: () => T | undefined, timeoutMs: number, what: () => string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts `ugate run -c <config>` (or with `args` as given) and resolves once it reports
 * "running" (all listeners bound). Rejects with its stderr if it exits first.
 */
export async function startGateway(
  config: object | string | null,
  /** within: a command prefix that runs ugate elsewhere, e.g. `ip netns exec NS`; bundle: another copy of dist/ugate.js */
  opts: { within?: string[]; args?: string[]; bundle?: string } = {},
): Promise<RunningGateway> {
  const args = opts.args ?? (config === null ? ['run'] : ['run', '-c', writeTempConfig(config)]);
  let [cmd, argv] = ugateCommand(args, opts.bundle);
  // As procd does on the router (and Node does for itself): the soft descriptor limit up to the
  // hard one, so that tests with a thousand connections measure ugate, not a 1024 default.
  [cmd, argv] = ['sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'sh', cmd, ...argv]];
  if (opts.within) [cmd, argv] = [opts.within[0]!, [...opts.within.slice(1), cmd, ...argv]];
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  proc.on('exit', () => running.delete(proc));
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));

  await until(
    () => {
      if (exitCode !== undefined) throw new Error(`ugate exited with ${exitCode} before it was ready:\n${err}`);
      return err.includes(' running on ') ? true : undefined;
    },
    15_000,
    () => `ugate to start; stderr so far:\n${err}`,
  );
  const listeners = new Map<string, Address[]>();
  for (const m of err.matchAll(/listening listener=(\S+) type=\S+ addr=(\S+)/g)) {
    const a = /^\[?(.*?)\]?:(\d+)$/.exec(m[2]!)!;
    const list = listeners.get(m[1]!) ?? [];
    list.push({ host: a[1]!, port: Number(a[2]) });
    listeners.set(m[1]!, list);
  }
  const accessLog = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('access '))
      .map(parseLogfmt);
  return {
    proc,
    listeners,
    addr: (name) => {
      const a = listeners.get(name)?.[0];
      if (!a) throw new Error(`no listener ${name}; stderr:\n${err}`);
      return a;
    },
    stdout: () => out,
    stderr: () => err,
    accessLog,
    waitForAccessLog: (n, timeoutMs = 10_000) =>
      until(
        () => {
          const l = accessLog();
          return l.length >= n ? l : undefined;
        },
        timeoutMs,
        () => `${n} access-log lines; stdout:\n${out}\nstderr:\n${err}`,
      ),
    stop: async (signal = 'SIGTERM') => {
      if (exitCode === undefined) proc.kill(signal);
      return exited;
    },
    exited,
  };
}
