/** analyze: ANALYZE of the copied tables the copy did not analyze itself, 100 tables per statement. */
import type { PgClient } from '../connect.js';
import { qname } from '../sql.js';
import { tableKey, type PgStep } from './context.js';
import { targetPool } from './workers.js';

export const analyze: PgStep = {
  async run(ctx, io) {
    const { copyList } = await ctx.script();
    const toAnalyze = copyList.filter((t) => !ctx.analyzed.has(tableKey(t.schema, t.name)));
    io.report(`ANALYZE ${toAnalyze.length} table(s)`);
    const batches: (typeof toAnalyze)[] = [];
    for (let i = 0; i < toAnalyze.length; i += 100) batches.push(toAnalyze.slice(i, i + 100));
    await targetPool(
      ctx.run.cfg,
      ctx.run.database,
      ctx.run.jobs,
      ctx.run.signal,
      batches.map((b) => (c: PgClient) => c.query(`ANALYZE ${b.map((t) => qname(t.schema, t.name)).join(', ')}`).then(() => undefined)),
    );
  },
};
