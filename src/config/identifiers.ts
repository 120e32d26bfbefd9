/** Parsing of table references written in SQL identifier syntax. Pure. */
import { nameMatches } from './patterns.js';
import type { Engine, TableRef } from './types.js';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Splits `a.b.c` into parts. PostgreSQL: "double quoted" parts keep case and may contain dots
 * ("" is a quote); unquoted parts are folded to lower case. MySQL: `backticks` (or "double
 * quotes") quote, case is kept.
 */
export function splitQualifiedName(text: string, engine: Engine): ParseResult<string[]> {
  const r = splitQualifiedNameQuoted(text, engine);
  return r.ok ? { ok: true, value: r.value.map((p) => p.name) } : r;
}

/** As splitQualifiedName, telling which parts were quoted. */
export function splitQualifiedNameQuoted(text: string, engine: Engine): ParseResult<{ name: string; quoted: boolean }[]> {
  const parts: { name: string; quoted: boolean }[] = [];
  let i = 0;
  const n = text.length;
  if (text.trim() === '') return { ok: false, error: 'is empty' };
  while (i <= n) {
    let part = '';
    const q = text[i];
    const quoted = q === '"' || (engine === 'mysql' && q === '`');
    if (quoted) {
      i++;
      let closed = false;
      while (i < n) {
        const c = text[i] as string;
        if (c === q) {
          if (text[i + 1] === q) {
            part += q;
            i += 2;
            continue;
          }
          closed = true;
          i++;
          break;
        }
        part += c;
        i++;
      }
      if (!closed) return { ok: false, error: `has an unterminated ${q} quote` };
      if (part === '') return { ok: false, error: 'has an empty quoted name' };
    } else {
      while (i < n && text[i] !== '.') {
        const c = text[i] as string;
        if (c === '"' || c === '`') return { ok: false, error: `has a quote inside an unquoted name; quote the whole part: "${text}"` };
        part += c;
        i++;
      }
      part = part.trim();
      if (part === '') return { ok: false, error: 'has an empty name part (two dots, or a dot at either end)' };
      if (engine === 'postgresql') part = part.toLowerCase();
    }
    parts.push({ name: part, quoted });
    if (i >= n) break;
    if (text[i] !== '.') return { ok: false, error: `has "${text[i]}" after a quoted name; expected a dot` };
    i++;
    if (i >= n) return { ok: false, error: 'ends with a dot' };
  }
  return { ok: true, value: parts };
}

export function parseTableRef(text: string, engine: Engine): ParseResult<TableRef> {
  const split = splitQualifiedNameQuoted(text, engine);
  if (!split.ok) return split;
  const p = split.value;
  const max = engine === 'postgresql' ? 3 : 2;
  if (p.length > max) {
    return {
      ok: false,
      error:
        engine === 'postgresql'
          ? 'has more than three parts; write table, schema.table or db.schema.table (quote names with dots)'
          : 'has more than two parts; write table or db.table (quote names with dots)',
    };
  }
  const [a, b, c] = p;
  const ref = (db: typeof a, schema: typeof a, table: typeof a): TableRef => ({
    db: db?.name,
    schema: schema?.name,
    table: (table as { name: string }).name,
    text,
    quoted: { db: db?.quoted ?? false, schema: schema?.quoted ?? false, table: table?.quoted ?? false },
  });
  if (engine === 'postgresql') {
    if (p.length === 3) return { ok: true, value: ref(a, b, c) };
    if (p.length === 2) return { ok: true, value: ref(undefined, a, b) };
    return { ok: true, value: ref(undefined, undefined, a) };
  }
  if (p.length === 2) return { ok: true, value: ref(a, undefined, b) };
  return { ok: true, value: ref(undefined, undefined, a) };
}

/** Whether a reference matches a concrete table. */
/** Whether a reference matches a concrete table; unquoted parts with *, ? or [...] are globs. */
export function tableRefMatches(ref: TableRef, db: string, schema: string | undefined, table: string): boolean {
  const q = ref.quoted ?? { db: false, schema: false, table: false };
  if (!nameMatches(ref.table, table, q.table)) return false;
  if (ref.db !== undefined && !nameMatches(ref.db, db, q.db)) return false;
  if (ref.schema !== undefined && schema !== undefined && !nameMatches(ref.schema, schema, q.schema)) return false;
  return true;
}

/** Sanitise any text into a valid migration name (Azure rule). */
export function sanitizeName(text: string): string {
  const s = text
    .replace(/[^A-Za-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50)
    .replace(/-+$/, '');
  return s === '' ? 'migration' : s;
}
