/** schema-pre-data: the tables, from SHOW CREATE TABLE on the snapshot (with their AUTO_INCREMENT), foreign key checks off. */
import { DbferryError } from '../../../util/errors.js';
import { tableWanted } from '../../selection.js';
import { connectMysql, rows, type MyConnection } from '../connect.js';
import type { CopyColumn } from '../copy.js';
import { transferForm, type Flavor } from '../dialect.js';
import { qi } from '../sql.js';
import type { MyDatabaseContext, MyStep, MyTable } from './context.js';

/** How a column is copied; a type not known to round-trip stops the run (the check names it first). */
function copyColumn(flavor: Flavor, db: string, c: { t: string; c: string; ty: string }): CopyColumn {
  const form = transferForm(flavor, c.ty);
  if (!form) {
    throw new DbferryError('MIGRATION_FAILED', `column ${db}.${c.t}.${c.c} has type ${c.ty}, which dbferry cannot copy exactly`, {
      hint: 'Exclude the table with tables.skip, or convert the column.',
    });
  }
  return { name: c.c, form };
}

/** The database's tables on the snapshot, largest first, with how each column is copied and the integer key. */
async function readTables(first: MyConnection, db: string): Promise<MyTable[]> {
  const tables = await rows<{ t: string; bytes: string }>(
    first,
    `SELECT TABLE_NAME AS t, DATA_LENGTH + INDEX_LENGTH AS bytes FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY DATA_LENGTH DESC, TABLE_NAME`,
    [db],
  );
  const cols = await rows<{ t: string; c: string; g: string; ty: string }>(
    first,
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, EXTRA AS g, DATA_TYPE AS ty FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    [db],
  );
  // Integer single-column primary keys allow a big table to be copied in key ranges in parallel.
  const pks = await rows<{ t: string; c: string; ty: string }>(
    first,
    `SELECT k.TABLE_NAME AS t, MIN(k.COLUMN_NAME) AS c, MIN(col.DATA_TYPE) AS ty FROM information_schema.KEY_COLUMN_USAGE k
       JOIN information_schema.COLUMNS col ON col.TABLE_SCHEMA = k.TABLE_SCHEMA AND col.TABLE_NAME = k.TABLE_NAME AND col.COLUMN_NAME = k.COLUMN_NAME
      WHERE k.TABLE_SCHEMA = ? AND k.CONSTRAINT_NAME = 'PRIMARY' GROUP BY k.TABLE_NAME HAVING COUNT(*) = 1`,
    [db],
  );
  const [version] = await rows<{ v: string }>(first, 'SELECT VERSION() AS v');
  const flavor = /mariadb/i.test(version?.v ?? '') ? 'mariadb' : 'mysql';
  return tables.map((t) => ({
    name: t.t,
    bytes: Number(t.bytes ?? 0),
    columns: cols.filter((c) => c.t === t.t && !/GENERATED/i.test(c.g)).map((c) => copyColumn(flavor, db, c)),
    intKey: pks.find((p) => p.t === t.t && /int$/i.test(p.ty))?.c ?? null,
  }));
}

async function loadTables(ctx: MyDatabaseContext): Promise<void> {
  const { cfg, database: db } = ctx.run;
  ctx.tables = await readTables(ctx.workers[0] as MyConnection, db);
  ctx.copyList = ctx.tables.filter((t) => tableWanted(cfg, db, null, t.name));
}

export const preData: MyStep = {
  async run(ctx) {
    const { cfg, database: db, record } = ctx.run;
    await loadTables(ctx);
    const first = ctx.workers[0] as MyConnection;
    const tgt = await connectMysql('target', cfg.target, { database: db });
    try {
      await tgt.query('SET SESSION foreign_key_checks = 0, unique_checks = 0');
      await tgt.query("SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'");
      for (const t of ctx.tables) {
        const [row] = await rows<Record<string, string>>(first, `SHOW CREATE TABLE ${qi(db)}.${qi(t.name)}`);
        await tgt.query(row?.['Create Table'] as string);
      }
    } finally {
      await tgt.end().catch(() => undefined);
    }
    await record.save({
      tablesTotal: ctx.tables.length,
      tablesQueued: ctx.tables.length,
      bytesTotal: ctx.tables.reduce((a, t) => a + t.bytes, 0),
    });
  },
};
