/**
 * Copies a whole table in one transaction: TRUNCATE + COPY FREEZE (big tables, or any table when
 * resuming, since a crashed run may have committed it without recording it), else a plain COPY
 * (its own transaction) into the table created empty by this run; binary with a text fallback.
 * A failed COPY leaves the source connection mid-protocol, so the fallback reopens it on the
 * same snapshot. Parts of a split table each commit on their own after one TRUNCATE.
 */
import type { RateLimiter } from '../../../util/rate-limit.js';
import type { PgClient } from '../connect.js';
import { relayCopies, RelayError } from '../copy-relay.js';
import {
  isBinaryFormatError,
  sourceCopySql,
  streamPart,
  targetCopySql,
  type CopyPart,
  type PartResult,
  type SourceTable,
} from '../copy.js';
import { qname } from '../sql.js';
import { destroy, type Worker } from './workers.js';

export interface TableCopyIo {
  onBytes(n: number): void;
  reopenSource(): Promise<PgClient>;
  limiter?: RateLimiter | undefined;
}

async function inTransaction<T>(c: PgClient, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    const r = await fn();
    await c.query('COMMIT');
    return r;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** Runs `attempt` in binary (when the table allows it), again in text if the binary COPY is refused. */
async function withTextFallback(w: Worker, t: SourceTable, io: TableCopyIo, attempt: (format: 'binary' | 'text') => Promise<PartResult>) {
  try {
    return await attempt(t.format);
  } catch (e) {
    if (t.format === 'text' || !isBinaryFormatError(e)) throw e;
    destroy(w.src);
    await w.src.end().catch(() => undefined);
    w.src = await io.reopenSource();
    return attempt('text');
  }
}

export interface TableUnit {
  table: SourceTable;
  unit: { create: string; indexes: string };
}

/**
 * Units this small are loaded without FREEZE: freezing creates the table's visibility map file
 * (a file and its fsync per table, measured 0.13 ms a table), more than their hint bits will cost.
 */
const UNIT_FREEZE_MIN = 64 * 1024;

/** A unit's statements: its own transaction, the COPY, its keys and indexes, ANALYZE (the table is small). */
function unitSql(t: SourceTable, unit: TableUnit['unit'], format: 'binary' | 'text'): string {
  const copy = targetCopySql(t, format, t.bytes >= UNIT_FREEZE_MIN);
  return `BEGIN;\n${unit.create}\n${copy};\n${unit.indexes}\nANALYZE ${qname(t.schema, t.name)};\nCOMMIT;`;
}

/**
 * A table unit in one transaction: its CREATE TABLE (and what its TABLE entry holds), COPY FREEZE
 * (allowed: the table is new in this transaction; no hint bits to set and write later), then its
 * keys and indexes, built once over the loaded rows, and ANALYZE. One query and one round trip
 * (the simple protocol runs a COPY inside a multi-statement query; an error skips the rest).
 */
export async function copyTableUnit(w: Worker, t: SourceTable, unit: TableUnit['unit'], io: TableCopyIo): Promise<PartResult> {
  return withTextFallback(w, t, io, async (format) => {
    try {
      const r = await relayCopies(w.src, w.tgt, sourceCopySql(t, { blocks: null }, format), unitSql(t, unit, format), 1, io);
      return r.copies[0] as PartResult;
    } catch (e) {
      await w.tgt.query('ROLLBACK').catch(() => undefined);
      throw e instanceof RelayError ? e.cause : e;
    }
  });
}

/**
 * Table units in one round trip: one source query of their COPY TO, one target query of their
 * transactions. Units committed before a failure stay done; the rest are copied one by one
 * (with the text fallback), on a new source transaction, so an error names its table.
 */
export async function copyUnitBatch(w: Worker, units: TableUnit[], io: TableCopyIo): Promise<PartResult[]> {
  const whole: CopyPart = { blocks: null };
  const sourceSql = units.map((u) => sourceCopySql(u.table, whole, u.table.format)).join(';\n');
  try {
    const targetSql = units.map((u) => unitSql(u.table, u.unit, u.table.format)).join('\n');
    const r = await relayCopies(w.src, w.tgt, sourceSql, targetSql, units.length, io);
    return r.copies;
  } catch (e) {
    if (!(e instanceof RelayError)) throw e;
    // Only a statement's failure (a server's error, with its severity; 08P01 is a binary form the
    // target refused) is retried here, not a lost connection, a shutdown or an interruption.
    const cause = e.cause as { code?: unknown; severity?: unknown } | null;
    const code = typeof cause?.code === 'string' ? cause.code : '';
    if (typeof cause?.severity !== 'string' || code.startsWith('57') || (code.startsWith('08') && code !== '08P01')) throw e.cause;
    const done: PartResult[] = e.outcome.copies.slice(0, e.outcome.committed);
    await w.tgt.query('ROLLBACK').catch(() => undefined);
    destroy(w.src);
    await w.src.end().catch(() => undefined);
    w.src = await io.reopenSource();
    for (const u of units.slice(done.length)) done.push(await copyTableUnit(w, u.table, u.unit, io));
    return done;
  }
}

export async function copyWholeTable(w: Worker, t: SourceTable, truncate: boolean, io: TableCopyIo): Promise<PartResult> {
  const whole: CopyPart = { blocks: null };
  const attempt = async (format: 'binary' | 'text'): Promise<PartResult> => {
    // A table this run created empty needs no transaction around its COPY (one statement, atomic).
    if (!truncate && t.extensionCondition === null) return streamPart(w.src, w.tgt, t, whole, format, false, io.onBytes, io.limiter);
    return inTransaction(w.tgt, async () => {
      // Extension configuration tables keep the extension's own rows: replace only the user rows.
      if (t.extensionCondition)
        await w.tgt.query(
          `DELETE FROM ONLY ${qname(t.schema, t.name)} ${/^\s*WHERE/i.test(t.extensionCondition) ? t.extensionCondition : `WHERE ${t.extensionCondition}`}`,
        );
      else if (truncate) await w.tgt.query(`TRUNCATE ONLY ${qname(t.schema, t.name)}`);
      // FREEZE needs the table truncated in this transaction.
      return streamPart(w.src, w.tgt, t, whole, format, truncate && t.extensionCondition === null, io.onBytes, io.limiter);
    });
  };
  return withTextFallback(w, t, io, attempt);
}

export async function copyTablePart(w: Worker, t: SourceTable, part: CopyPart, io: TableCopyIo): Promise<PartResult> {
  return inTransaction(w.tgt, () => streamPart(w.src, w.tgt, t, part, t.format, false, io.onBytes, io.limiter));
}
