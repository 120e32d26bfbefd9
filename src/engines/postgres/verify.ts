/** Verify: row counts and checksums per table (see verify-policy), source vs target. */
import type { VerifyMode } from '../../config/types.js';
import { WorkPool } from '../../util/pool.js';
import { rangesCondition, sampleRanges, tableVerify, type KeySpan } from '../verify-policy.js';
import type { PgClient } from './connect.js';
import type { SourceTable } from './copy.js';
import { qi, qname } from './sql.js';

export interface VerifyMismatch {
  table: string;
  detail: string;
}

export interface VerifyOptions {
  mode: VerifyMode;
  sampleAbove: number;
}

/** The rows of a table a verify reads: all of them (extension config tables: the user rows). */
function rowsOf(t: SourceTable): string {
  const cols = t.columns.map(qi).join(', ');
  const cond = t.extensionCondition
    ? ` ${/^\s*WHERE/i.test(t.extensionCondition) ? t.extensionCondition : `WHERE ${t.extensionCondition}`}`
    : '';
  return `(SELECT ${cols} FROM ONLY ${qname(t.schema, t.name)}${cond}) r`;
}

/** Count, and an order-independent sum of 60-bit row hashes (of the rows in `ranges` when given). */
export function verifySql(t: SourceTable, checksums: boolean, ranges?: KeySpan[]): string {
  if (!checksums) return `SELECT count(*)::text AS n, '' AS h FROM ${rowsOf(t)}`;
  const hash = `('x' || substr(md5(r::text), 1, 15))::bit(60)::bigint`;
  if (!ranges || !t.intKey) return `SELECT count(*)::text AS n, coalesce(sum(${hash}), 0)::text AS h FROM ${rowsOf(t)}`;
  const cols = t.columns.map(qi).join(', ');
  const sampled = `(SELECT ${cols} FROM ONLY ${qname(t.schema, t.name)} WHERE ${rangesCondition(qi(t.intKey), ranges)}) r`;
  return `SELECT (SELECT count(*) FROM ONLY ${qname(t.schema, t.name)})::text AS n, (SELECT count(*) || ':' || coalesce(sum(${hash}), 0) FROM ${sampled}) AS h`;
}

async function keyRangesOf(c: PgClient, t: SourceTable, sampleAbove: number): Promise<KeySpan[]> {
  const key = qi(t.intKey as string);
  const r = (
    await c.query<{ lo: string | null; hi: string | null }>(
      `SELECT min(${key})::text AS lo, max(${key})::text AS hi FROM ONLY ${qname(t.schema, t.name)}`,
    )
  ).rows[0];
  if (!r?.lo || !r.hi) return [];
  return sampleRanges(BigInt(r.lo), BigInt(r.hi), sampleAbove / Math.max(1, t.bytes));
}

export async function verifyTables<W extends { src: PgClient; tgt: PgClient }>(
  tables: SourceTable[],
  opts: VerifyOptions,
  jobs: number,
  open: () => Promise<W>,
  close: (w: W, failed: boolean) => Promise<void>,
  signal?: AbortSignal,
): Promise<VerifyMismatch[]> {
  const out: VerifyMismatch[] = [];
  const checked = tables.filter((t) => tableVerify(opts.mode, t, opts.sampleAbove) !== 'none');
  if (checked.length === 0) return out;
  const pool = new WorkPool<W>({ workers: Math.min(jobs, checked.length), create: open, release: close, ...(signal ? { signal } : {}) });
  for (const t of checked) {
    pool.add({
      label: `verify ${t.schema}.${t.name}`,
      run: async (w) => {
        const kind = tableVerify(opts.mode, t, opts.sampleAbove);
        const ranges = kind === 'sample' ? await keyRangesOf(w.src, t, opts.sampleAbove) : undefined;
        const sql = verifySql(t, kind !== 'counts', ranges);
        const [a, b] = await Promise.all([w.src.query<{ n: string; h: string }>(sql), w.tgt.query<{ n: string; h: string }>(sql)]);
        const s = a.rows[0];
        const g = b.rows[0];
        if (s?.n !== g?.n) out.push({ table: `${t.schema}.${t.name}`, detail: `${s?.n} rows on the source, ${g?.n} on the target` });
        else if (s?.h !== g?.h)
          out.push({
            table: `${t.schema}.${t.name}`,
            detail: kind === 'sample' ? `checksum of the rows in ${ranges?.length ?? 0} sampled key ranges differs` : 'checksum differs',
          });
      },
    });
  }
  pool.close();
  await pool.run();
  return out.sort((x, y) => x.table.localeCompare(y.table));
}
