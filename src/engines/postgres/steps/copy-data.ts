/**
 * copy-data: every selected table's rows on the snapshot (see copy-scheduler.ts), each table's
 * keys and indexes as it finishes. Tables an earlier run finished are not copied again.
 */
import { CopyCounter } from '../../progress.js';
import { tableKey, type PgStep } from './context.js';
import { PgCopyScheduler } from './copy-scheduler.js';
import { TableMarks } from './table-marks.js';

export const copyData: PgStep = {
  async run(ctx, io) {
    const { record, store } = ctx.run;
    const script = await ctx.script();
    const done = script.copyList.filter((t) => script.doneTables.has(tableKey(t.schema, t.name)));
    const total = script.copyList.reduce((a, t) => a + t.bytes, 0);
    const counter = new CopyCounter(script.copyList.length, total, {
      report: io.report,
      limiter: ctx.run.limiter,
      save: (patch) => record.save(patch),
    });
    counter.completed = done.length;
    counter.copied = done.reduce((a, t) => a + t.bytes, 0);
    await record.save({
      tablesTotal: script.copyList.length,
      tablesCompleted: counter.completed,
      tablesQueued: script.copyList.length - counter.completed,
      tablesLoading: 0,
      tablesErrored: 0,
      bytesTotal: total,
      bytesCopied: counter.copied,
    });
    const marks = new TableMarks(store);
    try {
      await new PgCopyScheduler(ctx, script, counter, marks, io).run();
    } catch (e) {
      ctx.units.fail(e);
      await record.save({ tablesErrored: record.current.tablesErrored + 1, tablesLoading: 0 }).catch(() => undefined);
      throw e;
    } finally {
      await marks.close().catch(() => undefined);
    }
    counter.copied = total;
    counter.progress(true);
    // Every worker has imported the snapshot: the replication connection may go (the slot stays).
    await ctx.slot?.conn.end().catch(() => undefined);
    await record.save({ bytesCopied: total, tablesCompleted: script.copyList.length, tablesLoading: 0, tablesQueued: 0 });
  },
};
