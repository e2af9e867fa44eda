// Firewall rules for transparent capture, rendered as text: an nft script (fw4 and any nftables
// host) and iptables-restore input (fw3 and older hosts), plus the shell commands that remove them.
// Pure functions: what to capture in, text out. Everything ugate adds lives in objects named after
// its process (`ugate_<pid>`), so one process removes exactly its own rules and never another's.

import { formatIP, type Cidr } from '../route/cidr.ts';

export type Family = 'any' | 'ipv4' | 'ipv6';

export interface CapturePlan {
  /** table (nft) or chain-name prefix (iptables) of this process: ugate_<pid> */
  name: string;
  /** devices whose traffic is captured, and from which ugate's ports may be reached */
  devices: string[];
  /** false: only the guard on ugate's own ports is installed */
  capture: boolean;
  /** TCP destination ports redirected to `redirectPort` */
  ports: number[];
  redirectPort: number;
  family: Family;
  excludeSources: Cidr[];
  excludeMacs: string[];
  excludeDestinations: Cidr[];
  /** block: UDP 443 (QUIC) is rejected when 443 is captured, so browsers fall back to TCP */
  quic: 'block' | 'pass';
  /** ugate's listening ports: reachable only from `devices` and the router itself */
  guardPorts: number[];
}

/** Objects of one process are named `ugate_<pid>`; this finds the pid in such a name. */
export const OWN_NAME = /^ugate_(\d+)$/;

const v4 = (c: Cidr) => c.bytes.length === 4;
const cidrText = (c: Cidr) => `${formatIP(c.bytes)}/${c.bits}`;
/** QUIC (HTTP/3) runs on UDP 443; the QUIC policy applies when 443 is a captured port. */
const QUIC_PORT = 443;

const nftSet = (items: string[]) => `{ ${items.join(', ')} }`;
const quote = (s: string) => `"${s}"`;

/** The nft lines that make a packet from an excluded source, or to an excluded destination, return. */
function nftExclusions(p: CapturePlan): string[] {
  const out: string[] = [];
  if (p.excludeMacs.length > 0) out.push(`ether saddr ${nftSet(p.excludeMacs)} return`);
  const src4 = p.excludeSources.filter(v4).map(cidrText);
  const src6 = p.excludeSources.filter((c) => !v4(c)).map(cidrText);
  const dst4 = p.excludeDestinations.filter(v4).map(cidrText);
  const dst6 = p.excludeDestinations.filter((c) => !v4(c)).map(cidrText);
  if (src4.length > 0) out.push(`ip saddr ${nftSet(src4)} return`);
  if (src6.length > 0) out.push(`ip6 saddr ${nftSet(src6)} return`);
  if (dst4.length > 0) out.push(`ip daddr ${nftSet(dst4)} return`);
  if (dst6.length > 0) out.push(`ip6 daddr ${nftSet(dst6)} return`);
  return out;
}

const nftFamily = (f: Family) => (f === 'ipv4' ? 'meta nfproto ipv4 ' : f === 'ipv6' ? 'meta nfproto ipv6 ' : '');

/**
 * One nft transaction that creates or replaces this process's table: `table` then `delete table`
 * makes the delete succeed whether or not it existed, and the whole script applies atomically.
 * Priorities sit just before fw4's own chains, so its zones, port forwards and rules still apply.
 */
export function renderNft(p: CapturePlan): string {
  const devices = nftSet(p.devices.map(quote));
  const lines = [`table inet ${p.name}`, `delete table inet ${p.name}`, `table inet ${p.name} {`];
  const chain = (name: string, hook: string, body: string[]) => {
    lines.push(`\tchain ${name} {`, `\t\t${hook}; policy accept;`, ...body.map((l) => `\t\t${l}`), '\t}');
  };
  if (p.capture) {
    const ports = nftSet(p.ports.map(String));
    chain('capture', 'type nat hook prerouting priority dstnat - 5', [
      `iifname != ${devices} return`,
      // the router's own addresses (LuCI, DNS, SSH, ugate's own ports) are never captured
      'fib daddr type local return',
      ...nftExclusions(p),
      `${nftFamily(p.family)}tcp dport ${ports} redirect to :${p.redirectPort}`,
    ]);
    if (p.quic === 'block' && p.ports.includes(QUIC_PORT)) {
      chain('quic', 'type filter hook forward priority filter - 5', [
        `iifname != ${devices} return`,
        ...nftExclusions(p),
        `${nftFamily(p.family)}udp dport ${QUIC_PORT} reject`,
      ]);
    }
  }
  if (p.guardPorts.length > 0) {
    chain('guard', 'type filter hook input priority filter - 5', [
      'iifname "lo" return',
      `iifname ${devices} return`,
      `tcp dport ${nftSet(p.guardPorts.map(String))} drop`,
    ]);
  }
  lines.push('}', '');
  return lines.join('\n');
}

/** Shell commands that remove this process's nft table; quiet and successful when it is gone already. */
export function removeNftCommand(name: string): string {
  return `nft delete table inet ${name} 2>/dev/null; true`;
}

/** iptables-restore --noflush input for one IP family ('4' or '6'); null when that family is not captured or guarded. */
export function renderIptables(p: CapturePlan, ipv: 4 | 6): string | null {
  const captured = p.capture && (p.family === 'any' || p.family === (ipv === 4 ? 'ipv4' : 'ipv6'));
  if (!captured && p.guardPorts.length === 0) return null;
  const mine = (c: Cidr) => (ipv === 4 ? v4(c) : !v4(c));
  const exclusions = [
    ...p.excludeMacs.map((m) => `-m mac --mac-source ${m} -j RETURN`),
    ...p.excludeSources.filter(mine).map((c) => `-s ${cidrText(c)} -j RETURN`),
    ...p.excludeDestinations.filter(mine).map((c) => `-d ${cidrText(c)} -j RETURN`),
  ];
  const ports = p.ports.join(',');
  const out: string[] = [];
  if (captured) {
    const c = `${p.name}_capture`;
    out.push('*nat', `:${c} - [0:0]`, `-A ${c} -m addrtype --dst-type LOCAL -j RETURN`);
    for (const e of exclusions) out.push(`-A ${c} ${e}`);
    out.push(`-A ${c} -p tcp -m multiport --dports ${ports} -j REDIRECT --to-ports ${p.redirectPort}`);
    for (const d of p.devices) out.push(`-I PREROUTING -i ${d} -j ${c}`);
    out.push('COMMIT');
  }
  out.push('*filter');
  if (captured && p.quic === 'block' && p.ports.includes(QUIC_PORT)) {
    const q = `${p.name}_quic`;
    out.push(`:${q} - [0:0]`);
    for (const e of exclusions) out.push(`-A ${q} ${e}`);
    out.push(`-A ${q} -p udp --dport ${QUIC_PORT} -j REJECT`);
    for (const d of p.devices) out.push(`-I FORWARD -i ${d} -j ${q}`);
  }
  if (p.guardPorts.length > 0) {
    const g = `${p.name}_guard`;
    out.push(`:${g} - [0:0]`, `-A ${g} -i lo -j RETURN`);
    for (const d of p.devices) out.push(`-A ${g} -i ${d} -j RETURN`);
    out.push(`-A ${g} -p tcp -m multiport --dports ${p.guardPorts.join(',')} -j DROP`, `-I INPUT -j ${g}`);
  }
  out.push('COMMIT', '');
  return out.join('\n');
}

/**
 * Shell commands (waiting for the xtables lock, which fw3 may hold) that remove every chain named `<name>_*` and the rules that jump to them, in both
 * IP families; quiet and successful when they are gone already.
 */
export function removeIptablesCommand(name: string): string {
  // iptables-save lists the jumps as "-A CHAIN ... -j name_x"; each becomes a "-D" of the same rule.
  const one = (ipt: string, table: string) =>
    `${ipt}-save -t ${table} 2>/dev/null | sed -n 's/^-A \\([A-Z]*\\) \\(.*-j ${name}_[a-z]*\\)$/-D \\1 \\2/p' | ` +
    `while read -r rule; do eval "${ipt} -w -t ${table} $rule"; done; ` +
    `for c in $(${ipt}-save -t ${table} 2>/dev/null | sed -n 's/^:\\(${name}_[a-z]*\\) .*/\\1/p'); do ${ipt} -w -t ${table} -F $c; ${ipt} -w -t ${table} -X $c; done`;
  return [one('iptables', 'nat'), one('iptables', 'filter'), one('ip6tables', 'nat'), one('ip6tables', 'filter'), 'true'].join('; ');
}
