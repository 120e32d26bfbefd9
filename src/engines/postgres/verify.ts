/** Verify: row counts (and checksums) per table, source on the copy's snapshot vs target. */
import { WorkPool } from '../../util/pool.js';
import type { PgClient } from './connect.js';
import type { SourceTable } from './copy.js';
import { qi, qname } from './sql.js';

export interface VerifyMismatch {
  table: string;
  detail: string;
}

/** The per-table query: count, and an order-independent sum of 60-bit row hashes. */
export function verifySql(t: SourceTable, checksums: boolean): string {
  const cols = t.columns.map(qi).join(', ');
  const cond = t.extensionCondition ? ` ${/^\s*WHERE/i.test(t.extensionCondition) ? t.extensionCondition : `WHERE ${t.extensionCondition}`}` : '';
  const from = `(SELECT ${cols || 'NULL'} FROM ONLY ${qname(t.schema, t.name)}${cond}) r`;
  if (!checksums) return `SELECT count(*)::text AS n, '' AS h FROM ${from}`;
  return `SELECT count(*)::text AS n, coalesce(sum(('x' || substr(md5(r::text), 1, 15))::bit(60)::bigint), 0)::text AS h FROM ${from}`;
}

export async function verifyTables<W extends { src: PgClient; tgt: PgClient }>(
  tables: SourceTable[],
  mode: 'counts' | 'checksums',
  jobs: number,
  open: () => Promise<W>,
  close: (w: W, failed: boolean) => Promise<void>,
  signal?: AbortSignal,
): Promise<VerifyMismatch[]> {
  const out: VerifyMismatch[] = [];
  if (tables.length === 0) return out;
  const pool = new WorkPool<W>({ workers: Math.min(jobs, tables.length), create: open, release: close, ...(signal ? { signal } : {}) });
  for (const t of tables) {
    pool.add({
      label: `verify ${t.schema}.${t.name}`,
      run: async (w) => {
        const sql = verifySql(t, mode === 'checksums');
        const [a, b] = await Promise.all([w.src.query<{ n: string; h: string }>(sql), w.tgt.query<{ n: string; h: string }>(sql)]);
        const s = a.rows[0];
        const g = b.rows[0];
        if (s?.n !== g?.n) out.push({ table: `${t.schema}.${t.name}`, detail: `${s?.n} rows on the source, ${g?.n} on the target` });
        else if (s?.h !== g?.h) out.push({ table: `${t.schema}.${t.name}`, detail: 'checksum differs' });
      },
    });
  }
  pool.close();
  await pool.run();
  return out.sort((x, y) => x.table.localeCompare(y.table));
}
