/** What the target user may do outside replication: keep dbferry's state, create databases and roles. Pure. */
import { fail, ok, warn, type CheckResult } from '../../checks.js';
import { list, quoteRole, type PgCheckContext } from './context.js';

/** `pg.target.state_store` and `pg.target.createdb`. */
export function targetPrivilegeChecks({ tgt, dbs }: PgCheckContext): CheckResult[] {
  if (!tgt) return [];
  const out: CheckResult[] = [];
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
  return out;
}

/** `pg.target.createrole` and `pg.target.role_attributes`, when roles are migrated. */
export function roleChecks({ src, tgt, cfg }: PgCheckContext): CheckResult[] {
  if (!tgt || !cfg.roles.migrate || !src) return [];
  const roles = src.roles.filter((r) => !cfg.roles.exclude.includes(r.name));
  if (roles.length === 0) return [ok('pg.target.createrole', 'no roles to create')];
  if (!tgt.user.superuser && !tgt.user.createrole)
    return [
      fail(
        'pg.target.createrole',
        `${tgt.user.name} may not create roles; ${roles.length} role(s) to migrate`,
        `ALTER ROLE ${quoteRole(tgt.user.name)} CREATEROLE; or set roles.migrate: false`,
      ),
    ];
  const out = [ok('pg.target.createrole', `${tgt.user.name} may create the ${roles.length} role(s)`)];
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
  return out;
}
