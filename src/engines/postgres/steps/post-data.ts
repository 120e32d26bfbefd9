/** schema-post-data: the rest of post-data in pg_dump's order (triggers, policies, rules, materialized views), then foreign keys in parallel. */
import type { PgClient } from '../connect.js';
import { connectPg } from '../connect.js';
import type { PgStep } from './context.js';
import { BULK, exec, PROLOG, targetPool } from './workers.js';

export const postData: PgStep = {
  async run(ctx, io) {
    const { cfg, database: db, probe, resuming } = ctx.run;
    const { post } = await ctx.script();
    io.report('building the remaining post-data objects (triggers, policies, rules, materialized views)');
    const t = await connectPg('target', cfg.target, { database: db, settings: BULK });
    try {
      await t.query(PROLOG);
      for (const p of post.filter((x) => x.phase === 'after')) {
        if (p.entry.sql) await exec(t, p.entry.sql, resuming);
        await probe.at('mid-post-data');
      }
    } finally {
      await t.end().catch(() => undefined);
    }
    const fks = post.filter((x) => x.phase === 'fk' && x.entry.sql);
    io.report(`adding ${fks.length} foreign key(s)`);
    await targetPool(
      cfg,
      db,
      ctx.run.jobs,
      ctx.run.signal,
      fks.map((p) => (c: PgClient) => exec(c, p.entry.sql, resuming)),
    );
  },
};
