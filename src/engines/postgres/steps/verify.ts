/**
 * verify (offline copy): row counts and checksums of every copied table (or sampled key ranges)
 * on the copy's snapshot against the loaded target, alongside the rest of post-data.
 */
import { DbferryError } from '../../../util/errors.js';
import { verifyTables } from '../verify.js';
import type { PgStep } from './context.js';
import { closeWorker, openWorker, releaseSourceLocks } from './workers.js';

export const verify: PgStep = {
  async run(ctx, io) {
    const { cfg, database: db, probe, signal } = ctx.run;
    const { copyList } = await ctx.script();
    await probe.at('before-verify', { report: io.report, signal });
    io.report(`verifying row counts and checksums of ${copyList.length} table(s), alongside the rest`);
    const opts = { mode: cfg.verify, sampleAbove: cfg.verifySampleAbove };
    const mismatches = await verifyTables(
      copyList,
      opts,
      ctx.run.jobs,
      () => openWorker(cfg, db, ctx.snapshot),
      closeWorker,
      signal,
      (w, tables) => releaseSourceLocks(w, ctx.snapshot, tables),
    );
    if (mismatches.length === 0) return;
    const names = mismatches.map((m) => `${m.table} (${m.detail})`);
    throw new DbferryError(
      'MIGRATION_FAILED',
      `verify failed for ${mismatches.length} table(s) in "${db}": ${names.slice(0, 5).join('; ')}${names.length > 5 ? `; and ${names.length - 5} more` : ''}`,
      { hint: 'The source changed during the copy, or data did not arrive intact. Re-run with databases.overwrite: true to copy again.' },
    );
  },
};
