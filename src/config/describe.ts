// The effective configuration printed by `ugate check`, in the JSON configuration's own shape,
// with every default filled in.

import { formatHostPort } from '../route/cidr.ts';
import type { Action, Config } from './model.ts';

function action(a: Action): unknown {
  return a.type === 'forward' ? { forward: formatHostPort(a.backend.host, a.backend.port) } : a.type;
}

export function describeConfig(c: Config): unknown {
  return {
    listeners: c.listeners.map((l) => ({
      name: l.name,
      type: l.type,
      listen: l.listen.map((a) => formatHostPort(a.host, a.port)),
      default: action(l.default),
      ...(l.users.length > 0 ? { users: l.users.map((u) => ({ username: u.username, password: '***' })) } : {}),
    })),
    routes: c.routes.map((r) => ({
      name: r.name,
      match: {
        ...(r.match.listeners ? { listeners: r.match.listeners } : {}),
        ...(r.match.protocols ? { protocols: r.match.protocols } : {}),
        ...(r.match.hosts ? { hosts: r.match.hosts.map((h) => h.source) } : {}),
        ...(r.match.dstPorts ? { dstPorts: r.match.dstPorts.map((p) => (p.from === p.to ? p.from : `${p.from}-${p.to}`)) } : {}),
        ...(r.match.dstCidrs ? { dstCidrs: r.match.dstCidrs.map((x) => x.source) } : {}),
        ...(r.match.srcCidrs ? { srcCidrs: r.match.srcCidrs.map((x) => x.source) } : {}),
      },
      action: action(r.action),
    })),
    timeouts: { sniff: c.timeouts.sniffMs, connect: c.timeouts.connectMs, idle: c.timeouts.idleMs, grace: c.timeouts.graceMs },
    sniff: { maxBytes: c.sniffMaxBytes },
    accessLog: c.accessLog,
    dataPlane: c.dataPlane,
    splice: { ...(c.splice.library ? { library: c.splice.library } : {}), pipeSize: c.splice.pipeSize, pipePool: c.splice.pipePool },
  };
}
