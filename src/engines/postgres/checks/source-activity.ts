/** What is going on at the source that a migration waits for or adds to. Pure. */
import { warn, type CheckResult } from '../../checks.js';
import { ownObjectNames } from '../replication-sql.js';
import { list, type PgCheckContext } from './context.js';

/** `pg.source.long_transactions` and `pg.source.dbferry_slots` (other migrations' slots). */
export function sourceActivityChecks({ src, cfg, f }: PgCheckContext): CheckResult[] {
  if (!src) return [];
  const out: CheckResult[] = [];
  if (src.longTransactions.length) {
    const lt = src.longTransactions.map((t) => `pid ${t.pid}${t.database ? ` in ${t.database}` : ''} for ${t.seconds}s`);
    out.push(
      warn(
        'pg.source.long_transactions',
        `${lt.length} transaction(s) open longer than 5 minutes: ${list(lt, 4)}`,
        'They hold back cleanup, and slot creation waits for them; let them finish or end them (pg_terminate_backend).',
      ),
    );
  }
  const own = ownObjectNames(
    cfg.name,
    f.databases.map((d) => d.name),
  );
  const foreignSlots = src.dbferrySlots.filter((x) => !own.has(x));
  if (foreignSlots.length) {
    out.push(
      warn(
        'pg.source.dbferry_slots',
        `dbferry replication slot(s) of other migrations on the source: ${list(foreignSlots)}; they retain WAL`,
        'Run `dbferry cancel` for the migration they belong to, or SELECT pg_drop_replication_slot(name).',
      ),
    );
  }
  return out;
}
