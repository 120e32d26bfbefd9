/**
 * copy-data: every selected table's rows on the snapshot with LOAD DATA LOCAL INFILE, largest
 * first, big tables with an integer key in key ranges; each table's row count compared as it
 * finishes.
 */
import { DbferryError } from '../../../util/errors.js';
import { WorkPool } from '../../../util/pool.js';
import { now } from '../../../util/time.js';
import type { StepIo } from '../../engine.js';
import { CopyCounter } from '../../progress.js';
import { connectMysql, rows, type MyConnection } from '../connect.js';
import { copyMysqlTable, keyRanges, type KeyRange } from '../copy.js';
import { qi } from '../sql.js';
import type { MyDatabaseContext, MyStep, MyTable } from './context.js';

interface Worker {
  src: MyConnection;
  tgt: MyConnection;
}

function workerPool(ctx: MyDatabaseContext): WorkPool<Worker> {
  const { cfg, database: db, signal } = ctx.run;
  const sources = [...ctx.workers];
  return new WorkPool<Worker>({
    workers: sources.length,
    create: async () => {
      const src = sources.shift() as MyConnection;
      const t = await connectMysql('target', cfg.target, { database: db });
      await t.query('SET SESSION foreign_key_checks = 0, unique_checks = 0');
      await t.query("SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO', time_zone = '+00:00'");
      await t.query('SET SESSION sql_log_bin = 0').catch(() => undefined);
      return { src, tgt: t };
    },
    release: async (w, failed) => {
      // The source connection is the snapshot's: the session closes it. A failed copy can leave a
      // LOAD DATA half sent: end() would wait for it.
      if (failed) return w.tgt.destroy();
      await w.tgt.end().catch(() => undefined);
    },
    interrupt: (w) => {
      w.src.destroy();
      w.tgt.destroy();
    },
    signal,
  });
}

/** Key ranges of a big table with an integer key (one undefined range: the whole table). */
async function rangesOf(ctx: MyDatabaseContext, t: MyTable, io: StepIo): Promise<(KeyRange | undefined)[]> {
  const { cfg, database: db, jobs } = ctx.run;
  if (!t.intKey || t.bytes <= cfg.copy.splitTablesLargerThan) return [undefined];
  const [mm] = await rows<{ lo: string | null; hi: string | null }>(
    ctx.workers[0] as MyConnection,
    `SELECT MIN(${qi(t.intKey)}) AS lo, MAX(${qi(t.intKey)}) AS hi FROM ${qi(db)}.${qi(t.name)}`,
  );
  if (!mm || mm.lo === null || mm.hi === null) return [undefined];
  const ranges = keyRanges(
    t.intKey,
    BigInt(mm.lo),
    BigInt(mm.hi),
    Math.min(Math.ceil(t.bytes / cfg.copy.splitTablesLargerThan), Math.max(1, jobs) * 4),
  );
  if (ranges.length > 1) io.report(`copying ${t.name} in ${ranges.length} key ranges of ${t.intKey}`);
  return ranges;
}

export const copyData: MyStep = {
  async run(ctx, io) {
    const { cfg, database: db, probe, store } = ctx.run;
    const total = ctx.copyList.reduce((a, t) => a + t.bytes, 0);
    // On-disk sizes are the estimate: the bytes sent differ, so the ETA is approximate.
    const counter = new CopyCounter(ctx.copyList.length, total, { report: io.report, limiter: ctx.run.limiter });
    const pool = workerPool(ctx);
    const mismatches: string[] = [];
    let tablesStarted = 0;
    for (const t of ctx.copyList) {
      const ranges = await rangesOf(ctx, t, io);
      let left = ranges.length;
      const sum = { rows: 0, bytes: 0 };
      for (const range of ranges) {
        pool.add({
          label: `copy ${t.name}`,
          run: async (w) => {
            if (left === ranges.length) tablesStarted++;
            const onBytes = (n: number): void => {
              counter.copied += n;
              counter.progress();
              // Kill point: rows are streaming into a LOAD DATA, and a second table has started.
              if (tablesStarted >= Math.min(2, ctx.copyList.length)) void probe.at('mid-copy');
            };
            const r = await copyMysqlTable(w.src, w.tgt, db, t.name, t.columns, onBytes, range, ctx.run.limiter);
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
            counter.completed++;
            await probe.at(`after-table-${counter.completed}`);
            counter.progress(true);
          },
        });
      }
    }
    pool.close();
    await pool.run();
    ctx.copiedBytes = counter.copied;
    if (cfg.verify !== 'none' && mismatches.length)
      throw new DbferryError('MIGRATION_FAILED', `verify failed for ${mismatches.length} table(s) in "${db}": ${mismatches.join('; ')}`);
    await ctx.run.record.save({ tablesCompleted: ctx.copyList.length, tablesQueued: 0, bytesCopied: total });
  },
};
