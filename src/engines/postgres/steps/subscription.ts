/** subscription (online): the target subscribes from the slot, so the changes made since the snapshot follow until cutover. */
import { withPg } from '../connect.js';
import { createSubscription, targetChangeCounters } from '../replication.js';
import type { PgStep } from './context.js';

export const subscription: PgStep = {
  async run(ctx, io) {
    const { cfg, database: db, record } = ctx.run;
    const base = await withPg('target', cfg.target, { database: db }, targetChangeCounters);
    await createSubscription(cfg, db, ctx.objectName);
    await record.save({ status: 'syncing', cdcBaseline: `${base.ins},${base.upd},${base.del}` });
    io.report(`replicating: subscription ${ctx.objectName} streams the source's changes until cutover`);
  },
};
