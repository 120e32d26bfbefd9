/** verify (dump): CHECKSUM TABLE or sampled key ranges of every copied table, on both sides (counts were compared by copy-data). */
import { DbferryError } from '../../../util/errors.js';
import { verifyMysqlTables } from '../verify.js';
import type { MyStep } from './context.js';

export const verify: MyStep = {
  async run(ctx, io) {
    const { cfg, database: db, probe, signal } = ctx.run;
    await probe.at('before-verify', { report: io.report, signal });
    io.report(`verifying row counts and checksums of ${ctx.copyList.length} table(s)`);
    await Promise.all([ctx.control.query("SET SESSION time_zone = '+00:00'"), ctx.admin.query("SET SESSION time_zone = '+00:00'")]);
    const mismatches = await verifyMysqlTables(ctx.control, ctx.admin, db, ctx.copyList, {
      mode: cfg.verify,
      sampleAbove: cfg.verifySampleAbove,
    });
    if (mismatches.length)
      throw new DbferryError('MIGRATION_FAILED', `verify failed for ${mismatches.length} table(s) in "${db}": ${mismatches.join('; ')}`);
  },
};
