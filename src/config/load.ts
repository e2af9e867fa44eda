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

/**
 * Merges documents (lists concatenate, later settings win) and maps a path in the merged document
 * back to the file, and the path within it, that the value came from.
 */
function merge(parsed: Parsed[]): { document: Record<string, unknown>; origin: (path: string) => [file: string, path: string] } {
  const out: Record<string, unknown> = {};
  const itemOrigin = new Map<string, [Parsed, number][]>();
  const keyOrigin = new Map<string, Parsed>();
  for (const p of parsed) {
    for (const [k, v] of Object.entries(p.document)) {
      if (Array.isArray(v) && (k === 'listeners' || k === 'routes')) {
        out[k] = [...((out[k] as unknown[] | undefined) ?? []), ...v];
        const origins = itemOrigin.get(k) ?? [];
        v.forEach((_, i) => origins.push([p, i]));
        itemOrigin.set(k, origins);
      } else {
        out[k] = v;
        keyOrigin.set(k, p);
      }
    }
  }
  const origin = (path: string): [string, string] => {
    const m = /^(listeners|routes)\[(\d+)\](.*)$/.exec(path);
    const item = m && itemOrigin.get(m[1]!)?.[Number(m[2])];
    if (item) return [item[0].name, item[0].describePath(`${m![1]}[${item[1]}]${m![3]}`)];
    const p = keyOrigin.get(/^[A-Za-z]+/.exec(path)?.[0] ?? '') ?? parsed[parsed.length - 1]!;
    return [parsed.length === 1 ? p.name : p.name, p.describePath(path)];
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
