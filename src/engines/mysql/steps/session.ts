/**
 * A MySQL database's run: the context its steps share, and the step modules by kind. A database
 * that starts over loses what the interrupted run created (and, online, the replica it started).
 */
import { DbferryError, messageOf } from '../../../util/errors.js';
import { redact } from '../../../util/redact.js';
import { formatBytes, formatDuration } from '../../../util/sizes.js';
import type { DatabaseRun, DatabaseSession } from '../../engine.js';
import { migrationError } from '../../server-error.js';
import type { StepKind } from '../../steps.js';
import { connectMysql } from '../connect.js';
import { removeReplica } from '../replication.js';
import { qi } from '../sql.js';
import type { MyDatabaseContext, MyStep } from './context.js';
import { copyData } from './copy-data.js';
import { createDatabase } from './create-database.js';
import { schemaObjects } from './objects.js';
import { preData } from './pre-data.js';
import { snapshot } from './snapshot.js';
import { verify } from './verify.js';

const STEPS: Partial<Record<StepKind, MyStep>> = {
  'create-database': createDatabase,
  snapshot,
  'schema-pre-data': preData,
  'copy-data': copyData,
  'schema-objects': schemaObjects,
  verify,
};

export async function openMysqlDatabase(run: DatabaseRun): Promise<DatabaseSession> {
  const admin = await connectMysql('target', run.cfg.target, { multipleStatements: false });
  const control = await connectMysql('source', run.cfg.source).catch(async (e: unknown) => {
    await admin.end().catch(() => undefined);
    throw e;
  });
  if (run.restart) {
    // A replica an interrupted run started would write into the database being copied again.
    if (run.method === 'replication') await removeReplica(run.cfg);
    await admin.query(`DROP DATABASE IF EXISTS ${qi(run.database)}`);
  }
  const ctx: MyDatabaseContext = {
    run,
    admin,
    control,
    workers: [],
    position: '',
    tables: [],
    copyList: [],
    copiedBytes: 0,
    startedAt: Date.now(),
  };
  return {
    async runStep(step, io) {
      const module = STEPS[step.kind];
      if (!module) throw new DbferryError('MIGRATION_FAILED', `MySQL has no step "${step.kind}"`);
      await module.run(ctx, io);
    },
    async finish() {
      if (run.method === 'replication')
        return `copied at GTID ${ctx.position}; replication starts when every replicated database is copied`;
      await run.record.save({ phase: 'verified', status: 'done' });
      return `done: ${ctx.copyList.length} table(s), ${formatBytes(ctx.copiedBytes)} in ${formatDuration((Date.now() - ctx.startedAt) / 1000)}`;
    },
    async fail(caught) {
      const e = migrationError(caught, run.database, 'the database is copied again from the start');
      await run.record.save({ status: 'failed', error: redact(messageOf(e)) }).catch(() => undefined);
      // A failed copy can leave a LOAD DATA half sent on a worker: end() would wait for it.
      for (const w of ctx.workers.splice(0)) w.destroy();
      // A failed online copy leaves no replica configuration behind.
      if (run.method === 'replication') await removeReplica(run.cfg).catch(() => undefined);
      return e;
    },
    async close() {
      for (const w of ctx.workers) await w.query('COMMIT').catch(() => undefined);
      for (const w of ctx.workers) await w.end().catch(() => undefined);
      await Promise.all([admin.end().catch(() => undefined), control.end().catch(() => undefined)]);
    },
  };
}
