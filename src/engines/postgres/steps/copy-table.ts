/**
 * Copies a whole table in one transaction: TRUNCATE + COPY FREEZE (big tables, or any table when
 * resuming, since a crashed run may have committed it without recording it), else a plain COPY
 * (its own transaction) into the table created empty by this run; binary with a text fallback.
 * A failed COPY leaves the source connection mid-protocol, so the fallback reopens it on the
 * same snapshot. Parts of a split table each commit on their own after one TRUNCATE.
 */
import type { RateLimiter } from '../../../util/rate-limit.js';
import type { PgClient } from '../connect.js';
import { isBinaryFormatError, streamPart, type CopyPart, type PartResult, type SourceTable } from '../copy.js';
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

/**
 * A table unit in one transaction: its CREATE TABLE (and what its TABLE entry holds), COPY FREEZE
 * (allowed: the table is new in this transaction; no hint bits to set and write later), then its
 * keys and indexes, built once over the loaded rows.
 */
export async function copyTableUnit(
  w: Worker,
  t: SourceTable,
  unit: { create: string; indexes: string },
  io: TableCopyIo,
): Promise<PartResult> {
  // One query and one round trip: BEGIN and the DDL, the COPY, the indexes and COMMIT (the simple
  // protocol runs a COPY inside a multi-statement query; an error skips the rest).
  const around = { before: `BEGIN;\n${unit.create}`, after: `${unit.indexes}\nCOMMIT` };
  return withTextFallback(w, t, io, async (format) => {
    try {
      return await streamPart(w.src, w.tgt, t, { blocks: null }, format, true, io.onBytes, io.limiter, around);
    } catch (e) {
      await w.tgt.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  });
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
