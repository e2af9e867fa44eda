// Chooses the data plane at start: the splice shim when it loads (the default), else the JS pump,
// as `dataPlane` in the configuration says. Where the shim is looked for, in order: the configured
// `splice.library`; $UGATE_SPLICE_LIB; next to the bundle; /usr/lib/ugate (the OpenWRT package).

import type { Config } from '../config/model.ts';
import type { Runtime } from '../runtime/types.ts';
import { jsPump, type DataPlane, type Moved } from './forward.ts';
import { openSpliceEngine, SpliceDataPlane } from './splice.ts';

export const LIBRARY_NAME = 'libugate_splice.so';
const INSTALLED = `/usr/lib/ugate/${LIBRARY_NAME}`;

function besideBundle(): string | null {
  try {
    const url = new URL(`./${LIBRARY_NAME}`, import.meta.url);
    return url.protocol === 'file:' ? decodeURIComponent(url.pathname) : null;
  } catch {
    return null;
  }
}

export function libraryCandidates(rt: Runtime, config: Config): string[] {
  if (config.splice.library) return [config.splice.library];
  const fromEnv = rt.env('UGATE_SPLICE_LIB');
  if (fromEnv) return [fromEnv];
  return [besideBundle(), INSTALLED].filter((p): p is string => p !== null);
}

/** Throws (a start-up error) only when `dataPlane` is "splice" and the shim cannot be loaded. */
export async function openDataPlane(rt: Runtime, config: Config, moved: Moved): Promise<DataPlane> {
  if (config.dataPlane === 'js') {
    rt.stderr('ugate: data plane js (configured)\n');
    return jsPump;
  }
  const errors: string[] = [];
  for (const library of libraryCandidates(rt, config)) {
    const plane = new SpliceDataPlane(jsPump, (line) => rt.stderr(line), moved);
    try {
      const lib = await rt.loadSplice(library);
      plane.attach(openSpliceEngine(lib, rt.watchReadable, { pipeSize: config.splice.pipeSize, pipePool: config.splice.pipePool }, plane.onEvents));
    } catch (e) {
      errors.push(`${library}: ${(e as Error).message}`);
      continue;
    }
    rt.stderr(`ugate: data plane splice library=${library} pipe_size=${plane.stats().pipe_size ?? '?'}\n`);
    return plane;
  }
  const why = errors.join('; ');
  if (config.dataPlane === 'splice') throw new Error(`dataPlane "splice": cannot load the splice shim: ${why}`);
  rt.stderr(`ugate: data plane js: splice shim unavailable (${why})\n`);
  return jsPump;
}
