/** PostgreSQL pre-migration check: facts -> results, each with the fix. Pure. */
import { missingDatabaseChecks, selectionCheck } from '../selection.js';
import { describeServer } from '../../config/connection.js';
import type { MigrationConfig } from '../../config/types.js';
import { formatBytes } from '../../util/sizes.js';
import { fail, ok, sshTunnelChecks, warn, type CheckResult, targetEmptyCheck } from '../checks.js';
import type { PgFacts, ServerSide } from './facts.js';
import { replicationObjectName, replicationPrefix } from './replication-sql.js';

const major = (n: number): number => Math.floor(n / 10000);
const list = (xs: string[], max = 8): string =>
  xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`;

export function evaluatePostgres(f: PgFacts, cfg: MigrationConfig): CheckResult[] {
  const out: CheckResult[] = [];
  const online = cfg.mode === 'online' && cfg.method !== 'dump';
  out.push(...sshTunnelChecks('pg', cfg, online));
  // Connectivity and SSL.
  for (const role of ['source', 'target'] as const) {
    const s = f[role];
    const server = describeServer(cfg[role]);
    if (!s.connected) {
      out.push(
        fail(`pg.${role}.connectivity`, s.failure.message, s.failure.hint || `Check ${role}.host, ${role}.port and the credentials.`),
      );
      if (s.failure.code === 'SSL_FAILED') out.push(fail(`pg.${role}.ssl`, `ssl=${cfg[role].ssl}: ${s.failure.message}`, s.failure.hint));
      continue;
    }
    out.push(ok(`pg.${role}.connectivity`, `connected to ${server} as ${s.user.name} (PostgreSQL ${s.version})`));
    const mode = cfg[role].ssl;
    if (mode === 'disable') out.push(ok(`pg.${role}.ssl`, 'SSL disabled by configuration'));
    else if (s.ssl) out.push(ok(`pg.${role}.ssl`, `connection encrypted (ssl=${mode})`));
    else if (mode === 'prefer' || mode === 'allow')
      out.push(
        warn(
          `pg.${role}.ssl`,
          `ssl=${mode} but the server does not offer SSL: the connection is not encrypted`,
          `Enable ssl on the server, or set ${role}.ssl: disable to state it explicitly.`,
        ),
      );
    else out.push(fail(`pg.${role}.ssl`, `ssl=${mode} but the connection is not encrypted`, `Enable ssl on the server.`));
  }
  const src = f.source.connected ? f.source : undefined;
  const tgt = f.target.connected ? f.target : undefined;
  if (f.discoveryFailure) out.push(fail('pg.discovery', f.discoveryFailure.message, f.discoveryFailure.hint));
  if (src && tgt) {
    if (src.identity === tgt.identity) {
      out.push(
        fail(
          'pg.same_server',
          `source and target are the same PostgreSQL server (system identifier ${src.identity})`,
          'Point target at the new server; dbferry copies between two servers.',
        ),
      );
    } else {
      out.push(ok('pg.same_server', 'source and target are different servers'));
    }
    const sm = major(src.versionNum);
    const tm = major(tgt.versionNum);
    if (tm < sm)
      out.push(
        fail(
          'pg.version',
          `source PostgreSQL ${sm} -> target ${tm}: downgrade`,
          'Migrate to a target of the same or a newer major version.',
        ),
      );
    else out.push(ok('pg.version', `source PostgreSQL ${src.version} -> target ${tgt.version}`));
  }
  if (src) {
    const need = major(src.versionNum);
    if (f.pgDump.best) out.push(ok('pg.pg_dump', `pg_dump ${f.pgDump.best.version} at ${f.pgDump.best.path} (needs >= ${need})`));
    else {
      const seen = f.pgDump.found.map((t) => `${t.path} (${t.version})`);
      out.push(
        fail(
          'pg.pg_dump',
          `no pg_dump of major >= ${need} found${seen.length ? `; found ${seen.join(', ')}` : ''}`,
          `Install it (Debian: apt-get install postgresql-client-${need}) or pass --pgbin <directory of pg_dump>.`,
        ),
      );
    }
  }
  const dbs = f.discovery?.databases ?? [];
  const n = Math.max(1, dbs.length);
  // Replication prerequisites (instance level).
  if (online && src) {
    const R = { replication: true } as const;
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
  }
  if (online && tgt) {
    const R = { replication: true } as const;
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
      out.push(
        ok('pg.max_logical_replication_workers', `target max_logical_replication_workers ${workers}, ${used} in use, ${n} needed`, R),
      );
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
          tgt.versionNum >= 160000
            ? `GRANT pg_create_subscription TO ${quoteRole(tgt.user.name)};`
            : 'Connect to the target as a superuser.',
          R,
        ),
      );
  }
  if (src && src.longTransactions.length) {
    const lt = src.longTransactions.map((t) => `pid ${t.pid}${t.database ? ` in ${t.database}` : ''} for ${t.seconds}s`);
    out.push(
      warn(
        'pg.source.long_transactions',
        `${lt.length} transaction(s) open longer than 5 minutes: ${list(lt, 4)}`,
        'They hold back cleanup, and slot creation waits for them; let them finish or end them (pg_terminate_backend).',
      ),
    );
  }
  const foreignSlots = src ? src.dbferrySlots.filter((x) => !x.startsWith(replicationPrefix(cfg.name))) : [];
  if (src && foreignSlots.length) {
    out.push(
      warn(
        'pg.source.dbferry_slots',
        `dbferry replication slot(s) of other migrations on the source: ${list(foreignSlots)}; they retain WAL`,
        'Run `dbferry cancel` for the migration they belong to, or SELECT pg_drop_replication_slot(name).',
      ),
    );
  }
  if (tgt) {
    const store = tgt.stateStore;
    if (store.usable)
      out.push(
        ok('pg.target.state_store', `${tgt.user.name} may keep the migration state in schema dbferry of database "${store.database}"`),
      );
    else
      out.push(
        fail(
          'pg.target.state_store',
          `${tgt.user.name} may not create schema dbferry in database "${store.database}", where dbferry records the migration`,
          `GRANT CREATE ON DATABASE ${quoteRole(store.database)} TO ${quoteRole(tgt.user.name)}; or set target.dbname to a database the user owns (Aiven: defaultdb).`,
        ),
      );
    const needCreate = dbs.filter((d) => !d.target.exists).length;
    if (needCreate === 0 || tgt.user.superuser || tgt.user.createdb)
      out.push(ok('pg.target.createdb', needCreate ? `${tgt.user.name} may create databases` : 'no database needs to be created'));
    else
      out.push(
        fail(
          'pg.target.createdb',
          `${tgt.user.name} may not create databases; ${needCreate} must be created`,
          `ALTER ROLE ${quoteRole(tgt.user.name)} CREATEDB;`,
        ),
      );
    if (cfg.roles.migrate && src) {
      const roles = src.roles.filter((r) => !cfg.roles.exclude.includes(r.name));
      if (roles.length === 0) out.push(ok('pg.target.createrole', 'no roles to create'));
      else if (tgt.user.superuser || tgt.user.createrole) {
        out.push(ok('pg.target.createrole', `${tgt.user.name} may create the ${roles.length} role(s)`));
        if (!tgt.user.superuser && tgt.versionNum < 160000) {
          const limited = roles
            .filter((r) => r.replication || r.bypassrls)
            .map((r) => `${r.name} (${[r.replication ? 'REPLICATION' : '', r.bypassrls ? 'BYPASSRLS' : ''].filter(Boolean).join(', ')})`);
          if (limited.length)
            out.push(
              warn(
                'pg.target.role_attributes',
                `roles created without attributes that need superuser before PostgreSQL 16: ${list(limited)}`,
                'Grant them afterwards as a superuser, or connect to the target as one.',
              ),
            );
        }
      } else {
        out.push(
          fail(
            'pg.target.createrole',
            `${tgt.user.name} may not create roles; ${roles.length} role(s) to migrate`,
            `ALTER ROLE ${quoteRole(tgt.user.name)} CREATEROLE; or set roles.migrate: false`,
          ),
        );
      }
    }
  }
  // Size.
  if (f.discovery) {
    const total = dbs.reduce((a, d) => a + d.source.sizeBytes, 0);
    const per = dbs.map((d) => `${d.source.name} ${formatBytes(d.source.sizeBytes)}`).join(', ');
    if (cfg.databases.maxTotalSize !== null && total > cfg.databases.maxTotalSize) {
      out.push(
        fail(
          'pg.total_size',
          `total size ${formatBytes(total)} exceeds databases.maxTotalSize ${formatBytes(cfg.databases.maxTotalSize)}`,
          'Exclude databases, or raise databases.maxTotalSize.',
        ),
      );
    } else out.push(ok('pg.total_size', `total ${formatBytes(total)}${per ? `: ${per}` : ''}`));
    out.push(...missingDatabaseChecks('pg', f.discovery.missing));
    const selection = selectionCheck('pg', cfg, f.discovery);
    if (selection) out.push(selection);
    if (dbs.length === 0 && f.discovery.missing.length === 0)
      out.push(warn('pg.databases', 'no database to migrate', 'Check databases.include / exclude.'));
  }
  // Per database.
  for (const d of dbs) {
    const name = d.source.name;
    const D = { level: 'database' as const, database: name };
    const facts = f.databases.find((x) => x.name === name);
    out.push(ok('pg.db.size', `${formatBytes(d.source.sizeBytes)}, ${d.source.tables} tables, ~${d.source.rowEstimate} rows`, D));
    if (facts && src) {
      const user = quoteRole(src.user.name);
      if (facts.unreadable.length === 0) out.push(ok('pg.db.source_read', `${src.user.name} may read every table and sequence`, D));
      else {
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
        out.push(
          fail(
            'pg.db.source_read',
            `${src.user.name} may not read ${facts.unreadable.length} table(s) or sequence(s) on the source: ${list(facts.unreadable)}`,
            `On the source, in database ${name}: ${grants}`,
            D,
          ),
        );
      }
    }
    // pg_dump locks every table of the database in one transaction: the shared lock table must hold them.
    // (Plus a margin for pg_dump's other locks and the rest of the server.)
    const srcSettings = src?.settings;
    if (srcSettings?.max_locks_per_transaction) {
      const lockSlots = Number(srcSettings.max_connections ?? 100) + Number(srcSettings.max_prepared_transactions ?? 0);
      const capacity = Number(srcSettings.max_locks_per_transaction) * lockSlots;
      const need = d.source.tables + 100;
      if (need > capacity) {
        const per = Math.ceil((need * 1.5) / lockSlots);
        out.push(
          fail(
            'pg.db.lock_table',
            `${d.source.tables} tables, but the source's lock table holds about ${capacity} locks (max_locks_per_transaction ${srcSettings.max_locks_per_transaction} × connections): pg_dump would fail with "out of shared memory"`,
            `ALTER SYSTEM SET max_locks_per_transaction = ${per}; then restart the source server.`,
            D,
          ),
        );
      } else out.push(ok('pg.db.lock_table', `${d.source.tables} tables fit the source's lock table (~${capacity} locks)`, D));
    }
    const resumePhase = f.discovery?.resumable[name];
    out.push(
      targetEmptyCheck(
        'pg',
        { name, exists: d.target.exists, userObjects: d.target.userObjects },
        cfg.databases.overwrite,
        resumePhase ? { phase: resumePhase, what: 'apply resumes it' } : undefined,
      ),
    );
    if (tgt && d.source.collation) {
      const lc = d.source.collation;
      if (tgt.collations.includes(lc) || tgt.collations.includes(lc.replace(/\.utf-?8$/i, '.utf8')))
        out.push(ok('pg.db.collation', `encoding ${d.source.encoding}, collation ${lc} available on the target`, D));
      else
        out.push(
          fail(
            'pg.db.collation',
            `collation/ctype ${lc} of "${name}" is not available on the target`,
            `Install the locale on the target (e.g. locale-gen ${lc}) and restart it.`,
            D,
          ),
        );
    }
    if (!facts) continue;
    if (tgt) {
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
        out.push(
          fail(
            'pg.db.extensions',
            `extension(s) not available on the target: ${list(missing)}`,
            `Install them on the target server, or leave them out with extensions.exclude: [${missing.join(', ')}].`,
            D,
          ),
        );
      else if (notInstallable.length)
        out.push(
          fail(
            'pg.db.extensions',
            `extension(s) the target user may not create: ${list(notInstallable)}`,
            'Connect to the target as a superuser, or pre-create them in the target database.',
            D,
          ),
        );
      else if (oldVersion.length)
        out.push(
          warn(
            'pg.db.extensions',
            `extension version(s) not on the target: ${list(oldVersion)}; created at the target's version`,
            'Check the extensions release notes for incompatibilities.',
            D,
          ),
        );
      else
        out.push(
          ok(
            'pg.db.extensions',
            facts.extensions.length ? `extensions available on the target: ${list(facts.extensions.map((e) => e.name))}` : 'no extensions',
            D,
          ),
        );
    }
    if (online) {
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
    } else {
      if (facts.unlogged.length)
        out.push(ok('pg.db.unlogged_tables', `unlogged table(s) are copied (and stay unlogged): ${list(facts.unlogged)}`, D));
      if (facts.largeObjects > 0) out.push(ok('pg.db.large_objects', `${facts.largeObjects} large object(s) will be copied`, D));
    }
    if (facts.generatedColumns > 0 && tgt && tgt.versionNum < 120000)
      out.push(
        fail(
          'pg.db.generated_columns',
          `${facts.generatedColumns} generated column(s); the target (< 12) has none`,
          'Use a target of PostgreSQL 12 or newer.',
          D,
        ),
      );
  }
  return out;
}

function quoteRole(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

export type { ServerSide };
