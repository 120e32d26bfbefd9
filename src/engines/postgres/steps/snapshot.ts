/** snapshot (dump method): the exporter's transaction exports the snapshot the copy reads. */
import { ql } from '../sql.js';
import type { PgStep } from './context.js';

export const exportSnapshot: PgStep = {
  async run(ctx, io) {
    await ctx.exporter.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    ctx.snapshot = (await ctx.exporter.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]?.s as string;
    io.report(`snapshot ${ctx.snapshot} exported`);
  },
};

/** Imports an exported snapshot into the exporter (replication: the slot's). */
export async function importSnapshot(ctx: { exporter: { query(sql: string): Promise<unknown> } }, snapshot: string): Promise<void> {
  await ctx.exporter.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  await ctx.exporter.query(`SET TRANSACTION SNAPSHOT ${ql(snapshot)}`);
}
