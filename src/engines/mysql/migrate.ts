/**
 * The MySQL/MariaDB dump method for one database: consistent snapshot shared by all workers
 * (FLUSH TABLES WITH READ LOCK held only while they start their transactions), tables from
 * SHOW CREATE TABLE, data streamed in parallel with LOAD DATA LOCAL INFILE (largest first), then
 * views (in dependency order), routines, triggers and events, then row counts verified.
 * An interrupted database is started over (its target database was created by this run).
 */
import type { MigrationConfig } from '../../config/types.js';
import type { DatabaseRecord } from '../../state/types.js';
import { newDatabaseRecord } from '../../state/records.js';
import { DbferryError, messageOf } from '../../util/errors.js';
import { WorkPool } from '../../util/pool.js';
import { copyProgressLine } from '../progress.js';
import { crashPoint, pausePoint } from '../../util/crash.js';
import { redact } from '../../util/redact.js';
import { migrationError } from '../server-error.js';
import { formatBytes, formatDuration } from '../../util/sizes.js';
import { tableRefMatches } from '../../config/identifiers.js';
import { nameMatches } from '../../config/patterns.js';
import type { DatabaseRun } from '../engine.js';
import { connectMysql, rows, type MyConnection } from './connect.js';
import { copyMysqlTable, keyRanges, type CopyColumn, type KeyRange } from './copy.js';
import { transferForm, type Flavor } from './dialect.js';
import { removeReplica, startReplica } from './replication.js';
import { verifyMysqlTables } from './verify.js';
import type { StateStore } from '../../state/types.js';
import { qi } from './sql.js';

const now = (): string => new Date().toISOString();

interface Table {
  name: string;
  bytes: number;
  columns: CopyColumn[];
}

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

function wanted(cfg: MigrationConfig, db: string, t: string): boolean {
  if (cfg.tables.skip.some((r) => tableRefMatches(r, db, undefined, t))) return false;
  const inc = cfg.tables.include.filter((r) => r.db === undefined || nameMatches(r.db, db, r.quoted?.db));
  return inc.length === 0 || inc.some((r) => tableRefMatches(r, db, undefined, t));
}

async function snapshotWorker(cfg: MigrationConfig): Promise<MyConnection> {
  const c = await connectMysql('source', cfg.source);
  await c.query('SET SESSION net_write_timeout = 3600, net_read_timeout = 3600');
  // TIMESTAMP values travel as text in the session's time zone: UTC on both sides, whatever the servers' defaults.
  await c.query("SET SESSION character_set_results = NULL, time_zone = '+00:00'");
  await c.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  return c;
}

export async function migrateMysqlDatabase(run: DatabaseRun): Promise<void> {
  const { cfg, database: db, store, signal } = run;
  let rec: DatabaseRecord =
    (await store.getDatabases(cfg.name)).find((d) => d.dbname === db) ?? newDatabaseRecord(cfg.name, db, 'dump', null);
  const save = async (patch: Partial<DatabaseRecord>): Promise<void> => {
    rec = { ...rec, ...patch, updatedAt: now() };
    await store.upsertDatabase(rec);
  };
  if (rec.phase === 'verified' || rec.phase === 'syncing') return;
  const restart = rec.phase !== null;
  await save({ status: 'running', error: null, phase: null });
  const started = Date.now();
  const admin = await connectMysql('target', cfg.target, { multipleStatements: false });
  const control = await connectMysql('source', cfg.source);
  const workers: MyConnection[] = [];
  try {
    // 1. Target database (ours to recreate when a run is resumed).
    const [info] = await rows<{ cs: string; co: string }>(
      control,
      'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [db],
    );
    if (!info) throw new DbferryError('MIGRATION_FAILED', `database "${db}" not found on the source`);
    if (restart || cfg.databases.overwrite) {
      run.report(
        restart
          ? 'the earlier run stopped before the end: starting this database over'
          : 'dropping the existing target database (overwrite: true)',
      );
      // A replica an interrupted run started would write into the database being copied again.
      if (restart && run.method === 'replication') await removeReplica(cfg);
      await admin.query(`DROP DATABASE IF EXISTS ${qi(db)}`);
    }
    if (!restart && !cfg.databases.overwrite) {
      // The check saw it empty; never write into a database something filled since.
      const [n] = await rows<{ n: number }>(admin, 'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [db]);
      if (Number(n?.n ?? 0) > 0) {
        throw new DbferryError(
          'STATE_CONFLICT',
          `target database "${db}" is not empty any more (${n?.n} tables appeared after the check); nothing was written to it`,
          {
            hint: 'Another process may have migrated it. Check it, then drop it or set databases.overwrite: true.',
          },
        );
      }
    }
    await admin.query(`CREATE DATABASE IF NOT EXISTS ${qi(db)} CHARACTER SET ${info.cs} COLLATE ${info.co}`);
    await save({ phase: 'created' });
    crashPoint(run.env, 'after-create');

    // 2. One consistent snapshot for every worker: the global read lock is held only while they
    // start. Replicated databases share one snapshot (one GTID position for the one replica).
    const jobs = Math.max(1, run.jobs);
    let position = '';
    if (run.method === 'replication') {
      const shared = await sharedSnapshot(cfg, run);
      workers.push(...(shared.workers.get(db) ?? []));
      shared.workers.delete(db);
      position = shared.position;
      if (workers.length === 0) throw new DbferryError('MIGRATION_FAILED', `no snapshot worker for database "${db}"`);
    } else {
      const snap = await takeSnapshot(cfg, [db], jobs);
      workers.push(...(snap.workers.get(db) ?? []));
      position = snap.position;
    }
    run.report(`consistent snapshot taken by ${jobs} worker(s)${position ? ` at GTID ${position}` : ''}`);
    const first = workers[0] as MyConnection;

    // 3. Tables, from SHOW CREATE TABLE (with their AUTO_INCREMENT), foreign key checks off.
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
    const [version] = await rows<{ v: string }>(first, 'SELECT VERSION() AS v');
    const flavor = /mariadb/i.test(version?.v ?? '') ? 'mariadb' : 'mysql';
    const list: Table[] = tables.map((t) => ({
      name: t.t,
      bytes: Number(t.bytes ?? 0),
      columns: cols.filter((c) => c.t === t.t && !/GENERATED/i.test(c.g)).map((c) => copyColumn(flavor, db, c)),
    }));
    const tgt = await connectMysql('target', cfg.target, { database: db });
    try {
      await tgt.query('SET SESSION foreign_key_checks = 0, unique_checks = 0');
      await tgt.query("SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'");
      for (const t of list) {
        const [row] = await rows<Record<string, string>>(first, `SHOW CREATE TABLE ${qi(db)}.${qi(t.name)}`);
        await tgt.query(row?.['Create Table'] as string);
      }
    } finally {
      await tgt.end().catch(() => undefined);
    }
    await save({ phase: 'schema', tablesTotal: list.length, tablesQueued: list.length, bytesTotal: list.reduce((a, t) => a + t.bytes, 0) });
    crashPoint(run.env, 'after-schema');

    // 4. Data, largest tables first, every worker on the snapshot.
    const copyList = list.filter((t) => wanted(cfg, db, t.name));
    let copied = 0;
    let completed = 0;
    let tablesStarted = 0;
    let last = 0;
    const mismatches: string[] = [];
    const total = copyList.reduce((a, t) => a + t.bytes, 0);
    const pool = new WorkPool<{ src: MyConnection; tgt: MyConnection }>({
      workers: workers.length,
      create: async () => {
        const src = workers.shift() as MyConnection;
        const t = await connectMysql('target', cfg.target, { database: db });
        await t.query('SET SESSION foreign_key_checks = 0, unique_checks = 0');
        await t.query("SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO', time_zone = '+00:00'");
        await t.query('SET SESSION sql_log_bin = 0').catch(() => undefined);
        return { src, tgt: t };
      },
      release: async (w, failed) => {
        if (failed) {
          // A failed copy can leave a LOAD DATA half sent: end() would wait for it.
          w.src.destroy();
          w.tgt.destroy();
          return;
        }
        await w.src.query('COMMIT').catch(() => undefined);
        await Promise.all([w.src.end().catch(() => undefined), w.tgt.end().catch(() => undefined)]);
      },
      interrupt: (w) => {
        w.src.destroy();
        w.tgt.destroy();
      },
      ...(signal ? { signal } : {}),
    });
    // Integer single-column primary keys allow a big table to be copied in key ranges in parallel.
    const pks = await rows<{ t: string; c: string; ty: string }>(
      first,
      `SELECT k.TABLE_NAME AS t, MIN(k.COLUMN_NAME) AS c, MIN(col.DATA_TYPE) AS ty FROM information_schema.KEY_COLUMN_USAGE k
         JOIN information_schema.COLUMNS col ON col.TABLE_SCHEMA = k.TABLE_SCHEMA AND col.TABLE_NAME = k.TABLE_NAME AND col.COLUMN_NAME = k.COLUMN_NAME
        WHERE k.TABLE_SCHEMA = ? AND k.CONSTRAINT_NAME = 'PRIMARY' GROUP BY k.TABLE_NAME HAVING COUNT(*) = 1`,
      [db],
    );
    const copyStarted = Date.now();
    // On-disk sizes are the estimate: the bytes sent differ, so the ETA is approximate.
    const report = (): void => {
      const figures = {
        tablesDone: completed,
        tablesTotal: copyList.length,
        bytesCopied: copied,
        bytesTotal: Math.max(total, copied),
        elapsed: (Date.now() - copyStarted) / 1000,
        throttledTo: run.limiter?.throttled() && Number.isFinite(run.limiter.bytesPerSecond) ? run.limiter.bytesPerSecond : 0,
        paused: run.limiter?.pausedBy() ? 1 : 0,
      };
      run.report(copyProgressLine(figures, { pausedBy: run.limiter?.pausedBy() ?? null }), figures);
    };
    const progress = (): void => {
      if (Date.now() - last > 500) {
        last = Date.now();
        report();
      }
    };
    for (const t of copyList) {
      const pk = pks.find((p) => p.t === t.name && /int$/i.test(p.ty));
      let ranges: (KeyRange | undefined)[] = [undefined];
      if (pk && t.bytes > cfg.copy.splitTablesLargerThan) {
        const [mm] = await rows<{ lo: string | null; hi: string | null }>(
          first,
          `SELECT MIN(${qi(pk.c)}) AS lo, MAX(${qi(pk.c)}) AS hi FROM ${qi(db)}.${qi(t.name)}`,
        );
        if (mm?.lo !== null && mm?.hi !== null && mm)
          ranges = keyRanges(pk.c, BigInt(mm.lo), BigInt(mm.hi), Math.min(Math.ceil(t.bytes / cfg.copy.splitTablesLargerThan), jobs * 4));
        if (ranges.length > 1) run.report(`copying ${t.name} in ${ranges.length} key ranges of ${pk.c}`);
      }
      let left = ranges.length;
      const sum = { rows: 0, bytes: 0 };
      for (const range of ranges) {
        pool.add({
          label: `copy ${t.name}`,
          run: async (w) => {
            if (left === ranges.length) tablesStarted++;
            const r = await copyMysqlTable(
              w.src,
              w.tgt,
              db,
              t.name,
              t.columns,
              (n) => {
                copied += n;
                progress();
                // Kill point: rows are streaming into a LOAD DATA, and a second table has started.
                if (tablesStarted >= Math.min(2, copyList.length)) crashPoint(run.env, 'mid-copy');
              },
              range,
              run.limiter,
            );
            sum.rows += r.rows;
            sum.bytes += r.bytes;
            if (--left > 0) return;
            const [cnt] = await rows<{ n: string }>(w.tgt, `SELECT COUNT(*) AS n FROM ${qi(db)}.${qi(t.name)}`);
            if (Number(cnt?.n ?? -1) !== sum.rows)
              mismatches.push(`${t.name} (${sum.rows} rows read on the source, ${cnt?.n} on the target)`);
            await store.upsertTables([
              {
                migration: cfg.name,
                dbname: db,
                schema: '',
                table: t.name,
                done: true,
                rows: sum.rows,
                bytes: sum.bytes,
                updatedAt: now(),
              },
            ]);
            completed++;
            crashPoint(run.env, `after-table-${completed}`);
            report();
          },
        });
      }
    }
    pool.close();
    await pool.run();
    await save({ phase: 'data', tablesCompleted: copyList.length, tablesQueued: 0, bytesCopied: total });
    crashPoint(run.env, 'after-data');

    // 5. Views (retried until their dependencies exist), routines, triggers, events.
    run.report('creating views, routines, triggers and events');
    await createObjects(cfg, db);
    await save({ phase: 'post-data' });
    crashPoint(run.env, 'after-post-data');

    // 6. Verify: the rows read on the snapshot were all loaded; with checksums, CHECKSUM TABLE on both.
    // (Online, the source keeps changing: checksums are compared at cutover's counts instead.)
    if ((cfg.verify === 'checksums' || cfg.verify === 'auto') && run.method === 'dump') {
      await pausePoint(run.env, 'before-verify', run.report, signal);
      run.report(`verifying row counts and checksums of ${copyList.length} table(s)`);
      await Promise.all([control.query("SET SESSION time_zone = '+00:00'"), admin.query("SET SESSION time_zone = '+00:00'")]);
      const verified = copyList.map((t) => ({ ...t, intKey: pks.find((p) => p.t === t.name && /int$/i.test(p.ty))?.c ?? null }));
      mismatches.push(...(await verifyMysqlTables(control, admin, db, verified, { mode: cfg.verify, sampleAbove: cfg.verifySampleAbove })));
    }
    if (cfg.verify !== 'none' && mismatches.length) {
      throw new DbferryError('MIGRATION_FAILED', `verify failed for ${mismatches.length} table(s) in "${db}": ${mismatches.join('; ')}`);
    }
    if (run.method === 'replication') {
      if (!position)
        throw new DbferryError('MIGRATION_FAILED', 'the source reported no GTID position for the snapshot', {
          hint: 'Replication needs the binary log (log_bin) on the source.',
        });
      // Replication starts once every replicated database of the migration is copied (startReplication).
      await save({ phase: 'copied', replicationStart: position });
      crashPoint(run.env, 'after-copied');
      run.report(`copied at GTID ${position}; replication starts when every replicated database is copied`);
      return;
    }
    await save({ phase: 'verified', status: 'done' });
    run.report(`done: ${copyList.length} table(s), ${formatBytes(copied)} in ${formatDuration((Date.now() - started) / 1000)}`);
  } catch (caught) {
    const e = migrationError(caught, db, 'the database is copied again from the start');
    await save({ status: 'failed', error: redact(messageOf(e)) }).catch(() => undefined);
    // A failed online copy leaves no replica configuration behind.
    if (run.method === 'replication') await removeReplica(cfg).catch(() => undefined);
    throw e;
  } finally {
    for (const w of workers) await w.end().catch(() => undefined);
    await Promise.all([admin.end().catch(() => undefined), control.end().catch(() => undefined)]);
  }
}

interface Snapshot {
  position: string;
  workers: Map<string, MyConnection[]>;
}

/** Opens `jobs` workers per database and starts all their transactions under one brief global read lock. */
async function takeSnapshot(cfg: MigrationConfig, dbs: string[], jobs: number): Promise<Snapshot> {
  const workers = new Map<string, MyConnection[]>();
  const control = await connectMysql('source', cfg.source);
  try {
    for (const d of dbs) {
      const list: MyConnection[] = [];
      for (let i = 0; i < jobs; i++) list.push(await snapshotWorker(cfg));
      workers.set(d, list);
    }
    await control.query('FLUSH TABLES WITH READ LOCK');
    try {
      for (const list of workers.values()) for (const w of list) await w.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      const [pos] = await rows<{ p: string | null }>(control, 'SELECT @@GLOBAL.gtid_binlog_pos AS p').catch(async () =>
        rows<{ p: string | null }>(control, 'SELECT @@GLOBAL.gtid_executed AS p'),
      );
      return { position: pos?.p ?? '', workers };
    } finally {
      await control.query('UNLOCK TABLES');
    }
  } catch (e) {
    for (const list of workers.values()) for (const w of list) await w.end().catch(() => undefined);
    throw e;
  } finally {
    await control.end().catch(() => undefined);
  }
}

const shared = new Map<string, Promise<Snapshot>>();

/** The one snapshot of every database this migration replicates (taken by the first to ask). */
function sharedSnapshot(cfg: MigrationConfig, run: DatabaseRun): Promise<Snapshot> {
  let p = shared.get(cfg.name);
  if (!p) {
    p = (async () => {
      const dbs = (await run.store.getDatabases(cfg.name))
        .filter((d) => d.method === 'replication' && d.phase !== 'syncing' && d.phase !== 'verified')
        .map((d) => d.dbname);
      return takeSnapshot(cfg, dbs.includes(run.database) ? dbs : [...dbs, run.database], Math.max(1, run.jobs));
    })();
    shared.set(cfg.name, p);
  }
  return p;
}

/** Starts the one replica for every copied replicated database, from their shared position. */
export async function startReplication(
  cfg: MigrationConfig,
  store: StateStore,
  report: (line: string) => void,
  env: Readonly<Record<string, string | undefined>>,
): Promise<string[]> {
  shared.delete(cfg.name);
  const copied = (await store.getDatabases(cfg.name)).filter((d) => d.method === 'replication' && d.phase === 'copied');
  if (copied.length === 0) return [];
  const positions = [...new Set(copied.map((d) => d.replicationStart ?? ''))];
  if (positions.length !== 1 || !positions[0])
    throw new DbferryError(
      'MIGRATION_FAILED',
      `the replicated databases were copied at different positions (${positions.join(' / ')}); cancel and apply again`,
    );
  const dbs = copied.map((d) => d.dbname);
  await startReplica(cfg, dbs, positions[0]);
  crashPoint(env, 'replica-started');
  for (const d of copied) await store.upsertDatabase({ ...d, phase: 'syncing', status: 'syncing', updatedAt: now() });
  report(`replicating ${dbs.join(', ')} from GTID ${positions[0]} until cutover`);
  return [`replicating ${dbs.join(', ')} from GTID ${positions[0]}`];
}

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
