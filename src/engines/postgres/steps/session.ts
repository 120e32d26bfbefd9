/**
 * A PostgreSQL database's run: the context its steps share, and the step modules by kind.
 * Opening it finds pg_dump, opens the source connection that holds the snapshot and, for a
 * database that starts over, removes what the interrupted run left.
 */
import { DbferryError, messageOf } from '../../../util/errors.js';
import { redact } from '../../../util/redact.js';
import { formatBytes, formatDuration } from '../../../util/sizes.js';
import { Handoff } from '../../../util/handoff.js';
import { UnitTracker } from './units.js';
import type { DatabaseRun, DatabaseSession } from '../../engine.js';
import { migrationError } from '../../server-error.js';
import type { StepKind } from '../../steps.js';
import { connectPg, withPg, type PgClient } from '../connect.js';
import { dropSourceObjects, dropSubscription } from '../replication.js';
import { replicationObjectName } from '../replication-sql.js';
import { qi } from '../sql.js';
import { findTool } from '../tools.js';
import { analyze } from './analyze.js';
import type { PgDatabaseContext, PgStep, SourceDatabase } from './context.js';
import { copyData } from './copy-data.js';
import { createDatabase } from './create-database.js';
import { largeObjects } from './large-objects.js';
import { postData } from './post-data.js';
import { preData } from './pre-data.js';
import { publication } from './publication.js';
import { loadSchemaScript, type SchemaScript } from './schema-script.js';
import { sequences } from './sequences.js';
import { slotSnapshot } from './slot.js';
import { exportSnapshot } from './snapshot.js';
import { subscription } from './subscription.js';
import { verify } from './verify.js';

const STEPS: Partial<Record<StepKind, PgStep>> = {
  'create-database': createDatabase,
  snapshot: exportSnapshot,
  publication,
  'slot-snapshot': slotSnapshot,
  'schema-pre-data': preData,
  'copy-data': copyData,
  'schema-post-data': postData,
  sequences,
  'large-objects': largeObjects,
  analyze,
  verify,
  subscription,
};

/** pg_dump of a major at least the source's. */
async function pgDumpFor(run: DatabaseRun, major: number): Promise<string> {
  const tool = await findTool('pg_dump', major, run.env, run.pgbin);
  if (!tool.best)
    throw new DbferryError('TOOL_MISSING', `no pg_dump of major >= ${major} found`, {
      hint: `Install postgresql-client-${major} or pass --pgbin.`,
    });
  return tool.best.path;
}

/** The source database's version, encoding, collation and block size. */
async function sourceDatabase(exporter: PgClient): Promise<SourceDatabase> {
  const facts = (
    await exporter.query<{ v: string; enc: string; collate: string; ctype: string; bs: string }>(
      `SELECT current_setting('server_version_num') AS v, pg_encoding_to_char(encoding) AS enc, datcollate AS collate, datctype AS ctype,
              current_setting('block_size') AS bs FROM pg_database WHERE datname = current_database()`,
    )
  ).rows[0];
  return {
    versionNum: Number(facts?.v ?? 0),
    encoding: facts?.enc ?? 'UTF8',
    collate: facts?.collate ?? 'C',
    ctype: facts?.ctype ?? 'C',
    blockSize: Number(facts?.bs ?? 8192),
  };
}

/** The copy of a replicated database belongs to its slot's snapshot: an interrupted one starts over. */
async function startOver(run: DatabaseRun, objectName: string): Promise<void> {
  const { cfg, database: db } = run;
  await dropSubscription(cfg, db, objectName);
  await dropSourceObjects(cfg, db, objectName);
  await withPg('target', cfg.target, {}, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${qi(db)} WITH (FORCE)`);
  });
}

export async function openPgDatabase(run: DatabaseRun): Promise<DatabaseSession> {
  const objectName = replicationObjectName(run.cfg.name, run.database);
  if (run.restart) await startOver(run, objectName);
  const exporter = await connectPg('source', run.cfg.source, {
    database: run.database,
    readOnly: true,
    settings: { idle_in_transaction_session_timeout: '0', statement_timeout: '0' },
    applicationName: 'dbferry-snapshot',
  });
  let source: SourceDatabase;
  let pgDump: string;
  try {
    source = await sourceDatabase(exporter);
    pgDump = await pgDumpFor(run, Math.floor(source.versionNum / 10000));
  } catch (e) {
    await exporter.end().catch(() => undefined);
    throw e;
  }
  let script: Promise<SchemaScript> | undefined;
  const ctx: PgDatabaseContext = {
    run,
    pgDump,
    objectName,
    exporter,
    source,
    snapshot: '',
    slot: undefined,
    script: () => (script ??= loadSchemaScript(ctx, run.running.has(`${run.database}:schema-pre-data`))),
    tablesReady: new Handoff(),
    units: new UnitTracker(),
    analyzed: new Set(),
    startedAt: Date.now(),
  };
  // Without schema-pre-data in this run, every table exists already.
  if (!run.running.has(`${run.database}:schema-pre-data`)) ctx.tablesReady.close();
  return pgSession(ctx);
}

function pgSession(ctx: PgDatabaseContext): DatabaseSession {
  const { run } = ctx;
  const repl = run.method === 'replication';
  return {
    async runStep(step, io) {
      const module = STEPS[step.kind];
      if (!module) throw new DbferryError('MIGRATION_FAILED', `PostgreSQL has no step "${step.kind}"`);
      try {
        await module.run(ctx, io);
      } finally {
        if (step.kind === 'schema-pre-data') ctx.tablesReady.close();
      }
    },
    async finish() {
      if (repl) return `replicating: subscription ${ctx.objectName} streams the source's changes until cutover`;
      await run.record.save({ phase: 'verified', status: 'done', error: null });
      // The tables of the whole copy, this run's and those an earlier run finished.
      const { copyList } = await ctx.script();
      const bytes = copyList.reduce((a, t) => a + t.bytes, 0);
      return `done: ${copyList.length} table(s), ${formatBytes(bytes)} in ${formatDuration((Date.now() - ctx.startedAt) / 1000)}`;
    },
    async fail(caught) {
      const e = migrationError(caught, run.database, repl ? 'an online copy starts over' : 'finished tables are not copied again');
      await run.record.save({ status: 'failed', error: redact(messageOf(e)) }).catch(() => undefined);
      if (repl) {
        // A failed online copy leaves no slot, publication or subscription behind.
        await ctx.slot?.conn.end().catch(() => undefined);
        await dropSubscription(run.cfg, run.database, ctx.objectName).catch(() => undefined);
        await dropSourceObjects(run.cfg, run.database, ctx.objectName).catch(() => undefined);
      }
      return e;
    },
    async close() {
      await ctx.slot?.conn.end().catch(() => undefined);
      await ctx.exporter.query('COMMIT').catch(() => undefined);
      await ctx.exporter.end().catch(() => undefined);
    },
  };
}
