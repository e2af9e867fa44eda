// A server process for network-namespace tests (runs with plain `node`, inside `ip netns exec`):
//   node ns-echo-server.mjs NAME CERT_DIR ADDR:PORT[:tls] ...
// Every listener answers HTTP requests with JSON naming NAME and the listener; prints "ready".
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [name, certDir, ...specs] = process.argv.slice(2);
let pending = specs.length;
for (const spec of specs) {
  const m = /^\[?(.*?)\]?:(\d+)(:tls)?$/.exec(spec);
  const [host, port, tls] = [m[1], Number(m[2]), Boolean(m[3])];
  const handler = (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ server: name, listener: spec, url: req.url, host: req.headers.host ?? null, client: req.socket.remoteAddress }));
  };
  const server = tls
    ? https.createServer({ key: readFileSync(join(certDir, 'key.pem')), cert: readFileSync(join(certDir, 'cert.pem')) }, handler)
    : http.createServer(handler);
  server.listen({ host, port, ipv6Only: host.includes(':') }, () => {
    if (--pending === 0) console.log('ready');
  });
}
process.on('SIGTERM', () => process.exit(0));
