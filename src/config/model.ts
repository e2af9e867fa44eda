// The validated configuration that the core runs on. JSON and UCI files both map onto it.

import type { Cidr } from '../route/cidr.ts';
import type { GatewayApiConfig, ListenerRoutes } from '../gateway-api/model.ts';
import type { HostnamePattern } from '../route/hostname.ts';

/** http and tls listeners come from Gateway manifests (Gateway API listeners of that protocol). */
export type ListenerType = 'redirect' | 'mixed' | 'sni' | 'http' | 'tls';

/** Sniffed protocols (redirect/sni listeners) and request kinds (mixed listener). */
export const PROTOCOLS = ['tls', 'http', 'http2', 'ssh', 'opaque', 'socks5', 'connect'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export interface HostPort {
  /** IP literal or DNS name */
  host: string;
  port: number;
}

export type Action = { type: 'forward'; backend: HostPort } | { type: 'passthrough' } | { type: 'reject' };

export interface User {
  username: string;
  password: string;
}

export interface ListenerConfig {
  name: string;
  type: ListenerType;
  /** bind addresses: IP literals (port 0 = any free port) */
  listen: HostPort[];
  default: Action;
  /** mixed only: when non-empty, SOCKS5 and HTTP proxy clients must authenticate */
  users: User[];
  /** Gateway API routes attached to this listener (http, tls, and redirect listeners) */
  gatewayApi?: ListenerRoutes;
}

export interface PortRange {
  from: number;
  to: number;
}

export interface RouteMatch {
  listeners?: string[];
  protocols?: Protocol[];
  hosts?: HostnamePattern[];
  dstPorts?: PortRange[];
  dstCidrs?: Cidr[];
  srcCidrs?: Cidr[];
}

export interface RouteConfig {
  name: string;
  match: RouteMatch;
  action: Action;
  /** lets clients elsewhere reach destinations on the gateway host itself through this route */
  allowGatewayHost: boolean;
}

export interface Timeouts {
  sniffMs: number;
  connectMs: number;
  idleMs: number;
  graceMs: number;
  /** how long an HTTP connection may wait idle for its next request */
  keepAliveMs: number;
}

/** Caps on client connections; null = derived from the open-files limit at start (core/limits.ts). */
export interface Limits {
  /** open client connections in all */
  connections: number | null;
  /** open client connections from one source address */
  perSource: number | null;
  /** connections still in their handshake (sniffing, proxy negotiation) */
  handshakes: number | null;
  /** of those, from one source address */
  handshakesPerSource: number | null;
}

/** Who moves payload bytes after the routing decision (see docs/ARCHITECTURE.md). */
export type DataPlaneMode = 'auto' | 'splice' | 'js';

export interface SpliceConfig {
  /** path of libugate_splice.so; null = look next to the bundle, then /usr/lib/ugate */
  library: string | null;
  /** requested pipe capacity in bytes */
  pipeSize: number;
  /** idle pipes kept for reuse */
  pipePool: number;
}

/** Transparent capture by the router's firewall (src/capture): which traffic goes to which listener. */
export interface CaptureConfig {
  enabled: boolean;
  /** the redirect listener captured connections go to; null: the only redirect listener */
  listener: string | null;
  /** firewall zones (fw4/fw3) whose devices are captured */
  zones: string[];
  /** devices captured besides the zones' */
  devices: string[];
  /** TCP destination ports captured */
  ports: number[];
  family: 'any' | 'ipv4' | 'ipv6';
  excludeSources: Cidr[];
  /** lower case, colon separated */
  excludeMacs: string[];
  excludeDestinations: Cidr[];
  /** UDP to the captured ports (QUIC): block it, so browsers fall back to TCP, or let it pass */
  quic: 'block' | 'pass';
  /** auto: fw4's nftables, else fw3's iptables, else whichever tool the host has */
  firewall: 'auto' | 'nftables' | 'iptables';
}

export interface Config {
  listeners: ListenerConfig[];
  routes: RouteConfig[];
  timeouts: Timeouts;
  limits: Limits;
  sniffMaxBytes: number;
  accessLog: boolean;
  /** logfmt (`access key=value ...`) or json (one object per line) */
  accessLogFormat: 'logfmt' | 'json';
  /** auto: the splice shim when it loads, else the JS pump (logged once); splice: shim or exit; js: JS pump */
  dataPlane: DataPlaneMode;
  splice: SpliceConfig;
  capture: CaptureConfig;
  /** the local statistics endpoint (src/admin); null: off */
  admin: { listen: HostPort } | null;
  /** Gateway API manifest files (or directories of them) read after the configuration files */
  manifests: string[];
  /** Gateway API manifests loaded, with their findings; null when no manifest was given */
  gatewayApi: GatewayApiConfig | null;
}
