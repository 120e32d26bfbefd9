/** slot-snapshot (online): the logical replication slot, whose exported snapshot the copy reads. */
import { createSlotWithSnapshot } from '../replication.js';
import type { PgStep } from './context.js';
import { importSnapshot } from './snapshot.js';

export const slotSnapshot: PgStep = {
  async run(ctx, io) {
    io.report(`creating the replication slot ${ctx.objectName} (waits for open write transactions on the source)`);
    ctx.slot = await createSlotWithSnapshot(ctx.run.cfg, ctx.run.database, ctx.objectName);
    await ctx.run.probe.at('after-slot');
    ctx.snapshot = ctx.slot.snapshot;
    await importSnapshot(ctx, ctx.snapshot);
    io.report(`replication slot ${ctx.objectName} created at ${ctx.slot.consistentPoint}, snapshot ${ctx.snapshot}`);
  },
};
