/** PostgreSQL checks of one database: size, read access, lock table, empty target, collation. Pure. */
import { formatBytes } from '../../../util/sizes.js';
import { fail, ok, targetEmptyCheck, warn, type CheckResult } from '../../checks.js';
import { list, quoteRole, type PgDbCheckContext } from './context.js';
import { lockTableSize } from '../lock-table.js';

/** `pg.db.size`: reported for every database. */
export function databaseSizeChecks({ d, D }: PgDbCheckContext): CheckResult[] {
  return [ok('pg.db.size', `${formatBytes(d.source.sizeBytes)}, ${d.source.tables} tables, ~${d.source.rowEstimate} rows`, D)];
}

/** `pg.db.source_read`: the source user may read every table and sequence, else the GRANTs that fix it. */
export function sourceReadChecks({ facts, src, name, D }: PgDbCheckContext): CheckResult[] {
  if (!facts || !src) return [];
  const user = quoteRole(src.user.name);
  if (facts.unreadable.length === 0) return [ok('pg.db.source_read', `${src.user.name} may read every table and sequence`, D)];
  const schemas = [...new Set(facts.unreadable.map((t) => t.slice(0, t.lastIndexOf('.'))))];
  const grants =
    src.versionNum >= 140000
      ? `GRANT pg_read_all_data TO ${user};`
      : schemas
          .map(
            (sc) =>
              `GRANT USAGE ON SCHEMA ${sc} TO ${user}; GRANT SELECT ON ALL TABLES IN SCHEMA ${sc} TO ${user}; GRANT SELECT ON ALL SEQUENCES IN SCHEMA ${sc} TO ${user};`,
          )
          .join(' ');
  return [
    fail(
      'pg.db.source_read',
      `${src.user.name} may not read ${facts.unreadable.length} table(s) or sequence(s) on the source: ${list(facts.unreadable)}`,
      `On the source, in database ${name}: ${grants}`,
      D,
    ),
  ];
}

/**
 * `pg.db.lock_table`: pg_dump locks every table of the database in one transaction (dbferry runs
 * two at once, pre-data and post-data), so the shared lock table should hold them, plus a margin.
 * Its nominal size is max_locks_per_transaction × (max_connections + autovacuum_max_workers + 1 +
 * max_worker_processes + max_wal_senders + max_prepared_transactions), as PostgreSQL sizes it; the
 * server's spare shared memory often holds more, so beyond it pg_dump may fail, not must: a warning.
 */
export function lockTableChecks({ src, d, D }: PgDbCheckContext): CheckResult[] {
  const s = src?.settings;
  if (!s?.max_locks_per_transaction) return [];
  const { slots: lockSlots, capacity } = lockTableSize(s);
  const need = d.source.tables + 100;
  if (need > capacity) {
    const per = Math.ceil((need * 1.5) / lockSlots);
    return [
      warn(
        'pg.db.lock_table',
        `${d.source.tables} tables, but the source's lock table is sized for about ${capacity} locks (max_locks_per_transaction ${s.max_locks_per_transaction} × ${lockSlots} server processes): pg_dump may fail with "out of shared memory"`,
        `ALTER SYSTEM SET max_locks_per_transaction = ${per}; then restart the source server.`,
        D,
      ),
    ];
  }
  return [ok('pg.db.lock_table', `${d.source.tables} tables fit the source's lock table (~${capacity} locks)`, D)];
}

/** `pg.db.target_empty`: absent or empty on the target, unless this migration resumes it or overwrites it. */
export function targetDatabaseChecks({ f, cfg, d, name }: PgDbCheckContext): CheckResult[] {
  const resumePhase = f.discovery?.resumable[name];
  return [
    targetEmptyCheck(
      'pg',
      { name, exists: d.target.exists, userObjects: d.target.userObjects },
      cfg.databases.overwrite,
      resumePhase ? { phase: resumePhase, what: 'apply resumes it' } : undefined,
    ),
  ];
}

/** `pg.db.collation`: the database's collation exists on the target. */
export function collationChecks({ tgt, d, name, D }: PgDbCheckContext): CheckResult[] {
  if (!tgt || !d.source.collation) return [];
  const lc = d.source.collation;
  if (tgt.collations.includes(lc) || tgt.collations.includes(lc.replace(/\.utf-?8$/i, '.utf8')))
    return [ok('pg.db.collation', `encoding ${d.source.encoding}, collation ${lc} available on the target`, D)];
  return [
    fail(
      'pg.db.collation',
      `collation/ctype ${lc} of "${name}" is not available on the target`,
      `Install the locale on the target (e.g. locale-gen ${lc}) and restart it.`,
      D,
    ),
  ];
}
