// Connecting upstream: IP literals directly, DNS names through the runtime resolver, trying each
// address in turn within one overall connect timeout.

import { isIPLiteral } from '../route/cidr.ts';
import { ConnectError, type Conn, type Runtime } from '../runtime/types.ts';

export async function dial(rt: Runtime, host: string, port: number, timeoutMs: number): Promise<Conn> {
  const deadline = rt.now() + timeoutMs;
  const addresses = isIPLiteral(host) ? [host] : await rt.lookup(host);
  if (addresses.length === 0) throw new ConnectError('dns', `${host}: no addresses`);
  let last: unknown;
  for (const ip of addresses) {
    const left = deadline - rt.now();
    if (left <= 0) break;
    try {
      return await rt.connect(ip, port, left);
    } catch (e) {
      last = e;
    }
  }
  throw last instanceof ConnectError ? last : new ConnectError('timeout', `${host}:${port}: connect timed out`);
}
