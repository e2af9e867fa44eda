// Reading the files named on the command line: a file as it is, a directory as its
// configuration files (*.yaml, *.yml, *.json; not recursive) in name order.

import type { Runtime } from '../runtime/types.ts';
import { ConfigError, loadConfig } from './load.ts';
import type { Config } from './model.ts';

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

/**
 * Reads and validates the configuration the arguments name (none: the embedded default), with the
 * Gateway API manifests its `manifests` setting (UCI `list manifest`) names read after it.
 */
export async function readConfig(rt: Pick<Runtime, 'readDir' | 'readFile'>, args: readonly string[]): Promise<Config> {
  const files = await readConfigFiles(rt, args);
  const config = loadConfig(files);
  if (config.manifests.length === 0) return config;
  const manifests = await readConfigFiles(rt, config.manifests);
  for (const [name] of manifests) {
    if (!/\.ya?ml$/i.test(name)) throw new ConfigError(name, [{ path: '', message: 'a manifest (setting manifests, UCI list manifest) must be a YAML file (*.yaml, *.yml)' }]);
  }
  return loadConfig([...files, ...manifests]);
}
