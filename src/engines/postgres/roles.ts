/** Creating the source's roles on the target (instance level, once per migration). */
import type { MigrationConfig } from '../../config/types.js';
import { withPg } from './connect.js';
import { createRoleStatements, membershipStatements, roleSettingStatements, type SourceRole } from './roles-sql.js';

export interface RolesResult {
  created: string[];
  existing: string[];
  superusersSkipped: string[];
  warnings: string[];
}

export async function migrateRoles(cfg: MigrationConfig): Promise<RolesResult> {
  const src = await withPg('source', cfg.source, { readOnly: true }, async (c) => {
    const roles = (
      await c.query<{ name: string; superuser: boolean; inherit: boolean; createrole: boolean; createdb: boolean; login: boolean; replication: boolean; bypassrls: boolean; connlimit: number; valid_until: string | null }>(
        `SELECT rolname AS name, rolsuper AS superuser, rolinherit AS inherit, rolcreaterole AS createrole, rolcreatedb AS createdb, rolcanlogin AS login,
                rolreplication AS replication, rolbypassrls AS bypassrls, rolconnlimit AS connlimit, rolvaliduntil::text AS valid_until
           FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY rolname`,
      )
    ).rows;
    const members = (
      await c.query<{ role: string; member: string; admin: boolean }>(
        `SELECT r.rolname AS role, m.rolname AS member, a.admin_option AS admin FROM pg_auth_members a
           JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member ORDER BY 1, 2`,
      )
    ).rows;
    const settings = (
      await c.query<{ role: string; config: string[] }>(
        `SELECT r.rolname AS role, s.setconfig AS config FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE s.setdatabase = 0 ORDER BY 1`,
      )
    ).rows;
    return { roles, members, settings };
  });
  const superusers = src.roles.filter((r) => r.superuser).map((r) => r.name);
  const wanted: SourceRole[] = src.roles
    .filter((r) => !r.superuser && !cfg.roles.exclude.includes(r.name))
    .map((r) => ({ name: r.name, inherit: r.inherit, createrole: r.createrole, createdb: r.createdb, login: r.login, replication: r.replication, bypassrls: r.bypassrls, connlimit: r.connlimit, validUntil: r.valid_until === 'infinity' ? null : r.valid_until }));
  return withPg('target', cfg.target, {}, async (c) => {
    const existingRows = (await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles')).rows.map((r) => r.rolname);
    const existing = new Set(existingRows);
    const powers = (await c.query<{ superuser: boolean; createrole: boolean; createdb: boolean; v: string }>(`SELECT rolsuper AS superuser, rolcreaterole AS createrole, rolcreatedb AS createdb, current_setting('server_version_num') AS v FROM pg_roles WHERE rolname = current_user`)).rows[0];
    const plan = createRoleStatements(wanted, existing, { superuser: powers?.superuser ?? false, createrole: powers?.createrole ?? false, createdb: powers?.createdb ?? false, versionNum: Number(powers?.v ?? 0) });
    const created = wanted.filter((r) => !existing.has(r.name)).map((r) => r.name);
    await c.query('BEGIN');
    try {
      for (const st of plan.statements) await c.query(st);
      const present = new Set([...existing, ...created]);
      const mine = new Set(created);
      // Memberships and settings only for the roles created here: existing roles are left as they are.
      for (const st of membershipStatements(src.members.filter((m) => mine.has(m.member) || mine.has(m.role)), present)) await c.query(st);
      for (const st of roleSettingStatements(src.settings.filter((s) => mine.has(s.role)), present)) await c.query(st);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
    return { created, existing: wanted.filter((r) => existing.has(r.name)).map((r) => r.name), superusersSkipped: superusers, warnings: plan.warnings };
  });
}
