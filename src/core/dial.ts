// Connecting upstream: IP literals directly, DNS names through the runtime resolver, trying each
// address in turn within one overall connect timeout.

import { effectiveHost, isIPLiteral } from '../route/cidr.ts';
import { ConnectError, type Conn, type Runtime } from '../runtime/types.ts';

export interface DialOptions {
  timeoutMs: number;
  /**
   * ugate's own listening addresses: dialing one would make ugate its own client, each hop
   * replaying the same request, until file descriptors run out.
   */
  isSelf(ip: string, port: number): boolean;
  /** addresses of `host` already resolved (and routed) by the caller */
  resolved?: string[];
  /**
   * Why this client may not reach `ip` (a destination on the gateway host), or null. A connection
   * that turns out to end on this host anyway (its local and remote address are the same: an
   * address added since the check) is reset and refused too.
   */
  forbidden?: (ip: string) => Promise<string | null>;
  /** aborts the attempt (the client left) */
  signal?: AbortSignal;
}

export async function dial(rt: Runtime, host: string, port: number, o: DialOptions): Promise<Conn> {
  const deadline = rt.now() + o.timeoutMs;
  const named = o.resolved ?? (isIPLiteral(host) ? [host] : await rt.lookup(host));
  if (o.signal?.aborted) throw new ConnectError('aborted', `${host}:${port}: connect aborted`);
  // Connect to the address the kernel would use anyway (0.0.0.0 → 127.0.0.1, mapped → IPv4), so
  // that every check below sees it.
  const addresses = named.map(effectiveHost);
  if (addresses.length === 0) throw new ConnectError('dns', `${host}:${port}: no addresses`);
  let last: unknown;
  for (let i = 0; i < addresses.length; i++) {
    const ip = addresses[i]!;
    if (o.isSelf(ip, port)) {
      last = new ConnectError('loop', `${host}:${port} is ugate itself (forwarding loop)`);
      continue;
    }
    const why = await o.forbidden?.(ip);
    if (why) {
      last = new ConnectError('forbidden', `${host}:${port}: ${ip} is ${why}, on the gateway host itself (a route with allowGatewayHost allows it)`);
      continue;
    }
    const left = deadline - rt.now();
    if (left <= 0) break;
    let conn: Conn;
    try {
      // Each remaining address gets a fair share, so a black-holed first address (say, broken
      // IPv6) cannot use up the whole timeout before the next one is tried.
      conn = await rt.connect(ip, port, left / (addresses.length - i), o.signal);
    } catch (e) {
      if (e instanceof ConnectError && e.kind === 'aborted') throw e;
      last = e;
      continue;
    }
    if (o.forbidden && conn.local.host === conn.remote.host) {
      conn.abort();
      last = new ConnectError('forbidden', `${host}:${port}: ${ip} is an address of the gateway host itself (a route with allowGatewayHost allows it)`);
      continue;
    }
    return conn;
  }
  if (last instanceof ConnectError) throw last;
  throw last === undefined ? new ConnectError('timeout', `${host}:${port}: connect timed out`) : new ConnectError('other', `${host}:${port}: ${String(last)}`);
}
