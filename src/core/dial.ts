// Connecting upstream: IP literals directly, DNS names through the runtime resolver, trying each
// address in turn within one overall connect timeout.

import { isIPLiteral } from '../route/cidr.ts';
import { ConnectError, type Conn, type Runtime } from '../runtime/types.ts';

/**
 * `isSelf(ip, port)` names ugate's own listening addresses: dialing one would make ugate its own
 * client, each hop replaying the same request, until file descriptors run out.
 */
export async function dial(
  rt: Runtime,
  host: string,
  port: number,
  timeoutMs: number,
  isSelf: (ip: string, port: number) => boolean,
  /** addresses of `host` already resolved (and routed) by the caller */
  resolved?: string[],
): Promise<Conn> {
  const deadline = rt.now() + timeoutMs;
  const addresses = resolved ?? (isIPLiteral(host) ? [host] : await rt.lookup(host));
  if (addresses.length === 0) throw new ConnectError('dns', `${host}: no addresses`);
  let last: unknown;
  for (let i = 0; i < addresses.length; i++) {
    const ip = addresses[i]!;
    if (isSelf(ip, port)) {
      last = new ConnectError('loop', `${host}:${port} is ugate itself (forwarding loop)`);
      continue;
    }
    const left = deadline - rt.now();
    if (left <= 0) break;
    try {
      // Each remaining address gets a fair share, so a black-holed first address (say, broken
      // IPv6) cannot use up the whole timeout before the next one is tried.
      return await rt.connect(ip, port, left / (addresses.length - i));
    } catch (e) {
      last = e;
    }
  }
  if (last instanceof ConnectError) throw last;
  throw last === undefined ? new ConnectError('timeout', `${host}:${port}: connect timed out`) : new ConnectError('other', `${host}:${port}: ${String(last)}`);
}
