/** Parsing of table references written in SQL identifier syntax. Pure. */
import type { Engine, TableRef } from './types.js';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Splits `a.b.c` into parts. PostgreSQL: "double quoted" parts keep case and may contain dots
 * ("" is a quote); unquoted parts are folded to lower case. MySQL: `backticks` (or "double
 * quotes") quote, case is kept.
 */
export function splitQualifiedName(text: string, engine: Engine): ParseResult<string[]> {
  const parts: string[] = [];
  let i = 0;
  const n = text.length;
  if (text.trim() === '') return { ok: false, error: 'is empty' };
  while (i <= n) {
    let part = '';
    const q = text[i];
    if (q === '"' || (engine === 'mysql' && q === '`')) {
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
    parts.push(part);
    if (i >= n) break;
    if (text[i] !== '.') return { ok: false, error: `has "${text[i]}" after a quoted name; expected a dot` };
    i++;
    if (i >= n) return { ok: false, error: 'ends with a dot' };
  }
  return { ok: true, value: parts };
}

export function parseTableRef(text: string, engine: Engine): ParseResult<TableRef> {
  const split = splitQualifiedName(text, engine);
  if (!split.ok) return split;
  const p = split.value;
  const max = engine === 'postgresql' ? 3 : 2;
  if (p.length > max) {
    return {
      ok: false,
      error: engine === 'postgresql' ? 'has more than three parts; write table, schema.table or db.schema.table (quote names with dots)' : 'has more than two parts; write table or db.table (quote names with dots)',
    };
  }
  if (engine === 'postgresql') {
    if (p.length === 3) return { ok: true, value: { db: p[0], schema: p[1], table: p[2] as string, text } };
    if (p.length === 2) return { ok: true, value: { db: undefined, schema: p[0], table: p[1] as string, text } };
    return { ok: true, value: { db: undefined, schema: undefined, table: p[0] as string, text } };
  }
  if (p.length === 2) return { ok: true, value: { db: p[0], schema: undefined, table: p[1] as string, text } };
  return { ok: true, value: { db: undefined, schema: undefined, table: p[0] as string, text } };
}

/** Whether a reference matches a concrete table. */
export function tableRefMatches(ref: TableRef, db: string, schema: string | undefined, table: string): boolean {
  if (ref.table !== table) return false;
  if (ref.db !== undefined && ref.db !== db) return false;
  if (ref.schema !== undefined && schema !== undefined && ref.schema !== schema) return false;
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
