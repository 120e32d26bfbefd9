/**
 * Online migrations after the copy: live lag and CDC counters for status, schema drift (DDL on the
 * source), cutover (catch up, sync sequences, stop and remove replication, verify) and cancel.
 */
import type { MigrationConfig } from '../../config/types.js';
import type { DatabaseRecord, StateStore } from '../../run/state/types.js';
import { DbferryError, messageOf } from '../../util/errors.js';
import { redact } from '../../util/redact.js';
import { formatBytes, formatDuration } from '../../util/sizes.js';
import { connectPg, withPg, type PgClient } from './connect.js';
import { listSourceTables } from './copy.js';
import { dropSourceObjects, dropSubscription, findLeftovers, reached, slotPosition, targetChangeCounters } from './replication.js';
import { replicationObjectName } from './replication-sql.js';
import { qname, ql } from './sql.js';
import { verifyTables } from './verify.js';
import { readSequences, writeSequences } from './sequences.js';
import { STABLE_OUTPUT } from './migrate.js';
import { crashPoint } from '../../util/crash.js';

const now = (): string => new Date().toISOString();
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new DbferryError('INTERRUPTED', 'interrupted; run the command again'));
      },
      { once: true },
    );
  });

/** Lag, CDC counters and last change time of a syncing database (read-only). */
export async function liveDatabase(cfg: MigrationConfig, d: DatabaseRecord): Promise<DatabaseRecord> {
  if (d.method !== 'replication' || d.status !== 'syncing') return d;
  const name = replicationObjectName(cfg.name, d.dbname);
  const pos = await withPg('source', cfg.source, { readOnly: true }, (c) => slotPosition(c, name));
  const { counters, last } = await withPg('target', cfg.target, { database: d.dbname, readOnly: true }, async (c) => ({
    counters: await targetChangeCounters(c),
    last: (await c.query<{ t: string | null }>(`SELECT greatest(latest_end_time, last_msg_receipt_time)::text AS t FROM pg_stat_subscription WHERE subname = $1 AND relid IS NULL`, [name])).rows[0]?.t ?? null,
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
    error: !pos ? `replication slot ${name} is missing on the source` : drift.length ? `schema changed during replication (apply the same DDL on the target before cutover): ${drift.join('; ')}` : d.error,
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
  const [a, b] = await Promise.all([withPg('source', cfg.source, { database: db, readOnly: true }, columnsOf), withPg('target', cfg.target, { database: db, readOnly: true }, columnsOf)]);
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
}

export async function cutoverPostgres(
  cfg: MigrationConfig,
  store: StateStore,
  only: string[],
  report: (line: string) => void,
  signal: AbortSignal | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Promise<CutoverReport[]> {
  const m = await store.getMigration(cfg.name);
  if (!m) throw new DbferryError('NOT_FOUND', `no migration named "${cfg.name}" is recorded on the ${store.location}`, { hint: 'Run `dbferry apply` first.' });
  const dbs = (await store.getDatabases(cfg.name)).filter((d) => d.method === 'replication' && d.status === 'syncing' && (only.length === 0 || only.includes(d.dbname)));
  const unknown = only.filter((d) => !dbs.some((x) => x.dbname === d));
  if (unknown.length) throw new DbferryError('USAGE', `not replicating in migration "${cfg.name}": ${unknown.join(', ')}`, { hint: '`dbferry status` lists the databases and their state.' });
  if (dbs.length === 0) throw new DbferryError('STATE_CONFLICT', `migration "${cfg.name}" has no database waiting for cutover (state ${m.state} / ${m.substate})`);
  await store.updateMigration(cfg.name, { state: 'InProgress', substate: 'CompletingMigration' });
  const out: CutoverReport[] = [];
  for (const d of dbs) {
    const db = d.dbname;
    const name = replicationObjectName(cfg.name, db);
    const drift = await schemaDrift(cfg, db);
    if (drift.length) {
      await store.updateMigration(cfg.name, { state: 'WaitingForUserAction', substate: 'WaitingForCutoverTrigger', error: `schema changed during replication in "${db}": ${drift.slice(0, 5).join('; ')}` });
      throw new DbferryError('STATE_CONFLICT', `cutover refused: the schema of "${db}" changed during replication: ${drift.join('; ')}`, {
        hint: 'Apply the same DDL on the target (logical replication does not carry DDL), then run `dbferry cutover` again.',
      });
    }
    // An interrupted cutover drops the subscription only once the target has caught up and the
    // sequences are set: without it, what is left is removing the source objects and verifying.
    const subscribed = await withPg('target', cfg.target, {}, async (c) => (await c.query('SELECT 1 FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE s.subname = $1 AND d.datname = $2', [name, db])).rowCount === 1);
    if (!subscribed) report(`${db}: an earlier cutover already stopped the subscription after catching up; finishing it`);
    const t0 = Date.now();
    if (subscribed) await catchUp(cfg, db, name, report, signal);
    const paused = (Date.now() - t0) / 1000;
    crashPoint(env, 'cutover-caught-up');
    // 3. Sequences (not carried by logical replication).
    const seqs = await withPg('source', cfg.source, { database: db, readOnly: true }, readSequences);
    await withPg('target', cfg.target, { database: db }, (c) => writeSequences(c, seqs));
    // 4. Stop replication and remove its objects on both sides.
    await dropSubscription(cfg, db, name);
    crashPoint(env, 'cutover-unsubscribed');
    await dropSourceObjects(cfg, db, name);
    report(`${db}: replication stopped and removed; writes had to be paused for ${formatDuration(paused)}`);
    // 5. Verify.
    if (cfg.verify !== 'none') {
      const mismatches = await verifyOnline(cfg, db);
      if (mismatches.length) {
        const msg = `verify failed after cutover for ${mismatches.length} table(s) in "${db}": ${mismatches.slice(0, 5).join('; ')}`;
        await store.upsertDatabase({ ...d, status: 'failed', error: msg, updatedAt: now() });
        throw new DbferryError('MIGRATION_FAILED', msg, { hint: 'Were writes still going to the source during cutover? Compare the tables named.' });
      }
    }
    await store.upsertDatabase({ ...d, status: 'done', phase: 'verified', lag: 0, error: null, updatedAt: now() });
    out.push({ database: db, pausedSeconds: paused, sequences: seqs.length });
  }
  const left = (await store.getDatabases(cfg.name)).filter((x) => x.status !== 'done');
  if (left.length === 0) await store.updateMigration(cfg.name, { state: 'Succeeded', substate: 'Completed', error: null, endedAt: now() });
  else await store.updateMigration(cfg.name, { state: 'InProgress', substate: 'WaitingForCutoverTrigger' });
  return out;
}

/** Row counts (and checksums) of every table, source against target, now (writes stopped). */
async function verifyOnline(cfg: MigrationConfig, db: string): Promise<string[]> {
  const tables = await withPg('source', cfg.source, { database: db, readOnly: true }, async (c) => {
    const v = Number((await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]?.v ?? 0);
    return listSourceTables(c, v);
  });
  const open = async (): Promise<{ src: PgClient; tgt: PgClient }> => {
    const src = await connectPg('source', cfg.source, { database: db, readOnly: true, settings: STABLE_OUTPUT });
    const tgt = await connectPg('target', cfg.target, { database: db, readOnly: true, settings: STABLE_OUTPUT }).catch(async (e: unknown) => {
      await src.end().catch(() => undefined);
      throw e;
    });
    return { src, tgt };
  };
  const close = async (w: { src: PgClient; tgt: PgClient }): Promise<void> => {
    await Promise.all([w.src.end().catch(() => undefined), w.tgt.end().catch(() => undefined)]);
  };
  const mismatches = await verifyTables(tables, { mode: cfg.verify, sampleAbove: cfg.verifySampleAbove }, cfg.copy.jobs, open, close);
  return mismatches.map((m) => `${m.table} (${m.detail})`);
}

/** Stops a migration: replication objects removed on both sides, copied data kept (as Azure). */
export async function cancelPostgres(cfg: MigrationConfig, store: StateStore, only: string[], report: (line: string) => void): Promise<string[]> {
  const m = await store.getMigration(cfg.name);
  const recs = await store.getDatabases(cfg.name);
  const dbs = only.length ? only : [...new Set([...recs.map((d) => d.dbname), ...cfg.databases.include])];
  const removed: string[] = [];
  const errors: string[] = [];
  if (m) await store.updateMigration(cfg.name, { state: 'CleaningUp' });
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
    if (m) await store.updateMigration(cfg.name, { state: 'Failed', substate: 'Failed', error: `cancel incomplete: ${errors.join('; ')}` });
    throw new DbferryError('MIGRATION_FAILED', `cancel could not remove everything: ${errors.join('; ')}`, { hint: 'Fix the connection problem and run `dbferry cancel` again.' });
  }
  if (m) await store.updateMigration(cfg.name, { state: 'Canceled', substate: m.substate === 'Completed' ? 'Completed' : m.substate, error: null, endedAt: now() });
  return removed;
}

/** Waits for lag within replication.maxLag, then for the target to apply everything the source had written. */
async function catchUp(cfg: MigrationConfig, db: string, name: string, report: (line: string) => void, signal: AbortSignal | undefined): Promise<void> {
  // 1. Lag within replication.maxLag.
  await withPg('source', cfg.source, {}, async (c) => {
    for (;;) {
      const pos = await slotPosition(c, name);
      if (!pos) throw new DbferryError('MIGRATION_FAILED', `replication slot ${name} is missing on the source`, { hint: 'Cancel this migration and start it again.' });
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
