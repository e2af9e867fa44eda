// Process plumbing for the bench: spawn peers in their own process group with a high fd limit,
// wait for them to listen, account their CPU and memory from /proc, and always kill them.
import { spawn, execFileSync } from 'node:child_process';
import { createWriteStream, readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const live = new Set(); // process group ids still to be killed

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Whatever happens (error, Ctrl-C), no peer outlives the bench.
function killAll() {
  for (const pgid of live) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {}
  }
  live.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

/** Keeps the last `max` characters of a stream (for error messages). */
function tail(stream, max = 4000) {
  const t = { text: '' };
  stream?.setEncoding('utf8');
  stream?.on('data', (d) => {
    t.text = (t.text + d).slice(-max);
  });
  return t;
}

// 65536 open files, or as many as the hard limit allows (a container may cap it).
export const RAISE_NOFILE = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"';

/**
 * Starts argv as the leader of a new process group, through `sh` so it gets a high `ulimit -n`.
 * The returned handle's pgid covers every process the peer forks (nginx workers, socat children).
 */
export function startGroup(argv, { cwd, env, stdin = 'ignore', logFile } = {}) {
  const child = spawn('sh', ['-c', `${RAISE_NOFILE}; exec "$@"`, 'sh', ...argv], {
    cwd,
    env: env ?? process.env,
    detached: true,
    stdio: [stdin, 'pipe', 'pipe'],
  });
  live.add(child.pid);
  const out = tail(child.stdout);
  const err = tail(child.stderr);
  if (logFile) {
    // everything the peer printed, for --keep
    const file = createWriteStream(logFile, { flags: 'a' });
    child.stdout.on('data', (d) => file.write(d));
    child.stderr.on('data', (d) => file.write(d));
    child.on('close', () => file.end());
  }
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (e) => resolve({ code: -1, signal: null, error: e }));
  });
  let done = null;
  exited.then((x) => (done = x));
  return {
    child,
    pgid: child.pid,
    exited,
    get exit() {
      return done;
    },
    get stdout() {
      return out.text;
    },
    get stderr() {
      return err.text;
    },
    /** SIGTERM to the group, SIGKILL after a grace period (and to any leftover children). */
    async stop(graceMs = 3000) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {}
      await Promise.race([exited, sleep(graceMs)]);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      await Promise.race([exited, sleep(1000)]);
      live.delete(child.pid);
    },
  };
}

/** Last lines of a peer's output, for a row that says why it failed. */
export function why(handle) {
  const text = `${handle.stderr}\n${handle.stdout}`.trim();
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  // prefer messages over stack frames
  const telling = lines.filter((l) => /error|cannot|failed|unable|not found|alert|emerg|^ugate:/i.test(l) && !/^at /.test(l));
  return (telling.length ? telling : lines).slice(-2).join(' | ').slice(0, 300) || '(no output)';
}

/** Resolves once 127.0.0.1:port accepts a connection; throws if the peer exits or time runs out. */
export async function waitListening(port, handle, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (handle?.exit) throw new Error(`exited at start (code ${handle.exit.code ?? handle.exit.signal}): ${why(handle)}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`not listening on ${port} after ${timeoutMs} ms: ${handle ? why(handle) : ''}`);
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a command to completion; resolves { code, stdout, stderr } (never rejects on exit code). */
export function run(argv, { timeoutMs = 120000, input } = {}) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: String(e.message) });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? -1 : 0), signal, stdout, stderr });
    });
    if (input !== undefined) {
      child.stdin.on('error', () => {}); // a child that exits without reading is not our failure
      child.stdin.end(input);
    }
  });
}

function groupPids(pgid) {
  const pids = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(name);
    if (f && Number(f[2]) === pgid) pids.push(name);
  }
  return pids;
}

// Fields after the parenthesised command name: index 0 is field 3 (state) of proc(5).
function statFields(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null; // gone meanwhile
  }
}

/**
 * CPU seconds used so far by every process of the group, all threads included; cutime/cstime add
 * children that already exited and were reaped (socat's per-connection forks).
 */
export function groupCpuSeconds(pgid) {
  let ticks = 0;
  for (const pid of groupPids(pgid)) {
    const f = statFields(pid);
    if (f) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // fields 14-17
  }
  return ticks / CLK_TCK;
}

/** Summed VmRSS and Pss (bytes) of the group's processes, and how many processes and threads. */
export function groupMemory(pgid) {
  let rss = 0;
  let pss = 0;
  let procs = 0;
  let threads = 0;
  for (const pid of groupPids(pgid)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      rss += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) * 1024;
      threads += Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      procs++;
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      pss += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0) * 1024;
    } catch {}
  }
  return { rss, pss, procs, threads };
}

/**
 * CPU ticks since boot: all cores (busy, steal, total) and this process with its reaped
 * descendants (every loadgen run and every peer stopped so far). Two samples tell how much of
 * the machine other work took during the run, and how much the hypervisor stole.
 */
export function systemSample() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
  const own = statFields(String(process.pid));
  // kernel threads (ksoftirqd, kworkers) carry part of the bench's own network load
  let kernel = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const k = statFields(name);
    if (k && (name === '2' || k[1] === '2')) kernel += Number(k[11]) + Number(k[12]);
  }
  return {
    kernel,
    // irq/softirq time is left out: with IRQ time accounting it is charged to no process, and
    // loopback TCP spends much of its time there
    busy: user + nice + system,
    steal: steal ?? 0,
    total: user + nice + system + idle + iowait + irq + softirq + (steal ?? 0),
    ours: own ? Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]) : 0,
  };
}

/** Between two samples: cores busy with processes other than the bench's, and the steal fraction. */
export function systemDelta(a, b, cores) {
  const total = b.total - a.total;
  if (total <= 0) return { otherCores: 0, steal: 0 };
  return {
    otherCores: Math.max(0, (b.busy - a.busy - (b.ours - a.ours) - (b.kernel - a.kernel)) / total) * cores,
    steal: (b.steal - a.steal) / total,
  };
}

/**
 * Starts a peer (a forwarder or proxy from peers.mjs / http.mjs) on a free port and waits until it
 * listens: { port, handle }, or { skip } saying why it cannot run. `missing` lists what is not
 * installed; the peer's notes go to `row.notes`.
 */
export async function startPeer(peer, ctx, row, missing) {
  if (missing.length) return { skip: `not installed: ${missing.join(', ')}` };
  const port = await freePort();
  const prep = await peer.prepare({ ...ctx, port });
  if (prep.skip) return { skip: prep.skip };
  row.notes.push(...(prep.notes ?? []));
  const handle = startGroup(prep.argv, { cwd: ctx.dir, logFile: `${ctx.dir}/${peer.id}.log` });
  try {
    await waitListening(port, handle);
  } catch (e) {
    await handle.stop();
    return { skip: `failed to start: ${e.message}` };
  }
  return { port, handle };
}
