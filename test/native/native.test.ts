// The splice shim's own C tests (test/native/splice_test.c), built with -Wall -Wextra -Werror and
// run: on the host against glibc and musl, and for each router architecture (mipsel, mips
// big-endian, arm hard-float, aarch64) with Debian's cross compilers under qemu-user. A missing
// toolchain skips its build with the reason (.ci/run installs them all).

import test from 'ava';
import { run, systemCommand } from '../helpers/servers.ts';

const CROSS = [
  ['mipsel', 'mipsel-linux-gnu'],
  ['mips', 'mips-linux-gnu'],
  ['arm', 'arm-linux-gnueabihf'],
  ['aarch64', 'aarch64-linux-gnu'],
] as const;

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}

test.serial('host build (glibc, and musl when musl-gcc is installed): the C tests pass', async (t) => {
  const r = await run('make', ['-s', 'native-test'], undefined, 300_000);
  t.is(r.code, 0, r.stdout + r.stderr);
  const results = r.stdout.split('\n').filter((l) => /^(ok|FAIL): \d+ checks/.test(l));
  t.true(results.length >= 1 && results.every((l) => l.startsWith('ok:')), r.stdout);
  if (!systemCommand('musl-gcc')) t.log('musl-gcc not installed: musl build skipped');
  else t.is(results.length, 2, 'glibc and musl both ran');
});

for (const [arch, triplet] of CROSS) {
  const missing = [`${triplet}-gcc`, `qemu-${arch}`].filter((c) => !systemCommand(c));
  const title = `${arch}: cross-built with ${triplet}-gcc, the C tests pass under qemu-${arch}`;
  if (missing.length > 0) {
    test.skip(`${title} (not installed: ${missing.join(', ')})`, () => {});
    continue;
  }
  test.serial(title, async (t) => {
    const r = await run('make', ['-s', 'native-cross', `CROSS=${arch}:${triplet}`], undefined, 300_000);
    t.is(r.code, 0, r.stdout + r.stderr);
    t.regex(lastLine(r.stdout), /^ok: \d+ checks, 0 failed$/);
  });
}
