/**
 * What the selection in migration.yaml matched on the source: each tables.include / tables.skip
 * entry and each databases.exclude entry, with the names it matched. An entry that matches
 * nothing is a mistake to report (a typo would otherwise copy no data, or skip nothing). Pure;
 * the same for both engines.
 */
import { tableRefMatches } from '../config/identifiers.js';
import { isPattern, nameMatches, schemaWanted } from '../config/patterns.js';
import type { MigrationConfig } from '../config/types.js';
import { fail, ok, type CheckResult } from './checks.js';
import type { Discovery } from './engine.js';

export interface SelectionEntry {
  /** databases.exclude, tables.include or tables.skip. */
  key: 'databases.exclude' | 'schemas.include' | 'schemas.exclude' | 'tables.include' | 'tables.skip';
  text: string;
  /** Matched names: databases, or db.schema.table (PostgreSQL) / db.table (MySQL). */
  matched: string[];
}

export function selectionOf(cfg: MigrationConfig, discovery: Discovery): SelectionEntry[] {
  const out: SelectionEntry[] = [];
  const allDatabases = [...discovery.databases.map((d) => d.source.name), ...discovery.excluded];
  for (const p of cfg.databases.exclude)
    out.push({ key: 'databases.exclude', text: p, matched: allDatabases.filter((d) => nameMatches(p, d)) });
  for (const key of ['include', 'exclude'] as const) {
    for (const p of cfg.schemas[key]) {
      const matched = discovery.databases.flatMap((d) =>
        (d.source.schemaNames ?? []).filter((sc) => nameMatches(p, sc)).map((sc) => `${d.source.name}.${sc}`),
      );
      out.push({ key: `schemas.${key}`, text: p, matched });
    }
  }
  for (const key of ['include', 'skip'] as const) {
    for (const ref of cfg.tables[key]) {
      const matched: string[] = [];
      for (const d of discovery.databases) {
        for (const t of d.source.tableNames ?? []) {
          if (tableRefMatches(ref, d.source.name, t.schema ?? undefined, t.name))
            matched.push([d.source.name, t.schema, t.name].filter((x) => x !== null).join('.'));
        }
      }
      out.push({ key: `tables.${key}`, text: ref.text, matched });
    }
  }
  return out;
}

/** `tables.skip "public.audit*" matched 3: a, b, c` — names up to `max`. */
export function describeSelection(e: SelectionEntry, max = 5): string {
  const names = e.matched.length <= max ? e.matched.join(', ') : `${e.matched.slice(0, max).join(', ')} and ${e.matched.length - max} more`;
  return e.matched.length
    ? `${e.key} "${e.text}" matched ${e.matched.length}: ${names}`
    : `${e.key} "${e.text}" matches nothing on the source`;
}

/** `<prefix>.selection`: one check for the whole selection; Failed naming every entry that matches nothing. */
export function selectionCheck(prefix: 'pg' | 'my', cfg: MigrationConfig, discovery: Discovery): CheckResult | null {
  const entries = selectionOf(cfg, discovery);
  if (entries.length === 0) return null;
  const unmatched = entries.filter((e) => e.matched.length === 0);
  if (unmatched.length) {
    return fail(
      `${prefix}.selection`,
      unmatched.map((e) => `${e.key} "${e.text}" matches nothing on the source`).join('; '),
      'Fix the name or pattern (a typo would copy no data, or skip nothing), or remove the entry.',
    );
  }
  return ok(`${prefix}.selection`, entries.map((e) => describeSelection(e)).join('; '));
}

/** `<prefix>.db.exists`: every databases.include entry must name (or match) a database on the source. */
export function missingDatabaseChecks(prefix: 'pg' | 'my', missing: readonly string[]): CheckResult[] {
  return missing.map((m) =>
    fail(
      `${prefix}.db.exists`,
      isPattern(m)
        ? `databases.include pattern "${m}" matches no database on the source`
        : `database "${m}" is included but does not exist on the source`,
      'Fix databases.include.',
      { level: 'database', database: m },
    ),
  );
}

/**
 * Whether a table's data is copied: its schema selected (PostgreSQL), not skipped, and included
 * when tables.include names tables of this database. `schema` is null on MySQL.
 */
export function tableWanted(cfg: MigrationConfig, db: string, schema: string | null, name: string): boolean {
  if (schema !== null && !schemaWanted(cfg.schemas, schema)) return false;
  const s = schema ?? undefined;
  if (cfg.tables.skip.some((r) => tableRefMatches(r, db, s, name))) return false;
  const inc = cfg.tables.include.filter((r) => r.db === undefined || nameMatches(r.db, db, r.quoted?.db));
  return inc.length === 0 || inc.some((r) => tableRefMatches(r, db, s, name));
}
