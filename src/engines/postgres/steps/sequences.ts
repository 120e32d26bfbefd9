/** sequences: the source's sequence values, read on the snapshot. */
import { connectPg } from '../connect.js';
import { readSequences, writeSequences } from '../sequences.js';
import type { PgStep } from './context.js';
import { BULK } from './workers.js';

export const sequences: PgStep = {
  async run(ctx, io) {
    const seqs = await readSequences(ctx.exporter);
    io.report(`setting ${seqs.length} sequence(s)`);
    const t = await connectPg('target', ctx.run.cfg.target, { database: ctx.run.database, settings: BULK });
    try {
      await writeSequences(t, seqs);
    } finally {
      await t.end().catch(() => undefined);
    }
  },
};
