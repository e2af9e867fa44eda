// Reading configuration files: JSON documents, or UCI files (/etc/config/ugate) mapped onto the
// same JSON shape before one validation, so both forms give the same model and the same errors.

import type { Config } from './model.ts';
import { validateConfig, type ConfigIssue } from './schema.ts';
import { uciToDocument } from './uci-map.ts';

/** The embedded default: a SOCKS5/HTTP proxy on localhost forwarding to what clients ask for. */
export const DEFAULT_CONFIG_DOCUMENT = {
  listeners: [{ name: 'proxy', type: 'mixed', listen: ['127.0.0.1:1080'], default: 'passthrough' }],
};

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
  ) {
    super(issues.map((i) => `${file}: ${i.path === '' ? '' : `${i.path}: `}${i.message}`).join('\n'));
  }
}

/** Parses one file's text into a JSON-shaped document, by content: JSON starts with "{". */
export function parseConfigText(file: string, text: string): { document: unknown; describePath: (path: string) => string } {
  if (text.trimStart().startsWith('{')) {
    try {
      return { document: JSON.parse(text), describePath: (p) => p };
    } catch (e) {
      throw new ConfigError(file, [{ path: '', message: `invalid JSON: ${(e as Error).message}` }]);
    }
  }
  const mapped = uciToDocument(text);
  if (!mapped.ok) throw new ConfigError(file, mapped.issues);
  return { document: mapped.document, describePath: mapped.describePath };
}

interface Parsed {
  name: string;
  document: Record<string, unknown>;
  describePath: (path: string) => string;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Merges documents (lists concatenate, later settings win, setting by setting) and maps a path in
 * the merged document back to the file, and the path within it, that the value came from.
 */
function merge(parsed: Parsed[]): { document: Record<string, unknown>; origin: (path: string) => [file: string, path: string] } {
  const out: Record<string, unknown> = {};
  const itemOrigin = new Map<string, [Parsed, number][]>();
  // dotted path of every object and setting → the file that set it last
  const keyOrigin = new Map<string, Parsed>();
  const mergeInto = (target: Record<string, unknown>, src: Record<string, unknown>, prefix: string, p: Parsed): Record<string, unknown> => {
    for (const [k, v] of Object.entries(src)) {
      const path = prefix === '' ? k : `${prefix}.${k}`;
      keyOrigin.set(path, p);
      const prev = Object.hasOwn(target, k) ? target[k] : undefined;
      // defineProperty, so that a "__proto__" key stays a plain (invalid) field and never a prototype
      const value = isPlainObject(v) ? mergeInto(isPlainObject(prev) ? prev : {}, v, path, p) : v;
      Object.defineProperty(target, k, { value, enumerable: true, writable: true, configurable: true });
    }
    return target;
  };
  for (const p of parsed) {
    for (const [k, v] of Object.entries(p.document)) {
      if (k === 'listeners' || k === 'routes') {
        const prev = out[k];
        // A value that is not a list is kept for validation to report, in the file that has it.
        if (prev !== undefined && !Array.isArray(prev)) continue;
        if (!Array.isArray(v)) {
          out[k] = v;
          keyOrigin.set(k, p);
          continue;
        }
        out[k] = [...((prev as unknown[] | undefined) ?? []), ...v];
        const origins = itemOrigin.get(k) ?? [];
        v.forEach((_, i) => origins.push([p, i]));
        itemOrigin.set(k, origins);
      } else {
        mergeInto(out, { [k]: v }, '', p);
      }
    }
  }
  const origin = (path: string): [string, string] => {
    const m = /^(listeners|routes)\[(\d+)\](.*)$/.exec(path);
    const item = m && itemOrigin.get(m[1]!)?.[Number(m[2])];
    if (item) return [item[0].name, item[0].describePath(`${m![1]}[${item[1]}]${m![3]}`)];
    // the innermost object or setting on the path that some file set
    let p: Parsed | undefined;
    for (let q = path; q !== '' && !p; q = q.replace(/(^|\.)[^.]*$/, '')) p = keyOrigin.get(q);
    p ??= parsed[parsed.length - 1]!;
    return [p.name, p.describePath(path)];
  };
  return { document: out, origin };
}

/** Validates and merges files given as [name, text]; throws ConfigError naming file, field path and reason. */
export function loadConfig(files: [name: string, text: string][]): Config {
  if (files.length === 0) files = [['(embedded default)', JSON.stringify(DEFAULT_CONFIG_DOCUMENT)]];
  const parsed: Parsed[] = files.map(([name, text]) => {
    const p = parseConfigText(name, text);
    if (!p.document || typeof p.document !== 'object' || Array.isArray(p.document)) {
      throw new ConfigError(name, [{ path: '', message: 'the document must be an object' }]);
    }
    return { name, document: p.document as Record<string, unknown>, describePath: p.describePath };
  });
  const { document, origin } = merge(parsed);
  const r = validateConfig(document);
  if (r.ok) return r.config;
  // Report the issues of the first file that has any, with paths as written in that file.
  const located = r.issues.map((i) => {
    const [file, path] = origin(i.path);
    return { file, issue: { path, message: i.message } };
  });
  const file = located[0]!.file;
  throw new ConfigError(file, located.filter((l) => l.file === file).map((l) => l.issue));
}
