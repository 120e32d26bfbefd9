/** schema-objects: views (retried until their dependencies exist), routines, triggers and events, each with its own sql_mode. */
import type { MigrationConfig } from '../../../config/types.js';
import { DbferryError, messageOf } from '../../../util/errors.js';
import { connectMysql, rows, type MyConnection } from '../connect.js';
import { qi } from '../sql.js';
import type { MyStep } from './context.js';

export const schemaObjects: MyStep = {
  async run(ctx, io) {
    io.report('creating views, routines, triggers and events');
    await createObjects(ctx.run.cfg, ctx.run.database);
  },
};

async function createObjects(cfg: MigrationConfig, db: string): Promise<void> {
  const src = await connectMysql('source', cfg.source, { database: db });
  const tgt = await connectMysql('target', cfg.target, { database: db });
  try {
    const views = (
      await rows<{ t: string }>(src, `SELECT TABLE_NAME AS t FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`, [
        db,
      ])
    ).map((r) => r.t);
    const ddl = new Map<string, string>();
    for (const v of views) {
      const [row] = await rows<Record<string, string>>(src, `SHOW CREATE VIEW ${qi(db)}.${qi(v)}`);
      ddl.set(v, row?.['Create View'] as string);
    }
    let pending = [...views];
    while (pending.length) {
      const failed: string[] = [];
      let lastError: unknown;
      for (const v of pending) {
        try {
          await tgt.query(ddl.get(v) as string);
        } catch (e) {
          failed.push(v);
          lastError = e;
        }
      }
      if (failed.length === pending.length)
        throw new DbferryError('MIGRATION_FAILED', `creating view(s) ${failed.join(', ')} failed: ${messageOf(lastError)}`);
      pending = failed;
    }
    const routines = await rows<{ n: string; k: string }>(
      src,
      `SELECT ROUTINE_NAME AS n, ROUTINE_TYPE AS k FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY 1`,
      [db],
    );
    for (const r of routines) {
      const [row] = await rows<Record<string, string>>(src, `SHOW CREATE ${r.k} ${qi(db)}.${qi(r.n)}`);
      await withSqlMode(tgt, row?.sql_mode ?? '', row?.[r.k === 'FUNCTION' ? 'Create Function' : 'Create Procedure'] as string);
    }
    const triggers = await rows<{ n: string }>(
      src,
      `SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY ACTION_ORDER, TRIGGER_NAME`,
      [db],
    );
    for (const t of triggers) {
      const [row] = await rows<Record<string, string>>(src, `SHOW CREATE TRIGGER ${qi(db)}.${qi(t.n)}`);
      await withSqlMode(tgt, row?.sql_mode ?? '', row?.['SQL Original Statement'] as string);
    }
    const events = await rows<{ n: string }>(
      src,
      `SELECT EVENT_NAME AS n FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY 1`,
      [db],
    );
    for (const ev of events) {
      const [row] = await rows<Record<string, string>>(src, `SHOW CREATE EVENT ${qi(db)}.${qi(ev.n)}`);
      await withSqlMode(tgt, row?.sql_mode ?? '', row?.['Create Event'] as string);
    }
  } finally {
    await Promise.all([src.end().catch(() => undefined), tgt.end().catch(() => undefined)]);
  }
}

async function withSqlMode(c: MyConnection, mode: string, sql: string): Promise<void> {
  await c.query('SET SESSION sql_mode = ?', [mode]);
  await c.query(sql);
}
