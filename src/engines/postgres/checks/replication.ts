/**
 * PostgreSQL logical replication prerequisites of each server (online only): settings with room
 * for one slot, WAL sender and apply worker per database, and the users' privileges. Pure.
 */
import { fail, ok, type CheckResult } from '../../checks.js';
import { quoteRole, type PgCheckContext } from './context.js';

const R = { replication: true } as const;

/** The source: version, wal_level, free slots and WAL senders, REPLICATION, no prepared transactions. */
export function sourceReplicationChecks({ online, src, n }: PgCheckContext): CheckResult[] {
  if (!online || !src) return [];
  const out: CheckResult[] = [];
  if (src.versionNum < 100000)
    out.push(
      fail(
        'pg.replication.version',
        `source PostgreSQL ${src.version} has no logical replication (needs >= 10)`,
        'Use method: dump, or upgrade the source.',
        R,
      ),
    );
  const wal = src.settings.wal_level ?? '?';
  if (wal !== 'logical')
    out.push(
      fail(
        'pg.wal_level',
        `wal_level is ${wal}, logical replication needs logical`,
        "ALTER SYSTEM SET wal_level = 'logical'; then restart the source server.",
        R,
      ),
    );
  else out.push(ok('pg.wal_level', 'wal_level is logical', R));
  const slots = Number(src.settings.max_replication_slots ?? 0);
  const freeSlots = slots - src.slotsUsed;
  if (freeSlots < n)
    out.push(
      fail(
        'pg.max_replication_slots',
        `max_replication_slots is ${slots} with ${src.slotsUsed} in use: ${freeSlots} free, ${n} needed (one per database)`,
        `ALTER SYSTEM SET max_replication_slots = ${src.slotsUsed + n + 2}; then restart the source server.`,
        R,
      ),
    );
  else out.push(ok('pg.max_replication_slots', `max_replication_slots ${slots}, ${src.slotsUsed} in use, ${n} needed`, R));
  const senders = Number(src.settings.max_wal_senders ?? 0);
  const freeSenders = senders - src.walSendersUsed;
  if (freeSenders < n)
    out.push(
      fail(
        'pg.max_wal_senders',
        `max_wal_senders is ${senders} with ${src.walSendersUsed} in use: ${freeSenders} free, ${n} needed`,
        `ALTER SYSTEM SET max_wal_senders = ${src.walSendersUsed + n + 2}; then restart the source server.`,
        R,
      ),
    );
  else out.push(ok('pg.max_wal_senders', `max_wal_senders ${senders}, ${src.walSendersUsed} in use, ${n} needed`, R));
  if (src.user.superuser || src.user.replication)
    out.push(ok('pg.source.replication_privilege', `${src.user.name} has ${src.user.superuser ? 'superuser' : 'REPLICATION'}`, R));
  else
    out.push(
      fail(
        'pg.source.replication_privilege',
        `${src.user.name} has neither REPLICATION nor superuser on the source`,
        `ALTER ROLE ${quoteRole(src.user.name)} WITH REPLICATION;`,
        R,
      ),
    );
  if (src.preparedTransactions > 0)
    out.push(
      fail(
        'pg.source.prepared_transactions',
        `${src.preparedTransactions} prepared transaction(s) on the source: creating a replication slot waits for them`,
        'COMMIT PREPARED or ROLLBACK PREPARED them (see pg_prepared_xacts).',
        R,
      ),
    );
  return out;
}

/** The target: free apply workers, worker processes and replication origins; may create subscriptions. */
export function targetReplicationChecks({ online, tgt, n }: PgCheckContext): CheckResult[] {
  if (!online || !tgt) return [];
  const out: CheckResult[] = [];
  const workers = Number(tgt.settings.max_logical_replication_workers ?? 0);
  const used = tgt.enabledSubscriptions;
  if (workers - used < n)
    out.push(
      fail(
        'pg.max_logical_replication_workers',
        `target max_logical_replication_workers is ${workers} with ${used} subscriptions: ${n} more needed`,
        `ALTER SYSTEM SET max_logical_replication_workers = ${used + n + 2}; then restart the target server.`,
        R,
      ),
    );
  else
    out.push(ok('pg.max_logical_replication_workers', `target max_logical_replication_workers ${workers}, ${used} in use, ${n} needed`, R));
  const procs = Number(tgt.settings.max_worker_processes ?? 0);
  if (procs < used + n + 1)
    out.push(
      fail(
        'pg.max_worker_processes',
        `target max_worker_processes is ${procs}: ${used + n + 1} needed (apply workers and the launcher)`,
        `ALTER SYSTEM SET max_worker_processes = ${used + n + 8}; then restart the target server.`,
        R,
      ),
    );
  else out.push(ok('pg.max_worker_processes', `target max_worker_processes ${procs}, ${used + n + 1} needed`, R));
  const tslots = Number(tgt.settings.max_replication_slots ?? 0);
  if (tslots < used + n)
    out.push(
      fail(
        'pg.target.max_replication_slots',
        `target max_replication_slots is ${tslots}: subscriptions need ${used + n} replication origins`,
        `ALTER SYSTEM SET max_replication_slots = ${used + n + 2}; on the target, then restart it.`,
        R,
      ),
    );
  const canSub = tgt.user.superuser || (tgt.versionNum >= 160000 && tgt.user.createSubscription);
  if (canSub) out.push(ok('pg.target.subscription_privilege', `${tgt.user.name} may create subscriptions`, R));
  else
    out.push(
      fail(
        'pg.target.subscription_privilege',
        `${tgt.user.name} may not create subscriptions on the target (${tgt.versionNum >= 160000 ? 'needs superuser or pg_create_subscription' : 'PostgreSQL < 16 needs superuser'})`,
        tgt.versionNum >= 160000 ? `GRANT pg_create_subscription TO ${quoteRole(tgt.user.name)};` : 'Connect to the target as a superuser.',
        R,
      ),
    );
  return out;
}
