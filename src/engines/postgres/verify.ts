/** Verify: row counts and checksums per table (see verify-policy), source vs target. */
import type { VerifyMode } from '../../config/types.js';
import { WorkPool } from '../../util/pool.js';
import { rangesCondition, sampleRanges, tableVerify, type KeySpan } from '../verify-policy.js';
import type { PgClient } from './connect.js';
import type { SourceTable } from './copy.js';
import { qi, qname } from './sql.js';

export interface VerifyMismatch {
  table: string;
  detail: string;
}

export interface VerifyOptions {
  mode: VerifyMode;
  sampleAbove: number;
}

/** The rows of a table a verify reads: all of them (extension config tables: the user rows). */
function rowsOf(t: SourceTable): string {
  const cols = t.columns.map(qi).join(', ');
  const cond = t.extensionCondition
    ? ` ${/^\s*WHERE/i.test(t.extensionCondition) ? t.extensionCondition : `WHERE ${t.extensionCondition}`}`
    : '';
  return `(SELECT ${cols} FROM ONLY ${qname(t.schema, t.name)}${cond}) r`;
}

/**
 * How a row's text form is hashed: md5 (60 bits of it), or hashtextextended, 64 bits and about
 * three times cheaper per row, used when both servers compute the same value for it (see
 * rowHashFor: the function is PostgreSQL's own and could differ between architectures).
 */
export type RowHash = 'md5' | 'hashtext';

const ROW_HASH: Record<RowHash, string> = {
  md5: `('x' || substr(md5(r::text), 1, 15))::bit(60)::bigint`,
  hashtext: `hashtextextended(r::text, 0)`,
};

/** The probe both servers must answer alike for the cheaper row hash to be used. */
export const ROW_HASH_PROBE = `SELECT hashtextextended('dbferry verify 1, (2,"x")', 0)::text AS h`;

/**
 * Count, and an order-independent sum of 60- or 64-bit row hashes; with `ranges`, of the rows in
 * them only: a sampled table's row count is the load's (COPY's on both sides, compared by
 * copy-data), as counting it again would scan the whole table on both servers.
 */
export function verifySql(t: SourceTable, checksums: boolean, ranges?: KeySpan[], rowHash: RowHash = 'md5'): string {
  if (!checksums) return `SELECT count(*)::text AS n, '' AS h FROM ${rowsOf(t)}`;
  const hash = ROW_HASH[rowHash];
  if (!ranges || !t.intKey) return `SELECT count(*)::text AS n, coalesce(sum(${hash}), 0)::text AS h FROM ${rowsOf(t)}`;
  const cols = t.columns.map(qi).join(', ');
  const sampled = `(SELECT ${cols} FROM ONLY ${qname(t.schema, t.name)} WHERE ${rangesCondition(qi(t.intKey), ranges)}) r`;
  return `SELECT '' AS n, (SELECT count(*) || ':' || coalesce(sum(${hash}), 0) FROM ${sampled}) AS h`;
}

async function keyRangesOf(c: PgClient, t: SourceTable, sampleAbove: number): Promise<KeySpan[]> {
  const key = qi(t.intKey as string);
  const r = (
    await c.query<{ lo: string | null; hi: string | null }>(
      `SELECT min(${key})::text AS lo, max(${key})::text AS hi FROM ONLY ${qname(t.schema, t.name)}`,
    )
  ).rows[0];
  if (!r?.lo || !r.hi) return [];
  return sampleRanges(BigInt(r.lo), BigInt(r.hi), sampleAbove / Math.max(1, t.bytes));
}

/** Tables up to this size are verified together, many per query (fewer round trips and plans); bigger ones alone. */
const BATCH_BYTES = 8 * 1024 * 1024;
const BATCH_TABLES = 50;

/** One query for several tables: row i is table i's count and checksum. */
export function batchVerifySql(sqls: string[]): string {
  return sqls.map((sql, i) => `SELECT ${i} AS i, n, h FROM (${sql}) q${i}`).join('\nUNION ALL\n');
}

interface VerifyJob {
  tables: SourceTable[];
  kind: 'full' | 'counts' | 'sample';
  /** A sampled table's key ranges are checked in `of` jobs, each taking every `of`-th range. */
  share?: { index: number; of: number };
}

/** Jobs a sampled table's ranges are spread over (the sample is a fixed amount of work at the end of the copy). */
const SAMPLE_SHARES = 2;

/** Small tables in batches of up to BATCH_TABLES / BATCH_BYTES; big and sampled ones alone. */
function verifyJobs(checked: SourceTable[], opts: VerifyOptions): VerifyJob[] {
  const jobs: VerifyJob[] = [];
  const open = new Map<string, VerifyJob & { bytes: number }>();
  for (const t of checked) {
    const kind = tableVerify(opts.mode, t, opts.sampleAbove) as VerifyJob['kind'];
    if (kind === 'sample') {
      for (let index = 0; index < SAMPLE_SHARES; index++) jobs.push({ tables: [t], kind, share: { index, of: SAMPLE_SHARES } });
      continue;
    }
    if (t.bytes > BATCH_BYTES) {
      jobs.push({ tables: [t], kind });
      continue;
    }
    let job = open.get(kind);
    if (!job || job.tables.length >= BATCH_TABLES || job.bytes + t.bytes > BATCH_BYTES) {
      job = { tables: [], kind, bytes: 0 };
      open.set(kind, job);
      jobs.push(job);
    }
    job.tables.push(t);
    job.bytes += t.bytes;
  }
  return jobs;
}

type Row = { n: string; h: string };

/** hashtextextended where source and target compute the same value for it, else md5. */
export async function rowHashFor(w: { src: PgClient; tgt: PgClient }): Promise<RowHash> {
  const [a, b] = await Promise.all([w.src.query<{ h: string }>(ROW_HASH_PROBE), w.tgt.query<{ h: string }>(ROW_HASH_PROBE)]);
  return a.rows[0]?.h !== undefined && a.rows[0]?.h === b.rows[0]?.h ? 'hashtext' : 'md5';
}

async function runVerifyJob(
  w: { src: PgClient; tgt: PgClient },
  job: VerifyJob,
  opts: VerifyOptions,
  rowHash: RowHash,
): Promise<VerifyMismatch[]> {
  const first = job.tables[0] as SourceTable;
  const share = job.share ?? { index: 0, of: 1 };
  const all = job.kind === 'sample' ? await keyRangesOf(w.src, first, opts.sampleAbove) : undefined;
  const ranges = all?.filter((_, k) => k % share.of === share.index);
  const sqls = job.tables.map((t) => verifySql(t, job.kind !== 'counts', ranges, rowHash));
  const sql = batchVerifySql(sqls);
  const [a, b] = await Promise.all([w.src.query<Row & { i: number }>(sql), w.tgt.query<Row & { i: number }>(sql)]);
  const byIndex = (rows: (Row & { i: number })[]) => new Map(rows.map((r) => [Number(r.i), r] as const));
  const src = byIndex(a.rows);
  const tgt = byIndex(b.rows);
  const out: VerifyMismatch[] = [];
  job.tables.forEach((t, i) => {
    const s = src.get(i);
    const g = tgt.get(i);
    const table = `${t.schema}.${t.name}`;
    if (s?.n !== g?.n) out.push({ table, detail: `${s?.n} rows on the source, ${g?.n} on the target` });
    else if (s?.h !== g?.h)
      out.push({
        table,
        detail: job.kind === 'sample' ? `checksum of the rows in ${all?.length ?? 0} sampled key ranges differs` : 'checksum differs',
      });
  });
  return out;
}

export async function verifyTables<W extends { src: PgClient; tgt: PgClient }>(
  tables: SourceTable[],
  opts: VerifyOptions,
  jobs: number,
  open: () => Promise<W>,
  close: (w: W, failed: boolean) => Promise<void>,
  signal?: AbortSignal,
  /** Before each job (of `tables` tables): lets the caller end the source transaction now and then (its locks). */
  beforeJob?: (w: W, tables: number) => Promise<void>,
): Promise<VerifyMismatch[]> {
  const out: VerifyMismatch[] = [];
  const checked = tables.filter((t) => tableVerify(opts.mode, t, opts.sampleAbove) !== 'none');
  if (checked.length === 0) return out;
  const work = verifyJobs(checked, opts);
  let rowHash: Promise<RowHash> | undefined;
  const pool = new WorkPool<W>({ workers: Math.min(jobs, work.length), create: open, release: close, ...(signal ? { signal } : {}) });
  for (const job of work) {
    const names = job.tables.map((t) => `${t.schema}.${t.name}`);
    pool.add({
      label: `verify ${names.length === 1 ? names[0] : `${names.length} tables`}`,
      run: async (w) => {
        await beforeJob?.(w, job.tables.length);
        rowHash ??= rowHashFor(w);
        out.push(...(await runVerifyJob(w, job, opts, await rowHash)));
      },
    });
  }
  pool.close();
  await pool.run();
  // A sampled table checked in shares is named once.
  const byTable = new Map(out.map((m) => [m.table, m] as const));
  return [...byTable.values()].sort((x, y) => x.table.localeCompare(y.table));
}
