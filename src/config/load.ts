// Reading configuration files: JSON documents, or UCI files (/etc/config/ugate) mapped onto the
// same JSON shape before one validation, so both forms give the same model and the same errors.
// YAML files hold Gateway API manifests: their findings are reported, not thrown, so that one
// bad route does not stop the rest (see src/gateway-api/validate.ts).

import { loadAll, YAMLException } from 'js-yaml';
import { attachRoutes } from '../gateway-api/attach.ts';
import type { ManifestIssue } from '../gateway-api/model.ts';
import { validateManifests, type ManifestDocument } from '../gateway-api/validate.ts';
import type { Config } from './model.ts';
import { validateConfig, type ConfigIssue } from './schema.ts';
import { jsonErrorOffset, lineColumn } from './json-where.ts';
import { uciToDocument } from './uci-map.ts';

/** The embedded default: a SOCKS5/HTTP proxy on localhost forwarding to what clients ask for, and its statistics. */
export const DEFAULT_CONFIG_DOCUMENT = {
  listeners: [{ name: 'proxy', type: 'mixed', listen: ['127.0.0.1:1080'], default: 'passthrough' }],
  admin: { listen: '127.0.0.1:15000' },
};

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
    /** the manifest findings that led to this error, when manifests were loaded */
    readonly manifestIssues: ManifestIssue[] = [],
  ) {
    super(issues.map((i) => `${file}: ${i.path === '' ? '' : `${i.path}: `}${i.message}`).join('\n'));
  }
}

export type FileFormat = 'yaml' | 'json' | 'uci';

/** YAML by name (.yaml/.yml) or by a manifest's first signs; JSON starts with "{"; else UCI. */
export function fileFormat(name: string, text: string): FileFormat {
  if (/\.ya?ml$/i.test(name)) return 'yaml';
  // JSON first: a JSON document is YAML too, but a "{" file is ugate's JSON configuration.
  if (text.trimStart().startsWith('{')) return 'json';
  if (text.startsWith('---') || /^(apiVersion|kind):/m.test(text)) return 'yaml';
  return 'uci';
}

/** The documents of a YAML file, skipping empty ones (their index still counts). */
export function parseYamlText(file: string, text: string): ManifestDocument[] {
  let values: unknown[];
  try {
    values = loadAll(text, { filename: file });
  } catch (e) {
    if (!(e instanceof YAMLException)) throw e;
    const where = e.mark ? `line ${e.mark.line + 1}, column ${e.mark.column + 1}` : '';
    throw new ConfigError(file, [{ path: where, message: `invalid YAML: ${e.reason}` }]);
  }
  return values.flatMap((value, document) => (value === null || value === undefined ? [] : [{ file, document, value }]));
}

/** Parses one file's text into a JSON-shaped document, by content: JSON starts with "{". */
export function parseConfigText(file: string, text: string): { document: unknown; describePath: (path: string) => string } {
  if (text.trimStart().startsWith('{')) {
    try {
      return { document: JSON.parse(text), describePath: (p) => p };
    } catch (e) {
      // the place comes from our own scanner; the runtime's message may hold a byte position
      const at = jsonErrorOffset(text);
      const reason = (e as Error).message.replace(/ (in JSON )?at position \d+.*$/, '');
      throw new ConfigError(file, [{ path: at === null ? '' : lineColumn(text, at), message: `invalid JSON: ${reason}` }]);
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

/**
 * Validates and merges files given as [name, text]; throws ConfigError naming file, field path and
 * reason. Gateway API manifests (YAML) add listeners and routes; their findings are returned in
 * `gatewayApi.issues`, and throw only when nothing at all is left to listen on.
 */
export function loadConfig(files: [name: string, text: string][]): Config {
  if (files.length === 0) files = [['(embedded default)', JSON.stringify(DEFAULT_CONFIG_DOCUMENT)]];
  const yamlFiles = files.filter(([name, text]) => fileFormat(name, text) === 'yaml');
  const manifests = yamlFiles.flatMap(([name, text]) => parseYamlText(name, text));
  const parsed: Parsed[] = files
    .filter((f) => !yamlFiles.includes(f))
    .map(([name, text]) => {
      const p = parseConfigText(name, text);
      if (!p.document || typeof p.document !== 'object' || Array.isArray(p.document)) {
        throw new ConfigError(name, [{ path: '', message: 'the document must be an object' }]);
      }
      return { name, document: p.document as Record<string, unknown>, describePath: p.describePath };
    });
  const { document, origin } = merge(parsed);
  // Gateways bring listeners of their own; whether any survives is checked after attachment.
  const listenersOptional = manifests.some((m) => typeof m.value === 'object' && m.value !== null && (m.value as { kind?: unknown }).kind === 'Gateway');
  const r = validateConfig(document, { listenersOptional });
  if (r.ok) {
    if (yamlFiles.length === 0) return r.config;
    const attached = attachRoutes(validateManifests(manifests), r.config.listeners);
    if (attached.listeners.length === 0) {
      const message = 'nothing to listen on: no Gateway was accepted and no listener is configured';
      throw new ConfigError(yamlFiles.map(([name]) => name).join(', '), [{ path: '', message }], attached.gatewayApi.issues);
    }
    return { ...r.config, listeners: attached.listeners, gatewayApi: attached.gatewayApi };
  }
  if (parsed.length === 0) {
    // Only manifests, and no Gateway among them: routes alone have nothing to attach to.
    const message = 'nothing to listen on: the manifests have no Gateway and no configuration file (JSON or UCI) gives listeners';
    throw new ConfigError(yamlFiles.map(([name]) => name).join(', '), [{ path: '', message }], validateManifests(manifests).issues);
  }
  // Report the issues of the first file that has any, with paths as written in that file.
  const located = r.issues.map((i) => {
    const [file, path] = origin(i.path);
    return { file, issue: { path, message: i.message } };
  });
  const file = located[0]!.file;
  throw new ConfigError(file, located.filter((l) => l.file === file).map((l) => l.issue));
}
