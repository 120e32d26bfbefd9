/**
 * schema-pre-data: the database-level part of pg_dump's pre-data, then the rest in batches of
 * tables, each committed on its own, each batch's tables handed to copy-data as soon as it commits.
 * Batches are atomic, so a resumed run skips a batch whose objects the interrupted run committed.
 */
import { DbferryError, messageOf } from '../../../util/errors.js';
import { redact } from '../../../util/redact.js';
import { connectPg, type PgClient } from '../connect.js';
import { describeSkipped, filterStatements } from '../dump-script.js';
import { PROLOG } from './workers.js';
import type { PgStep } from './context.js';

/** "Already exists" errors: on resume, a schema batch failing with one was committed by the earlier run. */
const ALREADY_EXISTS = new Set(['42P07', '42710', '42P06', '42723', '42701']);

async function runBatch(c: PgClient, sql: string, resuming: boolean): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query(sql);
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    if (resuming && ALREADY_EXISTS.has((e as { code?: string }).code ?? '')) return;
    throw e;
  }
}

export const preData: PgStep = {
  async run(ctx, io) {
    const { cfg, database: db, probe, signal } = ctx.run;
    io.report('creating the schema (pg_dump --section=pre-data)');
    const script = await ctx.script();
    const skipped = [...script.skipped];
    const c = await connectPg('target', cfg.target, { database: db, settings: { statement_timeout: '0', synchronous_commit: 'off' } });
    try {
      if (script.header.sql) await c.query(script.header.sql);
      await c.query(PROLOG);
      for (const [i, batch] of script.batches.entries()) {
        signal.throwIfAborted();
        const f = filterStatements(batch.entries, script.targetRoles, cfg.extensions.exclude);
        skipped.push(...f.skipped);
        if (f.sql) await runBatch(c, f.sql, ctx.run.resuming);
        ctx.tablesReady.push(batch.tables);
        if (i === 0 && script.batches.length > 1) await probe.at('mid-schema');
      }
    } catch (e) {
      if (signal.aborted) throw e;
      throw new DbferryError('MIGRATION_FAILED', `creating the schema of "${db}" on the target failed: ${redact(messageOf(e))}`, {
        cause: e,
      });
    } finally {
      await c.end().catch(() => undefined);
    }
    for (const line of describeSkipped(skipped)) io.report(line);
  },
};
