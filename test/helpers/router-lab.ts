// The router lab (../shared/router-lab: OpenWrt's real userland in namespaces, see its README) for
// tests, and the packages under test. Needs root; `labSkipReason` says why it cannot run here.
//
// A copy of the lab whose symbolic links were flattened into small files (each holding its link
// target, e.g. rootfs/bin/sleep = "/bin/busybox") cannot start its router. Such a copy is repaired
// once into a private directory: each file whose whole content is a path to an existing file of the
// root becomes the link it was. The binaries are the same; nothing of OpenWrt is imitated.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { hasCommand } from './servers.ts';

export const SHARED_LAB = resolve(process.env.UGATE_ROUTER_LAB ?? '../shared/router-lab');
export const SHARED_RUNTIME = resolve(process.env.UGATE_RUNTIME_DIR ?? '../shared/runtime');

const isRoot = process.getuid?.() === 0;
const missing = ['ip', 'nsenter', 'unshare', 'curl', 'tar'].filter((c) => !hasCommand(c));
export const labSkipReason = !isRoot
  ? 'needs root'
  : !existsSync(join(SHARED_LAB, 'lab.sh'))
    ? `no router lab at ${SHARED_LAB} (set UGATE_ROUTER_LAB)`
    : !existsSync(join(SHARED_RUNTIME, 'x86_64/tjs'))
      ? `no txiki.js builds at ${SHARED_RUNTIME} (set UGATE_RUNTIME_DIR)`
      : missing.length > 0
        ? `needs ${missing.join(', ')}`
        : null;

const sh = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, { encoding: 'utf8', input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });

/** Files under `dir` that stand for a flattened link: target → file. */
function flattenedLinks(root: string): [file: string, target: string][] {
  const out: [string, string][] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && statSync(p).size > 0 && statSync(p).size < 256) {
        const text = readFileSync(p, 'latin1');
        if (!/^[A-Za-z0-9._/+-]+$/.test(text)) continue;
        const inRoot = text.startsWith('/') ? join(root, text) : join(dirname(p), text);
        // a dangling absolute link into the runtime tree (/run → /var/run) is a link too
        if (existsSync(inRoot) || /^\/(var|tmp)\//.test(text)) out.push([p, text]);
      }
    }
  };
  walk(root);
  return out;
}

function hasSymlink(dir: string): boolean {
  return readdirSync(join(dir, 'bin')).some((n) => lstatSync(join(dir, 'bin', n)).isSymbolicLink());
}

let labDir: string | null = null;

/** The lab to run: the shared one when it is intact, else a repaired private copy (made once). */
export function usableLab(): string {
  if (labDir) return labDir;
  const shared = join(SHARED_LAB, 'rootfs');
  if (hasSymlink(shared)) return (labDir = SHARED_LAB);
  const id = createHash('sha256').update(sh('find', [shared, '-printf', '%P %s %T@\n'])).digest('hex').slice(0, 12);
  const copy = join(tmpdir(), `ugate-router-lab-${id}`);
  if (!existsSync(join(copy, '.repaired'))) {
    const work = `${copy}.${process.pid}`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work);
    sh('cp', ['-a', join(SHARED_LAB, 'lab.sh'), join(SHARED_LAB, 'bin'), shared, work]);
    sh('chmod', ['-R', 'u+w', work]);
    const links = flattenedLinks(join(work, 'rootfs'));
    for (const [file, target] of links) {
      unlinkSync(file);
      symlinkSync(target, file);
    }
    writeFileSync(join(work, '.repaired'), `${links.length} links restored from flattened files of ${shared}\n`);
    try {
      renameSync(work, copy);
    } catch {
      rmSync(work, { recursive: true, force: true }); // another test process made it first
    }
  }
  return (labDir = copy);
}

export interface Lab {
  dir: string;
  share: string;
  /** a command in the router (its busybox sh); throws with its output when it fails */
  router(script: string): string;
  /** same, without throwing: exit status and output */
  routerTry(script: string): { code: number; out: string };
  lan(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** a long-running program on the WAN side; killed by down() */
  wanServer(args: string[]): Promise<ChildProcess>;
  down(): void;
}

/**
 * `lab.sh up` and `boot` leave daemons running that would hold a pipe open forever: their output
 * goes to a file, read back when the command fails.
 */
function detached(labSh: string, args: string[]): void {
  const log = join(tmpdir(), `ugate-lab-${process.pid}.log`);
  const fd = openSync(log, 'w');
  try {
    execFileSync(labSh, args, { stdio: ['ignore', fd, fd] });
  } catch (e) {
    throw new Error(`lab.sh ${args.join(' ')}: ${(e as Error).message}\n${readFileSync(log, 'utf8')}`);
  } finally {
    closeSync(fd);
    rmSync(log, { force: true });
  }
}

export async function labUp(name: string): Promise<Lab> {
  const lab = usableLab();
  const dir = join(tmpdir(), `ugate-lab-${name}-${process.pid}`);
  const labSh = join(lab, 'lab.sh');
  if (existsSync(dir)) sh(labSh, ['down', dir]);
  detached(labSh, ['up', dir]);
  const procs: ChildProcess[] = [];
  const down = () => {
    for (const p of procs) p.kill('SIGKILL');
    try {
      sh(labSh, ['down', dir]);
    } catch {
      // already gone
    }
  };
  try {
    detached(labSh, ['boot', dir]);
    const routerTry = (script: string) => {
      try {
        return { code: 0, out: sh(labSh, ['router', dir, script]) };
      } catch (e) {
        const x = e as { status?: number; stdout?: string; stderr?: string };
        return { code: x.status ?? -1, out: `${x.stdout ?? ''}${x.stderr ?? ''}` };
      }
    };
    return {
      dir,
      share: join(dir, 'share'),
      router: (script) => {
        const r = routerTry(script);
        if (r.code !== 0) throw new Error(`router: ${script}: exit ${r.code}\n${r.out}`);
        return r.out;
      },
      routerTry,
      lan: (args) =>
        new Promise((ok) => {
          const p = spawn(labSh, ['lan', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
          p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
          p.on('close', (code) => ok({ code: code ?? -1, stdout, stderr }));
        }),
      wanServer: (args) =>
        new Promise((ok, fail) => {
          const p = spawn(labSh, ['wan', dir, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
          procs.push(p);
          p.once('exit', (c) => fail(new Error(`${args.join(' ')} exited with ${c}`)));
          p.stdout!.once('data', () => {
            p.stdout!.resume();
            ok(p);
          });
        }),
      down,
    };
  } catch (e) {
    down();
    throw e;
  }
}

/**
 * Builds the packages for `arches` into `out` (release `release`), with the lab's apk-tools. The
 * LuCI app only when asked (`luci`): it depends on ugate, so a test that installs every package
 * of `out` could not remove ugate without it.
 */
export function buildPackages(out: string, arches: string[], release = 1, options: { luci?: boolean } = {}): string {
  const apk = join(usableLab(), 'bin/apk');
  sh(process.execPath, [
    'openwrt/package.mjs', '--tjs-dir', SHARED_RUNTIME, '--apk', apk, '--out', out, '--release', String(release),
    ...arches.flatMap((a) => ['--arch', a]),
    ...(options.luci ? [] : ['--no-luci']),
  ]);
  return out;
}
