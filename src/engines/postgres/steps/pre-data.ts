/**
 * schema-pre-data: the database-level part of pg_dump's pre-data, then the rest in dump order:
 * batches of objects, each committed on its own, their tables handed to copy-data as soon as it
 * commits; small plain tables handed over as units that a copy worker creates, fills and indexes
 * in one transaction; before an entry that names a unit, a wait until the unit is committed. The
 * step ends when every unit exists, so a recorded schema-pre-data means the whole schema is there.
 */
import { DbferryError, messageOf } from '../../../util/errors.js';
import { redact } from '../../../util/redact.js';
import { abortable } from '../../../util/abort.js';
import { connectPg, type PgClient } from '../connect.js';
import { describeSkipped, filterStatements, type DumpEntry, type SkippedStatement } from '../dump-script.js';
import { PROLOG } from './workers.js';
import type { PgDatabaseContext, PgStep } from './context.js';
import type { SchemaScript } from './schema-script.js';

async function runBatch(c: PgClient, sql: string): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query(sql);
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

async function runItems(ctx: PgDatabaseContext, c: PgClient, script: SchemaScript, skipped: SkippedStatement[]): Promise<void> {
  const { cfg, probe, signal } = ctx.run;
  let batches = 0;
  for (const item of script.items) {
    signal.throwIfAborted();
    if (item.kind === 'await') {
      await abortable(ctx.units.whenCreated(item.tables), signal);
      continue;
    }
    const filter = (entries: DumpEntry[]): string => {
      const f = filterStatements(entries, script.targetRoles, cfg.extensions.exclude);
      skipped.push(...f.skipped);
      return f.sql;
    };
    if (item.kind === 'unit') {
      const { schema, name, table, indexes } = item.unit;
      ctx.units.expect(schema, name);
      ctx.tablesReady.push([{ schema, name, unit: { create: filter([table]), indexes: filter(indexes) } }]);
      continue;
    }
    const sql = filter(item.batch.entries);
    if (sql) await runBatch(c, sql);
    ctx.tablesReady.push(item.batch.tables);
    if (++batches === 1) await probe.at('mid-schema');
  }
}

export const preData: PgStep = {
  async run(ctx, io) {
    const { cfg, database: db, signal } = ctx.run;
    io.report('creating the schema (pg_dump --section=pre-data)');
    const script = await ctx.script();
    const skipped = [...script.skipped];
    const c = await connectPg('target', cfg.target, { database: db, settings: { statement_timeout: '0', synchronous_commit: 'off' } });
    try {
      if (script.header.sql) await c.query(script.header.sql);
      await c.query(PROLOG);
      await runItems(ctx, c, script, skipped);
    } catch (e) {
      if (signal.aborted) throw e;
      throw new DbferryError('MIGRATION_FAILED', `creating the schema of "${db}" on the target failed: ${redact(messageOf(e))}`, {
        cause: e,
      });
    } finally {
      await c.end().catch(() => undefined);
    }
    // Every unit committed: the schema is complete (what makes resuming after this step safe).
    await abortable(ctx.units.whenCreated(), signal);
    for (const line of describeSkipped(skipped)) io.report(line);
  },
};
