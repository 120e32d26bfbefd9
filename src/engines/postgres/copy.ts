/**
 * Table data: listing the tables of a database (on the snapshot) and streaming one table, or one
 * block range of it, from the source to the target with COPY and backpressure.
 */
import type { RateLimiter } from '../../util/rate-limit.js';
import { relayCopies, RelayError, type RelayedCopy } from './copy-relay.js';
import type { PgClient } from './connect.js';
import { qi, qname, ql } from './sql.js';

export interface SourceTable {
  schema: string;
  name: string;
  bytes: number;
  pages: number;
  rows: number;
  columns: string[];
  /** pg_extension_config_dump filter: copy only rows matching it (extension config tables). */
  extensionCondition: string | null;
  /**
   * COPY format: binary, unless a column's type (through domains, arrays and composites) has no
   * binary form, carries an OID (regclass and the other reg* types: the target's OIDs differ) or
   * does not read back its own binary form (an empty tsquery).
   */
  format: 'binary' | 'text';
  /** The single-column integer primary key, for verify's key-range samples; null without one. */
  intKey: string | null;
}

/** Types whose values must travel as text: every pg_catalog type whose binary form is an OID, and tsquery. */
const TEXT_ONLY_TYPES = [
  'regclass',
  'regproc',
  'regprocedure',
  'regoper',
  'regoperator',
  'regtype',
  'regconfig',
  'regdictionary',
  'regnamespace',
  'regrole',
  'regcollation',
  'tsquery',
];

/** One query: the tables whose data is copied (plain tables and leaf partitions, extension config tables). */
export async function listSourceTables(c: PgClient, versionNum: number): Promise<SourceTable[]> {
  const generated = versionNum >= 120000 ? "AND a.attgenerated = ''" : '';
  const r = await c.query<{
    schema: string;
    name: string;
    bytes: string;
    pages: number;
    rows: string;
    columns: string[];
    cond: string | null;
    text_only: boolean;
    int_key: string | null;
  }>(
    `WITH RECURSIVE cfg AS (
       SELECT unnest(extconfig) AS oid, unnest(extcondition) AS cond FROM pg_extension
     ), text_only(oid) AS (
       SELECT t.oid FROM pg_type t WHERE (t.typnamespace = 'pg_catalog'::regnamespace AND t.typname = ANY ($1::text[]))
          OR (t.typtype IN ('b', 'r', 'm') AND t.typelem = 0 AND (t.typsend = 0 OR t.typreceive = 0))
       UNION
       SELECT t.oid FROM pg_type t JOIN text_only x ON t.typbasetype = x.oid OR t.typelem = x.oid
           OR (t.typrelid <> 0 AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.atttypid = x.oid AND NOT a.attisdropped))
     )
     SELECT n.nspname AS schema, c.relname AS name, pg_relation_size(c.oid) AS bytes, c.relpages AS pages,
            greatest(c.reltuples, 0) AS rows, cfg.cond,
            coalesce((SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a
                       WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ${generated}), '[]') AS columns,
            (SELECT a.attname FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
              WHERE k.conrelid = c.oid AND k.contype = 'p' AND array_length(k.conkey, 1) = 1 AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)) AS int_key,
            EXISTS (SELECT 1 FROM pg_attribute a JOIN text_only x ON x.oid = a.atttypid WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS text_only
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN cfg ON cfg.oid = c.oid
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbferry') AND n.nspname NOT LIKE 'pg\\_toast%'
        AND n.nspname NOT LIKE 'pg\\_temp%'
        AND (cfg.oid IS NOT NULL OR NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'))
      ORDER BY pg_relation_size(c.oid) DESC, n.nspname, c.relname`,
    [TEXT_ONLY_TYPES],
  );
  return r.rows.map((row) => ({
    schema: row.schema,
    name: row.name,
    bytes: Number(row.bytes),
    pages: Number(row.pages),
    rows: Math.round(Number(row.rows)),
    columns: row.columns,
    extensionCondition: row.cond === null ? null : row.cond,
    format: row.text_only ? 'text' : 'binary',
    intKey: row.int_key,
  }));
}

export interface CopyPart {
  /** Block range [from, to) for split tables; null for the whole table. */
  blocks: { from: number; to: number | null } | null;
}

export function sourceCopySql(t: SourceTable, part: CopyPart, format: 'binary' | 'text'): string {
  const cols = t.columns.map(qi).join(', ');
  const where: string[] = [];
  if (part.blocks) {
    where.push(`ctid >= ${ql(`(${part.blocks.from},0)`)}::tid`);
    if (part.blocks.to !== null) where.push(`ctid < ${ql(`(${part.blocks.to},0)`)}::tid`);
  }
  if (t.extensionCondition) where.push(`(${t.extensionCondition.replace(/^\s*WHERE\s+/i, '')})`);
  const opts = format === 'binary' ? ' (FORMAT binary)' : '';
  // A table may have no columns at all (`CREATE TABLE z ()`): its rows are copied without a column list.
  if (where.length === 0) return `COPY ${qname(t.schema, t.name)}${cols ? ` (${cols})` : ''} TO STDOUT${opts}`;
  return `COPY (SELECT ${cols} FROM ONLY ${qname(t.schema, t.name)} WHERE ${where.join(' AND ')}) TO STDOUT${opts}`;
}

export function targetCopySql(t: SourceTable, format: 'binary' | 'text', freeze: boolean): string {
  const o = [format === 'binary' ? 'FORMAT binary' : '', freeze ? 'FREEZE' : ''].filter(Boolean);
  const cols = t.columns.map(qi).join(', ');
  return `COPY ${qname(t.schema, t.name)}${cols ? ` (${cols})` : ''} FROM STDIN${o.length ? ` (${o.join(', ')})` : ''}`;
}

/**
 * Streams one part. The caller owns the transactions: the source client is inside the snapshot
 * transaction; the target statement runs in the caller's transaction.
 */
export interface PartResult {
  bytes: number;
  /** Rows the source's COPY TO sent (its command tag). */
  rowsSent: number;
  /** Rows the target's COPY FROM loaded (its command tag). */
  rowsLoaded: number;
}

export async function streamPart(
  src: PgClient,
  tgt: PgClient,
  t: SourceTable,
  part: CopyPart,
  format: 'binary' | 'text',
  freeze: boolean,
  onBytes: (n: number) => void,
  limiter?: RateLimiter,
): Promise<PartResult> {
  try {
    const r = await relayCopies(src, tgt, sourceCopySql(t, part, format), targetCopySql(t, format, freeze), 1, { onBytes, limiter });
    const copy = r.copies[0] as RelayedCopy;
    return { bytes: copy.bytes, rowsSent: copy.rowsSent, rowsLoaded: copy.rowsLoaded };
  } catch (e) {
    throw e instanceof RelayError ? e.cause : e;
  }
}

/** Errors that mean "binary COPY cannot carry this table": retry it as text. */
export function isBinaryFormatError(e: unknown): boolean {
  const m = String((e as Error)?.message ?? '');
  return /no binary (input|output) function|insufficient data left in message|incorrect binary data format|wrong element type|binary data has array element type/i.test(
    m,
  );
}
