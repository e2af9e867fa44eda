// A server process for network-namespace tests (runs with plain `node`, inside `ip netns exec`):
//   node ns-echo-server.mjs NAME CERT_DIR [OTHERNAME@]ADDR:PORT[:tls] ...
// Every listener answers HTTP/1.x requests with JSON naming the server (NAME, or OTHERNAME for
// that listener) and the listener, and echoing the request exactly as it arrived: `raw` is the
// request head byte for byte (latin1), `headers` its header lines as [name, value] pairs in
// order, `body` the body. `conn` numbers the accepted connections of this process and `seq` the
// requests on one connection, so a test can tell a reused connection from a new one. Keep-alive
// as the client asks; bodies by Content-Length (Transfer-Encoding is answered 501). TLS
// listeners add the SNI the client sent. Prints "ready" once every listener is bound.
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [defaultName, certDir, ...specs] = process.argv.slice(2);
let pending = specs.length;
let connections = 0;

function respond(socket, status, json, keep) {
  const body = Buffer.from(JSON.stringify(json));
  const reason = status === 200 ? 'OK' : 'Not Implemented';
  socket.write(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n${keep ? '' : 'connection: close\r\n'}\r\n`);
  socket.write(body);
  if (!keep) socket.end();
}

function serve(socket, name, listener) {
  const conn = ++connections;
  let seq = 0;
  let buf = Buffer.alloc(0);
  let done = false;
  socket.on('error', () => {});
  socket.on('data', (d) => {
    if (done) return;
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const raw = buf.subarray(0, end + 4).toString('latin1');
      const [requestLine, ...lines] = raw.slice(0, -4).split('\r\n');
      const [method, url, version] = requestLine.split(' ');
      const headers = lines.map((l) => {
        const i = l.indexOf(':');
        return [l.slice(0, i), l.slice(i + 1).trim()];
      });
      const get = (n) => headers.find(([k]) => k.toLowerCase() === n)?.[1];
      const base = { server: name, listener, conn, seq: ++seq, client: socket.remoteAddress, ...(socket.servername !== undefined ? { sni: socket.servername || null } : {}) };
      if (get('transfer-encoding') !== undefined) {
        done = true;
        return respond(socket, 501, { ...base, error: 'transfer-encoding is not supported by this echo server' }, false);
      }
      const length = Number(get('content-length') ?? 0);
      if (buf.length < end + 4 + length) return;
      const body = buf.subarray(end + 4, end + 4 + length).toString('latin1');
      buf = buf.subarray(end + 4 + length);
      const connection = (get('connection') ?? '').toLowerCase();
      const keep = version === 'HTTP/1.1' ? connection !== 'close' : connection === 'keep-alive';
      respond(socket, 200, { ...base, method, url, version, host: get('host') ?? null, headers, raw, body }, keep);
      if (!keep) {
        done = true;
        return;
      }
    }
  });
}

for (const spec of specs) {
  const m = /^(?:([\w-]+)@)?(\[?(.*?)\]?:(\d+)(:tls)?)$/.exec(spec);
  const [name, listener, host, port, isTls] = [m[1] ?? defaultName, m[2], m[3], Number(m[4]), Boolean(m[5])];
  const server = isTls
    ? tls.createServer({ key: readFileSync(join(certDir, 'key.pem')), cert: readFileSync(join(certDir, 'cert.pem')) }, (s) => serve(s, name, listener))
    : net.createServer((s) => serve(s, name, listener));
  server.listen({ host, port, ipv6Only: host.includes(':') }, () => {
    if (--pending === 0) console.log('ready');
  });
}
process.on('SIGTERM', () => process.exit(0));
