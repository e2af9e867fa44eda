// A network namespace of the test's own, with only `lo` in it, made by unshare(1) with a user
// namespace, so that it works with and without root. Inside it every address and port is free:
// a test can check a fixed, well-known address (ugate's embedded 127.0.0.1:1080) while the host
// uses it for something else. Commands enter it through nsenter(1) with `prefix`.

import { spawn, spawnSync } from 'node:child_process';
import { hasCommand } from './servers.ts';

export interface PrivateNetns {
  /** prepend to a command line to run it inside the namespace */
  prefix: string[];
  close(): void;
}

const UNSHARE = ['unshare', '--user', '--map-root-user', '--net'];

/** Why no private namespace can be made here, or null when it can. */
export function privateNetnsUnavailable(): string | null {
  const missing = ['unshare', 'nsenter', 'ip'].filter((c) => !hasCommand(c));
  if (missing.length > 0) return `needs ${missing.join(', ')}`;
  const probe = spawnSync(UNSHARE[0]!, [...UNSHARE.slice(1), 'ip', 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
  return probe.status === 0 ? null : `cannot make a network namespace (unshare: ${probe.stderr.trim() || probe.error?.message})`;
}

/**
 * Makes the namespace; it lives while a holder process waits on its stdin, so it goes away with
 * close() or when the test process dies.
 */
export async function privateNetns(): Promise<PrivateNetns> {
  const holder = spawn(UNSHARE[0]!, [...UNSHARE.slice(1), 'sh', '-c', 'ip link set lo up && echo ready && exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  holder.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((ready, fail) => {
    holder.stdout!.once('data', () => ready());
    holder.once('exit', (code) => fail(new Error(`unshare exited ${code}: ${err}`)));
  });
  return {
    prefix: ['nsenter', `--target=${holder.pid}`, '--user', '--net', '--preserve-credentials', '--'],
    close: () => holder.stdin!.end(),
  };
}
