/**
 * At cutover, once writes are stopped and the target has applied everything: the data logical
 * replication does not carry is made equal. Tables without a key (replicated by their inserts
 * only), unlogged tables (not replicated) and large objects (not replicated) are compared by
 * checksum; a table that differs, because UPDATE or DELETE changed it since the copy, is copied
 * again (TRUNCATE + COPY in one target transaction).
 */
import type { MigrationConfig } from '../../config/types.js';
import { DbferryError } from '../../util/errors.js';
import { connectPg, type PgClient } from './connect.js';
import { listSourceTables, streamPart, type SourceTable } from './copy.js';
import { resyncLargeObjects } from './large-objects.js';
import { STABLE_OUTPUT } from './steps/workers.js';
import { tableWanted } from '../selection.js';
import { qname } from './sql.js';
import { verifySql } from './verify.js';

export interface ResyncReport {
  /** Tables copied again, as schema.table. */
  recopied: string[];
  /** Tables compared and found equal. */
  unchanged: string[];
  largeObjects: { copied: number; removed: number };
}

/** The copied tables that logical replication does not fully carry: unlogged, or without a key (unless replicaIdentityFull). */
async function unreplicatedTables(c: PgClient, cfg: MigrationConfig, db: string): Promise<SourceTable[]> {
  const v = Number((await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]?.v ?? 0);
  const picked = await c.query<{ s: string; t: string }>(
    `SELECT n.nspname AS s, c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND (c.relpersistence = 'u'
         OR (c.relpersistence = 'p' AND NOT $1 AND (c.relreplident = 'n' OR (c.relreplident = 'd' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)))))`,
    [cfg.replication.replicaIdentityFull],
  );
  const names = new Set(picked.rows.map((r) => `${r.s}\u0000${r.t}`));
  return (await listSourceTables(c, v)).filter((t) => tableWanted(cfg, db, t.schema, t.name) && names.has(`${t.schema}\u0000${t.name}`));
}

async function recopy(src: PgClient, tgt: PgClient, t: SourceTable): Promise<void> {
  await tgt.query('BEGIN');
  try {
    await tgt.query(`TRUNCATE ONLY ${qname(t.schema, t.name)}`);
    const r = await streamPart(src, tgt, t, { blocks: null }, t.format, false, () => undefined);
    if (r.rowsSent !== r.rowsLoaded)
      throw new DbferryError(
        'MIGRATION_FAILED',
        `re-copying ${t.schema}.${t.name}: the source sent ${r.rowsSent} rows, the target loaded ${r.rowsLoaded}`,
      );
    await tgt.query('COMMIT');
  } catch (e) {
    await tgt.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

export async function resyncUnreplicated(cfg: MigrationConfig, db: string): Promise<ResyncReport> {
  const src = await connectPg('source', cfg.source, { database: db, readOnly: true, settings: STABLE_OUTPUT });
  try {
    const tgt = await connectPg('target', cfg.target, { database: db, settings: STABLE_OUTPUT });
    try {
      const report: ResyncReport = { recopied: [], unchanged: [], largeObjects: { copied: 0, removed: 0 } };
      for (const t of await unreplicatedTables(src, cfg, db)) {
        const sql = verifySql(t, true);
        const [a, b] = await Promise.all([src.query<{ n: string; h: string }>(sql), tgt.query<{ n: string; h: string }>(sql)]);
        const same = a.rows[0]?.n === b.rows[0]?.n && a.rows[0]?.h === b.rows[0]?.h;
        if (same) report.unchanged.push(`${t.schema}.${t.name}`);
        else {
          await recopy(src, tgt, t);
          report.recopied.push(`${t.schema}.${t.name}`);
        }
      }
      report.largeObjects = await resyncLargeObjects(src, tgt);
      return report;
    } finally {
      await tgt.end().catch(() => undefined);
    }
  } finally {
    await src.end().catch(() => undefined);
  }
}
