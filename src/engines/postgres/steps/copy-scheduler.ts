/**
 * The copy's scheduler: parallel workers on the snapshot take tables as their schema batch
 * commits (largest first; big ones split in block ranges), and each table's keys and indexes as
 * soon as it is loaded (big tables are analyzed then too). Everything else waits for the whole
 * schema: an index may use a function or type of a later batch.
 */
import { DbferryError } from '../../../util/errors.js';
import { WorkPool } from '../../../util/pool.js';
import { now } from '../../../util/time.js';
import type { StepIo } from '../../engine.js';
import type { CopyCounter } from '../../progress.js';
import type { PartResult, SourceTable } from '../copy.js';
import { qname } from '../sql.js';
import { tableKey, type PgDatabaseContext, type ReadyTable } from './context.js';
import { copyTablePart, copyUnitBatch, copyWholeTable, type TableCopyIo, type TableUnit } from './copy-table.js';
import type { SchemaScript } from './schema-script.js';
import type { TableMarks } from './table-marks.js';
import { closeWorker, destroy, exec, openWorker, openWorkerSource, releaseSourceLocks, type Worker } from './workers.js';

/** Tables at least this big are loaded with TRUNCATE + COPY FREEZE (fewer writes afterwards). */
const FREEZE_MIN = 8 * 1024 * 1024;
/** Tables at least this big are analyzed on their own as soon as they are indexed. */
const ANALYZE_ALONE = 1024 * 1024;
/** Most table units (and their bytes) one worker takes in one round trip. */
const UNITS_PER_BATCH = 50;
const UNIT_BATCH_BYTES = 8 * 1024 * 1024;

type Named = { schema: string; name: string; bytes: number };

export class PgCopyScheduler {
  private readonly pool: WorkPool<Worker>;
  private schemaDone = false;
  private readonly deferredIndexes: Named[] = [];
  private readonly unreleased: Map<string, SourceTable>;
  private readonly pending: Set<string>;
  /** Table units handed over and not yet taken by a worker. */
  private readonly units: TableUnit[] = [];

  constructor(
    private readonly ctx: PgDatabaseContext,
    private readonly script: SchemaScript,
    private readonly counter: CopyCounter,
    private readonly marks: TableMarks,
    private readonly io: StepIo,
  ) {
    const { cfg, database: db, jobs, signal } = ctx.run;
    this.pending = new Set(script.copyList.map((t) => tableKey(t.schema, t.name)).filter((k) => !script.doneTables.has(k)));
    this.unreleased = new Map(
      script.copyList.filter((t) => this.pending.has(tableKey(t.schema, t.name))).map((t) => [tableKey(t.schema, t.name), t]),
    );
    this.pool = new WorkPool<Worker>({
      workers: jobs,
      create: () => openWorker(cfg, db, ctx.snapshot),
      release: closeWorker,
      interrupt: (w) => {
        destroy(w.src);
        destroy(w.tgt);
      },
      signal,
      // Connected (snapshot imported) while the schema is read and created.
      eager: true,
    });
  }

  /** Copies every pending table: those ready now, the others as schema-pre-data hands them over. */
  async run(): Promise<void> {
    this.ctx.tablesReady.subscribe(
      (tables) => this.release(tables),
      () => this.schemaComplete(),
    );
    await this.pool.run();
  }

  private release(tables: readonly ReadyTable[]): void {
    const ready: SourceTable[] = [];
    for (const x of tables) {
      const t = this.unreleased.get(tableKey(x.schema, x.name));
      if (!t) continue;
      this.unreleased.delete(tableKey(x.schema, x.name));
      if (x.unit) this.enqueueUnit(t, x.unit);
      else ready.push(t);
    }
    for (const t of ready.sort((a, b) => b.bytes - a.bytes)) this.enqueue(t);
  }

  /**
   * A table unit: created, filled and indexed by a worker in one transaction; ahead of queued
   * copies (the schema may wait on it). A worker takes the units waiting then, up to a batch,
   * in one round trip; the jobs left with none to take end at once.
   */
  private enqueueUnit(t: SourceTable, unit: { create: string; indexes: string }): void {
    this.units.push({ table: t, unit });
    this.pool.add({ label: `create and copy ${t.schema}.${t.name}`, run: (w) => this.copyUnits(w) }, true);
  }

  private takeUnits(): TableUnit[] {
    let bytes = 0;
    let n = 0;
    while (
      n < this.units.length &&
      n < UNITS_PER_BATCH &&
      (n === 0 || bytes + (this.units[n] as TableUnit).table.bytes <= UNIT_BATCH_BYTES)
    )
      bytes += (this.units[n++] as TableUnit).table.bytes;
    return this.units.splice(0, n);
  }

  private async copyUnits(w: Worker): Promise<void> {
    const batch = this.takeUnits();
    if (batch.length === 0) return;
    await releaseSourceLocks(w, this.ctx.snapshot, batch.length);
    this.counter.loading += batch.length;
    const results = await copyUnitBatch(w, batch, this.tableIo(w));
    for (const [i, { table: t }] of batch.entries()) {
      this.ctx.units.created(t.schema, t.name);
      this.ctx.analyzed.add(tableKey(t.schema, t.name));
      await this.finishTable(t, results[i] as PartResult);
    }
  }

  private schemaComplete(): void {
    this.schemaDone = true;
    this.release(this.script.copyList);
    // Tables not copied now (skipped data, or done by an earlier run) still get their indexes.
    for (const [k, items] of this.script.byTable) {
      if (this.pending.has(k)) continue;
      for (const p of items)
        this.pool.add({ label: `index ${p.entry.name}`, run: (w) => exec(w.tgt, p.entry.sql, this.ctx.run.resuming) }, true);
    }
    for (const t of this.deferredIndexes.splice(0)) this.buildIndexes(t);
    this.pool.close();
  }

  private tableIo(w: Worker): TableCopyIo {
    const { cfg, database: db } = this.ctx.run;
    return {
      onBytes: (n) => {
        this.counter.copied += n;
        this.counter.progress();
        // Kill point: rows are streaming into an uncommitted COPY, and a second table has started.
        if (this.counter.loading + this.counter.completed >= Math.min(2, this.counter.tables)) void this.ctx.run.probe.at('mid-copy');
      },
      reopenSource: async () => (w.src = await openWorkerSource(cfg, db, this.ctx.snapshot)),
      limiter: this.ctx.run.limiter,
    };
  }

  private enqueue(t: SourceTable): void {
    const split =
      t.bytes > this.ctx.run.cfg.copy.splitTablesLargerThan && this.ctx.source.versionNum >= 140000 && t.extensionCondition === null;
    if (split) return this.enqueueParts(t);
    this.pool.add({
      label: `copy ${t.schema}.${t.name}`,
      run: async (w) => {
        await releaseSourceLocks(w, this.ctx.snapshot);
        this.counter.loading++;
        const r = await copyWholeTable(w, t, this.ctx.run.resuming || t.bytes >= FREEZE_MIN, this.tableIo(w));
        await this.finishTable(t, r);
      },
    });
  }

  /** A big table in block ranges, each part its own transaction, after one TRUNCATE. */
  private enqueueParts(t: SourceTable): void {
    const splitAbove = this.ctx.run.cfg.copy.splitTablesLargerThan;
    const blocks = Math.ceil(t.bytes / this.ctx.source.blockSize);
    const nParts = Math.min(Math.ceil(t.bytes / splitAbove), this.ctx.run.jobs * 4);
    const per = Math.ceil(blocks / nParts);
    let remaining = nParts;
    let truncated: Promise<void> | undefined;
    const sum: PartResult = { bytes: 0, rowsSent: 0, rowsLoaded: 0 };
    for (let i = 0; i < nParts; i++) {
      const part = { blocks: { from: i * per, to: i === nParts - 1 ? null : (i + 1) * per } };
      this.pool.add({
        label: `copy ${t.schema}.${t.name} part ${i + 1}/${nParts}`,
        run: async (w) => {
          if (i === 0) this.counter.loading++;
          truncated ??= w.tgt.query(`TRUNCATE ONLY ${qname(t.schema, t.name)}`).then(() => undefined);
          await truncated;
          const r = await copyTablePart(w, t, part, this.tableIo(w));
          sum.bytes += r.bytes;
          sum.rowsSent += r.rowsSent;
          sum.rowsLoaded += r.rowsLoaded;
          if (--remaining === 0) await this.finishTable(t, sum);
        },
      });
    }
  }

  private async finishTable(t: SourceTable, r: PartResult): Promise<void> {
    const { cfg, database: db, probe, signal } = this.ctx.run;
    if (r.rowsSent !== r.rowsLoaded) {
      throw new DbferryError(
        'MIGRATION_FAILED',
        `verify failed for ${t.schema}.${t.name} in "${db}": the source sent ${r.rowsSent} rows, the target loaded ${r.rowsLoaded}`,
      );
    }
    this.marks.add({
      migration: cfg.name,
      dbname: db,
      schema: t.schema,
      table: t.name,
      done: true,
      rows: r.rowsLoaded,
      bytes: r.bytes,
      updatedAt: now(),
    });
    const nth = ++this.counter.completed;
    this.counter.loading--;
    this.counter.progress(nth === this.counter.tables);
    const point = `after-table-${nth}`;
    if (probe.watches(point)) {
      await this.marks.flush();
      await probe.at(point, { report: this.io.report, signal });
    }
    this.buildIndexes(t);
  }

  private buildIndexes(t: Named): void {
    if (!this.schemaDone) {
      this.deferredIndexes.push(t);
      return;
    }
    const items = this.script.byTable.get(tableKey(t.schema, t.name)) ?? [];
    let left = items.length;
    if (left === 0) this.analyzeAfter(t);
    for (const p of items) {
      this.pool.add(
        {
          label: `index ${p.entry.name}`,
          run: async (w) => {
            await exec(w.tgt, p.entry.sql, this.ctx.run.resuming);
            if (--left === 0) this.analyzeAfter(t);
          },
        },
        true,
      );
    }
  }

  /**
   * Big tables are analyzed as soon as their indexes exist while other tables still load (it
   * overlaps their copy); small ones, and a big one indexed after the last load, by the analyze
   * step, which runs alongside verify rather than before it.
   */
  private analyzeAfter(t: Named): void {
    if (t.bytes < ANALYZE_ALONE || this.counter.completed >= this.counter.tables) return;
    this.ctx.analyzed.add(tableKey(t.schema, t.name));
    this.pool.add(
      { label: `analyze ${t.schema}.${t.name}`, run: (w) => w.tgt.query(`ANALYZE ${qname(t.schema, t.name)}`).then(() => undefined) },
      true,
    );
  }
}
