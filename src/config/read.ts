// Reading the files named on the command line: a file as it is, a directory as its
// configuration files (*.yaml, *.yml, *.json; not recursive) in name order.

import type { Runtime } from '../runtime/types.ts';
import { ConfigError } from './load.ts';

/** The files a -c argument stands for: itself, or a directory's configuration files in name order. */
async function expand(rt: Pick<Runtime, 'readDir'>, path: string): Promise<string[]> {
  let names: string[];
  try {
    names = await rt.readDir(path);
  } catch {
    return [path]; // not a directory: read as a file (which reports it when it is missing)
  }
  const files = names.filter((n) => /\.(ya?ml|json)$/i.test(n)).sort();
  if (files.length === 0) throw new ConfigError(path, [{ path: '', message: 'the directory has no *.yaml, *.yml or *.json file' }]);
  return files.map((n) => `${path.replace(/\/+$/, '')}/${n}`);
}

/** [name, text] of every file the arguments stand for, in order; ConfigError when one cannot be read. */
export async function readConfigFiles(rt: Pick<Runtime, 'readDir' | 'readFile'>, args: readonly string[]): Promise<[name: string, text: string][]> {
  const texts: [string, string][] = [];
  for (const arg of args) {
    for (const f of await expand(rt, arg)) {
      let bytes: Uint8Array;
      try {
        bytes = await rt.readFile(f);
      } catch (e) {
        throw new ConfigError(f, [{ path: '', message: `cannot read: ${(e as Error).message}` }]);
      }
      texts.push([f, new TextDecoder().decode(bytes)]);
    }
  }
  return texts;
}
