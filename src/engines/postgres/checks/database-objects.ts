/**
 * PostgreSQL checks of what one source database contains (from its facts): extensions, tables
 * replication does not carry, leftovers of other migrations, generated columns. Pure.
 */
import { fail, ok, warn, type CheckResult } from '../../checks.js';
import type { SourceDbFacts } from '../facts.js';
import { replicationObjectName } from '../replication-sql.js';
import { list, type PgDbCheckContext } from './context.js';

/** A database check that needs the database's source facts. */
type WithFacts = PgDbCheckContext & { facts: SourceDbFacts };

/** `pg.db.extensions`: available on the target, at the same version, and creatable by the target user. */
export function extensionChecks({ facts, tgt, cfg, D }: WithFacts): CheckResult[] {
  if (!tgt) return [];
  const missing: string[] = [];
  const oldVersion: string[] = [];
  const notInstallable: string[] = [];
  for (const e of facts.extensions) {
    if (cfg.extensions.exclude.includes(e.name)) continue;
    const avail = tgt.extensions.find((x) => x.name === e.name);
    if (!avail) missing.push(e.name);
    else {
      if (!avail.versions.includes(e.version)) oldVersion.push(`${e.name} ${e.version} (target has ${avail.versions.join(', ')})`);
      if (!tgt.user.superuser && avail.superuser && !avail.trusted) notInstallable.push(e.name);
    }
  }
  if (missing.length)
    return [
      fail(
        'pg.db.extensions',
        `extension(s) not available on the target: ${list(missing)}`,
        `Install them on the target server, or leave them out with extensions.exclude: [${missing.join(', ')}].`,
        D,
      ),
    ];
  if (notInstallable.length)
    return [
      fail(
        'pg.db.extensions',
        `extension(s) the target user may not create: ${list(notInstallable)}`,
        'Connect to the target as a superuser, or pre-create them in the target database.',
        D,
      ),
    ];
  if (oldVersion.length)
    return [
      warn(
        'pg.db.extensions',
        `extension version(s) not on the target: ${list(oldVersion)}; created at the target's version`,
        'Check the extensions release notes for incompatibilities.',
        D,
      ),
    ];
  return [
    ok(
      'pg.db.extensions',
      facts.extensions.length ? `extensions available on the target: ${list(facts.extensions.map((e) => e.name))}` : 'no extensions',
      D,
    ),
  ];
}

/** Online: tables without a key, unlogged tables and large objects, which replication does not carry as such. */
export function replicatedContentChecks({ facts, cfg, D }: WithFacts): CheckResult[] {
  const out: CheckResult[] = [];
  if (facts.noKey.length && cfg.replication.replicaIdentityFull) {
    out.push(
      warn(
        'pg.db.replica_identity',
        `${facts.noKey.length} table(s) without primary key or replica identity: ${list(facts.noKey)}; dbferry sets REPLICA IDENTITY FULL on them (replication.replicaIdentityFull), which changes the source`,
        'Add primary keys to avoid it.',
        D,
      ),
    );
  } else if (facts.noKey.length) {
    out.push(
      ok(
        'pg.db.replica_identity',
        `${facts.noKey.length} table(s) without primary key or replica identity: their inserts replicate; at cutover those changed by UPDATE or DELETE are copied again: ${list(facts.noKey)}`,
        D,
      ),
    );
  } else out.push(ok('pg.db.replica_identity', 'every table has a primary key or replica identity', D));
  if (facts.unlogged.length)
    out.push(
      ok(
        'pg.db.unlogged_tables',
        `unlogged table(s) are not replicated; at cutover those that changed are copied again: ${list(facts.unlogged)}`,
        D,
      ),
    );
  if (facts.largeObjects > 0)
    out.push(
      ok(
        'pg.db.large_objects',
        `${facts.largeObjects} large object(s) are not replicated; at cutover those created, changed or unlinked are synced`,
        D,
      ),
    );
  return out;
}

/** Online: dbferry publications and subscriptions already there (this migration's resumes, another's fails). */
export function replicationObjectChecks({ facts, tgt, cfg, name, D }: WithFacts): CheckResult[] {
  const out: CheckResult[] = [];
  if (facts.dbferryPublications.length)
    out.push(
      warn(
        'pg.db.dbferry_publications',
        `dbferry publication(s) already in the source database: ${list(facts.dbferryPublications)}`,
        'Run `dbferry cancel` for the migration they belong to.',
        D,
      ),
    );
  const own = replicationObjectName(cfg.name, name);
  const sub = tgt?.dbferrySubscriptions.find((s) => s.database === name);
  if (sub && sub.name === own)
    out.push(
      ok('pg.db.dbferry_subscription', `already replicating for this migration (${own}): apply resumes it, nothing is copied twice`, {
        ...D,
        replication: true,
      }),
    );
  else if (sub)
    out.push(
      fail(
        'pg.db.dbferry_subscription',
        `target database already has dbferry subscription ${sub.name}: replicating into it again would duplicate data`,
        'Run `dbferry cancel` for that migration first.',
        { ...D, replication: true },
      ),
    );
  return out;
}

/** Offline (or dump): unlogged tables and large objects are copied. */
export function copiedContentChecks({ facts, D }: WithFacts): CheckResult[] {
  const out: CheckResult[] = [];
  if (facts.unlogged.length)
    out.push(ok('pg.db.unlogged_tables', `unlogged table(s) are copied (and stay unlogged): ${list(facts.unlogged)}`, D));
  if (facts.largeObjects > 0) out.push(ok('pg.db.large_objects', `${facts.largeObjects} large object(s) will be copied`, D));
  return out;
}

/** `pg.db.generated_columns`: a target older than 12 has none. */
export function generatedColumnChecks({ facts, tgt, D }: WithFacts): CheckResult[] {
  if (facts.generatedColumns > 0 && tgt && tgt.versionNum < 120000)
    return [
      fail(
        'pg.db.generated_columns',
        `${facts.generatedColumns} generated column(s); the target (< 12) has none`,
        'Use a target of PostgreSQL 12 or newer.',
        D,
      ),
    ];
  return [];
}

/** Every check of a database's contents, in report order (none without its facts). */
export function databaseObjectChecks(c: PgDbCheckContext): CheckResult[] {
  const { facts } = c;
  if (!facts) return [];
  const withFacts: WithFacts = { ...c, facts };
  return [
    ...extensionChecks(withFacts),
    ...(c.online ? [...replicatedContentChecks(withFacts), ...replicationObjectChecks(withFacts)] : copiedContentChecks(withFacts)),
    ...generatedColumnChecks(withFacts),
  ];
}
