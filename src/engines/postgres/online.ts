/**
 * Online migrations after the copy: live lag and CDC counters for status, schema drift (DDL on the
 * source), cutover (catch up, sync sequences, stop and remove replication, verify) and cancel.
 */
import type { MigrationConfig } from '../../config/types.js';
import type { DatabaseRecord, StateStore } from '../../state/types.js';
import { DbferryError, messageOf } from '../../util/errors.js';
import { redact } from '../../util/redact.js';
import { formatBytes, formatDuration } from '../../util/sizes.js';
import { connectPg, withPg, type PgClient } from './connect.js';
import { listSourceTables } from './copy.js';
import { dropSourceObjects, dropSubscription, findLeftovers, reached, slotPosition, targetChangeCounters } from './replication.js';
import { replicationObjectName } from './replication-sql.js';
import { verifyTables } from './verify.js';
import { readSequences, writeSequences } from './sequences.js';
import { STABLE_OUTPUT } from './steps/workers.js';
import { tableWanted } from '../selection.js';
import { resyncUnreplicated, type ResyncReport } from './resync.js';
import type { Probe } from '../../util/probe.js';
import type { DatabasesRun } from '../engine.js';
import { now, sleep } from '../../util/time.js';
import { transition } from '../../state/transitions.js';

/** Lag, CDC counters and last change time of a syncing database (read-only). */
export async function liveDatabase(cfg: MigrationConfig, d: DatabaseRecord): Promise<DatabaseRecord> {
  if (d.method !== 'replication' || d.status !== 'syncing') return d;
  const name = replicationObjectName(cfg.name, d.dbname);
  const pos = await withPg('source', cfg.source, { readOnly: true }, (c) => slotPosition(c, name));
  const { counters, last } = await withPg('target', cfg.target, { database: d.dbname, readOnly: true }, async (c) => ({
    counters: await targetChangeCounters(c),
    last:
      (
        await c.query<{ t: string | null }>(
          `SELECT greatest(latest_end_time, last_msg_receipt_time)::text AS t FROM pg_stat_subscription WHERE subname = $1 AND relid IS NULL`,
          [name],
        )
      ).rows[0]?.t ?? null,
  }));
  const [bi, bu, bd] = (d.cdcBaseline ?? '0,0,0').split(',').map(Number) as [number, number, number];
  const drift = await schemaDrift(cfg, d.dbname);
  return {
    ...d,
    lag: pos ? pos.lagBytes : null,
    cdcInserts: Math.max(0, counters.ins - bi),
    cdcUpdates: Math.max(0, counters.upd - bu),
    cdcDeletes: Math.max(0, counters.del - bd),
    lastChangeAt: last === null ? null : new Date(last).toISOString(),
    error: !pos
      ? `replication slot ${name} is missing on the source`
      : drift.length
        ? `schema changed during replication (apply the same DDL on the target before cutover): ${drift.join('; ')}`
        : d.error,
  };
}

/** Column lists of the user tables, one line each, for comparing the two schemas. */
async function columnsOf(c: PgClient): Promise<Map<string, string>> {
  const r = await c.query<{ t: string; cols: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS t,
            string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) AS cols
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbferry') AND n.nspname NOT LIKE 'pg\\_%'
      GROUP BY 1`,
  );
  return new Map(r.rows.map((x) => [x.t, x.cols]));
}

/** What differs between the source's and the target's tables (DDL on one side during replication). */
export async function schemaDrift(cfg: MigrationConfig, db: string): Promise<string[]> {
  const [a, b] = await Promise.all([
    withPg('source', cfg.source, { database: db, readOnly: true }, columnsOf),
    withPg('target', cfg.target, { database: db, readOnly: true }, columnsOf),
  ]);
  const out: string[] = [];
  for (const [t, cols] of a) {
    const other = b.get(t);
    if (other === undefined) out.push(`table ${t} exists only on the source`);
    else if (other !== cols) out.push(`table ${t} differs: source (${cols}) vs target (${other})`);
  }
  for (const t of b.keys()) if (!a.has(t)) out.push(`table ${t} exists only on the target`);
  return out.sort();
}

export interface CutoverReport {
  database: string;
  pausedSeconds: number;
  sequences: number;
  resync: ResyncReport | null;
  /** Set when this database could not be cut over; its replication is left running. */
  error: string | null;
}

/** One line per database for the cutover's output. */
export function describeCutover(r: CutoverReport): string {
  if (r.error) return `${r.database}: NOT cut over: ${r.error}`;
  const rs = r.resync;
  const parts = [`${r.database}: cut over; ${r.sequences} sequence(s) synced`];
  if (rs) {
    if (rs.recopied.length) parts.push(`re-copied (changed by UPDATE/DELETE or not replicated): ${rs.recopied.join(', ')}`);
    if (rs.unchanged.length) parts.push(`unchanged, not re-copied: ${rs.unchanged.join(', ')}`);
    if (rs.largeObjects.copied || rs.largeObjects.removed)
      parts.push(`large objects: ${rs.largeObjects.copied} copied, ${rs.largeObjects.removed} removed`);
  }
  parts.push(`writes had to be paused for ${formatDuration(r.pausedSeconds)}`);
  return parts.join('; ');
}

/**
 * Cuts over every syncing database (or those in `only`), each to an end state: cut over, or failed
 * with its replication still running and the error recorded. The migration ends Succeeded when
 * every database is cut over, else it waits for the next `dbferry cutover` with the errors.
 */
export async function cutoverPostgres(run: DatabasesRun): Promise<CutoverReport[]> {
  const { cfg, store, databases: only, report, signal, probe } = run;
  const m = await store.getMigration(cfg.name);
  if (!m)
    throw new DbferryError('NOT_FOUND', `no migration named "${cfg.name}" is recorded on the ${store.location}`, {
      hint: 'Run `dbferry apply` first.',
    });
  const dbs = (await store.getDatabases(cfg.name)).filter(
    (d) => d.method === 'replication' && d.status === 'syncing' && (only.length === 0 || only.includes(d.dbname)),
  );
  const unknown = only.filter((d) => !dbs.some((x) => x.dbname === d));
  if (unknown.length)
    throw new DbferryError('USAGE', `not replicating in migration "${cfg.name}": ${unknown.join(', ')}`, {
      hint: '`dbferry status` lists the databases and their state.',
    });
  if (dbs.length === 0)
    throw new DbferryError(
      'STATE_CONFLICT',
      `migration "${cfg.name}" has no database waiting for cutover (state ${m.state} / ${m.substate})`,
    );
  await store.updateMigration(cfg.name, transition.cuttingOver());
  const out: CutoverReport[] = [];
  for (const d of dbs) {
    try {
      out.push(await cutoverDatabase(cfg, store, d, report, signal, probe));
    } catch (e) {
      // A refusal (schema drift) has recorded its own state; an interruption leaves the database replicating.
      if (e instanceof DbferryError && e.code === 'STATE_CONFLICT') throw e;
      if (signal?.aborted || (e instanceof DbferryError && e.code === 'INTERRUPTED')) {
        await store.updateMigration(cfg.name, transition.waitingForCutover(null));
        throw e;
      }
      const error = redact(messageOf(e));
      await store.upsertDatabase({ ...d, status: 'syncing', error, updatedAt: now() });
      report(`${d.dbname}: NOT cut over, replication left running: ${error}`);
      out.push({ database: d.dbname, pausedSeconds: 0, sequences: 0, resync: null, error });
    }
  }
  const failed = out.filter((r) => r.error);
  const left = (await store.getDatabases(cfg.name)).filter((x) => x.status !== 'done');
  const error = failed.length ? `cutover failed for ${failed.map((f) => `"${f.database}"`).join(', ')}` : null;
  await store.updateMigration(cfg.name, transition.afterCutover(left.length, error, now()));
  if (failed.length) {
    throw new DbferryError(
      'MIGRATION_FAILED',
      `cutover finished ${out.length - failed.length} of ${out.length} database(s): ${out.map(describeCutover).join(' | ')}`,
      {
        hint: 'The databases not cut over keep replicating. Fix the cause, then run `dbferry cutover` again: the ones cut over are not touched again.',
      },
    );
  }
  return out;
}

/**
 * One database: catch up, sequences, the data replication does not carry, verify, and only then
 * replication removed. A verify failure leaves replication running, so cutover can be run again.
 */
async function cutoverDatabase(
  cfg: MigrationConfig,
  store: StateStore,
  d: DatabaseRecord,
  report: (line: string) => void,
  signal: AbortSignal | undefined,
  probe: Probe,
): Promise<CutoverReport> {
  const db = d.dbname;
  const name = replicationObjectName(cfg.name, db);
  const drift = await schemaDrift(cfg, db);
  if (drift.length) {
    await store.updateMigration(
      cfg.name,
      transition.cutoverRefused(`schema changed during replication in "${db}": ${drift.slice(0, 5).join('; ')}`),
    );
    throw new DbferryError('STATE_CONFLICT', `cutover refused: the schema of "${db}" changed during replication: ${drift.join('; ')}`, {
      hint: 'Apply the same DDL on the target (logical replication does not carry DDL), then run `dbferry cutover` again.',
    });
  }
  // An interrupted cutover drops the subscription only once the target has caught up, the data
  // replication does not carry is copied and verify passed: without it, what is left is the source objects.
  const subscribed = await withPg(
    'target',
    cfg.target,
    {},
    async (c) =>
      (
        await c.query('SELECT 1 FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE s.subname = $1 AND d.datname = $2', [
          name,
          db,
        ])
      ).rowCount === 1,
  );
  if (!subscribed) report(`${db}: an earlier cutover already stopped the subscription after catching up; finishing it`);
  const t0 = Date.now();
  if (subscribed) await catchUp(cfg, db, name, report, signal);
  await probe.at('cutover-caught-up');
  // Sequences, and the tables and large objects logical replication does not carry.
  const seqs = await withPg('source', cfg.source, { database: db, readOnly: true }, readSequences);
  await withPg('target', cfg.target, { database: db }, (c) => writeSequences(c, seqs));
  report(`${db}: comparing the tables replication does not fully carry (no key, unlogged) and large objects`);
  const resync = await resyncUnreplicated(cfg, db);
  if (resync.recopied.length) report(`${db}: re-copied ${resync.recopied.join(', ')}`);
  if (cfg.verify !== 'none') {
    const mismatches = await verifyOnline(cfg, db);
    if (mismatches.length) {
      throw new DbferryError(
        'MIGRATION_FAILED',
        `verify failed for ${mismatches.length} table(s) in "${db}": ${mismatches.slice(0, 5).join('; ')}`,
        {
          hint: 'Were writes still going to the source during cutover? Compare the tables named.',
        },
      );
    }
  }
  const paused = (Date.now() - t0) / 1000;
  await dropSubscription(cfg, db, name);
  await probe.at('cutover-unsubscribed');
  await dropSourceObjects(cfg, db, name);
  report(`${db}: replication stopped and removed; writes had to be paused for ${formatDuration(paused)}`);
  await store.upsertDatabase({ ...d, status: 'done', phase: 'verified', lag: 0, error: null, updatedAt: now() });
  return { database: db, pausedSeconds: paused, sequences: seqs.length, resync, error: null };
}

/** Row counts (and checksums) of every table, source against target, now (writes stopped). */
async function verifyOnline(cfg: MigrationConfig, db: string): Promise<string[]> {
  // Exactly the migrated tables: tables.skip and tables.include as in the copy.
  const tables = await withPg('source', cfg.source, { database: db, readOnly: true }, async (c) => {
    const v = Number((await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]?.v ?? 0);
    return (await listSourceTables(c, v)).filter((t) => tableWanted(cfg, db, t.schema, t.name));
  });
  const open = async (): Promise<{ src: PgClient; tgt: PgClient }> => {
    const src = await connectPg('source', cfg.source, { database: db, readOnly: true, settings: STABLE_OUTPUT });
    const tgt = await connectPg('target', cfg.target, { database: db, readOnly: true, settings: STABLE_OUTPUT }).catch(
      async (e: unknown) => {
        await src.end().catch(() => undefined);
        throw e;
      },
    );
    return { src, tgt };
  };
  const close = async (w: { src: PgClient; tgt: PgClient }): Promise<void> => {
    await Promise.all([w.src.end().catch(() => undefined), w.tgt.end().catch(() => undefined)]);
  };
  const mismatches = await verifyTables(tables, { mode: cfg.verify, sampleAbove: cfg.verifySampleAbove }, cfg.copy.jobs, open, close);
  return mismatches.map((m) => `${m.table} (${m.detail})`);
}

/** Stops a migration: replication objects removed on both sides, copied data kept (as Azure). */
export async function cancelPostgres(run: DatabasesRun): Promise<string[]> {
  const { cfg, store, databases: only, report } = run;
  const m = await store.getMigration(cfg.name);
  const recs = await store.getDatabases(cfg.name);
  const dbs = only.length ? only : [...new Set([...recs.map((d) => d.dbname), ...cfg.databases.include])];
  const removed: string[] = [];
  const errors: string[] = [];
  if (m) await store.updateMigration(cfg.name, transition.cleaningUp());
  for (const db of dbs) {
    const name = replicationObjectName(cfg.name, db);
    try {
      if (await dropSubscription(cfg, db, name)) removed.push(`subscription ${name} (target)`);
      const src = await dropSourceObjects(cfg, db, name);
      if (src.slot) removed.push(`slot ${name} (source)`);
      if (src.publication) removed.push(`publication ${name} (source, ${db})`);
      const rec = recs.find((r) => r.dbname === db);
      if (rec && rec.status !== 'done') await store.upsertDatabase({ ...rec, status: 'canceled', lag: null, updatedAt: now() });
      report(`${db}: replication objects removed`);
    } catch (e) {
      errors.push(`${db}: ${redact(messageOf(e))}`);
    }
  }
  // Anything else of this migration found by name (a crash between runs, renamed databases).
  const left = await findLeftovers(cfg, dbs);
  for (const s of left.subscriptions) {
    await dropSubscription(cfg, s.db, s.name);
    removed.push(`subscription ${s.name} (target)`);
  }
  for (const s of left.slots) {
    await dropSourceObjects(cfg, cfg.source.dbname ?? 'postgres', s);
    removed.push(`slot ${s} (source)`);
  }
  for (const p of left.publications) {
    await dropSourceObjects(cfg, p.db, p.name);
    removed.push(`publication ${p.name} (source, ${p.db})`);
  }
  if (errors.length) {
    if (m) await store.updateMigration(cfg.name, transition.cancelIncomplete(errors));
    throw new DbferryError('MIGRATION_FAILED', `cancel could not remove everything: ${errors.join('; ')}`, {
      hint: 'Fix the connection problem and run `dbferry cancel` again.',
    });
  }
  if (m) await store.updateMigration(cfg.name, transition.canceled(now()));
  return removed;
}

/** Waits for lag within replication.maxLag, then for the target to apply everything the source had written. */
async function catchUp(
  cfg: MigrationConfig,
  db: string,
  name: string,
  report: (line: string) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  // 1. Lag within replication.maxLag.
  await withPg('source', cfg.source, {}, async (c) => {
    for (;;) {
      const pos = await slotPosition(c, name);
      if (!pos)
        throw new DbferryError('MIGRATION_FAILED', `replication slot ${name} is missing on the source`, {
          hint: 'Cancel this migration and start it again.',
        });
      report(`${db}: lag ${formatBytes(pos.lagBytes)} (maxLag ${formatBytes(cfg.replication.maxLag)})`);
      if (pos.lagBytes <= cfg.replication.maxLag) break;
      await sleep(500, signal);
    }
  });
  // 2. Everything the source had written when cutover began is applied on the target.
  await withPg('source', cfg.source, {}, async (c) => {
    // The insert position, not the write position: with asynchronous commit the last commits may
    // still be in WAL buffers, before pg_current_wal_lsn().
    const lsn = (await c.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]?.l as string;
    report(`${db}: waiting for the target to apply everything up to ${lsn} (stop writes on the source now)`);
    while (!(await reached(c, name, lsn))) await sleep(100, signal);
  });
}
