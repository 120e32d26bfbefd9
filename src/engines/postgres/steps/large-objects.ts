/** large-objects: every large object of the source, read on the snapshot. */
import { connectPg } from '../connect.js';
import { copyLargeObject } from '../large-objects.js';
import type { PgStep } from './context.js';
import { BULK } from './workers.js';

export const largeObjects: PgStep = {
  async run(ctx, io) {
    const los = (await ctx.exporter.query<{ oid: string }>('SELECT oid::text FROM pg_largeobject_metadata ORDER BY oid')).rows.map(
      (r) => r.oid,
    );
    io.report(`copying ${los.length} large object(s)`);
    if (los.length === 0) return;
    const t = await connectPg('target', ctx.run.cfg.target, { database: ctx.run.database, settings: BULK });
    try {
      for (const oid of los) await copyLargeObject(ctx.exporter, t, oid);
    } finally {
      await t.end().catch(() => undefined);
    }
  },
};
