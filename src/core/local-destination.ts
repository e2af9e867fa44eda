// Destinations on the gateway host itself: a LAN client must not use ugate to reach services
// that listen only on the router (loopback, its own addresses, link-local neighbours and the
// unspecified address, which Linux connects to loopback). Clients on the host itself may; so may
// a route that says allowGatewayHost. Runtime-free: the runtime only lists interface addresses.

import { effectiveAddress, formatIP, parseIP } from '../route/cidr.ts';

/** How long the list of this host's addresses is reused (DHCP and PPPoE change it at run time). */
const ADDRESSES_TTL_MS = 2000;

export class GatewayHost {
  private own = new Set<string>();
  private loadedAt = -Infinity;

  constructor(
    private readonly listAddresses: () => string[],
    private readonly now: () => number,
  ) {}

  private ownAddresses(): Set<string> {
    const now = this.now();
    if (now - this.loadedAt > ADDRESSES_TTL_MS) {
      this.loadedAt = now;
      const own = new Set<string>();
      for (const a of this.listAddresses()) {
        const ip = parseIP(a);
        if (ip) own.add(formatIP(effectiveAddress(ip)));
      }
      this.own = own;
    }
    return this.own;
  }

  /** Why the IP literal `host` is on this host ("loopback", …), or null when it is elsewhere. */
  classify(host: string): string | null {
    const raw = parseIP(host);
    if (!raw) return null;
    const unspecified = raw.every((b, i) => b === 0 || (raw.length === 16 && i >= 10 && i < 12 && b === 0xff));
    const ip = effectiveAddress(raw);
    if (unspecified) return 'the unspecified address (this host)';
    if (ip.length === 4) {
      if (ip[0] === 127) return 'loopback';
      if (ip[0] === 0) return 'the "this network" block 0.0.0.0/8';
      if (ip[0] === 169 && ip[1] === 254) return 'link-local';
    } else {
      if (ip.every((b, i) => b === (i === 15 ? 1 : 0))) return 'loopback';
      if (ip[0] === 0xfe && (ip[1]! & 0xc0) === 0x80) return 'link-local';
    }
    return this.ownAddresses().has(formatIP(ip)) ? 'an address of this host' : null;
  }

  /** A client on the gateway host itself (loopback or one of its addresses). */
  isLocalClient(host: string): boolean {
    const c = this.classify(host);
    return c === 'loopback' || c === 'an address of this host';
  }
}
