// Structural equality for test assertions on parse results: one definition for the fuzz
// properties and the unit tests that compare a fast path with its exact twin.

/** Structural equality: plain objects, arrays, Maps, bytes, class instances (same prototype). */
export function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Uint8Array) {
    const c = b as Uint8Array;
    if (a.length !== c.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== c[i]) return false;
    return true;
  }
  if (a instanceof Map) {
    const m = b as Map<unknown, unknown>;
    if (a.size !== m.size) return false;
    const ea = [...a.entries()];
    const eb = [...m.entries()];
    for (let i = 0; i < ea.length; i++) if (!same(ea[i], eb[i])) return false;
    return true;
  }
  if (Array.isArray(a)) {
    const c = b as unknown[];
    if (a.length !== c.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], c[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}
