// Hostname patterns with Gateway API semantics: exact names, or "*." wildcards that match
// one or more whole labels in front of the suffix — never the bare parent.

export interface HostnamePattern {
  /** lowercased, without the "*." for wildcards */
  readonly suffix: string;
  readonly wildcard: boolean;
  readonly source: string;
}

const LABEL = /^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Returns an error message, or null when `name` is a valid hostname (no wildcard). */
export function hostnameError(name: string): string | null {
  if (name.length === 0 || name.length > 253) return 'must be 1 to 253 characters';
  for (const label of name.split('.')) {
    if (!LABEL.test(label)) return `invalid label "${label}"`;
  }
  return null;
}

/** Parses "example.com" or "*.example.com"; throws a message naming the problem. */
export function parseHostnamePattern(source: string): HostnamePattern {
  const lower = source.toLowerCase().replace(/\.$/, '');
  const wildcard = lower.startsWith('*.');
  const suffix = wildcard ? lower.slice(2) : lower;
  if (suffix.includes('*')) throw new Error(`"${source}": a wildcard is only allowed as the whole first label ("*.")`);
  const err = hostnameError(suffix);
  if (err) throw new Error(`"${source}": ${err}`);
  return { suffix, wildcard, source };
}

/**
 * Specificity of a match, larger is more specific; -1 when it does not match.
 * Exact matches outrank every wildcard; among wildcards, the longer suffix wins.
 */
export function matchHostname(pattern: HostnamePattern, host: string): number {
  if (!pattern.wildcard) return host === pattern.suffix ? 100_000 + host.length : -1;
  const s = pattern.suffix;
  return host.length > s.length + 1 && host.endsWith(s) && host[host.length - s.length - 1] === '.' ? s.length : -1;
}
