/**
 * Sequence state, read on the source and set on the target. pg_sequences hides the value of a
 * sequence whose is_called is false (setval(s, 42, false), or never called), so each sequence
 * relation is read for its last_value and is_called, many per statement.
 */
import type { PgClient } from './connect.js';
import { ql, qname } from './sql.js';

export interface SequenceState {
  schema: string;
  name: string;
  lastValue: string;
  isCalled: boolean;
}

const BATCH = 500;

function batches<T>(xs: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += BATCH) out.push(xs.slice(i, i + BATCH));
  return out;
}

export async function readSequences(c: PgClient): Promise<SequenceState[]> {
  const names = (
    await c.query<{ s: string; n: string }>(
      `SELECT schemaname AS s, sequencename AS n FROM pg_sequences WHERE schemaname <> 'dbferry' ORDER BY 1, 2`,
    )
  ).rows;
  const out: SequenceState[] = [];
  for (const batch of batches(names)) {
    const sql = batch.map((q, i) => `SELECT ${i} AS i, last_value::text AS v, is_called AS c FROM ${qname(q.s, q.n)}`).join(' UNION ALL ');
    const rows = (await c.query<{ i: number; v: string; c: boolean }>(sql)).rows;
    for (const r of rows) {
      const q = batch[r.i] as { s: string; n: string };
      out.push({ schema: q.s, name: q.n, lastValue: r.v, isCalled: r.c });
    }
  }
  return out;
}

/** Sets every sequence to its source state, 500 per statement. */
export async function writeSequences(c: PgClient, seqs: SequenceState[]): Promise<void> {
  for (const batch of batches(seqs)) {
    await c.query(
      `SELECT ${batch.map((q) => `setval(${ql(qname(q.schema, q.name))}::regclass, ${ql(q.lastValue)}::bigint, ${q.isCalled})`).join(', ')}`,
    );
  }
}
