/**
 * Connections of a PostgreSQL copy: session settings of the bulk load, copy workers on the
 * exported snapshot (a source transaction + a target connection), and a pool of target
 * connections for statements run in parallel.
 */
import type { MigrationConfig } from '../../../config/types.js';
import { WorkPool } from '../../../util/pool.js';
import { connectPg, type PgClient } from '../connect.js';
import { ql } from '../sql.js';

export const PROLOG = [
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

export const BULK = {
  synchronous_commit: 'off',
  maintenance_work_mem: '256MB',
  statement_timeout: '0',
  lock_timeout: '0',
  idle_in_transaction_session_timeout: '0',
  ...STABLE_OUTPUT,
};

const TOLERATED_ON_RESUME = new Set(['42P07', '42710', '42P16', '42701']);

export interface Worker {
  src: PgClient;
  tgt: PgClient;
  /** Tables read in the source's current transaction (each holds a lock until it ends). */
  readSinceCommit?: number;
}

/** About how many tables a worker reads in one source transaction before it ends it and imports the snapshot again. */
const READS_PER_TRANSACTION = 200;

/**
 * Every table a transaction reads stays locked until it ends: with thousands of tables the
 * workers' locks (on top of pg_dump's) would fill the source's lock table. After a few hundred
 * tables the worker commits and starts again on the same snapshot.
 */
export async function releaseSourceLocks(w: Worker, snapshot: string, tables = 1): Promise<void> {
  w.readSinceCommit = (w.readSinceCommit ?? 0) + tables;
  if (w.readSinceCommit < READS_PER_TRANSACTION) return;
  await w.src.query('COMMIT');
  await w.src.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  await w.src.query(`SET TRANSACTION SNAPSHOT ${ql(snapshot)}`);
  w.readSinceCommit = 0;
}

/** A source connection inside a transaction on the exported snapshot. */
export async function openWorkerSource(cfg: MigrationConfig, db: string, snapshot: string): Promise<PgClient> {
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

export async function openWorker(cfg: MigrationConfig, db: string, snapshot: string): Promise<Worker> {
  const src = await openWorkerSource(cfg, db, snapshot);
  const tgt = await connectPg('target', cfg.target, { database: db, settings: BULK, applicationName: 'dbferry-load' }).catch(
    async (e: unknown) => {
      await src.end().catch(() => undefined);
      throw e;
    },
  );
  return { src, tgt };
}

export function destroy(c: PgClient): void {
  // A failed COPY leaves the client mid-protocol: drop the socket rather than wait on it.
  (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

export async function closeWorker(w: Worker, failed: boolean): Promise<void> {
  if (failed) {
    destroy(w.src);
    destroy(w.tgt);
  }
  await Promise.all([w.src.end().catch(() => undefined), w.tgt.end().catch(() => undefined)]);
}

/** Runs one statement; when resuming, "already exists" errors mean the earlier run did it. */
export async function exec(c: PgClient, sql: string, tolerant: boolean): Promise<void> {
  try {
    await c.query(sql);
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (tolerant && TOLERATED_ON_RESUME.has(code)) return;
    throw e;
  }
}

/** Runs target-only statements in parallel on `jobs` connections. */
export async function targetPool(
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
