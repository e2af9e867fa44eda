// Destinations on the gateway host itself: a LAN client must not use ugate to reach services
// that listen only on the router (loopback, its own addresses, link-local neighbours and the
// unspecified address, which Linux connects to loopback). Clients on the host itself may; so may
// a route that says allowGatewayHost. Runtime-free: the runtime lists interface addresses and
// reads files.
//
// The host's own addresses come from the kernel's tables (/proc/net/fib_trie, /proc/net/if_inet6):
// an address is local while its interface is up even without a carrier (a WAN cable out), which
// interface listings (getifaddrs filtered to running interfaces) leave out.

import { effectiveAddress, formatIP, parseIP } from '../route/cidr.ts';

/** How long the list of this host's addresses is reused (DHCP and PPPoE change it at run time). */
const ADDRESSES_TTL_MS = 2000;

/** The local IPv4 addresses in /proc/net/fib_trie: each "|-- A.B.C.D" followed by "/32 host LOCAL". */
export function fibTrieLocalAddresses(text: string): string[] {
  const out = new Set<string>();
  let last: string | null = null;
  for (const line of text.split('\n')) {
    const a = /\|-- (\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (a) last = a[1]!;
    else if (last && /^\s*\/32 host LOCAL\s*$/.test(line)) out.add(last);
  }
  return [...out];
}

/** The IPv6 addresses in /proc/net/if_inet6 (32 hex digits, then index, prefix, scope, flags, name). */
export function ifInet6Addresses(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{32})\s/.exec(line);
    if (m) out.push(formatIP(Uint8Array.from({ length: 16 }, (_, i) => parseInt(m[1]!.slice(i * 2, i * 2 + 2), 16))));
  }
  return out;
}

export interface GatewayHostSources {
  /** the runtime's interface listing */
  listAddresses(): string[];
  readFile(path: string): Promise<Uint8Array>;
  now(): number;
}

export class GatewayHost {
  private own = new Set<string>();
  private loadedAt = -Infinity;
  private loading: Promise<void> | null = null;

  constructor(private readonly src: GatewayHostSources) {}

  private async ownAddresses(): Promise<Set<string>> {
    if (this.src.now() - this.loadedAt > ADDRESSES_TTL_MS) {
      this.loading ??= this.load().finally(() => (this.loading = null));
      await this.loading;
    }
    return this.own;
  }

  private async load(): Promise<void> {
    const text = (path: string) => this.src.readFile(path).then((b) => new TextDecoder().decode(b), () => '');
    const [fib, inet6] = await Promise.all([text('/proc/net/fib_trie'), text('/proc/net/if_inet6')]);
    const own = new Set<string>();
    for (const a of [...this.src.listAddresses(), ...fibTrieLocalAddresses(fib), ...ifInet6Addresses(inet6)]) {
      const ip = parseIP(a);
      if (ip) own.add(formatIP(effectiveAddress(ip)));
    }
    this.own = own;
    this.loadedAt = this.src.now();
  }

  /** Why the IP literal `host` is on this host ("loopback", …), or null when it is elsewhere. */
  async classify(host: string): Promise<string | null> {
    const raw = parseIP(host);
    if (!raw) return null;
    const ip = effectiveAddress(raw);
    // effectiveAddress maps the unspecified address (also IPv4-mapped) to loopback
    if (!raw.some((b, i) => b !== 0 && !(raw.length === 16 && (i === 10 || i === 11) && b === 0xff))) return 'the unspecified address (this host)';
    if (ip.length === 4) {
      if (ip[0] === 127) return 'loopback';
      if (ip[0] === 0) return 'in 0.0.0.0/8 ("this network")';
      if (ip[0] === 169 && ip[1] === 254) return 'link-local';
    } else {
      if (ip.every((b, i) => b === (i === 15 ? 1 : 0))) return 'loopback';
      if (ip[0] === 0xfe && (ip[1]! & 0xc0) === 0x80) return 'link-local';
    }
    return (await this.ownAddresses()).has(formatIP(ip)) ? 'an address of this host' : null;
  }

  /**
   * For a client at `client`: why a destination may not be reached (it is on the gateway host),
   * or undefined when this client may reach anything (it is on the gateway host itself).
   */
  async forbiddenFor(client: string): Promise<((ip: string) => Promise<string | null>) | undefined> {
    const c = await this.classify(client);
    return c === 'loopback' || c === 'an address of this host' ? undefined : (ip) => this.classify(ip);
  }
}
