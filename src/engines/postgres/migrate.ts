/**
 * The dump method for one PostgreSQL database: create it, pre-data schema from pg_dump on the
 * copy's snapshot, table data streamed by parallel workers that all import one exported snapshot
 * (largest tables first, big ones split in block ranges), each table's indexes and constraints
 * built as soon as it is loaded, the rest of post-data, foreign keys last, sequences, large
 * objects, ANALYZE, verify. Every phase and table is recorded, so a re-run resumes.
 */
import type { MigrationConfig } from '../../config/types.js';
import { tableRefMatches } from '../../config/identifiers.js';
import { nameMatches, schemaWanted } from '../../config/patterns.js';
import type { DatabaseRecord, TableRecord } from '../../state/types.js';
import { newDatabaseRecord } from '../../state/records.js';
import { DbferryError, messageOf } from '../../util/errors.js';
import { WorkPool } from '../../util/pool.js';
import { crashPoint, failPoint, pausePoint } from '../../util/crash.js';
import { copyProgressLine } from '../progress.js';
import type { RateLimiter } from '../../util/rate-limit.js';
import { redact } from '../../util/redact.js';
import { migrationError } from '../server-error.js';
import { formatBytes, formatDuration } from '../../util/sizes.js';
import type { DatabaseRun } from '../engine.js';
import { connectPg, withPg, type PgClient } from './connect.js';
import {
  createPublication,
  createSlotWithSnapshot,
  createSubscription,
  dropSourceObjects,
  dropSubscription,
  targetChangeCounters,
  type SlotSnapshot,
} from './replication.js';
import { replicationObjectName } from './replication-sql.js';
import { isBinaryFormatError, listSourceTables, streamPart, type CopyPart, type PartResult, type SourceTable } from './copy.js';
import {
  batchPreData,
  classifyPostData,
  describeSkipped,
  inlineIndexes,
  filterStatements,
  type SkippedStatement,
  type TargetRoles,
  parseEntries,
  splitDump,
  statements,
  type PostDataItem,
  type PreDataBatch,
} from './dump-script.js';
import { runPgDump } from './pg-dump.js';
import { qi, qname, ql } from './sql.js';
import { verifyTables, type VerifyMismatch } from './verify.js';
import { readSequences, writeSequences } from './sequences.js';
import { copyLargeObject } from './large-objects.js';
import { databaseContents } from './discover.js';

export const PHASES = ['created', 'schema', 'data', 'post-data', 'finalized', 'syncing', 'verified'] as const;
export type Phase = (typeof PHASES)[number];

const PROLOG = [
  'SET statement_timeout = 0',
  'SET lock_timeout = 0',
  "SET client_encoding = 'UTF8'",
  'SET standard_conforming_strings = on',
  "SELECT pg_catalog.set_config('search_path', '', false)",
  'SET check_function_bodies = false',
  'SET xmloption = content',
  'SET client_min_messages = warning',
  'SET row_security = off',
].join(';\n');

/** Deterministic text output on both sides (checksums compare text). */
export const STABLE_OUTPUT = {
  TimeZone: 'UTC',
  DateStyle: 'ISO,YMD',
  IntervalStyle: 'postgres',
  extra_float_digits: '3',
  bytea_output: 'hex',
};
const BULK = {
  synchronous_commit: 'off',
  maintenance_work_mem: '256MB',
  statement_timeout: '0',
  lock_timeout: '0',
  idle_in_transaction_session_timeout: '0',
  ...STABLE_OUTPUT,
};
const TOLERATED_ON_RESUME = new Set(['42P07', '42710', '42P16', '42701']);
/** "Already exists" errors: on resume, a schema batch failing with one was committed by the earlier run. */
const ALREADY_EXISTS = new Set(['42P07', '42710', '42P06', '42723', '42701']);
/** Tables smaller than this get their simple indexes built empty, in the schema batch, before the load. */
const INLINE_INDEX_MAX = 1024 * 1024;
/** Tables per pre-data batch: small, so the first tables can be copied while the rest are created. */
const TABLES_PER_BATCH = 8;
/** Tables at least this big are loaded with TRUNCATE + COPY FREEZE (fewer writes afterwards). */
const FREEZE_MIN = 8 * 1024 * 1024;
/** Tables at least this big are analyzed on their own as soon as they are indexed. */
const ANALYZE_ALONE = 1024 * 1024;

export interface PgMigrateContext {
  pgDump: string;
  jobs: number;
}

interface Worker {
  src: PgClient;
  tgt: PgClient;
}

const now = (): string => new Date().toISOString();
const key = (schema: string, name: string): string => `${schema}\u0000${name}`;

/** Whether a table's data is copied: its schema selected, not skipped, included (when tables.include is set). */
export function wanted(cfg: MigrationConfig, db: string, t: { schema: string; name: string }): boolean {
  if (!schemaWanted(cfg.schemas, t.schema)) return false;
  const skip = cfg.tables.skip.some((r) => tableRefMatches(r, db, t.schema, t.name));
  if (skip) return false;
  const inc = cfg.tables.include.filter((r) => r.db === undefined || nameMatches(r.db, db, r.quoted?.db));
  return inc.length === 0 || inc.some((r) => tableRefMatches(r, db, t.schema, t.name));
}

/** `--exclude-schema="name"` for every schema schemas.include / exclude leaves out (quoted: matched literally). */
async function excludedSchemaArgs(c: PgClient, cfg: MigrationConfig): Promise<string[]> {
  if (cfg.schemas.include.length === 0 && cfg.schemas.exclude.length === 0) return [];
  const names = (
    await c.query<{ n: string }>(
      `SELECT nspname AS n FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' ORDER BY 1`,
    )
  ).rows.map((r) => r.n);
  return names.filter((n) => !schemaWanted(cfg.schemas, n)).map((n) => `--exclude-schema="${n.replace(/"/g, '""')}"`);
}

/** A source connection inside a transaction on the exported snapshot. */
async function openWorkerSource(cfg: MigrationConfig, db: string, snapshot: string): Promise<PgClient> {
  const src = await connectPg('source', cfg.source, {
    database: db,
    readOnly: true,
    settings: { ...STABLE_OUTPUT, idle_in_transaction_session_timeout: '0', statement_timeout: '0' },
    applicationName: 'dbferry-copy',
  });
  try {
    await src.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await src.query(`SET TRANSACTION SNAPSHOT ${ql(snapshot)}`);
    return src;
  } catch (e) {
    await src.end().catch(() => undefined);
    throw e;
  }
}

async function openWorker(cfg: MigrationConfig, db: string, snapshot: string): Promise<Worker> {
  const src = await openWorkerSource(cfg, db, snapshot);
  const tgt = await connectPg('target', cfg.target, { database: db, settings: BULK, applicationName: 'dbferry-load' }).catch(
    async (e: unknown) => {
      await src.end().catch(() => undefined);
      throw e;
    },
  );
  return { src, tgt };
}

function destroy(c: PgClient): void {
  // A failed COPY leaves the client mid-protocol: drop the socket rather than wait on it.
  (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

async function closeWorker(w: Worker, failed: boolean): Promise<void> {
  if (failed) {
    destroy(w.src);
    destroy(w.tgt);
  }
  await Promise.all([w.src.end().catch(() => undefined), w.tgt.end().catch(() => undefined)]);
}

async function exec(c: PgClient, sql: string, tolerant: boolean): Promise<void> {
  try {
    await c.query(sql);
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (tolerant && TOLERATED_ON_RESUME.has(code)) return;
    throw e;
  }
}

/**
 * One pre-data batch in its own transaction. Batches are atomic, so when resuming, a batch whose
 * objects already exist is one the interrupted run committed: it is skipped.
 */
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

export async function migratePostgresDatabase(run: DatabaseRun, ctx: PgMigrateContext): Promise<void> {
  const { cfg, database: db, store, signal } = run;
  let rec: DatabaseRecord =
    (await store.getDatabases(cfg.name)).find((d) => d.dbname === db) ?? newDatabaseRecord(cfg.name, db, run.method, null);
  let resuming = rec.phase !== null;
  const save = async (patch: Partial<DatabaseRecord>): Promise<void> => {
    rec = { ...rec, ...patch, updatedAt: now() };
    await store.upsertDatabase(rec);
  };
  const reached = (p: Phase): boolean => rec.phase !== null && PHASES.indexOf(rec.phase as Phase) >= PHASES.indexOf(p);
  const repl = run.method === 'replication';
  const objName = replicationObjectName(cfg.name, db);
  if (repl && reached('syncing')) {
    run.report(`already replicating (${objName})`);
    return;
  }
  if (repl && resuming) {
    // The copy of a replicated database belongs to its slot's snapshot: an interrupted one starts over.
    run.report('the earlier run stopped before replication started: starting this database over');
    await dropSubscription(cfg, db, objName);
    await dropSourceObjects(cfg, db, objName);
    await withPg('target', cfg.target, {}, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${qi(db)} WITH (FORCE)`);
    });
    await store.resetTables(cfg.name, db);
    rec = { ...rec, phase: null };
    resuming = false;
  }
  await save({ status: 'running', error: null, phase: rec.phase });
  let slot: SlotSnapshot | undefined;

  const exporter = await connectPg('source', cfg.source, {
    database: db,
    readOnly: true,
    settings: { idle_in_transaction_session_timeout: '0', statement_timeout: '0' },
    applicationName: 'dbferry-snapshot',
  });
  try {
    const facts = (
      await exporter.query<{ v: string; enc: string; collate: string; ctype: string; bs: string }>(
        `SELECT current_setting('server_version_num') AS v, pg_encoding_to_char(encoding) AS enc, datcollate AS collate, datctype AS ctype,
                current_setting('block_size') AS bs FROM pg_database WHERE datname = current_database()`,
      )
    ).rows[0];
    const versionNum = Number(facts?.v ?? 0);
    let snapshot: string;
    if (repl) {
      // The publication first (the slot decodes with the catalog of its consistent point), then the
      // slot, whose exported snapshot every copy worker and pg_dump imports.
      const pub = await publicationTables(cfg, db, (t) => wanted(cfg, db, t));
      if (pub.keyless.length)
        run.report(
          `replicated by their inserts (no primary key or replica identity; re-copied at cutover if UPDATE or DELETE changed them): ${pub.keyless.map((t) => `${t.schema}.${t.name}`).join(', ')}`,
        );
      // A run killed before it recorded anything may have left this migration's slot or publication.
      if (!resuming) await dropSourceObjects(cfg, db, objName);
      await withPg('source', cfg.source, { database: db }, (c) => createPublication(c, objName, pub.tables, pub.identityFull, pub.keyless));
      crashPoint(run.env, 'after-publication');
      run.report(`publication ${objName} created; creating the replication slot (waits for open write transactions on the source)`);
      slot = await createSlotWithSnapshot(cfg, db, objName);
      crashPoint(run.env, 'after-slot');
      snapshot = slot.snapshot;
      await exporter.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await exporter.query(`SET TRANSACTION SNAPSHOT ${ql(snapshot)}`);
      run.report(`replication slot ${objName} created at ${slot.consistentPoint}, snapshot ${snapshot}`);
    } else {
      await exporter.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      snapshot = (await exporter.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]?.s as string;
      run.report(`snapshot ${snapshot} exported`);
    }

    // 1. The database.
    if (!reached('created')) {
      const admin = await connectPg('target', cfg.target, { settings: { statement_timeout: '0' } });
      try {
        const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db])).rowCount === 1;
        if (exists && cfg.databases.overwrite) {
          run.report(`dropping the existing target database (overwrite: true)`);
          const tv = Number((await admin.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]?.v ?? 0);
          await admin.query(`DROP DATABASE ${qi(db)}${tv >= 130000 ? ' WITH (FORCE)' : ''}`);
        }
        if (exists && !cfg.databases.overwrite) {
          // The check saw it empty; something may have filled it since (another migration that
          // finished in between): never write into a database that is not empty.
          const contents = await withPg('target', cfg.target, { database: db, readOnly: true }, databaseContents);
          if (contents.objects > 0) {
            throw new DbferryError(
              'STATE_CONFLICT',
              `target database "${db}" is not empty any more (${contents.objects} objects appeared after the check); nothing was written to it`,
              {
                hint: 'Another process may have migrated it. Check it, then drop it or set databases.overwrite: true.',
              },
            );
          }
        }
        if (!exists || cfg.databases.overwrite) {
          await admin.query(
            `CREATE DATABASE ${qi(db)} WITH TEMPLATE template0 ENCODING ${ql(facts?.enc ?? 'UTF8')} LC_COLLATE ${ql(facts?.collate ?? 'C')} LC_CTYPE ${ql(facts?.ctype ?? 'C')}`,
          );
        }
      } finally {
        await admin.end().catch(() => undefined);
      }
      await save({ phase: 'created' });
      crashPoint(run.env, 'after-create');
    }

    const targetRoles = await withTargetRoles(cfg);
    // The post-data script is taken on the snapshot while the pre-data schema is being created.
    // Schemas left out by schemas.include / exclude: pg_dump neither creates nor fills them.
    const schemaArgs = await excludedSchemaArgs(exporter, cfg);
    const postDump = runPgDump(ctx.pgDump, cfg.source, db, ['--section=post-data', `--snapshot=${snapshot}`, ...schemaArgs], signal);
    postDump.catch(() => undefined);
    // 2. Pre-data schema: the database-level part now; the rest in batches of tables, each
    // committed on its own, so copying starts as soon as the first tables exist (below).
    let batches: PreDataBatch[] = [];
    const schemaSkipped: SkippedStatement[] = [];
    if (!reached('schema')) {
      run.report('creating the schema (pg_dump --section=pre-data)');
      const pre = splitDump(
        await runPgDump(ctx.pgDump, cfg.source, db, ['--section=pre-data', '--create', `--snapshot=${snapshot}`, ...schemaArgs], signal),
      );
      const header = filterStatements(
        pre.header
          .map((e) =>
            e.type === 'DATABASE'
              ? {
                  ...e,
                  sql: statements(e.sql)
                    .filter((s) => !/^CREATE DATABASE /.test(s))
                    .join('\n'),
                }
              : e,
          )
          .filter((e) => e.sql.trim() !== ''),
        targetRoles,
      );
      schemaSkipped.push(...header.skipped);
      const admin = await connectPg('target', cfg.target, {});
      try {
        if (header.sql) await admin.query(header.sql);
      } finally {
        await admin.end().catch(() => undefined);
      }
      batches = batchPreData(pre.body, TABLES_PER_BATCH);
    }

    // 3. Post-data script.
    const post = classifyPostData(parseEntries(await postDump)).map((p): PostDataItem => {
      const f = filterStatements([p.entry], targetRoles, cfg.extensions.exclude);
      schemaSkipped.push(...f.skipped);
      return { ...p, entry: { ...p.entry, sql: f.sql } };
    });
    const byTable = new Map<string, PostDataItem[]>();
    for (const p of post)
      if (p.phase === 'table' && p.table)
        byTable.set(key(p.table.schema, p.table.name), [...(byTable.get(key(p.table.schema, p.table.name)) ?? []), p]);

    const all = await listSourceTables(exporter, versionNum);
    const copyList = all.filter((t) => wanted(cfg, db, t));
    const doneTables = new Set((await store.getTables(cfg.name, db)).filter((t) => t.done).map((t) => key(t.schema, t.table)));
    const total = copyList.reduce((a, t) => a + t.bytes, 0);
    let copied = copyList.filter((t) => doneTables.has(key(t.schema, t.name))).reduce((a, t) => a + t.bytes, 0);
    let completed = copyList.filter((t) => doneTables.has(key(t.schema, t.name))).length;
    let loading = 0;
    await save({
      tablesTotal: copyList.length,
      tablesCompleted: completed,
      tablesQueued: copyList.length - completed,
      tablesLoading: 0,
      tablesErrored: 0,
      bytesTotal: total,
      bytesCopied: reached('data') ? total : copied,
    });
    const started = Date.now();
    let lastReport = 0;
    let lastSave = Date.now();
    const progress = (force = false): void => {
      const t = Date.now();
      if (!force && t - lastReport < 500) return;
      lastReport = t;
      const figures = {
        tablesDone: completed,
        tablesTotal: copyList.length,
        bytesCopied: copied,
        bytesTotal: total,
        elapsed: (t - started) / 1000,
        throttledTo: run.limiter?.throttled() && Number.isFinite(run.limiter.bytesPerSecond) ? run.limiter.bytesPerSecond : 0,
        paused: run.limiter?.pausedBy() ? 1 : 0,
      };
      run.report(copyProgressLine(figures, { pausedBy: run.limiter?.pausedBy() ?? null }), figures);
      if (t - lastSave > 2000) {
        lastSave = t;
        void save({
          bytesCopied: Math.min(copied, total),
          tablesCompleted: completed,
          tablesLoading: loading,
          tablesQueued: copyList.length - completed - loading,
        }).catch(() => undefined);
      }
    };

    // 4. Data, with each table's indexes and constraints as soon as it is loaded.
    const analyzed = new Set<string>();
    if (!reached('data')) {
      const pending = new Set(copyList.filter((t) => !doneTables.has(key(t.schema, t.name))).map((t) => key(t.schema, t.name)));
      // Done marks are written in batches; one lost in a crash only means that table is copied again.
      let marks: TableRecord[] = [];
      let flushing: Promise<void> = Promise.resolve();
      const flush = (): Promise<void> => {
        const batch = marks;
        marks = [];
        if (batch.length) flushing = flushing.then(() => store.upsertTables(batch));
        return flushing;
      };
      const flushTimer = setInterval(() => void flush().catch(() => undefined), 500);
      const analyzeAfter = (t: { schema: string; name: string; bytes: number }): void => {
        // Big tables are analyzed as soon as their indexes exist; small ones in batches at the end.
        if (t.bytes < ANALYZE_ALONE) return;
        analyzed.add(key(t.schema, t.name));
        pool.add(
          { label: `analyze ${t.schema}.${t.name}`, run: (w) => w.tgt.query(`ANALYZE ${qname(t.schema, t.name)}`).then(() => undefined) },
          true,
        );
      };
      const buildIndexes = (t: { schema: string; name: string; bytes: number }): void => {
        // An index may use a function or type of a later schema batch: wait for the whole schema.
        if (!schemaDone) {
          deferredIndexes.push(t);
          return;
        }
        const items = byTable.get(key(t.schema, t.name)) ?? [];
        let left = items.length;
        if (left === 0) analyzeAfter(t);
        for (const p of items) {
          pool.add(
            {
              label: `index ${p.entry.name}`,
              run: async (w) => {
                await exec(w.tgt, p.entry.sql, resuming);
                if (--left === 0) analyzeAfter(t);
              },
            },
            true,
          );
        }
      };
      const finishTable = async (t: SourceTable, r: PartResult): Promise<void> => {
        if (r.rowsSent !== r.rowsLoaded) {
          throw new DbferryError(
            'MIGRATION_FAILED',
            `verify failed for ${t.schema}.${t.name} in "${db}": the source sent ${r.rowsSent} rows, the target loaded ${r.rowsLoaded}`,
          );
        }
        marks.push({
          migration: cfg.name,
          dbname: db,
          schema: t.schema,
          table: t.name,
          done: true,
          rows: r.rowsLoaded,
          bytes: r.bytes,
          updatedAt: now(),
        });
        if (marks.length >= 100) void flush().catch(() => undefined);
        const nth = ++completed;
        loading--;
        progress(nth === copyList.length);
        if (run.env.DBFERRY_CRASH_AT === `after-table-${nth}`) {
          await flush();
          crashPoint(run.env, `after-table-${nth}`);
        }
        if (run.env.DBFERRY_PAUSE_AT === `after-table-${nth}`) {
          await flush();
          await pausePoint(run.env, `after-table-${nth}`, run.report, signal);
        }
        buildIndexes(t);
      };
      if (batches.length) {
        // Small tables get their simple keys and indexes with the table, in its schema batch.
        const small = new Set(
          copyList.filter((t) => t.bytes < INLINE_INDEX_MAX && pending.has(key(t.schema, t.name))).map((t) => key(t.schema, t.name)),
        );
        const inlined = inlineIndexes(batches, post, small);
        batches = inlined.batches;
        for (const [k, items] of byTable)
          byTable.set(
            k,
            items.filter((i) => !inlined.moved.has(i)),
          );
      }
      let schemaDone = false;
      const deferredIndexes: { schema: string; name: string; bytes: number }[] = [];
      const pool = new WorkPool<Worker>({
        workers: ctx.jobs,
        create: () => openWorker(cfg, db, snapshot),
        release: closeWorker,
        interrupt: (w) => {
          destroy(w.src);
          destroy(w.tgt);
        },
        ...(signal ? { signal } : {}),
      });
      const blockSize = Number(facts?.bs ?? 8192);
      const enqueueCopy = (t: SourceTable): void => {
        const split = t.bytes > cfg.copy.splitTablesLargerThan && versionNum >= 140000 && t.extensionCondition === null;
        if (!split) {
          pool.add({
            label: `copy ${t.schema}.${t.name}`,
            run: async (w) => {
              loading++;
              const r = await copyWholeTable(
                w,
                t,
                resuming || t.bytes >= FREEZE_MIN,
                (n) => {
                  copied += n;
                  progress();
                  // Kill point: rows are streaming into an uncommitted COPY, and a second table has started.
                  if (loading + completed >= Math.min(2, copyList.length)) crashPoint(run.env, 'mid-copy');
                },
                () => openWorkerSource(cfg, db, snapshot),
                run.limiter,
              );
              await finishTable(t, r);
            },
          });
          return;
        }
        const blocks = Math.ceil(t.bytes / blockSize);
        const nParts = Math.min(Math.ceil(t.bytes / cfg.copy.splitTablesLargerThan), ctx.jobs * 4);
        const per = Math.ceil(blocks / nParts);
        let remaining = nParts;
        let truncated: Promise<void> | undefined;
        const sum: PartResult = { bytes: 0, rowsSent: 0, rowsLoaded: 0 };
        for (let i = 0; i < nParts; i++) {
          const part: CopyPart = { blocks: { from: i * per, to: i === nParts - 1 ? null : (i + 1) * per } };
          pool.add({
            label: `copy ${t.schema}.${t.name} part ${i + 1}/${nParts}`,
            run: async (w) => {
              if (i === 0) loading++;
              truncated ??= w.tgt.query(`TRUNCATE ONLY ${qname(t.schema, t.name)}`).then(() => undefined);
              await truncated;
              await w.tgt.query('BEGIN');
              try {
                const r = await streamPart(
                  w.src,
                  w.tgt,
                  t,
                  part,
                  t.format,
                  false,
                  (n) => {
                    copied += n;
                    progress();
                  },
                  run.limiter,
                );
                await w.tgt.query('COMMIT');
                sum.bytes += r.bytes;
                sum.rowsSent += r.rowsSent;
                sum.rowsLoaded += r.rowsLoaded;
              } catch (e) {
                await w.tgt.query('ROLLBACK').catch(() => undefined);
                throw e;
              }
              if (--remaining === 0) await finishTable(t, sum);
            },
          });
        }
      };

      // Tables are copied as their schema batch commits; everything else (indexes of tables not
      // copied now, deferred index builds) waits for the whole schema, which they may depend on.
      const unreleased = new Map(copyList.filter((t) => pending.has(key(t.schema, t.name))).map((t) => [key(t.schema, t.name), t]));
      const release = (tables: readonly { schema: string; name: string }[]): void => {
        const ready: SourceTable[] = [];
        for (const x of tables) {
          const t = unreleased.get(key(x.schema, x.name));
          if (!t) continue;
          unreleased.delete(key(x.schema, x.name));
          ready.push(t);
        }
        for (const t of ready.sort((a, b) => b.bytes - a.bytes)) enqueueCopy(t);
      };
      const schemaComplete = (): void => {
        schemaDone = true;
        release(copyList);
        for (const [k, items] of byTable) {
          if (pending.has(k)) continue;
          for (const p of items) pool.add({ label: `index ${p.entry.name}`, run: (w) => exec(w.tgt, p.entry.sql, resuming) }, true);
        }
        for (const t of deferredIndexes.splice(0)) buildIndexes(t);
        pool.close();
      };
      const producer = async (): Promise<void> => {
        if (reached('schema')) return schemaComplete();
        const c = await connectPg('target', cfg.target, { database: db, settings: { statement_timeout: '0', synchronous_commit: 'off' } });
        try {
          await c.query(PROLOG);
          for (const [i, batch] of batches.entries()) {
            if (pool.stopped) return;
            const f = filterStatements(batch.entries, targetRoles, cfg.extensions.exclude);
            schemaSkipped.push(...f.skipped);
            if (f.sql) await runBatch(c, f.sql, resuming);
            release(batch.tables);
            if (i === 0 && batches.length > 1) crashPoint(run.env, 'mid-schema');
          }
        } catch (e) {
          throw new DbferryError('MIGRATION_FAILED', `creating the schema of "${db}" on the target failed: ${redact(messageOf(e))}`, {
            cause: e,
          });
        } finally {
          await c.end().catch(() => undefined);
        }
        for (const line of describeSkipped(schemaSkipped)) run.report(line);
        await save({ phase: 'schema' });
        crashPoint(run.env, 'after-schema');
        await pausePoint(run.env, 'after-schema', run.report, signal);
        failPoint(run.env, `after-schema:${db}`);
        schemaComplete();
      };
      const feeding = producer().catch((e: unknown) => pool.fail(e));
      try {
        await pool.run();
      } catch (e) {
        await save({ tablesErrored: rec.tablesErrored + 1, tablesLoading: 0 }).catch(() => undefined);
        throw e;
      } finally {
        await feeding;
        clearInterval(flushTimer);
        await flush().catch(() => undefined);
      }
      copied = total;
      // Every worker has imported the snapshot: the replication connection may go (the slot stays).
      await slot?.conn.end().catch(() => undefined);
      await save({ phase: 'data', bytesCopied: total, tablesCompleted: copyList.length, tablesLoading: 0, tablesQueued: 0 });
      crashPoint(run.env, 'after-data');
    } else {
      copied = total;
    }
    progress(true);

    const verifyCopy = async (): Promise<VerifyMismatch[]> => {
      await pausePoint(run.env, 'before-verify', run.report, signal);
      run.report(`verifying row counts and checksums of ${copyList.length} table(s), alongside the rest`);
      const opts = { mode: cfg.verify, sampleAbove: cfg.verifySampleAbove };
      return verifyTables(copyList, opts, ctx.jobs, () => openWorker(cfg, db, snapshot), closeWorker, signal);
    };
    // The verify of an offline copy reads the snapshot and the loaded tables: it runs alongside
    // the rest of post-data, sequences and ANALYZE instead of after them.
    const verifying = !repl && (cfg.verify === 'checksums' || cfg.verify === 'auto') && !reached('verified') ? verifyCopy() : null;
    verifying?.catch(() => undefined);

    // 5. The rest of post-data (in pg_dump's order), then foreign keys in parallel.
    if (!reached('post-data')) {
      run.report('building the remaining post-data objects (triggers, policies, rules, materialized views)');
      const t = await connectPg('target', cfg.target, { database: db, settings: BULK });
      try {
        await t.query(PROLOG);
        for (const p of post.filter((x) => x.phase === 'after')) {
          if (p.entry.sql) await exec(t, p.entry.sql, resuming);
          crashPoint(run.env, 'mid-post-data');
        }
      } finally {
        await t.end().catch(() => undefined);
      }
      const fks = post.filter((x) => x.phase === 'fk' && x.entry.sql);
      run.report(`adding ${fks.length} foreign key(s)`);
      await targetPool(
        cfg,
        db,
        ctx.jobs,
        signal,
        fks.map((p) => (c: PgClient) => exec(c, p.entry.sql, resuming)),
      );
      await save({ phase: 'post-data' });
      crashPoint(run.env, 'after-post-data');
    }

    // 6. Sequences, large objects, ANALYZE.
    if (!reached('finalized')) {
      run.report('setting sequences, copying large objects');
      const seqs = await readSequences(exporter);
      const los = (await exporter.query<{ oid: string }>('SELECT oid::text FROM pg_largeobject_metadata ORDER BY oid')).rows.map(
        (r) => r.oid,
      );
      const t = await connectPg('target', cfg.target, { database: db, settings: BULK });
      try {
        await writeSequences(t, seqs);
        for (const oid of los) await copyLargeObject(exporter, t, oid);
      } finally {
        await t.end().catch(() => undefined);
      }
      const toAnalyze = copyList.filter((tb) => !analyzed.has(key(tb.schema, tb.name)));
      run.report(`ANALYZE ${toAnalyze.length} table(s)`);
      const batches: SourceTable[][] = [];
      for (let i = 0; i < toAnalyze.length; i += 100) batches.push(toAnalyze.slice(i, i + 100));
      await targetPool(
        cfg,
        db,
        ctx.jobs,
        signal,
        batches.map(
          (b) => (c: PgClient) => c.query(`ANALYZE ${b.map((tb) => qname(tb.schema, tb.name)).join(', ')}`).then(() => undefined),
        ),
      );
      await save({ phase: 'finalized' });
      crashPoint(run.env, 'after-finalize');
    }

    // 7. Verify on the same snapshot.
    // Online: the subscription starts from the slot, so changes made during the copy follow.
    if (repl) {
      const base = await withPg('target', cfg.target, { database: db }, targetChangeCounters);
      await createSubscription(cfg, db, objName);
      crashPoint(run.env, 'after-subscription');
      await save({ phase: 'syncing', status: 'syncing', cdcBaseline: `${base.ins},${base.upd},${base.del}` });
      run.report(`replicating: subscription ${objName} streams the source's changes until cutover`);
      return;
    }

    // Row counts were verified table by table during the copy (COPY's own counts on both sides);
    // the checksums, started after the data, compare every row (or the sampled key ranges).
    if (verifying) {
      const mismatches = await verifying;
      if (mismatches.length) {
        const names = mismatches.map((m) => `${m.table} (${m.detail})`);
        throw new DbferryError(
          'MIGRATION_FAILED',
          `verify failed for ${mismatches.length} table(s) in "${db}": ${names.slice(0, 5).join('; ')}${names.length > 5 ? `; and ${names.length - 5} more` : ''}`,
          {
            hint: 'The source changed during the copy, or data did not arrive intact. Re-run with databases.overwrite: true to copy again.',
          },
        );
      }
    }
    await save({ phase: 'verified', status: 'done', error: null });
    run.report(`done: ${copyList.length} table(s), ${formatBytes(total)} in ${formatDuration((Date.now() - started) / 1000)}`);
  } catch (caught) {
    const e = migrationError(caught, db, repl ? 'an online copy starts over' : 'finished tables are not copied again');
    await save({ status: 'failed', error: redact(messageOf(e)) }).catch(() => undefined);
    if (repl) {
      // A failed online copy leaves no slot, publication or subscription behind.
      await slot?.conn.end().catch(() => undefined);
      await dropSubscription(cfg, db, objName).catch(() => undefined);
      await dropSourceObjects(cfg, db, objName).catch(() => undefined);
    }
    throw e;
  } finally {
    await slot?.conn.end().catch(() => undefined);
    await exporter.query('COMMIT').catch(() => undefined);
    await exporter.end().catch(() => undefined);
  }
}

/** Tables to publish: the copied ones that are logged; those without a key inserts-only, unless replicaIdentityFull. */
async function publicationTables(
  cfg: MigrationConfig,
  db: string,
  keep: (t: { schema: string; name: string }) => boolean,
): Promise<{
  tables: { schema: string; name: string }[];
  identityFull: { schema: string; name: string }[];
  keyless: { schema: string; name: string }[];
}> {
  const rows = await withPg(
    'source',
    cfg.source,
    { database: db, readOnly: true },
    async (c) =>
      (
        await c.query<{ schema: string; name: string; nokey: boolean }>(
          `SELECT n.nspname AS schema, c.relname AS name,
                (c.relreplident = 'n' OR (c.relreplident = 'd' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary))) AS nokey
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'r' AND c.relpersistence = 'p' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbferry')
            AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
            AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
          ORDER BY 1, 2`,
        )
      ).rows,
  );
  const chosen = rows.filter(keep);
  const nokey = chosen.filter((r) => r.nokey);
  const names = (xs: typeof chosen) => xs.map((r) => ({ schema: r.schema, name: r.name }));
  if (cfg.replication.replicaIdentityFull) return { tables: names(chosen), identityFull: names(nokey), keyless: [] };
  return { tables: names(chosen.filter((r) => !r.nokey)), identityFull: [], keyless: names(nokey) };
}

/** The target's roles, and those its user may make owners of objects (ALTER ... OWNER TO). */
async function withTargetRoles(cfg: MigrationConfig): Promise<TargetRoles> {
  const c = await connectPg('target', cfg.target, {});
  try {
    const v = Number((await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]?.v ?? 0);
    // Since 16, giving an object to a role needs the SET option of the membership.
    const r = await c.query<{ rolname: string; ownable: boolean; su: boolean }>(
      `SELECT rolname, pg_has_role(current_user, oid, ${v >= 160000 ? "'SET'" : "'MEMBER'"}) AS ownable, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su FROM pg_roles`,
    );
    const superuser = r.rows[0]?.su === true;
    return {
      existing: new Set(r.rows.map((x) => x.rolname)),
      ownable: superuser ? 'any' : new Set(r.rows.filter((x) => x.ownable).map((x) => x.rolname)),
    };
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Copies a whole table in one transaction: TRUNCATE + COPY FREEZE (big tables, or any table when
 * resuming, since a crashed run may have committed it without recording it), else a plain COPY
 * (its own transaction) into the table created empty by this run; binary with a text fallback.
 * A failed COPY leaves the source connection mid-protocol, so the fallback reopens it on the
 * same snapshot.
 */
async function copyWholeTable(
  w: Worker,
  t: SourceTable,
  truncate: boolean,
  onBytes: (n: number) => void,
  reopenSource: () => Promise<PgClient>,
  limiter?: RateLimiter,
): Promise<PartResult> {
  const attempt = async (format: 'binary' | 'text'): Promise<PartResult> => {
    // A table this run created empty needs no transaction around its COPY (one statement, atomic).
    if (!truncate && t.extensionCondition === null) return streamPart(w.src, w.tgt, t, { blocks: null }, format, false, onBytes, limiter);
    await w.tgt.query('BEGIN');
    try {
      // Extension configuration tables keep the extension's own rows: replace only the user rows.
      if (t.extensionCondition)
        await w.tgt.query(
          `DELETE FROM ONLY ${qname(t.schema, t.name)} ${/^\s*WHERE/i.test(t.extensionCondition) ? t.extensionCondition : `WHERE ${t.extensionCondition}`}`,
        );
      else if (truncate) await w.tgt.query(`TRUNCATE ONLY ${qname(t.schema, t.name)}`);
      // FREEZE needs the table truncated in this transaction.
      const r = await streamPart(w.src, w.tgt, t, { blocks: null }, format, truncate && t.extensionCondition === null, onBytes, limiter);
      await w.tgt.query('COMMIT');
      return r;
    } catch (e) {
      await w.tgt.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  };
  try {
    return await attempt(t.format);
  } catch (e) {
    if (t.format === 'text' || !isBinaryFormatError(e)) throw e;
    destroy(w.src);
    await w.src.end().catch(() => undefined);
    w.src = await reopenSource();
    return attempt('text');
  }
}

/** Runs target-only statements in parallel on `jobs` connections. */
async function targetPool(
  cfg: MigrationConfig,
  db: string,
  jobs: number,
  signal: AbortSignal | undefined,
  work: ((c: PgClient) => Promise<void>)[],
): Promise<void> {
  if (work.length === 0) return;
  const pool = new WorkPool<PgClient>({
    workers: Math.min(jobs, work.length),
    create: () => connectPg('target', cfg.target, { database: db, settings: BULK }),
    release: async (c, failed) => {
      if (failed) destroy(c);
      await c.end().catch(() => undefined);
    },
    interrupt: destroy,
    ...(signal ? { signal } : {}),
  });
  for (const [i, f] of work.entries()) pool.add({ label: `statement ${i + 1}`, run: f });
  pool.close();
  await pool.run();
}
