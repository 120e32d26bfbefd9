/**
 * Name patterns in database and table selections: a name with `*`, `?` or `[...]` is a glob
 * (picomatch), anything else (and any quoted name part) is matched exactly. Pure.
 */
import picomatch from 'picomatch';

const GLOB = /[*?[\]]/;

export function isPattern(text: string): boolean {
  return GLOB.test(text);
}

const cache = new Map<string, (s: string) => boolean>();

/** Whether `name` matches `pattern` (exactly, when it has no glob characters or was quoted). */
export function nameMatches(pattern: string, name: string, literal = false): boolean {
  if (literal || !isPattern(pattern)) return pattern === name;
  let m = cache.get(pattern);
  if (!m) {
    m = picomatch(pattern, { dot: true });
    cache.set(pattern, m);
  }
  return m(name);
}

/** The names each pattern selects, in order; patterns that select nothing are listed apart. */
export function matchAll(patterns: readonly string[], names: readonly string[]): { matched: Map<string, string[]>; unmatched: string[] } {
  const matched = new Map<string, string[]>();
  for (const p of patterns)
    matched.set(
      p,
      names.filter((n) => nameMatches(p, n)),
    );
  return { matched, unmatched: patterns.filter((p) => (matched.get(p) ?? []).length === 0) };
}

/** Whether a PostgreSQL schema is migrated under schemas.include / schemas.exclude. */
export function schemaWanted(schemas: { include: readonly string[]; exclude: readonly string[] }, schema: string): boolean {
  if (schemas.include.length && !schemas.include.some((p) => nameMatches(p, schema))) return false;
  return !schemas.exclude.some((p) => nameMatches(p, schema));
}
